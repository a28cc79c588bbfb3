"""The score engine: every school's month in ONE set-based statement (rubrics.md formulas 1-5).

Where a ranking's numbers come from, in order (each step is a CTE of :func:`area_scores_select`):

1. ``item_totals`` - item results of the month's inspections, summed per inspection and section of its
   pinned rubric version: deductions of failed items (``deduction × max(occurrences, 1)``, capped by the
   item's ``cap``), the own max of not-applicable items, and the key (※) and veto items failed (formula 1).
2. ``inspection_shortfalls`` and ``inspection_scores`` - a section's possible = max − Σ own max of its na
   items, its points = possible − Σ deductions, both floored at 0; score = 100 × Σ points ÷ Σ possible
   over every section of the version, rounded to 1 decimal (sections without results count at full
   marks). The score is recomputed from the findings, never trusted from the row; a stored score that
   differs is counted in ``score_mismatches`` (it would mean the row was edited behind the
   application's back). Inspections set aside by an upheld appeal (``excluded``) do not count.
3. ``school_inspections`` - per school: self and spot means per area, key/veto items failed, the
   month's spot mean: the mean of all its spot inspections, canteen and safety together (formula 7's
   tie-breaker; a term or year takes the mean of these monthly values, :mod:`service.rankings.engine`).
4. ``staff`` and ``hazards`` - the staff area (the mean of the stored person scores, which are kept
   unrounded - formula 4) and the hazards overdue at the month's last day (formula 2: deadline strictly
   before that day and not closed by it - one due on the last day is not yet overdue).
5. the final select - area = spot% × spot + (1 − spot%) × self with a spot inspection, else self
   (formula 3); safety − min(2 × overdue, 5) floored at 0; composite = Σ w × area ÷ Σ w over the areas
   present, minus the late deduction, floored at 0, rounded to 1 decimal; band (formula 5) of that
   rounded composite, so a weighted 89.96 is 90.0 and band A.

Everything is exact ``NUMERIC`` arithmetic on PostgreSQL (the demo's SQLite uses floats). Python only
binds the settings and runs the statement; :func:`score_period` writes the rows with an upsert keyed on
``(school_id, period_id)``, so running it twice leaves the same rows.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    Numeric,
    and_,
    case,
    column,
    delete,
    func,
    literal,
    not_,
    null,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.visitors import InternalTraversal

from service.core.types import utcnow
from service.db import db
from service.evaluations.models import Evaluation
from service.hazards.models import Hazard
from service.hazards.operations import DEDUCTION_CAP, DEDUCTION_PER_OVERDUE, overdue_clause
from service.inspections.models import Inspection, InspectionItemResult, InspectionKind, InspectionMode
from service.org.models import CanteenMode, School
from service.periods.models import Period
from service.reports.models import MonthlyReport, ReportState
from service.rubrics.models import ItemKind, RubricItem, RubricKind, RubricSection
from service.rules.models import RuleKind
from service.rules.operations import current as current_rules
from service.scoring.models import MonthStatus, SchoolMonthScore

N = Numeric(18, 8)
ZERO = literal(Decimal(0), N)
HUNDRED = literal(Decimal(100), N)


def _greatest(a: Any, b: Any) -> Any:
    """GREATEST(a, b) that SQLite understands too (NULL if a is NULL: a missing area stays missing)."""
    return case((a.is_(None), null()), (a >= b, a), else_=b)


def _least(a: Any, b: Any) -> Any:
    return case((a <= b, a), else_=b)


def _num(value: Any) -> Any:
    return literal(Decimal(str(value)), N)


@dataclass(frozen=True)
class ScoringBasis:
    """The settings one computation used - recorded with every ranking snapshot."""

    rules_version: int
    settings: dict[str, Any]
    hazard_per_overdue: Decimal
    hazard_cap: Decimal
    safety_rubric_version_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rules_version": self.rules_version,
            "rules": self.settings,
            "hazard_rule": {
                "per_overdue": str(self.hazard_per_overdue),
                "cap": str(self.hazard_cap),
                "safety_rubric_version_id": self.safety_rubric_version_id,
            },
        }


def current_basis() -> ScoringBasis:
    """The rules in force and the overdue-hazard item of the published safety rubric (formula 2)."""
    from service.rubrics.operations import current_version

    version, settings = current_rules(RuleKind.SCORING)
    safety = current_version(RubricKind.SAFETY)
    per, cap = DEDUCTION_PER_OVERDUE, DEDUCTION_CAP
    if safety is not None:
        computed = [i for i in safety.all_items() if i.computed]
        if computed:
            per = Decimal(computed[0].deduction)
            cap = Decimal(computed[0].cap) if computed[0].cap is not None else cap
    return ScoringBasis(version, settings, per, cap, safety.id if safety else None)


def tune_transaction() -> None:
    """Planner settings for the rest of this transaction (PostgreSQL; SQLite has none).

    ``jit = off``: PostgreSQL's default compiles a statement to machine code once its estimated cost
    passes ``jit_above_cost``; for the engine's large statement at province scale the compilation costs
    more than it saves (docs/performance.md, "What changed": 12-14 s with JIT at 10,000 schools,
    5-6 s without).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def month_end(period: Period) -> date:
    return date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])


