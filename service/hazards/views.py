"""Hazards and their rectification (隐患整改) as pages: the list with deadlines and overdue days, logging a
notice (整改通知单), correcting it, and moving it open → rectifying → closed (with the closing note and
date), or back to rectifying when the bureau reopens it.

The same schemas and operations as ``service/hazards/api.py``, the same roles per action and the same
``by_bureau`` answer (bureau admins and inspectors act for the bureau). Whether a notice can still be
corrected is asked of :func:`operations.update_hazard` itself (an empty correction changes nothing and
is refused exactly when a real one would be: a closed notice, or the bureau's notice for a school).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.converters import int4
from service.core.labels import label
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.hazards import operations
from service.hazards.api import BUREAU_SIDE, ISSUERS
from service.hazards.models import (
    HAZARD_ACTION_LABELS,
    HAZARD_SEVERITY_LABELS,
    HAZARD_STATE_LABELS,
    HAZARD_TRANSITIONS,
    Hazard,
    HazardSeverity,
    HazardState,
)
from service.hazards.schemas import CloseIn, HazardIn, HazardPatch, ReopenIn
from service.inspections.models import INSPECTION_KIND_LABELS, INSPECTION_MODE_LABELS
from service.inspections.operations import list_inspections
from service.org import operations as org
from service.org.models import School
from service.web.forms import Invalid, attempt, load
from service.web.monthly_forms import form_data, found, refusal, require
from service.web.views import bp

PER_PAGE = 50
FIELDS = (
    "title",
    "location",
    "severity",
    "responsible_person",
    "found_on",
    "deadline",
    "source_inspection_id",
    "description",
)
# Who may make each move: the roles of the API's endpoints (start, close, reopen).
ACTION_ROLES: dict[str, tuple[Role, ...]] = {
    "start": (Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN),
    "close": ISSUERS,
    "reopen": BUREAU_SIDE,
}
FILTERS = ("", "open", "overdue", "closed")
# The buttons' words (the history shows HAZARD_ACTION_LABELS: "started", "closed", ...).
HAZARD_BUTTONS = {
    "start": ("开始整改", "Start rectifying"),
    "close": ("整改销号", "Close"),
    "reopen": ("重新打开", "Reopen"),
}
PAGE_LABELS = {
    "HAZARD_SEVERITY_LABELS": HAZARD_SEVERITY_LABELS,
    "HAZARD_STATE_LABELS": HAZARD_STATE_LABELS,
    "HAZARD_ACTION_LABELS": HAZARD_ACTION_LABELS,
    "HAZARD_BUTTONS": HAZARD_BUTTONS,
    "INSPECTION_KIND_LABELS": INSPECTION_KIND_LABELS,
    "INSPECTION_MODE_LABELS": INSPECTION_MODE_LABELS,
}


def _by_bureau() -> bool:
    return current_user.role in BUREAU_SIDE


def _school_side() -> bool:
    return current_user.role is Role.SCHOOL_ADMIN


# --- list ---------------------------------------------------------------------------------------------


def _listing(show: str, school_id: int | None, today: date) -> Any:
    """The list operation's statement for a filter: not closed, overdue (as of today), or closed."""
    if show == "overdue":
        return operations.list_hazards(as_of=today, overdue=True, school_id=school_id)
    if show == "closed":
        return operations.list_hazards(as_of=today, state=HazardState.CLOSED, school_id=school_id)
    stmt = operations.list_hazards(as_of=today, school_id=school_id)
    if show == "open":
        stmt = stmt.where(Hazard.state != HazardState.CLOSED)
    return stmt


