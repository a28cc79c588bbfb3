"""Celery wiring: scope required, dispatch only after commit, and one job end to end on a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Blueprint
from sqlalchemy import select

from service.core import outbox
from service.db import db
from service.staff.models import CertificateWarning, WarningKind
from service.staff.operations import RECOMPUTE_TASK, recompute_certificate_warnings
from tenants import MissingTenantScope, TenantScope, TenantViolation, use_scope
from tests import services
from tests.conftest import ROOT, TODAY, District, test_config


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "dispatch", lambda name, kwargs: calls.append((name, kwargs)))
    return calls


def _warnings(app: Any, school_id: int) -> dict[int, tuple[str, date | None]]:
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = db.session.scalars(select(CertificateWarning).where(CertificateWarning.school_id == school_id))
        result = {w.staff_id: (w.kind.value, w.expires_on) for w in rows}
        db.session.remove()
    return result


def test_task_sent_without_scope_is_refused(app: Any, district: District) -> None:
    task = app.extensions["celery"].tasks[RECOMPUTE_TASK]
    with pytest.raises(MissingTenantScope):
        task.apply_async(kwargs={"school_ids": [district.school_a.id]})
    with pytest.raises(MissingTenantScope):
        task.apply_async(kwargs={"scope": {"kind": "none"}})
    # a message that reaches the worker anyway (sent by name, bypassing apply_async) fails there
    with pytest.raises(MissingTenantScope):  # the test app propagates eager failures
        task.apply(kwargs={"school_ids": [district.school_a.id]})
    assert _warnings(app, district.school_a.id) == {}


def test_task_scope_limits_what_it_may_touch(app: Any, district: District) -> None:
    task = app.extensions["celery"].tasks[RECOMPUTE_TASK]
    with pytest.raises(TenantViolation):
        task.apply(
            kwargs={
                "scope": TenantScope.school(district.school_a.id).to_json(),
                "school_ids": [district.school_b.id],
            }
        )
    assert _warnings(app, district.school_b.id) == {}


def test_rolled_back_transaction_sends_nothing(app: Any, district: District, sent: list) -> None:
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        outbox.enqueue_task(RECOMPUTE_TASK, scope=TenantScope.school(district.school_a.id))
        db.session.rollback()
        db.session.commit()  # a later commit must not resurrect what the rollback dropped
        assert sent == []
        outbox.enqueue_task(RECOMPUTE_TASK, scope=TenantScope.school(district.school_a.id), school_ids=[1])
        assert sent == []  # not before the commit
        db.session.commit()
    assert sent == [
        (
            RECOMPUTE_TASK,
            {"scope": {"kind": "schools", "school_ids": [district.school_a.id]}, "school_ids": [1]},
        )
    ]


def test_a_released_savepoint_sends_nothing_before_the_commit(
    app: Any, district: District, sent: list
) -> None:
    """A page runs its operation in a SAVEPOINT (service/web/forms.py: refusals); SQLAlchemy emits
    after_commit when the savepoint is released, but the rows are not committed yet: a task sent then
    would not see them. It goes at the real commit."""
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        savepoint = db.session.begin_nested()
        outbox.enqueue_task(RECOMPUTE_TASK, scope=TenantScope.school(district.school_a.id))
        savepoint.commit()
        assert sent == []
        db.session.commit()
    assert [name for name, _ in sent] == [RECOMPUTE_TASK]


def test_failed_request_sends_nothing(database: Any, district: District, sent: list) -> None:
    from service import create_app

    app = create_app(test_config(database))
    bp = Blueprint("boom", __name__)

    @bp.route("/boom", methods=["POST"])
    def boom() -> Any:
        from service.staff.operations import request_recompute

        request_recompute(district.school_a.id)
        raise RuntimeError("the request fails after queueing a task")

    app.register_blueprint(bp)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    client.post("/login", data={"username": "admin_a", "password": "correct-horse-9"})
    resp = client.post("/boom")
    assert resp.status_code == 500
    assert sent == []
    # the same queueing in a request that commits is sent once
    resp = client.post(
        f"/api/v1/schools/{district.school_a.id}/certificate-warnings/recompute",
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 202
    assert [name for name, _ in sent] == [RECOMPUTE_TASK]


def test_recompute_is_idempotent_and_set_based(app: Any, district: District) -> None:
    today = TODAY
    with app.app_context(), use_scope(TenantScope.bureau()):
        first = recompute_certificate_warnings(today=today)
        db.session.commit()
        rows_1 = sorted(
            db.session.execute(
                select(CertificateWarning.school_id, CertificateWarning.staff_id, CertificateWarning.kind)
            ).all()
        )
        second = recompute_certificate_warnings(today=today)
        db.session.commit()
        rows_2 = sorted(
            db.session.execute(
                select(CertificateWarning.school_id, CertificateWarning.staff_id, CertificateWarning.kind)
            ).all()
        )
    assert first == second == {"warnings": 2, "schools_with_warnings": 2}
    assert rows_1 == rows_2
    assert {(r.staff_id, r.kind) for r in rows_1} == {
        (district.staff_a.id, WarningKind.EXPIRING),
        (district.staff_b.id, WarningKind.EXPIRED),
    }
    # a later date: A's certificate (10 days left) has expired too
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        recompute_certificate_warnings(today=today + timedelta(days=11))
        db.session.commit()
    assert _warnings(app, district.school_a.id)[district.staff_a.id][0] == "expired"


# --- a real worker process on Redis -------------------------------------------------------------------


@pytest.fixture
def worker(database: Any, tmp_path: Any) -> Any:
    if database.kind != "postgresql":
        pytest.skip("the worker test runs on PostgreSQL")
    queue = f"houqin-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database.app_url,
        "MIGRATION_DATABASE_URL": database.owner_url,
        "REDIS_URL": services.REDIS_URL,
        "CELERY_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": queue,
        "HOUQIN_INSTANCE_DIR": str(tmp_path),
        "SECRET_KEY": "worker-test-0123456789-abcdefghijklmnop",
    }
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks.celery_app",
            "worker",
            "-c",
            "1",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "ready" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("worker did not start:\n" + log.read_text())
        time.sleep(0.2)
    yield {"queue": queue, "log": log}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.redis
def test_job_runs_end_to_end_on_a_real_worker(database: Any, district: District, worker: dict) -> None:
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
    client = app.test_client()
    resp = client.post(
        f"/api/v1/schools/{district.school_a.id}/certificate-warnings/recompute",
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 202
    deadline = time.monotonic() + 60
    while not _warnings(app, district.school_a.id):
        assert time.monotonic() < deadline, (
            "the worker never wrote the warnings:\n" + worker["log"].read_text()
        )
        time.sleep(0.3)
    assert _warnings(app, district.school_a.id) == {
        district.staff_a.id: ("expiring", district.staff_a.health_cert_expiry)
    }
    assert _warnings(app, district.school_b.id) == {}  # the school scope kept it to A

    # a message sent by name without a scope fails on the worker, visibly, and writes nothing
    celery = app.extensions["celery"]
    result = celery.send_task(
        RECOMPUTE_TASK, kwargs={"school_ids": [district.school_b.id]}, queue=worker["queue"]
    )
    with pytest.raises(MissingTenantScope):
        result.get(timeout=30, propagate=True)
    assert result.state == "FAILURE"
    assert _warnings(app, district.school_b.id) == {}
