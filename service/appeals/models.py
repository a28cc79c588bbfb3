"""Appeals (申诉) against spot inspections, and the log of their state transitions.

A school may appeal a spot inspection (督查) of its own within ten working days after the inspection
(``due_on`` is the last day to file). A different inspector - one whose clusters include the school,
or a bureau admin, but never the inspector who carried out the inspection - decides it: submitted →
upheld | rejected. An upheld appeal sets the inspection aside (``Inspection.excluded``) so the scoring
engine leaves it out of every score; the inspection itself is kept for the record.

Every state change is a row in ``inspection_appeal_transitions``, filing included (from no state to
``submitted``), so an appeal's history can be read back step by step.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from service.audit.models import Audited
from service.core.errors import Conflict
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base, HouqinSession
from service.inspections.models import Inspection
from tenants import TenantOwned

APPEAL_WORKING_DAYS = 10  # rubrics.md: a school may appeal a spot inspection within 10 working days


class AppealState(enum.StrEnum):
    SUBMITTED = "submitted"
    UPHELD = "upheld"
    REJECTED = "rejected"


APPEAL_STATE_LABELS = {
    AppealState.SUBMITTED: ("待复核", "Submitted"),
    AppealState.UPHELD: ("申诉成立", "Upheld"),
    AppealState.REJECTED: ("申诉驳回", "Rejected"),
}

APPEAL_ACTION_LABELS = {
    "file": ("提出申诉", "filed"),
    "uphold": ("认定申诉成立", "upheld"),
    "reject": ("驳回申诉", "rejected"),
}

# The only moves a decision may make: action → (states it may start from, state it leads to).
APPEAL_TRANSITIONS: dict[str, tuple[frozenset[AppealState], AppealState]] = {
    "uphold": (frozenset({AppealState.SUBMITTED}), AppealState.UPHELD),
    "reject": (frozenset({AppealState.SUBMITTED}), AppealState.REJECTED),
}

# The decision's outcome (API value) → the workflow action that records it.
OUTCOME_ACTIONS = {AppealState.UPHELD: "uphold", AppealState.REJECTED: "reject"}


class InspectionAppeal(Audited, TenantOwned, Base):
    __tablename__ = "inspection_appeals"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        # RESTRICT: an appealed inspection is evidence and stays (see refuse_deleting_appealed).
        ForeignKeyConstraint(
            ["school_id", "inspection_id"],
            ["inspections.school_id", "inspections.id"],
            ondelete="RESTRICT",
        ),
        # A decided appeal records who decided and when; an open one has neither.
        CheckConstraint(
            "(state = 'submitted') = (decided_at IS NULL)",
            name="decided_iff_not_submitted",
        ),
        # At most one open appeal per inspection, whatever the application does (two quick clicks).
        Index(
            "uq_inspection_appeals_one_open",
            "school_id",
            "inspection_id",
            unique=True,
            postgresql_where=text("state = 'submitted'"),
            sqlite_where=text("state = 'submitted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[AppealState] = mapped_column(
        str_enum(AppealState, "appeal_state"), default=AppealState.SUBMITTED, index=True
    )
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filed_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(Date)  # the last day the appeal could be filed
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    decision_note: Mapped[str] = mapped_column(String(1000), default="")

    inspection: Mapped[Inspection] = relationship(
        primaryjoin="and_(InspectionAppeal.school_id == Inspection.school_id, "
        "InspectionAppeal.inspection_id == Inspection.id)",
        foreign_keys="[InspectionAppeal.school_id, InspectionAppeal.inspection_id]",
        viewonly=True,
    )


class InspectionAppealTransition(TenantOwned, Base):
    """One state change of an appeal; filing has no ``from_state``."""

    __tablename__ = "inspection_appeal_transitions"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "appeal_id"],
            ["inspection_appeals.school_id", "inspection_appeals.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(Integer, index=True)
    from_state: Mapped[AppealState | None] = mapped_column(
        str_enum(AppealState, "appeal_from_state"), nullable=True
    )
    to_state: Mapped[AppealState] = mapped_column(str_enum(AppealState, "appeal_to_state"))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(HouqinSession, "before_flush")
def refuse_deleting_appealed(session: Session, _context: Any, _instances: Any) -> None:
    """An appealed inspection is evidence: deleting it is refused (409) rather than a foreign-key error.

    Registered with the models (not the API) so every way of deleting an inspection meets it.
    """
    for obj in list(session.deleted):
        if not isinstance(obj, Inspection):
            continue
        with session.no_autoflush:
            appealed = session.scalars(
                select(InspectionAppeal.id)
                .where(
                    InspectionAppeal.school_id == obj.school_id,
                    InspectionAppeal.inspection_id == obj.id,
                )
                .limit(1)
            ).first()
        if appealed is not None:
            raise Conflict({"_request": [_("This inspection has been appealed; it is kept for the record.")]})
