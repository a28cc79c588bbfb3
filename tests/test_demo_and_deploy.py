"""The README's first command (the embedded demo) and the deployment files."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import yaml

from tests.conftest import ROOT


def test_demo_command_seeds_a_district_and_prints_logins(tmp_path: Any) -> None:
    db_path = tmp_path / "demo.sqlite"
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "demo", "--no-serve", "--database", str(db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOUQIN_INSTANCE_DIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for username in ("admin", "official", "inspector1", "s001"):
        assert username in out
    assert "houqin-demo" in out

    from service import create_app
    from service.demo.runner import embedded_config

    app = create_app(embedded_config(db_path))
    client = app.test_client()

    def visible_schools(username: str) -> int:
        client.post("/logout")
        resp = client.post("/login", data={"username": username, "password": "houqin-demo"})
        assert resp.status_code == 302, username
        return int(client.get("/api/v1/schools?per_page=1").headers["X-Total-Count"])

    app.config["WTF_CSRF_ENABLED"] = False
    assert visible_schools("admin") == 30
    assert visible_schools("official") == 30
    assert 0 < visible_schools("inspector2") < 30
    assert visible_schools("s001") == 1
    page = client.get("/").get_data(as_text=True)
    assert "青山区实验小学" in page
    # the example job ran (eagerly) over the seeded rosters
    warnings = client.get("/api/v1/schools/1/certificate-warnings").get_json()
    assert warnings and all(w["kind"] in {"missing", "expired", "expiring"} for w in warnings)


def test_compose_has_the_services_operators_expect() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit"} <= set(services)
    assert "gunicorn" in str(services["web"]["command"])
    assert "tasks.celery_app" in str(services["worker"]["command"])
    assert "beat" in str(services["beat"]["command"])
    assert (ROOT / "deploy" / "gunicorn.conf.py").exists()
    env = services["web"]["environment"]
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        assert key in env
