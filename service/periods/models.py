"""Periods (bureau-level) and unlock requests (school-owned).

A period is one calendar month. Schools submit by the deadline (default: the 5th of the next month);
a submission after it is recorded as late. ``lock_days`` after the deadline the period locks: a
school can no longer change that month unless a bureau admin grants its unlock request.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from tenants import TenantOwned

DEFAULT_DEADLINE_DAY = 5
DEFAULT_LOCK_DAYS = 10
UNLOCK_DAYS = 7  # a granted unlock lets the school edit for this many days


def lock_date(deadline: date, lock_days: int) -> date:
    """The first day on which a period with this deadline and lock delay is locked."""
    return deadline + timedelta(days=lock_days + 1)


class Period(Audited, Base):
    __tablename__ = "periods"
    __table_args__ = (
        UniqueConstraint("year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
        CheckConstraint("lock_days >= 0", name="lock_days_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    lock_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_LOCK_DAYS)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def locks_on(self) -> date:
        """The first day on which the period is locked."""
        return lock_date(self.deadline, self.lock_days)

    def is_locked(self, today: date) -> bool:
        return today >= self.locks_on


class UnlockState(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


UNLOCK_STATE_LABELS = {
    UnlockState.PENDING: ("待审批", "Pending"),
    UnlockState.GRANTED: ("已批准", "Granted"),
    UnlockState.REFUSED: ("已驳回", "Refused"),
}


class UnlockRequest(Audited, TenantOwned, Base):
    """A school's request to edit a locked month, with the bureau admin's decision."""

    __tablename__ = "unlock_requests"
    __table_args__ = (UniqueConstraint("school_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[UnlockState] = mapped_column(
        str_enum(UnlockState, "unlock_state"), default=UnlockState.PENDING
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    unlocked_until: Mapped[date | None] = mapped_column(Date, nullable=True)

    period: Mapped[Period] = relationship()
