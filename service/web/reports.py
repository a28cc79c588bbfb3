"""Web pages of the monthly report (月报): the list a school or a reviewer works from, the month's
workspace (one report's page: deadline, checklist, records, score, workflow buttons), and the bureau's
completeness view. Scoping is the tenant wall's job; what the month needs is counted by
:mod:`service.reports.checklist`, never here."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.audit.models import AuditEntry
from service.core.converters import int4
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.evaluations.operations import list_evaluations
from service.hazards.models import HAZARD_STATE_LABELS
from service.incidents.models import INCIDENT_SEVERITY_LABELS, INCIDENT_TYPE_LABELS
from service.incidents.operations import list_incidents
from service.inspections.operations import list_inspections
from service.org.models import School
from service.periods.models import Period
from service.periods.operations import list_periods
from service.reports import checklist
from service.reports import operations as reports
from service.reports.models import TRANSITIONS, MonthlyReport
from service.reports.status import status_by_school
from service.scoring.freshness import score_card
from service.web.filters import maybe_url
from service.web.forms import flatten, rollback
from service.web.views import bp

ACTIONS = {
    "submit": ((Role.SCHOOL_ADMIN,), False),
    "return": ((Role.BUREAU_ADMIN, Role.INSPECTOR), True),
    "accept": ((Role.BUREAU_ADMIN, Role.INSPECTOR), False),
    "reopen": ((Role.BUREAU_ADMIN,), True),
}


# What the flash says after each move (a bare "Done." left the school unsure it had really submitted).
_DONE = {
    "submit": lambda: _("The report was submitted for review."),
    "return": lambda: _("The report was returned to the school with your reason."),
    "accept": lambda: _("The report was accepted."),
    "reopen": lambda: _("The report was reopened for correction."),
}


@bp.route("/reports")
@login_required
def report_list() -> Any:
    """Schools see their own months; reviewers pick a period and see every school in their scope."""
    periods = list(db.session.scalars(list_periods()))
    period_id = request.args.get("period_id", type=int4) or (periods[0].id if periods else None)
    period = next((p for p in periods if p.id == period_id), None)
    rows = reports.completeness(period) if period is not None else []
    statuses = status_by_school(period, today=today_shanghai()) if period is not None else {}
    own = []
    if current_user.role is Role.SCHOOL_ADMIN:
        own = list(db.session.scalars(reports.list_reports()))
    return render_template(
        "reports/list.html", periods=periods, period=period, rows=rows, own=own, statuses=statuses
    )


@bp.route("/reports/<int:report_id>")
@login_required
def report_detail(report_id: int) -> Any:
    """The month's workspace: where the month stands, what it still needs, its records and score.

    The school admin works from it (each checklist line links to its form); inspectors and the bureau
    see the same page read-only, with their workflow buttons."""
    return _render_workspace(_report_or_404(report_id))


def _report_or_404(report_id: int) -> MonthlyReport:
    try:
        return get_or_404(MonthlyReport, report_id)
    except NotFound:
        abort(404)


def _render_workspace(
    report: MonthlyReport,
    *,
    problems: list[str] | None = None,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    """The workspace page; after a refused action, with every problem listed together (``problems``)
    or the refused field's errors beside it (``errors``) and the user's input (``form``) kept."""
    today = today_shanghai()
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    items = checklist.month_checklist(report, today=today)
    deadline = checklist.deadline_info(report.period, report, report.school_id, today=today)
    editable = deadline.state in WRITABLE and current_user.role is Role.SCHOOL_ADMIN
    page = render_template(
        "reports/detail.html",
        report=report,
        school=school,
        items=items,
        progress=checklist.progress(items),
        deadline=deadline,
        editable=editable,
        links={item.key: _links(report, item.key, editable=editable) for item in items},
        inspections=list(
            db.session.scalars(list_inspections(period_id=report.period_id, school_id=report.school_id))
        ),
        evaluations=list(
            db.session.scalars(list_evaluations(period_id=report.period_id, school_id=report.school_id))
        ),
        hazards=checklist.month_hazards(report, today=today),
        hazards_as_of=checklist.hazards_as_of(report, today=today),
        HAZARD_STATE_LABELS=HAZARD_STATE_LABELS,
        INCIDENT_TYPE_LABELS=INCIDENT_TYPE_LABELS,
        INCIDENT_SEVERITY_LABELS=INCIDENT_SEVERITY_LABELS,
        incidents=list(
            db.session.scalars(list_incidents(period_id=report.period_id, school_id=report.school_id))
        ),
        card=score_card(report.school_id, report.period_id),
        transitions=reports.transitions_of(report),
        reviewer=_reviewer_name(report),
        # Only the moves this user may make from the report's present state.
        actions=[
            a
            for a, (roles, _r) in ACTIONS.items()
            if current_user.role in roles and report.state in TRANSITIONS[a][0]
        ],
        problems=problems or [],
        errors=errors or {},
        form=form or {},
        today=today,
    )
    return page, status


# Deadline states in which the school may still change the month.
WRITABLE = frozenset(
    {checklist.DeadlineState.DUE, checklist.DeadlineState.LATE, checklist.DeadlineState.RESUBMIT}
)


def _links(report: MonthlyReport, key: str, *, editable: bool) -> list[tuple[str, str]]:
    """What a checklist line links to: the record's form while the school may edit, the lists
    otherwise; an inspector or the bureau admin gets the spot-inspection form on the inspection
    lines. Pages another build does not have are left out (``maybe_url``)."""
    school_id, period_id = report.school_id, report.period_id
    candidates: list[tuple[str, str, dict[str, Any]]] = []
    if editable:
        candidates = {
            "canteen_self": [
                (
                    _("Add a canteen self-inspection"),
                    "web.inspection_new",
                    {"report_id": report.id, "kind": "canteen"},
                )
            ],
            "safety_self": [
                (
                    _("Add a safety self-inspection"),
                    "web.inspection_new",
                    {"report_id": report.id, "kind": "safety"},
                )
            ],
            "canteen_facts": [(_("Enter the canteen facts"), "web.facts_edit", {"report_id": report.id})],
            "evaluations": [
                (_("Evaluate staff"), "web.evaluations_grid", {"report_id": report.id}),
                # Somebody missing from the grid is added on the roster first.
                (_("Staff roster"), "web.school_detail", {"school_id": school_id, "_anchor": "roster"}),
            ],
            "hazards": [(_("Record a hazard"), "web.hazard_new", {})],
            "incidents": [(_("Report an incident"), "web.incident_new", {})],
        }.get(key, [])
    elif current_user.role in (Role.INSPECTOR, Role.BUREAU_ADMIN) and key in ("canteen_self", "safety_self"):
        kind = "canteen" if key == "canteen_self" else "safety"
        candidates = [
            (
                _("Record a spot inspection"),
                "web.spot_inspection_new",
                {"school_id": school_id, "period_id": period_id, "kind": kind},
            )
        ]
    elif key == "evaluations":
        candidates = [(_("View the evaluations"), "web.evaluations_grid", {"report_id": report.id})]
    if key == "hazards":
        candidates.append((_("Hazard list"), "web.hazard_list", {}))
    elif key == "incidents":
        candidates.append((_("Incident list"), "web.incident_list", {}))
    out = []
    for text, endpoint, values in candidates:
        url = maybe_url(endpoint, **values)
        if url is not None:
            out.append((text, url))
    return out


def _reviewer_name(report: MonthlyReport) -> str:
    """Who last reviewed the report, as the audit trail recorded them: a school cannot read an
    inspector's account row (the tenant wall), but it sees the trail of its own report."""
    if report.reviewed_by_id is None:
        return ""
    name = db.session.scalar(
        select(AuditEntry.actor_name)
        .where(
            AuditEntry.school_id == report.school_id,
            AuditEntry.table_name == MonthlyReport.__tablename__,
            AuditEntry.row_id == report.id,
            AuditEntry.actor_id == report.reviewed_by_id,
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    return name or ""


@bp.route("/reports/<int:report_id>/action", methods=["POST"])
@login_required
def report_action(report_id: int) -> Any:
    """Submit, return (with a reason), accept or reopen - the same domain functions as the API.

    A refusal re-renders the workspace with the API's status: a refused submission lists every
    problem of the month together (one list, from every registered submission check), a missing
    reason shows beside the reason field."""
    report = _report_or_404(report_id)
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
        rollback()
        report = _report_or_404(report_id)
        errors = flatten(exc.errors)
        if "reason" in errors:
            return _render_workspace(
                report,
                errors={f"{action}-reason": errors["reason"]},
                form={"reason": reason},
                status=exc.status,
            )
        problems = [m for messages in errors.values() for m in messages]
        return _render_workspace(report, problems=problems, status=exc.status)
    db.session.commit()
    flash(_DONE[action](), "success")
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
