"""The score engine against hand-computed school-months (rubrics.md formulas 1-5).

Default canteen rubric items used: A3 no manager −5 (section A, 10) · A4 daily log −1/day (cap 5) ·
D3 dish not sampled −5 (section D, 25) · F2 no parent mechanism −3 and F4 contracting −5, may be not
applicable (section F, 15). Weights 40/40/20, spot 70/30, late −2, hazard −2 each (cap 5).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from service.db import db
from service.inspections.models import InspectionKind, InspectionMode
from service.org.models import School
from service.reports.models import ReportState
from service.scoring.engine import area_scores_select, score_period
from service.scoring.models import Band, MonthStatus, SchoolMonthScore
from tenants import TenantScope, use_scope
from tests import ranking_data as data
from tests.conftest import District

pytestmark = pytest.mark.postgres
CANTEEN, SAFETY = InspectionKind.CANTEEN, InspectionKind.SAFETY
SELF, SPOT = InspectionMode.SELF, InspectionMode.SPOT


def _row(school_id: int, period_id: int) -> SchoolMonthScore:
    return db.session.scalars(
        select(SchoolMonthScore).where(
            SchoolMonthScore.school_id == school_id, SchoolMonthScore.period_id == period_id
        )
    ).one()


def test_a_month_by_hand_spot_weighting_hazards_staff_and_late(app: Any, district: District, pg: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        # canteen self: A3 −5 and D3 two dishes −10 → 85.0; a clean one → 100.0; mean 92.5
        data.inspection(p, a, CANTEEN, SELF, A3="fail", D3=("fail", 2))
        data.inspection(p, a, CANTEEN, SELF, day=20)
        # canteen spot: 3 days without the daily log −3 → 97.0
        data.inspection(p, a, CANTEEN, SPOT, day=15, A4=("fail", 3))
        data.inspection(p, a, SAFETY, SELF)  # 100.0
        data.overdue_hazard(a, date(2026, 2, 10), date(2026, 3, 1))  # overdue at 31 March: −2
        data.evaluation(p, a, "88.00")
        data.report(p, a, late=True)
        score_period(p.id)
        row = _row(a.id, p.id)

    assert row.status is MonthStatus.SCORED
    assert (row.canteen_self, row.canteen_spot) == (Decimal("92.5"), Decimal("97.0"))
    assert row.canteen_area == Decimal("95.65")  # 0.7 × 97.0 + 0.3 × 92.5
    assert row.canteen_flag is False
    assert (row.safety_before_hazards, row.overdue_hazards, row.hazard_deduction) == (100, 1, 2)
    assert row.safety_area == Decimal("98")
    assert row.staff_area == Decimal("88")
    # (40 × 95.65 + 40 × 98 + 20 × 88) ÷ 100 = 95.06; late −2 → 93.06 → 93.1
    assert row.weighted == Decimal("95.06")
    assert (row.late_deduction, row.composite, row.band) == (2, Decimal("93.1"), Band.A)
    assert (row.key_failed, row.spot_count, row.inspections, row.score_mismatches) == (0, 1, 4, 0)


def test_not_applicable_rebases_and_weights_reshare_without_a_canteen(
    app: Any, district: District, pg: Any
) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 4)
        a = db.session.get(School, district.school_a.id)
        c = db.session.get(School, district.school_c.id)  # no canteen
        # F4 not applicable (own max 5 leaves 95 possible), F2 −3: 100 × 92 ÷ 95 = 96.84… → 96.8
        insp = data.inspection(p, a, CANTEEN, SELF, F4="na", F2="fail")
        data.inspection(p, a, SAFETY, SELF)
        data.report(p, a)
        # C: safety self only (no canteen, no staff) → the composite is the safety score alone
        data.inspection(p, c, SAFETY, SELF, day=12)
        data.report(p, c)
        score_period(p.id)
        row_a, row_c = _row(a.id, p.id), _row(c.id, p.id)
        stored = insp.score

    assert stored == Decimal("96.8")
    assert row_a.canteen_area == Decimal("96.8") and row_a.score_mismatches == 0
    # A has one staff member in the fixture but no evaluation here: staff area absent, weights re-shared
    assert row_a.staff_area is None
    assert row_a.composite == Decimal("98.4")  # (40 × 96.8 + 40 × 100) ÷ 80 = 98.4
    assert row_c.canteen_applies is False and row_c.canteen_area is None
    assert row_c.composite == Decimal("100.0")


def test_self_above_spot_raises_the_credibility_flag_and_spot_dominates(
    app: Any, district: District, pg: Any
) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 5)
        a = db.session.get(School, district.school_a.id)
        data.inspection(p, a, CANTEEN, SELF)  # 100
        # spot: A3 −5, D3 ×3 −15 → 80.0
        data.inspection(p, a, CANTEEN, SPOT, day=18, A3="fail", D3=("fail", 3))
        data.report(p, a)
        score_period(p.id)
        row = _row(a.id, p.id)
    assert (row.canteen_self, row.canteen_spot) == (Decimal("100"), Decimal("80"))
    assert row.canteen_flag is True  # 100 − 80 > 15
    assert row.canteen_area == Decimal("86")  # 0.7 × 80 + 0.3 × 100


def test_a_month_not_accepted_is_missing_never_imputed(app: Any, district: District, pg: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 6)
        b = db.session.get(School, district.school_b.id)
        data.inspection(p, b, CANTEEN, SELF)
        data.report(p, b, state=ReportState.SUBMITTED)
        score_period(p.id)
        row_b = _row(b.id, p.id)
        row_a = _row(district.school_a.id, p.id)  # no report at all
    assert row_b.status is MonthStatus.MISSING and row_b.composite is None and row_b.band is None
    assert row_a.status is MonthStatus.MISSING and row_a.composite is None


def test_rounding_is_half_up_on_exact_decimals(app: Any, district: District, pg: Any) -> None:
    """Safety 100 and canteen 92.5 (self only) and staff 90.25 → 95.05 exactly → 95.1 (half up)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 7)
        a = db.session.get(School, district.school_a.id)
        data.inspection(p, a, CANTEEN, SELF, A3="fail", D3=("fail", 2))  # 85
        data.inspection(p, a, CANTEEN, SELF, day=11)  # 100
        data.inspection(p, a, SAFETY, SELF)
        data.evaluation(p, a, "90.25")
        data.report(p, a)
        score_period(p.id)
        row = _row(a.id, p.id)
    # (40 × 92.5 + 40 × 100 + 20 × 90.25) ÷ 100 = 95.05
    assert row.weighted == Decimal("95.05") and row.composite == Decimal("95.1")


