"""Hazards and their rectification workflow: plain functions over the session (flush, never commit).

Who may do what is decided by the API (roles); these functions take ``by_bureau`` where the answer
depends on it: a school's own writes are month-bound (they change the month-end hazard deduction of
the month they fall in, so a submitted report or a locked month refuses them with 409), while the
bureau's findings and corrections are not - the bureau is the authority that locks months.

The month-end count (:func:`overdue_by_school`, :func:`hazard_deduction`) is historical: a hazard
counts at ``as_of`` when it had been found by then, was not closed by then (``closed_on`` empty or
later) and its deadline had passed. Reopening a hazard clears ``closed_on``: a fix that did not hold
was never a fix, so a later recompute of an earlier month counts it as open there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, not_, or_, select

from service.audit.trail import current_actor
from service.core import workflow
from service.core.errors import Conflict, DomainError, NotFound
from service.core.labels import label
from service.db import db
from service.hazards.models import (
    HAZARD_ACTION_LABELS,
    HAZARD_STATE_LABELS,
    HAZARD_TRANSITIONS,
    Hazard,
    HazardState,
    HazardTransition,
)
from service.org.models import School
from service.periods.models import Period
from service.periods.operations import NON_REPORTING_MONTHS, is_open_for
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable
from tenants import current_scope

# rubrics.md formula 2 / safety item G1: each overdue hazard −2, capped at the section's 5 points.
DEDUCTION_PER_OVERDUE = Decimal("2")
DEDUCTION_CAP = Decimal("5")

DESCRIPTIVE_FIELDS = ("title", "description", "location", "severity", "responsible_person")
DATED_FIELDS = ("found_on", "deadline")  # change the month-end count: month-bound for schools


# --- months ---------------------------------------------------------------------------------------


def period_of(day: date, *, field: str) -> Period | None:
    """The period of ``day``'s month; ``None`` in a non-reporting month (August).

    A reporting month without a period yet is refused: the bureau opens months, and data of a month
    must hang on its period (as monthly reports do).
    """
    period = db.session.scalars(
        select(Period).where(Period.year == day.year, Period.month == day.month)
    ).one_or_none()
    if period is None and day.month not in NON_REPORTING_MONTHS:
        raise DomainError({field: [_("No reporting period exists for this month yet.")]})
    return period


def ensure_month_open(school_id: int, period: Period | None, *, today: date) -> None:
    """Refuse a school's write into a month whose report was submitted or whose period is locked.

    Uses :func:`service.reports.operations.ensure_editable` when the school has a report for the
    month; without one, only the period's lock (and a granted unlock) counts. No report is created.
    """
    if period is None:
        return
    report = db.session.scalars(
        select(MonthlyReport).where(
            MonthlyReport.school_id == school_id, MonthlyReport.period_id == period.id
        )
    ).one_or_none()
    if report is not None:
        ensure_editable(report, today=today)
    elif not is_open_for(period, school_id, today):
        raise Conflict({"period_id": [_("The month is locked. Ask the bureau to unlock it.")]})


# --- listing ----------------------------------------------------------------------------------------


def overdue_clause(as_of: date) -> Any:
    """SQL form of :meth:`Hazard.overdue`: found by ``as_of``, not closed by then, deadline passed."""
    return and_(_open_clause(as_of), Hazard.deadline < as_of)


def _open_clause(as_of: date) -> Any:
    return and_(Hazard.found_on <= as_of, or_(Hazard.closed_on.is_(None), Hazard.closed_on > as_of))


def open_clause(as_of: date) -> Any:
    """SQL: found by ``as_of`` and not closed by then (open or rectifying on that day)."""
    return _open_clause(as_of)


def list_hazards(
    *,
    as_of: date,
    state: HazardState | None = None,
    overdue: bool | None = None,
    period_id: int | None = None,
    school_id: int | None = None,
) -> Any:
    stmt = select(Hazard).order_by(Hazard.school_id, Hazard.deadline, Hazard.id)
    if state is not None:
        stmt = stmt.where(Hazard.state == state)
    if overdue is not None:
        clause = overdue_clause(as_of)
        stmt = stmt.where(clause if overdue else not_(clause))
    if period_id is not None:
        stmt = stmt.where(Hazard.period_id == period_id)
    if school_id is not None:
        stmt = stmt.where(Hazard.school_id == school_id)
    return stmt


# --- writing ----------------------------------------------------------------------------------------


def _check_dates(found_on: date, deadline: date, *, today: date) -> None:
    errors: dict[str, list[str]] = {}
    if found_on > today:
        errors["found_on"] = [_("The date cannot be in the future.")]
    if deadline < found_on:
        errors["deadline"] = [_("The deadline cannot be before the day the hazard was found.")]
    if errors:
        raise DomainError(errors)


def create_hazard(data: Mapping[str, Any], *, today: date, by_bureau: bool) -> Hazard:
    """Issue a rectification notice; ``school_id`` comes from the scope for school admins."""
    _check_dates(data["found_on"], data["deadline"], today=today)
    period = period_of(data["found_on"], field="found_on")
    school_id = data.get("school_id") or current_scope().single_school_id
    if school_id is None:
        raise DomainError({"school_id": [_("Missing data for required field.")]})
    if not by_bureau:
        ensure_month_open(school_id, period, today=today)
    _check_source(school_id, data.get("source_inspection_id"))
    hazard = Hazard(
        school_id=school_id,
        **{k: data[k] for k in (*DESCRIPTIVE_FIELDS, *DATED_FIELDS) if k in data},
        source_inspection_id=data.get("source_inspection_id"),
        period_id=period.id if period else None,
        state=HazardState.OPEN,
        issued_by_bureau=by_bureau,
        created_by_id=current_actor().user_id,
    )
    db.session.add(hazard)
    db.session.flush()
    return hazard


def update_hazard(hazard: Hazard, data: Mapping[str, Any], *, today: date, by_bureau: bool) -> Hazard:
    """Correct a notice. Closed notices change only by reopening; a school edits only its own notices."""
    if hazard.state is HazardState.CLOSED:
        raise Conflict({"state": [_("A closed hazard cannot be changed; reopen it first.")]})
    if not by_bureau and hazard.issued_by_bureau:
        raise DomainError(
            {"_request": [_("This notice was issued by the bureau; only the bureau can change it.")]}, 403
        )
    found_on = data.get("found_on", hazard.found_on)
    deadline = data.get("deadline", hazard.deadline)
    dated = any(k in data and data[k] != getattr(hazard, k) for k in DATED_FIELDS)
    if dated:
        _check_dates(found_on, deadline, today=today)
        period = period_of(found_on, field="found_on")
        if not by_bureau:
            ensure_month_open(hazard.school_id, hazard.period, today=today)
            ensure_month_open(hazard.school_id, period, today=today)
        hazard.period_id = period.id if period else None
    if "source_inspection_id" in data:
        _check_source(hazard.school_id, data["source_inspection_id"])
    for key in (*DESCRIPTIVE_FIELDS, *DATED_FIELDS, "source_inspection_id"):
        if key in data:
            setattr(hazard, key, data[key])
    db.session.flush()
    return hazard


def _check_source(school_id: int, inspection_id: int | None) -> None:
    """The inspection a hazard came from must be one of the same school's (and visible in scope)."""
    if inspection_id is None:
        return
    from service.inspections.models import Inspection  # hazards do not otherwise depend on inspections

    found = db.session.scalar(
        select(Inspection.id).where(Inspection.id == inspection_id, Inspection.school_id == school_id)
    )
    if found is None:
        raise DomainError({"source_inspection_id": [_("No such inspection of this school.")]})