@bp.route("/hazards")
@login_required
def hazard_list() -> Any:
    """The school's notices (or the scope's, for inspectors and the bureau), deadlines first."""
    show = request.args.get("show", "")
    if show not in FILTERS:
        show = ""
    school_id = request.args.get("school_id", type=int4)
    page = max(request.args.get("page", 1, type=int4), 1)
    today = today_shanghai()
    stmt = _listing(show, school_id, today)
    rows = list(db.session.scalars(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    schools = {s.id: s for s in db.session.scalars(org.list_schools())}
    return render_template(
        "hazards/list.html",
        hazards=rows[:PER_PAGE],
        more=len(rows) > PER_PAGE,
        page=page,
        show=show,
        school_id=school_id,
        schools=schools,
        today=today,
        can_issue=current_user.role in ISSUERS,
        many_schools=not _school_side(),
        **PAGE_LABELS,
    )


# --- the notice form ----------------------------------------------------------------------------------


def _form_context(hazard: Hazard | None) -> dict[str, Any]:
    """Choices of the form: severities, the scope's schools (bureau side), the school's inspections."""
    ask_school = hazard is None and not _school_side()
    inspections: list[Any] = []
    if not ask_school:
        school_id = hazard.school_id if hazard is not None else None  # a school admin's scope is one school
        inspections = list(db.session.scalars(list_inspections(school_id=school_id).limit(60)))
    schools = list(db.session.scalars(org.list_schools(active=True))) if ask_school else []
    return {
        "severities": [("", "—"), *((s.value, label(HAZARD_SEVERITY_LABELS, s)) for s in HazardSeverity)],
        "ask_school": ask_school,
        "school_options": [("", "—"), *((s.id, s.name) for s in schools)],
        "inspections": inspections,
        "inspection_options": [
            ("", _("None")),
            *(
                (
                    i.id,
                    f"{i.inspected_on.isoformat()} · {label(INSPECTION_KIND_LABELS, i.kind)}"
                    f" · {label(INSPECTION_MODE_LABELS, i.mode)} · {i.score}",
                )
                for i in inspections
            ),
        ],
        **PAGE_LABELS,
    }


def _render_form(
    hazard: Hazard | None,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    return (
        render_template(
            "hazards/form.html", hazard=hazard, values=values, errors=errors or {}, **_form_context(hazard)
        ),
        status,
    )


def _values(hazard: Hazard) -> dict[str, Any]:
    values = {k: getattr(hazard, k) for k in FIELDS}
    values["severity"] = hazard.severity.value
    return values


@bp.route("/hazards/new", methods=["GET", "POST"])
@login_required
def hazard_new() -> Any:
    """Log a rectification notice (school admin for the school; bureau admin or inspector for a school)."""
    if request.method == "GET":
        require(*ISSUERS)
        return _render_form(None, {"found_on": today_shanghai()})
    data = form_data(request.form, (*FIELDS, "school_id"))
    try:
        parsed = load(HazardIn(), data)
        if "school_id" in parsed:
            found(School, parsed["school_id"])  # another school's id reads as not found
        require(*ISSUERS)
        hazard = attempt(
            lambda: operations.create_hazard(parsed, today=today_shanghai(), by_bureau=_by_bureau())
        )
    except Invalid as invalid:
        require(*ISSUERS)
        return _render_form(None, dict(request.form), invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Hazard logged."), "success")
    return redirect(url_for("web.hazard_detail", hazard_id=hazard.id))


def _correction_refused(hazard: Hazard) -> Invalid | None:
    """Whether :func:`operations.update_hazard` refuses a correction now (asked with an empty one)."""
    return refusal(
        lambda: operations.update_hazard(hazard, {}, today=today_shanghai(), by_bureau=_by_bureau())
    )


@bp.route("/hazards/<int:hazard_id>/edit", methods=["GET", "POST"])
@login_required
def hazard_edit(hazard_id: int) -> Any:
    """Correct a notice: the whole form is the patch (the API's schema, every field as on the page)."""
    hazard = found(Hazard, hazard_id)
    require(*ISSUERS)
    if request.method == "GET":
        refused = _correction_refused(hazard)
        if refused is not None:
            return _render_detail(hazard, refused=refused, status=refused.status)
        return _render_form(hazard, _values(hazard))
    data = form_data(request.form, FIELDS)
    try:
        parsed = load(HazardPatch(), data)
        attempt(
            lambda: operations.update_hazard(hazard, parsed, today=today_shanghai(), by_bureau=_by_bureau())
        )
    except Invalid as invalid:
        return _render_form(hazard, dict(request.form), invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Hazard updated."), "success")
    return redirect(url_for("web.hazard_detail", hazard_id=hazard.id))


# --- detail and the workflow --------------------------------------------------------------------------


def _allowed_actions(hazard: Hazard) -> list[str]:
    """The moves the workflow allows from the notice's state that this user's role may make."""
    return [
        action
        for action, (sources, _to) in HAZARD_TRANSITIONS.items()
        if hazard.state in sources and current_user.role in ACTION_ROLES[action]
    ]


def _render_detail(
    hazard: Hazard,
    *,
    action: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    refused: Invalid | None = None,
    status: int = 200,
) -> Any:
    school = db.session.scalars(select(School).where(School.id == hazard.school_id)).one()
    can_edit = current_user.role in ISSUERS and _correction_refused(hazard) is None
    return (
        render_template(
            "hazards/detail.html",
            hazard=hazard,
            school=school,
            today=today_shanghai(),
            transitions=operations.transitions_of(hazard),
            actions=_allowed_actions(hazard),
            action=action,
            values=values or {"closed_on": today_shanghai()},
            errors=errors or {},
            refused=refused,
            can_edit=can_edit,
            **PAGE_LABELS,
        ),
        status,
    )


@bp.route("/hazards/<int:hazard_id>")
@login_required
def hazard_detail(hazard_id: int) -> Any:
    return _render_detail(found(Hazard, hazard_id))


@bp.route("/hazards/<int:hazard_id>/action", methods=["POST"])
@login_required
def hazard_action(hazard_id: int) -> Any:
    """Start rectifying, close (note and date: the API's ``CloseIn``) or reopen (a reason: ``ReopenIn``)."""
    hazard = found(Hazard, hazard_id)
    action = request.form.get("action", "")
    if action not in ACTION_ROLES:
        abort(400)
    require(*ACTION_ROLES[action])
    try:
        if action == "start":
            attempt(lambda: operations.start(hazard, now=utcnow()))
        elif action == "close":
            data = load(CloseIn(), form_data(request.form, ("closing_note", "closed_on")))
            attempt(
                lambda: operations.close(
                    hazard,
                    data["closing_note"],
                    data["closed_on"],
                    today=today_shanghai(),
                    now=utcnow(),
                    by_bureau=_by_bureau(),
                )
            )
        else:
            data = load(ReopenIn(), form_data(request.form, ("reason",)))
            attempt(lambda: operations.reopen(hazard, data["reason"], now=utcnow()))
    except Invalid as invalid:
        return _render_detail(
            hazard, action=action, values=dict(request.form), errors=invalid.errors, status=invalid.status
        )
    db.session.commit()
    flash(_done_message(action), "success")
    return redirect(url_for("web.hazard_detail", hazard_id=hazard.id))


def _done_message(action: str) -> str:
    return {
        "start": _("Rectification started."),
        "close": _("Hazard closed."),
        "reopen": _("Hazard reopened."),
    }[action]
