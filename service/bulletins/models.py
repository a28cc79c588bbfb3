"""Issued bulletins (督查通报): a numbered document in the bureau's name, issued once per target.

A bulletin for a month, term or school year gets its number (第N期 of the calendar year it is issued in)
the first time it is issued, and the figures it was issued with are kept on the row (``content``), so
rendering it again - for a resend, a download, a recipient in the other language - gives the same
document even after the ranking or the data behind it moved on. ``snapshot_id`` and ``payload_hash``
name the ranking snapshot the figures were read from (service/rankings: immutable, hash-identified).

``public_context`` is the part of the bulletin every school may read in its report card: the published
ranking (ranks, school names, composites and bands as the snapshot shows them) and district aggregates
(counts, mean, band distribution). It is kept apart from ``content`` so that the report card, rendered
in a school's tenant scope, reads only this column and never another school's deductions, hazards,
incidents or staff.

Bureau-level (no ``school_id``): the bulletin is published to every school.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.core.types import TZDateTime, utcnow
from service.db import Base


class BulletinIssue(Base):
    __tablename__ = "bulletin_issues"
    __table_args__ = (
        UniqueConstraint("year", "number"),  # 2026年第11期 exists once
        UniqueConstraint("kind", "key"),  # one bulletin per month, term or school year
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)  # the calendar year of issue (Beijing time)
    number: Mapped[int] = mapped_column(Integer)  # 第N期 within that year, from 1
    kind: Mapped[str] = mapped_column(String(10))  # month | term | year (RankingKind values)
    key: Mapped[str] = mapped_column(String(20))  # 2026-10 | 2025-2026-1 | 2025-2026
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshots.id", ondelete="RESTRICT"))
    payload_hash: Mapped[str] = mapped_column(String(64))  # the snapshot's payload hash
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical ``content``
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    public_context: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