def _move(hazard: Hazard, action: str, *, now: datetime, note: str = "") -> HazardTransition:
    return workflow.advance(
        hazard,
        action,
        transitions=HAZARD_TRANSITIONS,
        log_model=HazardTransition,
        link="hazard_id",
        refusal=lambda state, act: _(
            "A hazard in state %(state)s cannot be %(action)s.",
            state=label(HAZARD_STATE_LABELS, state),
            action=label(HAZARD_ACTION_LABELS, act),
        ),
        now=now,
        note=note,
    )


def start(hazard: Hazard, *, now: datetime) -> Hazard:
    """The school has begun fixing it (open → rectifying)."""
    _move(hazard, "start", now=now)
    db.session.flush()
    return hazard


def close(
    hazard: Hazard, closing_note: str, closed_on: date, *, today: date, now: datetime, by_bureau: bool
) -> Hazard:
    """Close with a note on the fix and the day it was fixed (rectifying → closed).

    A school cannot date a fix into a month it can no longer change: that would rewrite the month's
    hazard deduction after the fact.
    """
    sources, _to = HAZARD_TRANSITIONS["close"]
    if hazard.state not in sources:
        _move(hazard, "close", now=now)  # raises the 409
    note = (closing_note or "").strip()
    errors: dict[str, list[str]] = {}
    if not note:
        errors["closing_note"] = [_("Please describe how the hazard was fixed.")]
    if closed_on < hazard.found_on:
        errors["closed_on"] = [_("The hazard cannot be closed before the day it was found.")]
    elif closed_on > today:
        errors["closed_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise DomainError(errors)
    if not by_bureau:
        ensure_month_open(hazard.school_id, period_of(closed_on, field="closed_on"), today=today)
    _move(hazard, "close", now=now, note=note)
    hazard.closing_note = note
    hazard.closed_on = closed_on
    db.session.flush()
    return hazard


def reopen(hazard: Hazard, reason: str, *, now: datetime) -> Hazard:
    """The fix did not hold (closed → rectifying, bureau admin or inspector). The old note stays in the log."""
    if hazard.state is HazardState.CLOSED and (not reason or len(reason.strip()) < 4):
        raise DomainError({"reason": [_("Please give a reason (at least 4 characters).")]})
    _move(hazard, "reopen", now=now, note=(reason or "").strip())
    hazard.closing_note = ""
    hazard.closed_on = None
    db.session.flush()
    return hazard


def transitions_of(hazard: Hazard) -> list[HazardTransition]:
    return list(
        db.session.scalars(
            select(HazardTransition)
            .where(HazardTransition.school_id == hazard.school_id, HazardTransition.hazard_id == hazard.id)
            .order_by(HazardTransition.at, HazardTransition.id)
        )
    )


# --- month-end counts -------------------------------------------------------------------------------


def _counts(as_of: date) -> Any:
    """Schools LEFT JOIN hazards, one row per school: hazards open and overdue on ``as_of``."""
    return (
        select(
            School.id.label("school_id"),
            func.count(Hazard.id).filter(_open_clause(as_of)).label("open_count"),
            func.count(Hazard.id).filter(overdue_clause(as_of)).label("overdue_count"),
        )
        .select_from(School)
        .outerjoin(Hazard, Hazard.school_id == School.id)
        .group_by(School.id)
        .order_by(School.id)
    )


def overdue_by_school(as_of: date) -> list[Any]:
    """Every active school in scope with its open and overdue hazard counts on ``as_of``; one query."""
    return list(db.session.execute(_counts(as_of).where(School.active.is_(True))).all())


def hazard_deduction(
    school_id: int,
    month_end: date,
    *,
    per_hazard: Decimal = DEDUCTION_PER_OVERDUE,
    cap: Decimal = DEDUCTION_CAP,
) -> Decimal:
    """The 隐患整改 deduction of a school's month (rubrics.md formula 2): 2 per overdue hazard, cap 5.

    ``per_hazard`` and ``cap`` default to the shipped rubric (safety item G1); the score engine passes
    the values of the rubric version it scores with. Same query shape as :func:`overdue_by_school`.
    """
    row = db.session.execute(_counts(month_end).where(School.id == school_id)).one_or_none()
    if row is None:
        raise NotFound()
    return min(per_hazard * row.overdue_count, cap)