def test_scoring_twice_is_idempotent_and_excluded_inspections_do_not_count(
    app: Any, district: District, pg: Any
) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        data.inspection(p, a, CANTEEN, SELF)
        spot = data.inspection(p, a, CANTEEN, SPOT, day=15, A3="fail", D3=("fail", 3))
        data.report(p, a)
        score_period(p.id)
        first = {c: getattr(_row(a.id, p.id), c) for c in ("canteen_area", "composite", "spot_count")}
        score_period(p.id)
        rows = db.session.scalars(select(SchoolMonthScore).where(SchoolMonthScore.period_id == p.id)).all()
        assert len(rows) == 3  # one per active school, not duplicated
        assert {c: getattr(_row(a.id, p.id), c) for c in first} == first
        assert first["canteen_area"] == Decimal("86")
        spot.excluded = True  # an upheld appeal set it aside
        db.session.flush()
        score_period(p.id, [a.id])
        db.session.expire_all()
        row = _row(a.id, p.id)
    assert (row.canteen_area, row.spot_count) == (Decimal("100"), 0)


def test_the_floor_select_writes_nothing(app: Any, district: District, pg: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        data.inspection(p, a, SAFETY, SELF)
        data.report(p, a)
        rows = db.session.execute(area_scores_select(p.id)).mappings().all()
        assert db.session.scalars(select(SchoolMonthScore)).all() == []
    by_school = {r["school_id"]: r for r in rows}
    assert by_school[a.id]["safety_area"] == 100 and by_school[a.id]["composite"] == Decimal("100.0")


def test_whole_period_and_one_school_at_a_time_write_the_same_rows(
    app: Any, district: District, pg: Any
) -> None:
    """The whole period goes through a temporary table (parallel on PostgreSQL), one school straight
    from the SELECT; a school's row must not depend on which job wrote it."""
    columns = [c.name for c in SchoolMonthScore.__table__.columns if c.name not in ("id", "computed_at")]
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        b = db.session.get(School, district.school_b.id)
        data.inspection(p, a, CANTEEN, SELF, A3="fail", D3=("fail", 2))
        data.inspection(p, a, CANTEEN, SPOT, day=15, A4=("fail", 3))
        data.inspection(p, b, SAFETY, SELF)
        data.evaluation(p, b, "91.50")
        data.report(p, a, late=True)
        data.report(p, b)

        def rows() -> dict[int, tuple]:
            db.session.expire_all()
            found = db.session.scalars(select(SchoolMonthScore).where(SchoolMonthScore.period_id == p.id))
            return {r.school_id: tuple(getattr(r, c) for c in columns) for r in found}

        assert score_period(p.id) == 3
        assert score_period(p.id) == 3  # twice in one transaction: the staging table is made afresh
        whole = rows()
        db.session.execute(SchoolMonthScore.__table__.delete())
        for school_id in sorted(whole):
            score_period(p.id, [school_id])
        one_by_one = rows()
        a_id, b_id = a.id, b.id
    assert one_by_one == whole
    assert whole[a_id][columns.index("composite")] is not None
    assert whole[b_id][columns.index("staff_area")] == Decimal("91.5")
