"""The monthly report workflow: plain functions over the session (flush, never commit).

Each action checks that its move is in :data:`TRANSITIONS`, writes a ``report_transitions`` row, and
for acceptance and reopening emits the domain event the ranking engine subscribes to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, select

from service.audit.trail import current_actor
from service.core import events, workflow
from service.core.errors import Conflict, DomainError
from service.core.labels import label
from service.core.timeutil import SHANGHAI
from service.db import db
from service.org.models import School
from service.periods.models import Period
from service.periods.operations import is_open_for
from service.reports.models import (
    ACTION_LABELS,
    REPORT_STATE_LABELS,
    TRANSITIONS,
    MonthlyReport,
    ReportState,
    ReportTransition,
)

EDITABLE_STATES = frozenset({ReportState.DRAFT, ReportState.RETURNED})

# Checks other areas register (this module never imports them): each returns {field: [messages]} of what
# stops the report from being submitted; any message refuses the submission with 409.
SUBMISSION_CHECKS: list[Callable[[MonthlyReport], dict[str, list[str]]]] = []


def list_reports(*, period_id: int | None = None, state: ReportState | None = None) -> Any:
    stmt = select(MonthlyReport).order_by(MonthlyReport.period_id.desc(), MonthlyReport.school_id)
    if period_id is not None:
        stmt = stmt.where(MonthlyReport.period_id == period_id)
    if state is not None:
        stmt = stmt.where(MonthlyReport.state == state)
    return stmt


def open_report(period: Period, *, school_id: int | None = None) -> MonthlyReport:
    """The school's report for ``period``, created as a draft on first use (idempotent)."""
    stmt = select(MonthlyReport).where(MonthlyReport.period_id == period.id)
    if school_id is not None:
        stmt = stmt.where(MonthlyReport.school_id == school_id)
    existing = db.session.scalars(stmt).all()
    if len(existing) == 1:
        return existing[0]
    if len(existing) > 1:
        raise DomainError({"school_id": [_("Missing data for required field.")]})
    report = MonthlyReport(period_id=period.id, state=ReportState.DRAFT)
    if school_id is not None:
        report.school_id = school_id
    db.session.add(report)
    db.session.flush()
    return report


def ensure_editable(report: MonthlyReport, *, today: date) -> None:
    """Refuse changes to a report's data once it is submitted or accepted, or its month is locked."""
    if report.state not in EDITABLE_STATES:
        raise Conflict(
            {"state": [_("The report has been submitted; it can only change after it is returned.")]}
        )
    if not is_open_for(report.period, report.school_id, today):
        raise Conflict({"period_id": [_("The month is locked. Ask the bureau to unlock it.")]})


def _move(report: MonthlyReport, action: str, *, now: datetime, note: str = "") -> ReportTransition:
    return workflow.advance(
        report,
        action,
        transitions=TRANSITIONS,
        log_model=ReportTransition,
        link="report_id",
        refusal=lambda state, act: _(
            "A report in state %(state)s cannot be %(action)s.",
            state=label(REPORT_STATE_LABELS, state),
            action=label(ACTION_LABELS, act),
        ),
        now=now,
        note=note,
    )


def submission_problems(report: MonthlyReport) -> dict[str, list[str]]:
    """Everything that stops ``report`` from being submitted, from every registered check at once.

    :func:`submit` refuses with exactly these (409), and the month's page lists them before anyone
    presses the button - one list, from the same checks, so the page and the API never disagree.
    """
    errors: dict[str, list[str]] = {}
    for check in SUBMISSION_CHECKS:
        for field, messages in check(report).items():
            errors.setdefault(field, []).extend(messages)
    return errors


def submit(report: MonthlyReport, *, now: datetime) -> MonthlyReport:
    """Submit for review. Lateness is judged on the first submission, in Beijing time."""
    today = now.astimezone(SHANGHAI).date()
    if report.state in EDITABLE_STATES and not is_open_for(report.period, report.school_id, today):
        raise Conflict({"period_id": [_("The month is locked. Ask the bureau to unlock it.")]})
    if report.state in EDITABLE_STATES:
        errors = submission_problems(report)
        if errors:
            raise Conflict(errors)
    _move(report, "submit", now=now)
    report.submitted_at = now
    if report.first_submitted_at is None:
        report.first_submitted_at = now
        report.late = today > report.period.deadline
    db.session.flush()
    return report


def return_report(report: MonthlyReport, reason: str, *, now: datetime) -> MonthlyReport:
    if not reason or len(reason.strip()) < 4:
        raise DomainError({"reason": [_("Please give a reason (at least 4 characters).")]})
    transition = _move(report, "return", now=now, note=reason.strip())
    report.return_reason = reason.strip()
    report.reviewed_by_id = current_actor().user_id
    report.reviewed_at = now
    db.session.flush()
    events.emit(
        events.REPORT_RETURNED,
        school_id=report.school_id,
        period_id=report.period_id,
        period_code=report.period.code,
        report_id=report.id,
        transition_id=transition.id,
    )
    return report


def accept(report: MonthlyReport, *, now: datetime) -> MonthlyReport:
    _move(report, "accept", now=now)
    report.reviewed_by_id = current_actor().user_id
    report.reviewed_at = now
    report.accepted_at = now
    report.return_reason = ""
    db.session.flush()
    events.emit(
        events.REPORT_ACCEPTED, school_id=report.school_id, period_id=report.period_id, report_id=report.id
    )
    return report


def reopen(report: MonthlyReport, reason: str, *, now: datetime) -> MonthlyReport:
    """Take an accepted report back for correction (bureau admin); its month leaves the rankings."""
    if not reason or len(reason.strip()) < 4:
        raise DomainError({"reason": [_("Please give a reason (at least 4 characters).")]})
    _move(report, "reopen", now=now, note=reason.strip())
    report.return_reason = reason.strip()
    report.accepted_at = None
    db.session.flush()
    events.emit(
        events.REPORT_REOPENED, school_id=report.school_id, period_id=report.period_id, report_id=report.id
    )
    return report


def transitions_of(report: MonthlyReport) -> list[ReportTransition]:
    return list(
        db.session.scalars(
            select(ReportTransition)
            .where(ReportTransition.school_id == report.school_id, ReportTransition.report_id == report.id)
            .order_by(ReportTransition.at, ReportTransition.id)
        )
    )


def completeness(period: Period) -> list[Any]:
    """Every active school in scope with its report's state and timeliness for ``period``.

    One query: schools LEFT JOIN reports. ``status`` is ``missing`` (no submission), ``draft``,
    ``on_time`` or ``late`` (by the first submission).
    """
    status = case(
        (MonthlyReport.id.is_(None), "missing"),
        (MonthlyReport.first_submitted_at.is_(None), "draft"),
        (MonthlyReport.late.is_(True), "late"),
        else_="on_time",
    ).label("status")
    stmt = (
        select(
            School.id.label("school_id"),
            School.code,
            School.name,
            School.cluster_id,
            MonthlyReport.id.label("report_id"),
            MonthlyReport.state,
            MonthlyReport.first_submitted_at,
            status,
        )
        .outerjoin(
            MonthlyReport, and_(MonthlyReport.school_id == School.id, MonthlyReport.period_id == period.id)
        )
        .where(School.active.is_(True))
        .order_by(School.code)
    )
    return list(db.session.execute(stmt).all())
