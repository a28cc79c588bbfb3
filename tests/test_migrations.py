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
