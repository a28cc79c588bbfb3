"""Hazards (整改通知单): the rectification workflow, who may do what, month locks, overdue counts and
the month-end 隐患整改 deduction (rubrics.md formula 2: −2 per overdue hazard, cap 5)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from service.db import db
from service.hazards import operations as hazards
from service.hazards.models import Hazard, HazardSeverity, HazardState, HazardTransition
from service.periods.models import Period
from service.reports.models import MonthlyReport, ReportState
from tenants import TenantScope, use_scope
from tests.conftest import TODAY, District

pytestmark = pytest.mark.postgres


def _add_period(app: Any, year: int, month: int, *, deadline: date, lock_days: int = 10) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        period = Period(year=year, month=month, deadline=deadline, lock_days=lock_days)
        db.session.add(period)
        db.session.commit()
        return period.id


def _next_month_5th(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 5)


@pytest.fixture
def this_month(app: Any, district: District) -> int:
    """The current month's period (Beijing time), open: its deadline is after the month ends."""
    today = TODAY
    return _add_period(app, today.year, today.month, deadline=_next_month_5th(today))


def _body(**overrides: Any) -> dict:
    today = TODAY
    body = {
        "title": "消防通道堆放杂物",
        "description": "教学楼东侧消防通道堆放废旧课桌",
        "location": "教学楼东侧",
        "severity": "high",
        "responsible_person": "王师傅",
        "found_on": today.isoformat(),
        "deadline": (today + timedelta(days=7)).isoformat(),
    }
    body.update(overrides)
    return body


def _count(app: Any, model: Any) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        n = db.session.scalar(select(func.count()).select_from(model)) or 0
        db.session.remove()
        return n


# --- the workflow over the API ------------------------------------------------------------------------


