"""The jobs page (issue 11, part 8): recomputing a month from the browser through the API's operation,
the run's progress fragment that polls until the run has finished, the recent runs with who asked,
and the heartbeat line - its staleness computed for explicit instants, the task applied eagerly, and
once on a real worker process (tests/test_tasks.py: ``worker``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.db import db
from service.jobs import heartbeat
from service.jobs.models import Heartbeat, JobRun, RunState
from tenants import TenantScope, use_scope
from tests import services
from tests.browser_support import Month
from tests.conftest import District, login, test_config
from tests.test_tasks import worker  # noqa: F401 - the real worker process fixture

T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _status(app: Any, now: datetime, *, embedded: bool = False) -> heartbeat.HeartbeatStatus:
    with app.app_context(), use_scope(TenantScope.bureau()):
        out = heartbeat.status(now, embedded=embedded)
        db.session.remove()
    return out


def _write(app: Any, action: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        action()
        db.session.commit()
        db.session.remove()


# --- staleness, for explicit instants ----------------------------------------------------------------


def test_heartbeat_staleness_with_explicit_now(app: Any, district: District) -> None:
    assert _status(app, T0).codes == ["beat_never", "worker_never"]
    assert _status(app, T0, embedded=True) == heartbeat.HeartbeatStatus(embedded=True)  # no false alarm

    # beat sent at T0, a worker ran it a second later
    _write(app, lambda: heartbeat.record_sent(T0))
    assert _status(app, T0 + timedelta(seconds=30)).codes == ["worker_never"]
    _write(app, lambda: heartbeat.record_run(sent_at=T0, ran_at=T0 + timedelta(seconds=1), host="w1"))
    fine = _status(app, T0 + timedelta(minutes=2))
    assert fine.ok and fine.worker is not None and fine.worker.detail == "w1"
    assert fine.beat is not None and fine.beat.silent_for == timedelta(minutes=2)

    # three minutes and a bit later nobody has been seen again: both silent (limits are "more than")
    assert _status(app, T0 + timedelta(minutes=3)).ok
    late = _status(app, T0 + timedelta(minutes=4))
    assert late.codes == ["beat_silent", "worker_silent"]
    assert "4 分钟" in dict(late.warnings)["beat_silent"] or "4 minutes" in dict(late.warnings)["beat_silent"]

    # beat keeps sending, the worker is busy: it ran T0's heartbeat only now, three newer wait
    _write(app, lambda: heartbeat.record_sent(T0 + timedelta(minutes=3)))
    _write(
        app, lambda: heartbeat.record_run(sent_at=T0, ran_at=T0 + timedelta(minutes=3, seconds=5), host="w1")
    )
    behind = _status(app, T0 + timedelta(minutes=3, seconds=10))
    assert behind.codes == ["worker_behind"]

    # a late run of an old heartbeat never makes beat look older than its newest send
    _write(
        app,
        lambda: heartbeat.record_run(
            sent_at=T0 - timedelta(minutes=9), ran_at=T0 + timedelta(minutes=3, seconds=6), host="w2"
        ),
    )
    again = _status(app, T0 + timedelta(minutes=3, seconds=10))
    assert again.beat is not None and again.beat.seen_at == T0 + timedelta(minutes=3)
    assert again.worker is not None and again.worker.detail == "w2"


def test_the_heartbeat_task_applied_eagerly_records_beat_and_worker(app: Any, district: District) -> None:
    from tasks.schedule import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == heartbeat.HEARTBEAT_TASK and entry["schedule"] == 60
    assert entry["options"]["expires"] == heartbeat.HEARTBEAT_EXPIRES
    task = app.extensions["celery"].tasks[heartbeat.HEARTBEAT_TASK]
    result = task.apply_async(kwargs={"scope": TenantScope.bureau().to_json()})
    sent = datetime.fromisoformat(result.get()["sent_at"])  # stamped by apply_async
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = {r.name: r for r in db.session.scalars(select(Heartbeat))}
        db.session.remove()
    assert set(rows) == {"beat", "worker"}
    assert heartbeat._aware(rows["beat"].seen_at) == sent == heartbeat._aware(rows["worker"].sent_at)
    assert heartbeat._aware(rows["worker"].seen_at) >= sent
    assert _status(app, sent + timedelta(seconds=5)).ok


# --- the page ------------------------------------------------------------------------------------------


def test_jobs_page_heartbeat_line(app: Any, district: District, monkeypatch: pytest.MonkeyPatch) -> None:
    web = app.test_client()
    login(web, "admin")
    page = web.get("/jobs").get_data(as_text=True)
    assert "嵌入式模式：任务在请求内执行" in page and "data-warning" not in page  # the test app is eager
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    page = web.get("/jobs").get_data(as_text=True)
    assert 'data-warning="beat_never"' in page and "从未检测到调度器（beat）" in page
    assert "超过 3 分钟无响应" in page  # the thresholds are written on the page
    api = app.test_client().get("/api/v1/jobs/heartbeat", headers=district.headers("official"))
    assert api.status_code == 200
    assert [w["code"] for w in api.get_json()["warnings"]] == ["beat_never", "worker_never"]


def test_who_sees_the_jobs_page(app: Any, district: District, month: Month) -> None:
    official = app.test_client()
    login(official, "official")
    page = official.get("/jobs")
    assert page.status_code == 200 and 'data-testid="recompute-form"' not in page.get_data(as_text=True)
    assert official.post("/jobs/recompute", data={"period": month.code}).status_code == 403
    for username in ("admin_a", "inspector"):
        web = app.test_client()
        login(web, username)
        assert web.get("/jobs").status_code == 403, username
        assert web.post("/jobs/recompute", data={"period": month.code}).status_code == 403
        assert web.get("/jobs/1").status_code == 403
        assert web.get("/jobs/1/progress").status_code == 403
        assert "/jobs" not in web.get("/").get_data(as_text=True).split("<main", 1)[0]  # no menu link
    assert (
        app.test_client().get("/api/v1/jobs/heartbeat", headers=district.headers("admin_a")).status_code
        == 403
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0
        db.session.remove()


def test_recompute_a_month_from_the_browser(app: Any, district: District, month: Month) -> None:
    web = app.test_client()
    login(web, "admin")
    menu = web.get("/").get_data(as_text=True)
    assert 'href="/jobs" data-testid="nav-jobs">任务</a>' in menu  # in the 设置 menu
    resp = web.post("/jobs/recompute", data={"period": month.code})
    assert resp.status_code == 303
    run_url = resp.headers["Location"]
    run_id = int(run_url.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert run is not None and run.kind == "recompute_period" and run.state is RunState.SUCCEEDED  # eager
        assert run.requested_by == f"{district.admin.display_name} (admin)"
        assert run.params == {"period_id": month.period_id}
        db.session.remove()
    fragment = web.get(f"/jobs/{run_id}/progress").get_data(as_text=True)
    assert 'aria-valuenow="100"' in fragment and "hx-trigger" not in fragment  # finished: no more polling
    assert "attempt started" in fragment and "finished" in fragment  # the log lines
    page = web.get(run_url).get_data(as_text=True)
    assert "整月重新计算" in page and month.code in page and "(admin)" in page
    listing = web.get("/jobs").get_data(as_text=True)
    assert f'data-run="{run_id}"' in listing and "已完成" in listing and "(admin)" in listing


def test_a_queued_run_polls_and_refusals_sit_beside_the_month(
    app: Any, district: District, month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.core import outbox

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "dispatch", lambda name, kwargs: sent.append((name, kwargs)))
    web = app.test_client()
    login(web, "admin")
    resp = web.post("/jobs/recompute", data={"period": month.code})
    run_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert [name for name, _ in sent] == ["tasks.rankings.recompute_period"]
    assert sent[0][1]["period_id"] == month.period_id and sent[0][1]["run_key"].startswith("recompute-")
    fragment = web.get(f"/jobs/{run_id}/progress").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in fragment and 'aria-valuenow="0"' in fragment and "排队中" in fragment

    for period, message in (("2026-13", "没有 2026-13 的填报周期。"), ("abc", "2026-03")):
        refused = web.post("/jobs/recompute", data={"period": period})
        assert refused.status_code == 422, period
        text = refused.get_data(as_text=True)
        assert 'data-error-for="period"' in text and message in text, text[text.find("form-errors") :][:400]
    assert len(sent) == 1  # nothing more queued
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
        db.session.remove()


# --- a real worker ---------------------------------------------------------------------------------------


@pytest.fixture
def same_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start the worker's application clock where this process's clock is now (HOUQIN_NOW), not at the
    suite's fixed instant: the line compares instants written by the two processes."""
    from service.core.timeutil import CLOCK_ENV, utcnow

    monkeypatch.setenv(CLOCK_ENV, utcnow().isoformat())


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.redis
def test_heartbeat_on_a_real_worker(
    same_clock: None,
    database: Any,
    district: District,
    worker: dict,  # noqa: F811
) -> None:
    """Sent from here as beat would send it (the send is recorded at once), run by a celery worker."""
    from service import create_app

    app = create_app(
        test_config(
            database,
            CELERY_ALWAYS_EAGER=False,
            CELERY_BROKER_URL=services.REDIS_URL,
            CELERY_RESULT_BACKEND=services.REDIS_URL,
            CELERY_QUEUE=worker["queue"],
        )
    )
    task = app.extensions["celery"].tasks[heartbeat.HEARTBEAT_TASK]
    with app.app_context():
        sent = task.apply_async(kwargs={"scope": TenantScope.bureau().to_json()}, queue=worker["queue"])
    assert sent is not None
    with app.app_context():
        beat = db.session.get(Heartbeat, "beat")
        assert beat is not None  # the send is recorded by the sender, before any worker runs it
        sent_at = heartbeat._aware(beat.seen_at)
        db.session.remove()
    deadline = time.monotonic() + 60
    while True:
        with app.app_context():
            ran = db.session.get(Heartbeat, "worker")
            db.session.remove()
        if ran is not None:
            break
        assert time.monotonic() < deadline, "no worker ran the heartbeat:\n" + worker["log"].read_text()
        time.sleep(0.3)
    assert heartbeat._aware(ran.sent_at) == sent_at  # the send time travelled in the task's arguments
    assert worker["queue"] in ran.detail  # the worker's name (-n <queue>@host)
    # Both clocks started at the same instant (same_clock); the worker's lags by its start-up time.
    now = max(sent_at, heartbeat._aware(ran.seen_at)) + timedelta(seconds=5)
    state = _status(app, now)
    assert state.ok, state.warnings
    web = app.test_client()
    login(web, "official")
    page = web.get("/jobs").get_data(as_text=True)
    assert 'data-testid="heartbeat-worker"' in page and "后台进程（worker）最近一次" in page
