"""Periods, locks, unlock requests, the monthly report workflow, completeness and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.core import events
from service.db import db
from service.periods.models import Period
from service.reports import operations as reports
from service.reports.models import MonthlyReport, ReportState
from tenants import TenantScope, use_scope
from tests.conftest import NOW, TODAY, District, evaluate_all_staff


@pytest.fixture
def period(app: Any, district: District) -> dict:
    """Last month, open (its deadline is in the future)."""
    today = TODAY
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first.month == 8:  # August is not a reporting month
        first = first.replace(month=7)
    resp = app.test_client().post(
        "/api/v1/periods",
        json={"year": first.year, "month": first.month, "deadline": (today + timedelta(days=3)).isoformat()},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _locked_period(app: Any) -> Period:
    """A period whose lock passed long ago."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = Period(year=2025, month=3, deadline=date(2025, 4, 5), lock_days=10)
        db.session.add(p)
        db.session.commit()
        db.session.refresh(p)
        db.session.expunge(p)
        return p


def _open_report(client: Any, district: District, period_id: int, user: str = "admin_a") -> dict:
    resp = client.post("/api/v1/reports", json={"period_id": period_id}, headers=district.headers(user))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_periods_default_deadline_and_refusals(client: Any, district: District) -> None:
    h = district.headers("admin")
    resp = client.post("/api/v1/periods", json={"year": 2026, "month": 12}, headers=h)
    assert resp.status_code == 201
    assert resp.get_json()["deadline"] == "2027-01-05"
    assert resp.get_json()["locks_on"] == "2027-01-16"
    assert client.post("/api/v1/periods", json={"year": 2026, "month": 12}, headers=h).status_code == 422
    aug = client.post("/api/v1/periods", json={"year": 2026, "month": 8}, headers=h)
    assert aug.status_code == 422 and "month" in aug.get_json()["errors"]
    early = client.post(
        "/api/v1/periods", json={"year": 2026, "month": 11, "deadline": "2026-11-20"}, headers=h
    )
    assert early.status_code == 422 and "deadline" in early.get_json()["errors"]
    assert (
        client.post(
            "/api/v1/periods", json={"year": 2026, "month": 11}, headers=district.headers("admin_a")
        ).status_code
        == 403
    )


def test_workflow_submit_return_resubmit_accept(
    app: Any, client: Any, district: District, period: dict
) -> None:
    report = _open_report(client, district, period["id"])
    evaluate_all_staff(app, district.school_a.id, period["id"])  # submission needs every staff evaluated
    assert report["state"] == "draft"
    assert _open_report(client, district, period["id"])["id"] == report["id"]  # idempotent
    rid = report["id"]
    a, insp, admin = district.headers("admin_a"), district.headers("inspector"), district.headers("admin")

    # reviewers cannot accept a draft; a school admin cannot review
    assert client.post(f"/api/v1/reports/{rid}/accept", headers=admin).status_code == 409
    sub = client.post(f"/api/v1/reports/{rid}/submit", headers=a)
    assert (
        sub.status_code == 200 and sub.get_json()["state"] == "submitted" and sub.get_json()["late"] is False
    )
    assert client.post(f"/api/v1/reports/{rid}/submit", headers=a).status_code == 409
    assert client.post(f"/api/v1/reports/{rid}/accept", headers=a).status_code == 403

    # return needs a reason; the inspector of A's cluster may return it
    bad = client.post(f"/api/v1/reports/{rid}/return", json={"reason": ""}, headers=insp)
    assert bad.status_code == 422 and "reason" in bad.get_json()["errors"]
    ret = client.post(f"/api/v1/reports/{rid}/return", json={"reason": "留样记录缺三天"}, headers=insp)
    assert ret.status_code == 200 and ret.get_json()["state"] == "returned"
    assert ret.get_json()["return_reason"] == "留样记录缺三天"

    assert client.post(f"/api/v1/reports/{rid}/submit", headers=a).get_json()["state"] == "submitted"
    acc = client.post(f"/api/v1/reports/{rid}/accept", headers=admin)
    assert acc.status_code == 200 and acc.get_json()["state"] == "accepted"
    assert (
        client.post(f"/api/v1/reports/{rid}/return", json={"reason": "再改一下"}, headers=insp).status_code
        == 409
    )

    history = client.get(f"/api/v1/reports/{rid}/transitions", headers=a).get_json()
    assert [(t["from_state"], t["to_state"]) for t in history] == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "accepted"),
    ]
    assert history[1]["note"] == "留样记录缺三天"


