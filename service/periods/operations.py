"""Periods, deadlines, locks and unlock requests: plain functions over the session."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.audit.trail import current_actor
from service.core import workflow
from service.core.errors import Conflict, DomainError
from service.core.timeutil import local
from service.core.types import utcnow
from service.db import db
from service.periods.models import (
    DEFAULT_DEADLINE_DAY,
    DEFAULT_LOCK_DAYS,
    UNLOCK_DAYS,
    Period,
    UnlockRequest,
    UnlockState,
)

NON_REPORTING_MONTHS = frozenset({8})  # August: summer holiday, not a reporting month
UNLOCK_REQUEST_LOCK = 714_032  # workflow.serialize: one unlock request of a month at a time


def default_deadline(year: int, month: int) -> date:
    """The 5th of the following month."""
    if month == 12:
        return date(year + 1, 1, DEFAULT_DEADLINE_DAY)
    return date(year, month + 1, DEFAULT_DEADLINE_DAY)


def list_periods() -> Any:
    return select(Period).order_by(Period.year.desc(), Period.month.desc())


def create_period(data: Mapping[str, Any]) -> Period:
    year, month = int(data["year"]), int(data["month"])
    errors: dict[str, list[str]] = {}
    if month in NON_REPORTING_MONTHS:
        errors["month"] = [_("August is not a reporting month.")]
    if db.session.scalar(select(Period.id).where(Period.year == year, Period.month == month)):
        errors["month"] = [_("This month already has a period.")]
    deadline = data.get("deadline") or default_deadline(year, month)
    if deadline <= date(year, month, calendar.monthrange(year, month)[1]):
        errors["deadline"] = [_("The deadline must fall after the month ends.")]
    if errors:
        raise DomainError(errors)
    period = Period(
        year=year, month=month, deadline=deadline, lock_days=data.get("lock_days", DEFAULT_LOCK_DAYS)
    )
    db.session.add(period)
    db.session.flush()
    return period


def update_period(period: Period, data: Mapping[str, Any], *, today: date) -> Period:
    if period.is_locked(today):
        raise Conflict({"_schema": [_("The period is locked; its deadline can no longer change.")]})
    for key in ("deadline", "lock_days"):
        if key in data:
            setattr(period, key, data[key])
    last_day = date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])
    if period.deadline <= last_day:
        raise DomainError({"deadline": [_("The deadline must fall after the month ends.")]})
    _rejudge_lateness(period)
    db.session.flush()
    return period


def _rejudge_lateness(period: Period) -> None:
    """A moved deadline re-judges every submitted report of the period against it (Beijing dates).

    Row by row (at most one report per school) so the audit trail shows each changed flag.
    """
    from service.reports.models import MonthlyReport  # reports build on periods, not the reverse

    reports = db.session.scalars(
        select(MonthlyReport).where(
            MonthlyReport.period_id == period.id, MonthlyReport.first_submitted_at.is_not(None)
        )
    )
    for report in reports:
        submitted = local(report.first_submitted_at)
        assert submitted is not None
        report.late = submitted.date() > period.deadline


def ensure_period(year: int, month: int) -> Period:
    """The period for a month, created with the default deadline if missing."""
    period = db.session.scalars(
        select(Period).where(Period.year == year, Period.month == month)
    ).one_or_none()
    return period or create_period({"year": year, "month": month})


def is_open_for(period: Period, school_id: int, today: date) -> bool:
    """Whether a school may still change this month: before the lock, or within a granted unlock."""
    if not period.is_locked(today):
        return True
    granted = db.session.scalar(
        select(UnlockRequest.id).where(
            UnlockRequest.school_id == school_id,
            UnlockRequest.period_id == period.id,
            UnlockRequest.state == UnlockState.GRANTED,
            UnlockRequest.unlocked_until >= today,
        )
    )
    return granted is not None


def open_period_ids(periods: Iterable[Period], school_id: int, today: date) -> set[int]:
    """The ids of ``periods`` the school may still change today (:func:`is_open_for` of each), in one
    statement for the locked ones however many there are."""
    periods = list(periods)
    open_ids = {p.id for p in periods if not p.is_locked(today)}
    locked = [p.id for p in periods if p.id not in open_ids]
    if locked:
        open_ids |= set(
            db.session.scalars(
                select(UnlockRequest.period_id).where(
                    UnlockRequest.school_id == school_id,
                    UnlockRequest.period_id.in_(locked),
                    UnlockRequest.state == UnlockState.GRANTED,
                    UnlockRequest.unlocked_until >= today,
                )
            )
        )
    return open_ids


def is_month_open_for(school_id: int, day: date, today: date) -> bool:
    """Whether a school may still change the month of ``day``: :func:`is_open_for` on its period.

    A month the bureau never opened a period for (before Houqin, or August) locks on the default
    schedule (deadline the 5th of the next month, then :data:`DEFAULT_LOCK_DAYS`), so an old month
    without a period is as closed to the school as one with it.
    """
    period = db.session.scalars(
        select(Period).where(Period.year == day.year, Period.month == day.month)
    ).one_or_none()
    if period is None:
        period = Period(  # transient: never added to the session
            year=day.year,
            month=day.month,
            deadline=default_deadline(day.year, day.month),
            lock_days=DEFAULT_LOCK_DAYS,
        )
        return not period.is_locked(today)
    return is_open_for(period, school_id, today)


def request_unlock(
    period: Period, reason: str, *, school_id: int | None = None, today: date
) -> UnlockRequest:
    if not reason or len(reason.strip()) < 4:
        raise DomainError({"reason": [_("Please give a reason (at least 4 characters).")]})
    if not period.is_locked(today):
        raise Conflict({"period_id": [_("The period is not locked; no unlock is needed.")]})
    workflow.serialize(UNLOCK_REQUEST_LOCK, period.id)  # two requests at once: the second sees the first
    pending = select(UnlockRequest.id).where(
        UnlockRequest.period_id == period.id, UnlockRequest.state == UnlockState.PENDING
    )
    if school_id is not None:
        pending = pending.where(UnlockRequest.school_id == school_id)
    if db.session.scalar(pending) is not None:
        raise Conflict({"period_id": [_("A request for this month is already waiting for a decision.")]})
    actor = current_actor()
    req = UnlockRequest(period_id=period.id, reason=reason.strip(), requested_by_id=actor.user_id)
    if school_id is not None:
        req.school_id = school_id
    db.session.add(req)
    db.session.flush()
    return req


def decide_unlock(req: UnlockRequest, *, grant: bool, note: str, today: date) -> UnlockRequest:
    """Grant or refuse a pending request; of two decisions at the same moment one wins, the other 409."""
    if req.state is not UnlockState.PENDING:
        raise Conflict({"state": [_("This request has already been decided.")]})
    if not grant and not note.strip():
        raise DomainError({"note": [_("Please say why the request is refused.")]})
    workflow.claim(
        req, UnlockState.PENDING, refusal=lambda _state: _("This request has already been decided.")
    )
    req.state = UnlockState.GRANTED if grant else UnlockState.REFUSED
    req.decided_by_id = current_actor().user_id
    req.decided_at = utcnow()
    req.decision_note = note.strip()
    if grant:
        req.unlocked_until = today + timedelta(days=UNLOCK_DAYS)
    db.session.flush()
    return req
