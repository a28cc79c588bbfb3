"""The computed score of one school and month (one row per school and period, upserted by the engine).

Derived data, not entered by anyone: the engine (:mod:`service.scoring.engine`) deletes and rewrites
these rows from the accepted reports, inspections, hazards and evaluations, so the table can always be
rebuilt. School-owned: a school sees its own scores, the bureau sees all.

Area values keep 6 decimal places (means of 1-decimal inspection scores weighted 70/30, and means of
unrounded person scores, need more than 1); they are stored rounded at the 6th decimal, but the
composite is computed in the same statement from the unrounded areas and is the only value rounded
by the formulas (formula 5: 1 decimal, half up).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from tenants import TenantOwned

AREA = Numeric(12, 6)
COMPOSITE = Numeric(4, 1)


class MonthStatus(enum.StrEnum):
    SCORED = "scored"  # the month's report is accepted
    MISSING = "missing"  # not submitted, or not accepted (yet): counts as missing, never imputed


MONTH_STATUS_LABELS = {
    MonthStatus.SCORED: ("已计分", "Scored"),
    MonthStatus.MISSING: ("缺报", "Missing"),
}


class Band(enum.StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class SchoolMonthScore(TenantOwned, Base):
    __tablename__ = "school_month_scores"
    __table_args__ = (UniqueConstraint("school_id", "id"), UniqueConstraint("school_id", "period_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    status: Mapped[MonthStatus] = mapped_column(str_enum(MonthStatus, "month_status"))
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # Canteen (does not apply to a school without a canteen).
    canteen_applies: Mapped[bool] = mapped_column(Boolean, default=True)
    canteen_self: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    canteen_spot: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    canteen_area: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    canteen_flag: Mapped[bool] = mapped_column(Boolean, default=False)  # self − spot > gap
    # Safety, before and after the overdue-hazard deduction (formula 2).
    safety_self: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    safety_spot: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    safety_before_hazards: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    overdue_hazards: Mapped[int] = mapped_column(Integer, default=0)
    hazard_deduction: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(0))
    safety_area: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    # Staff (formula 4): mean of the month's person scores.
    staff_area: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    staff_evaluated: Mapped[int] = mapped_column(Integer, default=0)
    # Formula 5.
    weighted: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)  # before the late deduction
    late_deduction: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(0))
    composite: Mapped[Decimal | None] = mapped_column(COMPOSITE, nullable=True)
    band: Mapped[Band | None] = mapped_column(str_enum(Band, "score_band"), nullable=True)
    # Tie-breakers and checks.
    key_failed: Mapped[int] = mapped_column(Integer, default=0)
    veto_failed: Mapped[int] = mapped_column(Integer, default=0)
    spot_mean: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    spot_count: Mapped[int] = mapped_column(Integer, default=0)
    inspections: Mapped[int] = mapped_column(Integer, default=0)
    # Inspections whose stored score differs from the score recomputed from their item results.
    score_mismatches: Mapped[int] = mapped_column(Integer, default=0)
    rules_version: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")