def test_inspector_of_another_cluster_cannot_review(client: Any, district: District, app: Any) -> None:
    # school B is in cluster 2; the inspector covers cluster 1 only
    p = client.post(
        "/api/v1/periods",
        json={"year": 2026, "month": 10, "deadline": "2099-11-05"},
        headers=district.headers("admin"),
    ).get_json()
    rb = _open_report(client, district, p["id"], user="admin_b")
    evaluate_all_staff(app, district.school_b.id, p["id"])
    assert (
        client.post(f"/api/v1/reports/{rb['id']}/submit", headers=district.headers("admin_b")).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/reports/{rb['id']}/accept", headers=district.headers("inspector")).status_code
        == 404
    )


def test_acceptance_and_reopening_emit_domain_events(
    app: Any, client: Any, district: District, period: dict
) -> None:
    seen: list[tuple[str, dict]] = []

    def on_accepted(**payload: Any) -> None:
        seen.append(("accepted", payload))

    def on_reopened(**payload: Any) -> None:
        seen.append(("reopened", payload))

    events.subscribe(events.REPORT_ACCEPTED, on_accepted)
    events.subscribe(events.REPORT_REOPENED, on_reopened)
    try:
        rid = _open_report(client, district, period["id"])["id"]
        evaluate_all_staff(app, district.school_a.id, period["id"])
        client.post(f"/api/v1/reports/{rid}/submit", headers=district.headers("admin_a"))
        client.post(f"/api/v1/reports/{rid}/accept", headers=district.headers("admin"))
        assert (
            client.post(
                f"/api/v1/reports/{rid}/reopen",
                json={"reason": "数据有误"},
                headers=district.headers("inspector"),
            ).status_code
            == 403
        )
        resp = client.post(
            f"/api/v1/reports/{rid}/reopen",
            json={"reason": "督查发现数据有误"},
            headers=district.headers("admin"),
        )
        assert resp.status_code == 200 and resp.get_json()["state"] == "returned"
    finally:
        events.unsubscribe(events.REPORT_ACCEPTED, on_accepted)
        events.unsubscribe(events.REPORT_REOPENED, on_reopened)
    expected = {"school_id": district.school_a.id, "period_id": period["id"], "report_id": rid}
    assert seen == [("accepted", expected), ("reopened", expected)]


def test_late_submission_is_recorded_as_late(app: Any, district: District) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = Period(year=2026, month=9, deadline=date(2026, 10, 5), lock_days=10)
        db.session.add(p)
        db.session.commit()
        pid = p.id
    evaluate_all_staff(app, district.school_a.id, pid)
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        report = reports.open_report(db.session.get(Period, pid))
        # 2026-10-06 00:30 Beijing time is 2026-10-05 16:30 UTC: one day late
        reports.submit(report, now=datetime(2026, 10, 5, 16, 30, tzinfo=UTC))
        assert report.late is True
        reports.return_report(report, "补充材料", now=datetime(2026, 10, 7, tzinfo=UTC))
        reports.submit(report, now=datetime(2026, 10, 8, tzinfo=UTC))
        assert report.late is True and report.first_submitted_at is not None
        db.session.rollback()
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        report = reports.open_report(db.session.get(Period, pid))
        # 23:59 Beijing time on the deadline day is on time
        reports.submit(report, now=datetime(2026, 10, 5, 15, 59, tzinfo=UTC))
        assert report.late is False
        db.session.rollback()


