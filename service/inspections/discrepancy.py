"""How a spot inspection (督查) compares with the school's own self-inspections (自查) of the month.

Why: self-inspections count only as far as the bureau's spot inspections confirm them (rubrics.md,
"Scores and rankings"). After recording a spot inspection the inspector sees, on the spot, what the
ranking will later weigh: the school's self-inspection mean of the same kind and month against this
spot score, the gap, whether the gap raises the credibility flag (self − spot above the scoring rules'
``credibility_gap``, read as the score engine reads it), and the items the school passed itself but
the inspector failed. Reading only; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from service.db import db
from service.inspections.models import Inspection, InspectionItemResult, InspectionMode, ItemOutcome
from service.inspections.operations import list_inspections, load_results
from service.rules.models import RuleKind
from service.rules.operations import current as current_rules


@dataclass(frozen=True)
class MissedItem:
    """An item the inspector failed that every self-inspection of the month recorded as passed."""

    spot: InspectionItemResult
    self_passed: int  # how many of the month's self-inspections passed it


@dataclass
class Discrepancy:
    spot: Inspection
    self_inspections: list[Inspection]
    threshold: Decimal
    self_mean: Decimal | None = None
    gap: Decimal | None = None  # self mean − spot score; positive = the school rated itself higher
    flagged: bool = False
    missed: list[MissedItem] = field(default_factory=list)


def for_spot(spot: Inspection) -> Discrepancy:
    """The comparison shown with a spot inspection; ``self_mean`` is None without self-inspections.

    The mean and the flag are exact (the engine compares unrounded means); pages round for display.
    Items are matched by section and item code, so a self-inspection scored with another rubric
    version still lines up with the spot inspection's items.
    """
    if spot.mode is not InspectionMode.SPOT:
        raise ValueError("only a spot inspection has a discrepancy with the self-inspections")
    _version, settings = current_rules(RuleKind.SCORING)
    threshold = Decimal(str(settings["credibility_gap"]))
    selfs = [
        i
        for i in db.session.scalars(
            list_inspections(
                period_id=spot.period_id, kind=spot.kind, mode=InspectionMode.SELF, school_id=spot.school_id
            )
        )
        if not i.excluded
    ]
    out = Discrepancy(spot=spot, self_inspections=selfs, threshold=threshold)
    if not selfs:
        return out
    out.self_mean = sum((Decimal(i.score) for i in selfs), Decimal(0)) / len(selfs)
    out.gap = out.self_mean - Decimal(spot.score)
    out.flagged = out.gap > threshold
    out.missed = _missed_items(spot, selfs)
    return out


def _key(result: InspectionItemResult) -> tuple[str, str]:
    return (result.item.section.code, result.item.code)


def _missed_items(spot: Inspection, selfs: list[Inspection]) -> list[MissedItem]:
    outcomes: dict[tuple[str, str], list[ItemOutcome]] = {}
    for inspection in selfs:
        for result in load_results(inspection):
            outcomes.setdefault(_key(result), []).append(result.result)
    missed = []
    for result in load_results(spot):
        if result.result is not ItemOutcome.FAIL:
            continue
        found = outcomes.get(_key(result), [])
        if found and all(o is ItemOutcome.PASS for o in found):
            missed.append(MissedItem(result, len(found)))
    return missed
