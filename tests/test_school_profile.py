"""The school page's blocks (service/org/profile.py): canteen rates by hand (pure), then each block over
the two scored months of tests/compare_data.py - history, hazards, staff, the audit trail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.db import db
from service.org import profile
from service.org.models import School
from service.staff.models import StaffRole, WarningKind
from service.staff.operations import recompute_certificate_warnings
from tenants import TenantScope, use_scope
from tests import compare_data
from tests.conftest import NOW, TODAY, District

D = Decimal


# --- pure ---------------------------------------------------------------------------------------------------


def test_facts_rates_by_hand() -> None:
    """20 of 22 days 两荤两素一汤 = 90.909… → 90.9 %; 60 of 66 sittings accompanied → 90.9 %; 66 of 66
    sampled → 100.0 %; 132.0 kg over 600 pupils × 22 days = 132000 g ÷ 13200 = 10.0 g."""
    r = profile.facts_rates(
        meals_served=66,
        menu_compliant_days=20,
        serving_days=22,
        leader_accompanied_meals=60,
        sampled_meals=66,
        food_waste_kg=D("132.0"),
        enrollment=600,
    )
    assert (r.menu_percent, r.accompanied_percent, r.sampled_percent) == (D("90.9"), D("90.9"), D("100.0"))
    assert r.waste_grams_per_pupil_day == D("10.0")
    # half up: 62 of 63 = 98.412… → 98.4; 1 of 8 = 12.5 exactly; 94.5 kg / (600 × 21) = 7.5 g
    r = profile.facts_rates(
        meals_served=63,
        menu_compliant_days=1,
        serving_days=8,
        leader_accompanied_meals=63,
        sampled_meals=62,
        food_waste_kg=D("94.5"),
        enrollment=600 * 21 // 8,  # 1575 pupils × 8 days = 12600 pupil-days
    )
    assert (r.menu_percent, r.sampled_percent, r.waste_grams_per_pupil_day) == (
        D("12.5"),
        D("98.4"),
        D("7.5"),
    )
    # 2 of 3 = 66.666… → 66.7 (half up at the second decimal)
    assert profile._percent(2, 3) == D("66.7")
    assert profile._percent(1, 6) == D("16.7")


def test_nothing_to_divide_by_is_no_rate_not_zero() -> None:
    r = profile.facts_rates(
        meals_served=0,
        menu_compliant_days=0,
        serving_days=0,
        leader_accompanied_meals=0,
        sampled_meals=0,
        food_waste_kg=D("3.0"),
        enrollment=500,
    )
    assert (r.menu_percent, r.accompanied_percent, r.sampled_percent, r.waste_grams_per_pupil_day) == (
        None,
        None,
        None,
        None,
    )
    assert (
        profile.facts_rates(
            meals_served=10,
            menu_compliant_days=5,
            serving_days=5,
            leader_accompanied_meals=0,
            sampled_meals=10,
            food_waste_kg=D("1.0"),
            enrollment=0,  # enrolment not recorded: no per-pupil figure
        ).waste_grams_per_pupil_day
        is None
    )


# --- over the database ------------------------------------------------------------------------------------


@pytest.fixture
def scored(app: Any, district: District, pg: Any) -> compare_data.Scored:
    return compare_data.build(app, district)


def test_history_latest_and_facts(app: Any, scored: compare_data.Scored) -> None:
    a = scored.ids["SA"]
    with app.app_context(), use_scope(TenantScope.school(a)):
        periods = profile.months_up_to(TODAY)
        assert [p.code for p in periods] == ["2026-09", "2026-10", "2026-11"]
        rows = profile.score_history(a, periods)
        assert [(r.period.code, r.score.composite if r.score and r.score.scored else None) for r in rows] == [
            ("2026-09", D("95.6")),
            ("2026-10", D("95.5")),
            ("2026-11", None),  # open month: nothing scored
        ]
        assert [(r.rank.rank_overall, r.rank.rank_peer, r.rank.movement) for r in rows[:2]] == [
            (1, 1, None),
            (2, 1, -1),
        ]
        period, row = profile.latest_score(a)
        assert (period.code, row.composite, row.canteen_area) == ("2026-10", D("95.5"), D("93.8"))
        school = db.session.scalars(select(School).where(School.id == a)).one()
        facts = profile.canteen_facts(school, periods)
        assert [(f.period.code, f.rates.menu_percent, f.rates.sampled_percent) for f in facts] == [
            ("2026-10", D("100.0"), D("98.4")),
            ("2026-09", D("90.9"), D("100.0")),
        ]
        assert profile.months_up_to(TODAY - timedelta(days=60))[-1].code == "2026-09"


def test_hazards_incidents_and_vetoes(app: Any, scored: compare_data.Scored) -> None:
    a = scored.ids["SA"]
    with app.app_context(), use_scope(TenantScope.school(a)):
        rows = profile.hazards(a, TODAY)
        assert [(r.hazard.id, r.overdue, r.days_overdue) for r in rows] == [
            (scored.overdue_hazard, True, 12),  # deadline 9 November, 21 November today
            (scored.closed_hazard, False, 0),
        ]
        assert (
            profile.hazards(a, TODAY + timedelta(days=91))[-1].hazard.id == scored.overdue_hazard
        )  # closed one gone
        assert [i.id for i in profile.incidents(a, NOW)] == [scored.incident]
        vetoes = profile.vetoes(a, TODAY)
        assert vetoes and all(v.starts_on.isoformat() == "2026-10-12" for v in vetoes)
        assert "advanced_unit" in vetoes[0].blocks


def test_staff_summary(app: Any, scored: compare_data.Scored) -> None:
    """SA: the fixture's cook (certificate expiring in 10 days) and two evaluated cleaners (one a month,
    each scored 90); the newest month's mean is 90 over 1 evaluation."""
    a = scored.ids["SA"]
    with app.app_context(), use_scope(TenantScope.school(a)):
        recompute_certificate_warnings([a], today=TODAY)
        summary = profile.staff_summary(a)
    assert summary.by_role == {StaffRole.COOK: 1, StaffRole.CLEANER: 2}
    assert summary.warnings == {WarningKind.EXPIRING: 1}
    assert (summary.mean_period.code, summary.mean_score, summary.evaluated) == ("2026-10", D("90"), 1)


def test_audit_trail_newest_first_without_item_rows(app: Any, scored: compare_data.Scored) -> None:
    a = scored.ids["SA"]
    with app.app_context(), use_scope(TenantScope.school(a)):
        everything = db.session.scalars(select(AuditEntry).where(AuditEntry.school_id == a)).all()
        assert any(e.table_name == "inspection_item_results" for e in everything)
        lines = profile.audit_trail(a)
        assert 0 < len(lines) <= profile.AUDIT_ENTRIES
        assert all(line.entry.table_name != "inspection_item_results" for line in lines)
        keys = [(line.entry.at, line.entry.id) for line in lines]
        assert keys == sorted(keys, reverse=True)
        assert len(profile.audit_trail(a, limit=3)) == 3
        # an update names the fields it changed, never the system-kept ones
        updates = [line for line in lines if line.entry.action.value == "update"]
        assert updates and all("section_scores" not in line.fields for line in updates)
