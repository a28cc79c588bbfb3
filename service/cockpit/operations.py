"""The first screen's figures: plain functions over the session, each a fixed number of set-based
queries whatever the number of schools (the page stays fast at district scale).

Scoping is the tenant wall's: a bureau role reads the whole district, an inspector the schools of
their clusters - the same functions, no filter by school written here.

What the first screen answers, for the newest month with accepted reports whose deadline has passed
(:func:`newest_due_ranking`) and the month being reported now (:func:`reporting_period`):

* how complete the month is, by cluster, in the status labels of :mod:`service.reports.status`
  (each count with the schools named);
* the ranking's top and bottom and the biggest movers of the newest ranked month;
* overdue hazards (count and the worst), vetoes in force, credibility flags (self-inspections far
  above the spot inspections, from the school-month scores);
* what waits for the bureau: unlock requests, appeals, reports awaiting review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from service.accounts.models import Role
from service.appeals.models import AppealState, InspectionAppeal
from service.core.timeutil import local
from service.db import db
from service.hazards.models import Hazard
from service.hazards.operations import overdue_clause
from service.incidents.vetoes import Veto, vetoes_in_force
from service.org.models import Cluster, School
from service.periods.models import Period, UnlockRequest, UnlockState
from service.rankings import listing
from service.rankings.models import EntryStatus, RankingKind, RankingSnapshot
from service.rankings.operations import current_snapshot
from service.reports.models import MonthlyReport, ReportState
from service.reports.status import STATUS_ORDER, SchoolMonth, SchoolMonthStatus, period_statuses
from service.scoring.models import MonthStatus, SchoolMonthScore

# Who opens on the first screen and reads the boards: the bureau roles and the inspectors (their clusters).
COCKPIT_ROLES = frozenset({Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL, Role.INSPECTOR})
EXTREMES = 5  # top and bottom of the ranking
MOVERS = 5  # biggest movers up and down
WORST = 5  # overdue hazards, vetoes and credibility flags listed on the first screen


# --- which months ----------------------------------------------------------------------------------


def begun_periods(today: date) -> list[Period]:
    """Periods whose month has begun on ``today``, newest first."""
    return list(
        db.session.scalars(
            select(Period)
            .where(Period.year * 12 + Period.month <= today.year * 12 + today.month)
            .order_by(Period.year.desc(), Period.month.desc())
        )
    )


def reporting_period(periods: list[Period], today: date) -> Period | None:
    """The month being reported now: the oldest begun period not yet locked on ``today`` (early in a
    month that is last month, still before its deadline or lock); when all are locked, the newest."""
    open_ = [p for p in periods if not p.is_locked(today)]
    if open_:
        return open_[-1]
    return periods[0] if periods else None


def month_choices(periods: list[Period], today: date, ranked: Period | None) -> list[Period]:
    """The months the completeness table can show: every begun month still open, and the ranked one."""
    chosen = [p for p in periods if not p.is_locked(today)]
    if ranked is not None and all(p.id != ranked.id for p in chosen):
        chosen.append(ranked)
    if not chosen and periods:
        chosen.append(periods[0])
    return sorted(chosen, key=lambda p: (p.year, p.month), reverse=True)


def newest_due_ranking(today: date) -> RankingSnapshot | None:
    """The month ranking the first screen shows: the newest month that ranks somebody and whose
    deadline has passed - every school was due, so its ranking is no longer a handful of early
    acceptances - or, when no such month exists yet, the newest that ranks somebody at all
    (:func:`listing.latest_snapshot`). A few queries, one per month looked at (newest first)."""
    codes = {p.code: p for p in db.session.scalars(select(Period))}
    for key in listing.ranked_keys(RankingKind.MONTH):
        period = codes.get(key)
        if period is None or period.deadline >= today:
            continue
        snapshot = current_snapshot(RankingKind.MONTH, key)
        if snapshot is not None and listing.ranked_count(snapshot):
            return snapshot
    newest = listing.latest_snapshot(RankingKind.MONTH)
    return newest if newest is not None and listing.ranked_count(newest) else None


# --- completeness by cluster -----------------------------------------------------------------------


@dataclass
class ClusterProgress:
    """One cluster's schools of a month, by status (the schools named under each count)."""

    cluster_id: int
    name: str
    by_status: dict[SchoolMonthStatus, list[SchoolMonth]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self.by_status.values())


@dataclass
class Progress:
    period: Period
    clusters: list[ClusterProgress]
    totals: dict[SchoolMonthStatus, int]

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def late_submissions(self) -> int:
        return sum(1 for c in self.clusters for rows in c.by_status.values() for r in rows if r.late)


