"""Reading and changing the rule sets: the newest version of a kind is in force."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import User
from service.db import db
from service.rules.defaults import COMMENDATION_DEFAULTS, SCORING_DEFAULTS
from service.rules.models import RuleKind, RuleSet

DEFAULTS = {RuleKind.SCORING: SCORING_DEFAULTS, RuleKind.COMMENDATIONS: COMMENDATION_DEFAULTS}


def current(kind: RuleKind) -> tuple[int, dict[str, Any]]:
    """``(version, settings)`` in force; version 0 means no rule set is stored: the shipped defaults.

    ``houqin db upgrade`` stores the defaults as version 1 (:func:`seed_default_rule_sets`), so a
    district set up that way never runs on version 0; databases built otherwise (tests, demo) may.
    Stored settings are merged over the defaults, so a setting added in a later release has a value
    for rule sets written before it.
    """
    row = db.session.scalars(
        select(RuleSet).where(RuleSet.kind == kind).order_by(RuleSet.version.desc()).limit(1)
    ).first()
    settings = copy.deepcopy(DEFAULTS[kind])
    if row is None:
        return 0, settings
    return row.version, _merge(settings, row.settings)


def with_defaults(kind: RuleKind, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Stored ``settings`` read over the shipped defaults, as :func:`current` reads the newest."""
    return _merge(copy.deepcopy(DEFAULTS[kind]), settings)


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied key by key (nested settings merged, not replaced)."""
    return _merge(copy.deepcopy(dict(base)), changes)


def history(kind: RuleKind) -> list[RuleSet]:
    return list(db.session.scalars(select(RuleSet).where(RuleSet.kind == kind).order_by(RuleSet.version)))


def add_version(kind: RuleKind, settings: Mapping[str, Any], *, note: str, user: User | None) -> RuleSet:
    """Store validated ``settings`` as the next version of ``kind`` (never edits an old version)."""
    latest = db.session.scalar(select(func.max(RuleSet.version)).where(RuleSet.kind == kind)) or 0
    row = RuleSet(
        kind=kind,
        version=latest + 1,
        settings=_merge(copy.deepcopy(DEFAULTS[kind]), dict(settings)),
        note=note,
        created_by_id=user.id if user else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


SHIPPED_NOTE = "出厂默认规则 / the shipped defaults"


def seed_default_rule_sets(session: Session) -> list[RuleSet]:
    """Store the shipped settings as version 1 of each rule kind that has no version yet.

    Why store what :func:`current` would fall back to anyway: a ranking or a commendation round names
    the rule version it used, and version 1 keeps the settings it meant, where version 0 means
    "whatever the defaults of the running release are". A kind with any version (the bureau's own
    edits) is left alone, so running this again changes nothing. Written by the system
    (``created_by_id`` None). Adds and flushes, never commits.
    """
    existing = set(session.scalars(select(RuleSet.kind).distinct()))
    rows = [
        RuleSet(kind=kind, version=1, settings=copy.deepcopy(DEFAULTS[kind]), note=SHIPPED_NOTE)
        for kind in RuleKind
        if kind not in existing
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base
