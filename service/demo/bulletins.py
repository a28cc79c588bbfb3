"""The demo bureau's bulletins of the months before: issued as it would have issued them in the year.

A bureau that has used the product for a year has a numbered bulletin for every reported month, and a
school's report card shows the district mean of each month beside its own score (the mean is public
once the month's bulletin is issued, service/bulletins/report_card.py). So the demo issues the bulletin
of every month locked before its day, oldest first, on the day the month locked (09:00 Shanghai time,
the application clock moved there for the issue): numbers run per calendar year of issue
(``2026年第1期`` …), as they do for a real bureau. The newest reported month, if it is not locked yet, is
issued when the demo's outbox sends it (its preparer), like in production.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from service.bulletins.operations import issue
from service.core.errors import DomainError, NotFound
from service.core.timeutil import SHANGHAI, clock_at
from service.db import db
from service.periods.models import Period


def issue_past_bulletins(today: date) -> list[str]:
    """Issue the bulletin of each month locked before ``today`` that has a ranking; the keys issued."""
    issued = []
    periods = db.session.scalars(select(Period).order_by(Period.year, Period.month))
    for period in [p for p in periods if p.locks_on <= today]:
        locked = period.locks_on
        with clock_at(datetime(locked.year, locked.month, locked.day, 9, tzinfo=SHANGHAI)):
            try:
                issue("month", period.code)
            except (NotFound, DomainError):  # not ranked (the August break): no bulletin
                continue
        issued.append(period.code)
    return issued
