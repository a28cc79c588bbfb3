"""Dates and times are Asia/Shanghai for people; stored timestamps are timezone-aware UTC.

**One clock.** Every "now" and "today" the application reads comes from :func:`utcnow` (the domain
operations take ``today``/``now`` arguments; the API, the pages, the jobs and the CLI fill them from
here). Normally it is the system clock. :func:`set_clock` starts it at another instant and lets it run
on from there: the demo shown "as of" a date (``houqin demo --today``), a training copy, and the test
suite, which runs on a fixed date so that no test depends on the day it runs. ``HOUQIN_NOW`` (ISO 8601)
does the same for a process started from the environment (gunicorn, a Celery worker); it is never
set in production.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLOCK_ENV = "HOUQIN_NOW"

# (the instant the clock was set to, time.monotonic() at that moment); None = the system clock.
_started: tuple[datetime, float] | None = None


def parse_instant(value: str) -> datetime:
    """``2026-12-01``, ``2026-12-01T09:30`` (Shanghai time) or with an explicit offset, as aware UTC."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(UTC)


def set_clock(start: datetime | date | str | None) -> None:
    """Run the application clock from ``start`` on (it keeps ticking); ``None`` returns to the system clock.

    A bare date starts at 09:00 Shanghai time that day (office hours, so "today" is that day in every
    time zone that matters here).
    """
    global _started
    if start is None:
        _started = None
        return
    if isinstance(start, str):
        start = parse_instant(start)
    elif not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day, 9, tzinfo=SHANGHAI)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=SHANGHAI)
    _started = (start.astimezone(UTC), time.monotonic())


@contextmanager
def clock_at(start: datetime | date | str) -> Iterator[None]:
    """The application clock run from ``start`` inside the block, then back to what it was (still
    running: a clock that was set keeps its anchor, the system clock stays the system clock). For
    seeding what happened on another day, e.g. the demo's bulletins issued month by month."""
    global _started
    saved = _started
    set_clock(start)
    try:
        yield
    finally:
        _started = saved


def clock_from_env(env: dict[str, str] | None = None) -> None:
    """Apply ``HOUQIN_NOW`` when it is set (a process started "as of" a date); otherwise leave the clock."""
    value = (os.environ if env is None else env).get(CLOCK_ENV, "")
    if value:
        set_clock(value)


def clock_is_set() -> bool:
    return _started is not None


def utcnow() -> datetime:
    if _started is None:
        return datetime.now(UTC)
    start, at = _started
    return start + timedelta(seconds=time.monotonic() - at)


def now_shanghai() -> datetime:
    return utcnow().astimezone(SHANGHAI)


def today_shanghai() -> date:
    return now_shanghai().date()


def local(dt: datetime | None) -> datetime | None:
    """A stored timestamp in Shanghai time (naive values from SQLite are UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def api_timestamp(dt: datetime | None) -> str | None:
    """How the API writes a timestamp: ISO 8601 in Beijing time with its offset, ``…T15:55:00+08:00``.

    One form on every database: PostgreSQL hands back aware values, SQLite naive ones (stored as UTC,
    see :func:`local`); both come out with ``+08:00``, so the date part is the day people saw.
    """
    shown = local(dt)
    return shown.isoformat() if shown is not None else None
