"""``GET /healthz``: 200 when the database and Redis answer, 503 otherwise (for load balancers)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from service.db import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> Any:
    checks: dict[str, str] = {}
    try:
        with db.engine.connect() as conn:  # type: ignore[union-attr]
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    url = current_app.config["REDIS_URL"]
    if url:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["redis"] = "not configured (embedded mode)"
    healthy = all(v == "ok" or v.startswith("not configured") for v in checks.values())
    resp = jsonify({"status": "ok" if healthy else "error", "checks": checks})
    resp.status_code = 200 if healthy else 503
    return resp
