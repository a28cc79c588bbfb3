"""Scoring one inspection (rubrics.md formula 1) and grading a canteen inspection - pure functions.

Nothing here touches the database: the caller passes the pinned rubric version (sections and items
loaded) and the results by item id, and stores what comes back on the inspection row. All arithmetic
is on exact decimals; only the inspection score is rounded (1 decimal, half up).

Formula 1, as implemented:

* **Item deduction** = ``deduction × occurrences`` for a failed item, capped by ``item.cap`` when the
  rubric sets one. A failed item entered with 0 occurrences counts as 1 occurrence (a failure always
  costs something). Passed, not-applicable and unentered items deduct nothing; ``computed`` items
  (filled in by month-end jobs, e.g. overdue hazards) are never entered, so an inspection scores them
  as deducting nothing.
* **Not applicable**: "items marked not applicable remove their own max from the section's possible
  points". An item's *own max* is the most it can ever deduct: its ``cap`` if set, else its
  ``deduction``, else 0. So a section's possible points = section max − Σ own max of its na items,
  never below 0.
* **Section points** = possible − Σ item deductions, floored at 0 (deductions never take a section
  below zero).
* **Inspection score** = 100 × Σ points ÷ Σ possible, ROUND_HALF_UP to 1 decimal.
* ``key_failed`` / ``veto_failed`` count the failed items of kind key (※) / veto.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.inspections.models import Grade, ItemOutcome
from service.rubrics.models import ItemKind, RubricItem, RubricSection

ZERO = Decimal(0)
HUNDRED = Decimal(100)
ONE_DECIMAL = Decimal("0.1")
CENTS = Decimal("0.01")  # rubric points have 2 places

# rubrics.md defaults; a rubric version's settings override them (the bureau may edit the bands).
DEFAULT_GRADE_BANDS = {"A": 90, "B": 75, "C": 60}
DEFAULT_A_MAX_KEY_FAILED = 0
DEFAULT_A_MIN_SECTION_PERCENT = 70
DEFAULT_UNGRADED_MIN_KEY_FAILED = 2


class NothingApplicable(ValueError):
    """Every item that carries points was marked not applicable: there is nothing to score against."""


@dataclass(frozen=True)
class Entry:
    """One entered result: the outcome and, for a failure, how many times it was found."""

    result: ItemOutcome
    occurrences: int = 0


@dataclass(frozen=True)
class SectionScore:
    code: str
    points: Decimal
    possible: Decimal


@dataclass(frozen=True)
class InspectionScore:
    score: Decimal
    key_failed: int
    veto_failed: int
    sections: list[SectionScore] = field(default_factory=list)

    def section_scores_json(self) -> dict[str, list[str]]:
        """``{code: [points, possible]}`` as decimal strings with 2 places (JSON has no exact decimals)."""
        return {
            s.code: [str(s.points.quantize(CENTS)), str(s.possible.quantize(CENTS))] for s in self.sections
        }


def own_max(item: RubricItem) -> Decimal:
    """The most an item can deduct, which is what marking it not applicable removes from its section."""
    if item.cap is not None:
        return Decimal(item.cap)
    return Decimal(item.deduction or 0)


def item_deduction(item: RubricItem, entry: Entry | None) -> Decimal:
    """What one item takes off its section: deduction × occurrences (at least 1), capped by ``cap``."""
    if entry is None or entry.result is not ItemOutcome.FAIL:
        return ZERO
    occurrences = max(entry.occurrences, 1)
    amount = Decimal(item.deduction or 0) * occurrences
    if item.cap is not None:
        amount = min(amount, Decimal(item.cap))
    return amount


def score_section(section: RubricSection, entries: Mapping[int, Entry]) -> SectionScore:
    possible = Decimal(section.max_points)
    deductions = ZERO
    for item in section.items:
        entry = entries.get(item.id)
        if entry is not None and entry.result is ItemOutcome.NA:
            possible -= own_max(item)
        deductions += item_deduction(item, entry)
    possible = max(possible, ZERO)
    return SectionScore(section.code, max(possible - deductions, ZERO), possible)


def score_inspection(sections: Iterable[RubricSection], entries: Mapping[int, Entry]) -> InspectionScore:
    """Formula 1 over the sections of the pinned rubric version; ``entries`` maps item id → result."""
    sections = list(sections)
    scored = [score_section(section, entries) for section in sections]
    total_points = sum((s.points for s in scored), ZERO)
    total_possible = sum((s.possible for s in scored), ZERO)
    if total_possible <= 0:
        raise NothingApplicable()
    score = (HUNDRED * total_points / total_possible).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    key_failed = veto_failed = 0
    for section in sections:
        for item in section.items:
            entry = entries.get(item.id)
            if entry is None or entry.result is not ItemOutcome.FAIL:
                continue
            if item.kind is ItemKind.KEY:
                key_failed += 1
            elif item.kind is ItemKind.VETO:
                veto_failed += 1
    return InspectionScore(score, key_failed, veto_failed, scored)


def canteen_grade(result: InspectionScore, settings: Mapping[str, Any] | None = None) -> Grade:
    """The grade of one canteen inspection (national 量化分级 bands plus the UK "worst area" rule).

    Judged on the rounded score, the one people see. With the default settings:

    * 未定级 (``ungraded``) when the score is below 60, or 2 or more key items (※) failed;
    * A when the score is at least 90, no key item failed and every section kept at least 70% of its
      possible points;
    * a score of 90 or more that misses one of those two conditions is **capped at B** (it is not
      pushed further down: one failed key item or one weak section costs the A, nothing more);
    * otherwise B from 75, C from 60.

    The bands and thresholds come from the rubric version's settings (``grade_bands``,
    ``grade_a_max_key_failed``, ``grade_a_min_section_percent``, ``ungraded_min_key_failed``), so a
    grade is always computed with the rules of the version the inspection used.
    """
    settings = settings or {}
    bands = {**DEFAULT_GRADE_BANDS, **(settings.get("grade_bands") or {})}
    a_min, b_min, c_min = (Decimal(str(bands[k])) for k in ("A", "B", "C"))
    a_max_key = int(settings.get("grade_a_max_key_failed", DEFAULT_A_MAX_KEY_FAILED))
    min_percent = Decimal(str(settings.get("grade_a_min_section_percent", DEFAULT_A_MIN_SECTION_PERCENT)))
    ungraded_key = int(settings.get("ungraded_min_key_failed", DEFAULT_UNGRADED_MIN_KEY_FAILED))

    score = result.score
    if score < c_min or result.key_failed >= ungraded_key:
        return Grade.UNGRADED
    weak_section = any(
        s.possible > 0 and s.points * HUNDRED < s.possible * min_percent for s in result.sections
    )
    if score >= a_min and result.key_failed <= a_max_key and not weak_section:
        return Grade.A
    if score >= b_min:
        return Grade.B
    return Grade.C
