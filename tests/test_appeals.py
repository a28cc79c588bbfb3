"""Appeals (申诉) against spot inspections: the 10-working-day deadline, who files and who decides,
what an upheld appeal does (inspection set aside, vetoes cleared, recomputation event), the state
machine and the audit trail.

Dates: March 2025. Wed 12 → its 10th working day is Wed 26; Fri 14 and Sat 15 → Fri 28 (weekends
never count, nor does the inspection day itself). "Today" for filing is pinned through the API
module's ``today_shanghai``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.appeals.models import InspectionAppeal
from service.appeals.workdays import nth_working_day_after
from service.audit.models import AuditEntry
from service.core import events
from service.db import db
from service.incidents.vetoes import Veto
from service.inspections.models import Inspection
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from tenants import TenantScope, use_scope
from tests.conftest import District

API = "/api/v1"
MARCH = (2025, 3)


# --- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture
def period_id(app: Any, district: District) -> int:
    """March 2025 as a bureau period (spot inspections need one; it is in the past)."""
    from service.periods.models import Period

    with app.app_context(), use_scope(TenantScope.bureau()):
        period = Period(year=MARCH[0], month=MARCH[1], deadline=date(2025, 4, 5), lock_days=10)
        db.session.add(period)
        db.session.commit()
        pid = period.id
        db.session.remove()
    return pid


def _add_user(app: Any, district: District, username: str, cluster: Any) -> None:
    """Another inspector (of ``cluster``) with an API token in ``district.tokens``."""
    from service.accounts.models import Role, User
    from service.accounts.operations import issue_token
    from service.org.models import Cluster
    from tests.conftest import _password_hash

    with app.app_context(), use_scope(TenantScope.bureau()):
        user = User(
            username=username,
            display_name=username.upper(),
            role=Role.INSPECTOR,
            password_hash=_password_hash(),
        )
        user.clusters = [db.session.scalars(select(Cluster).where(Cluster.id == cluster.id)).one()]
        db.session.add(user)
        db.session.flush()
        _tok, raw = issue_token(user, "tests")
        db.session.commit()
        district.tokens[username] = raw
        db.session.remove()


@pytest.fixture
def inspectors(app: Any, district: District) -> District:
    """``inspector2`` shares cluster 1 (schools A and C) with ``inspector``; ``inspector_west`` has cluster 2."""
    _add_user(app, district, "inspector2", district.cluster_1)
    _add_user(app, district, "inspector_west", district.cluster_2)
    return district


def _items(app: Any, kind: RubricKind, **failed: int) -> list[dict]:
    """Every entered item of the published version passed, except ``failed`` (code → occurrences)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(kind)
        assert version is not None
        rows = [
            {
                "item_id": item.id,
                "result": "fail" if item.code in failed else "pass",
                "occurrences": failed.get(item.code, 0),
            }
            for item in version.all_items()
            if not item.computed
        ]
        db.session.remove()
    return rows


