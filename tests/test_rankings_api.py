"""Rankings as people read them: the API (content, filters, sorting, scopes), the explanation chain,
the canonical payload, recomputing through the outbox, the scoring rules, the CLI and the web pages.

The district (tests/conftest.py) has schools A (canteen, staff, cluster 1), B (contracted canteen,
staff, cluster 2) and C (no canteen, no staff, cluster 1). Two months of term 1 of 2025/26 are built
through the domain operations; the numbers below are worked out by hand from rubrics.md:

2025-09
* A: canteen self 89.0 (B2 晨检 −2 × 3, D3 dish not sampled −5); canteen spot 94.7 (A4 −1 × 8 capped
  at −5, F4 not applicable: 90 / 95); canteen area 0.7 × 94.7 + 0.3 × 89.0 = 92.99. Safety self 100,
  one hazard overdue at the month's end −2 → 98. Staff 90. Composite (40 × 92.99 + 40 × 98 +
  20 × 90) / 100 = 94.396 → 94.4 (A).
* B: canteen self 95.0 (D1 −5), safety self 96.0 (B2 −2 × 2), staff 90 → 94.4, submitted late −2 → 92.4.
* C: no canteen, no staff: safety self 90.0 (B1 ※ −10) → composite 90.0.
2025-10: A and C the same again; B's report is not accepted (missing).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from service.db import db
from service.hazards.models import Hazard, HazardSeverity, HazardState
from service.inspections import operations as inspections
from service.inspections.models import InspectionKind, InspectionMode, ItemOutcome
from service.jobs.models import JobRun
from service.org.models import School
from service.periods.models import Period
from service.rankings import jobs as ranking_jobs
from service.rankings.cli import display_width, rank_command
from service.reports import operations as reports
from service.reports.models import ReportState
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from tenants import TenantScope, use_scope
from tests.conftest import District, evaluate_all_staff, login

API = "/api/v1"
pytestmark = pytest.mark.usefixtures("pg")


# --- building the district's two months ----------------------------------------------------------------


def _items(kind: RubricKind, **found: Any) -> list[dict]:
    """Every entered item of the published ``kind`` rubric passed, except ``found`` (code → outcome)."""
    version = current_version(kind)
    rows = []
    for item in version.all_items():
        if item.computed:
            continue
        outcome = found.get(item.code, "pass")
        result, occurrences = (outcome, 0) if isinstance(outcome, str) else outcome
        rows.append({"item_id": item.id, "result": ItemOutcome(result), "occurrences": occurrences})
    return rows


def _inspect(period: Period, school_id: int, kind: str, mode: str, day: int, **found: Any) -> int:
    school = db.session.scalars(select(School).where(School.id == school_id)).one()
    data = {
        "kind": InspectionKind(kind),
        "mode": InspectionMode(mode),
        "inspected_on": date(period.year, period.month, day),
        "inspector_name": "督查组" if mode == "spot" else "总务处",
        "items": _items(RubricKind(kind), **found),
    }
    today = date(period.year, period.month, 28)
    return inspections.create_inspection(period, school, data, user=None, today=today).id


def _month(app: Any, d: District, year: int, month: int, *, b_accepted: bool) -> int:
    with app.app_context():
        with use_scope(TenantScope.bureau()):
            period = Period(year=year, month=month, deadline=date(year, month + 1, 5), lock_days=10)
            db.session.add(period)
            db.session.commit()
            period_id = period.id
        for school in (d.school_a, d.school_b, d.school_c):
            with use_scope(TenantScope.school(school.id)):
                period = db.session.get(Period, period_id)
                if school is d.school_a:
                    _inspect(period, school.id, "canteen", "self", 10, B2=("fail", 3), D3=("fail", 1))
                    _inspect(period, school.id, "safety", "self", 11)
                    if month == 9:
                        db.session.add(
                            Hazard(
                                title="甲校配电房堆放杂物",
                                location="配电房",
                                severity=HazardSeverity.HIGH,
                                responsible_person="甲校电工",
                                found_on=date(year, month, 3),
                                deadline=date(year, month, 10),
                                state=HazardState.OPEN,
                                period_id=period_id,
                            )
                        )
                elif school is d.school_b:
                    _inspect(period, school.id, "canteen", "self", 10, D1=("fail", 1))
                    _inspect(period, school.id, "safety", "self", 11, B2=("fail", 2))
                else:
                    _inspect(period, school.id, "safety", "self", 11, B1=("fail", 1))
                db.session.commit()
        with use_scope(TenantScope.bureau()):
            period = db.session.get(Period, period_id)
            _inspect(period, d.school_a.id, "canteen", "spot", 20, A4=("fail", 8), F4="na")
            db.session.commit()
        db.session.remove()
    for school in (d.school_a, d.school_b):
        evaluate_all_staff(app, school.id, period_id)
    with app.app_context(), use_scope(TenantScope.bureau()):
        for report in db.session.scalars(reports.list_reports(period_id=period_id)):
            if report.school_id == d.school_b.id and not b_accepted:
                report.state = ReportState.SUBMITTED
                continue
            report.state = ReportState.ACCEPTED
            report.late = report.school_id == d.school_b.id
        db.session.commit()
        db.session.remove()
    return period_id


@pytest.fixture
def ranked(app: Any, district: District) -> District:
    """Two scored and ranked months (see the module docstring)."""
    d = district
    d.sep = _month(app, d, 2025, 9, b_accepted=True)  # type: ignore[attr-defined]
    d.oct = _month(app, d, 2025, 10, b_accepted=False)  # type: ignore[attr-defined]
    with app.app_context(), use_scope(TenantScope.bureau()):
        for period_id in (d.sep, d.oct):  # type: ignore[attr-defined]
            ranking_jobs.recompute_period(period_id)
        db.session.commit()
        db.session.remove()
    return d


def _get(client: Any, d: District, user: str, path: str, **query: Any) -> Any:
    return client.get(f"{API}{path}", headers=d.headers(user), query_string=query)


def _codes(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [e["school_code"] for e in resp.get_json()["entries"]]


# --- the ranking endpoint ------------------------------------------------------------------------------


def test_month_ranking_content(client: Any, ranked: District) -> None:
    d = ranked
    resp = _get(client, d, "admin", "/rankings/month/2025-09")
    body = resp.get_json()
    assert resp.status_code == 200
    header = body["snapshot"]
    assert header["kind"] == "month" and header["key"] == "2025-09"
    assert header["label_zh"] == "2025年9月" and header["label_en"] == "2025-09"
    assert len(header["payload_hash"]) == 64 and header["basis"]["rules_version"] == 0
    assert header["summary"]["counts"]["ranked"] == 3
    rows = {e["school_code"]: e for e in body["entries"]}
    assert [e["school_code"] for e in body["entries"]] == ["SA", "SB", "SC"]
    assert (rows["SA"]["score"], rows["SA"]["band"], rows["SA"]["rank_overall"]) == ("94.4", "A", 1)
    assert (rows["SB"]["score"], rows["SB"]["late_months"]) == ("92.4", 1)
    assert (rows["SC"]["score"], rows["SC"]["canteen_applies"]) == ("90", False)
    assert rows["SA"]["school_name"] == "甲小学" and rows["SA"]["cluster_name"] == "城东片区"
    # Peer groups: A and B are primary schools with a canteen; C has none and ranks alone.
    assert (rows["SB"]["rank_peer"], rows["SC"]["rank_peer"]) == (2, 1)
    assert (rows["SA"]["rank_cluster"], rows["SC"]["rank_cluster"], rows["SB"]["rank_cluster"]) == (1, 2, 1)

    october = _get(client, d, "admin", "/rankings/month/2025-10").get_json()
    moved = {e["school_code"]: e for e in october["entries"]}
    assert moved["SB"]["status"] == "missing" and moved["SB"]["rank_overall"] is None
    assert moved["SC"]["rank_overall"] == 2 and moved["SC"]["movement"] == 1  # 3rd → 2nd
    assert moved["SB"]["status_label"] == "缺报"


def test_ranking_filters_sorting_and_pages(client: Any, ranked: District) -> None:
    d = ranked
    path = "/rankings/month/2025-09"
    assert _codes(_get(client, d, "official", path, cluster_id=d.cluster_1.id)) == ["SA", "SC"]
    assert _codes(_get(client, d, "official", path, peer_group="primary:no_canteen")) == ["SC"]
    assert _codes(_get(client, d, "official", path, sort="score", order="asc")) == ["SC", "SB", "SA"]
    assert _codes(_get(client, d, "official", path, sort="school", order="desc")) == ["SC", "SB", "SA"]
    october = "/rankings/month/2025-10"
    assert _codes(_get(client, d, "official", october, status="missing")) == ["SB"]
    assert _codes(_get(client, d, "official", october, sort="movement"))[0] == "SC"
    page = _get(client, d, "official", path, per_page=2, page=2)
    assert _codes(page) == ["SC"] and page.headers["X-Total-Count"] == "3"
    assert page.get_json()["total"] == 3
    bad = _get(client, d, "official", path, sort="height")
    assert bad.status_code == 422 and "sort" in bad.get_json()["errors"]


def test_term_ranking_and_sensitivity(client: Any, ranked: District) -> None:
    d = ranked
    term = _get(client, d, "admin", "/rankings/term/2025-2026-1").get_json()
    assert term["snapshot"]["label_zh"] == "2025—2026学年第一学期"
    rows = {e["school_code"]: e for e in term["entries"]}
    # B has one month of two: at most one missing is allowed, so it is ranked on September alone.
    assert (rows["SA"]["score"], rows["SA"]["months_counted"]) == ("94.4", 2)
    assert (rows["SB"]["status"], rows["SB"]["months_counted"], rows["SB"]["score"]) == ("ranked", 1, "92.4")

    sens = _get(client, d, "official", "/rankings/term/2025-2026-1/sensitivity")
    assert sens.status_code == 200
    assert sens.get_json()["summary"]["shift"] == "10"
    assert all(e["sensitivity_max"] is not None for e in sens.get_json()["entries"])
    assert _get(client, d, "admin_a", "/rankings/term/2025-2026-1/sensitivity").status_code == 403
    assert _get(client, d, "inspector", "/rankings/term/2025-2026-1/sensitivity").status_code == 403
    assert _get(client, d, "admin", "/rankings/month/2025-09/sensitivity").status_code == 422


def test_scopes_see_their_own_lines(client: Any, ranked: District) -> None:
    d = ranked
    own = _get(client, d, "admin_a", "/rankings/month/2025-09").get_json()
    assert [e["school_code"] for e in own["entries"]] == ["SA"]
    assert own["entries"][0]["rank_overall"] == 1  # the district-wide rank, not a rank among one
    assert _codes(_get(client, d, "inspector", "/rankings/month/2025-09")) == ["SA", "SC"]
    assert _codes(_get(client, d, "admin_b", "/rankings/term/2025-2026-1")) == ["SB"]


def test_no_snapshot_and_bad_keys(client: Any, ranked: District) -> None:
    d = ranked
    missing = _get(client, d, "admin", "/rankings/month/2024-03")
    assert missing.status_code == 404 and "2024年3月" in missing.get_json()["errors"]["_request"][0]
    english = client.get(
        f"{API}/rankings/month/2024-03", headers={**d.headers("admin"), "Accept-Language": "en"}
    )
    assert "No ranking has been computed for 2024-03 yet." in english.get_json()["errors"]["_request"]
    assert _get(client, d, "admin", "/rankings/month/2025-9").status_code == 422
    assert _get(client, d, "admin", "/rankings/week/2025-09").status_code == 422


# --- snapshots and the canonical payload ---------------------------------------------------------------


def test_snapshot_header_and_payload(client: Any, ranked: District) -> None:
    d = ranked
    header = _get(client, d, "admin", "/rankings/month/2025-09").get_json()["snapshot"]
    one = _get(client, d, "admin", f"/rankings/snapshots/{header['id']}")
    assert one.status_code == 200 and one.get_json()["payload_hash"] == header["payload_hash"]
    # The header holds no school's numbers: every role may read it.
    assert _get(client, d, "admin_a", f"/rankings/snapshots/{header['id']}").status_code == 200

    first = _get(client, d, "admin", f"/rankings/snapshots/{header['id']}/payload")
    second = _get(client, d, "official", f"/rankings/snapshots/{header['id']}/payload")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.get_data() == second.get_data()
    assert hashlib.sha256(first.get_data()).hexdigest() == header["payload_hash"]
    assert len(first.get_json()["entries"]) == 3
    for user in ("admin_a", "inspector"):
        assert _get(client, d, user, f"/rankings/snapshots/{header['id']}/payload").status_code == 403
    assert _get(client, d, "admin", "/rankings/snapshots/999999").status_code == 404


# --- a school's history and the explanation ------------------------------------------------------------


def test_school_score_history(client: Any, ranked: District) -> None:
    d = ranked
    resp = _get(client, d, "admin_a", f"/schools/{d.school_a.id}/scores")
    assert resp.status_code == 200
    body = resp.get_json()
    assert [(m["period"], m["composite"], m["band"]) for m in body["months"]] == [
        ("2025-09", "94.4", "A"),
        ("2025-10", "94.4", "A"),
    ]
    kinds = {(r["kind"], r["key"]): r for r in body["rankings"]}
    assert kinds[("term", "2025-2026-1")]["rank_overall"] == 1
    assert kinds[("year", "2025-2026")]["score"] == "94.4"
    assert _get(client, d, "admin_a", f"/schools/{d.school_b.id}/scores").status_code == 404
    b = _get(client, d, "admin", f"/schools/{d.school_b.id}/scores").get_json()
    assert [m["status"] for m in b["months"]] == ["scored", "missing"]


def test_explanation_chain_adds_up(client: Any, ranked: District) -> None:
    d = ranked
    resp = _get(client, d, "admin_a", f"/scores/{d.school_a.id}/2025-09/explanation")
    assert resp.status_code == 200, resp.get_json()
    x = resp.get_json()
    c = x["composite"]
    assert (c["value"], c["band"], c["late"], c["weighted"]) == ("94.4", "A", False, "94.396")
    assert [(a["area"], a["share_percent"], a["value"]) for a in c["areas"]] == [
        ("canteen", "40", "92.99"),
        ("safety", "40", "98"),
        ("staff", "20", "90"),
    ]
    canteen = x["areas"]["canteen"]
    assert (canteen["self_mean"], canteen["spot_mean"]) == ("89", "94.7")
    assert canteen["mix"]["rule"] == "spot_and_self"
    assert canteen["mix"]["spot_percent"] == "70" and canteen["credibility"]["flag"] is False
    safety = x["areas"]["safety"]
    assert safety["mix"]["rule"] == "self_only" and safety["before_hazards"] == "100"
    assert [h["title"] for h in safety["overdue_hazards"]] == ["甲校配电房堆放杂物"]
    assert safety["hazard_deduction"] == "2" and safety["overdue_hazards"][0]["deadline"] == "2025-09-10"
    assert x["areas"]["staff"]["evaluations"] == 1 and x["areas"]["staff"]["mean"] == "90"
    assert x["basis"]["rules_version"] == 0 and x["basis"]["rules"]["spot_weight_percent"] == "70"

    by_mode = {(i["kind"], i["mode"]): i for i in x["inspections"]}
    self_canteen = by_mode[("canteen", "self")]
    assert self_canteen["score"] == "89" and self_canteen["score_matches"]
    sections = {s["code"]: s for s in self_canteen["sections"]}
    assert [(i["code"], i["occurrences"], i["points_off"]) for i in sections["B"]["items_deducted"]] == [
        ("B2", 3, "6")
    ]
    assert sections["D"]["items_deducted"][0]["text"] and sections["D"]["items_deducted"][0]["text_en"]
    spot = by_mode[("canteen", "spot")]
    spot_sections = {s["code"]: s for s in spot["sections"]}
    a4 = spot_sections["A"]["items_deducted"][0]
    assert (a4["code"], a4["occurrences"], a4["deduction"]) == ("A4", 8, "1")
    assert (a4["cap"], a4["points_off"]) == ("5", "5")
    f4 = spot_sections["F"]["items_not_applicable"][0]
    assert (f4["code"], f4["own_max_removed"], spot_sections["F"]["possible"]) == ("F4", "5", "10")
    assert spot["score"] == "94.7" and spot["rubric_version"] == 1
    # Every section of every inspection: the item lines add up to what the section lost.
    for inspection in x["inspections"]:
        total = Decimal(0)
        for section in inspection["sections"]:
            off = sum((Decimal(i["points_off"]) for i in section["items_deducted"]), Decimal(0))
            assert Decimal(section["deducted"]) == off
            if not section["floored"]:
                assert Decimal(section["possible"]) - Decimal(section["points"]) == off
            total += Decimal(section["points"])
        possible = sum((Decimal(s["possible"]) for s in inspection["sections"]), Decimal(0))
        assert (100 * total / possible).quantize(Decimal("0.1")) == Decimal(inspection["score"])


def test_explanation_scopes_and_missing_months(client: Any, ranked: District) -> None:
    d = ranked
    assert _get(client, d, "admin_a", f"/scores/{d.school_b.id}/2025-09/explanation").status_code == 404
    assert _get(client, d, "inspector", f"/scores/{d.school_b.id}/2025-09/explanation").status_code == 404
    assert _get(client, d, "inspector", f"/scores/{d.school_c.id}/2025-09/explanation").status_code == 200
    assert _get(client, d, "admin", f"/scores/{d.school_a.id}/2024-01/explanation").status_code == 404
    missing = _get(client, d, "admin_b", f"/scores/{d.school_b.id}/2025-10/explanation").get_json()
    assert missing["status"] == "missing" and missing["composite"]["missing"] is True
    assert missing["composite"]["value"] is None and "不" in missing["composite"]["note"]
    english = client.get(
        f"{API}/scores/{d.school_b.id}/2025-10/explanation",
        headers={**d.headers("admin"), "Accept-Language": "en"},
    ).get_json()
    assert "Missing (not imputed)" in english["composite"]["note"]
    late = _get(client, d, "admin", f"/scores/{d.school_b.id}/2025-09/explanation").get_json()["composite"]
    assert (late["late"], late["late_deduction"]) == (True, "2")
    assert (late["weighted"], late["value"]) == ("94.4", "92.4")
    no_canteen = _get(client, d, "admin", f"/scores/{d.school_c.id}/2025-09/explanation").get_json()
    assert no_canteen["areas"]["canteen"]["applies"] is False
    assert [a["share_percent"] for a in no_canteen["composite"]["areas"]] == [None, "100", None]


# --- recomputing, job runs, rules ----------------------------------------------------------------------


def test_recompute_through_the_outbox(app: Any, client: Any, ranked: District) -> None:
    d = ranked

    def recompute(user: str, period: str) -> Any:
        return client.post(f"{API}/rankings/recompute", json={"period": period}, headers=d.headers(user))

    assert recompute("admin_a", "2025-09").status_code == 403
    assert recompute("official", "2025-09").status_code == 403
    unknown = recompute("admin", "2024-01")
    assert unknown.status_code == 422 and "period" in unknown.get_json()["errors"]
    assert "period" in recompute("admin", "2025-9").get_json()["errors"]
    resp = recompute("admin", "2025-10")
    assert resp.status_code == 202, resp.get_json()
    run_id = resp.get_json()["job_run_id"]
    run = _get(client, d, "official", f"/jobs/{run_id}").get_json()  # eager Celery in tests: already run
    assert run["state"] == "succeeded" and run["done"] == run["total"] == 4
    assert run["attempts"] == 1 and run["result"]["period"] == "2025-10"
    assert [e["to_state"] for e in run["log"]] == ["running", "succeeded"]
    assert _get(client, d, "admin_a", f"/jobs/{run_id}").status_code == 403
    assert _get(client, d, "admin", "/jobs/999999").status_code == 404


def test_scoring_rules_validation_and_versions(client: Any, ranked: District) -> None:
    d = ranked
    current = _get(client, d, "admin_a", "/rules/scoring").get_json()
    assert current["version"] == 0 and current["settings"]["area_weights"]["canteen"] == "40"
    body = {k: v for k, v in current["settings"].items()}
    body["note"] = "加大安全权重"

    def put(user: str, data: dict, **headers: str) -> Any:
        return client.put(f"{API}/rules/scoring", json=data, headers={**d.headers(user), **headers})

    bad = {
        **body,
        "area_weights": {"canteen": "-1", "safety": "40", "staff": "20"},
        "spot_weight_percent": "120",
        "bands": {"A": "70", "B": "75", "C": "60"},
        "max_missing_months": {"term": -1, "year": 1},
    }
    resp = put("admin", bad)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert set(errors) >= {"area_weights", "spot_weight_percent", "max_missing_months"}
    assert "0" in errors["spot_weight_percent"][0] and "100" in errors["spot_weight_percent"][0]
    zeros = {"canteen": 0, "safety": 0, "staff": 0}
    zero = put("admin", {**body, "area_weights": zeros}, **{"Accept-Language": "en"})
    assert zero.get_json()["errors"]["area_weights"] == ["The area weights must add up to more than 0."]
    bands = put("admin", {**body, "bands": {"A": "70", "B": "75", "C": "60"}})
    assert bands.status_code == 422 and list(bands.get_json()["errors"]) == ["bands"]
    assert put("admin", {**body, "late_deduction": "2", "surprise": 1}).status_code == 422
    partial = {k: v for k, v in body.items() if k != "bands"}
    assert "bands" in put("admin", partial).get_json()["errors"]
    assert put("official", body).status_code == 403
    assert put("admin_a", body).status_code == 403

    ok = put("admin", {**body, "area_weights": {"canteen": 30, "safety": "50", "staff": "20"}})
    assert ok.status_code == 200, ok.get_json()
    saved = ok.get_json()
    assert saved["version"] == 1
    assert saved["settings"]["area_weights"] == {"canteen": "30", "safety": "50", "staff": "20"}
    assert saved["note"] == "加大安全权重"
    assert _get(client, d, "official", "/rules/scoring").get_json()["version"] == 1


# --- CLI -----------------------------------------------------------------------------------------------


def test_cli_rank_prints_a_table(app: Any, ranked: District) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(rank_command, ["2025-10"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("排名"))) :]
    assert "甲小学" in table[2] and table[2].split()[0] == "1" and "94.4" in table[2]
    assert "↑1" in result.output and "缺报 missing" in result.output
    # Columns line up although school names are Chinese (two terminal columns per character).
    score_column = [display_width(ln[: ln.index("94.4")]) for ln in table[2:] if "94.4" in ln]
    assert score_column and len(set(score_column)) == 1
    with app.app_context(), use_scope(TenantScope.bureau()):
        run = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
        assert run.state.value == "succeeded" and run.done == run.total and run.kind == "recompute_period"
        db.session.remove()

    term = runner.invoke(rank_command, ["2025-10", "--kind", "term", "--no-compute", "--top", "1"])
    assert term.exit_code == 0 and "2025—2026学年第一学期" in term.output
    assert "甲小学" in term.output and "乙小学" not in term.output
    by_key = runner.invoke(rank_command, ["2025-2026", "--kind", "year", "--no-compute"])
    assert by_key.exit_code == 0 and "丙小学" in by_key.output
    assert runner.invoke(rank_command, ["2024-01"]).exit_code != 0


def test_cli_explain_and_jobs_show(app: Any, ranked: District) -> None:
    from service.rankings.cli import explain_command, jobs_cli

    runner = app.test_cli_runner()
    result = runner.invoke(explain_command, ["SA", "2025-09"])
    assert result.exit_code == 0, result.output
    assert "composite 94.4 (band A)" in result.output
    assert "-5 A4" in result.output and "n/a F4" in result.output and "甲校配电房堆放杂物" in result.output
    assert runner.invoke(explain_command, ["NOPE", "2025-09"]).exit_code != 0
    runner.invoke(rank_command, ["2025-09"])
    with app.app_context(), use_scope(TenantScope.bureau()):
        run_id = db.session.scalars(select(JobRun.id).order_by(JobRun.id.desc())).first()
        db.session.remove()
    shown = runner.invoke(jobs_cli, ["show", str(run_id)])
    assert shown.exit_code == 0 and "succeeded" in shown.output and "4/4" in shown.output


# --- web pages -----------------------------------------------------------------------------------------


def test_ranking_pages(app: Any, ranked: District) -> None:
    d = ranked
    bureau = app.test_client()
    login(bureau, "official")
    page = bureau.get("/rankings", query_string={"kind": "month", "key": "2025-09"}).get_data(as_text=True)
    assert "甲小学" in page and "乙小学" in page and "丙小学" in page and "94.4" in page
    assert f"/schools/{d.school_a.id}/scores/2025-09" in page
    latest = bureau.get("/rankings").get_data(as_text=True)  # the latest month by default
    # B's October report is submitted, not yet reviewed: 待审核 (service/reports/status.py), never 缺报
    assert "2025年10月" in latest and "↑1" in latest and "待审核" in latest and "缺报" not in latest
    filtered = bureau.get(
        "/rankings", query_string={"kind": "month", "key": "2025-09", "cluster_id": d.cluster_2.id}
    ).get_data(as_text=True)
    assert "乙小学" in filtered and "甲小学" not in filtered
    term = bureau.get("/rankings", query_string={"kind": "term"}).get_data(as_text=True)
    assert "2025—2026学年第一学期" in term
    english = app.test_client()
    login(english, "official")
    english.get("/lang/en")
    assert "Rankings" in english.get("/rankings").get_data(as_text=True)
    dashboard = bureau.get("/").get_data(as_text=True)
    assert 'data-testid="cockpit-ranking"' in dashboard and "甲小学" in dashboard  # the first screen
    assert "kind=term" in dashboard

    school = app.test_client()
    login(school, "admin_a")
    own = school.get("/rankings", query_string={"kind": "month", "key": "2025-09"}).get_data(as_text=True)
    assert "甲小学" in own and "乙小学" not in own and "丙小学" not in own
    box = school.get("/").get_data(as_text=True)
    assert "94.4" in box and f"/schools/{d.school_a.id}/scores/2025-10" in box

    explanation = school.get(f"/schools/{d.school_a.id}/scores/2025-09")
    text = explanation.get_data(as_text=True)
    assert explanation.status_code == 200 and "94.4" in text and "甲校配电房堆放杂物" in text and "A4" in text
    assert school.get(f"/schools/{d.school_b.id}/scores/2025-09").status_code == 404
    assert school.get(f"/schools/{d.school_a.id}/scores/2024-01").status_code == 404
