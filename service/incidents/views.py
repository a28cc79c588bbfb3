"""Incidents (安全事故) as pages: the list, the 2-hour report, one incident with the vetoes (一票否决) it
caused, and its correction.

The same schemas (:class:`IncidentIn`, :class:`IncidentPatch`) and operations as
``service/incidents/api.py``, with the same ``by_bureau`` answer (the bureau admin). The report form
says the rule itself: an incident reported more than two hours after it happened is reported late
(:func:`models.is_reported_late`, the rule the vetoes read), and when the time entered makes the report
late the form says so before anything is saved and asks the reporter to confirm - the incident is
still recorded, late, with its veto.

A correction sends only what the person changed on the form (compared as the form shows it), as a
PATCH of the API would: the domain refuses, per field and with 403, what a school may not change (the
bureau's findings, and every veto-deciding fact once the bureau has recorded the incident).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.converters import int4
from service.core.labels import label
from service.core.timeutil import now_shanghai, today_shanghai
from service.core.types import utcnow
from service.db import db
from service.hazards.operations import ensure_month_open
from service.incidents import operations
from service.incidents.api import WRITERS
from service.incidents.models import (
    FLAG_LABELS,
    INCIDENT_SEVERITY_LABELS,
    INCIDENT_TYPE_LABELS,
    REPORT_WITHIN,
    Incident,
    IncidentSeverity,
    IncidentType,
    is_reported_late,
)
from service.incidents.schemas import IncidentIn, IncidentPatch
from service.incidents.vetoes import COMMENDATION_LABELS, RULES_BY_CODE, Veto, VetoSource, rule_label
from service.org import operations as org
from service.org.models import School
from service.web.forms import Invalid, attempt, load
from service.web.monthly_forms import found, local_input, messages, refusal, require
from service.web.views import bp

PER_PAGE = 50
TEXT_FIELDS = ("type", "occurred_at", "reported_at", "severity", "description")
BOOLEAN_FIELDS = ("school_at_fault", *FLAG_LABELS)
PAGE_LABELS = {
    "INCIDENT_TYPE_LABELS": INCIDENT_TYPE_LABELS,
    "INCIDENT_SEVERITY_LABELS": INCIDENT_SEVERITY_LABELS,
    "FLAG_LABELS": FLAG_LABELS,
    "COMMENDATION_LABELS": COMMENDATION_LABELS,
}


def _by_bureau() -> bool:
    return current_user.role is Role.BUREAU_ADMIN


def _fields() -> tuple[str, ...]:
    """The fields this user's form carries: a school's report leaves out the bureau's findings."""
    if _by_bureau():
        return operations.EDITABLE_FIELDS
    return operations.FACT_FIELDS


