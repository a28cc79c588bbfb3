"""Two people make the same move at the same moment: exactly one wins, the other gets 409.

Each race runs two real requests in two threads (two sessions, two PostgreSQL transactions). The
domain operation is gated: both requests have loaded the row and read its state before either goes on
(:class:`Race` waits on a barrier at the operation's entry), and the one whose operation succeeds keeps
its transaction open for :data:`HOLD` seconds before the view commits - so the other really runs
against a row an uncommitted transaction is changing. Before the workflow's conditional UPDATE
(``service/core/workflow.py: claim``) both requests succeeded: two transition rows, two events, two
jobs, or a report ``returned`` with ``accepted_at`` set.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.appeals.models import InspectionAppeal, InspectionAppealTransition
from service.audit.models import AuditEntry
from service.commendations.models import CommendationCandidate, CommendationRound, RoundState
from service.core import events
from service.db import db
from service.hazards.models import Hazard, HazardTransition
from service.periods.models import Period, UnlockRequest
from service.reports.models import MonthlyReport, ReportTransition
from service.rubrics.models import RubricVersion, VersionStatus
from tenants import TenantScope, use_scope
from tests.conftest import TODAY, District, evaluate_all_staff, login

pytestmark = pytest.mark.postgres

HOLD = 0.5  # seconds the winner keeps its transaction open after its operation, before the commit


class Race:
    """Gate domain operations so that two requests meet inside them (see the module docstring)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, parties: int = 2) -> None:
        self.monkeypatch = monkeypatch
        self.barrier = threading.Barrier(parties)
        self._left = parties  # calls still to gate; later ones (after the race) pass straight through
        self._lock = threading.Lock()

    def gate(self, target: str) -> None:
        """Gate ``module.function`` (looked up by the views at call time)."""
        module_name, name = target.rsplit(".", 1)
        module = importlib.import_module(module_name)
        original = getattr(module, name)

        def gated(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                racing, self._left = self._left > 0, self._left - 1
            if not racing:
                return original(*args, **kwargs)
            self.barrier.wait(timeout=30)  # both requests have read the row
            result = original(*args, **kwargs)
            time.sleep(HOLD)  # the winner holds its transaction open; the other is now inside
            return result

        self.monkeypatch.setattr(module, name, gated)

    @staticmethod
    def run(*calls: Callable[[], Any]) -> list[Any]:
        """Run ``calls`` at once, each in its own thread; their results in order."""
        results: list[Any] = [None] * len(calls)
        failures: list[BaseException] = []

        def worker(i: int, call: Callable[[], Any]) -> None:
            try:
                results[i] = call()
            except BaseException as exc:  # re-raised in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        if failures:
            raise failures[0]
        return results


@pytest.fixture
def race(monkeypatch: pytest.MonkeyPatch) -> Race:
    return Race(monkeypatch)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Celery tasks sent after a commit (recorded, not run)."""
    sent: list[str] = []
    monkeypatch.setattr("service.core.outbox.dispatch", lambda name, kwargs: sent.append(name))
    return sent


@pytest.fixture
def emitted() -> Iterator[list[str]]:
    """Every workflow domain event emitted during the test."""
    seen: list[str] = []
    names = (
        events.REPORT_ACCEPTED,
        events.REPORT_RETURNED,
        events.REPORT_REOPENED,
        events.INSPECTION_APPEAL_UPHELD,
    )
    handlers = {name: (lambda name=name, **_: seen.append(name)) for name in names}
    for name, handler in handlers.items():
        events.subscribe(name, handler)
    try:
        yield seen
    finally:
        for name, handler in handlers.items():
            events.unsubscribe(name, handler)


def _post(
    app: Any, url: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> Callable[[], Any]:
    """A request to run in a thread, with a test client of its own."""
    return lambda: app.test_client().post(url, json=body if body is not None else {}, headers=headers)


def _one_wins(responses: list[Any], field: str = "state", ok: int = 200) -> tuple[Any, Any]:
    """Exactly one ``ok`` and one 409 in the API's error shape with a message on ``field``."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses == sorted([ok, 409]), [r.get_json() for r in responses]
    won = next(r for r in responses if r.status_code == ok)
    lost = next(r for r in responses if r.status_code == 409)
    body = lost.get_json()
    assert body["code"] == 409 and body["message"]
    assert body["errors"][field] and all(m.strip() for m in body["errors"][field]), body
    return won, lost


def _count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        n = db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        db.session.remove()
    return n


def _row(app: Any, model: Any, row_id: int) -> Any:
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.scalars(select(model).where(model.id == row_id)).one()
        db.session.expunge(row)
        db.session.remove()
    return row


def _audit_updates(app: Any, table: str, row_id: int, column: str) -> list[list[Any]]:
    """The ``[before, after]`` of ``column`` in each audit entry of the row that changed it."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        entries = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.table_name == table, AuditEntry.row_id == row_id)
            .order_by(AuditEntry.id)
        ).all()
        out = [e.changes[column] for e in entries if e.action.value == "update" and column in e.changes]
        db.session.remove()
    return out


# --- monthly reports ----------------------------------------------------------------------------------


@pytest.fixture
def report_id(app: Any, district: District) -> int:
    """School A's draft report for last month (open), every staff member evaluated: ready to submit."""
    first = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
    client = app.test_client()
    period = client.post(
        "/api/v1/periods",
        json={"year": first.year, "month": first.month, "deadline": (TODAY + timedelta(days=3)).isoformat()},
        headers=district.headers("admin"),
    ).get_json()
    report = client.post(
        "/api/v1/reports", json={"period_id": period["id"]}, headers=district.headers("admin_a")
    )
    assert report.status_code == 201, report.get_json()
    evaluate_all_staff(app, district.school_a.id, period["id"])
    return report.get_json()["id"]


def _submitted(app: Any, district: District, report_id: int) -> int:
    resp = app.test_client().post(f"/api/v1/reports/{report_id}/submit", headers=district.headers("admin_a"))
    assert resp.status_code == 200, resp.get_json()
    return report_id


def _moves(app: Any, report_id: int, action: str) -> int:
    return _count(
        app, ReportTransition, ReportTransition.report_id == report_id, ReportTransition.action == action
    )


def test_submit_twice_at_once(app: Any, district: District, report_id: int, race: Race) -> None:
    race.gate("service.reports.operations.submit")
    url, a = f"/api/v1/reports/{report_id}/submit", district.headers("admin_a")
    won, lost = _one_wins(race.run(_post(app, url, a), _post(app, url, a)))
    assert won.get_json()["state"] == "submitted"
    assert "已提交" in lost.get_json()["errors"]["state"][0]  # the state it found, in the user's words
    assert _moves(app, report_id, "submit") == 1
    assert _audit_updates(app, "monthly_reports", report_id, "state") == [["draft", "submitted"]]


def test_accept_twice_at_once(
    app: Any, district: District, report_id: int, race: Race, emitted: list[str], jobs: list[str]
) -> None:
    _submitted(app, district, report_id)
    race.gate("service.reports.operations.accept")
    url = f"/api/v1/reports/{report_id}/accept"
    _one_wins(
        race.run(_post(app, url, district.headers("admin")), _post(app, url, district.headers("inspector")))
    )
    assert _moves(app, report_id, "accept") == 1
    assert emitted == [events.REPORT_ACCEPTED]
    assert jobs == ["tasks.rankings.recompute_school_month"]
    assert _row(app, MonthlyReport, report_id).state.value == "accepted"


def test_accept_and_return_at_once(
    app: Any, district: District, report_id: int, race: Race, emitted: list[str], jobs: list[str]
) -> None:
    _submitted(app, district, report_id)
    race.gate("service.reports.operations.accept")
    race.gate("service.reports.operations.return_report")
    won, _lost = _one_wins(
        race.run(
            _post(app, f"/api/v1/reports/{report_id}/accept", district.headers("admin")),
            _post(
                app,
                f"/api/v1/reports/{report_id}/return",
                district.headers("inspector"),
                {"reason": "留样记录缺三天"},
            ),
        )
    )
    report = _row(app, MonthlyReport, report_id)
    assert report.state.value == won.get_json()["state"]
    if report.state.value == "accepted":  # one coherent outcome, never half of each
        assert report.accepted_at is not None and report.return_reason == ""
        assert emitted == [events.REPORT_ACCEPTED] and jobs == ["tasks.rankings.recompute_school_month"]
    else:
        assert report.accepted_at is None and report.return_reason == "留样记录缺三天"
        assert emitted == [events.REPORT_RETURNED]
    assert _moves(app, report_id, "accept") + _moves(app, report_id, "return") == 1


def test_review_page_shows_why_when_someone_accepted_first(
    app: Any, district: District, report_id: int, race: Race, emitted: list[str], jobs: list[str]
) -> None:
    """The inspector presses 审核通过 on the review page while the bureau admin accepts over the API."""
    _submitted(app, district, report_id)
    page = app.test_client()
    assert login(page, "inspector").status_code == 302
    race.gate("service.reports.operations.accept")
    api, web = race.run(
        _post(app, f"/api/v1/reports/{report_id}/accept", district.headers("admin")),
        lambda: page.post("/review", data={"action": "accept", "report_id": str(report_id)}),
    )
    assert sorted([api.status_code, web.status_code]) in ([200, 409], [303, 409])
    assert (api.status_code == 200) != (web.status_code == 303)  # one of them accepted it
    if web.status_code == 409:
        html = web.get_data(as_text=True)
        assert "状态为“审核通过”的月报不能执行“审核通过”操作。" in html
    else:
        assert api.get_json()["errors"]["state"]
    assert _moves(app, report_id, "accept") == 1 and emitted == [events.REPORT_ACCEPTED]
    assert jobs == ["tasks.rankings.recompute_school_month"]


# --- appeals ------------------------------------------------------------------------------------------


def test_appeal_decided_twice_at_once(
    app: Any, district: District, race: Race, emitted: list[str], jobs: list[str], monkeypatch: Any
) -> None:
    from tests.test_appeals import _add_user, _file, _spot

    period_id = _march(app)
    _add_user(app, district, "inspector2", district.cluster_1)
    client = app.test_client()
    spot = _spot(client, district, period_id, 12, C5=1)
    appeal = _file(client, district, monkeypatch, spot["id"], date(2025, 3, 14))
    assert appeal.status_code == 201, appeal.get_json()
    appeal_id = appeal.get_json()["id"]

    race.gate("service.appeals.operations.decide")
    url = f"/api/v1/appeals/{appeal_id}/decision"
    won, _lost = _one_wins(
        race.run(
            _post(
                app, url, district.headers("inspector2"), {"outcome": "upheld", "note": "冰箱维修记录属实"}
            ),
            _post(app, url, district.headers("admin"), {"outcome": "rejected", "note": "证据不足以推翻"}),
        )
    )
    decided = _row(app, InspectionAppeal, appeal_id)
    assert decided.state.value == won.get_json()["state"]
    moves = InspectionAppealTransition.appeal_id == appeal_id, InspectionAppealTransition.action != "file"
    assert _count(app, InspectionAppealTransition, *moves) == 1
    if decided.state.value == "upheld":
        assert emitted == [events.INSPECTION_APPEAL_UPHELD]
        assert jobs == ["tasks.rankings.recompute_school_month"]
    else:
        assert emitted == [] and jobs == []


def test_appeal_filed_twice_at_once(app: Any, district: District, race: Race, monkeypatch: Any) -> None:
    """Two clicks on 提出申诉: one appeal, and a 409 saying one is already waiting (not a 500)."""
    from tests.test_appeals import _spot

    spot = _spot(app.test_client(), district, _march(app), 12)
    monkeypatch.setattr("service.appeals.api.today_shanghai", lambda: date(2025, 3, 14))
    race.gate("service.appeals.operations.file_appeal")
    body = {"inspection_id": spot["id"], "reason": "督查当日留样冰箱故障，已有维修记录为证"}
    a = district.headers("admin_a")
    _won, lost = _one_wins(
        race.run(_post(app, "/api/v1/appeals", a, body), _post(app, "/api/v1/appeals", a, body)),
        field="inspection_id",
        ok=201,
    )
    assert lost.get_json()["errors"]["inspection_id"] == ["该次督查已有一项申诉正在等待复核。"]
    assert _count(app, InspectionAppeal, InspectionAppeal.inspection_id == spot["id"]) == 1


# --- unlock requests ----------------------------------------------------------------------------------


def _march(app: Any) -> int:
    """March 2025, locked long ago."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        period = Period(year=2025, month=3, deadline=date(2025, 4, 5), lock_days=10)
        db.session.add(period)
        db.session.commit()
        period_id = period.id
        db.session.remove()
    return period_id


def test_unlock_requested_twice_at_once(app: Any, district: District, race: Race) -> None:
    period_id = _march(app)
    race.gate("service.periods.operations.request_unlock")
    url, a = f"/api/v1/periods/{period_id}/unlock-requests", district.headers("admin_a")
    _one_wins(
        race.run(
            _post(app, url, a, {"reason": "三月漏报，补交"}), _post(app, url, a, {"reason": "三月漏报，补交"})
        ),
        field="period_id",
        ok=201,
    )
    assert _count(app, UnlockRequest, UnlockRequest.period_id == period_id) == 1


def test_unlock_request_granted_and_refused_at_once(app: Any, district: District, race: Race) -> None:
    period_id = _march(app)
    req = app.test_client().post(
        f"/api/v1/periods/{period_id}/unlock-requests",
        json={"reason": "三月漏报，补交"},
        headers=district.headers("admin_a"),
    )
    assert req.status_code == 201, req.get_json()
    req_id = req.get_json()["id"]

    race.gate("service.periods.operations.decide_unlock")
    admin = district.headers("admin")
    won, lost = _one_wins(
        race.run(
            _post(app, f"/api/v1/unlock-requests/{req_id}/grant", admin, {"note": "同意"}),
            _post(app, f"/api/v1/unlock-requests/{req_id}/refuse", admin, {"note": "材料不全"}),
        )
    )
    assert lost.get_json()["errors"]["state"] == ["该申请已审批，不能重复处理。"]
    decided = _row(app, UnlockRequest, req_id)
    assert decided.state.value == won.get_json()["state"]
    assert (decided.unlocked_until is not None) == (decided.state.value == "granted")
    assert _audit_updates(app, "unlock_requests", req_id, "state") == [["pending", decided.state.value]]


# --- hazards ------------------------------------------------------------------------------------------


def test_hazard_started_twice_at_once(app: Any, district: District, race: Race) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.add(Period(year=TODAY.year, month=TODAY.month, deadline=date(2026, 12, 5), lock_days=10))
        db.session.commit()
        db.session.remove()
    body = {
        "title": "消防通道堆放杂物",
        "description": "教学楼东侧消防通道堆放废旧课桌",
        "location": "教学楼东侧",
        "severity": "high",
        "responsible_person": "王师傅",
        "found_on": TODAY.isoformat(),
        "deadline": (TODAY + timedelta(days=7)).isoformat(),
    }
    a = district.headers("admin_a")
    created = app.test_client().post("/api/v1/hazards", json=body, headers=a)
    assert created.status_code == 201, created.get_json()
    hid = created.get_json()["id"]

    race.gate("service.hazards.operations.start")
    _one_wins(
        race.run(_post(app, f"/api/v1/hazards/{hid}/start", a), _post(app, f"/api/v1/hazards/{hid}/start", a))
    )
    assert (
        _count(app, HazardTransition, HazardTransition.hazard_id == hid, HazardTransition.action == "start")
        == 1
    )
    assert _row(app, Hazard, hid).state.value == "rectifying"


# --- commendations ------------------------------------------------------------------------------------


def test_commendation_candidate_decided_twice_at_once(app: Any, district: District, race: Race) -> None:
    from tests.test_commendations import BASE, _lines, _propose, _workflow_term

    _workflow_term(app, district)
    rid = _propose(app)
    cid = _lines(app, rid)[("advanced_unit", district.school_a.id, None)]["id"]

    race.gate("service.commendations.operations.decide")
    url, admin = f"{BASE}/candidates/{cid}/decision", district.headers("admin")
    won, lost = _one_wins(
        race.run(
            _post(app, url, admin, {"decision": "approved", "comment": "同意"}),
            _post(app, url, admin, {"decision": "rejected", "comment": "材料不全"}),
        ),
        field="decision",
    )
    decided = _row(app, CommendationCandidate, cid)
    assert decided.decision.value == won.get_json()["decision"]
    shown = won.get_json()["decision_label"]
    assert lost.get_json()["errors"]["decision"] == [
        f"该候选已被他人同时审定（现为“{shown}”），请核对后重新审定。"
    ]
    assert _audit_updates(app, "commendation_candidates", cid, "decision") == [
        ["pending", decided.decision.value]
    ]

    # A decision made in the knowledge of the other (after it committed) still changes it: minds may change.
    again = "rejected" if decided.decision.value == "approved" else "approved"
    resp = app.test_client().post(url, json={"decision": again, "comment": "复核后改判"}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["decision"] == again


def test_commendation_round_published_twice_at_once(
    app: Any, district: District, race: Race, jobs: list[str]
) -> None:
    from tests.test_commendations import BASE, _lines, _propose, _workflow_term

    _workflow_term(app, district)
    rid = _propose(app)
    client, admin = app.test_client(), district.headers("admin")
    for line in _lines(app, rid).values():
        if line["qualifies"]:
            resp = client.post(
                f"{BASE}/candidates/{line['id']}/decision", json={"decision": "approved"}, headers=admin
            )
            assert resp.status_code == 200, resp.get_json()
    digest = client.get(f"{BASE}/rounds/{rid}/publication", headers=admin).get_json()["digest"]

    race.gate("service.commendations.operations.publish")
    url = f"{BASE}/rounds/{rid}/publish?confirm={digest}"
    _one_wins(race.run(_post(app, url, admin), _post(app, url, admin)), field="round")
    assert _row(app, CommendationRound, rid).state is RoundState.PUBLISHED
    assert _audit_updates(app, "commendation_rounds", rid, "state") == [["proposed", "published"]]
    assert jobs == ["tasks.commendations.issue_certificates"]


# --- rubric versions ----------------------------------------------------------------------------------


def test_rubric_draft_published_twice_at_once(app: Any, district: District, race: Race) -> None:
    admin = district.headers("admin")
    draft = app.test_client().post("/api/v1/rubrics/1/versions", json={"note": "2027版"}, headers=admin)
    assert draft.status_code == 201, draft.get_json()
    vid = draft.get_json()["id"]

    race.gate("service.rubrics.operations.publish")
    url = f"/api/v1/rubric-versions/{vid}/publish"
    _one_wins(race.run(_post(app, url, admin), _post(app, url, admin)), field="_schema")
    assert _row(app, RubricVersion, vid).status is VersionStatus.PUBLISHED
    assert _audit_updates(app, "rubric_versions", vid, "status") == [["draft", "published"]]
