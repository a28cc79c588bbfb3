"""A fresh production install can rank: the README's path, followed on an empty PostgreSQL database.

The commands are read from the README's "Running it for real" section, so the test follows whatever
the README says and breaks when its path stops working: ``export`` lines give the environment (with
this server's host, a scratch database and roles of the test's own), ``psql -c`` statements run as the
superuser, every ``houqin`` line runs as a real ``python -m service.cli`` subprocess (passwords typed
at its prompts), and the servers (gunicorn, celery) are stood in for by an app built from the same
environment in this process, with jobs run eagerly. Before the first ``houqin rank`` the people of the
README enter one month through the REST API, as they would: the bureau admin opens it, the school
admin records a staff member, an evaluation and the canteen and safety self-inspections against the
rubrics ``houqin db upgrade`` seeded, and submits, and the bureau admin accepts. The ranking printed
must be the hand computation below. Then the bureau publishes its own rubric and rule versions and a
second ``houqin db upgrade`` must add nothing and leave them in force.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from service.core.timeutil import CLOCK_ENV
from service.db import make_engine
from tests import services
from tests.conftest import ROOT, TODAY

pytestmark = pytest.mark.postgres

README = ROOT / "README.md"
SECTION = "## Running it for real"

# Roles of this test's own (roles are server-wide; the README's houqin_owner/houqin_app may belong to
# a real install on a developer's server). They own nothing once the scratch database is dropped.
OWNER, APP = "houqin_readme_owner", "houqin_readme_app"
README_NAMES = {"houqin_owner": OWNER, "houqin_app": APP}
ROLE_LOCK = 714002  # serialises role creation with a parallel run of this test
PASSWORD = "readme-password-9"
SERVERS = {"gunicorn", "celery"}  # stood in for by the in-process app, jobs run eagerly

# The month, by hand (rubrics.md formulas 1, 3, 4, 5; the shipped rubrics and rules):
# canteen self-inspection: A2 licence not displayed (-2), F1 three meals without a leader (-3 × 1)
#   → 95.0; safety self-inspection: B2 two devices not working (-2 × 2) → 96.0; one cook rated by
#   the assessment group (8, 16, 12, 36, 8) and by themself (full marks): each dimension
#   (50 × group + 10 × self) ÷ 60 → 5000 ÷ 60 = 83.333…; on time (deadline after today).
# composite = (40 × 95 + 40 × 96 + 20 × 83.333…) ÷ 100 = 93.0666… → 93.1, band A.
CANTEEN_FOUND = {"A2": 1, "F1": 3}
SAFETY_FOUND = {"B2": 2}
ASSESSMENT = {"de": 8, "neng": 16, "qin": 12, "ji": 36, "lian": 8}
SELF = {"de": 10, "neng": 20, "qin": 15, "ji": 45, "lian": 10}
CANTEEN, SAFETY, STAFF = Decimal("95"), Decimal("96"), Decimal(5000) / Decimal(60)
COMPOSITE = "93.1"

# The bureau-level rows ``houqin db upgrade`` seeds, counted to show a second run adds nothing.
SEEDED_TABLES = (
    "rubrics",
    "rubric_versions",
    "rubric_sections",
    "rubric_items",
    "rule_sets",
    "audit_entries",
)

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- the README ------------------------------------------------------------------------------------


def readme_commands() -> list[list[str]]:
    """Every command of the section's ``sh`` blocks, in order, split as the shell would (no comments)."""
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [
        argv for block in blocks for line in block.splitlines() if (argv := shlex.split(line, comments=True))
    ]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


# --- the scratch server side -----------------------------------------------------------------------