def _rule() -> dict[str, Any]:
    """The 2-hour rule as the form states it: the limit, and what a late report bars (food or not)."""
    general, food = RULES_BY_CODE["hidden_or_late"], RULES_BY_CODE["hidden_or_late_food"]

    def awards(rule: Any) -> str:
        return _(", ").join(label(COMMENDATION_LABELS, b) for b in rule.blocks)

    return {
        "hours": int(REPORT_WITHIN.total_seconds() // 3600),
        "within_ms": int(REPORT_WITHIN.total_seconds() * 1000),
        "months": general.months,
        "awards": awards(general),
        "food_awards": awards(food),
    }


# --- list and detail ----------------------------------------------------------------------------------


@bp.route("/incidents")
@login_required
def incident_list() -> Any:
    kind = request.args.get("type", "")
    page = max(request.args.get("page", 1, type=int4), 1)
    school_id = request.args.get("school_id", type=int4)
    chosen = next((t for t in IncidentType if t.value == kind), None)
    stmt = operations.list_incidents(type=chosen, school_id=school_id)
    rows = list(db.session.scalars(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    vetoed = set(
        db.session.scalars(
            select(Veto.incident_id).where(
                Veto.source == VetoSource.INCIDENT, Veto.incident_id.in_([i.id for i in rows])
            )
        )
    )
    schools = {s.id: s for s in db.session.scalars(org.list_schools())}
    return render_template(
        "incidents/list.html",
        incidents=rows[:PER_PAGE],
        more=len(rows) > PER_PAGE,
        page=page,
        kind=chosen.value if chosen else "",
        kinds=[(t.value, label(INCIDENT_TYPE_LABELS, t)) for t in IncidentType],
        school_id=school_id,
        schools=schools,
        vetoed=vetoed,
        can_report=current_user.role in WRITERS,
        many_schools=current_user.role is not Role.SCHOOL_ADMIN,
        **PAGE_LABELS,
    )


def _month_refusal(incident: Incident) -> Invalid | None:
    """Why a school may no longer correct this incident (the operation's own month check); None if it may."""
    if _by_bureau():
        return None
    return refusal(lambda: ensure_month_open(incident.school_id, incident.period, today=today_shanghai()))


def _render_detail(incident: Incident, refused: Invalid | None = None, status: int = 200) -> Any:
    school = db.session.scalars(select(School).where(School.id == incident.school_id)).one()
    vetoes = operations.vetoes_of(incident)
    return (
        render_template(
            "incidents/detail.html",
            incident=incident,
            school=school,
            vetoes=vetoes,
            rule_name=lambda code: label({code: rule_label(code)}, code),
            refused=messages(refused),
            can_edit=current_user.role in WRITERS and _month_refusal(incident) is None,
            **PAGE_LABELS,
        ),
        status,
    )


@bp.route("/incidents/<int:incident_id>")
@login_required
def incident_detail(incident_id: int) -> Any:
    return _render_detail(found(Incident, incident_id))


# --- the forms ----------------------------------------------------------------------------------------


def _posted_fields(form: Mapping[str, str]) -> tuple[str, ...]:
    """The fields of this user's form, and the bureau's findings if a school sends them anyway: refusing
    those (403, per field) is the domain's job, not something the page quietly drops."""
    if _by_bureau():
        return _fields()
    return (*_fields(), *(k for k in operations.BUREAU_ONLY_FIELDS if k in form))


def _raw(form: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The posted fields in the API body's shape: filled-in text, and each checkbox as true/false."""
    raw: dict[str, Any] = {}
    for name in fields:
        if name in BOOLEAN_FIELDS:
            raw[name] = name in form
        elif (form.get(name) or "").strip():
            raw[name] = form[name].strip()
    return raw


def _shown(incident: Incident) -> dict[str, Any]:
    """The incident as its form shows it (the values a correction is compared with)."""
    values: dict[str, Any] = {k: getattr(incident, k) for k in operations.EDITABLE_FIELDS}
    values["type"] = incident.type.value
    values["severity"] = incident.severity.value
    values["occurred_at"] = local_input(incident.occurred_at)
    values["reported_at"] = local_input(incident.reported_at)
    return values


def _form(
    incident: Incident | None,
    values: Mapping[str, Any],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    *,
    late: bool = False,
) -> Any:
    by_bureau = _by_bureau()
    schools = (
        list(db.session.scalars(org.list_schools(active=True))) if incident is None and by_bureau else []
    )
    confirmed_fields = (
        operations.VETO_FACT_FIELDS
        if incident is not None and incident.bureau_confirmed and not by_bureau
        else ()
    )
    return (
        render_template(
            "incidents/form.html",
            incident=incident,
            values=values,
            errors=errors or {},
            late=late,
            by_bureau=by_bureau,
            fields=_fields(),
            school_options=[("", "—"), *((s.id, s.name) for s in schools)],
            type_options=[("", "—"), *((t.value, label(INCIDENT_TYPE_LABELS, t)) for t in IncidentType)],
            severity_options=[
                ("", "—"),
                *((s.value, label(INCIDENT_SEVERITY_LABELS, s)) for s in IncidentSeverity),
            ],
            confirmed_fields=confirmed_fields,
            reported_shown=local_input(incident.reported_at) if incident is not None else "",
            now=now_shanghai(),
            rule=_rule(),
            **PAGE_LABELS,
        ),
        status,
    )


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def incident_new() -> Any:
    """The 2-hour report: a school admin for the school, the bureau admin for any school."""
    if request.method == "GET":
        require(*WRITERS)
        return _form(None, {"reported_at": local_input(utcnow())})
    raw = _raw(request.form, (*_posted_fields(request.form), "school_id"))
    try:
        data = load(IncidentIn(), raw)
        if "school_id" in data:
            found(School, data["school_id"])  # another school's id reads as not found
        require(*WRITERS)
        now = utcnow()
        late = "occurred_at" in data and is_reported_late(data["occurred_at"], data.get("reported_at") or now)
        if late and not request.form.get("confirm_late"):
            return _form(None, request.form, late=True)
        incident = attempt(
            lambda: operations.create_incident(data, now=now, today=today_shanghai(), by_bureau=_by_bureau())
        )
    except Invalid as invalid:
        require(*WRITERS)
        return _form(None, request.form, invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Incident reported."), "success")
    return redirect(url_for("web.incident_detail", incident_id=incident.id))


def _changes(incident: Incident, form: Mapping[str, str]) -> dict[str, Any]:
    """The whole form parsed with the API's schema, keeping what differs from the incident as shown."""
    raw = _raw(form, _posted_fields(form))
    data = load(IncidentPatch(), raw)
    shown = _shown(incident)
    changed = {}
    for name, value in data.items():
        if name in ("occurred_at", "reported_at"):
            if raw.get(name) != shown[name]:
                changed[name] = value
        elif value != shown.get(name):
            changed[name] = value
    return changed


@bp.route("/incidents/<int:incident_id>/edit", methods=["GET", "POST"])
@login_required
def incident_edit(incident_id: int) -> Any:
    """Correct an incident; its vetoes are derived again from the new facts."""
    incident = found(Incident, incident_id)
    require(*WRITERS)
    refused = _month_refusal(incident)
    if refused is not None:
        return _render_detail(incident, refused, refused.status)
    if request.method == "GET":
        return _form(incident, _shown(incident))
    try:
        changed = _changes(incident, request.form)
        attempt(
            lambda: operations.update_incident(
                incident, changed, now=utcnow(), today=today_shanghai(), by_bureau=_by_bureau()
            )
        )
    except Invalid as invalid:
        return _form(incident, request.form, invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Incident updated."), "success")
    return redirect(url_for("web.incident_detail", incident_id=incident.id))