def _spot(
    client: Any, district: District, period_id: int, day: int, *, by: str = "inspector", **failed: int
) -> dict:
    """A canteen spot inspection of school A on March ``day``; C5 (nitrite) failing is a veto item."""
    resp = client.post(
        f"{API}/inspections",
        json={
            "school_id": district.school_a.id,
            "kind": "canteen",
            "mode": "spot",
            "period_id": period_id,
            "inspected_on": date(*MARCH, day).isoformat(),
            "unannounced": True,
            "items": _items(client.application, RubricKind.CANTEEN, **failed),
        },
        headers=district.headers(by),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _file(
    client: Any,
    district: District,
    monkeypatch: Any,
    inspection_id: int,
    today: date,
    *,
    by: str = "admin_a",
    reason: str = "督查当日留样冰箱故障，已有维修记录为证",
    **headers: str,
) -> Any:
    monkeypatch.setattr("service.appeals.api.today_shanghai", lambda: today)
    return client.post(
        f"{API}/appeals",
        json={"inspection_id": inspection_id, "reason": reason},
        headers={**district.headers(by), **headers},
    )


def _decide(
    client: Any, district: District, appeal_id: int, outcome: str, *, by: str, note: str, **headers: str
) -> Any:
    return client.post(
        f"{API}/appeals/{appeal_id}/decision",
        json={"outcome": outcome, "note": note},
        headers={**district.headers(by), **headers},
    )


def _inspection(app: Any, inspection_id: int) -> Inspection:
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.scalars(select(Inspection).where(Inspection.id == inspection_id)).one()
        db.session.expunge(row)
        db.session.remove()
    return row


def _vetoes_of(app: Any, inspection_id: int) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        n = db.session.scalar(
            select(func.count()).select_from(Veto).where(Veto.inspection_id == inspection_id)
        )
        db.session.remove()
    return n or 0


@pytest.fixture
def upheld_events() -> Iterator[list[dict]]:
    """Every INSPECTION_APPEAL_UPHELD emitted during the test, with its payload."""
    seen: list[dict] = []

    def handler(**payload: Any) -> None:
        seen.append(payload)

    events.subscribe(events.INSPECTION_APPEAL_UPHELD, handler)
    try:
        yield seen
    finally:
        events.unsubscribe(events.INSPECTION_APPEAL_UPHELD, handler)


# --- the deadline: 10 working days after the inspection --------------------------------------------


def test_working_days_skip_weekends_and_configured_holidays() -> None:
    assert nth_working_day_after(date(2025, 3, 12), 10) == date(2025, 3, 26)  # Wed → Wed, two weekends
    assert nth_working_day_after(date(2025, 3, 14), 10) == date(2025, 3, 28)  # Fri → Fri
    assert nth_working_day_after(date(2025, 3, 15), 10) == date(2025, 3, 28)  # Sat: Mon 17 is day 1
    assert nth_working_day_after(date(2025, 3, 16), 1) == date(2025, 3, 17)
    # 清明 2025-04-04 (a Friday) as a configured holiday pushes the deadline a working day later
    assert nth_working_day_after(date(2025, 3, 28), 10) == date(2025, 4, 11)
    assert nth_working_day_after(date(2025, 3, 28), 10, [date(2025, 4, 4)]) == date(2025, 4, 14)


def test_filing_on_the_tenth_working_day_is_accepted_the_eleventh_refused(
    client: Any, district: District, period_id: int, monkeypatch: Any
) -> None:
    on_time = _spot(client, district, period_id, 12)
    late = _spot(client, district, period_id, 12)
    resp = _file(client, district, monkeypatch, on_time["id"], date(2025, 3, 26))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["state"], body["due_on"], body["inspection_id"]) == (
        "submitted",
        "2025-03-26",
        on_time["id"],
    )
    assert body["state_label"] == "待复核" and body["filed_by_id"] == district.admin_a.id
    assert body["inspection"]["excluded"] is False

    resp = _file(client, district, monkeypatch, late["id"], date(2025, 3, 27))
    assert resp.status_code == 422
    (message,) = resp.get_json()["errors"]["inspection_id"]
    assert "2025-03-26" in message and "10" in message
    # the refusal speaks English when asked
    resp = _file(client, district, monkeypatch, late["id"], date(2025, 3, 27), **{"Accept-Language": "en"})
    assert "The time to appeal has passed" in resp.get_json()["errors"]["inspection_id"][0]


def test_weekends_do_not_count_towards_the_deadline(
    client: Any, district: District, period_id: int, monkeypatch: Any
) -> None:
    friday = _spot(client, district, period_id, 14)
    saturday = _spot(client, district, period_id, 15)
    # Friday's inspection: the weekend after the 10th working day (Fri 28) is already too late
    for today in (date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)):
        assert _file(client, district, monkeypatch, friday["id"], today).status_code == 422, today
    assert _file(client, district, monkeypatch, friday["id"], date(2025, 3, 28)).status_code == 201
    # an inspection on a Saturday: counting starts on Monday, so the last day is also Fri 28
    resp = _file(client, district, monkeypatch, saturday["id"], date(2025, 3, 28))
    assert resp.status_code == 201 and resp.get_json()["due_on"] == "2025-03-28"


def test_configured_holidays_extend_the_deadline(
    app: Any, client: Any, district: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12)
    monkeypatch.setitem(app.config, "HOLIDAYS", ["2025-03-20"])  # a Thursday off: last day Thu 27
    resp = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 27))
    assert resp.status_code == 201 and resp.get_json()["due_on"] == "2025-03-27"


