"""The README's first command (the embedded demo) and the deployment files.

`houqin demo --today` builds the demo "as of" a day (service/demo/year.py); here it runs on the
suite's pinned day. tests/test_demo_days.py builds the compact demo on the days the calendar turns.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import yaml

from tests.conftest import ROOT, TODAY
from tests.demo_stories import (
    DEMO_SCHOOLS,
    Expected,
    check_opens_on,
    check_rankings_and_candidates,
    check_year,
    months,
    visible_schools,
)


def test_demo_command_seeds_a_district_and_prints_logins(tmp_path: Any, monkeypatch: Any) -> None:
    """`houqin demo` on the suite's day (2026-11-21, a Saturday): October locked on 16 November, so the
    year is 2025-11 … 2026-10 and nothing is in progress (November has not ended)."""
    db_path = tmp_path / "demo.sqlite"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "service.cli", "demo", "--no-serve"),
            *("--database", str(db_path), "--today", TODAY.isoformat()),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOUQIN_INSTANCE_DIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for username in ("admin", "official", "inspector1", "s001"):
        assert username in out
    assert "houqin-demo" in out
    assert "Demo year: 11个月 months (2025-11 … 2026-10" in out
    assert "S014 钢城路小学" in out and "S024 长岭镇初级中学" in out
    assert "In progress" not in out and "This month: 2026-11" in out  # November: open, nothing in it
    assert "2026-10 第一名 top school" in out
    # the 发件箱: October's bulletin to the bureau's two and the 30 schools, and 30 report cards
    assert f"发件箱 Outbox: {2 + 2 * DEMO_SCHOOLS} 封邮件" in out

    from service import create_app
    from service.demo.runner import embedded_config

    monkeypatch.setattr("service.config.INSTANCE_DIR", tmp_path)  # the demo's generated key
    app = create_app(embedded_config(db_path))
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert visible_schools(client, "admin") == DEMO_SCHOOLS
    assert visible_schools(client, "official") == DEMO_SCHOOLS
    assert 0 < visible_schools(client, "inspector2") < DEMO_SCHOOLS
    assert visible_schools(client, "s001") == 1
    page = client.get("/").get_data(as_text=True)
    assert "青山区实验小学" in page
    # the example job ran (eagerly) over the seeded rosters
    warnings = client.get("/api/v1/schools/1/certificate-warnings").get_json()
    assert warnings and all(w["kind"] in {"missing", "expired", "expiring"} for w in warnings)

    expected = Expected(TODAY, months("2025-11", "2026-10"), None)
    visible_schools(client, "admin")
    counts = check_year(client, expected, schools=DEMO_SCHOOLS)
    # every report of the year: 30 schools × 11 months − the 2 missing ones
    assert counts["accepted"] == DEMO_SCHOOLS * 11 - 2 == 328
    assert f"Reports accepted: {counts['accepted']}" in out
    check_opens_on(client, "2026-10")
    with app.app_context():
        check_rankings_and_candidates(expected.year)


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


def test_compose_ships_no_usable_secret_key() -> None:
    """SECRET_KEY is ``${SECRET_KEY:?...}`` for every app service: compose refuses to start without
    it (no ``:-default``, no literal key), so no deployment signs sessions with a public value."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("migrate", "web", "worker", "beat"):
        value = str(compose["services"][name]["environment"]["SECRET_KEY"])
        assert value.startswith("${SECRET_KEY:?") and value.endswith("}"), (name, value)
        assert "SECRET_KEY" in value.removeprefix("${SECRET_KEY:?"), "the message names the variable"
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()
    assert "dev-only-not-secret" not in (ROOT / "service" / "config.py").read_text()
