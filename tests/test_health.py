"""``GET /healthz`` for load balancers: 200 when the database (and Redis, if configured) answer."""

from __future__ import annotations

from typing import Any

from tests.conftest import test_config


def test_healthz_ok(app, client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    if app.config["REDIS_URL"]:
        assert body["checks"]["redis"] == "ok"
    else:
        assert body["checks"]["redis"].startswith("not configured")


def test_healthz_needs_no_login(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert "Location" not in resp.headers


def test_healthz_reports_redis_down(database: Any):
    from service import create_app

    app = create_app(test_config(database, REDIS_URL="redis://127.0.0.1:1/0"))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "error"
    assert body["checks"]["redis"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_healthz_without_redis_is_embedded_mode(database: Any):
    from service import create_app

    app = create_app(test_config(database, REDIS_URL=""))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"]["redis"].startswith("not configured")