def area_scores_select(
    period_id: int, school_ids: Iterable[int] | None = None, *, basis: ScoringBasis | None = None
) -> Any:
    """The whole computation as one SELECT (no writes): one row per active school for ``period_id``.

    This is also the benchmark's floor: what :func:`score_period` costs beyond it is the upsert.
    """
    basis = basis or current_basis()
    settings = basis.settings
    period = db.session.get(Period, period_id)
    if period is None:
        raise ValueError(f"no period {period_id}")
    ids = sorted(set(school_ids)) if school_ids is not None else None

    def only_schools(column: Any) -> Any:
        return column.in_(ids) if ids is not None else true()

    month_inspections = and_(
        Inspection.period_id == period_id, Inspection.excluded.is_(False), only_schools(Inspection.school_id)
    )

    # 1. Item results summed per inspection and section of the inspection's pinned rubric version.
    fail = InspectionItemResult.result == "fail"
    occurrences = case((InspectionItemResult.occurrences > 1, InspectionItemResult.occurrences), else_=1)
    raw = RubricItem.deduction * occurrences
    deduction = case((not_(fail), ZERO), (RubricItem.cap.is_(None), raw), else_=_least(raw, RubricItem.cap))
    na_max = case(
        (InspectionItemResult.result == "na", func.coalesce(RubricItem.cap, RubricItem.deduction, ZERO)),
        else_=ZERO,
    )
    item_totals = (
        select(
            InspectionItemResult.school_id.label("school_id"),
            InspectionItemResult.inspection_id.label("inspection_id"),
            RubricSection.max_points.label("max_points"),
            func.sum(deduction).label("deducted"),
            func.sum(na_max).label("na_max"),
            func.sum(case((and_(fail, RubricItem.kind == ItemKind.KEY.value), 1), else_=0)).label(
                "key_failed"
            ),
            func.sum(case((and_(fail, RubricItem.kind == ItemKind.VETO.value), 1), else_=0)).label(
                "veto_failed"
            ),
        )
        .select_from(InspectionItemResult)
        .join(
            Inspection,
            and_(
                Inspection.school_id == InspectionItemResult.school_id,
                Inspection.id == InspectionItemResult.inspection_id,
            ),
        )
        .join(RubricItem, RubricItem.id == InspectionItemResult.item_id)
        .join(
            RubricSection,
            and_(
                RubricSection.id == RubricItem.section_id,
                RubricSection.version_id == Inspection.rubric_version_id,
            ),
        )
        .where(month_inspections)
        .group_by(
            InspectionItemResult.school_id,
            InspectionItemResult.inspection_id,
            RubricItem.section_id,
            RubricSection.max_points,
        )
        .cte("item_totals")
    )

    # 2. Per inspection, how its sections with results fall short of their full marks: a section's
    #    possible = max − Σ own max of its na items, its points = possible − Σ deductions, both floored
    #    at 0. Sections without any result keep max / max, so
    #    score = 100 × (Σ max + Σ (points − max)) ÷ (Σ max + Σ (possible − max)), Σ max over the version.
    #    (The same numbers as joining every section to every inspection, without that join: at province
    #    scale it is what lets the item-level aggregate run once, in parallel.)
    t = item_totals.c
    possible = _greatest(t.max_points - t.na_max, ZERO)
    shortfalls = (
        select(
            t.school_id,
            t.inspection_id,
            func.sum(_greatest(possible - t.deducted, ZERO) - t.max_points).label("points_short"),
            func.sum(possible - t.max_points).label("possible_short"),
            func.sum(t.key_failed).label("key_failed"),
            func.sum(t.veto_failed).label("veto_failed"),
        )
        .group_by(t.school_id, t.inspection_id)
        .cte("inspection_shortfalls")
    )
    version_max = (
        select(
            RubricSection.version_id.label("version_id"),
            func.sum(RubricSection.max_points).label("max_points"),
        )
        .group_by(RubricSection.version_id)
        .cte("version_max")
    )
    sf = shortfalls.c
    points = version_max.c.max_points + func.coalesce(sf.points_short, ZERO)
    total_possible = version_max.c.max_points + func.coalesce(sf.possible_short, ZERO)
    inspection_scores = (
        select(
            Inspection.school_id.label("school_id"),
            Inspection.id.label("inspection_id"),
            Inspection.kind.label("kind"),
            Inspection.mode.label("mode"),
            Inspection.score.label("stored_score"),
            func.round(HUNDRED * points / func.nullif(total_possible, ZERO), 1).label("score"),
            func.coalesce(sf.key_failed, 0).label("key_failed"),
            func.coalesce(sf.veto_failed, 0).label("veto_failed"),
        )
        .select_from(Inspection)
        .join(version_max, version_max.c.version_id == Inspection.rubric_version_id)
        .outerjoin(shortfalls, and_(sf.school_id == Inspection.school_id, sf.inspection_id == Inspection.id))
        .where(month_inspections)
        .cte("inspection_scores")
    )

    # 3. Per school: means by area and mode.
    s = inspection_scores.c

    def mean(kind: InspectionKind | None, mode: InspectionMode) -> Any:
        cond = s.mode == mode.value
        if kind is not None:
            cond = and_(cond, s.kind == kind.value)
        return func.avg(case((cond, s.score), else_=null()))

    school_inspections = (
        select(
            s.school_id,
            mean(InspectionKind.CANTEEN, InspectionMode.SELF).label("canteen_self"),
            mean(InspectionKind.CANTEEN, InspectionMode.SPOT).label("canteen_spot"),
            mean(InspectionKind.SAFETY, InspectionMode.SELF).label("safety_self"),
            mean(InspectionKind.SAFETY, InspectionMode.SPOT).label("safety_spot"),
            mean(None, InspectionMode.SPOT).label("spot_mean"),
            func.sum(case((s.mode == InspectionMode.SPOT.value, 1), else_=0)).label("spot_count"),
            func.sum(s.key_failed).label("key_failed"),
            func.sum(s.veto_failed).label("veto_failed"),
            func.count().label("inspections"),
            func.sum(case((s.score != s.stored_score, 1), else_=0)).label("score_mismatches"),
        )
        .where(s.score.is_not(None))
        .group_by(s.school_id)
        .cte("school_inspections")
    )

    # 4. Staff area and overdue hazards at the month's end.
    staff = (
        select(
            Evaluation.school_id.label("school_id"),
            func.avg(Evaluation.score).label("staff_area"),
            func.count(Evaluation.id).label("evaluated"),
        )
        .where(Evaluation.period_id == period_id, only_schools(Evaluation.school_id))
        .group_by(Evaluation.school_id)
        .cte("staff_scores")
    )
    end = month_end(period)
    hazards = (
        select(Hazard.school_id.label("school_id"), func.count(Hazard.id).label("overdue"))
        .where(overdue_clause(end), only_schools(Hazard.school_id))
        .group_by(Hazard.school_id)
        .cte("overdue_counts")
    )

    # 5. Areas (formula 3 and 2), composite and band (formula 5).
    spot_w = _num(Decimal(str(settings["spot_weight_percent"])) / 100)
    self_w = _num(1 - Decimal(str(settings["spot_weight_percent"])) / 100)
    gap = _num(settings["credibility_gap"])
    si = school_inspections.c

    def area(self_: Any, spot: Any) -> Any:
        return case(
            (and_(spot.is_not(None), self_.is_not(None)), spot_w * spot + self_w * self_),
            (spot.is_not(None), spot),
            else_=self_,
        )

    canteen_applies = School.canteen_mode != CanteenMode.NONE.value
    overdue = func.coalesce(hazards.c.overdue, 0)
    hazard_deduction = _least(_num(basis.hazard_per_overdue) * overdue, _num(basis.hazard_cap))
    safety_before = area(si.safety_self, si.safety_spot)
    accepted = MonthlyReport.state == ReportState.ACCEPTED.value
    late = and_(accepted, MonthlyReport.late.is_(True))

    areas = (
        select(
            School.id.label("school_id"),
            literal(period_id).label("period_id"),
            case((accepted, MonthStatus.SCORED.value), else_=MonthStatus.MISSING.value).label("status"),
            MonthlyReport.id.label("report_id"),
            func.coalesce(late, False).label("late"),
            canteen_applies.label("canteen_applies"),
            case((canteen_applies, si.canteen_self), else_=null()).label("canteen_self"),
            case((canteen_applies, si.canteen_spot), else_=null()).label("canteen_spot"),
            case((canteen_applies, area(si.canteen_self, si.canteen_spot)), else_=null()).label(
                "canteen_area"
            ),
            si.safety_self,
            si.safety_spot,
            safety_before.label("safety_before_hazards"),
            overdue.label("overdue_hazards"),
            hazard_deduction.label("hazard_deduction"),
            _greatest(safety_before - hazard_deduction, ZERO).label("safety_area"),
            staff.c.staff_area,
            func.coalesce(staff.c.evaluated, 0).label("staff_evaluated"),
            func.coalesce(si.key_failed, 0).label("key_failed"),
            func.coalesce(si.veto_failed, 0).label("veto_failed"),
            si.spot_mean,
            func.coalesce(si.spot_count, 0).label("spot_count"),
            func.coalesce(si.inspections, 0).label("inspections"),
            func.coalesce(si.score_mismatches, 0).label("score_mismatches"),
            accepted.label("accepted"),
        )
        .select_from(School)
        .outerjoin(
            MonthlyReport, and_(MonthlyReport.school_id == School.id, MonthlyReport.period_id == period_id)
        )
        .outerjoin(school_inspections, si.school_id == School.id)
        .outerjoin(staff, staff.c.school_id == School.id)
        .outerjoin(hazards, hazards.c.school_id == School.id)
        .where(School.active.is_(True), only_schools(School.id))
        .cte("areas")
    )

    a = areas.c
    weights = {k: _num(v) for k, v in settings["area_weights"].items()}
    present = [
        (weights["canteen"], a.canteen_area),
        (weights["safety"], a.safety_area),
        (weights["staff"], a.staff_area),
    ]
    numerator = sum((case((v.is_not(None), w * v), else_=ZERO) for w, v in present), ZERO)
    denominator = sum((case((v.is_not(None), w), else_=ZERO) for w, v in present), ZERO)
    weighted = case((a.accepted, numerator / func.nullif(denominator, ZERO)), else_=null())
    late_deduction = case((a.late, _num(settings["late_deduction"])), else_=ZERO)
    composites = select(
        a,
        weighted.label("weighted"),
        late_deduction.label("late_deduction"),
        func.round(_greatest(weighted - late_deduction, ZERO), 1).label("composite"),
    ).cte("composites")

    c = composites.c
    bands = settings["bands"]
    band = case(
        (c.composite.is_(None), null()),
        (c.composite >= _num(bands["A"]), "A"),
        (c.composite >= _num(bands["B"]), "B"),
        (c.composite >= _num(bands["C"]), "C"),
        else_="D",
    )

    def flag(self_: Any, spot: Any) -> Any:
        return func.coalesce(and_(self_.is_not(None), spot.is_not(None), self_ - spot > gap), False)

    return select(
        c.school_id,
        c.period_id,
        c.status,
        c.report_id,
        c.late,
        c.canteen_applies,
        c.canteen_self,
        c.canteen_spot,
        c.canteen_area,
        flag(c.canteen_self, c.canteen_spot).label("canteen_flag"),
        c.safety_self,
        c.safety_spot,
        c.safety_before_hazards,
        c.overdue_hazards,
        c.hazard_deduction,
        c.safety_area,
        flag(c.safety_self, c.safety_spot).label("safety_flag"),
        c.staff_area,
        c.staff_evaluated,
        c.weighted,
        c.late_deduction,
        c.composite,
        band.label("band"),
        c.key_failed,
        c.veto_failed,
        c.spot_mean,
        c.spot_count,
        c.inspections,
        c.score_mismatches,
    ).where(true())


