"""Working days (工作日) for the appeal deadline: Monday to Friday, minus the configured holidays.

``HOLIDAYS`` in the app config is an optional list of extra non-working dates (ISO strings or
dates), e.g. the State Council's public holidays of the year. Weekend make-up working days (调休) are
not modelled: a Saturday is never a working day here, which only ever gives the school more time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from flask import current_app, has_app_context


def configured_holidays() -> frozenset[date]:
    """The app's ``HOLIDAYS`` as dates (empty outside an app context or when not set)."""
    if not has_app_context():
        return frozenset()
    raw = current_app.config.get("HOLIDAYS") or ()
    if isinstance(raw, str):
        raw = [part for part in raw.replace(";", ",").split(",") if part.strip()]
    return frozenset(d if isinstance(d, date) else date.fromisoformat(str(d).strip()) for d in raw)


def is_working_day(day: date, holidays: Iterable[date] = ()) -> bool:
    return day.weekday() < 5 and day not in set(holidays)


def nth_working_day_after(day: date, n: int, holidays: Iterable[date] = ()) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself never counts)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    off = set(holidays)
    count = 0
    current = day
    while count < n:
        current += timedelta(days=1)
        if is_working_day(current, off):
            count += 1
    return current
