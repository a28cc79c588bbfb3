"""Why a school scored what it scored in a month: the chain from the composite down to each item.

An explanation is read, never computed afresh: the totals (areas, composite, band) are the stored
:class:`~service.scoring.models.SchoolMonthScore` row the rankings were built from, and the item lines
come from the same pure functions that scored each inspection (``item_deduction``, ``own_max``,
``score_section`` in :mod:`service.inspections.scoring`), so the lines always add up to the section
points the engine used. Where the two could disagree (a stored inspection score edited behind the
application's back) the explanation says so instead of hiding it.

Decimals are returned as plain strings without trailing zeros (``"88.3"``, ``"100"``) so a JSON
round-trip never turns them into binary floats. Vetoes in force at the month's end are listed: they
never change a score (rubrics.md formula 8), they only bar commendations.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.core.errors import DomainError, NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.timeutil import api_timestamp
from service.db import db
from service.hazards.models import Hazard
from service.hazards.operations import overdue_clause
from service.incidents.vetoes import COMMENDATION_LABELS, Commendation, Veto, rule_label, vetoes_in_force
from service.inspections import scoring
from service.inspections.models import (
    INSPECTION_KIND_LABELS,
    INSPECTION_MODE_LABELS,
    Inspection,
    InspectionItemResult,
    InspectionKind,
    InspectionMode,
    ItemOutcome,
)
from service.org.models import School
from service.periods.models import Period
from service.rubrics.models import ITEM_KIND_LABELS, RubricSection, RubricVersion
from service.rules.models import RuleKind, RuleSet
from service.rules.operations import DEFAULTS
from service.scoring.engine import current_basis, month_end
from service.scoring.models import MONTH_STATUS_LABELS, MonthStatus, SchoolMonthScore

ONE_DECIMAL = Decimal("0.1")
AREAS = ("canteen", "safety", "staff")
AREA_LABELS = {
    "canteen": ("食堂", "Canteen"),
    "safety": ("校园安全", "Campus safety"),
    "staff": ("后勤人员", "Logistics staff"),
}


def num(value: Decimal | int | str | None) -> str | None:
    """A decimal as a fixed-point string without trailing zeros; ``None`` stays ``None``."""
    if value is None:
        return None
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def rules_of(version: int) -> dict[str, Any]:
    """The scoring settings of rule-set ``version`` (0 = the shipped defaults), over today's defaults."""
    settings = copy.deepcopy(DEFAULTS[RuleKind.SCORING])
    if version <= 0:
        return settings
    row = db.session.scalars(
        select(RuleSet).where(RuleSet.kind == RuleKind.SCORING, RuleSet.version == version)
    ).first()
    return _merge(settings, row.settings) if row is not None else settings


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def period_by_code(code: str) -> Period:
    """The period ``YYYY-MM``; 404 when no such period was opened."""
    try:
        year, month = (int(part) for part in code.split("-"))
    except ValueError:
        raise NotFound() from None
    period = db.session.scalars(select(Period).where(Period.year == year, Period.month == month)).first()
    if period is None:
        raise NotFound()
    return period


# --- the explanation -----------------------------------------------------------------------------------


def explain(school_id: int, period_id: int) -> dict[str, Any]:
    """The whole chain for one school and month (in the caller's scope: another school is a 404)."""
    school = get_or_404(School, school_id)
    period = get_or_404(Period, period_id)
    row = db.session.scalars(
        select(SchoolMonthScore).where(
            SchoolMonthScore.school_id == school.id, SchoolMonthScore.period_id == period.id
        )
    ).first()
    if row is None:
        raise DomainError(
            {"_request": [_("No scores have been computed for %(period)s yet.", period=period.code)]},
            status=404,
        )
    basis = current_basis()
    settings = rules_of(row.rules_version)
    end = month_end(period)
    inspections = _inspections(school.id, period.id)
    return {
        "school": {"id": school.id, "code": school.code, "name": school.name},
        "school_id": school.id,
        "period": {"id": period.id, "code": period.code, "month_end": end.isoformat()},
        "status": row.status.value,
        "status_label": label(MONTH_STATUS_LABELS, row.status),
        "computed_at": api_timestamp(row.computed_at),
        "basis": {
            "rules_version": row.rules_version,
            "current_rules_version": basis.rules_version,
            "rules": settings,
            "hazard_rule": basis.to_json()["hazard_rule"],
        },
        "composite": _composite(row, settings),
        "areas": {
            "canteen": _inspected_area(row, "canteen", settings, inspections),
            "safety": _safety(row, settings, basis, school.id, end, inspections),
            "staff": {
                "label": label(AREA_LABELS, "staff"),
                "applies": row.staff_area is not None,
                "evaluations": row.staff_evaluated,
                "mean": num(row.staff_area),
                "value": num(row.staff_area),
            },
        },
        "inspections": [_inspection(i) for i in inspections],
        "vetoes": _vetoes(school.id, end),
        "checks": {"score_mismatches": row.score_mismatches},
    }