def test_locked_month_refuses_submission_until_unlock_granted(
    app: Any, client: Any, district: District
) -> None:
    p = _locked_period(app)
    a, admin = district.headers("admin_a"), district.headers("admin")
    rid = _open_report(client, district, p.id)["id"]
    resp = client.post(f"/api/v1/reports/{rid}/submit", headers=a)
    assert resp.status_code == 409 and "period_id" in resp.get_json()["errors"]

    bad = client.post(f"/api/v1/periods/{p.id}/unlock-requests", json={"reason": ""}, headers=a)
    assert bad.status_code == 422
    req = client.post(f"/api/v1/periods/{p.id}/unlock-requests", json={"reason": "三月漏报，补交"}, headers=a)
    assert req.status_code == 201 and req.get_json()["state"] == "pending"
    again = client.post(f"/api/v1/periods/{p.id}/unlock-requests", json={"reason": "再次申请解锁"}, headers=a)
    assert again.status_code == 409  # one pending request per school and month
    req_id = req.get_json()["id"]
    assert client.post(f"/api/v1/unlock-requests/{req_id}/grant", json={}, headers=a).status_code == 403
    assert (
        client.post(f"/api/v1/unlock-requests/{req_id}/refuse", json={"note": ""}, headers=admin).status_code
        == 422
    )
    granted = client.post(f"/api/v1/unlock-requests/{req_id}/grant", json={"note": "同意"}, headers=admin)
    assert granted.status_code == 200 and granted.get_json()["state"] == "granted"
    assert (
        client.post(f"/api/v1/unlock-requests/{req_id}/refuse", json={"note": "x"}, headers=admin).status_code
        == 409
    )

    evaluate_all_staff(app, district.school_a.id, p.id)
    sub = client.post(f"/api/v1/reports/{rid}/submit", headers=a)
    assert sub.status_code == 200 and sub.get_json()["late"] is True

    # both the request and the decision are in the audit trail, with who did it
    trail = client.get(
        "/api/v1/audit", query_string={"table": "unlock_requests", "row_id": req_id}, headers=admin
    ).get_json()
    assert [e["action"] for e in reversed(trail)] == ["insert", "update"]
    assert trail[0]["changes"]["state"] == ["pending", "granted"]
    assert trail[0]["actor_name"] == "admin" and trail[1]["actor_name"] == "admin_a"


def test_completeness_lists_missing_draft_on_time_and_late(
    app: Any, client: Any, district: District, period: dict
) -> None:
    rid = _open_report(client, district, period["id"])["id"]
    evaluate_all_staff(app, district.school_a.id, period["id"])
    client.post(f"/api/v1/reports/{rid}/submit", headers=district.headers("admin_a"))
    _open_report(client, district, period["id"], user="admin_b")  # B: draft only
    rows = client.get(
        "/api/v1/completeness", query_string={"period_id": period["id"]}, headers=district.headers("admin")
    ).get_json()
    assert {r["code"]: r["status"] for r in rows} == {"SA": "on_time", "SB": "draft", "SC": "missing"}
    # an inspector sees the schools of their clusters only; a school only itself
    rows = client.get(
        "/api/v1/completeness",
        query_string={"period_id": period["id"]},
        headers=district.headers("inspector"),
    ).get_json()
    assert sorted(r["code"] for r in rows) == ["SA", "SC"]
    rows = client.get(
        "/api/v1/completeness", query_string={"period_id": period["id"]}, headers=district.headers("admin_b")
    ).get_json()
    assert [(r["code"], r["status"]) for r in rows] == [("SB", "draft")]


