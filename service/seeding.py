"""The reference data every district starts with: the shipped rubrics and rule sets, as version 1.

``houqin db upgrade`` calls :func:`seed_database` after the migrations, so a new database can take a
month's data and rank it with no further step (the docker-compose ``migrate`` job included). It is
idempotent: a rubric kind or rule kind that exists keeps its versions, the bureau's edits included,
so every later upgrade adds nothing - except the defaults of a kind a newer release introduces.

Why not a data migration: a revision would freeze today's defaults into migration code that must not
change, and the test suite, which migrates once and truncates between tests, would see the rows only
until its first truncation. Why through ``MIGRATION_DATABASE_URL``: it is the database the upgrade
just migrated, whatever ``DATABASE_URL`` says in the migration job's environment. Rubrics and rule sets
are bureau-level (no ``school_id``, no row-level security), but their audit entries sit behind the
tenant wall with no school, so the writes run in the bureau scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service import models as _models  # noqa: F401 - tenant and audit hooks installed on HouqinSession
from service.db import HouqinSession, make_engine
from service.rubrics.defaults import seed_default_rubrics
from service.rules.operations import seed_default_rule_sets
from tenants import TenantScope, use_scope


@dataclass(frozen=True)
class Seeded:
    """What one run stored: the rubric codes and rule kinds it created (empty when all existed)."""

    rubrics: tuple[str, ...]
    rule_sets: tuple[str, ...]

    @property
    def nothing(self) -> bool:
        return not self.rubrics and not self.rule_sets


def seed_defaults(session: Session) -> Seeded:
    """Store the missing shipped rubrics (published) and rule sets as version 1; flush, no commit.

    Published by the system: ``published_by_id``/``created_by_id`` stay empty and the audit trail
    names the actor "system".
    """
    with use_scope(TenantScope.bureau()):
        rubrics = seed_default_rubrics(session)
        rule_sets = seed_default_rule_sets(session)
    return Seeded(tuple(r.code for r in rubrics), tuple(r.kind.value for r in rule_sets))


def seed_database(url: str) -> Seeded:
    """:func:`seed_defaults` on the database at ``url``, in one committed transaction."""
    engine = make_engine(url)
    try:
        with HouqinSession(bind=engine) as session, use_scope(TenantScope.bureau()):
            seeded = seed_defaults(session)
            session.commit()
    finally:
        engine.dispose()
    return seeded