def progress(period: Period, *, today: date) -> Progress:
    """The month's statuses by cluster (two queries: the statuses, the cluster names)."""
    rows = period_statuses(period, today=today)
    names = dict(db.session.execute(select(Cluster.id, Cluster.name)).all())
    by_cluster: dict[int, ClusterProgress] = {}
    for row in rows:
        cluster = by_cluster.get(row.cluster_id)
        if cluster is None:
            cluster = ClusterProgress(
                row.cluster_id, names.get(row.cluster_id, ""), {s: [] for s in STATUS_ORDER}
            )
            by_cluster[row.cluster_id] = cluster
        cluster.by_status[row.status].append(row)
    totals = {s: sum(len(c.by_status[s]) for c in by_cluster.values()) for s in STATUS_ORDER}
    clusters = sorted(by_cluster.values(), key=lambda c: c.name)
    return Progress(period, clusters, totals)


# --- the ranking: top, bottom, movers --------------------------------------------------------------


@dataclass
class RankingView:
    header: dict[str, Any]
    period: Period | None
    top: list[dict[str, Any]]
    bottom: list[dict[str, Any]]
    up: list[dict[str, Any]]
    down: list[dict[str, Any]]
    counts: dict[str, int]  # entries in scope by engine status
    bands: dict[str, int]  # ranked entries in scope by band


def ranking_view(snapshot: RankingSnapshot) -> RankingView:
    """Top and bottom :data:`EXTREMES` and the biggest movers of the snapshot's entries in scope.

    One query for the entries, two for their schools and clusters (:func:`listing.entry_dicts` on the
    handful shown), one for the header's months.
    """
    entries = list(db.session.scalars(listing.entries_select(snapshot)))
    ranked = [e for e in entries if e.status is EntryStatus.RANKED and e.rank_overall is not None]
    top = ranked[:EXTREMES]
    bottom = ranked[max(EXTREMES, len(ranked) - EXTREMES) :]
    up = sorted(
        (e for e in ranked if (e.movement or 0) > 0), key=lambda e: (-(e.movement or 0), e.rank_overall)
    )
    down = sorted(
        (e for e in ranked if (e.movement or 0) < 0), key=lambda e: (e.movement or 0, e.rank_overall)
    )
    shown = {e.id: e for e in [*top, *bottom, *up[:MOVERS], *down[:MOVERS]]}
    dicts = dict(zip(shown, listing.entry_dicts(list(shown.values())), strict=True))
    counts: dict[str, int] = {s.value: 0 for s in EntryStatus}
    bands: dict[str, int] = {}
    for e in entries:
        counts[e.status.value] += 1
    for e in ranked:
        if e.band is not None:
            bands[e.band.value] = bands.get(e.band.value, 0) + 1
    header = listing.snapshot_header(snapshot)
    period = None
    if snapshot.kind is RankingKind.MONTH and snapshot.period_ids:
        period = db.session.get(Period, snapshot.period_ids[0])
    return RankingView(
        header=header,
        period=period,
        top=[dicts[e.id] for e in top],
        bottom=[dicts[e.id] for e in bottom],
        up=[dicts[e.id] for e in up[:MOVERS]],
        down=[dicts[e.id] for e in down[:MOVERS]],
        counts=counts,
        bands=bands,
    )


# --- hazards, vetoes, credibility ------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueHazard:
    hazard: Hazard
    school: School
    days: int


def overdue_hazards(today: date, *, limit: int = WORST) -> tuple[int, list[OverdueHazard]]:
    """How many hazards in scope are overdue on ``today``, and the ``limit`` longest overdue."""
    clause = overdue_clause(today)
    count = db.session.scalar(select(func.count(Hazard.id)).where(clause)) or 0
    rows = db.session.execute(
        select(Hazard, School)
        .join(School, School.id == Hazard.school_id)
        .where(clause)
        .order_by(Hazard.deadline, Hazard.id)
        .limit(limit)
    ).all()
    return count, [OverdueHazard(h, s, (today - h.deadline).days) for h, s in rows]


@dataclass(frozen=True)
class VetoRow:
    veto: Veto
    school: School


def vetoes(today: date, *, limit: int = WORST) -> tuple[int, int, list[VetoRow]]:
    """Vetoes in force on ``today`` in scope: their number, the schools they bar, the newest ``limit``."""
    in_force = vetoes_in_force(today).subquery()
    count, schools = db.session.execute(
        select(func.count(in_force.c.id), func.count(func.distinct(in_force.c.school_id)))
    ).one()
    rows = db.session.execute(
        vetoes_in_force(today)
        .add_columns(School)
        .join(School, School.id == Veto.school_id)
        .order_by(Veto.starts_on.desc(), Veto.id.desc())
        .limit(limit)
    ).all()
    return int(count or 0), int(schools or 0), [VetoRow(v, s) for v, s in rows]


