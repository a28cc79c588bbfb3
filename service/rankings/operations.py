"""Reading rankings: the current snapshot of a month, term or year, its entries, a school's history."""

from __future__ import annotations

from sqlalchemy import select

from service.db import db
from service.rankings.models import RankingEntry, RankingKind, RankingSnapshot


def current_snapshot(kind: RankingKind | str, key: str) -> RankingSnapshot | None:
    """The newest snapshot of ``kind``/``key`` (snapshots are immutable; newer ones supersede)."""
    return db.session.scalars(
        select(RankingSnapshot)
        .where(RankingSnapshot.kind == RankingKind(kind), RankingSnapshot.key == key)
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()


def entries_of(snapshot: RankingSnapshot) -> list[RankingEntry]:
    """The snapshot's entries in scope, ranked first (by overall rank), then the unranked by school."""
    stmt = (
        select(RankingEntry)
        .where(RankingEntry.snapshot_id == snapshot.id)
        .order_by(RankingEntry.rank_overall.is_(None), RankingEntry.rank_overall, RankingEntry.school_id)
    )
    return list(db.session.scalars(stmt))
