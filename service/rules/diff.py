"""What a rule-set version changes against another: each setting (by dotted key, ``bands.A``) whose
value differs, old → new. Shown on the version list (each version against the one before) and on the
confirmation before a new version is saved.

Values are compared as the bureau reads them: ``"40"`` and ``"40.0"`` are the same weight, and a list
of veto rules is the same in any order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from service.rules.models import RuleKind, RuleSet
from service.rules.operations import DEFAULTS, history, with_defaults

# The label of each setting, by dotted key (the commendation ones under their commendation's name).
SETTING_LABELS: dict[str, Any] = {
    "area_weights.canteen": _l("Weight of the canteen area"),
    "area_weights.safety": _l("Weight of the safety area"),
    "area_weights.staff": _l("Weight of the staff area"),
    "spot_weight_percent": _l("Spot inspection share of an area (percent)"),
    "credibility_gap": _l("Credibility gap (self above spot, points)"),
    "late_deduction": _l("Late submission deduction (points)"),
    "bands.A": _l("Band A from"),
    "bands.B": _l("Band B from"),
    "bands.C": _l("Band C from"),
    "max_missing_months.term": _l("Months that may be missing in a term"),
    "max_missing_months.year": _l("Months that may be missing in a year"),
    "sensitivity_shift": _l("Sensitivity: weight shift (points)"),
    "near_miss_points": _l("Near miss within (points)"),
    "peer_group_share_percent": _l("Top share of the peer group (percent)"),
    "require_complete_data": _l("Data must be complete"),
    "veto_rules": _l("Vetoes that bar it"),
    "min_canteen_mean": _l("Minimum canteen mean"),
    "spot_grade": _l("Every spot inspection graded at least"),
    "min_spot_inspections": _l("Minimum spot inspections"),
    "min_safety_mean": _l("Minimum safety mean"),
    "no_overdue_hazard_at_end": _l("No overdue hazard at the end"),
    "min_score": _l("Minimum score"),
    "district_share_percent": _l("District quota (percent of evaluated staff)"),
    "staff_per_award": _l("At most one award per this many staff of a school"),
    "min_months_in_post": _l("Minimum months in post"),
}


@dataclass(frozen=True)
class SettingChange:
    key: str
    old: Any
    new: Any


@dataclass
class VersionLine:
    """One stored version with what it changed against the version before it."""

    row: RuleSet
    settings: dict[str, Any]
    changes: list[SettingChange]


def flat(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"bands": {"A": "90"}}`` → ``{"bands.A": "90"}``."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SettingChange]:
    """Settings whose value differs between ``old`` and ``new``, in the order of ``new``'s keys."""
    before, after = flat(old), flat(new)
    keys = [*after, *(k for k in before if k not in after)]
    return [
        SettingChange(k, before.get(k), after.get(k))
        for k in keys
        if _same(before.get(k)) != _same(after.get(k))
    ]


def versions_with_changes(kind: RuleKind) -> list[VersionLine]:
    """Every stored version of ``kind``, newest first, each with its changes against the one before
    (the first against the shipped defaults). Stored settings are read over the defaults, as
    :func:`service.rules.operations.current` reads them."""
    lines = []
    previous: dict[str, Any] = DEFAULTS[kind]
    for row in history(kind):
        settings = with_defaults(kind, row.settings or {})
        lines.append(VersionLine(row, settings, diff(previous, settings)))
        previous = settings
    return list(reversed(lines))


def setting_label(key: str) -> str:
    """The label of a dotted key; a commendation's setting is found by its last part."""
    label = SETTING_LABELS.get(key) or SETTING_LABELS.get(key.rsplit(".", 1)[-1])
    return str(label) if label is not None else key


def _same(value: Any) -> Any:
    """A value as compared: numbers as decimals, lists as sorted tuples, the rest as they are."""
    if isinstance(value, list | tuple):
        return tuple(sorted(str(v) for v in value))
    if isinstance(value, bool) or value is None:
        return value
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        return value