@dataclass
class Scratch:
    """The empty database the README's commands build, on the test server, and its superuser."""

    name: str
    admin: Engine  # superuser on the server's maintenance database, autocommit
    env: dict[str, str] = field(default_factory=dict)

    def url(self, readme_url: str) -> str:
        """A README URL on this server: its roles mapped to the test's, its database to the scratch one."""
        admin_url = make_url(services.PG_ADMIN_URL)
        url = make_url(readme_url)
        user = README_NAMES.get(url.username or "")
        return url.set(
            drivername="postgresql",
            username=user or admin_url.username,  # any other role: the superuser (``postgres``)
            password=None if user else admin_url.password,
            host=admin_url.host,
            port=admin_url.port,
            database=self.name if url.database == "houqin" else url.database,
        ).render_as_string(hide_password=False)

    def sql(self, statement: str) -> str:
        """A README statement with the test's role and database names."""
        for readme_name, name in README_NAMES.items():
            statement = re.sub(rf"\b{readme_name}\b", name, statement)
        return re.sub(r"\bhouqin\b", self.name, statement)

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Rows of ``statement`` in the scratch database, read as the superuser (past the tenant wall)."""
        engine = make_engine(self.url("postgresql://postgres@127.0.0.1/houqin"))
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(statement))]
        finally:
            engine.dispose()

    def counts(self, tables: tuple[str, ...]) -> dict[str, int]:
        return {t: self.query(f"SELECT count(*) FROM {t}")[0][0] for t in tables}

    @contextlib.contextmanager
    def role_lock(self) -> Iterator[None]:
        with self.admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ROLE_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ROLE_LOCK})


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Scratch]:
    """A database name nobody uses (dropped at the end, pass or fail) and the base environment.

    The ``houqin_test_<pid>`` form lets the conftest drop it if this process is killed first.
    """
    admin = create_engine(
        services.PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    name = f"houqin_test_readme_{os.getpid()}"
    drop = text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    with admin.connect() as conn:
        conn.execute(drop)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONIOENCODING": "utf-8",
        CLOCK_ENV: os.environ[CLOCK_ENV],  # the suite's fixed instant (tests/conftest.py NOW)
        "HOUQIN_INSTANCE_DIR": str(tmp_path),
        "APP_DB_ROLE": APP,  # the README's role has another name here (README: "Use APP_DB_ROLE if ...")
    }
    try:
        yield Scratch(name, admin, env)
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()


def export(scratch: Scratch, argv: list[str]) -> None:
    """``export A=1 B=2``: URLs pointed at the scratch database, placeholders given real values."""
    for assignment in argv[1:]:
        key, _, value = assignment.partition("=")
        if value.startswith("postgresql://"):
            scratch.env[key] = scratch.url(value)
        elif value.startswith("redis://"):
            scratch.env[key] = services.REDIS_URL
        elif key == "SECRET_KEY":
            scratch.env[key] = secrets.token_urlsafe(48)  # the README leaves it to the operator
        elif value != "...":  # MAIL_*: nothing on this path sends mail
            scratch.env[key] = value


def psql(scratch: Scratch, argv: list[str]) -> None:
    """Each ``-c`` statement as the superuser; a role that an earlier run created is not created again."""
    statements = [scratch.sql(argv[i + 1]) for i, arg in enumerate(argv) if arg == "-c"]
    assert statements, f"no -c statement in {argv}"
    with scratch.role_lock(), scratch.admin.connect() as conn:
        for statement in statements:
            role = re.match(r"CREATE ROLE (\w+)", statement)
            exists = text("SELECT 1 FROM pg_roles WHERE rolname = :r")
            if role is None or not conn.execute(exists, {"r": role[1]}).scalar():
                conn.execute(text(statement))


def houqin(scratch: Scratch, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """One ``houqin`` command as a real process; password prompts answered on stdin.

    ``start_new_session``: without a controlling terminal, the hidden prompt reads stdin instead of
    waiting on the developer's /dev/tty.
    """
    args = [scratch.url(a) if a.startswith("postgresql://") else a for a in argv[1:]]
    needs_password = args[:2] in (["users", "create-admin"], ["users", "add"]) and "--password" not in args
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT,
        env=scratch.env,
        input=f"{PASSWORD}\n{PASSWORD}\n" if needs_password else "",
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert proc.returncode == 0, f"{shlex.join(argv)}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc


# --- the month, through the REST API ---------------------------------------------------------------


class Api:
    """The app the README starts with gunicorn, built from the same environment; jobs run eagerly."""

    def __init__(self, env: dict[str, str]) -> None:
        from service import create_app
        from service.config import from_env

        self.app = create_app({**from_env(env), "CELERY_ALWAYS_EAGER": True, "CELERY_EAGER_PROPAGATES": True})
        self.client = self.app.test_client()

    def login(self, username: str) -> dict[str, str]:
        """Log in on the web (CSRF and all) and make an API token, as a user does at /account/tokens."""
        client = self.app.test_client()
        csrf = CSRF_INPUT.search(client.get("/login").get_data(as_text=True))
        assert csrf, "no csrf_token on the login page"
        resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf[1]})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        if resp.headers["Location"] == "/account/password":  # `users add`: they choose their own first
            csrf = CSRF_INPUT.search(client.get("/account/password").get_data(as_text=True))
            assert csrf, "no csrf_token on the password page"
            mine = "chosen-at-first-login-7"
            form = {"current_password": PASSWORD, "password": mine, "repeat": mine, "csrf_token": csrf[1]}
            resp = client.post("/account/password", data=form)
            assert resp.status_code == 302, resp.get_data(as_text=True)
        csrf = CSRF_INPUT.search(client.get("/account/tokens").get_data(as_text=True))
        assert csrf, "no csrf_token on the tokens page"
        resp = client.post("/api/v1/tokens", json={"name": "readme"}, headers={"X-CSRFToken": csrf[1]})
        assert resp.status_code == 201, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['token']}"}

    def call(self, method: str, path: str, who: dict[str, str], status: int = 200, **body: Any) -> Any:
        resp = self.client.open(f"/api/v1{path}", method=method, headers=who, json=body or None)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.get_json()}"
        return resp.get_json()

    def close(self) -> None:
        from service.db import ENGINE_KEY

        self.app.extensions[ENGINE_KEY].dispose()


def item_ids(api: Api, who: dict[str, str], kind: str) -> dict[str, int]:
    """Code → id of the entered items of the published rubric of ``kind``, read as a school reads it."""
    rubric = next(r for r in api.call("GET", "/rubrics", who) if r["kind"] == kind)
    version = api.call("GET", f"/rubric-versions/{rubric['current_version_id']}", who)
    return {i["code"]: i["id"] for s in version["sections"] for i in s["items"] if not i["computed"]}


def inspection(api: Api, who: dict[str, str], period: dict, kind: str, found: dict[str, int]) -> None:
    items = [
        {"item_id": item_id, "result": "fail" if code in found else "pass", "occurrences": found.get(code, 0)}
        for code, item_id in item_ids(api, who, kind).items()
    ]
    api.call(
        "POST",
        "/inspections",
        who,
        201,
        kind=kind,
        mode="self",
        period_id=period["id"],
        inspected_on=date(period["year"], period["month"], 10).isoformat(),
        inspector_name="邵淑芬",
        items=items,
    )


def enter_month(api: Api, admin: dict[str, str], school: dict[str, str], month: str) -> dict:
    """Open the month, enter and submit the school's data, accept it; returns the period."""
    year, number = (int(p) for p in month.split("-"))
    # Opened late (its default deadline, the 5th of the next month, is past at the suite's clock):
    # the bureau gives a deadline after today, so the school is on time.
    deadline = (TODAY + timedelta(days=3)).isoformat()
    period = api.call("POST", "/periods", admin, 201, year=year, month=number, deadline=deadline)
    cook = api.call(
        "POST",
        "/staff",
        school,
        201,
        name="张师傅",
        role="cook",
        contract_type="contract",
        hire_date="2024-03-01",
        health_cert_no="JK-0001",
        health_cert_expiry=(TODAY + timedelta(days=200)).isoformat(),
    )
    ratings = [
        {"rater_group": "assessment", "rater_name": "考核小组", "scores": ASSESSMENT},
        {"rater_group": "self", "scores": SELF},
    ]
    api.call(
        "POST", "/evaluations", school, 201, staff_id=cook["id"], period_id=period["id"], ratings=ratings
    )
    inspection(api, school, period, "canteen", CANTEEN_FOUND)
    inspection(api, school, period, "safety", SAFETY_FOUND)
    (report,) = api.call("GET", f"/reports?period_id={period['id']}", school)
    assert api.call("POST", f"/reports/{report['id']}/submit", school)["state"] == "submitted"
    assert api.call("POST", f"/reports/{report['id']}/accept", admin)["state"] == "accepted"
    return period


