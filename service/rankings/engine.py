"""Ranking snapshots: where a rank is computed (rubrics.md formulas 6 and 7).

:func:`build_snapshot` ranks one month, term or school year from the stored school-month scores
(:mod:`service.scoring.engine`), in SQL:

* ``base`` - one row per active school: for a month its composite; for a term or year the mean of the
  composites of its accepted months rounded to 1 decimal (formula 6), months expected (the target's
  months the bureau opened a period for) and counted, area means, key items failed, spot mean. The
  tie-breakers of a term or year are means of the monthly values over the accepted months that have
  one (formula 7): the spot mean is the mean of the monthly spot means - each month's being the mean
  of all its spot inspections, canteen and safety together (:mod:`service.scoring.engine`) - not the
  mean of all the period's inspections, so a month with three spot inspections weighs as much as a
  month with one; the canteen mean is the mean of the monthly canteen areas;
* status - a month not accepted is ``missing``; a term or year with more missing months than the rule
  allows is ``insufficient`` (listed, not ranked);
* ranks - ``RANK() OVER (ORDER BY score DESC, key_failed, spot_mean DESC NULLS LAST, canteen_mean DESC
  NULLS LAST)``: ties after every tie-breaker share a rank and the next is skipped (1, 2, 2, 4); the same
  window partitioned by peer group (school type × canteen applies) and by cluster;
* movement - the previous month/term/year's current snapshot: previous rank − this rank;
* sensitivity (terms and years) - the same ranking recomputed with each area weight shifted by ± the
  setting (6 scenarios, one statement), and per school the max and median of |rank change|.

Snapshots are immutable and identified by their inputs: the hash covers the settings, the rubric and
hazard rules, the per-school inputs and the previous snapshot; if the newest snapshot of the target has
the same hash, nothing is written. The canonical payload (:func:`payload_bytes`) is the same bytes on
every run with the same inputs; its SHA-256 is stored as ``payload_hash``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Integer,
    Numeric,
    and_,
    case,
    func,
    insert,
    literal,
    null,
    select,
    text,
    true,
    union_all,
    update,
)

from service.db import db
from service.incidents.vetoes import vetoes_in_force
from service.org.models import CanteenMode, School
from service.periods.models import Period
from service.rankings.calendar import RankingTarget, previous_target
from service.rankings.models import EntryStatus, RankingEntry, RankingKind, RankingSnapshot
from service.rankings.operations import current_snapshot
from service.scoring.engine import ScoringBasis, month_end
from service.scoring.models import MonthStatus, SchoolMonthScore

N = Numeric(18, 8)
ZERO = literal(Decimal(0), N)
AREAS = ("canteen", "safety", "staff")
LOCK_KEY = 714_002  # pg_advisory_xact_lock: one ranking computation at a time


def lock() -> None:
    """Serialise ranking writes across workers (PostgreSQL); a no-op on SQLite (one writer anyway)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def periods_of(target: RankingTarget, *, as_of: date | None = None) -> list[Period]:
    """The target's months for which the bureau opened a period, in calendar order.

    For a term or a year ranked ``as_of`` a day, only the months already due then (deadline passed):
    a month still being reported is nobody's missing month yet - counting it would declare every
    school "missing" the current month (and put those with one real gap below the minimum data) until
    its deadline. It joins the term the day after its deadline (the nightly job re-ranks open
    periods). A month ranks itself whenever asked. ``as_of=None`` (tests, history) takes every period.
    """
    wanted = set(target.months)
    rows = db.session.scalars(select(Period).order_by(Period.year, Period.month))
    periods = [p for p in rows if (p.year, p.month) in wanted]
    if as_of is not None and target.kind is not RankingKind.MONTH:
        periods = [p for p in periods if p.deadline < as_of]
    return periods


def end_of(periods: list[Period]) -> date:
    return month_end(periods[-1])


def _n(value: Any) -> Any:
    return literal(Decimal(str(value)), N)


# --- the per-school inputs ---------------------------------------------------------------------------


