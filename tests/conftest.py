"""Test fixtures: a migrated database per test session, a fresh district per test.

On PostgreSQL the schema is created by the real migrations as a non-superuser owner role, and the
app connects as a separate role without ownership or BYPASSRLS - exactly as in production - so the
row-level-security policies are live in every test. Between tests all tables are truncated.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests import services

# Fixtures of the browser journeys (live_server, browser, month): tests/browser_support.py.
pytest_plugins = ["tests.browser_support"]

OWNER_ROLE = "houqin_test_owner"
APP_ROLE = "houqin_test_app"

# The instant the suite runs "at": the application clock (service/core/timeutil.py) starts here in
# every test process and in every process a test starts (HOUQIN_NOW), so no test depends on the day
# it runs. Expectations are hand counts for this date. A Saturday in the middle of a month.
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()


def pytest_configure(config: pytest.Config) -> None:
    from service.core.timeutil import CLOCK_ENV, set_clock

    set_clock(NOW)
    os.environ[CLOCK_ENV] = NOW.isoformat()
    _private_instance_dir(config)
    if services.IN_CI:
        missing = [
            name
            for name, ok in (
                ("PostgreSQL", services.postgres_available()),
                ("Redis", services.redis_available()),
            )
            if not ok
        ]
        if missing:
            raise pytest.UsageError(
                f"CI=true but {', '.join(missing)} not reachable: the suite must run on them"
            )


def _private_instance_dir(config: pytest.Config) -> None:
    """An instance dir of this test process's own, for it and the processes it starts: apps built in
    the embedded mode (the demo) generate their secret key there (service/config.py), never in the
    work tree's instance/."""
    import service.config

    path = Path(tempfile.mkdtemp(prefix="houqin-test-instance-"))
    service.config.INSTANCE_DIR = path
    os.environ["HOUQIN_INSTANCE_DIR"] = str(path)
    config.add_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="PostgreSQL not reachable")
    skip_redis = pytest.mark.skip(reason="Redis not reachable")
    pg, rd = services.postgres_available(), services.redis_available()
    for item in items:
        if "postgres" in item.keywords and not pg:
            item.add_marker(skip_pg)
        if ("redis" in item.keywords or "worker" in item.keywords) and not rd:
            item.add_marker(skip_redis)


@dataclass
class Database:
    kind: str  # "postgresql" | "sqlite"
    app_url: str
    owner_url: str
    admin_engine: Engine | None  # superuser, for setup and truncation (PostgreSQL)
    name: str = ""


