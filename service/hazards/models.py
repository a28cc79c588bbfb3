"""Hazards (隐患) with their rectification notice, and the log of their state transitions.

A hazard is found on a day (``found_on``, which ties it to that month's period), gets a deadline and a
responsible person, and moves open → rectifying → closed (with a closing note and the day it was
fixed). A bureau admin or an inspector may reopen a closed hazard (closed → rectifying) when the fix
did not hold. Hazards are not monthly data: one stays on the school's list, month after month, until
it is closed; the month-end safety score deducts for every hazard past its deadline and not closed.

``source_inspection_id`` names the inspection the hazard was found in. It is a plain integer without
a foreign key on purpose: the inspections area is built separately and its table may not exist in a
given deployment; the link is informational and never enforced by the database.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.periods.models import Period
from tenants import TenantOwned


class HazardSeverity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


HAZARD_SEVERITY_LABELS = {
    HazardSeverity.LOW: ("一般", "Low"),
    HazardSeverity.MEDIUM: ("较大", "Medium"),
    HazardSeverity.HIGH: ("重大", "High"),
    HazardSeverity.CRITICAL: ("特别重大", "Critical"),
}


class HazardState(enum.StrEnum):
    OPEN = "open"
    RECTIFYING = "rectifying"
    CLOSED = "closed"


HAZARD_STATE_LABELS = {
    HazardState.OPEN: ("待整改", "Open"),
    HazardState.RECTIFYING: ("整改中", "Rectifying"),
    HazardState.CLOSED: ("已销号", "Closed"),
}

HAZARD_ACTION_LABELS = {
    "start": ("开始整改", "started"),
    "close": ("整改销号", "closed"),
    "reopen": ("重新打开", "reopened"),
}

# The only moves the workflow allows: action → (states it may start from, state it leads to).
HAZARD_TRANSITIONS: dict[str, tuple[frozenset[HazardState], HazardState]] = {
    "start": (frozenset({HazardState.OPEN}), HazardState.RECTIFYING),
    "close": (frozenset({HazardState.RECTIFYING}), HazardState.CLOSED),
    "reopen": (frozenset({HazardState.CLOSED}), HazardState.RECTIFYING),
}


class Hazard(Audited, TenantOwned, Base):
    __tablename__ = "hazards"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        CheckConstraint("deadline >= found_on", name="deadline_after_found"),
        CheckConstraint("closed_on IS NULL OR closed_on >= found_on", name="closed_after_found"),
        # closed ⇔ closed_on set: the month-end count relies on closed_on alone.
        CheckConstraint(
            "(state = 'closed' AND closed_on IS NOT NULL) OR (state <> 'closed' AND closed_on IS NULL)",
            name="closed_on_iff_closed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[HazardSeverity] = mapped_column(str_enum(HazardSeverity, "hazard_severity"))
    responsible_person: Mapped[str] = mapped_column(String(40), default="")
    found_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[HazardState] = mapped_column(
        str_enum(HazardState, "hazard_state"), default=HazardState.OPEN, index=True
    )
    closing_note: Mapped[str] = mapped_column(String(1000), default="")
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Informational link to service/inspections; no FK (see the module docstring).
    source_inspection_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The period of the month it was found; NULL only for a non-reporting month (August).
    period_id: Mapped[int | None] = mapped_column(
        ForeignKey("periods.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    # Issued by the bureau (an inspector's or bureau admin's finding): the school may not rewrite it.
    issued_by_bureau: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    period: Mapped[Period | None] = relationship()

    def overdue(self, as_of: date) -> bool:
        """Past its deadline and not closed on ``as_of`` (a deadline day itself is not overdue)."""
        closed = self.closed_on is not None and self.closed_on <= as_of
        return not closed and as_of > self.deadline


class HazardTransition(TenantOwned, Base):
    __tablename__ = "hazard_transitions"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "hazard_id"],
            ["hazards.school_id", "hazards.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(Integer, index=True)
    from_state: Mapped[HazardState] = mapped_column(str_enum(HazardState, "hazard_from_state"))
    to_state: Mapped[HazardState] = mapped_column(str_enum(HazardState, "hazard_to_state"))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(1000), default="")
