"""The README's first command (the embedded demo) and the deployment files."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from typing import Any

import yaml

from service.core.timeutil import CLOCK_ENV, today_shanghai
from tests.conftest import ROOT


def test_demo_command_seeds_a_district_and_prints_logins(tmp_path: Any, monkeypatch: Any) -> None:
    db_path = tmp_path / "demo.sqlite"
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "demo", "--no-serve", "--database", str(db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # The suite's clock (HOUQIN_NOW), or the demo year would follow the real date.
        env={"PATH": "/usr/bin:/bin", "HOUQIN_INSTANCE_DIR": str(tmp_path), CLOCK_ENV: os.environ[CLOCK_ENV]},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for username in ("admin", "official", "inspector1", "s001"):
        assert username in out
    assert "houqin-demo" in out

    from service import create_app
    from service.demo.runner import embedded_config

    monkeypatch.setattr("service.config.INSTANCE_DIR", tmp_path)  # the demo's generated key
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

    # ... and the year of monthly data (service/demo/year.py), summarised on the command line
    assert "Demo year: 11个月 months" in out and "S014 钢城路小学" in out and "S024 长岭镇初级中学" in out
    visible_schools("admin")
    _check_demo_year(client)
    assert "排名 Rankings" in out and "表彰候选 Commendation candidates" in out
    with app.app_context():
        _check_demo_rankings_and_candidates()


def _check_demo_rankings_and_candidates() -> None:
    """The engine ran over the demo year: real rankings, and candidates that leave out S024."""
    from sqlalchemy import select

    from service.commendations.models import CommendationCandidate
    from service.db import db
    from service.demo.runner import demo_school_year
    from service.incidents.models import Incident
    from service.incidents.vetoes import incident_date
    from service.org.models import School
    from service.periods.models import Period
    from service.rankings.models import EntryStatus, RankingKind
    from service.rankings.operations import current_snapshot, entries_of
    from service.staff.models import StaffVeto, StaffVetoKind
    from tenants import TenantScope, use_scope

    with use_scope(TenantScope.bureau()):
        codes = {s.id: s.code for s in db.session.scalars(select(School))}
        year = current_snapshot(RankingKind.YEAR, demo_school_year())
        assert year is not None and len(year.payload_hash) == 64
        entries = entries_of(year)
        assert sum(e.status is EntryStatus.RANKED for e in entries) >= 25
        by_code = {codes[e.school_id]: e for e in entries}
        assert by_code["S024"].vetoed and "advanced_unit" in by_code["S024"].veto_blocks
        leaders = {
            codes[e.school_id]
            for e in entries
            if e.rank_peer == 1 and not e.vetoed and e.months_counted == e.months_expected
        }
        qualifying = db.session.scalars(
            select(CommendationCandidate).where(CommendationCandidate.qualifies.is_(True))
        ).all()
        advanced = {codes[c.school_id] for c in qualifying if c.commendation.value == "advanced_unit"}
        assert leaders and leaders <= advanced  # every clean peer-group leader is proposed
        barred = {"advanced_unit", "trusted_canteen"}
        assert not [c for c in qualifying if codes[c.school_id] == "S024" and c.commendation.value in barred]
        # The cook on duty that day carries a personal veto (test_commendations pins what it bars).
        cooks = db.session.scalars(
            select(StaffVeto).where(StaffVeto.kind == StaffVetoKind.ACCIDENT_AT_FAULT)
        ).all()
        incident = db.session.scalars(select(Incident)).one()
        assert [(codes[v.school_id], v.occurred_on) for v in cooks] == [("S024", incident_date(incident))]
        latest = db.session.scalars(select(Period).order_by(Period.year.desc(), Period.month.desc())).first()
        month = current_snapshot(RankingKind.MONTH, latest.code)
        assert month is not None and any(e.rank_overall == 1 for e in entries_of(month))


def _all(client: Any, url: str) -> list[dict[str, Any]]:
    """Every row of a paginated list endpoint."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        sep = "&" if "?" in url else "?"
        resp = client.get(f"{url}{sep}per_page=500&page={page}")
        assert resp.status_code == 200, (url, resp.get_json())
        rows += resp.get_json()
        if len(rows) >= int(resp.headers["X-Total-Count"]):
            return rows
        page += 1


