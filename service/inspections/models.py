"""Inspections (self 自查 and spot 督查), their item results, and the canteen's monthly facts.

All three are school-owned. An inspection records the rubric version it was scored with
(``rubric_version_id``) and stores its computed results on the row (score, key/veto items failed,
grade, per-section points), so publishing a new rubric version never rewrites a past score.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.periods.models import Period
from service.reports.models import MonthlyReport
from service.rubrics.models import RubricItem, RubricKind, RubricVersion
from tenants import TenantOwned


class InspectionKind(enum.StrEnum):
    """The rubric kinds an inspection can use (same values as :class:`RubricKind`; staff is not one)."""

    CANTEEN = "canteen"  # 食堂检查
    SAFETY = "safety"  # 校园安全检查

    @property
    def rubric_kind(self) -> RubricKind:
        return RubricKind(self.value)


INSPECTION_KIND_LABELS = {
    InspectionKind.CANTEEN: ("食堂检查", "Canteen inspection"),
    InspectionKind.SAFETY: ("校园安全检查", "Campus safety check"),
}


class InspectionMode(enum.StrEnum):
    SELF = "self"  # 自查: by the school, part of its monthly report
    SPOT = "spot"  # 督查: by a bureau inspector


INSPECTION_MODE_LABELS = {
    InspectionMode.SELF: ("自查", "Self-inspection"),
    InspectionMode.SPOT: ("督查", "Spot inspection"),
}


class Grade(enum.StrEnum):
    """Grade of one canteen inspection (量化分级); safety checks have none."""

    A = "A"
    B = "B"
    C = "C"
    UNGRADED = "ungraded"  # 未定级: must fix by a deadline


GRADE_LABELS = {
    Grade.A: ("A级", "Grade A"),
    Grade.B: ("B级", "Grade B"),
    Grade.C: ("C级", "Grade C"),
    Grade.UNGRADED: ("未定级", "Ungraded"),
}


class ItemOutcome(enum.StrEnum):
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格
    NA = "na"  # 不适用 (only where the rubric item allows it)


ITEM_OUTCOME_LABELS = {
    ItemOutcome.PASS: ("合格", "Pass"),
    ItemOutcome.FAIL: ("不合格", "Fail"),
    ItemOutcome.NA: ("不适用", "Not applicable"),
}

SCORE = Numeric(5, 1)


class Inspection(Audited, TenantOwned, Base):
    __tablename__ = "inspections"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            ondelete="RESTRICT",
        ),
        # A self-inspection is part of the school's monthly report; only a spot check is unannounced.
        CheckConstraint("mode <> 'self' OR report_id IS NOT NULL", name="self_has_report"),
        CheckConstraint("mode = 'spot' OR NOT unannounced", name="unannounced_spot_only"),
        CheckConstraint("kind = 'canteen' OR grade IS NULL", name="grade_canteen_only"),
        CheckConstraint("key_failed >= 0 AND veto_failed >= 0", name="counts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InspectionKind] = mapped_column(str_enum(InspectionKind, "inspection_kind"))
    mode: Mapped[InspectionMode] = mapped_column(str_enum(InspectionMode, "inspection_mode"))
    # The version used is kept forever: RESTRICT, and versions are never deleted once published.
    rubric_version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="RESTRICT"), index=True
    )
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="RESTRICT"), index=True)
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector_name: Mapped[str] = mapped_column(String(64), default="")
    inspector_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    unannounced: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Computed on every save from the pinned rubric version and the item results (scoring.py).
    score: Mapped[Decimal] = mapped_column(SCORE)
    key_failed: Mapped[int] = mapped_column(Integer, default=0)
    veto_failed: Mapped[int] = mapped_column(Integer, default=0)
    grade: Mapped[Grade | None] = mapped_column(str_enum(Grade, "inspection_grade"), nullable=True)
    # {section code: [points, possible]} as decimal strings, e.g. {"A": ["5.00", "10.00"]}.
    section_scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A spot inspection set aside by an upheld appeal: kept for the record, left out of every score.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    excluded_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    period: Mapped[Period] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()
    report: Mapped[MonthlyReport | None] = relationship(
        primaryjoin="and_(Inspection.school_id == MonthlyReport.school_id, "
        "Inspection.report_id == MonthlyReport.id)",
        foreign_keys="[Inspection.school_id, Inspection.report_id]",
        viewonly=True,
    )
    results: Mapped[list[InspectionItemResult]] = relationship(
        primaryjoin="and_(Inspection.school_id == InspectionItemResult.school_id, "
        "Inspection.id == InspectionItemResult.inspection_id)",
        foreign_keys="[InspectionItemResult.school_id, InspectionItemResult.inspection_id]",
        order_by="InspectionItemResult.id",
        cascade="all, delete-orphan",
        back_populates="inspection",
    )


class InspectionItemResult(Audited, TenantOwned, Base):
    """What the inspector found for one rubric item: pass, fail (how many times) or not applicable."""

    __tablename__ = "inspection_item_results"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "inspection_id", "item_id"),
        ForeignKeyConstraint(
            ["school_id", "inspection_id"],
            ["inspections.school_id", "inspections.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("occurrences >= 0", name="occurrences_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rubric_items.id", ondelete="RESTRICT"), index=True)
    result: Mapped[ItemOutcome] = mapped_column(str_enum(ItemOutcome, "inspection_item_outcome"))
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")

    item: Mapped[RubricItem] = relationship()
    inspection: Mapped[Inspection] = relationship(
        primaryjoin="and_(Inspection.school_id == InspectionItemResult.school_id, "
        "Inspection.id == InspectionItemResult.inspection_id)",
        foreign_keys="[InspectionItemResult.school_id, InspectionItemResult.inspection_id]",
        back_populates="results",
    )


class CanteenMonthlyFacts(Audited, TenantOwned, Base):
    """The canteen's month in numbers, part of the monthly report (one row per school and period).

    ``meals_served`` counts meal sittings (餐次) served in the month; 陪餐 and 留样 are recorded per
    sitting, so neither can exceed it.
    """

    __tablename__ = "canteen_monthly_facts"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "period_id"),
        ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            ondelete="RESTRICT",
        ),
        CheckConstraint(
            "meals_served >= 0 AND menu_compliant_days >= 0 AND serving_days >= 0 "
            "AND leader_accompanied_meals >= 0 AND sampled_meals >= 0 AND food_waste_kg >= 0",
            name="nonnegative",
        ),
        CheckConstraint(
            "leader_accompanied_meals <= meals_served AND sampled_meals <= meals_served",
            name="meals_within_served",
        ),
        CheckConstraint(
            "menu_compliant_days <= serving_days AND serving_days <= 31", name="days_within_month"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="RESTRICT"), index=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    meals_served: Mapped[int] = mapped_column(Integer)
    menu_compliant_days: Mapped[int] = mapped_column(Integer)  # days meeting 两荤两素一汤
    serving_days: Mapped[int] = mapped_column(Integer)
    leader_accompanied_meals: Mapped[int] = mapped_column(Integer)  # 陪餐 records
    sampled_meals: Mapped[int] = mapped_column(Integer)  # 留样 kept
    food_waste_kg: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    __audit_exclude__ = frozenset({"updated_at"})

    period: Mapped[Period] = relationship()
