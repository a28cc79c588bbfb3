"""Migrations: upgrade an empty database, match the models, downgrade cleanly, upgrade again."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_as_owner(pg: Database) -> None:
    name = f"houqin_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        services.PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
    try:
        url = pg.owner_url.rsplit("/", 1)[0] + f"/{name}"
        _check_cycle(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


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
    engine.dispose()


def test_0015_backfills_who_recorded_on_sqlite(tmp_path: Any) -> None:
    _check_backfill_0015(f"sqlite:///{tmp_path / 'b.sqlite'}")


@pytest.mark.postgres
def test_0015_backfills_who_recorded_on_postgres(pg: Database) -> None:
    """As the owner, behind FORCE ROW LEVEL SECURITY: the migration must see every school's rows."""
    name = f"houqin_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        services.PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
    try:
        _check_backfill_0015(pg.owner_url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