def _composite(row: SchoolMonthScore, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Formula 5, step by step, from the stored row."""
    weights = {a: Decimal(str(settings["area_weights"][a])) for a in AREAS}
    values = {"canteen": row.canteen_area, "safety": row.safety_area, "staff": row.staff_area}
    applied = [a for a in AREAS if values[a] is not None]
    total = sum((weights[a] for a in applied), Decimal(0))
    areas = []
    for a in AREAS:
        share = (weights[a] * 100 / total) if a in applied and total else None
        areas.append(
            {
                "area": a,
                "label": label(AREA_LABELS, a),
                "weight": num(weights[a]),
                "applies": a in applied,
                "share_percent": num(share.quantize(Decimal("0.01"), ROUND_HALF_UP))
                if share is not None
                else None,
                "value": num(values[a]),
                "contribution": num(
                    (weights[a] * Decimal(values[a]) / total).quantize(Decimal("0.000001"), ROUND_HALF_UP)
                )
                if a in applied and total
                else None,
            }
        )
    out: dict[str, Any] = {
        "areas": areas,
        "bands": {k: num(v) for k, v in settings["bands"].items()},
    }
    if row.status is not MonthStatus.SCORED:
        out.update(
            {
                "missing": True,
                "note": _(
                    "Missing (not imputed): the month's report is not accepted, so it has no composite."
                ),
                "value": None,
                "band": None,
            }
        )
        return out
    weighted = Decimal(row.weighted) if row.weighted is not None else None
    before_rounding = (
        max(weighted - Decimal(row.late_deduction), Decimal(0)) if weighted is not None else None
    )
    out.update(
        {
            "missing": False,
            "weighted": num(weighted),
            "late": row.late,
            "late_deduction": num(row.late_deduction),
            "before_rounding": num(before_rounding),
            "rounding": _("half up to 1 decimal"),
            "value": num(row.composite),
            "band": row.band.value if row.band else None,
        }
    )
    return out


def _mix_rule(self_: Decimal | None, spot: Decimal | None, spot_percent: str) -> dict[str, Any]:
    """Formula 3: which of spot and self made the area, and with what weights."""
    if spot is not None and self_ is not None:
        sp = Decimal(str(spot_percent))
        return {
            "rule": "spot_and_self",
            "text": _(
                "%(spot)s%% spot + %(own)s%% self",
                spot=num(sp),
                own=num(100 - sp),
            ),
            "spot_percent": num(sp),
            "self_percent": num(100 - sp),
        }
    if spot is not None:
        return {"rule": "spot_only", "text": _("spot only (no accepted self-inspection)")}
    if self_ is not None:
        return {"rule": "self_only", "text": _("self only (no spot inspection this month)")}
    return {"rule": "none", "text": _("no inspection this month")}


def _inspected_area(
    row: SchoolMonthScore, area: str, settings: Mapping[str, Any], inspections: list[Inspection]
) -> dict[str, Any]:
    self_, spot = getattr(row, f"{area}_self"), getattr(row, f"{area}_spot")
    kind = InspectionKind(area)
    gap = Decimal(self_) - Decimal(spot) if self_ is not None and spot is not None else None
    counted = [i for i in inspections if i.kind is kind and not i.excluded]
    out = {
        "label": label(AREA_LABELS, area),
        "applies": row.canteen_applies if area == "canteen" else True,
        "self_mean": num(self_),
        "spot_mean": num(spot),
        "self_inspections": [i.id for i in counted if i.mode is InspectionMode.SELF],
        "spot_inspections": [i.id for i in counted if i.mode is InspectionMode.SPOT],
        "mix": _mix_rule(self_, spot, settings["spot_weight_percent"]),
        "credibility": {
            "flag": bool(getattr(row, f"{area}_flag")),
            "gap": num(gap),
            "threshold": num(settings["credibility_gap"]),
        },
        "value": num(getattr(row, f"{area}_area")),
    }
    if area == "canteen" and not row.canteen_applies:
        out["note"] = _("The school has no canteen: the area does not apply and its weight is shared out.")
    return out


def _safety(
    row: SchoolMonthScore,
    settings: Mapping[str, Any],
    basis: Any,
    school_id: int,
    end: Any,
    inspections: list[Inspection],
) -> dict[str, Any]:
    """Formula 3 then formula 2: the overdue hazards at the month's end come off the safety area."""
    out = _inspected_area(row, "safety", settings, inspections)
    hazards = db.session.scalars(
        select(Hazard).where(Hazard.school_id == school_id, overdue_clause(end)).order_by(Hazard.deadline)
    ).all()
    out.update(
        {
            "before_hazards": num(row.safety_before_hazards),
            "overdue_hazards": [
                {
                    "id": h.id,
                    "title": h.title,
                    "deadline": h.deadline.isoformat(),
                    "found_on": h.found_on.isoformat(),
                }
                for h in hazards
            ],
            "overdue_count": row.overdue_hazards,
            "hazard_rule": {"per_overdue": num(basis.hazard_per_overdue), "cap": num(basis.hazard_cap)},
            "hazard_deduction": num(row.hazard_deduction),
        }
    )
    return out


# --- inspections ---------------------------------------------------------------------------------------


def _inspections(school_id: int, period_id: int) -> list[Inspection]:
    return list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.school_id == school_id, Inspection.period_id == period_id)
            .order_by(Inspection.kind, Inspection.mode, Inspection.inspected_on, Inspection.id)
        )
    )


