"""A school's months side by side with others': scores and ranks month by month, read set-based.

The compare page (:mod:`service.cockpit.compare`) and the school page (:mod:`service.org.profile`)
both draw 12-month trends from these functions: one query for the scores of every school and month
asked for, one for their ranks - never a query per school or per month. Nothing is computed here:
the composite, areas and band are the stored :class:`~service.scoring.models.SchoolMonthScore` rows
the rankings were built from, and the ranks are the school's entry in each month's *current* ranking
snapshot (the newest one of its key; older snapshots are history).

Scoping is the tenant wall's job: scores and ranking entries are school-owned, so a school outside
the caller's scope simply has no rows here (callers fetch the schools themselves, in scope, first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from service.db import db
from service.periods.models import Period
from service.rankings.models import RankingEntry, RankingKind, RankingSnapshot
from service.scoring.models import MonthStatus, SchoolMonthScore

TREND_MONTHS = 12


@dataclass(frozen=True)
class MonthScore:
    """One school-month as scored (``status`` ``scored`` or ``missing``; no row at all is ``None``)."""

    school_id: int
    period_id: int
    status: MonthStatus
    composite: Decimal | None
    band: str | None
    canteen_applies: bool
    canteen: Decimal | None
    safety: Decimal | None
    staff: Decimal | None
    late: bool
    credibility_flags: int
    key_failed: int
    overdue_hazards: int

    @property
    def scored(self) -> bool:
        return self.status is MonthStatus.SCORED


@dataclass(frozen=True)
class MonthRank:
    """The school's line in the month's current ranking (``rank_*`` is ``None`` when not ranked)."""

    school_id: int
    period_id: int
    status: str
    rank_overall: int | None
    rank_peer: int | None
    rank_cluster: int | None
    movement: int | None
    previous_rank: int | None
    peer_group: str


def window(end: Period, months: int = TREND_MONTHS) -> list[Period]:
    """The ``months`` opened periods up to and including ``end``, oldest first (August is never one)."""
    key = Period.year * 100 + Period.month
    rows = db.session.scalars(
        select(Period)
        .where(key <= end.year * 100 + end.month)
        .order_by(Period.year.desc(), Period.month.desc())
        .limit(months)
    )
    return list(reversed(list(rows)))


def month_scores(school_ids: Sequence[int], periods: Iterable[Period]) -> dict[tuple[int, int], MonthScore]:
    """(school id, period id) → the stored score of every school and period asked for: one query."""
    period_ids = [p.id for p in periods]
    if not school_ids or not period_ids:
        return {}
    s = SchoolMonthScore
    rows = db.session.scalars(select(s).where(s.school_id.in_(school_ids), s.period_id.in_(period_ids)))
    out = {}
    for r in rows:
        out[(r.school_id, r.period_id)] = MonthScore(
            school_id=r.school_id,
            period_id=r.period_id,
            status=r.status,
            composite=r.composite,
            band=r.band.value if r.band else None,
            canteen_applies=r.canteen_applies,
            canteen=r.canteen_area,
            safety=r.safety_area,
            staff=r.staff_area,
            late=r.late,
            credibility_flags=int(r.canteen_flag) + int(r.safety_flag),
            key_failed=r.key_failed,
            overdue_hazards=r.overdue_hazards,
        )
    return out


def month_ranks(school_ids: Sequence[int], periods: Iterable[Period]) -> dict[tuple[int, int], MonthRank]:
    """(school id, period id) → the school's entry in each month's current ranking: one query."""
    by_code = {p.code: p.id for p in periods}
    if not school_ids or not by_code:
        return {}
    current = (
        select(RankingSnapshot.key.label("key"), func.max(RankingSnapshot.id).label("id"))
        .where(RankingSnapshot.kind == RankingKind.MONTH, RankingSnapshot.key.in_(list(by_code)))
        .group_by(RankingSnapshot.key)
        .subquery("current")
    )
    e = RankingEntry
    rows = db.session.execute(
        select(current.c.key, e).join(e, e.snapshot_id == current.c.id).where(e.school_id.in_(school_ids))
    ).all()
    out = {}
    for key, entry in rows:
        period_id = by_code[key]
        out[(entry.school_id, period_id)] = MonthRank(
            school_id=entry.school_id,
            period_id=period_id,
            status=entry.status.value,
            rank_overall=entry.rank_overall,
            rank_peer=entry.rank_peer,
            rank_cluster=entry.rank_cluster,
            movement=entry.movement,
            previous_rank=entry.previous_rank,
            peer_group=entry.peer_group,
        )
    return out


def scored_periods(school_ids: Sequence[int]) -> list[Period]:
    """The periods in which at least one of the schools has an accepted (scored) month, newest first."""
    if not school_ids:
        return []
    s = SchoolMonthScore
    scored = select(s.period_id).where(s.school_id.in_(school_ids), s.status == MonthStatus.SCORED)
    return list(
        db.session.scalars(
            select(Period).where(Period.id.in_(scored)).order_by(Period.year.desc(), Period.month.desc())
        )
    )


def newest_period() -> Period | None:
    """The newest period opened (a trend with no scored month yet still shows the months)."""
    return db.session.scalars(
        select(Period).order_by(Period.year.desc(), Period.month.desc()).limit(1)
    ).first()
