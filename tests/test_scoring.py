"""The score engine against hand-computed school-months (rubrics.md formulas 1-5, and formula 7's
monthly spot mean).

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
from service.hazards.models import HazardState
from service.inspections.models import InspectionKind, InspectionMode
from service.org.models import School
from service.rankings.calendar import month_target
from service.rankings.engine import build_snapshot
from service.rankings.models import RankingEntry
from service.reports.models import ReportState
from service.scoring.engine import area_scores_select, current_basis, score_period
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


# --- formula 4: person scores are averaged unrounded ---------------------------------------------------


def _assessed(*raters: tuple) -> list[dict[str, Any]]:
    """Ratings by assessment-group raters only: each dimension is their mean (weight 50 ÷ 50), so the
    person score is the mean of the raters' totals."""
    codes = ("de", "neng", "qin", "ji", "lian")
    return [
        {"rater_group": "assessment", "rater_name": f"考核员{n}", "scores": dict(zip(codes, r, strict=True))}
        for n, r in enumerate(raters, start=1)
    ]


def test_person_scores_are_averaged_unrounded_which_moves_the_composite_and_the_rank(
    app: Any, district: District, pg: Any
) -> None:
    """The reviewer's case: three person scores that are not finite decimals. Averaging them rounded
    (as before) gives staff 76.25 and composite 95.25 → 95.3, tied first with B; averaged unrounded
    (formula 4) the staff area is 76.2466… and the composite 95.2493… → 95.2, second."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        b = db.session.get(School, district.school_b.id)
        for school in (a, b):  # canteen 100, safety 100 (self, clean)
            data.inspection(p, school, CANTEEN, SELF)
            data.inspection(p, school, SAFETY, SELF)
        people = [
            # rater totals 77 + 77 + 75.79 = 229.79; ÷ 3 = 76.59666… (shown 76.60)
            _assessed((8, 16, 12, 34, 7), (8, 15, 12, 34, 8), (7, 15, 11, "33.79", 9)),
            # 78 + 78 + 77.06 = 233.06; ÷ 3 = 77.68666… (shown 77.69)
            _assessed((8, 16, 12, 35, 7), (8, 16, 12, 35, 7), (8, 15, 11, "33.06", 10)),
            # 74 + 75 + 74.37 = 223.37; ÷ 3 = 74.45666… (shown 74.46)
            _assessed((7, 15, 11, 34, 7), (7, 15, 11, 34, 8), (7, 15, 11, "33.37", 8)),
        ]
        evaluated = [data.rated_evaluation(p, a, r, name=f"员工{n}") for n, r in enumerate(people)]
        stored = [(e.score, e.score_shown) for e in evaluated]
        data.evaluation(p, b, "76.25")  # B: one person at 76.25 exactly
        data.report(p, a)
        data.report(p, b)
        score_period(p.id)
        row_a, row_b = _row(a.id, p.id), _row(b.id, p.id)
        snap = build_snapshot(month_target(2026, 3), current_basis())
        ranks = {
            e.school_id: e.rank_overall
            for e in db.session.scalars(select(RankingEntry).where(RankingEntry.snapshot_id == snap.id))
        }

    assert stored == [
        (Decimal("76.5966666667"), Decimal("76.60")),
        (Decimal("77.6866666667"), Decimal("77.69")),
        (Decimal("74.4566666667"), Decimal("74.46")),
    ]
    # staff area = (229.79 + 233.06 + 223.37) ÷ 9 = 686.22 ÷ 9 = 76.246666… (the shown values average
    # (76.60 + 77.69 + 74.46) ÷ 3 = 228.75 ÷ 3 = 76.25)
    assert row_a.staff_area == Decimal("76.246667")  # kept to 6 decimals
    # weighted = (40 × 100 + 40 × 100 + 20 × 76.246666…) ÷ 100 = 80 + 15.249333… = 95.249333… → 95.2
    # (with 76.25: 80 + 15.25 = 95.25 → 95.3)
    assert (row_a.weighted, row_a.composite) == (Decimal("95.249333"), Decimal("95.2"))
    # B: 80 + 20 × 76.25 ÷ 100 = 95.25 → 95.3
    assert (row_b.weighted, row_b.composite) == (Decimal("95.25"), Decimal("95.3"))
    # B first alone, A second (before: both 95.3 with equal tie-breakers → 1, 1)
    assert (ranks[b.id], ranks[a.id]) == (1, 2)


# --- formula 7: a month's spot mean pools its canteen and safety spot inspections --------------------


def test_a_months_spot_mean_pools_canteen_and_safety_spot_inspections(
    app: Any, district: District, pg: Any
) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        b = db.session.get(School, district.school_b.id)
        # A: one canteen spot (A4 daily log missing 3 days, −3 → 97.0), one safety spot (B2 three
        # devices not working, −6 → 94.0)
        data.inspection(p, a, CANTEEN, SPOT, day=15, A4=("fail", 3))
        data.inspection(p, a, SAFETY, SPOT, day=16, B2=("fail", 3))
        # B: two canteen spots (97.0 and a clean 100.0) and the same safety spot (94.0)
        data.inspection(p, b, CANTEEN, SPOT, day=15, A4=("fail", 3))
        data.inspection(p, b, CANTEEN, SPOT, day=22)
        data.inspection(p, b, SAFETY, SPOT, day=16, B2=("fail", 3))
        data.report(p, a)
        data.report(p, b)
        score_period(p.id)
        row_a, row_b = _row(a.id, p.id), _row(b.id, p.id)
    # A: (97.0 + 94.0) ÷ 2 = 95.5 over 2 spot inspections (the canteen spot alone would be 97.0)
    assert (row_a.canteen_spot, row_a.safety_spot) == (Decimal("97"), Decimal("94"))
    assert (row_a.spot_mean, row_a.spot_count) == (Decimal("95.5"), 2)
    # B: (97.0 + 100.0 + 94.0) ÷ 3 = 97.0 - every spot inspection counts once (the mean of the two
    # areas' spot means would be (98.5 + 94.0) ÷ 2 = 96.25)
    assert (row_b.canteen_spot, row_b.spot_mean, row_b.spot_count) == (Decimal("98.5"), Decimal("97"), 3)


# --- formula 2: a hazard due on the month's last day is not yet overdue ------------------------------


def test_a_hazard_due_on_the_months_last_day_is_not_overdue_at_its_end(
    app: Any, district: District, pg: Any
) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)  # March: the month's end is the 31st
        a = db.session.get(School, district.school_a.id)
        b = db.session.get(School, district.school_b.id)
        for school in (a, b):
            data.inspection(p, school, SAFETY, SELF)  # 100.0
            data.report(p, school)
        data.overdue_hazard(a, date(2026, 3, 2), date(2026, 3, 31))  # due on the last day: not overdue
        closed = data.overdue_hazard(a, date(2026, 3, 2), date(2026, 3, 20))  # past due, closed on the 31st
        closed.state, closed.closed_on = HazardState.CLOSED, date(2026, 3, 31)
        data.overdue_hazard(b, date(2026, 3, 2), date(2026, 3, 30))  # due the day before: overdue
        db.session.flush()
        score_period(p.id)
        row_a, row_b = _row(a.id, p.id), _row(b.id, p.id)
    # A: 31 March < 31 March is false → not overdue; the other was closed by that day → no deduction
    assert (row_a.overdue_hazards, row_a.hazard_deduction, row_a.safety_area) == (0, 0, Decimal("100"))
    # B: 30 March < 31 March and still open → 1 overdue: 100 − 2 = 98
    assert (row_b.overdue_hazards, row_b.hazard_deduction, row_b.safety_area) == (1, 2, Decimal("98"))
    assert (row_a.composite, row_b.composite) == (Decimal("100.0"), Decimal("98.0"))


# --- formula 5: the band is of the rounded composite ---------------------------------------------------


def test_the_band_is_of_the_rounded_composite(app: Any, district: District, pg: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        a = db.session.get(School, district.school_a.id)
        b = db.session.get(School, district.school_b.id)
        for school, staff in ((a, "49.80"), (b, "49.70")):
            data.inspection(p, school, CANTEEN, SELF)  # 100.0
            data.inspection(p, school, SAFETY, SELF)  # 100.0
            data.evaluation(p, school, staff)
            data.report(p, school)
        score_period(p.id)
        row_a, row_b = _row(a.id, p.id), _row(b.id, p.id)
        snap = build_snapshot(month_target(2026, 3), current_basis())
        bands = {
            e.school_id: e.band
            for e in db.session.scalars(select(RankingEntry).where(RankingEntry.snapshot_id == snap.id))
        }
    # A: (40 × 100 + 40 × 100 + 20 × 49.80) ÷ 100 = 89.96 → 90.0 → A (89.96 itself would be B)
    assert (row_a.weighted, row_a.composite, row_a.band) == (Decimal("89.96"), Decimal("90.0"), Band.A)
    # B: 80 + 20 × 49.70 ÷ 100 = 89.94 → 89.9 → B
    assert (row_b.weighted, row_b.composite, row_b.band) == (Decimal("89.94"), Decimal("89.9"), Band.B)
    assert (bands[a.id].value, bands[b.id].value) == ("A", "B")  # the month's ranking, the same
