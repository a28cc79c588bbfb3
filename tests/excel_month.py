"""A school-month entered the way a school does without the workbook: through the REST API's operations.

Used by the Excel tests (tests/test_excel.py, tests/test_web_excel.py): the pre-filled template must
show exactly this, and uploading it unchanged must change nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from service.db import db
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from tenants import TenantScope, use_scope
from tests.conftest import District

API = "/api/v1"
DIMENSIONS = ("de", "neng", "qin", "ji", "lian")

# Every table an upload may write, and the audit trail: equal counts and rows mean nothing was written.
WRITTEN = ("inspections", "inspection_item_results", "canteen_monthly_facts", "evaluations",
           "evaluation_ratings", "hazards", "incidents", "vetoes", "audit_entries")  # fmt: skip


def item_ids(app: Any, kind: RubricKind) -> dict[str, int]:
    """Item code → id in the published version of ``kind`` (entered items only)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(kind)
        assert version is not None
        ids = {i.code: i.id for i in version.all_items() if not i.computed}
        db.session.remove()
    return ids


def _items(ids: dict[str, int], **found: Any) -> list[dict]:
    rows = []
    for code, item_id in ids.items():
        outcome = found.get(code, ("pass", 0, ""))
        result, occurrences, note = outcome
        rows.append({"item_id": item_id, "result": result, "occurrences": occurrences, "note": note})
    return rows


def scores(*values: Any) -> dict[str, Any]:
    return dict(zip(DIMENSIONS, values, strict=True))


def enter_month(app: Any, district: District, period: dict, *, user: str = "admin_a") -> dict[str, Any]:
    """Two canteen self-inspections and a safety check, canteen facts, an evaluation of the school's cook
    with two assessment raters, satisfaction, a peer and self, a hazard and an incident."""
    client = app.test_client()
    h = district.headers(user)
    day = lambda d: date(period["year"], period["month"], d).isoformat()  # noqa: E731
    canteen, safety = item_ids(app, RubricKind.CANTEEN), item_ids(app, RubricKind.SAFETY)
    first_canteen, second_canteen = list(canteen)[:2]
    out: dict[str, Any] = {"inspections": []}
    for kind, ids, when, found, notes in (
        ("canteen", canteen, 3, {second_canteen: ("fail", 2, "=留样记录缺失")}, "第一次自查"),
        ("canteen", canteen, 10, {first_canteen: ("fail", 0, "")}, ""),
        ("safety", safety, 5, {}, "安全自查"),
    ):
        resp = client.post(
            f"{API}/inspections",
            json={"kind": kind, "mode": "self", "period_id": period["id"], "inspected_on": day(when),
                  "inspector_name": "总务处王老师", "notes": notes, "items": _items(ids, **found)},
            headers=h,
        )  # fmt: skip
        assert resp.status_code == 201, resp.get_json()
        out["inspections"].append(resp.get_json()["id"])
    report_id = client.get(f"{API}/reports", headers=h).get_json()[0]["id"]
    out["report_id"] = report_id
    facts = {"meals_served": 66, "menu_compliant_days": 20, "serving_days": 22,
             "leader_accompanied_meals": 60, "sampled_meals": 66, "food_waste_kg": "120.5"}  # fmt: skip
    resp = client.put(f"{API}/reports/{report_id}/canteen-facts", json=facts, headers=h)
    assert resp.status_code == 200, resp.get_json()
    peer = client.post(
        f"{API}/staff",
        json={"name": "周同事", "role": "cleaner", "contract_type": "temporary", "hire_date": "2024-03-01"},
        headers=h,
    ).get_json()
    out["peer_id"] = peer["id"]
    ratings = [
        {"rater_group": "assessment", "rater_name": "王校长", "scores": scores(8, 18, 14, 40, 9)},
        {"rater_group": "assessment", "rater_name": "赵主任", "scores": scores(9, 16, 13, 41, 10)},
        {"rater_group": "satisfaction", "rater_name": "教师代表", "scores": scores(7, 15, 12, 38, 8)},
        {"rater_group": "peer", "rater_staff_id": peer["id"], "scores": scores(9, 17, 15, 41, 9)},
        {"rater_group": "self", "scores": scores(10, 20, 15, 45, 10)},
    ]
    resp = client.post(
        f"{API}/evaluations",
        json={"staff_id": district.staff_a.id, "period_id": period["id"], "ratings": ratings},
        headers=h,
    )
    assert resp.status_code == 201, resp.get_json()
    out["evaluation_id"] = resp.get_json()["id"]
    resp = client.post(
        f"{API}/hazards",
        json={"title": "灭火器过期", "location": "食堂后厨", "severity": "low", "responsible_person": "李电工",
              "found_on": day(4), "deadline": day(14), "description": "两具灭火器过期"},
        headers=h,
    )  # fmt: skip
    assert resp.status_code == 201, resp.get_json()
    out["hazard_id"] = resp.get_json()["id"]
    resp = client.post(
        f"{API}/incidents",
        json={"type": "injury", "severity": "minor", "occurred_at": f"{day(6)}T10:30:00+08:00",
              "description": "学生课间摔倒擦伤"},
        headers=h,
    )  # fmt: skip
    assert resp.status_code == 201, resp.get_json()
    out["incident_id"] = resp.get_json()["id"]
    return out


def snapshot(pg: Any) -> dict[str, list[tuple]]:
    """Every row of the tables an upload writes (audit trail included), read as the owner."""
    with pg.admin_engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in WRITTEN}
