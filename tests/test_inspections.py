"""Inspections (自查 / 督查) and canteen facts: hand-computed scores and grades, the pinned rubric
version, refusals (422 / 403 / 404 / 409) and all-or-nothing saving.

The default canteen rubric (rubrics.md): A 10 · B 15 · C 20 · D 25 · E 15 · F 15 = 100 points.
Items used below: A1 ※ licence −10 (cap 10) · A2 −2 · A3 manager −5 · A4 daily log −1/day (cap 5) ·
B1 ※ certificate −5/person · B2 晨检 −2/day · B3 hygiene −1/person · C5 veto nitrite (0) ·
D1 cross-contamination −5 · D3 dish not sampled −5 · D4 ※ meal not sampled (0) · E3 camera −2 ·
F1 陪餐 −1/meal (cap 8) · F4 contracting −5, may be not applicable.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from service.db import db
from service.inspections import scoring
from service.inspections.models import Grade, Inspection, InspectionItemResult, ItemOutcome
from service.reports.models import MonthlyReport, ReportState
from service.rubrics.models import ItemKind, RubricItem, RubricKind, RubricSection
from service.rubrics.operations import current_version
from tenants import TenantScope, use_scope
from tests.conftest import TODAY, District

API = "/api/v1"


# --- fixtures and helpers --------------------------------------------------------------------------


def _last_month() -> date:
    first = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
    return first.replace(month=7) if first.month == 8 else first  # August is not a reporting month


@pytest.fixture
def period(app: Any, district: District) -> dict:
    """Last month, open for reporting (its deadline is in the future)."""
    first = _last_month()
    resp = app.test_client().post(
        f"{API}/periods",
        json={
            "year": first.year,
            "month": first.month,
            "deadline": (TODAY + timedelta(days=3)).isoformat(),
        },
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _item_ids(app: Any, kind: RubricKind) -> dict[str, int]:
    """Item code → id of the published version of ``kind`` (entered items only)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(kind)
        assert version is not None
        ids = {i.code: i.id for i in version.all_items() if not i.computed}
        db.session.remove()
    return ids


def _items(ids: dict[str, int], **found: Any) -> list[dict]:
    """Every item passed, except ``found``: code → "na" | "fail" | ("fail", occurrences)."""
    rows = []
    for code, item_id in ids.items():
        outcome = found.get(code, "pass")
        result, occurrences = (outcome, 0) if isinstance(outcome, str) else outcome
        rows.append({"item_id": item_id, "result": result, "occurrences": occurrences})
    return rows


def _day(period: dict, day: int = 10) -> str:
    return date(period["year"], period["month"], day).isoformat()


def _self_canteen(client: Any, district: District, period: dict, items: list[dict], **extra: Any) -> Any:
    body = {
        "kind": "canteen",
        "mode": "self",
        "period_id": period["id"],
        "inspected_on": _day(period),
        "inspector_name": "邵淑芬",
        "items": items,
        **extra,
    }
    return client.post(f"{API}/inspections", json=body, headers=district.headers("admin_a"))


def _set_state(app: Any, report_id: int, state: ReportState) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        report = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == report_id)).one()
        report.state = state
        db.session.commit()
        db.session.remove()


def _count(app: Any, model: Any) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        n = db.session.scalar(select(func.count()).select_from(model)) or 0
        db.session.remove()
    return n


# --- hand-computed scores and grades (default canteen rubric, via the API) --------------------------

