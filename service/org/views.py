"""Settings pages of the schools and clusters (片区): list, add, edit, and a cluster's supervisor.

Same schemas and operations as ``/api/v1/schools`` and ``/api/v1/clusters``. The edit forms send
every field, so they are parsed with the full schema (a field left empty is reported missing, not
silently kept). A cluster's supervisor is an active inspector, who is given the cluster to inspect.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from service.accounts.models import User
from service.core.labels import label
from service.db import db
from service.org import operations
from service.org.models import CANTEEN_MODE_LABELS, SCHOOL_TYPE_LABELS, Cluster, School
from service.org.schemas import ClusterIn, ClusterPatch, SchoolIn, SchoolPatch
from service.web.forms import Invalid, attempt, load
from service.web.settings import found, require_admin, require_reader, settings_context
from service.web.views import bp

ACTIVE = "web.settings_schools"
SCHOOL_FIELDS = (
    "code",
    "name",
    "type",
    "enrollment",
    "staff_count",
    "canteen_mode",
    "cluster_id",
    "principal_name",
    "contact_name",
    "contact_phone",
    "address",
)
SCHOOL_CHECKS = ("boarding", "active")
CLUSTER_FIELDS = ("code", "name", "supervisor_id")


def _page(template: str, **context: Any) -> str:
    return render_template(template, **settings_context(ACTIVE), **context)


def _payload(form: dict[str, Any], nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form as the API's JSON body: an empty nullable field is ``null``, another is not sent."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if value == "" and key in nullable:
            out[key] = None
        elif value != "":
            out[key] = value
    return out


@bp.route("/settings/schools")
@login_required
def settings_schools() -> Any:
    """The clusters with their supervisors and school counts, and every school."""
    require_reader()
    clusters = list(db.session.scalars(operations.list_clusters()))
    counts = dict(
        db.session.execute(select(School.cluster_id, func.count()).group_by(School.cluster_id)).all()
    )
    supervisors = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(User).where(User.id.in_({c.supervisor_id for c in clusters} - {None}))
        )
    }
    return _page(
        "settings/schools.html",
        clusters=clusters,
        counts=counts,
        supervisors=supervisors,
        cluster_names={c.id: c.name for c in clusters},
        schools=list(db.session.scalars(operations.list_schools())),
        SCHOOL_TYPE_LABELS=SCHOOL_TYPE_LABELS,
        CANTEEN_MODE_LABELS=CANTEEN_MODE_LABELS,
    )


# --- schools -----------------------------------------------------------------------------------------


@bp.route("/settings/schools/new", methods=["GET", "POST"])
@login_required
def settings_school_new() -> Any:
    """Add a school (``POST /api/v1/schools``)."""
    require_admin()
    if request.method == "GET":
        return _school_form(None, {"active": True}, {})
    form = _posted_school()
    try:
        data = load(SchoolIn(), _payload(form))
        school = attempt(lambda: operations.create_school(data))
    except Invalid as exc:
        return _school_form(None, form, exc.errors), exc.status
    db.session.commit()
    flash(_("School %(name)s was added.", name=school.name), "success")
    return redirect(url_for("web.settings_schools") + f"#school-{school.id}")


@bp.route("/settings/schools/<int:school_id>/edit", methods=["GET", "POST"])
@login_required
def settings_school_edit(school_id: int) -> Any:
    """Change a school's record (``PATCH /api/v1/schools/<id>``)."""
    school = found(School, school_id)
    require_reader()
    if request.method == "GET":
        return _school_form(school, _school_of(school), {})
    require_admin()
    form = _posted_school()
    try:
        data = load(SchoolPatch(), _payload(form))
        attempt(lambda: operations.update_school(school, data))
    except Invalid as exc:
        return _school_form(school, form, exc.errors), exc.status
    db.session.commit()
    flash(_("School %(name)s was saved.", name=school.name), "success")
    return redirect(url_for("web.settings_schools") + f"#school-{school.id}")


def _posted_school() -> dict[str, Any]:
    form: dict[str, Any] = {k: request.form.get(k, "").strip() for k in SCHOOL_FIELDS}
    for key in SCHOOL_CHECKS:
        form[key] = request.form.get(key) == "on"
    return form


def _school_of(school: School) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key in (*SCHOOL_FIELDS, *SCHOOL_CHECKS):
        value = getattr(school, key)
        form[key] = value if isinstance(value, bool) else str(getattr(value, "value", value))
    return form


def _school_form(school: School | None, form: dict[str, Any], errors: dict[str, list[str]]) -> str:
    clusters = list(db.session.scalars(operations.list_clusters()))
    return _page(
        "settings/school_form.html",
        school=school,
        form=form,
        errors=errors,
        type_options=[("", "")] + [(t.value, label(SCHOOL_TYPE_LABELS, t)) for t in SCHOOL_TYPE_LABELS],
        canteen_options=[("", "")] + [(m.value, label(CANTEEN_MODE_LABELS, m)) for m in CANTEEN_MODE_LABELS],
        cluster_options=[("", "")] + [(str(c.id), f"{c.code} {c.name}") for c in clusters],
    )


# --- clusters ----------------------------------------------------------------------------------------


@bp.route("/settings/clusters/new", methods=["GET", "POST"])
@login_required
def settings_cluster_new() -> Any:
    """Add a cluster, optionally with its supervisor (``POST /api/v1/clusters``)."""
    require_admin()
    if request.method == "GET":
        return _cluster_form(None, {}, {})
    form = {k: request.form.get(k, "").strip() for k in CLUSTER_FIELDS}
    try:
        data = load(ClusterIn(), _payload(form, ("supervisor_id",)))
        cluster = attempt(lambda: operations.create_cluster(data))
    except Invalid as exc:
        return _cluster_form(None, form, exc.errors), exc.status
    db.session.commit()
    flash(_("Cluster %(name)s was added.", name=cluster.name), "success")
    return redirect(url_for("web.settings_schools"))


@bp.route("/settings/clusters/<int:cluster_id>/edit", methods=["GET", "POST"])
@login_required
def settings_cluster_edit(cluster_id: int) -> Any:
    """Rename a cluster or assign its supervisor (``PATCH /api/v1/clusters/<id>``)."""
    cluster = found(Cluster, cluster_id)
    require_reader()
    if request.method == "GET":
        form = {"code": cluster.code, "name": cluster.name, "supervisor_id": str(cluster.supervisor_id or "")}
        return _cluster_form(cluster, form, {})
    require_admin()
    form = {k: request.form.get(k, "").strip() for k in CLUSTER_FIELDS}
    try:
        data = load(ClusterPatch(), _payload(form, ("supervisor_id",)))
        attempt(lambda: operations.update_cluster(cluster, data))
    except Invalid as exc:
        return _cluster_form(cluster, form, exc.errors), exc.status
    db.session.commit()
    flash(_("Cluster %(name)s was saved.", name=cluster.name), "success")
    return redirect(url_for("web.settings_schools"))


def _cluster_form(cluster: Cluster | None, form: dict[str, Any], errors: dict[str, list[str]]) -> str:
    inspectors = operations.supervisor_candidates()
    return _page(
        "settings/cluster_form.html",
        cluster=cluster,
        form=form,
        errors=errors,
        supervisor_options=[("", _("No supervisor"))]
        + [(str(u.id), f"{u.display_name} ({u.username})") for u in inspectors],
    )
