"""Issuing bulletins: a number assigned once per month, term or year, and the figures kept with it.

:func:`issue` is what sending a bulletin calls (the ``bulletin`` renderer, ``houqin bulletin issue``):
the first call for a target reads the current ranking snapshot, assigns the next number of the year
(2026年第11期) and stores the figures; every later call returns that row unchanged, so a resend, a
download or the other language is the same document. Numbers are taken under a transaction-level
advisory lock (PostgreSQL): two workers issuing at once get consecutive numbers, never the same one,
and the second one to issue the same target finds the first one's row. Flush, never commit - the
caller's transaction decides.

:func:`draft` is what a preview shows before anything is issued: the same figures, live, unnumbered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from service.bulletins.content import bulletin_content, public_context
from service.bulletins.models import BulletinIssue
from service.core.errors import NotFound
from service.core.timeutil import now_shanghai
from service.db import db
from service.rankings.calendar import parse_target
from service.rankings.models import RankingKind, RankingSnapshot
from service.rankings.operations import current_snapshot

LOCK_KEY = 714_012  # pg_advisory_xact_lock: one bulletin number at a time
PUBLIC_CONTEXTS_KEPT = 8
_PUBLIC_CONTEXTS: dict[str, dict[str, Any]] = {}  # content hash -> public_context (published_context)


@dataclass(frozen=True)
class Bulletin:
    """A bulletin to render: its figures, and its number when it has been issued."""

    kind: str
    key: str
    content: dict[str, Any]
    public: dict[str, Any]
    issue: BulletinIssue | None  # None: a draft (preview before issue)
    current_snapshot_id: int | None = None  # the newest snapshot now (differs when the ranking moved on)

    @property
    def number(self) -> tuple[int, int] | None:
        return (self.issue.year, self.issue.number) if self.issue else None

    @property
    def superseded(self) -> bool:
        """Issued from a snapshot the ranking has since replaced (a report reopened, data corrected)."""
        return (
            self.issue is not None
            and self.current_snapshot_id is not None
            and self.current_snapshot_id != self.issue.snapshot_id
        )


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def _snapshot(kind: str, key: str) -> RankingSnapshot:
    target = parse_target(kind, key)  # a 422 for a malformed key
    snapshot = current_snapshot(target.kind, target.key)
    if snapshot is None:
        raise NotFound()
    return snapshot


def issued(kind: str, key: str) -> BulletinIssue | None:
    return db.session.scalars(
        select(BulletinIssue).where(BulletinIssue.kind == RankingKind(kind).value, BulletinIssue.key == key)
    ).first()


def _lock() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def issue(kind: str, key: str) -> BulletinIssue:
    """The issued bulletin of ``kind``/``key``: issued now (numbered, figures kept) unless it already was.

    Bureau scope (the figures name every school). NotFound when the target has no ranking yet.
    """
    existing = issued(kind, key)
    if existing is not None:
        return existing
    _lock()
    existing = issued(kind, key)  # issued by another worker while this one waited for the lock
    if existing is not None:
        return existing
    snapshot = _snapshot(kind, key)
    content = bulletin_content(snapshot)
    year = now_shanghai().year
    number = (
        db.session.scalar(select(func.max(BulletinIssue.number)).where(BulletinIssue.year == year)) or 0
    ) + 1
    row = BulletinIssue(
        year=year,
        number=number,
        kind=snapshot.kind.value,
        key=snapshot.key,
        snapshot_id=snapshot.id,
        payload_hash=snapshot.payload_hash,
        content_hash=digest(content),
        content=content,
        public_context=public_context(content),
    )
    db.session.add(row)
    db.session.flush()
    return row


def bulletin(kind: str, key: str) -> Bulletin:
    """The issued bulletin of the target, or a draft from its current snapshot (bureau scope)."""
    row = issued(kind, key)
    if row is not None:
        current = current_snapshot(RankingKind(kind), key)
        return Bulletin(
            row.kind,
            row.key,
            row.content,
            row.public_context,
            row,
            current_snapshot_id=current.id if current else None,
        )
    snapshot = _snapshot(kind, key)
    content = bulletin_content(snapshot)
    return Bulletin(
        snapshot.kind.value,
        snapshot.key,
        content,
        public_context(content),
        None,
        current_snapshot_id=snapshot.id,
    )


def issued_bulletin(kind: str, key: str) -> Bulletin:
    """Issue if needed (numbered, kept) and return it - what sending calls."""
    row = issue(kind, key)
    current = current_snapshot(RankingKind(kind), key)
    return Bulletin(
        row.kind,
        row.key,
        row.content,
        row.public_context,
        row,
        current_snapshot_id=current.id if current else None,
    )


def published_context(kind: str, key: str) -> dict[str, Any] | None:
    """The public part of the issued bulletin (any scope may read it: a bureau-level row).

    Only that column is read - not ``content``, the whole bulletin - and its parsed value is kept per
    process by the issue's content hash: an issued bulletin never changes, and a month's report cards
    (one per school) all read the same one. Shared, then: read it, never change it."""
    row = db.session.execute(
        select(BulletinIssue.content_hash).where(
            BulletinIssue.kind == RankingKind(kind).value, BulletinIssue.key == key
        )
    ).first()
    if row is None:
        return None
    cached = _PUBLIC_CONTEXTS.get(row.content_hash)
    if cached is None:
        cached = db.session.scalar(
            select(BulletinIssue.public_context).where(
                BulletinIssue.kind == RankingKind(kind).value, BulletinIssue.key == key
            )
        )
        if len(_PUBLIC_CONTEXTS) >= PUBLIC_CONTEXTS_KEPT:
            _PUBLIC_CONTEXTS.pop(next(iter(_PUBLIC_CONTEXTS)))
        _PUBLIC_CONTEXTS[row.content_hash] = cached
    return cached


def published_means(keys: list[str]) -> dict[str, str]:
    """District mean composite of each issued monthly bulletin among ``keys`` (for a school's trend)."""
    if not keys:
        return {}
    mean = BulletinIssue.public_context["mean"].as_string()
    rows = db.session.execute(
        select(BulletinIssue.key, mean).where(
            BulletinIssue.kind == RankingKind.MONTH.value, BulletinIssue.key.in_(keys)
        )
    )
    return {key: value for key, value in rows if value}
