"""Ranking snapshots and their entries.

A snapshot is immutable: once written, neither it nor its entries change. Recomputing a month, term or
year whose inputs changed writes a NEW snapshot (the newest is the current one; old ones stay as the
history officials can go back to); recomputing with unchanged inputs finds the snapshot with the same
``input_hash`` and writes nothing. ``payload_hash`` is the SHA-256 of the canonical serialisation of
the snapshot's contents (:func:`service.rankings.engine.payload_bytes`), the same bytes on every run
with the same inputs (the job holds a transaction-level advisory lock, so two runs never race).

Entries are school-owned (a school sees its own line); the header is bureau-level and holds no
school's numbers.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.scoring.models import AREA, COMPOSITE, Band
from tenants import TenantOwned


class RankingKind(enum.StrEnum):
    MONTH = "month"
    TERM = "term"  # 学期: term 1 Sep–Jan, term 2 Feb–Jul
    YEAR = "year"  # 学年: Sep–Jul


RANKING_KIND_LABELS = {
    RankingKind.MONTH: ("月度", "Month"),
    RankingKind.TERM: ("学期", "Term"),
    RankingKind.YEAR: ("学年", "School year"),
}


class EntryStatus(enum.StrEnum):
    RANKED = "ranked"
    INSUFFICIENT = "insufficient"  # 数据不足: too many months missing (listed, not ranked)
    MISSING = "missing"  # a month whose report is not accepted


ENTRY_STATUS_LABELS = {
    EntryStatus.RANKED: ("已排名", "Ranked"),
    EntryStatus.INSUFFICIENT: ("数据不足", "Data insufficient"),
    EntryStatus.MISSING: ("缺报", "Missing"),
}


class RankingSnapshot(Base):
    __tablename__ = "ranking_snapshots"
    # Not unique on (kind, key, input_hash): inputs may go back to an earlier state (a report reopened,
    # then accepted unchanged), and the history then holds A, B, A - the newest row is the current one.
    __table_args__ = (Index("ix_ranking_snapshots_kind_key", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RankingKind] = mapped_column(str_enum(RankingKind, "ranking_kind"))
    key: Mapped[str] = mapped_column(String(20))  # 2026-10 | 2025-2026-1 | 2025-2026
    period_ids: Mapped[list[int]] = mapped_column(JSON)
    # What it was computed with: rule-set version and settings, rubric versions, hazard rule.
    basis: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_hash: Mapped[str] = mapped_column(String(64))
    payload_hash: Mapped[str] = mapped_column(String(64))
    # Counts and, for terms and years, the sensitivity summary.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("ranking_snapshots.id", ondelete="SET NULL"), nullable=True
    )
    job_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_runs.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class RankingEntry(TenantOwned, Base):
    __tablename__ = "ranking_entries"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("snapshot_id", "school_id"),
        ForeignKeyConstraint(["snapshot_id"], ["ranking_snapshots.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus, "ranking_entry_status"))
    score: Mapped[Decimal | None] = mapped_column(COMPOSITE, nullable=True)
    band: Mapped[Band | None] = mapped_column(str_enum(Band, "ranking_band"), nullable=True)
    months_expected: Mapped[int] = mapped_column(Integer)
    months_counted: Mapped[int] = mapped_column(Integer)
    late_months: Mapped[int] = mapped_column(Integer, default=0)
    canteen_applies: Mapped[bool] = mapped_column(Boolean)
    canteen_mean: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    safety_mean: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    staff_mean: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    spot_mean: Mapped[Decimal | None] = mapped_column(AREA, nullable=True)
    key_failed: Mapped[int] = mapped_column(Integer, default=0)
    credibility_flags: Mapped[int] = mapped_column(Integer, default=0)
    school_type: Mapped[str] = mapped_column(String(20))
    peer_group: Mapped[str] = mapped_column(String(40))  # e.g. primary:canteen
    cluster_id: Mapped[int] = mapped_column(Integer)
    rank_overall: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rank_peer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rank_cluster: Mapped[int | None] = mapped_column(Integer, nullable=True)
    previous_rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    movement: Mapped[int | None] = mapped_column(Integer, nullable=True)  # previous − this; + is up
    vetoed: Mapped[bool] = mapped_column(Boolean, default=False)
    veto_blocks: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Term and year only: rank movement when one area weight shifts by ± the setting (max, median).
    sensitivity_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sensitivity_median: Mapped[Decimal | None] = mapped_column(Numeric(6, 1), nullable=True)
