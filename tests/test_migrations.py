"""Migrations: upgrade an empty database, match the models, downgrade cleanly, upgrade again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

from service import migrate
from service.db import make_engine
from service.models import Base
from tests import services
from tests.conftest import OWNER_ROLE, Database


def _check_cycle(url: str) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        tables = set(inspect(conn).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    migrate.downgrade(url, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        if conn.dialect.name == "postgresql":
            assert (
                conn.execute(text("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'")).scalar()
                == 0
            )
    migrate.upgrade(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


def test_sqlite_upgrade_downgrade(tmp_path: Any) -> None:
    _check_cycle(f"sqlite:///{tmp_path / 'm.sqlite'}")


@contextmanager
def scratch_postgres(pg: Database) -> Iterator[str]:
    """A new, empty PostgreSQL database owned by the owner role (as in production); its owner URL."""
    name = f"houqin_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        services.PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
    try:
        yield pg.owner_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_as_owner(pg: Database) -> None:
    with scratch_postgres(pg) as url:
        _check_cycle(url)


# --- 0014: person scores kept unrounded, recomputed from the ratings ----------------------------------

# A rubric version with its own rater weights (assessment 50, self 30; no satisfaction or peer): the
# migration must use the weights the evaluation recorded, not the defaults.
WEIGHTS = {"assessment": 50, "satisfaction": 20, "peer": 20, "self": 30}
DIMENSIONS = (("de", 10), ("neng", 20), ("qin", 15), ("ji", 45), ("lian", 10))
ASSESSMENT = [(8, 16, 12, 34, 7), (8, 15, 12, 34, 8), (7, 15, 11, "33.79", 9)]  # totals 77, 77, 75.79
SELF = (10, 18, 14, 40, 8)  # total 90


def _scores(values: tuple) -> dict[str, str]:
    return {code: str(v) for (code, _max), v in zip(DIMENSIONS, values, strict=True)}


def _insert_0013_rows(url: str) -> dict[str, int]:
    """At revision 0013: one evaluation with ratings, stored as 0013 stored it (rounded to 2 decimals),
    and one without ratings. Plain Core inserts (the ORM's hooks are not the point here)."""
    t = Base.metadata.tables
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('app.scope', 'bureau', true)"))

        def add(table: str, **values: Any) -> int:
            return conn.execute(t[table].insert().values(**values)).inserted_primary_key[0]

        cluster = add("clusters", code="C1", name="城东片区")
        school = add(
            "schools", code="S1", name="甲小学", type="primary", canteen_mode="self_run", cluster_id=cluster
        )
        staff = {
            name: add(
                "staff_members",
                school_id=school,
                name=name,
                role="cleaner",
                contract_type="contract",
                hire_date=date(2020, 1, 1),
            )
            for name in ("吴保洁", "周保洁")
        }
        period = add("periods", year=2026, month=3, deadline=date(2026, 4, 5))
        report = add("monthly_reports", school_id=school, period_id=period, state="accepted")
        rubric = add("rubrics", kind="staff", code="STAFF-T", name="后勤人员考核")
        version = add(
            "rubric_versions",
            rubric_id=rubric,
            version=1,
            status="published",
            settings={"rater_weights": WEIGHTS},
        )
        for position, (code, points) in enumerate(DIMENSIONS):
            add(
                "rubric_sections",
                version_id=version,
                code=code,
                name=code,
                max_points=points,
                position=position,
            )

        def evaluation(member: int, score: str) -> int:
            return add(
                "evaluations",
                school_id=school,
                staff_id=staff[member],
                period_id=period,
                report_id=report,
                rubric_version_id=version,
                score=Decimal(score),
            )

        rated = evaluation("吴保洁", "81.62")  # what 0013 stored: 81.6229166… rounded to 2 decimals
        for n, values in enumerate(ASSESSMENT):
            add(
                "evaluation_ratings",
                school_id=school,
                evaluation_id=rated,
                rater_group="assessment",
                rater_name=f"考核员{n}",
                scores=_scores(values),
            )
        add(
            "evaluation_ratings",
            school_id=school,
            evaluation_id=rated,
            rater_group="self",
            rater_name="吴保洁",
            rater_staff_id=staff["吴保洁"],
            scores=_scores(SELF),
        )
        bare = evaluation("周保洁", "88.00")  # hand-made, no ratings: nothing to recompute from
    engine.dispose()
    return {"rated": rated, "bare": bare}


def _stored(url: str) -> tuple[dict[int, Decimal], int]:
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('app.scope', 'bureau', true)"))
        evaluations, ratings = Base.metadata.tables["evaluations"], Base.metadata.tables["evaluation_ratings"]
        scores = {
            row.id: Decimal(row.score) for row in conn.execute(select(evaluations.c.id, evaluations.c.score))
        }
        count = conn.execute(select(func.count()).select_from(ratings)).scalar_one()
    engine.dispose()
    return scores, count


def _check_0014_recomputes(url: str) -> None:
    migrate.upgrade(url, "0013")
    ids = _insert_0013_rows(url)
    migrate.upgrade(url)
    scores, ratings = _stored(url)
    # Formula 4 with the version's weights: every dimension rated by assessment (50) and self (30), so
    # person = (50 × assessment mean total + 30 × self total) ÷ 80, assessment mean = (77 + 77 + 75.79) ÷ 3
    # = 76.5966…; (50 × 229.79 ÷ 3 + 30 × 90) ÷ 80 = (5 × 229.79 + 9 × 90) ÷ 24 = 1958.95 ÷ 24
    # = 81.62291666… → kept to 10 decimals, half up: 81.6229166667 (with the default weights, 50 and 10,
    # it would be 78.8305…).
    assert scores[ids["rated"]] == Decimal("81.6229166667")
    assert scores[ids["bare"]] == Decimal("88")  # kept
    assert ratings == 4  # SQLite rebuilt the table: the ratings are still there
    migrate.downgrade(url, "0013")
    scores, ratings = _stored(url)
    assert scores[ids["rated"]] == Decimal("81.62")  # 81.6229… rounded half up to 2 decimals again
    assert (scores[ids["bare"]], ratings) == (Decimal("88"), 4)


def test_0014_recomputes_person_scores_unrounded_sqlite(tmp_path: Any) -> None:
    _check_0014_recomputes(f"sqlite:///{tmp_path / 'm.sqlite'}")


@pytest.mark.postgres
def test_0014_recomputes_person_scores_unrounded_postgres(pg: Database) -> None:
    """As the owner, behind FORCE ROW LEVEL SECURITY: the migration reads every school's rows."""
    with scratch_postgres(pg) as url:
        _check_0014_recomputes(url)


# --- 0015: who recorded a veto, backfilled ----------------------------------------------------------

_ROWS_AT_0013 = [
    "INSERT INTO clusters (id, code, name) VALUES (1, 'C01', '城东片区')",
    "INSERT INTO schools (id, code, name, type, enrollment, staff_count, boarding, canteen_mode, cluster_id,"
    " principal_name, contact_name, contact_phone, address, active, created_at) VALUES (1, 'S001', '实验小学',"
    " 'primary', 0, 0, false, 'self_run', 1, '', '', '', '', true, '2026-01-01 08:00:00+00')",
    "INSERT INTO users (id, username, display_name, email, phone, role, password_hash, active, locale,"
    " created_at, school_id) VALUES"
    " (1, 'admin', '局', '', '', 'bureau_admin', 'x', true, 'zh_CN', '2026-01-01 08:00:00+00', NULL),"
    " (2, 's001', '校', '', '', 'school_admin', 'x', true, 'zh_CN', '2026-01-01 08:00:00+00', 1)",
    "INSERT INTO staff_members (id, name, gender, role, contract_type, hire_date, phone, health_cert_no, active,"
    " created_at, school_id) VALUES (1, '厨师', 'M', 'cook', 'contract', '2020-01-01', '', '', true,"
    " '2026-01-01 08:00:00+00', 1)",
    # by the bureau's admin, by the school's admin, by nobody known
    "INSERT INTO staff_vetoes (id, staff_id, kind, occurred_on, ends_on, note, recorded_by_id, created_at,"
    " school_id) VALUES (1, 1, 'kickback', '2026-03-01', '2027-03-01', '', 1, '2026-03-02 08:00:00+00', 1),"
    " (2, 1, 'discipline', '2026-03-01', '2027-03-01', '', 2, '2026-03-02 08:00:00+00', 1),"
    " (3, 1, 'discipline', '2026-03-01', '2027-03-01', '', NULL, '2026-03-02 08:00:00+00', 1)",
    # 1: the school's report, corrected by the bureau later; 2: the school's, never touched by the
    # bureau; 3: created by the bureau; 4: creator unknown
    "INSERT INTO incidents (id, type, occurred_at, reported_at, severity, school_at_fault, description, hidden,"
    " fine_or_heavier, unlicensed, banned_food, meal_not_sampled, falsified_data, crowd_crush,"
    " building_collapse, created_by_id, created_at, school_id) VALUES"
    + ",".join(
        f" ({i}, 'injury', '2026-03-01 01:00:00+00', '2026-03-01 01:30:00+00', 'minor', false, '', false, false,"
        f" false, false, false, false, false, false, {creator}, '2026-03-01 02:00:00+00', 1)"
        for i, creator in ((1, "2"), (2, "2"), (3, "1"), (4, "NULL"))
    ),
    "INSERT INTO audit_entries (id, at, actor_id, actor_name, table_name, row_id, action, changes, school_id)"
    " VALUES (1, '2026-03-05 06:00:00+00', 1, 'admin', 'incidents', 1, 'update', '{}', 1),"
    " (2, '2026-03-06 06:00:00+00', 2, 's001', 'incidents', 2, 'update', '{}', 1)",
    # a veto derived from incident 1 (must survive the downgrade: SQLite must not rebuild incidents)
    "INSERT INTO vetoes (id, rule, source, incident_id, starts_on, ends_on, blocks, reason, created_at,"
    " school_id) VALUES (1, 'liability_casualty', 'incident', 1, '2026-03-01', '2027-03-01', '[]', '',"
    " '2026-03-01 02:00:00+00', 1)",
]


def _check_backfill_0015(url: str) -> None:
    """Rows written before 0015: a personal veto is the bureau's unless a school admin recorded it;
    an incident is confirmed at the bureau's first write the audit trail shows, or at its creation
    when the bureau (or nobody known) created it."""
    migrate.upgrade(url, "0013")
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('app.scope', 'bureau', true)"))
        for stmt in _ROWS_AT_0013:
            conn.execute(text(stmt))
    migrate.upgrade(url, "0015")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('app.scope', 'bureau', true)"))
        vetoes = dict(conn.execute(text("SELECT id, recorded_by_bureau FROM staff_vetoes ORDER BY id")).all())
        assert {i: bool(v) for i, v in vetoes.items()} == {1: True, 2: False, 3: True}
        confirmed = conn.execute(
            text(
                "SELECT i.id, i.bureau_confirmed_at = a.at, i.bureau_confirmed_at = i.created_at"
                " FROM incidents i LEFT JOIN audit_entries a ON a.id = 1 ORDER BY i.id"
            )
        ).all()
        assert [
            (i, bool(audit) if audit is not None else None, created) for i, audit, created in confirmed
        ] == [
            (1, True, False),
            (2, None, None),
            (3, False, True),
            (4, False, True),
        ]
    migrate.downgrade(url, "0014")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('app.scope', 'bureau', true)"))
        counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("incidents", "vetoes")]
        assert counts == [4, 1]  # the downgrade keeps every incident and its veto
    engine.dispose()


def test_0015_backfills_who_recorded_on_sqlite(tmp_path: Any) -> None:
    _check_backfill_0015(f"sqlite:///{tmp_path / 'b.sqlite'}")


@pytest.mark.postgres
def test_0015_backfills_who_recorded_on_postgres(pg: Database) -> None:
    """As the owner, behind FORCE ROW LEVEL SECURITY: the migration must see every school's rows."""
    with scratch_postgres(pg) as url:
        _check_backfill_0015(url)