def test_workflow_and_each_refusal(client: Any, district: District, this_month: int) -> None:
    a, insp = district.headers("admin_a"), district.headers("inspector")
    resp = client.post("/api/v1/hazards", json=_body(), headers=a)
    assert resp.status_code == 201, resp.get_json()
    h = resp.get_json()
    assert h["state"] == "open" and h["state_label"] == "待整改" and h["severity_label"] == "重大"
    assert h["school_id"] == district.school_a.id and h["period_id"] == this_month
    assert h["overdue"] is False and h["issued_by_bureau"] is False and h["closed_on"] is None
    hid = h["id"]
    today = TODAY.isoformat()

    # close straight from open: the notice must be in rectification first
    assert (
        client.post(
            f"/api/v1/hazards/{hid}/close", json={"closing_note": "已清理", "closed_on": today}, headers=a
        ).status_code
        == 409
    )
    assert client.post(f"/api/v1/hazards/{hid}/start", headers=a).get_json()["state"] == "rectifying"
    assert client.post(f"/api/v1/hazards/{hid}/start", headers=a).status_code == 409  # already started

    # close without a note → 422 (blank or missing), nothing changes
    blank = client.post(
        f"/api/v1/hazards/{hid}/close", json={"closing_note": "  ", "closed_on": today}, headers=a
    )
    assert blank.status_code == 422 and "closing_note" in blank.get_json()["errors"]
    missing = client.post(f"/api/v1/hazards/{hid}/close", json={"closed_on": today}, headers=a)
    assert missing.status_code == 422 and "closing_note" in missing.get_json()["errors"]
    no_date = client.post(f"/api/v1/hazards/{hid}/close", json={"closing_note": "已清理"}, headers=a)
    assert no_date.status_code == 422 and "closed_on" in no_date.get_json()["errors"]
    early = client.post(
        f"/api/v1/hazards/{hid}/close",
        json={"closing_note": "已清理", "closed_on": (TODAY - timedelta(days=1)).isoformat()},
        headers=a,
    )
    assert early.status_code == 422 and "closed_on" in early.get_json()["errors"]
    future = client.post(
        f"/api/v1/hazards/{hid}/close",
        json={"closing_note": "已清理", "closed_on": (TODAY + timedelta(days=1)).isoformat()},
        headers=a,
    )
    assert future.status_code == 422 and "closed_on" in future.get_json()["errors"]
    assert client.get(f"/api/v1/hazards/{hid}", headers=a).get_json()["state"] == "rectifying"

    closed = client.post(
        f"/api/v1/hazards/{hid}/close",
        json={"closing_note": "杂物已清运，通道畅通", "closed_on": today},
        headers=a,
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["state"] == "closed" and closed.get_json()["closed_on"] == today
    assert closed.get_json()["closing_note"] == "杂物已清运，通道畅通"

    # close an already closed → 409; start a closed → 409; a closed notice is not edited
    again = client.post(
        f"/api/v1/hazards/{hid}/close", json={"closing_note": "再次销号", "closed_on": today}, headers=a
    )
    assert again.status_code == 409 and "state" in again.get_json()["errors"]
    assert client.post(f"/api/v1/hazards/{hid}/start", headers=a).status_code == 409
    assert client.patch(f"/api/v1/hazards/{hid}", json={"location": "别处"}, headers=a).status_code == 409

    # reopening is the bureau's: the school admin → 403, a short reason → 422
    assert (
        client.post(f"/api/v1/hazards/{hid}/reopen", json={"reason": "复查不合格"}, headers=a).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/hazards/{hid}/reopen", json={"reason": "否"}, headers=insp).status_code == 422
    )
    assert (
        client.post(
            f"/api/v1/hazards/{hid}/reopen",
            json={"reason": "复查不合格"},
            headers=district.headers("official"),
        ).status_code
        == 403
    )
    reopened = client.post(
        f"/api/v1/hazards/{hid}/reopen", json={"reason": "复查发现通道又被堵塞"}, headers=insp
    )
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert body["state"] == "rectifying" and body["closed_on"] is None and body["closing_note"] == ""
    assert (
        client.post(f"/api/v1/hazards/{hid}/reopen", json={"reason": "再次重开"}, headers=insp).status_code
        == 409
    )

    log = client.get(f"/api/v1/hazards/{hid}/transitions", headers=a).get_json()
    assert [(t["from_state"], t["to_state"], t["action"]) for t in log] == [
        ("open", "rectifying", "start"),
        ("rectifying", "closed", "close"),
        ("closed", "rectifying", "reopen"),
    ]
    assert log[1]["note"] == "杂物已清运，通道畅通" and log[2]["note"] == "复查发现通道又被堵塞"
    assert log[2]["actor_id"] == district.inspector.id


def test_create_refusals_save_nothing(client: Any, district: District, this_month: int) -> None:
    a = district.headers("admin_a")
    today = TODAY
    bad = client.post(
        "/api/v1/hazards", json=_body(deadline=(today - timedelta(days=1)).isoformat()), headers=a
    )
    assert bad.status_code == 422 and "deadline" in bad.get_json()["errors"]
    future = client.post(
        "/api/v1/hazards",
        json=_body(
            found_on=(today + timedelta(days=1)).isoformat(), deadline=(today + timedelta(days=9)).isoformat()
        ),
        headers=a,
    )
    assert future.status_code == 422 and "found_on" in future.get_json()["errors"]
    assert client.post("/api/v1/hazards", json=_body(severity="huge"), headers=a).status_code == 422
    no_period = client.post(
        "/api/v1/hazards", json=_body(found_on="2024-03-01", deadline="2024-03-10"), headers=a
    )
    assert no_period.status_code == 422 and "found_on" in no_period.get_json()["errors"]
    # the bureau must name the school; an official may not issue notices
    admin = client.post("/api/v1/hazards", json=_body(), headers=district.headers("admin"))
    assert admin.status_code == 422 and "school_id" in admin.get_json()["errors"]
    official = client.post(
        "/api/v1/hazards", json=_body(school_id=district.school_a.id), headers=district.headers("official")
    )
    assert official.status_code == 403
    # a source inspection must be one of the school's own (here: none exists at all)
    foreign = client.post("/api/v1/hazards", json=_body(source_inspection_id=999), headers=a)
    assert foreign.status_code == 422 and "source_inspection_id" in foreign.get_json()["errors"]
    assert _count(client.application, Hazard) == 0


def test_bureau_side_issues_notices_the_school_cannot_rewrite(
    client: Any, district: District, this_month: int
) -> None:
    a, insp = district.headers("admin_a"), district.headers("inspector")
    # an inspector records a finding of a spot check at a school of their cluster
    resp = client.post("/api/v1/hazards", json=_body(school_id=district.school_a.id), headers=insp)
    assert resp.status_code == 201, resp.get_json()
    issued = resp.get_json()
    assert issued["issued_by_bureau"] is True and issued["source_inspection_id"] is None
    # ... but not at a school outside it: not found
    assert (
        client.post("/api/v1/hazards", json=_body(school_id=district.school_b.id), headers=insp).status_code
        == 404
    )
    # the school rectifies it, but may not rewrite the bureau's notice (deadline, severity, ...)
    assert (
        client.patch(
            f"/api/v1/hazards/{issued['id']}", json={"deadline": "2099-01-01"}, headers=a
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/hazards/{issued['id']}/start", headers=a).status_code == 200
    assert client.post(f"/api/v1/hazards/{issued['id']}/start", headers=insp).status_code == 403
    # the school's own notice is its own to correct
    own = client.post("/api/v1/hazards", json=_body(), headers=a).get_json()
    patched = client.patch(
        f"/api/v1/hazards/{own['id']}", json={"location": "操场北侧", "severity": "low"}, headers=a
    )
    assert patched.status_code == 200 and patched.get_json()["severity_label"] == "一般"
    wrong = client.patch(
        f"/api/v1/hazards/{own['id']}",
        json={"deadline": (TODAY - timedelta(days=1)).isoformat()},
        headers=a,
    )
    assert wrong.status_code == 422 and "deadline" in wrong.get_json()["errors"]
    assert client.get(f"/api/v1/hazards/{own['id']}", headers=a).get_json()["location"] == "操场北侧"
    # scope: A sees its two notices, the inspector A's and C's, B nothing of A's
    assert len(client.get("/api/v1/hazards", headers=a).get_json()) == 2
    assert client.get(f"/api/v1/hazards/{own['id']}", headers=district.headers("admin_b")).status_code == 404
    assert client.get("/api/v1/hazards", headers=district.headers("admin_b")).get_json() == []


def test_school_writes_are_month_bound_the_bureau_is_not(app: Any, client: Any, district: District) -> None:
    """A locked month (or a submitted report) refuses the school's notices dated into it with 409."""
    _add_period(app, 2025, 3, deadline=date(2025, 4, 5))  # locked long ago
    a = district.headers("admin_a")
    old = _body(found_on="2025-03-10", deadline="2025-03-20")
    locked = client.post("/api/v1/hazards", json=old, headers=a)
    assert locked.status_code == 409 and "period_id" in locked.get_json()["errors"]
    resp = client.post(
        "/api/v1/hazards", json={**old, "school_id": district.school_a.id}, headers=district.headers("admin")
    )
    assert resp.status_code == 201
    hid = resp.get_json()["id"]
    assert resp.get_json()["overdue"] is True  # found in March 2025, still open

    # the school may rectify an old notice today, but not date the fix back into the locked month
    today = TODAY
    this_month = _add_period(app, today.year, today.month, deadline=_next_month_5th(today))
    assert client.post(f"/api/v1/hazards/{hid}/start", headers=a).status_code == 200
    back = client.post(
        f"/api/v1/hazards/{hid}/close", json={"closing_note": "已整改", "closed_on": "2025-03-19"}, headers=a
    )
    assert back.status_code == 409
    # the current month's report submitted: closing dated into it is refused as well
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        db.session.add(MonthlyReport(period_id=this_month, state=ReportState.SUBMITTED))
        db.session.commit()
    submitted = client.post(
        f"/api/v1/hazards/{hid}/close",
        json={"closing_note": "已整改", "closed_on": today.isoformat()},
        headers=a,
    )
    assert submitted.status_code == 409 and "state" in submitted.get_json()["errors"]
    assert client.get(f"/api/v1/hazards/{hid}", headers=a).get_json()["state"] == "rectifying"
    # the bureau closes it (verified on site), whatever the month's state
    ok = client.post(
        f"/api/v1/hazards/{hid}/close",
        json={"closing_note": "督查复核已整改", "closed_on": "2025-03-19"},
        headers=district.headers("admin"),
    )
    assert ok.status_code == 200 and ok.get_json()["overdue"] is False


def test_list_filters(app: Any, client: Any, district: District, this_month: int) -> None:
    a = district.headers("admin_a")
    today = TODAY
    _add_period(app, 2025, 3, deadline=date(2025, 4, 5))
    admin = district.headers("admin")
    late = client.post(
        "/api/v1/hazards",
        json=_body(school_id=district.school_a.id, found_on="2025-03-10", deadline="2025-03-20"),
        headers=admin,
    ).get_json()
    due_today = client.post("/api/v1/hazards", json=_body(deadline=today.isoformat()), headers=a).get_json()
    client.post("/api/v1/hazards", json=_body(school_id=district.school_c.id), headers=admin)
    assert [h["id"] for h in client.get("/api/v1/hazards?overdue=true", headers=a).get_json()] == [late["id"]]
    assert [h["id"] for h in client.get("/api/v1/hazards?overdue=false", headers=a).get_json()] == [
        due_today["id"]
    ]
    by_period = client.get(f"/api/v1/hazards?period_id={this_month}", headers=admin).get_json()
    assert {h["school_id"] for h in by_period} == {district.school_a.id, district.school_c.id}
    assert len(client.get(f"/api/v1/hazards?school_id={district.school_c.id}", headers=admin).get_json()) == 1
    assert client.get("/api/v1/hazards?state=closed", headers=a).get_json() == []
    assert len(client.get("/api/v1/hazards?state=open", headers=a).get_json()) == 2


# --- overdue and the month-end deduction ---------------------------------------------------------------


def _hazard(school_id: int, found_on: str, deadline: str, closed_on: str | None = None) -> Hazard:
    return Hazard(
        school_id=school_id,
        title="隐患",
        location="校内",
        severity=HazardSeverity.MEDIUM,
        responsible_person="负责人",
        found_on=date.fromisoformat(found_on),
        deadline=date.fromisoformat(deadline),
        state=HazardState.CLOSED if closed_on else HazardState.OPEN,
        closing_note="已整改" if closed_on else "",
        closed_on=date.fromisoformat(closed_on) if closed_on else None,
    )


def _seed(app: Any, *rows: Hazard) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.add_all(rows)
        db.session.commit()


def test_overdue_at_a_date(app: Any, district: District) -> None:
    h = _hazard(district.school_a.id, "2026-03-02", "2026-03-15")
    assert not h.overdue(date(2026, 3, 15))  # the deadline day itself is still in time
    assert h.overdue(date(2026, 3, 16))
    h.closed_on, h.state = date(2026, 3, 20), HazardState.CLOSED
    assert h.overdue(date(2026, 3, 19))  # as things stood that day
    assert not h.overdue(date(2026, 3, 20))


def test_overdue_by_school_counts_every_school_in_one_query(app: Any, district: District) -> None:
    a, b, c = district.school_a.id, district.school_b.id, district.school_c.id
    _seed(
        app,
        _hazard(a, "2026-03-01", "2026-03-10"),  # overdue
        _hazard(a, "2026-03-01", "2026-03-31"),  # open, deadline is the as-of day: not overdue
        _hazard(a, "2026-03-01", "2026-03-10", closed_on="2026-03-12"),  # closed by then
        _hazard(a, "2026-04-02", "2026-04-03"),  # found after the as-of day
        _hazard(b, "2026-02-01", "2026-02-10"),  # overdue since February
    )
    as_of = date(2026, 3, 31)
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = [tuple(r) for r in hazards.overdue_by_school(as_of)]
    assert rows == [(a, 2, 1), (b, 1, 1), (c, 0, 0)]
    # an inspector's scope (cluster 1: A and C) sees only those schools
    with app.app_context(), use_scope(TenantScope.schools([a, c])):
        assert [tuple(r) for r in hazards.overdue_by_school(as_of)] == [(a, 2, 1), (c, 0, 0)]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], Decimal("0")),
        ([("2026-03-01", "2026-03-31", None)], Decimal("0")),  # open, due on the last day: still in time
        ([("2026-03-01", "2026-03-10", None), ("2026-03-05", "2026-03-20", None)], Decimal("4")),
        (
            [
                ("2026-03-01", "2026-03-10", None),
                ("2026-03-05", "2026-03-20", None),
                ("2026-03-06", "2026-03-21", None),
            ],
            Decimal("5"),  # 3 × 2 = 6, capped at the section's 5 points
        ),
        ([("2026-03-01", "2026-03-10", "2026-03-25")], Decimal("0")),  # fixed late, but before month end
    ],
)
def test_hazard_deduction_hand_computed(app: Any, district: District, rows: list, expected: Decimal) -> None:
    a = district.school_a.id
    _seed(app, *(_hazard(a, *row) for row in rows), _hazard(district.school_b.id, "2026-03-01", "2026-03-02"))
    with app.app_context(), use_scope(TenantScope.school(a)):
        assert hazards.hazard_deduction(a, date(2026, 3, 31)) == expected


