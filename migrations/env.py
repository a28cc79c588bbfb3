"""Alembic environment: runs as the table owner, then grants the app role what it needs.

The URL comes from ``houqin db upgrade`` (``MIGRATION_DATABASE_URL``) or, when Alembic is run by hand,
from the environment. Row-level-security policies are created by the revisions themselves with the
helpers in :mod:`tenants.rls`.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text

from service.config import from_env
from service.db import make_engine
from service.models import Base
from tenants import rls

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("url") or from_env()["MIGRATION_DATABASE_URL"]


def _app_role() -> str:
    return config.attributes.get("app_role") or from_env()["APP_DB_ROLE"]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "postgresql":
                role = _app_role()
                exists = connection.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
                ).scalar()
                if exists:
                    for stmt in rls.grant_app_role_sql(role):
                        connection.execute(text(stmt))
                else:
                    log.warning("app role %s does not exist: run `houqin db create-app-role`", role)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
