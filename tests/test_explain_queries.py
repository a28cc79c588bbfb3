"""A school-month's explanation reads its month in a fixed handful of SQL statements.

The explanation (API ``/scores/<school>/<month>/explanation``, the page ``/schools/<id>/scores/<month>``)
lists every inspection of the month with its sections and items. It once ran one item-results query
per inspection and one rubric-items query per section (83 statements for a demo school-month); now
the rubric versions, sections, items and item results are read set-based, so the count is small and
the same for a month with five inspections as for one with eleven.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine, over
the whole request (authentication and the tenant scope included).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from service.db import db
from service.inspections.models import InspectionKind, InspectionMode
from service.org.models import School
from service.rankings import jobs as ranking_jobs
from service.reports.models import ReportState
from service.rules.models import RuleKind
from service.rules.operations import add_version, seed_default_rule_sets
from service.staff.models import ContractType, StaffMember, StaffRole
from tenants import TenantScope, use_scope
from tests import ranking_data as data
from tests.conftest import District, evaluate_all_staff, login

API = "/api/v1"
MAX_STATEMENTS = 12
CANTEEN, SAFETY = InspectionKind.CANTEEN, InspectionKind.SAFETY
SELF, SPOT = InspectionMode.SELF, InspectionMode.SPOT

pytestmark = pytest.mark.usefixtures("pg")


def _month(app: Any, d: District, year: int, month: int, *, rounds: int) -> str:
    """School A's month with ``rounds`` rounds of inspections (a canteen self, a safety self, a canteen
    spot and a safety spot each, some items failed or not applicable), two overdue hazards, three
    staff (two of them with the same name) evaluated, the report accepted and the month ranked."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        school = db.session.get(School, d.school_a.id)
        p = data.period(year, month)
        for n in range(rounds):
            day = 2 + 2 * n
            data.inspection(p, school, CANTEEN, SELF, day, B2=("fail", n + 1), D3="fail")
            data.inspection(p, school, SAFETY, SELF, day + 1, B2=("fail", 1))
            data.inspection(p, school, CANTEEN, SPOT, day + 10, A4=("fail", 8), F4="na")
            data.inspection(p, school, SAFETY, SPOT, day + 11)
        for title_day in (3, 5):
            hazard = data.overdue_hazard(school, date(year, month, 1), date(year, month, title_day))
            hazard.title = f"隐患{title_day}"
        if not db.session.query(StaffMember).filter_by(school_id=school.id, name="王保洁").count():
            for _ in range(2):
                db.session.add(
                    StaffMember(
                        school_id=school.id,
                        name="王保洁",
                        role=StaffRole.CLEANER,
                        contract_type=ContractType.CONTRACT,
                        hire_date=date(2020, 1, 1),
                    )
                )
        report = data.report(p, school, state=ReportState.DRAFT)
        period_id, report_id, code = p.id, report.id, p.code
        db.session.commit()
        db.session.remove()
    evaluate_all_staff(app, d.school_a.id, period_id)
    with app.app_context(), use_scope(TenantScope.bureau()):
        from service.reports.models import MonthlyReport

        db.session.get(MonthlyReport, report_id).state = ReportState.ACCEPTED
        db.session.flush()
        ranking_jobs.recompute_period(period_id)
        db.session.commit()
        db.session.remove()
    return code


@pytest.fixture
def months(app: Any, district: District) -> dict[str, str]:
    """A small month (one round: 4 inspections) and a big one (three rounds: 12 inspections), both
    scored with the stored rules version 1 (as ``houqin db upgrade`` seeds them)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        seed_default_rule_sets(db.session)
        db.session.commit()
        db.session.remove()
    return {
        "small": _month(app, district, 2025, 9, rounds=1),
        "big": _month(app, district, 2025, 10, rounds=3),
    }


@contextmanager
def counted(app: Any) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    assert engine is not None

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _explain(app: Any, client: Any, d: District, code: str) -> tuple[dict[str, Any], list[str]]:
    with counted(app) as statements:
        resp = client.get(f"{API}/scores/{d.school_a.id}/{code}/explanation", headers=d.headers("admin_a"))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json(), statements


def test_the_explanation_reads_a_month_in_a_handful_of_statements(
    app: Any, client: Any, district: District, months: dict[str, str]
) -> None:
    # The token's last use is written at most once a minute: the first request of the test pays that
    # UPDATE, the ones counted do not (as a user's next request would not).
    _explain(app, client, district, months["small"])
    small, small_sql = _explain(app, client, district, months["small"])
    big, big_sql = _explain(app, client, district, months["big"])
    assert len(small["inspections"]) == 4 and len(big["inspections"]) == 12
    # The month is realistic: both kinds, both modes, deducted and not-applicable items, hazards, staff.
    assert {(i["kind"], i["mode"]) for i in big["inspections"]} == {
        ("canteen", "self"), ("canteen", "spot"), ("safety", "self"), ("safety", "spot"),
    }  # fmt: skip
    assert all(i["score_matches"] for i in big["inspections"])
    assert any(s["items_not_applicable"] for i in big["inspections"] for s in i["sections"])
    assert len(big["areas"]["safety"]["overdue_hazards"]) == 4  # September's two are still open
    assert big["areas"]["staff"]["evaluations"] == 3
    assert len(small_sql) <= MAX_STATEMENTS, "\n".join(small_sql)
    # Three times the inspections, the same statements: nothing is read per inspection or per section.
    assert len(big_sql) == len(small_sql), "\n".join(big_sql)


def test_a_month_scored_with_older_rules_still_shows_them(
    app: Any, client: Any, district: District, months: dict[str, str]
) -> None:
    """The explanation reuses the rules in force only when the month was scored with them."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        add_version(RuleKind.SCORING, {"spot_weight_percent": "60"}, note="抽查占比调整", user=None)
        db.session.commit()
        db.session.remove()
    _explain(app, client, district, months["small"])
    x, statements = _explain(app, client, district, months["small"])
    assert (x["basis"]["rules_version"], x["basis"]["current_rules_version"]) == (1, 2)
    assert x["basis"]["rules"]["spot_weight_percent"] == "70"  # the month's own rules, not today's 60
    assert x["areas"]["canteen"]["mix"]["spot_percent"] == "70"
    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)


def test_the_explanation_page_does_not_grow_with_the_inspections(
    app: Any, district: District, months: dict[str, str]
) -> None:
    client = app.test_client()
    assert login(client, "admin_a").status_code == 302
    counts = []
    for code in (months["small"], months["big"]):
        with counted(app) as statements:
            page = client.get(f"/schools/{district.school_a.id}/scores/{code}")
        assert page.status_code == 200
        assert "隐患3" in page.get_data(as_text=True)
        counts.append(len(statements))
    assert counts[0] == counts[1]
