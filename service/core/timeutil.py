"""Dates and times are Asia/Shanghai for people; stored timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


def today_shanghai() -> date:
    return now_shanghai().date()


def local(dt: datetime | None) -> datetime | None:
    """A stored timestamp in Shanghai time (naive values from SQLite are UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)
