"""Web pages of the staff roster (后勤人员): add, edit, mark as left, and a person's vetoes for
优秀后勤人员 - on the API's schemas and operations (:mod:`service.staff.api`), no rule of their own.

The roster itself is listed on the school page (``web.school_detail``). Who may change it is the API's
rule (:data:`service.staff.api.WRITERS`: the school's admin and the bureau admin); other roles read.
Lookups come first, so another school's ids are a plain 404 before any role check.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.errors import NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.db import db
from service.org.models import School
from service.staff import operations, vetoes
from service.staff.api import WRITERS
from service.staff.models import (
    CONTRACT_TYPE_LABELS,
    STAFF_ROLE_LABELS,
    STAFF_VETO_LABELS,
    StaffMember,
    StaffVeto,
)
from service.staff.schemas import StaffIn, StaffPatch, StaffVetoIn
from service.web.forms import Invalid, attempt, load
from service.web.views import bp

STAFF_FIELDS = (
    "name",
    "gender",
    "role",
    "contract_type",
    "hire_date",
    "phone",
    "health_cert_no",
    "health_cert_expiry",
)
VETO_FIELDS = ("kind", "occurred_on", "note")


def _found(model: Any, row_id: int) -> Any:
    try:
        return get_or_404(model, row_id)
    except NotFound:
        abort(404)


def _may_write() -> None:
    if current_user.role not in WRITERS:
        abort(403)


def _by_bureau() -> bool:
    return current_user.role is Role.BUREAU_ADMIN


def _posted(fields: tuple[str, ...]) -> dict[str, str]:
    return {k: request.form.get(k, "").strip() for k in fields}


def _payload(form: dict[str, str]) -> dict[str, str]:
    """The form as the API's JSON body: an empty field is a field not sent (its default applies, a
    required one is reported missing)."""
    return {k: v for k, v in form.items() if v != ""}


def _school_of(member: StaffMember) -> School:
    return db.session.scalars(select(School).where(School.id == member.school_id)).one()


# --- add and edit ------------------------------------------------------------------------------------


@bp.route("/schools/<int:school_id>/staff/new", methods=["GET", "POST"])
@login_required
def staff_new(school_id: int) -> Any:
    """Add a person to the school's roster (``POST /api/v1/staff``'s schema and operation)."""
    school = _found(School, school_id)
    _may_write()
    form = _posted(STAFF_FIELDS) if request.method == "POST" else {}
    if request.method == "POST":
        try:
            data = load(StaffIn(), _payload(form))
            data["school_id"] = school.id
            member = attempt(lambda: operations.create_staff(data))
        except Invalid as exc:
            return _staff_form(school, None, form, exc.errors), exc.status
        db.session.commit()
        flash(_("%(name)s was added to the roster.", name=member.name), "success")
        return redirect(url_for("web.school_detail", school_id=school.id) + "#roster")
    return _staff_form(school, None, form, {})


@bp.route("/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@login_required
def staff_edit(staff_id: int) -> Any:
    """Correct a person's details (``PATCH /api/v1/staff/<id>``); leaving is its own button."""
    member = _found(StaffMember, staff_id)
    _may_write()
    school = _school_of(member)
    if request.method == "POST":
        form = _posted(STAFF_FIELDS)
        try:
            data = load(StaffPatch(), _payload(form))
            data.pop("active", None)  # the schema's default must not bring back a person who left
            attempt(lambda: operations.update_staff(member, data))
        except Invalid as exc:
            return _staff_form(school, member, form, exc.errors), exc.status
        db.session.commit()
        flash(_("%(name)s was saved.", name=member.name), "success")
        return redirect(url_for("web.school_detail", school_id=school.id) + "#roster")
    return _staff_form(school, member, _form_of(member), {})


def _form_of(member: StaffMember) -> dict[str, str]:
    """The person's stored details as the form shows them (dates ISO, enums by value)."""
    out = {}
    for key in STAFF_FIELDS:
        value = getattr(member, key)
        out[key] = "" if value is None else str(getattr(value, "value", value))
    return out