# --- who may file -----------------------------------------------------------------------------------


def test_only_the_schools_admin_files_and_only_against_spot_inspections(
    app: Any, client: Any, district: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12)
    today = date(2025, 3, 13)
    # another school's admin cannot even see the inspection
    assert _file(client, district, monkeypatch, spot["id"], today, by="admin_b").status_code == 404
    # the bureau's side does not file appeals
    for user in ("inspector", "admin", "official"):
        assert _file(client, district, monkeypatch, spot["id"], today, by=user).status_code == 403, user
    # a reason is required
    resp = _file(client, district, monkeypatch, spot["id"], today, reason="  ")
    assert resp.status_code == 422 and "reason" in resp.get_json()["errors"]

    # the school's own self-inspection cannot be appealed (written directly: March 2025 is locked)
    selfie_id = _self_inspection_row(app, district, period_id)
    resp = _file(client, district, monkeypatch, selfie_id, today)
    assert resp.status_code == 422 and "inspection_id" in resp.get_json()["errors"]
    assert client.get(f"{API}/appeals", headers=district.headers("admin")).get_json() == []


def _self_inspection_row(app: Any, district: District, period_id: int) -> int:
    from decimal import Decimal

    from service.inspections.models import InspectionKind, InspectionMode
    from service.periods.models import Period
    from service.reports import operations as reports

    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        period = db.session.scalars(select(Period).where(Period.id == period_id)).one()
        report = reports.open_report(period)
        version = current_version(RubricKind.CANTEEN)
        row = Inspection(
            kind=InspectionKind.CANTEEN,
            mode=InspectionMode.SELF,
            rubric_version_id=version.id,
            period_id=period_id,
            report_id=report.id,
            inspected_on=date(2025, 3, 12),
            inspector_name="总务处",
            score=Decimal("100.0"),
            section_scores={},
        )
        db.session.add(row)
        db.session.commit()
        ident = row.id
        db.session.remove()
    return ident


def test_one_open_appeal_per_inspection(
    app: Any, client: Any, district: District, inspectors: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12)
    first = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 13))
    assert first.status_code == 201
    second = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14))
    assert second.status_code == 409 and "inspection_id" in second.get_json()["errors"]
    # the database holds the line too (two quick clicks that both pass the check)
    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.add(
            InspectionAppeal(
                school_id=district.school_a.id,
                inspection_id=spot["id"],
                reason="重复申诉",
                due_on=date(2025, 3, 26),
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.remove()

    # once rejected, the school may appeal again while the time lasts - but not after it
    appeal_id = first.get_json()["id"]
    assert (
        _decide(client, district, appeal_id, "rejected", by="inspector2", note="证据不足").status_code == 200
    )
    assert _file(client, district, monkeypatch, spot["id"], date(2025, 3, 27)).status_code == 422
    again = _file(
        client, district, monkeypatch, spot["id"], date(2025, 3, 26), reason="补充维修单据后再次申诉"
    )
    assert again.status_code == 201
    # upheld: the inspection is set aside for good; nothing left to appeal
    assert (
        _decide(
            client, district, again.get_json()["id"], "upheld", by="admin", note="维修单据属实"
        ).status_code
        == 200
    )
    assert _file(client, district, monkeypatch, spot["id"], date(2025, 3, 26)).status_code == 409


# --- who may decide ---------------------------------------------------------------------------------


def test_a_different_inspector_decides_never_the_one_who_inspected(
    client: Any, district: District, inspectors: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12)
    assert spot["inspector_user_id"] == district.inspector.id
    appeal_id = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 13)).get_json()["id"]

    resp = _decide(client, district, appeal_id, "upheld", by="inspector", note="我自己复核")
    assert resp.status_code == 403
    assert "督查" in resp.get_json()["errors"]["_request"][0]  # says why, in Chinese by default
    resp = _decide(
        client, district, appeal_id, "upheld", by="inspector", note="我自己复核", **{"Accept-Language": "en"}
    )
    assert "You carried out this inspection" in resp.get_json()["errors"]["_request"][0]
    # read-only and school roles may not decide; an inspector of another cluster does not see it
    assert _decide(client, district, appeal_id, "upheld", by="official", note="看看").status_code == 403
    assert _decide(client, district, appeal_id, "upheld", by="admin_a", note="自己裁决").status_code == 403
    assert _decide(client, district, appeal_id, "upheld", by="inspector_west", note="越区").status_code == 404
    # a note and a known outcome are required
    resp = _decide(client, district, appeal_id, "upheld", by="inspector2", note="")
    assert resp.status_code == 422 and "note" in resp.get_json()["errors"]
    resp = _decide(client, district, appeal_id, "withdrawn", by="inspector2", note="撤回申诉")
    assert resp.status_code == 422 and "outcome" in resp.get_json()["errors"]
    assert client.get(f"{API}/appeals/{appeal_id}", headers=district.headers("admin")).get_json()[
        "state"
    ] == ("submitted")

    resp = _decide(client, district, appeal_id, "rejected", by="inspector2", note="照片显示冰箱正常运行")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "rejected" and body["decision_note"] == "照片显示冰箱正常运行"
    assert body["decided_at"] is not None


