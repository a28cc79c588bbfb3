"""Monthly reports and the log of their state transitions.

One report per school and period gathers the month's data. States: draft → submitted →
returned (with the reviewer's reason) → submitted → accepted; a bureau admin may reopen an accepted
report (accepted → returned). Every transition is a row in ``report_transitions`` - the explicit
execution log that makes the workflow auditable.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.periods.models import Period
from tenants import TenantOwned


class ReportState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


REPORT_STATE_LABELS = {
    ReportState.DRAFT: ("草稿", "Draft"),
    ReportState.SUBMITTED: ("已提交", "Submitted"),
    ReportState.RETURNED: ("已退回", "Returned"),
    ReportState.ACCEPTED: ("审核通过", "Accepted"),
}

# Completeness of a school-month (see operations.completeness).
COMPLETENESS_LABELS = {
    "missing": ("未提交", "Missing"),
    "draft": ("草稿", "Draft"),
    "on_time": ("按时", "On time"),
    "late": ("逾期", "Late"),
}

ACTION_LABELS = {
    "submit": ("提交", "submitted"),
    "return": ("退回", "returned"),
    "accept": ("审核通过", "accepted"),
    "reopen": ("重新打开", "reopened"),
}

# The only moves the workflow allows: action → (states it may start from, state it leads to).
TRANSITIONS: dict[str, tuple[frozenset[ReportState], ReportState]] = {
    "submit": (frozenset({ReportState.DRAFT, ReportState.RETURNED}), ReportState.SUBMITTED),
    "return": (frozenset({ReportState.SUBMITTED}), ReportState.RETURNED),
    "accept": (frozenset({ReportState.SUBMITTED}), ReportState.ACCEPTED),
    "reopen": (frozenset({ReportState.ACCEPTED}), ReportState.RETURNED),
}


class MonthlyReport(Audited, TenantOwned, Base):
    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("school_id", "id"), UniqueConstraint("school_id", "period_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="RESTRICT"), index=True)
    state: Mapped[ReportState] = mapped_column(
        str_enum(ReportState, "report_state"), default=ReportState.DRAFT
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    first_submitted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    return_reason: Mapped[str] = mapped_column(String(1000), default="")
    accepted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    period: Mapped[Period] = relationship()


class ReportTransition(TenantOwned, Base):
    __tablename__ = "report_transitions"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    from_state: Mapped[ReportState] = mapped_column(str_enum(ReportState, "from_state"))
    to_state: Mapped[ReportState] = mapped_column(str_enum(ReportState, "to_state"))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(1000), default="")