@dataclass(frozen=True)
class CredibilityFlag:
    school: School
    area: str  # canteen | safety
    self_score: Decimal | None
    spot_score: Decimal | None

    @property
    def gap(self) -> Decimal | None:
        if self.self_score is None or self.spot_score is None:
            return None
        return self.self_score - self.spot_score


def credibility_flags(period: Period) -> list[CredibilityFlag]:
    """The school-months of ``period`` whose self-inspections ran more than the allowed gap above the
    spot inspections (the flags the score engine set), largest gap first."""
    m = SchoolMonthScore
    rows = db.session.execute(
        select(m, School)
        .join(School, School.id == m.school_id)
        .where(m.period_id == period.id, m.status == MonthStatus.SCORED, or_(m.canteen_flag, m.safety_flag))
    ).all()
    out = []
    for score, school in rows:
        if score.canteen_flag:
            out.append(CredibilityFlag(school, "canteen", score.canteen_self, score.canteen_spot))
        if score.safety_flag:
            out.append(CredibilityFlag(school, "safety", score.safety_self, score.safety_spot))
    return sorted(out, key=lambda f: (-(f.gap or 0), f.school.code))


# --- what waits for the bureau ---------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    unlock_requests: int
    appeals: int
    awaiting_review: int
    oldest_days: int  # the longest a submitted report has waited, in days


def waiting(today: date) -> Waiting:
    """Pending unlock requests and appeals, and submitted reports awaiting review (in scope)."""
    unlocks = db.session.scalar(
        select(func.count(UnlockRequest.id)).where(UnlockRequest.state == UnlockState.PENDING)
    )
    appeals = db.session.scalar(
        select(func.count(InspectionAppeal.id)).where(InspectionAppeal.state == AppealState.SUBMITTED)
    )
    count, oldest = db.session.execute(
        select(func.count(MonthlyReport.id), func.min(MonthlyReport.submitted_at)).where(
            MonthlyReport.state == ReportState.SUBMITTED
        )
    ).one()
    first = local(oldest)
    return Waiting(
        int(unlocks or 0),
        int(appeals or 0),
        int(count or 0),
        max((today - first.date()).days, 0) if first else 0,
    )


# --- the first screen ------------------------------------------------------------------------------


@dataclass
class FirstScreen:
    today: date
    ranking: RankingView | None
    early: dict[str, Any] | None  # a newer month's ranking, before its deadline (its first acceptances)
    term: dict[str, Any] | None  # the newest ranked term's header (a link)
    progress: Progress | None
    reporting: Period | None  # the month being reported now
    months: list[Period]  # the months the completeness table can switch to
    hazards_overdue: int
    hazards: list[OverdueHazard]
    vetoes_count: int
    vetoed_schools: int
    vetoes: list[VetoRow]
    credibility: list[CredibilityFlag]
    waiting: Waiting


def first_screen(today: date, *, month: str | None = None) -> FirstScreen:
    """Everything the first screen shows, in a fixed number of queries.

    ``month`` (``YYYY-MM``) picks the completeness table's month among :func:`month_choices`; by
    default it is the month being reported now (:func:`reporting_period`).
    """
    snapshot = newest_due_ranking(today)
    ranking = ranking_view(snapshot) if snapshot is not None else None
    newest = listing.latest_snapshot(RankingKind.MONTH)
    early = (
        {**listing.snapshot_header(newest), "ranked": listing.ranked_count(newest)}
        if newest is not None
        and snapshot is not None
        and newest.id != snapshot.id
        and listing.ranked_count(newest)
        else None
    )
    term = listing.latest_snapshot(RankingKind.TERM)
    periods = begun_periods(today)
    reporting = reporting_period(periods, today)
    months = month_choices(periods, today, ranking.period if ranking else None)
    shown = next((p for p in months if p.code == month), None) or reporting
    hazards_overdue, hazards = overdue_hazards(today)
    vetoes_count, vetoed_schools, veto_rows = vetoes(today)
    return FirstScreen(
        today=today,
        ranking=ranking,
        early=early,
        term=listing.snapshot_header(term) if term is not None and listing.ranked_count(term) else None,
        progress=progress(shown, today=today) if shown is not None else None,
        reporting=reporting,
        months=months,
        hazards_overdue=hazards_overdue,
        hazards=hazards,
        vetoes_count=vetoes_count,
        vetoed_schools=vetoed_schools,
        vetoes=veto_rows,
        credibility=credibility_flags(ranking.period)[:WORST] if ranking and ranking.period else [],
        waiting=waiting(today),
    )