def _staff_form(school: School, member: StaffMember | None, form: dict[str, str], errors: dict) -> str:
    return render_template(
        "staff/form.html",
        school=school,
        member=member,
        form=form,
        errors=errors,
        role_options=[("", "")] + [(r.value, t) for r, t in _labelled(STAFF_ROLE_LABELS)],
        contract_options=[("", "")] + [(c.value, t) for c, t in _labelled(CONTRACT_TYPE_LABELS)],
        warning_days=operations.warning_days(),
    )


def _labelled(labels: dict) -> list[tuple[Any, str]]:
    return [(value, label(labels, value)) for value in labels]


@bp.route("/staff/<int:staff_id>/leave", methods=["POST"])
@login_required
def staff_leave(staff_id: int) -> Any:
    """Mark a person as left: no longer active, so no longer evaluated or warned about. The roster
    keeps no leaving date (the model has none); the audit trail records when it was done."""
    member = _found(StaffMember, staff_id)
    _may_write()
    if member.active:
        operations.update_staff(member, {"active": False})
        db.session.commit()
        flash(_("%(name)s was marked as left.", name=member.name), "success")
    return redirect(url_for("web.school_detail", school_id=member.school_id) + "#roster")


# --- personal vetoes ---------------------------------------------------------------------------------


@bp.route("/staff/<int:staff_id>/vetoes", methods=["GET", "POST"])
@login_required
def staff_vetoes(staff_id: int) -> Any:
    """A person's vetoes for 优秀后勤人员 and the form to record one (``/api/v1/staff/<id>/vetoes``)."""
    member = _found(StaffMember, staff_id)
    if request.method == "GET":
        return _vetoes_page(member, {}, {})
    _may_write()
    form = _posted(VETO_FIELDS)
    try:
        data = load(StaffVetoIn(), _payload(form))
        attempt(
            lambda: vetoes.record(
                member, data, user=current_user._get_current_object(), by_bureau=_by_bureau()
            )
        )
    except Invalid as exc:
        return _vetoes_page(member, form, exc.errors), exc.status
    db.session.commit()
    flash(_("The veto was recorded."), "success")
    return redirect(url_for("web.staff_vetoes", staff_id=member.id))


@bp.route("/staff/<int:staff_id>/vetoes/<int:veto_id>/withdraw", methods=["POST"])
@login_required
def staff_veto_withdraw(staff_id: int, veto_id: int) -> Any:
    """Withdraw a veto recorded in error - refused (403, with the reason) where
    :func:`service.staff.vetoes.withdrawal_refusal` says so."""
    member = _found(StaffMember, staff_id)
    veto = _found(StaffVeto, veto_id)
    if veto.staff_id != member.id:
        abort(404)
    _may_write()
    try:
        attempt(lambda: vetoes.withdraw(veto, by_bureau=_by_bureau()))
    except Invalid as exc:
        return _vetoes_page(member, {}, exc.errors), exc.status
    db.session.commit()
    flash(_("The veto was withdrawn."), "success")
    return redirect(url_for("web.staff_vetoes", staff_id=member.id))


def _vetoes_page(member: StaffMember, form: dict[str, str], errors: dict) -> str:
    rows = list(db.session.scalars(vetoes.list_for(member)))
    writer = current_user.role in WRITERS
    # The withdraw button shows exactly where the operation would allow it (the same predicate).
    withdrawable = {
        v.id for v in rows if writer and vetoes.withdrawal_refusal(v, by_bureau=_by_bureau()) is None
    }
    return render_template(
        "staff/vetoes.html",
        member=member,
        school=_school_of(member),
        vetoes=rows,
        withdrawable=withdrawable,
        writer=writer,
        form=form,
        errors=errors,
        kind_options=[("", "")] + [(k.value, t) for k, t in _labelled(STAFF_VETO_LABELS)],
        STAFF_VETO_LABELS=STAFF_VETO_LABELS,
    )