def _inspection(inspection: Inspection) -> dict[str, Any]:
    """One inspection: its sections (points/possible) with every deducted and not-applicable item."""
    # Sections and their items in two queries, not one per section (a report card explains a few
    # inspections per month; each section's items were a query of their own).
    version = db.session.get(
        RubricVersion,
        inspection.rubric_version_id,
        options=[selectinload(RubricVersion.sections).selectinload(RubricSection.items)],
    )
    results = db.session.scalars(
        select(InspectionItemResult).where(
            InspectionItemResult.school_id == inspection.school_id,
            InspectionItemResult.inspection_id == inspection.id,
        )
    ).all()
    by_item = {r.item_id: r for r in results}
    entries = {r.item_id: scoring.Entry(r.result, r.occurrences) for r in results}
    sections = []
    recomputed: Decimal | None = None
    if version is not None:
        for section in version.sections:
            scored = scoring.score_section(section, entries)
            deducted, not_applicable = [], []
            for item in section.items:
                result = by_item.get(item.id)
                if result is None:
                    continue
                if result.result is ItemOutcome.FAIL:
                    taken = scoring.item_deduction(item, entries[item.id])
                    deducted.append(
                        {
                            "item_id": item.id,
                            "code": item.code,
                            "text": item.text,
                            "text_en": item.text_en,
                            "kind": item.kind.value,
                            "kind_label": label(ITEM_KIND_LABELS, item.kind),
                            "result": result.result.value,
                            "occurrences": result.occurrences,
                            "deduction": num(item.deduction),
                            "cap": num(item.cap),
                            "points_off": num(taken),
                            "note": result.note,
                        }
                    )
                elif result.result is ItemOutcome.NA:
                    not_applicable.append(
                        {
                            "item_id": item.id,
                            "code": item.code,
                            "text": item.text,
                            "text_en": item.text_en,
                            "own_max_removed": num(scoring.own_max(item)),
                        }
                    )
            total_off = sum((Decimal(d["points_off"]) for d in deducted), Decimal(0))
            sections.append(
                {
                    "code": section.code,
                    "name": section.name,
                    "name_en": section.name_en,
                    "max": num(section.max_points),
                    "possible": num(scored.possible),
                    "points": num(scored.points),
                    "deducted": num(total_off),
                    "floored": total_off > scored.possible,
                    "items_deducted": deducted,
                    "items_not_applicable": not_applicable,
                }
            )
        try:
            recomputed = scoring.score_inspection(version.sections, entries).score
        except scoring.NothingApplicable:
            recomputed = None
    return {
        "id": inspection.id,
        "kind": inspection.kind.value,
        "kind_label": label(INSPECTION_KIND_LABELS, inspection.kind),
        "mode": inspection.mode.value,
        "mode_label": label(INSPECTION_MODE_LABELS, inspection.mode),
        "inspected_on": inspection.inspected_on.isoformat(),
        "inspector": inspection.inspector_name,
        "score": num(inspection.score),
        "recomputed_score": num(recomputed),
        "score_matches": recomputed is not None and Decimal(inspection.score) == recomputed,
        "key_failed": inspection.key_failed,
        "veto_failed": inspection.veto_failed,
        "grade": inspection.grade.value if inspection.grade else None,
        "rubric_version_id": inspection.rubric_version_id,
        "rubric_version": version.version if version is not None else None,
        "excluded": inspection.excluded,
        "excluded_reason": inspection.excluded_reason,
        "sections": sections,
    }


# --- vetoes --------------------------------------------------------------------------------------------


def _vetoes(school_id: int, end: Any) -> list[dict[str, Any]]:
    """Vetoes in force on the month's last day - listed, never counted in a score."""
    rows = db.session.scalars(
        vetoes_in_force(end).where(Veto.school_id == school_id).order_by(Veto.starts_on, Veto.id)
    )
    out = []
    for veto in rows:
        zh, en = rule_label(veto.rule)
        out.append(
            {
                "id": veto.id,
                "rule": veto.rule,
                "rule_label": label({veto.rule: (zh, en)}, veto.rule),
                "source": veto.source.value,
                "incident_id": veto.incident_id,
                "inspection_id": veto.inspection_id,
                "item_code": veto.item_code,
                "starts_on": veto.starts_on.isoformat(),
                "ends_on": veto.ends_on.isoformat(),
                "blocks": list(veto.blocks or []),
                "blocks_labels": [
                    label(COMMENDATION_LABELS, Commendation(b))
                    for b in veto.blocks or []
                    if b in _COMMENDATIONS
                ],
                "reason": veto.reason,
            }
        )
    return out


_COMMENDATIONS = {c.value for c in Commendation}