CASES = {
    # A1 ※ −10 and A3 −5 take 15 off a 10-point section: floored at 0. 90/100; one key → B.
    "section_floored_at_zero": (
        {"A1": "fail", "A3": "fail"},
        "90.0",
        1,
        0,
        "B",
        {"A": ["0.00", "10.00"]},
    ),
    # A4 −1 × 8 days capped at −5; F1 −1 × 12 meals capped at −8: 87/100. A at 50% anyway → B.
    "caps": (
        {"A4": ("fail", 8), "F1": ("fail", 12)},
        "87.0",
        0,
        0,
        "B",
        {"A": ["5.00", "10.00"], "F": ["7.00", "15.00"]},
    ),
    # F4 not applicable removes its own max (5) from F: possible 95; D1 −5 → 100 × 90/95 = 94.7 → A.
    "na_rebases": (
        {"F4": "na", "D1": "fail"},
        "94.7",
        0,
        0,
        "A",
        {"D": ["20.00", "25.00"], "F": ["10.00", "10.00"]},
    ),
    # D4 ※ (no deduction) + D3 −5 + E3 −2 = 93.0; every section ≥ 70%, but a key item failed → B.
    "one_key_failed_caps_at_b": (
        {"D4": "fail", "D3": ("fail", 1), "E3": "fail"},
        "93.0",
        1,
        0,
        "B",
        {"D": ["20.00", "25.00"], "E": ["13.00", "15.00"]},
    ),
    # Two key items failed → 未定级 whatever the score (95.0).
    "two_keys_failed_ungraded": (
        {"D4": "fail", "B1": ("fail", 1)},
        "95.0",
        2,
        0,
        "ungraded",
        {"B": ["10.00", "15.00"]},
    ),
    # No key item failed, but section A kept only 5 of 10 (< 70%) → capped at B despite 95.0.
    "weak_section_caps_at_b": ({"A3": "fail"}, "95.0", 0, 0, "B", {"A": ["5.00", "10.00"]}),
    # A failed item entered with 0 occurrences counts once: B2 −2 → 98.0.
    "fail_counts_at_least_once": ({"B2": ("fail", 0)}, "98.0", 0, 0, "A", {"B": ["13.00", "15.00"]}),
    # A veto item (nitrite) is counted, never scored.
    "veto_counted_not_scored": ({"C5": "fail"}, "100.0", 0, 1, "A", {"C": ["20.00", "20.00"]}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_canteen_scores_by_hand(app: Any, client: Any, district: District, period: dict, case: str) -> None:
    found, score, key_failed, veto_failed, grade, sections = CASES[case]
    ids = _item_ids(app, RubricKind.CANTEEN)
    resp = _self_canteen(client, district, period, _items(ids, **found))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["score"], body["key_failed"], body["veto_failed"], body["grade"]) == (
        score,
        key_failed,
        veto_failed,
        grade,
    )
    for code, expected in sections.items():
        assert body["section_scores"][code] == expected
    assert body["report_id"] is not None and body["mode"] == "self"
    # stored on the row: a plain GET returns the same result
    again = client.get(f"{API}/inspections/{body['id']}", headers=district.headers("admin_a")).get_json()
    assert (again["score"], again["grade"]) == (score, grade)


def test_item_results_show_what_each_item_deducted(
    app: Any, client: Any, district: District, period: dict
) -> None:
    ids = _item_ids(app, RubricKind.CANTEEN)
    body = _self_canteen(client, district, period, _items(ids, A4=("fail", 8))).get_json()
    a4 = next(i for i in body["items"] if i["code"] == "A4")
    assert (a4["result"], a4["occurrences"], a4["deducted"], a4["section"]) == ("fail", 8, "5.00", "A")
    assert [i["code"] for i in body["items"]][:3] == ["A1", "A2", "A3"]  # rubric order


def test_safety_check_has_no_grade_and_skips_computed_items(
    app: Any, client: Any, district: District, period: dict
) -> None:
    ids = _item_ids(app, RubricKind.SAFETY)
    first_item = next(iter(ids))
    resp = client.post(
        f"{API}/inspections",
        json={
            "kind": "safety",
            "mode": "spot",
            "school_id": district.school_c.id,  # no canteen, but a campus
            "period_id": period["id"],
            "inspected_on": _day(period, 3),
            "unannounced": True,
            "items": _items(ids, **{first_item: "fail"}),
        },
        headers=district.headers("inspector"),
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["grade"] is None and body["kind"] == "safety"
    assert body["unannounced"] is True and body["report_id"] is None
    assert body["inspector_name"] == "INSPECTOR"  # defaults to the signed-in inspector
    assert body["inspector_user_id"] == district.inspector.id
    assert Decimal(body["score"]) < Decimal(100)


# --- pure scoring: grade bands on a one-section rubric ----------------------------------------------


def _rubric(*items: RubricItem, max_points: str = "100") -> list[RubricSection]:
    section = RubricSection(code="X", max_points=Decimal(max_points), position=1)
    for n, item in enumerate(items, start=1):
        item.id = n
        item.position = n
        section.items.append(item)
    return [section]


def _item(code: str, deduction: str, **kw: Any) -> RubricItem:
    kw.setdefault("kind", ItemKind.GENERAL)
    kw.setdefault("na_allowed", False)
    cap = kw.pop("cap", None)
    return RubricItem(
        code=code, text=code, deduction=Decimal(deduction), cap=Decimal(cap) if cap else None, **kw
    )


@pytest.mark.parametrize(
    ("occurrences", "score", "grade"),
    [
        (401, "59.9", Grade.UNGRADED),
        (400, "60.0", Grade.C),
        (251, "74.9", Grade.C),
        (250, "75.0", Grade.B),
        (101, "89.9", Grade.B),
        (100, "90.0", Grade.A),
    ],
)
def test_grade_bands(app: Any, occurrences: int, score: str, grade: Grade) -> None:
    sections = _rubric(_item("X1", "0.10"))
    result = scoring.score_inspection(sections, {1: scoring.Entry(ItemOutcome.FAIL, occurrences)})
    assert result.score == Decimal(score)
    assert scoring.canteen_grade(result, {}) is grade


def test_scoring_rounds_half_up_and_rebases_on_na(app: Any) -> None:
    sections = _rubric(_item("X1", "5", na_allowed=True), _item("X2", "1", cap="10"), _item("X3", "2"))
    # X1 na → possible 95; X2 × 12 capped at 10 → 85/95 = 89.473… → 89.5
    result = scoring.score_inspection(
        sections, {1: scoring.Entry(ItemOutcome.NA), 2: scoring.Entry(ItemOutcome.FAIL, 12)}
    )
    assert result.score == Decimal("89.5")
    assert result.section_scores_json() == {"X": ["85.00", "95.00"]}
    # a true tie at the second decimal rounds up: 100 × 397/400 = 99.25 → 99.3 (half-even would give 99.2)
    tie = _rubric(_item("X1", "3"), max_points="400")
    assert scoring.score_inspection(tie, {1: scoring.Entry(ItemOutcome.FAIL, 1)}).score == Decimal("99.3")
    half = _rubric(_item("X1", "1"), max_points="200")
    assert scoring.score_inspection(half, {1: scoring.Entry(ItemOutcome.FAIL, 1)}).score == Decimal("99.5")
    tricky = _rubric(_item("X1", "0.90"), max_points="20")
    assert scoring.score_inspection(tricky, {1: scoring.Entry(ItemOutcome.FAIL, 1)}).score == Decimal("95.5")
    with pytest.raises(scoring.NothingApplicable):
        scoring.score_inspection(
            _rubric(_item("X1", "5", na_allowed=True), max_points="5"), {1: scoring.Entry(ItemOutcome.NA)}
        )


def test_grade_settings_of_the_version_apply(app: Any) -> None:
    result = scoring.score_inspection(
        _rubric(_item("X1", "1")), {1: scoring.Entry(ItemOutcome.FAIL, 12)}
    )  # 88.0
    assert scoring.canteen_grade(result, {}) is Grade.B
    assert scoring.canteen_grade(result, {"grade_bands": {"A": 85, "B": 70, "C": 50}}) is Grade.A


# --- the rubric version stays with the inspection ----------------------------------------------------


def test_inspection_keeps_its_rubric_version(app: Any, client: Any, district: District, period: dict) -> None:
    admin, a = district.headers("admin"), district.headers("admin_a")
    ids_v1 = _item_ids(app, RubricKind.CANTEEN)
    old = _self_canteen(client, district, period, _items(ids_v1, A3="fail")).get_json()
    assert old["score"] == "95.0"

    rubric = next(r for r in client.get(f"{API}/rubrics", headers=admin).get_json() if r["kind"] == "canteen")
    draft = client.post(f"{API}/rubrics/{rubric['id']}/versions", json={"note": "A3 −8"}, headers=admin)
    assert draft.status_code == 201
    draft = draft.get_json()
    a3 = next(i for s in draft["sections"] for i in s["items"] if i["code"] == "A3")
    assert (
        client.patch(f"{API}/rubric-items/{a3['id']}", json={"deduction": "8.00"}, headers=admin).status_code
        == 200
    )
    assert client.post(f"{API}/rubric-versions/{draft['id']}/publish", headers=admin).status_code == 200

    kept = client.get(f"{API}/inspections/{old['id']}", headers=a).get_json()
    assert (kept["rubric_version_id"], kept["rubric_version"], kept["score"]) == (
        old["rubric_version_id"],
        1,
        "95.0",
    )
    # re-saved later: still scored with version 1
    patched = client.patch(f"{API}/inspections/{old['id']}", json={"notes": "复核"}, headers=a).get_json()
    assert (patched["rubric_version_id"], patched["score"], patched["notes"]) == (
        old["rubric_version_id"],
        "95.0",
        "复核",
    )
    # the new version's items do not belong to the old inspection
    ids_v2 = _item_ids(app, RubricKind.CANTEEN)
    bad = client.patch(f"{API}/inspections/{old['id']}", json={"items": _items(ids_v2)}, headers=a)
    assert bad.status_code == 422 and "items" in bad.get_json()["errors"]

    new = _self_canteen(client, district, period, _items(ids_v2, A3="fail")).get_json()
    assert new["rubric_version"] == 2 and new["score"] == "92.0"


# --- refusals ---------------------------------------------------------------------------------------


def test_item_refusals_name_the_item(app: Any, client: Any, district: District, period: dict) -> None:
    canteen = _item_ids(app, RubricKind.CANTEEN)
    with app.app_context(), use_scope(TenantScope.bureau()):
        safety = current_version(RubricKind.SAFETY)
        computed_id = next(i.id for i in safety.all_items() if i.computed)
        safety_item_id = next(i.id for i in safety.all_items() if not i.computed)
        db.session.remove()

    # na where the rubric does not allow it (A2)
    items = _items(canteen, A2="na")
    resp = _self_canteen(client, district, period, items)
    assert resp.status_code == 422
    [msg] = resp.get_json()["errors"]["items"]
    assert "2" in msg and "A2" in msg

    # an item of another rubric version
    items = [*_items(canteen), {"item_id": safety_item_id, "result": "pass"}]
    resp = _self_canteen(client, district, period, items)
    assert resp.status_code == 422 and len(resp.get_json()["errors"]["items"]) == 1

    # a computed item cannot be entered
    safety_items = [*_items(_item_ids(app, RubricKind.SAFETY)), {"item_id": computed_id, "result": "pass"}]
    resp = client.post(
        f"{API}/inspections",
        json={
            "kind": "safety",
            "mode": "self",
            "period_id": period["id"],
            "inspected_on": _day(period),
            "inspector_name": "邵淑芬",
            "items": safety_items,
        },
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 422 and "G1" in resp.get_json()["errors"]["items"][0]

    # a forgotten item is not silently a pass; a listed-twice item is refused
    items = _items(canteen)
    resp = _self_canteen(client, district, period, [*items[1:], items[2]])
    errors = resp.get_json()["errors"]["items"]
    assert resp.status_code == 422 and len(errors) == 2 and any("A1" in e for e in errors)

    # occurrences only for a failed item; schema errors are per item too
    resp = _self_canteen(client, district, period, _items(canteen, A2=("pass", 2)))
    assert resp.status_code == 422 and "A2" in resp.get_json()["errors"]["items"][0]
    items = _items(canteen)
    items[0]["result"] = "maybe"
    resp = _self_canteen(client, district, period, items)
    assert resp.status_code == 422 and "items" in resp.get_json()["errors"]
    assert _count(app, Inspection) == 0


def test_header_refusals(app: Any, client: Any, district: District, period: dict) -> None:
    ids = _item_ids(app, RubricKind.CANTEEN)
    outside = date(period["year"], period["month"], 1) - timedelta(days=1)
    resp = _self_canteen(client, district, period, _items(ids), inspected_on=outside.isoformat())
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["inspected_on"]
    resp = _self_canteen(client, district, period, _items(ids), unannounced=True)
    assert resp.status_code == 422 and "unannounced" in resp.get_json()["errors"]
    resp = _self_canteen(client, district, period, _items(ids), inspector_name="  ")
    assert resp.status_code == 422 and "inspector_name" in resp.get_json()["errors"]
    # school C has no canteen: no canteen inspection, not even by the inspector
    resp = client.post(
        f"{API}/inspections",
        json={
            "kind": "canteen",
            "mode": "spot",
            "school_id": district.school_c.id,
            "period_id": period["id"],
            "inspected_on": _day(period),
            "items": _items(ids),
        },
        headers=district.headers("inspector"),
    )
    assert resp.status_code == 422 and "kind" in resp.get_json()["errors"]
    assert _count(app, Inspection) == 0


def test_roles(app: Any, client: Any, district: District, period: dict) -> None:
    ids = _item_ids(app, RubricKind.CANTEEN)
    spot = {
        "kind": "canteen",
        "mode": "spot",
        "period_id": period["id"],
        "inspected_on": _day(period),
        "items": _items(ids, E3="fail"),
    }
    a = district.headers("admin_a")
    # a school admin cannot create a spot inspection, even of their own school
    assert client.post(f"{API}/inspections", json=spot, headers=a).status_code == 403
    assert (
        client.post(
            f"{API}/inspections", json={**spot, "school_id": district.school_a.id}, headers=a
        ).status_code
        == 403
    )
    # an inspector or an official cannot create a self-inspection; an official nothing at all
    selfie = {**spot, "mode": "self", "school_id": district.school_a.id, "inspector_name": "某人"}
    assert (
        client.post(f"{API}/inspections", json=selfie, headers=district.headers("inspector")).status_code
        == 403
    )
    body = {**spot, "school_id": district.school_a.id}
    assert (
        client.post(f"{API}/inspections", json=body, headers=district.headers("official")).status_code == 403
    )
    # the inspector must name the school; school B is outside the inspector's clusters
    insp = district.headers("inspector")
    resp = client.post(f"{API}/inspections", json=spot, headers=insp)
    assert resp.status_code == 422 and "school_id" in resp.get_json()["errors"]
    assert (
        client.post(
            f"{API}/inspections", json={**spot, "school_id": district.school_b.id}, headers=insp
        ).status_code
        == 404
    )
    created = client.post(f"{API}/inspections", json=body, headers=insp)
    assert created.status_code == 201 and created.get_json()["score"] == "98.0"
    sid = created.get_json()["id"]
    # the school sees it but cannot change or delete it
    assert client.get(f"{API}/inspections/{sid}", headers=a).status_code == 200
    assert client.patch(f"{API}/inspections/{sid}", json={"notes": "不服"}, headers=a).status_code == 403
    assert client.delete(f"{API}/inspections/{sid}", headers=a).status_code == 403
    # the bureau admin records spot inspections too (school B)
    resp = client.post(
        f"{API}/inspections",
        json={**spot, "school_id": district.school_b.id},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201 and resp.get_json()["inspector_user_id"] == district.admin.id
    assert client.delete(f"{API}/inspections/{sid}", headers=insp).status_code == 204


def test_submitted_report_freezes_self_inspections_not_spot_ones(
    app: Any, client: Any, district: District, period: dict
) -> None:
    ids = _item_ids(app, RubricKind.CANTEEN)
    a, insp = district.headers("admin_a"), district.headers("inspector")
    own = _self_canteen(client, district, period, _items(ids)).get_json()
    facts = {
        "meals_served": 66,
        "menu_compliant_days": 20,
        "serving_days": 22,
        "leader_accompanied_meals": 60,
        "sampled_meals": 66,
        "food_waste_kg": "130.5",
    }
    report_id = own["report_id"]
    assert client.put(f"{API}/reports/{report_id}/canteen-facts", json=facts, headers=a).status_code == 200
    _set_state(app, report_id, ReportState.SUBMITTED)  # submitted (other areas gate the real submit)

    assert (
        client.patch(f"{API}/inspections/{own['id']}", json={"notes": "补充"}, headers=a).status_code == 409
    )
    assert client.delete(f"{API}/inspections/{own['id']}", headers=a).status_code == 409
    assert _self_canteen(client, district, period, _items(ids)).status_code == 409
    assert client.put(f"{API}/reports/{report_id}/canteen-facts", json=facts, headers=a).status_code == 409

    # the bureau's spot inspections do not depend on the school's report
    spot = client.post(
        f"{API}/inspections",
        json={
            "kind": "canteen",
            "mode": "spot",
            "school_id": district.school_a.id,
            "period_id": period["id"],
            "inspected_on": _day(period, 20),
            "items": _items(ids, D4="fail"),
        },
        headers=insp,
    )
    assert spot.status_code == 201
    patched = client.patch(
        f"{API}/inspections/{spot.get_json()['id']}", json={"items": _items(ids)}, headers=insp
    )
    assert patched.status_code == 200 and patched.get_json()["grade"] == "A"

    # returned for correction: editable again, and deleting takes the item results with it
    assert (
        client.post(
            f"{API}/reports/{report_id}/return", json={"reason": "请补充晨检记录"}, headers=insp
        ).status_code
        == 200
    )
    assert client.delete(f"{API}/inspections/{own['id']}", headers=a).status_code == 204
    assert client.get(f"{API}/inspections/{own['id']}", headers=a).status_code == 404
    assert _count(app, InspectionItemResult) == len(ids)  # only the spot inspection's remain


def test_all_or_nothing(app: Any, client: Any, district: District, period: dict) -> None:
    ids = _item_ids(app, RubricKind.CANTEEN)
    a = district.headers("admin_a")
    items = _items(ids, A1="fail")
    items[2] = {**items[2], "result": "na"}  # A3 may not be not-applicable
    resp = _self_canteen(client, district, period, items)
    assert resp.status_code == 422
    [msg] = resp.get_json()["errors"]["items"]
    assert "3" in msg and "A3" in msg
    assert _count(app, Inspection) == 0 and _count(app, InspectionItemResult) == 0
    assert client.get(f"{API}/reports", headers=a).get_json() == []  # not even the report was opened

    good = _self_canteen(client, district, period, _items(ids, A3="fail")).get_json()
    assert good["score"] == "95.0"
    # a bad replacement list changes nothing: old results and score stay
    bad = _items(ids, B1=("fail", 1))
    bad[-1] = {**bad[-1], "item_id": 999999}
    resp = client.patch(f"{API}/inspections/{good['id']}", json={"notes": "改", "items": bad}, headers=a)
    assert resp.status_code == 422
    same = client.get(f"{API}/inspections/{good['id']}", headers=a).get_json()
    assert (same["score"], same["notes"], same["key_failed"]) == ("95.0", "", 0)
    assert [i["code"] for i in same["items"] if i["result"] == "fail"] == ["A3"]
    # a good replacement rescores
    resp = client.patch(
        f"{API}/inspections/{good['id']}", json={"items": _items(ids, B1=("fail", 1))}, headers=a
    )
    assert resp.status_code == 200 and (resp.get_json()["score"], resp.get_json()["key_failed"]) == (
        "95.0",
        1,
    )
    assert resp.get_json()["grade"] == "B"


def test_listing_and_filters(app: Any, client: Any, district: District, period: dict) -> None:
    canteen, safety = _item_ids(app, RubricKind.CANTEEN), _item_ids(app, RubricKind.SAFETY)
    assert _self_canteen(client, district, period, _items(canteen)).status_code == 201
    for school in (district.school_b, district.school_c):
        resp = client.post(
            f"{API}/inspections",
            json={
                "kind": "safety",
                "mode": "spot",
                "school_id": school.id,
                "period_id": period["id"],
                "inspected_on": _day(period, 5),
                "items": _items(safety),
            },
            headers=district.headers("admin"),
        )
        assert resp.status_code == 201
    admin, insp, a = district.headers("admin"), district.headers("inspector"), district.headers("admin_a")

    def schools(headers: dict, **query: Any) -> list[int]:
        resp = client.get(f"{API}/inspections", query_string=query, headers=headers)
        assert resp.status_code == 200
        return sorted(i["school_id"] for i in resp.get_json())

    sa, sb, sc = district.school_a.id, district.school_b.id, district.school_c.id
    assert schools(admin) == [sa, sb, sc]
    assert schools(insp) == [sa, sc]  # the inspector's cluster only
    assert schools(a) == [sa]
    assert schools(a, school_id=sb) == []  # naming another school narrows, never widens
    assert schools(admin, kind="safety") == [sb, sc]
    assert schools(admin, mode="self", period_id=period["id"]) == [sa]
    assert schools(insp, school_id=sc) == [sc]


# --- canteen facts ----------------------------------------------------------------------------------

FACTS = {
    "meals_served": 66,
    "menu_compliant_days": 20,
    "serving_days": 22,
    "leader_accompanied_meals": 60,
    "sampled_meals": 66,
    "food_waste_kg": "130.5",
}


def _report(client: Any, district: District, period_id: int, user: str = "admin_a", **body: Any) -> dict:
    resp = client.post(
        f"{API}/reports", json={"period_id": period_id, **body}, headers=district.headers(user)
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_canteen_facts(app: Any, client: Any, district: District, period: dict) -> None:
    a = district.headers("admin_a")
    rid = _report(client, district, period["id"])["id"]
    url = f"{API}/reports/{rid}/canteen-facts"
    assert client.get(url, headers=a).status_code == 404  # not entered yet
    first = client.put(url, json=FACTS, headers=a)
    assert first.status_code == 200 and first.get_json()["food_waste_kg"] == "130.5"
    second = client.put(url, json={**FACTS, "sampled_meals": 65}, headers=a)
    assert second.get_json()["id"] == first.get_json()["id"] and second.get_json()["sampled_meals"] == 65
    seen = client.get(url, headers=district.headers("inspector")).get_json()
    assert (seen["sampled_meals"], seen["period_id"], seen["report_id"]) == (65, period["id"], rid)
    # only the school enters its facts
    assert client.put(url, json=FACTS, headers=district.headers("inspector")).status_code == 403
    assert client.put(url, json=FACTS, headers=district.headers("admin")).status_code == 403

    for change, field in (
        ({"sampled_meals": 67}, "sampled_meals"),
        ({"leader_accompanied_meals": 70}, "leader_accompanied_meals"),
        ({"menu_compliant_days": 23}, "menu_compliant_days"),
        ({"serving_days": 32}, "serving_days"),
        ({"meals_served": -1}, "meals_served"),
        ({"food_waste_kg": "-0.1"}, "food_waste_kg"),
    ):
        resp = client.put(url, json={**FACTS, **change}, headers=a)
        assert resp.status_code == 422 and field in resp.get_json()["errors"], (change, resp.get_json())
    assert client.get(url, headers=a).get_json()["sampled_meals"] == 65  # nothing half-saved


def test_canteen_facts_serving_days_fit_the_month(app: Any, client: Any, district: District) -> None:
    resp = client.post(
        f"{API}/periods",
        json={"year": 2026, "month": 9, "deadline": "2099-10-05"},
        headers=district.headers("admin"),
    )
    rid = _report(client, district, resp.get_json()["id"])["id"]
    resp = client.put(
        f"{API}/reports/{rid}/canteen-facts",
        json={**FACTS, "serving_days": 31},
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 422 and "serving_days" in resp.get_json()["errors"]


def test_school_without_canteen_has_no_facts(app: Any, client: Any, district: District, period: dict) -> None:
    from service.accounts.models import Role, User
    from service.accounts.operations import issue_token

    with app.app_context(), use_scope(TenantScope.bureau()):
        user = User(
            username="admin_c",
            display_name="ADMIN_C",
            role=Role.SCHOOL_ADMIN,
            password_hash="x",
            school_id=district.school_c.id,
        )
        db.session.add(user)
        db.session.flush()
        _, raw = issue_token(user, "tests")
        db.session.commit()
        db.session.remove()
    c = {"Authorization": f"Bearer {raw}"}
    resp = client.post(f"{API}/reports", json={"period_id": period["id"]}, headers=c)
    assert resp.status_code == 201
    facts = client.put(f"{API}/reports/{resp.get_json()['id']}/canteen-facts", json=FACTS, headers=c)
    assert facts.status_code == 422 and "school_id" in facts.get_json()["errors"]
    body = {
        "kind": "canteen",
        "mode": "self",
        "period_id": period["id"],
        "inspected_on": _day(period),
        "inspector_name": "丙校",
        "items": _items(_item_ids(app, RubricKind.CANTEEN)),
    }
    resp = client.post(f"{API}/inspections", json=body, headers=c)
    assert resp.status_code == 422 and "kind" in resp.get_json()["errors"]
    # a campus safety self-check is fine
    body = {**body, "kind": "safety", "items": _items(_item_ids(app, RubricKind.SAFETY))}
    assert client.post(f"{API}/inspections", json=body, headers=c).status_code == 201


def test_failed_veto_item_records_a_veto_and_a_correction_removes_it(
    app: Any, client: Any, district: District, period: dict
) -> None:
    """Banned food found (D6, a veto item): 放心食堂 and 先进单位 are barred for 12 months; vetoes never
    change the score."""
    ids = _item_ids(app, RubricKind.CANTEEN)
    clean = _self_canteen(client, district, period, _items(ids)).get_json()
    resp = _self_canteen(client, district, period, _items(ids, D6="fail"))
    assert resp.status_code == 201, resp.get_json()
    found = resp.get_json()
    assert found["veto_failed"] == 1 and found["score"] == clean["score"]
    vetoes = client.get(f"{API}/vetoes", headers=district.headers("admin")).get_json()
    assert len(vetoes) == 1
    assert set(vetoes[0]["blocks"]) == {"trusted_canteen", "advanced_unit"}
    assert vetoes[0]["starts_on"] == _day(period)
    assert vetoes[0]["school_id"] == district.school_a.id

    corrected = client.patch(
        f"{API}/inspections/{found['id']}", json={"items": _items(ids)}, headers=district.headers("admin_a")
    )
    assert corrected.status_code == 200
    assert client.get(f"{API}/vetoes", headers=district.headers("admin")).get_json() == []
