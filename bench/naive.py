"""The naive baseline: the month's scores of one school at a time, through the ORM, in Python.

This is how the scores would be computed without the engine: for each school, load its report, its
inspections and (by plain relationship loading) each inspection's item results, score every
inspection with :func:`score_inspection`, then apply formulas 3, 2, 4 (staff area) and 5 of
``rubrics.md`` in Python. It only computes (no writes), which flatters it next to the engine's full
recompute, which also stores its rows.

It doubles as an independent check of the engine: :mod:`bench.run` compares its results for the
sampled schools with the engine's stored ``school_month_scores``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.evaluations.models import Evaluation
from service.hazards.models import Hazard
from service.inspections.models import Inspection, InspectionKind, InspectionMode
from service.inspections.scoring import Entry, score_inspection
from service.org.models import School
from service.periods.models import Period
from service.reports.models import MonthlyReport, ReportState
from service.rubrics.models import Rubric, RubricKind, RubricVersion, VersionStatus

ZERO = Decimal(0)
HUNDRED = Decimal(100)
AREA_PLACES = Decimal("0.000001")  # school_month_scores keeps areas to 6 places
ONE_DECIMAL = Decimal("0.1")

# rubrics.md defaults (service.rules.defaults SCORING_DEFAULTS); read from the rules in force when present.
DEFAULT_SETTINGS: dict[str, Any] = {
    "area_weights": {"canteen": "40", "safety": "40", "staff": "20"},
    "spot_weight_percent": "70",
    "late_deduction": "2",
}


@dataclass(frozen=True)
class NaiveScore:
    """One school-month as the naive loop sees it; areas unrounded, ``None`` where nothing applies."""

    school_id: int
    scored: bool  # the month's report is accepted
    canteen_area: Decimal | None = None
    safety_area: Decimal | None = None
    staff_area: Decimal | None = None
    composite: Decimal | None = None
    inspections: int = 0


def scoring_settings() -> Mapping[str, Any]:
    """The scoring rules in force (the engine's), or the rubrics.md defaults if there are none."""
    try:
        from service.rules.models import RuleKind
        from service.rules.operations import current
    except ImportError:  # pragma: no cover - the rules area not installed
        return DEFAULT_SETTINGS
    return current(RuleKind.SCORING)[1]


def _mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, ZERO) / len(values) if values else None


def area(self_scores: list[Decimal], spot_scores: list[Decimal], spot_percent: Decimal) -> Decimal | None:
    """Formula 3: with a spot inspection, spot% × spot + (100 − spot%) × self (self missing → spot)."""
    self_mean, spot_mean = _mean(self_scores), _mean(spot_scores)
    if spot_mean is None:
        return self_mean
    if self_mean is None:
        return spot_mean
    return (spot_percent * spot_mean + (HUNDRED - spot_percent) * self_mean) / HUNDRED


def hazard_rule(session: Session) -> tuple[Decimal, Decimal]:
    """Per overdue hazard and cap: the computed item of the published safety rubric (G1: 2, cap 5)."""
    version = session.scalars(
        select(RubricVersion)
        .join(Rubric)
        .where(Rubric.kind == RubricKind.SAFETY, RubricVersion.status == VersionStatus.PUBLISHED)
    ).one()
    for item in version.all_items():
        if item.computed:
            return Decimal(item.deduction), Decimal(item.cap if item.cap is not None else item.deduction)
    return Decimal(2), Decimal(5)


def school_month(
    session: Session,
    school_id: int,
    period: Period,
    settings: Mapping[str, Any],
    hazard: tuple[Decimal, Decimal],
) -> NaiveScore:
    school = session.get(School, school_id)
    assert school is not None
    report = session.scalars(
        select(MonthlyReport).where(
            MonthlyReport.school_id == school_id, MonthlyReport.period_id == period.id
        )
    ).one_or_none()
    if report is None or report.state is not ReportState.ACCEPTED:
        return NaiveScore(school_id, scored=False)

    inspections = session.scalars(
        select(Inspection).where(Inspection.school_id == school_id, Inspection.period_id == period.id)
    ).all()
    scores: dict[tuple[InspectionKind, InspectionMode], list[Decimal]] = {}
    counted = 0
    for inspection in inspections:
        if getattr(inspection, "excluded", False):
            continue
        if inspection.mode is InspectionMode.SELF and inspection.report_id != report.id:
            continue
        entries = {r.item_id: Entry(r.result, r.occurrences) for r in inspection.results}
        scored = score_inspection(inspection.rubric_version.sections, entries)
        scores.setdefault((inspection.kind, inspection.mode), []).append(scored.score)
        counted += 1

    spot_percent = Decimal(str(settings["spot_weight_percent"]))
    canteen = None
    if school.has_canteen:
        canteen = area(
            scores.get((InspectionKind.CANTEEN, InspectionMode.SELF), []),
            scores.get((InspectionKind.CANTEEN, InspectionMode.SPOT), []),
            spot_percent,
        )
    safety = area(
        scores.get((InspectionKind.SAFETY, InspectionMode.SELF), []),
        scores.get((InspectionKind.SAFETY, InspectionMode.SPOT), []),
        spot_percent,
    )
    # Formula 2: every hazard past its deadline and not closed at the month's end, once, after formula 3.
    month_end = date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])
    hazards = session.scalars(select(Hazard).where(Hazard.school_id == school_id)).all()
    overdue = sum(1 for h in hazards if h.found_on <= month_end and h.overdue(month_end))
    if safety is not None:
        per_hazard, cap = hazard
        safety = max(safety - min(per_hazard * overdue, cap), ZERO)

    evaluations = session.scalars(
        select(Evaluation).where(Evaluation.school_id == school_id, Evaluation.period_id == period.id)
    ).all()
    staff = _mean([e.score for e in evaluations])

    weights = {k: Decimal(str(v)) for k, v in settings["area_weights"].items()}
    applying = [
        (weights[k], v)
        for k, v in (("canteen", canteen), ("safety", safety), ("staff", staff))
        if v is not None
    ]
    composite = None
    if applying:
        weighted = sum((w * v for w, v in applying), ZERO) / sum((w for w, _ in applying), ZERO)
        if report.late:
            weighted -= Decimal(str(settings["late_deduction"]))
        composite = max(weighted, ZERO).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    return NaiveScore(school_id, True, canteen, safety, staff, composite, counted)


def naive_scores(session: Session, school_ids: Iterable[int], period_id: int) -> dict[int, NaiveScore]:
    """The naive loop over ``school_ids`` (one school at a time) for one period."""
    period = session.get(Period, period_id)
    assert period is not None
    settings = scoring_settings()
    hazard = hazard_rule(session)
    return {sid: school_month(session, sid, period, settings, hazard) for sid in school_ids}


def same_area(naive: Decimal | None, stored: Decimal | None) -> bool:
    """Equal at the 6 places the engine keeps (half up), both absent counting as equal."""
    if naive is None or stored is None:
        return naive is None and stored is None
    return naive.quantize(AREA_PLACES, rounding=ROUND_HALF_UP) == Decimal(stored).quantize(AREA_PLACES)