def base_select(target: RankingTarget, period_ids: list[int], settings: dict[str, Any]) -> Any:
    """One row per active school with what its rank depends on (no ranks yet).

    Every mean is of the accepted (scored) months' values, over the months that have one: ``AVG``
    leaves out a month without a spot inspection (``spot_mean`` NULL) or without a canteen area.
    """
    m = SchoolMonthScore
    scored = m.status == MonthStatus.SCORED.value

    def mean_of(column: Any) -> Any:
        return func.avg(case((scored, column), else_=null()))

    counted = func.sum(case((scored, 1), else_=0))
    months = (
        select(
            m.school_id.label("school_id"),
            counted.label("months_counted"),
            func.round(mean_of(m.composite), 1).label("score"),
            mean_of(m.canteen_area).label("canteen_mean"),
            mean_of(m.safety_area).label("safety_mean"),
            mean_of(m.staff_area).label("staff_mean"),
            mean_of(m.spot_mean).label("spot_mean"),  # formula 7: the mean of the monthly spot means
            func.sum(case((scored, m.key_failed), else_=0)).label("key_failed"),
            func.sum(case((and_(scored, m.late.is_(True)), 1), else_=0)).label("late_months"),
            func.sum(
                case(
                    (
                        scored,
                        case((m.canteen_flag.is_(True), 1), else_=0)
                        + case((m.safety_flag.is_(True), 1), else_=0),
                    ),
                    else_=0,
                )
            ).label("credibility_flags"),
        )
        .where(m.period_id.in_(period_ids))
        .group_by(m.school_id)
        .subquery("months")
    )
    expected = len(period_ids)
    if target.kind is RankingKind.MONTH:
        status = case(
            (func.coalesce(months.c.months_counted, 0) >= 1, EntryStatus.RANKED.value),
            else_=EntryStatus.MISSING.value,
        )
    else:
        allowed = int(settings["max_missing_months"][target.kind.value])
        status = case(
            (
                and_(
                    func.coalesce(months.c.months_counted, 0) >= 1,
                    expected - func.coalesce(months.c.months_counted, 0) <= allowed,
                ),
                EntryStatus.RANKED.value,
            ),
            else_=EntryStatus.INSUFFICIENT.value,
        )
    canteen_applies = School.canteen_mode != CanteenMode.NONE.value
    peer_group = School.type + case((canteen_applies, ":canteen"), else_=":no_canteen")
    return (
        select(
            School.id.label("school_id"),
            status.label("status"),
            months.c.score,
            literal(expected).label("months_expected"),
            func.coalesce(months.c.months_counted, 0).label("months_counted"),
            func.coalesce(months.c.late_months, 0).label("late_months"),
            canteen_applies.label("canteen_applies"),
            months.c.canteen_mean,
            months.c.safety_mean,
            months.c.staff_mean,
            months.c.spot_mean,
            func.coalesce(months.c.key_failed, 0).label("key_failed"),
            func.coalesce(months.c.credibility_flags, 0).label("credibility_flags"),
            School.type.label("school_type"),
            peer_group.label("peer_group"),
            School.cluster_id.label("cluster_id"),
        )
        .select_from(School)
        .outerjoin(months, months.c.school_id == School.id)
        .where(School.active.is_(True))
    )


def _order(score: Any, key_failed: Any, spot_mean: Any, canteen_mean: Any) -> list[Any]:
    """Formula 7's order: score, then fewer key items failed, then spot mean, then canteen mean."""
    return [score.desc(), key_failed.asc(), spot_mean.desc().nulls_last(), canteen_mean.desc().nulls_last()]


def ranked_select(base: Any, previous_id: int | None) -> Any:
    """``base`` with the three ranks, the band and the movement against the previous snapshot."""
    b = base.subquery("base")
    is_ranked = b.c.status == EntryStatus.RANKED.value
    order = _order(b.c.score, b.c.key_failed, b.c.spot_mean, b.c.canteen_mean)

    def rank(*partition: Any) -> Any:
        return case(
            (is_ranked, func.rank().over(partition_by=[is_ranked, *partition], order_by=order)), else_=null()
        )

    ranks = select(
        b,
        rank().label("rank_overall"),
        rank(b.c.peer_group).label("rank_peer"),
        rank(b.c.cluster_id).label("rank_cluster"),
    ).subquery("ranks")
    previous = (
        select(RankingEntry.school_id, RankingEntry.rank_overall)
        .where(RankingEntry.snapshot_id == (previous_id if previous_id is not None else -1))
        .subquery("previous")
    )
    return ranks, previous


# --- sensitivity ---------------------------------------------------------------------------------------