def _pg_url(base: str, *, user: str, database: str) -> str:
    url = make_url(base).set(username=user, database=database, password=None)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from service import migrate

    if not services.postgres_available():
        path = tmp_path_factory.mktemp("db") / "houqin.sqlite"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield Database("sqlite", url, url, None)
        return

    # One database per test process, so parallel runs (xdist workers, two developers) never collide.
    name = f"houqin_test_{os.getpid()}"
    admin = create_engine(
        services.PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        # Serialise role creation across parallel test processes on a fresh server (CREATE ROLE races).
        conn.execute(text("SELECT pg_advisory_lock(714001)"))
        for role, extra in ((OWNER_ROLE, ""), (APP_ROLE, " NOBYPASSRLS")):
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
            if not exists:
                conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER{extra}"))
        conn.execute(text("SELECT pg_advisory_unlock(714001)"))
        _drop_stale_databases(conn)
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
    owner_url = _pg_url(services.PG_ADMIN_URL, user=OWNER_ROLE, database=name)
    app_url = _pg_url(services.PG_ADMIN_URL, user=APP_ROLE, database=name)
    migrate.upgrade(owner_url, app_role=APP_ROLE)
    db_admin = create_engine(
        _pg_url(
            services.PG_ADMIN_URL, user=make_url(services.PG_ADMIN_URL).username or "postgres", database=name
        ).replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    yield Database("postgresql", app_url, owner_url, db_admin, name)
    db_admin.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _drop_stale_databases(conn: Any) -> None:
    """Drop test databases left by test processes that no longer run (a killed run leaves one)."""
    names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'houqin_test_%'")).scalars()
    for db_name in list(names):
        suffix = db_name.rsplit("_", 1)[-1]
        if suffix.isdigit() and not _pid_alive(int(suffix)):
            conn.execute(text(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def test_config(database: Database, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-0123456789-abcdefghijklmnop",  # >= 32 characters, as everywhere
        "DATABASE_URL": database.app_url,
        "MIGRATION_DATABASE_URL": database.owner_url,
        "APP_DB_ROLE": APP_ROLE,
        "REDIS_URL": services.REDIS_URL if services.redis_available() else "",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": None,
        "CELERY_ALWAYS_EAGER": True,
        "CELERY_EAGER_PROPAGATES": True,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # a helper, not a test, when imported into a test module


@pytest.fixture(scope="session")
def app(database: Database) -> Any:
    from service import create_app

    return create_app(test_config(database))


@pytest.fixture(autouse=True)
def _extensions_on_the_test_app(request: pytest.FixtureRequest) -> None:
    """Process-wide extension state follows the app made last; a test that builds another app (the demo,
    the README path, a deployment config) would leave it behind for later tests in the same process:
    tasks (``shared_task``) run on the Celery app made current last, and Flask-Limiter keeps one
    ``enabled`` flag per extension object (the demo enables the login limit: a later test logging in
    ten times a minute got 429). Every test that uses the suite's app starts with both back on it."""
    if "app" in request.fixturenames:
        from service.extensions import limiter

        app = request.getfixturevalue("app")
        app.extensions["celery"].set_current()
        limiter.enabled = app.config["RATELIMIT_ENABLED"]


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "database" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("database")
    from service.db import db
    from service.models import Base

    db.session.remove()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if database.kind == "postgresql":
        assert database.admin_engine is not None
        with database.admin_engine.connect() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        engine = create_engine(database.app_url)
        with engine.begin() as conn:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
        engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


# --- a small district ------------------------------------------------------------------------------


@dataclass
class District:
    cluster_1: Any
    cluster_2: Any
    school_a: Any  # cluster 1
    school_b: Any  # cluster 2
    school_c: Any  # cluster 1
    admin: Any
    official: Any
    inspector: Any  # cluster 1 (schools A and C)
    admin_a: Any
    admin_b: Any
    staff_a: Any
    staff_b: Any
    token_b_id: int
    tokens: dict[str, str]  # username -> raw bearer token

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


PASSWORD = "correct-horse-9"
_HASH_CACHE: dict[str, str] = {}


def _password_hash() -> str:
    if "h" not in _HASH_CACHE:
        from service.accounts.passwords import hash_password

        _HASH_CACHE["h"] = hash_password(PASSWORD)
    return _HASH_CACHE["h"]


@pytest.fixture
def district(app: Any) -> District:
    """Three schools in two clusters, one user per role, staff in A and B, a token per user."""
    from service.accounts.models import Role, User
    from service.accounts.operations import issue_token
    from service.db import db
    from service.org.models import CanteenMode, Cluster, School, SchoolType
    from service.rubrics.defaults import seed_default_rubrics
    from service.staff.models import ContractType, StaffMember, StaffRole
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        s = db.session
        c1, c2 = Cluster(code="C1", name="城东片区"), Cluster(code="C2", name="城西片区")
        s.add_all([c1, c2])
        s.flush()

        def school(code: str, name: str, cluster: Cluster, canteen: CanteenMode) -> School:
            obj = School(
                code=code,
                name=name,
                type=SchoolType.PRIMARY,
                enrollment=600,
                staff_count=10,
                boarding=False,
                canteen_mode=canteen,
                cluster_id=cluster.id,
                principal_name="校长" + code,
            )
            s.add(obj)
            return obj

        a = school("SA", "甲小学", c1, CanteenMode.SELF_RUN)
        b = school("SB", "乙小学", c2, CanteenMode.CONTRACTED)
        c = school("SC", "丙小学", c1, CanteenMode.NONE)
        s.flush()

        def user(username: str, role: Role, school_obj: School | None = None) -> User:
            obj = User(
                username=username,
                display_name=username.upper(),
                role=role,
                password_hash=_password_hash(),
                school_id=school_obj.id if school_obj else None,
            )
            s.add(obj)
            return obj

        admin = user("admin", Role.BUREAU_ADMIN)
        official = user("official", Role.BUREAU_OFFICIAL)
        inspector = user("inspector", Role.INSPECTOR)
        inspector.clusters = [c1]
        admin_a = user("admin_a", Role.SCHOOL_ADMIN, a)
        admin_b = user("admin_b", Role.SCHOOL_ADMIN, b)
        s.flush()
        c1.supervisor_id = inspector.id
        # Bureau-level reference data every area reads; after the truncation, ids start at 1.
        seed_default_rubrics(s, published_by=admin)

        today = TODAY
        staff_a = StaffMember(
            school_id=a.id,
            name="张甲厨",
            role=StaffRole.COOK,
            contract_type=ContractType.CONTRACT,
            hire_date=today - timedelta(days=800),
            health_cert_no="JK-A",
            health_cert_expiry=today + timedelta(days=10),
        )
        staff_b = StaffMember(
            school_id=b.id,
            name="李乙厨",
            role=StaffRole.COOK,
            contract_type=ContractType.CONTRACT,
            hire_date=today - timedelta(days=800),
            health_cert_no="JK-B",
            health_cert_expiry=today - timedelta(days=3),
        )
        s.add_all([staff_a, staff_b])
        s.flush()
        tokens = {}
        token_b_id = 0
        for u in (admin, official, inspector, admin_a, admin_b):
            tok, raw = issue_token(u, "tests")
            tokens[u.username] = raw
            if u is admin_b:
                token_b_id = tok.id
        s.commit()
        district = District(
            c1,
            c2,
            a,
            b,
            c,
            admin,
            official,
            inspector,
            admin_a,
            admin_b,
            staff_a,
            staff_b,
            token_b_id,
            tokens,
        )
        for obj in (c1, c2, a, b, c, admin, official, inspector, admin_a, admin_b, staff_a, staff_b):
            s.refresh(obj)
            s.expunge(obj)
    return district


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def pg(database: Database) -> Database:
    if database.kind != "postgresql":
        pytest.skip("needs PostgreSQL")
    return database


ROOT = Path(__file__).resolve().parent.parent


def evaluate_all_staff(app: Any, school_id: int, period_id: int) -> list[int]:
    """Give every active staff member of the school an evaluation for the period (one assessment
    rating at 90% of each dimension), so that the school's report may be submitted.

    Writes the rows directly, without the month's editability check: tests use it to set up
    locked or past months too. Returns the new evaluations' ids.
    """
    from decimal import Decimal

    from service.db import db
    from service.evaluations import operations as evaluations
    from service.evaluations.models import Evaluation, EvaluationRating, RaterGroup
    from service.periods.models import Period
    from service.reports import operations as reports
    from service.rubrics.models import RubricKind
    from service.rubrics.operations import current_version
    from tenants import TenantScope, use_scope

    ids = []
    with app.app_context(), use_scope(TenantScope.school(school_id)):
        period = db.session.get(Period, period_id)
        report = reports.open_report(period)
        version = current_version(RubricKind.STAFF)
        for member in evaluations.missing_evaluations(report):
            evaluation = Evaluation(
                school_id=school_id,
                staff_id=member.id,
                period_id=period_id,
                report_id=report.id,
                rubric_version_id=version.id,
            )
            scores = {
                s.code: str((s.max_points * Decimal("0.9")).quantize(Decimal("0.01")))
                for s in version.sections
            }
            evaluation.ratings = [
                EvaluationRating(
                    school_id=school_id,
                    rater_group=RaterGroup.ASSESSMENT,
                    rater_name="考核小组",
                    scores=scores,
                )
            ]
            evaluations.recompute(evaluation, version)
            db.session.add(evaluation)
            db.session.flush()
            ids.append(evaluation.id)
        db.session.commit()
        db.session.remove()
    return ids
