"""person scores kept unrounded: evaluations.score NUMERIC(5,2) → NUMERIC(16,10), recomputed

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 09:00:00+08:00

rubrics.md formula 4: the person score is not rounded (kept exact, or to at least 6 decimals; round
only for display). Up to 0013 it was stored rounded half up to 2 decimals, and the staff area
averaged those rounded values. The upgrade widens the column (why 10 decimals:
``service/evaluations/scoring.py``) and recomputes every evaluation's score from its ratings, with the
rater weights of the rubric version the evaluation recorded (``settings["rater_weights"]``; the
rubric's defaults when the version has none) and the dimensions of that version's sections. The
downgrade recomputes the same way, rounded half up to 2 decimals - exactly the values 0013 stored -
and narrows the column again.

Formula 4 is written out below rather than imported from the application, and the tables are plain
``sa.table`` definitions rather than the ORM models: this revision must compute tomorrow what it
computes today, whatever later changes those modules. An evaluation without ratings (none are written
by the application; only hand-made rows) keeps its stored score, as does one whose ratings no longer
score every dimension of its version. The recomputation is not in the audit trail (the trail records
edits by people; the ratings are unchanged).

What is *derived* from person scores is not rewritten here: school-month scores, ranking snapshots
and commendation candidates keep the values computed before. Re-score the months concerned after
upgrading (``houqin rank YYYY-MM`` scores a month and re-ranks it with its term and year; the nightly
job re-scores the periods not yet locked); a new ranking snapshot is written only where an input
changed.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

OLD_TYPE = sa.Numeric(precision=5, scale=2)
NEW_TYPE = sa.Numeric(precision=16, scale=10)
NEW_PLACES = 10
OLD_PLACES = 2

# rubrics.md formula 4 as of this revision (a version whose settings name no weights uses these).
DEFAULT_RATER_WEIGHTS = {"assessment": 50, "satisfaction": 20, "peer": 20, "self": 10}

CHUNK = 2000  # evaluations read, recomputed and written per round trip

evaluations = sa.table(
    "evaluations",
    sa.column("id", sa.Integer),
    sa.column("school_id", sa.Integer),
    sa.column("rubric_version_id", sa.Integer),
    sa.column("score", sa.Numeric(precision=16, scale=10)),
)
ratings = sa.table(
    "evaluation_ratings",
    sa.column("school_id", sa.Integer),
    sa.column("evaluation_id", sa.Integer),
    sa.column("rater_group", sa.String),
    sa.column("scores", sa.JSON),
)
versions = sa.table("rubric_versions", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
sections = sa.table("rubric_sections", sa.column("version_id", sa.Integer), sa.column("code", sa.String))


# --- formula 4, frozen ------------------------------------------------------------------------------


def _exact(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


def round_half_up(value: Fraction, places: int) -> Decimal:
    """``value`` (≥ 0 for person scores) rounded half up to ``places`` decimals, exactly."""
    scaled = abs(value) * 10**places
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def weights_of(settings: Mapping[str, Any] | None) -> dict[str, Fraction]:
    raw = (settings or {}).get("rater_weights") or DEFAULT_RATER_WEIGHTS
    return {str(group): _exact(weight) for group, weight in raw.items()}


def person_score(
    rated: Iterable[tuple[str, Mapping[str, Any]]], weights: Mapping[str, Fraction], dimensions: Iterable[str]
) -> Fraction | None:
    """Σ over dimensions of Σ weight × group mean ÷ Σ weights of the groups present; exact.

    ``None`` when some dimension was scored by no weighted group (the score cannot be recomputed).
    """
    per_dimension: dict[str, dict[str, list[Fraction]]] = defaultdict(lambda: defaultdict(list))
    for group, scores in rated:
        for code, value in (scores or {}).items():
            per_dimension[code][group].append(_exact(value))
    total = Fraction(0)
    for code in dimensions:
        weighted = Fraction(0)
        weight_sum = Fraction(0)
        for group, values in per_dimension[code].items():
            weight = weights.get(group, Fraction(0))
            if values and weight:
                weighted += weight * sum(values, Fraction(0)) / len(values)
                weight_sum += weight
        if weight_sum == 0:
            return None
        total += weighted / weight_sum
    return total


# --- the rows -----------------------------------------------------------------------------------------


def _bureau_scope(bind: Any) -> None:
    """Every school's rows: the tables are behind FORCE ROW LEVEL SECURITY, which binds their owner too."""
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text("SELECT set_config('app.scope', 'bureau', true), set_config('app.school_id', '', true)")
        )