def ranking_row(output: str, school_code: str) -> list[str]:
    """The row of ``school_code`` in ``houqin rank``'s table: rank, movement, code, name, score, band, ..."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("排名"))
    return next(line.split() for line in lines[start + 2 :] if school_code in line.split())


# --- the test --------------------------------------------------------------------------------------


def test_the_readme_path_takes_an_empty_database_to_a_ranking(scratch: Scratch) -> None:
    commands = readme_commands()
    programs = {argv[0] for argv in commands}
    assert programs <= {"export", "psql", "houqin"} | SERVERS, (
        f"a README command this test cannot follow: {programs}"
    )
    ranks = [argv for argv in commands if argv[:2] == ["houqin", "rank"]]
    assert ranks, "the README's path must end with `houqin rank <month>`"
    admin_name = option(next(a for a in commands if a[1:3] == ["users", "create-admin"]), "--username")
    school_admin = next(
        a for a in commands if a[1:3] == ["users", "add"] and option(a, "--role") == "school_admin"
    )

    api: Api | None = None
    outputs: dict[str, str] = {}
    try:
        for argv in commands:
            if argv[0] == "export":
                export(scratch, argv)
            elif argv[0] == "psql":
                psql(scratch, argv)
            elif argv[0] in SERVERS:
                continue
            elif argv[1] == "rank":
                if api is None:  # the first ranking: the month's data goes in first
                    api = Api(scratch.env)
                    enter_month(
                        api, api.login(admin_name), api.login(option(school_admin, "--username")), argv[2]
                    )
                outputs["rank"] = houqin(scratch, argv).stdout
            elif argv[1:3] == ["db", "create-app-role"]:
                with scratch.role_lock():
                    houqin(scratch, argv)
            else:
                outputs[" ".join(argv[1:3])] = houqin(scratch, argv).stdout
        assert api is not None

        # houqin db upgrade seeded the shipped rubrics and rules as version 1, published by the system
        assert "seeded the shipped rubrics canteen, safety, staff" in outputs["db upgrade"]
        assert scratch.query(
            "SELECT r.code, v.version, v.status, v.published_by_id IS NULL FROM rubrics r"
            " JOIN rubric_versions v ON v.rubric_id = r.id ORDER BY r.code, v.version"
        ) == [
            ("canteen", 1, "published", True),
            ("safety", 1, "published", True),
            ("staff", 1, "published", True),
        ]
        assert scratch.query("SELECT kind, version, created_by_id FROM rule_sets ORDER BY kind") == [
            ("commendations", 1, None),
            ("scoring", 1, None),
        ]

        # the school is ranked with the hand-computed composite, on the seeded rules (version 1)
        code = option(next(a for a in commands if a[1:3] == ["schools", "add"]), "--code")
        row = ranking_row(outputs["rank"], code)
        assert row[0] == "1" and row[2] == code and row[4:6] == [COMPOSITE, "A"], row
        admin = api.login(admin_name)
        school_id = api.call("GET", "/schools", admin)[0]["id"]
        (month,) = api.call("GET", f"/schools/{school_id}/scores", admin)["months"]
        assert (month["period"], month["status"], month["late"]) == (ranks[0][2], "scored", False), month
        assert (Decimal(month["canteen_area"]), Decimal(month["safety_area"])) == (CANTEEN, SAFETY)
        # the area is kept to 6 places (person scores are averaged unrounded: formula 4)
        assert Decimal(month["staff_area"]) == STAFF.quantize(Decimal("0.000001"))
        assert (month["composite"], month["band"], month["rules_version"]) == (COMPOSITE, "A", 1)

        # the bureau makes its own versions; a second upgrade adds nothing and leaves them in force
        canteen = next(r for r in api.call("GET", "/rubrics", admin) if r["kind"] == "canteen")
        draft = api.call("POST", f"/rubrics/{canteen['id']}/versions", admin, 201, note="本区细则")
        api.call("POST", f"/rubric-versions/{draft['id']}/publish", admin)
        rules = api.call("GET", "/rules/scoring", admin)
        api.call(
            "PUT", "/rules/scoring", admin, **{**rules["settings"], "late_deduction": "3", "note": "本区规则"}
        )
        before = scratch.counts(SEEDED_TABLES)
        upgrade = next(a for a in commands if a[1:3] == ["db", "upgrade"])
        assert "already present, nothing added" in houqin(scratch, upgrade).stdout
        assert scratch.counts(SEEDED_TABLES) == before
        canteen = next(r for r in api.call("GET", "/rubrics", admin) if r["kind"] == "canteen")
        assert canteen["current_version"] == 2
        assert api.call("GET", "/rules/scoring", admin)["version"] == 2
    finally:
        if api is not None:
            api.close()


def test_seeding_fills_only_the_kinds_a_district_lacks(app: Any, district: Any) -> None:
    """The bureau's edited scoring rules and its canteen version 2 stay; the missing kind is added once."""
    from service import seeding
    from service.db import db
    from service.rubrics import operations as rubrics
    from service.rubrics.models import RubricKind
    from service.rules import operations as rules
    from service.rules.models import RuleKind
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        canteen = rubrics.current_version(RubricKind.CANTEEN)
        assert canteen is not None
        rubrics.publish(rubrics.new_version(canteen.rubric, note="本区细则"), district.admin)
        rules.add_version(RuleKind.SCORING, {"late_deduction": "3"}, note="本区规则", user=district.admin)
        db.session.commit()

        assert seeding.seed_defaults(db.session()) == seeding.Seeded(rubrics=(), rule_sets=("commendations",))
        db.session.commit()
        assert seeding.seed_defaults(db.session()).nothing
        version, settings = rules.current(RuleKind.SCORING)
        assert (version, settings["late_deduction"]) == (1, "3")
        assert rules.current(RuleKind.COMMENDATIONS)[0] == 1
        published = rubrics.current_version(RubricKind.CANTEEN)
        assert published is not None and published.version == 2
        db.session.remove()