SCORE_COLUMNS = (
    "school_id",
    "period_id",
    "status",
    "report_id",
    "late",
    "canteen_applies",
    "canteen_self",
    "canteen_spot",
    "canteen_area",
    "canteen_flag",
    "safety_self",
    "safety_spot",
    "safety_before_hazards",
    "overdue_hazards",
    "hazard_deduction",
    "safety_area",
    "safety_flag",
    "staff_area",
    "staff_evaluated",
    "weighted",
    "late_deduction",
    "composite",
    "band",
    "key_failed",
    "veto_failed",
    "spot_mean",
    "spot_count",
    "inspections",
    "score_mismatches",
)


STAGING_TABLE = "houqin_score_staging"


class _CreateTempTableAs(Executable, ClauseElement):
    """``CREATE TEMP TABLE <name> ON COMMIT DROP AS <select>`` (PostgreSQL), cached like any statement."""

    inherit_cache = True
    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("name", InternalTraversal.dp_string),
        ("query", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, name: str, query: Any) -> None:
        self.name = name
        self.query = query


@compiles(_CreateTempTableAs, "postgresql")
def _compile_create_temp_table_as(element: _CreateTempTableAs, compiler: Any, **kw: Any) -> str:
    return f"CREATE TEMP TABLE {element.name} ON COMMIT DROP AS {compiler.process(element.query, **kw)}"