def _version_facts(bind: Any) -> dict[int, tuple[dict[str, Fraction], list[str]]]:
    """Rubric version id → (rater weights, dimension codes) for every version an evaluation recorded."""
    used = sa.select(evaluations.c.rubric_version_id).distinct().scalar_subquery()
    codes: dict[int, list[str]] = defaultdict(list)
    for version_id, code in bind.execute(
        sa.select(sections.c.version_id, sections.c.code).where(sections.c.version_id.in_(used))
    ):
        codes[version_id].append(code)
    return {
        version_id: (weights_of(settings), codes[version_id])
        for version_id, settings in bind.execute(
            sa.select(versions.c.id, versions.c.settings).where(versions.c.id.in_(used))
        )
    }


def recompute_scores(bind: Any, places: int) -> tuple[int, int]:
    """Set every evaluation's score to formula 4 of its ratings rounded half up to ``places`` decimals.

    Evaluations whose ratings give no score keep theirs, rounded to ``places`` when narrowing. Returns
    (recomputed, kept). Reads and writes in chunks by id, so memory stays flat at province scale.
    """
    _bureau_scope(bind)
    facts = _version_facts(bind)
    recomputed = kept = 0
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(evaluations.c.id, evaluations.c.rubric_version_id, evaluations.c.score)
            .where(evaluations.c.id > last_id)
            .order_by(evaluations.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return recomputed, kept
        last_id = rows[-1].id
        rated: dict[int, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
        for evaluation_id, group, scores in bind.execute(
            sa.select(ratings.c.evaluation_id, ratings.c.rater_group, ratings.c.scores).where(
                ratings.c.evaluation_id.in_([r.id for r in rows])
            )
        ):
            rated[evaluation_id].append((group, scores))
        updates = []
        for row in rows:
            weights, dimensions = facts.get(row.rubric_version_id, ({}, []))
            exact = person_score(rated[row.id], weights, dimensions) if rated[row.id] and dimensions else None
            if exact is None:
                kept += 1
                exact = _exact(row.score)
                log.warning("evaluation %s: no score from its ratings; its stored score is kept", row.id)
            else:
                recomputed += 1
            updates.append({"evaluation_id": row.id, "new_score": round_half_up(exact, places)})
        bind.execute(
            evaluations.update()
            .where(evaluations.c.id == sa.bindparam("evaluation_id"))
            .values(score=sa.bindparam("new_score", type_=sa.Numeric(precision=16, scale=10))),
            updates,
        )


# --- the column -----------------------------------------------------------------------------------------


def _set_type(new: sa.Numeric, old: sa.Numeric) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("evaluations", "score", type_=new, existing_type=old, existing_nullable=False)
        return
    # SQLite (the embedded demo) cannot change a column's type: batch mode copies the table into a new
    # one and drops the old, and with foreign keys on, dropping evaluations deletes its ratings (ON
    # DELETE CASCADE) - so they are set aside and put back.
    op.execute("DROP TABLE IF EXISTS temp.houqin_ratings_0014")
    op.execute("CREATE TEMP TABLE houqin_ratings_0014 AS SELECT * FROM evaluation_ratings")
    with op.batch_alter_table("evaluations") as batch:
        batch.alter_column("score", type_=new, existing_type=old, existing_nullable=False)
    op.execute("DELETE FROM evaluation_ratings")
    op.execute("INSERT INTO evaluation_ratings SELECT * FROM temp.houqin_ratings_0014")
    op.execute("DROP TABLE temp.houqin_ratings_0014")


def upgrade() -> None:
    _set_type(NEW_TYPE, OLD_TYPE)
    recomputed, kept = recompute_scores(op.get_bind(), NEW_PLACES)
    log.info("person scores recomputed unrounded: %s (kept as stored: %s)", recomputed, kept)


def downgrade() -> None:
    recompute_scores(op.get_bind(), OLD_PLACES)
    _set_type(OLD_TYPE, NEW_TYPE)