def test_audit_trail_records_staff_changes_with_before_and_after(
    app: Any, client: Any, district: District
) -> None:
    resp = client.patch(
        f"/api/v1/staff/{district.staff_a.id}", json={"name": "张甲厨师"}, headers=district.headers("admin_a")
    )
    assert resp.status_code == 200
    trail = client.get(
        "/api/v1/audit",
        query_string={"table": "staff_members", "row_id": district.staff_a.id},
        headers=district.headers("official"),
    ).get_json()
    update = next(e for e in trail if e["action"] == "update")
    assert update["changes"] == {"name": ["张甲厨", "张甲厨师"]}
    assert update["actor_name"] == "admin_a" and update["school_id"] == district.school_a.id
    # the audit is for the bureau
    assert client.get("/api/v1/audit", headers=district.headers("admin_a")).status_code == 403
    with app.app_context(), use_scope(TenantScope.school(district.school_b.id)):
        assert (
            db.session.scalars(select(AuditEntry).where(AuditEntry.school_id == district.school_a.id)).all()
            == []
        )


def test_accepting_a_draft_is_refused_by_the_domain_function(
    app: Any, district: District, period: dict
) -> None:
    """Every move goes through TRANSITIONS: accepting a draft is refused by the domain function."""
    from service.core.errors import Conflict

    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        report = reports.open_report(db.session.get(Period, period["id"]))
        with pytest.raises(Conflict):
            reports.accept(report, now=NOW)
        assert report.state is ReportState.DRAFT
        db.session.rollback()
        assert db.session.scalars(select(MonthlyReport)).all() == []


def test_audit_trail_records_rows_removed_by_a_cascade(
    app: Any, client: Any, district: District, period: dict
) -> None:
    """Result rows an inspection's list drops (delete-orphan) are in the trail like any other delete."""
    from service.inspections.models import Inspection

    items = client.get("/api/v1/rubric-versions/1", headers=district.headers("admin_a")).get_json()
    ids = [i["id"] for sec in items["sections"] for i in sec["items"] if not i["computed"]]
    resp = client.post(
        "/api/v1/inspections",
        json={
            "kind": "canteen",
            "mode": "spot",
            "period_id": period["id"],
            "school_id": district.school_a.id,
            "inspected_on": date(period["year"], period["month"], 10).isoformat(),
            "items": [{"item_id": i, "result": "pass"} for i in ids],
        },
        headers=district.headers("inspector"),
    )
    assert resp.status_code == 201, resp.get_json()
    inspection_id = resp.get_json()["id"]
    with app.app_context(), use_scope(TenantScope.bureau()):
        inspection = db.session.scalars(select(Inspection).where(Inspection.id == inspection_id)).one()
        dropped = inspection.results[0]
        dropped_id = dropped.id
        inspection.results.remove(dropped)  # an orphan: deleted by the cascade at flush
        db.session.commit()
        entries = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.table_name == "inspection_item_results", AuditEntry.action == "delete"
            )
        ).all()
    assert [e.row_id for e in entries] == [dropped_id]
    assert entries[0].changes["result"] == ["pass", None]
    assert entries[0].school_id == district.school_a.id


def test_moving_the_deadline_rejudges_lateness(app: Any, client: Any, district: District) -> None:
    """A report submitted after the original deadline is no longer late when the bureau extends it."""
    admin = district.headers("admin")
    today = TODAY
    month = (today.replace(day=1) - timedelta(days=32)).replace(day=1)  # two months back
    if month.month == 8:
        month = (month - timedelta(days=1)).replace(day=1)
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = Period(year=month.year, month=month.month, deadline=today - timedelta(days=1), lock_days=30)
        db.session.add(p)
        db.session.commit()
        pid = p.id
    evaluate_all_staff(app, district.school_a.id, pid)
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        report = reports.open_report(db.session.get(Period, pid))
        reports.submit(report, now=NOW)
        db.session.commit()
        assert report.late is True
        rid = report.id
    resp = client.patch(
        f"/api/v1/periods/{pid}", json={"deadline": (today + timedelta(days=1)).isoformat()}, headers=admin
    )
    assert resp.status_code == 200, resp.get_json()
    assert client.get(f"/api/v1/reports/{rid}", headers=admin).get_json()["late"] is False
    trail = client.get(
        "/api/v1/audit", query_string={"table": "monthly_reports", "row_id": rid}, headers=admin
    )
    assert any(e["changes"].get("late") == [True, False] for e in trail.get_json())