def _check_demo_year(client: Any) -> None:
    """The stories of the demo year, as the bureau admin sees them through the API."""
    today = today_shanghai()
    periods = client.get("/api/v1/periods").get_json()  # newest first
    assert len(periods) == 11 and all(p["month"] != 8 for p in periods)
    schools = {s["code"]: s["id"] for s in _all(client, "/api/v1/schools")}

    # completeness: the last (locked) month mostly on time; late and missing months across the year
    statuses: dict[str, list[tuple[str, str]]] = {}
    for period in periods:
        for row in client.get(f"/api/v1/completeness?period_id={period['id']}").get_json():
            statuses.setdefault(row["status"], []).append((row["code"], period["code"]))
    last = next(p for p in periods if date.fromisoformat(p["locks_on"]) <= today)
    last_rows = client.get(f"/api/v1/completeness?period_id={last['id']}").get_json()
    on_time = [r for r in last_rows if r["status"] == "on_time"]
    assert len(on_time) >= 25, [r["status"] for r in last_rows]
    assert len(statuses["late"]) >= 3 and {code for code, _ in statuses["late"]} >= {"S004", "S011", "S021"}
    assert {code for code, _ in statuses["missing"]} == {"S010", "S029"}
    assert len(statuses["on_time"]) > 10 * len(statuses["late"])

    # the food incident's veto
    vetoes = _all(client, "/api/v1/vetoes")
    incident_vetoes = [v for v in vetoes if v["source"] == "incident" and v["school_id"] == schools["S024"]]
    assert incident_vetoes and any("food_poisoning" in v["rule"] for v in incident_vetoes)
    incidents = _all(client, "/api/v1/incidents")
    assert [(i["school_id"], i["type"], i["school_at_fault"]) for i in incidents] == [
        (schools["S024"], "food_poisoning", True)
    ]

    # hazards: some overdue today, some closed
    overdue = _all(client, "/api/v1/hazards?overdue=true")
    assert len(overdue) >= 3
    assert any(h["school_id"] == schools["S014"] for h in overdue)
    assert any(h["state"] == "closed" for h in _all(client, "/api/v1/hazards"))

    # the credibility school: self-inspections far above the inspector's
    def mean_score(mode: str) -> float:
        rows = _all(client, f"/api/v1/inspections?school_id={schools['S014']}&mode={mode}&kind=canteen")
        assert rows
        return sum(float(r["score"]) for r in rows) / len(rows)

    assert mean_score("self") >= 95 and mean_score("spot") <= 75

    # every accepted report has an evaluation for everybody on the roster of its month
    accepted = _all(client, "/api/v1/reports?state=accepted")
    assert len(accepted) >= 300
    for report in accepted:
        assert client.get(f"/api/v1/reports/{report['id']}/missing-evaluations").get_json() == []
    evaluations = client.get(f"/api/v1/evaluations?period_id={last['id']}&per_page=1")
    assert int(evaluations.headers["X-Total-Count"]) > 300


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


def test_demo_year_covers_the_eleven_reporting_months_before_this_one() -> None:
    from service.demo.year import reporting_months

    assert reporting_months(date(2026, 11, 21)) == [
        (2025, 11),
        (2025, 12),
        (2026, 1),
        (2026, 2),
        (2026, 3),
        (2026, 4),
        (2026, 5),
        (2026, 6),
        (2026, 7),
        (2026, 9),
        (2026, 10),
    ]
    # built in September, the year ends with July (August is not a reporting month)
    september = reporting_months(date(2026, 9, 1))
    assert (september[0], september[-1], len(september)) == ((2025, 9), (2026, 7), 11)
    january = reporting_months(date(2027, 1, 31))
    assert (january[0], january[-1], len(january)) == ((2026, 1), (2026, 12), 11)