def score_period(
    period_id: int, school_ids: Iterable[int] | None = None, *, basis: ScoringBasis | None = None
) -> int:
    """Write the scores of ``period_id`` (all active schools, or ``school_ids``): upsert, then drop rows of
    schools no longer active. Returns the number of rows written. Idempotent.

    A whole period on PostgreSQL is computed into a temporary table first and upserted from there:
    PostgreSQL never runs the SELECT of an ``INSERT … SELECT`` in parallel, but does for
    ``CREATE TABLE … AS``, and at province scale the item-level aggregate is most of the time
    (docs/performance.md). One school (the incremental job) is upserted straight from the SELECT.
    """
    basis = basis or current_basis()
    ids = sorted(set(school_ids)) if school_ids is not None else None
    tune_transaction()
    cols = [*SCORE_COLUMNS, "rules_version", "computed_at"]
    extra = [
        literal(basis.rules_version).label("rules_version"),
        literal(utcnow(), SchoolMonthScore.computed_at.type).label("computed_at"),
    ]
    computed = area_scores_select(period_id, ids, basis=basis)
    dialect = db.session.get_bind().dialect.name
    staged = dialect == "postgresql" and ids is None
    if staged:
        db.session.execute(text(f"DROP TABLE IF EXISTS {STAGING_TABLE}"))
        db.session.execute(_CreateTempTableAs(STAGING_TABLE, computed))
        staging = table(STAGING_TABLE, *(column(c) for c in SCORE_COLUMNS))
        source = select(*[staging.c[c] for c in SCORE_COLUMNS], *extra)
    else:
        src = computed.subquery("computed")
        source = select(*[src.c[c] for c in SCORE_COLUMNS], *extra).where(true())
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SchoolMonthScore.__table__).from_select(cols, source)
    stmt = stmt.on_conflict_do_update(
        index_elements=["school_id", "period_id"],
        set_={c: stmt.excluded[c] for c in cols if c not in ("school_id", "period_id")},
    )
    written = db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
    if staged:
        db.session.execute(text(f"DROP TABLE {STAGING_TABLE}"))
    # Rows of schools deactivated since the last run (or no longer in the select) go.
    stale = delete(SchoolMonthScore).where(
        SchoolMonthScore.period_id == period_id,
        SchoolMonthScore.school_id.not_in(select(School.id).where(School.active.is_(True))),
    )
    if ids is not None:
        stale = stale.where(SchoolMonthScore.school_id.in_(ids))
    db.session.execute(stale, execution_options={"synchronize_session": False})
    return written


__all__ = [
    "ScoringBasis",
    "area_scores_select",
    "current_basis",
    "month_end",
    "score_period",
    "tune_transaction",
]
