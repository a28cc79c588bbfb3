"""Scores of staff evaluations - formula 4 of ``rubrics.md``.

For one person-month and each dimension (德 de, 能 neng, 勤 qin, 绩 ji, 廉 lian)::

    dimension score = Σ_groups weight(group) × mean(group's scores for the dimension)
                      ÷ Σ weights of the groups that scored the dimension
    person score    = Σ dimension scores, rounded half up to 2 decimals

The groups are the rater groups of the rubric version's ``settings["rater_weights"]`` (defaults:
assessment 50, satisfaction 20, peer 20, self 10); a group that did not rate a dimension is left
out and its weight is shared out over the groups present.

Rounding: the only rounding is of the person score, once, half up to 2 decimals (``rubrics.md``:
"round only where stated"). Intermediate values are exact rationals (:class:`fractions.Fraction`):
a mean of three raters is not a finite decimal, and rounding it early could move a person score
that sits exactly on a ``.xx5`` boundary. Dimension scores are *shown* rounded half up to 2 decimals
(``Evaluation.dimension_scores``); because the person score sums the exact values, the shown
dimensions may add up to 0.01 more or less than the person score.

**Staff area** of a school-month = the mean of its person scores, not rounded here (the composite
rounds); :func:`staff_area` in Python, and :func:`service.evaluations.operations.staff_area_scores`
as one SQL query for the ranking engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

# rubrics.md, formula 4; the published version's settings override these.
DEFAULT_RATER_WEIGHTS: dict[str, int] = {"assessment": 50, "satisfaction": 20, "peer": 20, "self": 10}

TWO_PLACES = 2


@dataclass(frozen=True)
class Result:
    score: Decimal  # person score, 2 decimals, half up
    dimensions: dict[str, Decimal]  # dimension code → score shown with 2 decimals, half up


def round_half_up(value: Fraction, places: int = TWO_PLACES) -> Decimal:
    """``value`` rounded half up (away from zero on a tie) to ``places`` decimals, exactly."""
    scale = 10**places
    scaled = abs(value) * scale
    whole = int(scaled)  # floor for non-negative values
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def _exact(value: Decimal | str | int | float) -> Fraction:
    return Fraction(Decimal(str(value)))


def weights_of(settings: Mapping[str, Any] | None) -> dict[str, Fraction]:
    """The rater-group weights of a rubric version (its ``settings["rater_weights"]``)."""
    raw = (settings or {}).get("rater_weights") or DEFAULT_RATER_WEIGHTS
    return {str(group): _exact(weight) for group, weight in raw.items()}


def exact_dimension_scores(
    ratings: Iterable[tuple[str, Mapping[str, Decimal | str]]],
    weights: Mapping[str, Fraction | Decimal | int],
    dimensions: Iterable[str],
) -> dict[str, Fraction]:
    """Formula 4 per dimension, exact. ``ratings`` are ``(rater_group, {dimension_code: score})``.

    Raises :class:`ValueError` when no weighted group scored a dimension (the caller validates
    ratings first: the assessment group must score every dimension).
    """
    per_group: dict[str, dict[str, list[Fraction]]] = defaultdict(lambda: defaultdict(list))
    for group, scores in ratings:
        for code, value in scores.items():
            per_group[code][group].append(_exact(value))
    out: dict[str, Fraction] = {}
    for code in dimensions:
        weighted = Fraction(0)
        total_weight = Fraction(0)
        for group, values in per_group[code].items():
            weight = Fraction(weights.get(group, 0))
            if not values or weight == 0:
                continue
            weighted += weight * sum(values, Fraction(0)) / len(values)
            total_weight += weight
        if total_weight == 0:
            raise ValueError(f"no weighted rater group scored dimension {code!r}")
        out[code] = weighted / total_weight
    return out


def evaluate(
    ratings: Iterable[tuple[str, Mapping[str, Decimal | str]]],
    weights: Mapping[str, Fraction | Decimal | int],
    dimensions: Iterable[str],
) -> Result:
    """Person score and the shown dimension scores of one evaluation."""
    exact = exact_dimension_scores(ratings, weights, dimensions)
    return Result(
        score=round_half_up(sum(exact.values(), Fraction(0))),
        dimensions={code: round_half_up(value) for code, value in exact.items()},
    )


def person_score(
    ratings: Iterable[tuple[str, Mapping[str, Decimal | str]]],
    weights: Mapping[str, Fraction | Decimal | int],
    dimensions: Iterable[str],
) -> Decimal:
    """The person score (0–100, 2 decimals, half up) of one evaluation's ratings."""
    return evaluate(ratings, weights, dimensions).score


def staff_area(person_scores: Iterable[Decimal]) -> Decimal | None:
    """Mean of a school-month's person scores; ``None`` when nobody was evaluated.

    Exact when the mean is a finite decimal; otherwise to 28 significant digits (Decimal's context).
    """
    values = [Decimal(v) for v in person_scores]
    if not values:
        return None
    return sum(values, Decimal(0)) / len(values)
