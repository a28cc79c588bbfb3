"""SECRET_KEY: no public default. A deployment (anything but the embedded SQLite file) refuses to start
without a key of at least 32 characters - the app factory, the Celery worker, gunicorn and ``houqin``
- and the embedded mode generates its own key once instead of using a constant from the source."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from service import create_app
from service.config import InsecureSecretKey, resolve_secret_key
from tests.conftest import ROOT, District, test_config

# The values issue 9 found signing sessions in production: the old default of service/config.py and
# the old default of docker-compose.yml.
PUBLIC_KEYS = ("dev-only-not-secret-change-me", "change-me-in-production")
DEPLOYMENT = {
    "DATABASE_URL": "postgresql://houqin_app@127.0.0.1:5432/houqin",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
REAL_KEY = "k3y-0f-exactly-thirty-two-chars!"


def _env(**extra: str) -> dict[str, str]:
    """A deployment's environment for a subprocess: the database and Redis set, no SECRET_KEY."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    return {**env, **DEPLOYMENT, **extra}


@pytest.mark.parametrize("key", ["", *PUBLIC_KEYS, "x" * 31])
def test_the_app_factory_refuses_a_deployment_without_a_real_key(
    key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr("service.config.INSTANCE_DIR", tmp_path)
    with pytest.raises(InsecureSecretKey, match="SECRET_KEY") as refused:
        create_app({**DEPLOYMENT, "SECRET_KEY": key})
    assert "secrets.token_urlsafe" in str(refused.value)  # says how to make one
    assert list(tmp_path.iterdir()) == []  # and generates nothing for a deployment


def test_redis_without_a_database_url_is_a_deployment_not_the_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DATABASE_URL missing (or mistyped away) but REDIS_URL set: the processes share jobs, so they
    must share a real key - no generated one, a refusal naming SECRET_KEY."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("service.config.INSTANCE_DIR", tmp_path)
    with pytest.raises(InsecureSecretKey, match="SECRET_KEY"):
        create_app({"REDIS_URL": DEPLOYMENT["REDIS_URL"], "SECRET_KEY": ""})
    assert list(tmp_path.iterdir()) == []


def test_a_key_of_32_characters_is_enough() -> None:
    assert len(REAL_KEY) == 32
    assert resolve_secret_key({**DEPLOYMENT, "SECRET_KEY": REAL_KEY}, Path("/nonexistent")) == REAL_KEY


def test_the_worker_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    """The worker builds the app on import (tasks/celery_app.py): the import itself and the worker
    command exit 1 with the message, not a traceback."""
    env = _env(HOUQIN_INSTANCE_DIR=str(tmp_path))
    for argv in (
        [sys.executable, "-c", "import tasks.celery_app"],
        [sys.executable, "-m", "celery", "-A", "tasks.celery_app", "worker", "--pool=solo"],
    ):
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, (argv, proc.stdout, proc.stderr)
        assert "SECRET_KEY is not set" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_gunicorn_and_houqin_refuse_a_short_key(tmp_path: Path) -> None:
    env = _env(HOUQIN_INSTANCE_DIR=str(tmp_path), SECRET_KEY=PUBLIC_KEYS[1], PORT="0")
    gunicorn = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "service:create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gunicorn.returncode != 0
    assert "SECRET_KEY is too short" in gunicorn.stderr and "Traceback" not in gunicorn.stderr
    houqin = subprocess.run(
        [sys.executable, "-m", "service.cli", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert houqin.returncode == 1
    assert "SECRET_KEY is too short" in houqin.stderr and "Traceback" not in houqin.stderr


def test_embedded_mode_generates_its_key_once_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No DATABASE_URL: SQLite, and a random key in the instance dir (0600), the same on the next
    start so demo sessions survive a restart; never one of the constants."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("service.config.INSTANCE_DIR", tmp_path)
    from service.demo.runner import embedded_config

    first = create_app(embedded_config(tmp_path / "demo.sqlite"))
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32 and key not in PUBLIC_KEYS
    stored = tmp_path / "secret_key"
    assert stored.read_text().strip() == key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == key  # the default config: SQLite in the instance dir
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left

    # Another instance dir, another key: nothing is shared through the source.
    other = tmp_path / "other"
    monkeypatch.setattr("service.config.INSTANCE_DIR", other)
    assert create_app().config["SECRET_KEY"] not in (key, *PUBLIC_KEYS)

    # A damaged key file is an error, not a silent fallback.
    (other / "secret_key").write_text("short\n")
    with pytest.raises(InsecureSecretKey, match="secret_key"):
        create_app()


def _forged_session_cookie(app: Flask, key: str, user_id: int | str, user_agent: str) -> str:
    """A Flask session cookie logging ``user_id`` in, signed with ``key`` (what an attacker who knows
    the key makes): Flask-Login's fields, with the "strong" protection's identifier of this client.
    ``user_id`` is what the cookie names: ``"<id>:<session key>"`` since sessions live on the server."""
    from service.accounts.auth import _session_identifier

    client = {"REMOTE_ADDR": "127.0.0.1"}  # the test client's address
    with app.test_request_context("/", headers={"User-Agent": user_agent}, environ_base=client):
        ident = _session_identifier()
    signer = Flask("forger")
    signer.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    assert serializer is not None
    return serializer.dumps({"_user_id": str(user_id), "_fresh": True, "_id": ident})


def _live_session(app: Flask, user_id: int) -> str:
    """The cookie id of a live server-side session of ``user_id`` (as a login makes one)."""
    from datetime import timedelta

    from service.accounts.models import User
    from service.accounts.sessions import start_session
    from service.db import db
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        user = db.session.get(User, user_id)
        key = start_session(user, max_age=timedelta(hours=12))
        db.session.commit()
        db.session.remove()
    return f"{user_id}:{key}"


@pytest.mark.postgres
def test_a_cookie_signed_with_the_old_default_is_refused(database: Any, district: District) -> None:
    """The forgery issue 9 verified (200 on /api/v1/me as the bureau admin) gets 401 now. The same
    recipe signed with the app's own key is accepted, so the 401 is about the key, not the recipe."""
    app = create_app(test_config(database, SECRET_KEY=REAL_KEY))
    client = app.test_client()
    agent = "Mozilla/5.0 forged"
    name = app.config.get("SESSION_COOKIE_NAME", "session")

    live = _live_session(app, district.admin.id)
    client.set_cookie(name, _forged_session_cookie(app, REAL_KEY, live, agent))
    control = client.get("/api/v1/me", headers={"User-Agent": agent})
    assert control.status_code == 200 and control.get_json()["username"] == "admin"
    # the key alone no longer suffices: a cookie naming no live server-side session is refused
    client = app.test_client()
    client.set_cookie(name, _forged_session_cookie(app, REAL_KEY, district.admin.id, agent))
    assert client.get("/api/v1/me", headers={"User-Agent": agent}).status_code == 401

    for public in PUBLIC_KEYS:
        client = app.test_client()
        client.set_cookie(name, _forged_session_cookie(app, public, live, agent))
        assert client.get("/api/v1/me", headers={"User-Agent": agent}).status_code == 401, public