def test_hazards_persist_across_months_until_closed(app: Any, district: District) -> None:
    a = district.school_a.id
    _seed(
        app,
        _hazard(
            a, "2026-01-05", "2026-01-20", closed_on="2026-04-10"
        ),  # overdue Jan, Feb, Mar; closed in April
        _hazard(a, "2026-02-10", "2026-03-05"),  # overdue from March on, never closed
    )
    with app.app_context(), use_scope(TenantScope.bureau()):
        got = {
            month_end: hazards.hazard_deduction(a, month_end)
            for month_end in (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30))
        }
    assert got == {
        date(2026, 1, 31): Decimal("2"),
        date(2026, 2, 28): Decimal("2"),  # the February one is still within its deadline
        date(2026, 3, 31): Decimal("4"),
        date(2026, 4, 30): Decimal("2"),  # closed late on 10 April: no longer counts after closing
    }


def test_hazard_deduction_uses_the_rubric_values_it_is_given(app: Any, district: District) -> None:
    a = district.school_a.id
    _seed(app, *(_hazard(a, "2026-03-01", "2026-03-10") for _ in range(4)))
    with app.app_context(), use_scope(TenantScope.school(a)):
        assert hazards.hazard_deduction(
            a, date(2026, 3, 31), per_hazard=Decimal("1.5"), cap=Decimal("10")
        ) == (Decimal("6.0"))


def test_reopen_counts_the_hazard_again(app: Any, district: District) -> None:
    """A fix that did not hold: after reopening, the month-end count treats it as never closed."""
    a = district.school_a.id
    _seed(app, _hazard(a, "2026-03-01", "2026-03-10", closed_on="2026-03-09"))
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert hazards.hazard_deduction(a, date(2026, 3, 31)) == Decimal("0")
        hazard = db.session.scalars(select(Hazard)).one()
        hazards.reopen(hazard, "复查不合格，隐患仍在", now=hazard.created_at)
        db.session.commit()
        assert hazards.hazard_deduction(a, date(2026, 3, 31)) == Decimal("2")
        assert db.session.scalar(select(func.count()).select_from(HazardTransition)) == 1