def test_a_bureau_admin_who_inspected_may_not_decide_either(
    client: Any, district: District, inspectors: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12, by="admin")
    appeal_id = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 13)).get_json()["id"]
    assert _decide(client, district, appeal_id, "upheld", by="admin", note="自查自纠").status_code == 403
    assert _decide(client, district, appeal_id, "upheld", by="inspector", note="复核属实").status_code == 200


# --- what a decision does ---------------------------------------------------------------------------


def test_upheld_sets_the_inspection_aside_clears_its_vetoes_and_announces_it(
    app: Any,
    client: Any,
    district: District,
    inspectors: District,
    period_id: int,
    monkeypatch: Any,
    upheld_events: list[dict],
) -> None:
    spot = _spot(client, district, period_id, 12, C5=1)  # nitrite found: a veto item failed
    other = _spot(client, district, period_id, 13, C5=1)  # not appealed: its veto stays
    assert _vetoes_of(app, spot["id"]) == 1 and _vetoes_of(app, other["id"]) == 1
    appeal_id = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14)).get_json()["id"]
    assert upheld_events == []

    resp = _decide(client, district, appeal_id, "upheld", by="inspector2", note="检出物为食用盐，复检合格")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "upheld" and body["state_label"] == "申诉成立"
    assert body["decided_by_id"] is not None and body["inspection"]["excluded"] is True

    inspection = _inspection(app, spot["id"])
    assert inspection.excluded is True
    assert inspection.excluded_reason == f"申诉成立（申诉#{appeal_id}）：检出物为食用盐，复检合格"
    assert inspection.score == _inspection(app, other["id"]).score  # kept for the record, not rescored
    assert _vetoes_of(app, spot["id"]) == 0
    assert _vetoes_of(app, other["id"]) == 1
    assert upheld_events == [
        {"school_id": district.school_a.id, "period_id": period_id, "inspection_id": spot["id"]}
    ]
    # the inspection is still there for everybody who could see it
    assert (
        client.get(f"{API}/inspections/{spot['id']}", headers=district.headers("admin_a")).status_code == 200
    )


def test_rejected_leaves_the_inspection_as_it_was(
    app: Any,
    client: Any,
    district: District,
    inspectors: District,
    period_id: int,
    monkeypatch: Any,
    upheld_events: list[dict],
) -> None:
    spot = _spot(client, district, period_id, 12, C5=1)
    before = _inspection(app, spot["id"])
    appeal_id = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14)).get_json()["id"]
    resp = _decide(client, district, appeal_id, "rejected", by="inspector2", note="现场取样检测确认亚硝酸盐")
    assert resp.status_code == 200
    after = _inspection(app, spot["id"])
    assert (after.excluded, after.excluded_reason, after.score, after.veto_failed) == (
        False,
        "",
        before.score,
        before.veto_failed,
    )
    assert _vetoes_of(app, spot["id"]) == 1
    assert upheld_events == []