def sensitivity_rows(period_ids: list[int], settings: dict[str, Any], ranked_ids: Any) -> Any:
    """Per school and scenario (one area weight ± shift), the overall rank under those weights.

    One statement: scenarios × scored school-months → composites → term means → RANK() per scenario.
    """
    weights = {k: Decimal(str(v)) for k, v in settings["area_weights"].items()}
    shift = Decimal(str(settings["sensitivity_shift"]))
    scenarios = []
    for index, (area, sign) in enumerate((a, s) for a in AREAS for s in (1, -1)):
        w = dict(weights)
        w[area] = max(w[area] + sign * shift, Decimal(0))
        scenarios.append(
            select(
                literal(index, Integer).label("scenario"),
                _n(w["canteen"]).label("w_canteen"),
                _n(w["safety"]).label("w_safety"),
                _n(w["staff"]).label("w_staff"),
            )
        )
    sc = union_all(*scenarios).cte("scenarios")
    m = SchoolMonthScore
    parts = [(sc.c.w_canteen, m.canteen_area), (sc.c.w_safety, m.safety_area), (sc.c.w_staff, m.staff_area)]
    numerator = sum((case((v.is_not(None), w * v), else_=ZERO) for w, v in parts), ZERO)
    denominator = sum((case((v.is_not(None), w), else_=ZERO) for w, v in parts), ZERO)
    composite = func.round(
        case(
            (
                numerator / func.nullif(denominator, ZERO) - m.late_deduction >= ZERO,
                numerator / func.nullif(denominator, ZERO) - m.late_deduction,
            ),
            else_=ZERO,
        ),
        1,
    )
    scenario_months = (
        select(sc.c.scenario, m.school_id, composite.label("composite"))
        .select_from(sc)
        .join(m, true())
        .where(m.period_id.in_(period_ids), m.status == MonthStatus.SCORED.value, m.school_id.in_(ranked_ids))
        .subquery("scenario_months")
    )
    scores = (
        select(
            scenario_months.c.scenario,
            scenario_months.c.school_id,
            func.round(func.avg(scenario_months.c.composite), 1).label("score"),
        )
        .group_by(scenario_months.c.scenario, scenario_months.c.school_id)
        .subquery("scenario_scores")
    )
    return scores


# --- building a snapshot ------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if hasattr(value, "value"):
        return value.value
    return value


ENTRY_FIELDS = (
    "school_id",
    "status",
    "score",
    "band",
    "months_expected",
    "months_counted",
    "late_months",
    "canteen_applies",
    "canteen_mean",
    "safety_mean",
    "staff_mean",
    "spot_mean",
    "key_failed",
    "credibility_flags",
    "school_type",
    "peer_group",
    "cluster_id",
    "rank_overall",
    "rank_peer",
    "rank_cluster",
    "previous_rank",
    "movement",
    "vetoed",
    "veto_blocks",
    "sensitivity_max",
    "sensitivity_median",
)

_QUANT = {
    "score": Decimal("0.1"),
    "canteen_mean": Decimal("0.000001"),
    "safety_mean": Decimal("0.000001"),
    "staff_mean": Decimal("0.000001"),
    "spot_mean": Decimal("0.000001"),
    "sensitivity_median": Decimal("0.1"),
}


def _converter(field: str) -> Callable[[Any], Any]:
    """How the payload writes ``field``'s values: decimals at the column's scale, enums by value.

    Chosen once per column, not per value: a snapshot of 10,000 schools canonicalises ~250,000 values.
    """
    quantum = _QUANT.get(field)
    if quantum is not None:

        def decimal(value: Any) -> Any:
            if value is None:
                return None
            number = value if isinstance(value, Decimal) else Decimal(str(value))
            return format(number.quantize(quantum), "f")

        return decimal
    if field == "veto_blocks":
        return lambda value: None if value is None else sorted(value)
    return lambda value: value if value is None or isinstance(value, bool) else _jsonable(value)


def _canonical_rows(rows: Sequence[Any], fields: Sequence[str]) -> list[list[Any]]:
    convert = [_converter(f) for f in fields]
    return [[c(v) for c, v in zip(convert, row, strict=True)] for row in rows]


