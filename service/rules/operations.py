"""Reading and changing the rule sets: the newest version of a kind is in force."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from service.accounts.models import User
from service.db import db
from service.rules.defaults import COMMENDATION_DEFAULTS, SCORING_DEFAULTS
from service.rules.models import RuleKind, RuleSet

DEFAULTS = {RuleKind.SCORING: SCORING_DEFAULTS, RuleKind.COMMENDATIONS: COMMENDATION_DEFAULTS}


def current(kind: RuleKind) -> tuple[int, dict[str, Any]]:
    """``(version, settings)`` in force; version 0 means the shipped defaults (no edit yet).

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


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base
