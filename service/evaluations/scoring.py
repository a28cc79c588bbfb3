"""Scores of staff evaluations - formula 4 of ``rubrics.md``.

For one person-month and each dimension (德 de, 能 neng, 勤 qin, 绩 ji, 廉 lian)::

    dimension score = Σ_groups weight(group) × mean(group's scores for the dimension)
                      ÷ Σ weights of the groups that scored the dimension
    person score    = Σ dimension scores (0–100), not rounded

The groups are the rater groups of the rubric version's ``settings["rater_weights"]`` (defaults:
assessment 50, satisfaction 20, peer 20, self 10); a group that did not rate a dimension is left
out and its weight is shared out over the groups present. The ratings are the raters' own numbers
(0..the dimension's points, at most 2 decimals) as the school entered them; the version is the one
the evaluation recorded when it was created.

**Exact, rounded only for display** (formula 4: "not rounded ... round only for display"). Every
step is an exact rational (:class:`fractions.Fraction`): a mean of three raters is not a finite
decimal. :func:`evaluate` returns the person score exactly (``Result.exact``) and as
``Result.score``, the exact value rounded half up at the 10th decimal - what ``Evaluation.score``
stores (``Numeric(16, 10)``). Why 10 decimals:

* the rubric asks for at least 6; the stored value is within 5·10⁻¹¹ of the exact one, so staff
  areas and person means (kept to 6 decimals in ``school_month_scores`` and on commendation
  candidates) come out as from the exact scores;
* a display (2 decimals) or a threshold (≥ 95) read from the stored value agrees with the exact
  value unless the exact value lies within 5·10⁻¹¹ of the boundary without being on it. A person
  score is p/D and misses a 2-decimal boundary by at least 1/(200·D), so that needs D > 10⁸; with
  every group rating every dimension D divides 10⁴ × the lcm of the group sizes (ratings have 2
  decimals, the default weights sum to 100), i.e. group sizes whose lcm exceeds 10⁴;
* 100.0000000000 is 13 significant digits, which the demo's SQLite (a REAL: 15-17 digits) carries
  without loss; 16 digits of precision leave room without another migration.

Nothing downstream rounds a person score before using it: the staff area averages the stored
values, and the 优秀后勤人员 threshold (≥ 95) compares a person's unrounded mean - 94.995 is not
≥ 95 although it is *shown* as 95.00.

Display: :func:`shown` - 2 decimals, half up, of the exact (or stored) value; this is what the
API's ``score``, the report page, the Excel export and the commendation lists show. Dimension scores
are only shown, so they are stored shown (``Evaluation.dimension_scores``, 2 decimals, half up);
because the person score sums the exact values, the shown dimensions may add up to 0.01 more or less
than the shown person score.

**Staff area** of a school-month = the mean of its person scores, not rounded here (the composite
rounds); :func:`staff_area` in Python, and :func:`service.evaluations.operations.staff_area_scores`
(and the score engine's ``staff_scores`` step) as one SQL ``AVG`` over the stored scores.
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

TWO_PLACES = 2  # shown: the API, pages, exports and commendation lists
STORED_PLACES = 10  # kept: Evaluation.score is Numeric(16, 10) (why: the module docstring)


@dataclass(frozen=True)
class Result:
    exact: Fraction  # person score, exact (formula 4: not rounded)
    dimensions: dict[str, Decimal]  # dimension code → score shown with 2 decimals, half up

    @property
    def score(self) -> Decimal:
        """The person score as stored: the exact value to 10 decimals (half up at the 10th)."""
        return round_half_up(self.exact, STORED_PLACES)

    @property
    def shown(self) -> Decimal:
        """The person score as shown: 2 decimals, half up, of the exact value."""
        return round_half_up(self.exact, TWO_PLACES)


def round_half_up(value: Fraction | Decimal, places: int = TWO_PLACES) -> Decimal:
    """``value`` rounded half up (away from zero on a tie) to ``places`` decimals, exactly."""
    value = Fraction(value)
    scale = 10**places
    scaled = abs(value) * scale
    whole = int(scaled)  # floor for non-negative values
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def shown(score: Fraction | Decimal) -> Decimal:
    """A person score (exact, or as stored) for display: 2 decimals, half up.

    From the stored value it is the display of the exact value too (the module docstring says when
    it could not be).
    """
    return round_half_up(score, TWO_PLACES)


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
    """The exact person score and the shown dimension scores of one evaluation (formula 4)."""
    exact = exact_dimension_scores(ratings, weights, dimensions)
    return Result(
        exact=sum(exact.values(), Fraction(0)),
        dimensions={code: round_half_up(value) for code, value in exact.items()},
    )


def person_score(
    ratings: Iterable[tuple[str, Mapping[str, Decimal | str]]],
    weights: Mapping[str, Fraction | Decimal | int],
    dimensions: Iterable[str],
) -> Decimal:
    """The person score (0–100) of one evaluation's ratings, as stored: exact to 10 decimals."""
    return evaluate(ratings, weights, dimensions).score


def staff_area(person_scores: Iterable[Decimal | Fraction]) -> Decimal | None:
    """Mean of a school-month's person scores (exact or as stored, never shown values); ``None``
    when nobody was evaluated.

    Exact when the mean is a finite decimal; otherwise to 28 significant digits (Decimal's context).
    """
    values = [Fraction(v) for v in person_scores]
    if not values:
        return None
    mean = sum(values, Fraction(0)) / len(values)
    return Decimal(mean.numerator) / Decimal(mean.denominator)