def _digest(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def _veto_blocks(as_of: date) -> dict[int, list[str]]:
    blocks: dict[int, set[str]] = {}
    for veto in db.session.scalars(vetoes_in_force(as_of)):
        blocks.setdefault(veto.school_id, set()).update(veto.blocks or [])
    return {k: sorted(v) for k, v in sorted(blocks.items())}


def build_snapshot(
    target: RankingTarget,
    basis: ScoringBasis,
    *,
    job_run_id: int | None = None,
    as_of: date | None = None,
) -> RankingSnapshot | None:
    """Rank ``target`` from the stored school-month scores; returns the current snapshot (new or equal).

    ``as_of``: the day the ranking is made (the jobs pass today): a term or year counts the months due
    by then (:func:`periods_of`). ``None`` when the target has no such period yet.
    """
    periods = periods_of(target, as_of=as_of)
    if not periods:
        return None
    period_ids = [p.id for p in periods]
    settings = basis.settings
    prev_target = previous_target(target)
    prev = current_snapshot(prev_target.kind, prev_target.key)
    as_of = end_of(periods)
    blocks = _veto_blocks(as_of)

    base = base_select(target, period_ids, settings)
    base_result = db.session.execute(base.order_by(School.id))
    base_fields = list(base_result.keys())
    base_rows = base_result.all()
    inputs = {
        "kind": target.kind.value,
        "key": target.key,
        "period_ids": period_ids,
        "basis": basis.to_json(),
        "previous": prev.payload_hash if prev else None,
        "vetoes_as_of": as_of.isoformat(),
        "vetoes": {str(k): v for k, v in blocks.items()},
        "schools": _canonical_rows(base_rows, base_fields),
    }
    input_hash = _digest(inputs)
    current = current_snapshot(target.kind, target.key)
    if current is not None and current.input_hash == input_hash:
        return current
    snapshot = RankingSnapshot(
        kind=target.kind,
        key=target.key,
        period_ids=period_ids,
        basis=basis.to_json(),
        input_hash=input_hash,
        payload_hash="",
        summary={},
        previous_id=prev.id if prev else None,
        job_run_id=job_run_id,
    )
    db.session.add(snapshot)
    db.session.flush()

    ranks, previous = ranked_select(base, prev.id if prev else None)
    bands = settings["bands"]
    band = case(
        (ranks.c.score.is_(None), null()),
        (ranks.c.score >= _n(bands["A"]), "A"),
        (ranks.c.score >= _n(bands["B"]), "B"),
        (ranks.c.score >= _n(bands["C"]), "C"),
        else_="D",
    )
    movement = case(
        (
            and_(ranks.c.rank_overall.is_not(None), previous.c.rank_overall.is_not(None)),
            previous.c.rank_overall - ranks.c.rank_overall,
        ),
        else_=null(),
    )
    columns = ["snapshot_id", *ENTRY_FIELDS[: ENTRY_FIELDS.index("sensitivity_max")]]
    source = (
        select(
            literal(snapshot.id, Integer),
            ranks.c.school_id,
            ranks.c.status,
            ranks.c.score,
            band,
            ranks.c.months_expected,
            ranks.c.months_counted,
            ranks.c.late_months,
            ranks.c.canteen_applies,
            ranks.c.canteen_mean,
            ranks.c.safety_mean,
            ranks.c.staff_mean,
            ranks.c.spot_mean,
            ranks.c.key_failed,
            ranks.c.credibility_flags,
            ranks.c.school_type,
            ranks.c.peer_group,
            ranks.c.cluster_id,
            ranks.c.rank_overall,
            ranks.c.rank_peer,
            ranks.c.rank_cluster,
            previous.c.rank_overall,
            movement,
            literal(False),
            literal([], RankingEntry.__table__.c.veto_blocks.type),
        )
        .select_from(ranks)
        .outerjoin(previous, previous.c.school_id == ranks.c.school_id)
        .where(true())
    )
    db.session.execute(insert(RankingEntry.__table__).from_select(columns, source))
    # The few vetoed schools: flag them (vetoes never change a score or a rank).
    for school_id, codes in blocks.items():
        db.session.execute(
            update(RankingEntry.__table__)
            .where(RankingEntry.snapshot_id == snapshot.id, RankingEntry.school_id == school_id)
            .values(vetoed=True, veto_blocks=codes)
        )
    if target.kind is not RankingKind.MONTH:
        _store_sensitivity(snapshot, period_ids, settings)
    _finish(snapshot, target)
    return snapshot


def _store_sensitivity(snapshot: RankingSnapshot, period_ids: list[int], settings: dict[str, Any]) -> None:
    """Max and median |rank change| per ranked school over the 6 weight scenarios, in SQL."""
    e = RankingEntry
    ranked = select(e.school_id).where(e.snapshot_id == snapshot.id, e.status == EntryStatus.RANKED.value)
    scores = sensitivity_rows(period_ids, settings, ranked)
    entries = (
        select(e.school_id, e.key_failed, e.spot_mean, e.canteen_mean, e.rank_overall)
        .where(e.snapshot_id == snapshot.id, e.status == EntryStatus.RANKED.value)
        .subquery("entries")
    )
    order = _order(scores.c.score, entries.c.key_failed, entries.c.spot_mean, entries.c.canteen_mean)
    moved = (
        select(
            scores.c.school_id,
            func.abs(
                func.rank().over(partition_by=scores.c.scenario, order_by=order) - entries.c.rank_overall
            ).label("moved"),
        )
        .join(entries, entries.c.school_id == scores.c.school_id)
        .subquery("moved")
    )
    numbered = select(
        moved.c.school_id,
        moved.c.moved,
        func.row_number().over(partition_by=moved.c.school_id, order_by=moved.c.moved).label("rn"),
        func.count().over(partition_by=moved.c.school_id).label("n"),
    ).subquery("numbered")
    lower = (numbered.c.n + 1) / 2  # integer division: the lower middle
    upper = numbered.c.n / 2 + 1
    per_school = (
        select(
            numbered.c.school_id,
            func.max(numbered.c.moved).label("max_moved"),
            func.avg(
                case(
                    (
                        and_(numbered.c.rn >= lower, numbered.c.rn <= upper),
                        numbered.c.moved * literal(Decimal(1), N),
                    ),
                    else_=null(),
                )
            ).label("median_moved"),
        )
        .group_by(numbered.c.school_id)
        .subquery("per_school")
    )
    db.session.execute(
        update(RankingEntry.__table__)
        .where(RankingEntry.snapshot_id == snapshot.id, RankingEntry.school_id == per_school.c.school_id)
        .values(
            sensitivity_max=per_school.c.max_moved,
            sensitivity_median=func.round(per_school.c.median_moved, 1),
        )
    )


def entry_rows(snapshot_id: int) -> list[dict[str, Any]]:
    """The snapshot's entries as canonical dicts, by school id (every school: bureau scope)."""
    cols = [getattr(RankingEntry, f) for f in ENTRY_FIELDS]
    rows = db.session.execute(
        select(*cols).where(RankingEntry.snapshot_id == snapshot_id).order_by(RankingEntry.school_id)
    )
    return [dict(zip(ENTRY_FIELDS, values, strict=True)) for values in _canonical_rows(rows, ENTRY_FIELDS)]


def payload_bytes(snapshot: RankingSnapshot) -> bytes:
    """The canonical serialisation of a snapshot: header facts and entries, no ids or timestamps."""
    body = {
        "kind": snapshot.kind.value,
        "key": snapshot.key,
        "period_ids": snapshot.period_ids,
        "basis": snapshot.basis,
        "input_hash": snapshot.input_hash,
        "entries": entry_rows(snapshot.id),
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _finish(snapshot: RankingSnapshot, target: RankingTarget) -> None:
    rows = entry_rows(snapshot.id)
    counts = {s.value: 0 for s in EntryStatus}
    for row in rows:
        counts[row["status"]] += 1
    summary: dict[str, Any] = {
        "schools": len(rows),
        "counts": counts,
        "vetoed": sum(1 for r in rows if r["vetoed"]),
    }
    if target.kind is not RankingKind.MONTH:
        moves = sorted(r["sensitivity_max"] for r in rows if r["sensitivity_max"] is not None)
        summary["sensitivity"] = {
            "shift": str(snapshot.basis["rules"]["sensitivity_shift"]),
            "max": moves[-1] if moves else None,
            "median_of_max": str(_median(moves)) if moves else None,
            "schools_moving_3_or_more": sum(1 for v in moves if v >= 3),
        }
    snapshot.summary = summary
    snapshot.payload_hash = hashlib.sha256(payload_bytes(snapshot)).hexdigest()
    db.session.flush()


def _median(values: Iterable[int]) -> Decimal:
    v = sorted(values)
    mid = len(v) // 2
    return Decimal(v[mid]) if len(v) % 2 else (Decimal(v[mid - 1]) + Decimal(v[mid])) / 2
