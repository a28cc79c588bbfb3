"""Monthly evaluations of logistics staff (后勤人员考核) and the ratings they are computed from.

One evaluation per staff member and period. Its ratings come from four rater groups (assessment
group, teacher/student satisfaction, peers, self); the evaluation stores the scores computed from
them with the rubric version it was computed with (``rubric_version_id``, kept forever), so a later
rubric edit never rewrites a past score.

Rating scores are a JSON object ``{dimension_code: "x.xx"}`` rather than one column per dimension:
the dimensions are the sections of a *versioned* rubric (the bureau may add, rename or re-weight
them), so columns would hard-code five dimensions into the schema and need a migration for every
rubric change. The values are validated against the pinned version in Python, stored as decimal
strings (exact, and JSON cannot carry a Decimal), and SQL never needs to look inside them: the
staff area is aggregated from the stored ``score``.

``score`` is the person score kept exact to 10 decimals (formula 4 rounds only for display; the
precision is argued in :mod:`service.evaluations.scoring`); :attr:`Evaluation.score_shown` is the
2-decimal value every page, export and API response shows.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.evaluations.scoring import shown
from service.periods.models import Period
from service.staff.models import StaffMember
from tenants import TenantOwned


class RaterGroup(enum.StrEnum):
    ASSESSMENT = "assessment"  # 考核小组
    SATISFACTION = "satisfaction"  # 师生满意度
    PEER = "peer"  # 同事互评
    SELF = "self"  # 自评


RATER_GROUP_LABELS = {
    RaterGroup.ASSESSMENT: ("考核小组", "Assessment group"),
    RaterGroup.SATISFACTION: ("师生满意度", "Teacher/student satisfaction"),
    RaterGroup.PEER: ("同事互评", "Peers"),
    RaterGroup.SELF: ("自评", "Self"),
}


# Numeric(16, 10): why 10 decimals, see service.evaluations.scoring (migration 0014 widened it from 5, 2).
PERSON_SCORE = Numeric(16, 10)


class Evaluation(Audited, TenantOwned, Base):
    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "staff_id", "period_id"),
        ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            ondelete="RESTRICT",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="RESTRICT"), index=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    # The version the score was computed with; never changed after creation.
    rubric_version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="RESTRICT"), index=True
    )
    # Person score, formula 4: the exact value to 10 decimals - never rounded before it is used.
    score: Mapped[Decimal] = mapped_column(PERSON_SCORE)
    dimension_scores: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    staff: Mapped[StaffMember] = relationship(
        primaryjoin="and_(Evaluation.school_id == StaffMember.school_id, Evaluation.staff_id == StaffMember.id)",
        foreign_keys="[Evaluation.school_id, Evaluation.staff_id]",
        viewonly=True,
    )
    period: Mapped[Period] = relationship()
    ratings: Mapped[list[EvaluationRating]] = relationship(
        primaryjoin="and_(Evaluation.school_id == EvaluationRating.school_id, "
        "Evaluation.id == EvaluationRating.evaluation_id)",
        foreign_keys="[EvaluationRating.school_id, EvaluationRating.evaluation_id]",
        order_by="EvaluationRating.id",
        cascade="all, delete-orphan",
    )

    @property
    def score_shown(self) -> Decimal | None:
        """The person score as shown: 2 decimals, half up (formula 4 rounds only for display)."""
        return None if self.score is None else shown(Decimal(self.score))


class EvaluationRating(Audited, TenantOwned, Base):
    """One rater's scores for one evaluation: ``{dimension_code: "x.xx"}``, 0..the dimension's points."""

    __tablename__ = "evaluation_ratings"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "evaluation_id"],
            ["evaluations.school_id", "evaluations.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["school_id", "rater_staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            ondelete="RESTRICT",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(Integer, index=True)
    rater_group: Mapped[RaterGroup] = mapped_column(str_enum(RaterGroup, "rater_group"))
    rater_name: Mapped[str] = mapped_column(String(40))
    rater_staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scores: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
