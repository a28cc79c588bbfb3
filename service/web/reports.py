"""Web pages of the monthly report (月报): the list a school or a reviewer works from, one report's page
with its workflow buttons, and the bureau's completeness view. Scoping is the tenant wall's job."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.types import utcnow
from service.db import db
from service.evaluations.operations import list_evaluations, missing_evaluations
from service.inspections.operations import list_inspections
from service.org.models import School
from service.periods.models import Period
from service.periods.operations import list_periods
from service.reports import operations as reports
from service.reports.models import TRANSITIONS, MonthlyReport
from service.web.views import bp

ACTIONS = {
    "submit": ((Role.SCHOOL_ADMIN,), False),
    "return": ((Role.BUREAU_ADMIN, Role.INSPECTOR), True),
    "accept": ((Role.BUREAU_ADMIN, Role.INSPECTOR), False),
    "reopen": ((Role.BUREAU_ADMIN,), True),
}


@bp.route("/reports")
@login_required
def report_list() -> Any:
    """Schools see their own months; reviewers pick a period and see every school in their scope."""
    periods = list(db.session.scalars(list_periods()))
    period_id = request.args.get("period_id", type=int) or (periods[0].id if periods else None)
    period = next((p for p in periods if p.id == period_id), None)
    rows = reports.completeness(period) if period is not None else []
    own = []
    if current_user.role is Role.SCHOOL_ADMIN:
        own = list(db.session.scalars(reports.list_reports()))
    return render_template("reports/list.html", periods=periods, period=period, rows=rows, own=own)


@bp.route("/reports/<int:report_id>")
@login_required
def report_detail(report_id: int) -> Any:
    try:
        report = get_or_404(MonthlyReport, report_id)
    except NotFound:
        abort(404)
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    inspections = list(
        db.session.scalars(list_inspections(period_id=report.period_id, school_id=report.school_id))
    )
    evaluations = list(
        db.session.scalars(list_evaluations(period_id=report.period_id, school_id=report.school_id))
    )
    return render_template(
        "reports/detail.html",
        report=report,
        school=school,
        inspections=inspections,
        evaluations=evaluations,
        missing=missing_evaluations(report),
        transitions=reports.transitions_of(report),
        # Only the moves this user may make from the report's present state.
        actions=[
            a
            for a, (roles, _r) in ACTIONS.items()
            if current_user.role in roles and report.state in TRANSITIONS[a][0]
        ],
    )


@bp.route("/reports/<int:report_id>/action", methods=["POST"])
@login_required
def report_action(report_id: int) -> Any:
    """Submit, return (with a reason), accept or reopen - the same domain functions as the API."""
    try:
        report = get_or_404(MonthlyReport, report_id)
    except NotFound:
        abort(404)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    roles, _needs_reason = ACTIONS[action]
    if current_user.role not in roles:
        abort(403)
    reason = request.form.get("reason", "")
    now = utcnow()
    try:
        if action == "submit":
            reports.submit(report, now=now)
        elif action == "return":
            reports.return_report(report, reason, now=now)
        elif action == "accept":
            reports.accept(report, now=now)
        else:
            reports.reopen(report, reason, now=now)
    except DomainError as exc:
        db.session.rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("web.report_detail", report_id=report_id))
    db.session.commit()
    flash(_("Done."), "success")
    return redirect(url_for("web.report_detail", report_id=report_id))


@bp.route("/periods/<int:period_id>/open-report", methods=["POST"])
@login_required
def open_report(period_id: int) -> Any:
    """A school admin starts (or finds) their report for a period."""
    try:
        period = get_or_404(Period, period_id)
    except NotFound:
        abort(404)
    if current_user.role is not Role.SCHOOL_ADMIN:
        abort(403)
    report = reports.open_report(period)
    db.session.commit()
    return redirect(url_for("web.report_detail", report_id=report.id))