def test_a_decided_appeal_cannot_be_decided_again_and_its_history_is_kept(
    app: Any,
    client: Any,
    district: District,
    inspectors: District,
    period_id: int,
    monkeypatch: Any,
    upheld_events: list[dict],
) -> None:
    spot = _spot(client, district, period_id, 12)
    appeal_id = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14)).get_json()["id"]
    assert (
        _decide(client, district, appeal_id, "rejected", by="inspector2", note="证据不足").status_code == 200
    )
    for outcome in ("upheld", "rejected"):
        resp = _decide(client, district, appeal_id, outcome, by="admin", note="复核后改判")
        assert resp.status_code == 409 and "state" in resp.get_json()["errors"], outcome
    assert upheld_events == []
    assert _inspection(app, spot["id"]).excluded is False

    history = client.get(f"{API}/appeals/{appeal_id}/transitions", headers=district.headers("admin_a"))
    assert history.status_code == 200
    steps = [(t["action"], t["from_state"], t["to_state"], t["note"]) for t in history.get_json()]
    assert steps == [
        ("file", None, "submitted", "督查当日留样冰箱故障，已有维修记录为证"),
        ("reject", "submitted", "rejected", "证据不足"),
    ]
    assert history.get_json()[0]["actor_id"] == district.admin_a.id


def test_audit_trail_records_the_appeal_and_what_it_changed(
    app: Any, client: Any, district: District, inspectors: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12, C5=1)
    appeal_id = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14)).get_json()["id"]
    _decide(client, district, appeal_id, "upheld", by="inspector2", note="复检合格")
    with app.app_context(), use_scope(TenantScope.bureau()):
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        trail = [
            (e.table_name, e.row_id if e.table_name != "vetoes" else None, e.action.value, e.actor_name)
            for e in entries
        ]
        appeal_changes = [
            e.changes for e in entries if e.table_name == "inspection_appeals" and e.action.value == "update"
        ]
        db.session.remove()
    assert ("inspection_appeals", appeal_id, "insert", "admin_a") in trail
    assert ("inspection_appeals", appeal_id, "update", "inspector2") in trail
    assert ("inspections", spot["id"], "update", "inspector2") in trail
    assert ("vetoes", None, "delete", "inspector2") in trail
    assert appeal_changes[0]["state"] == ["submitted", "upheld"]


# --- reading, scope, and the evidence kept ------------------------------------------------------------


def test_listing_follows_scope_and_filters_by_state(
    client: Any, district: District, inspectors: District, period_id: int, monkeypatch: Any
) -> None:
    open_one = _spot(client, district, period_id, 12)
    decided = _spot(client, district, period_id, 13)
    _file(client, district, monkeypatch, open_one["id"], date(2025, 3, 14))
    decided_id = _file(client, district, monkeypatch, decided["id"], date(2025, 3, 14)).get_json()["id"]
    _decide(client, district, decided_id, "rejected", by="inspector2", note="证据不足")

    def ids(user: str, **query: Any) -> list[int]:
        resp = client.get(f"{API}/appeals", query_string=query, headers=district.headers(user))
        assert resp.status_code == 200
        return sorted(a["inspection_id"] for a in resp.get_json())

    both = sorted([open_one["id"], decided["id"]])
    assert ids("admin_a") == ids("inspector") == ids("official") == both
    assert ids("admin_b") == ids("inspector_west") == []
    assert ids("admin", state="submitted") == [open_one["id"]]
    assert ids("admin", state="rejected") == [decided["id"]]
    resp = client.get(f"{API}/appeals", query_string={"state": "pending"}, headers=district.headers("admin"))
    assert resp.status_code == 422
    assert client.get(f"{API}/appeals/{decided_id}", headers=district.headers("admin_b")).status_code == 404


def test_an_appealed_inspection_cannot_be_deleted(
    app: Any, client: Any, district: District, period_id: int, monkeypatch: Any
) -> None:
    spot = _spot(client, district, period_id, 12, C5=1)
    _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14))
    resp = client.delete(f"{API}/inspections/{spot['id']}", headers=district.headers("inspector"))
    assert resp.status_code == 409
    assert _inspection(app, spot["id"]).id == spot["id"]
    assert _vetoes_of(app, spot["id"]) == 1  # the refused deletion changed nothing
