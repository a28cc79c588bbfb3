"""Settings pages of the user accounts: the list with role and scope, creating an account, changing
its role, school or clusters, resetting its password and deactivating or reactivating it.

Same schemas and operations as ``/api/v1/users`` (:class:`UserIn` + :func:`create_user`,
:class:`UserPatch` + :func:`update_user`), so the same refusals: a school admin needs a school, only
an inspector has clusters, the last active bureau admin stays (409). A deactivated account can no
longer log in, its open sessions end and its API tokens stop working (the loaders only accept active
users). A generated password is shown once, on the answer to the POST, and never stored in clear.
"""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.accounts import operations
from service.accounts.models import ROLE_LABELS, Role, User
from service.accounts.schemas import UserIn, UserPatch
from service.core.labels import label
from service.db import db
from service.org.models import Cluster, School
from service.web.forms import Invalid, attempt, load
from service.web.settings import found, require_admin, require_reader, settings_context
from service.web.views import bp

ACTIVE = "web.settings_users"
TEXT_FIELDS = ("display_name", "email", "phone", "role", "school_id")
ROLE_ORDER = (Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL, Role.INSPECTOR, Role.SCHOOL_ADMIN)


def _page(template: str, **context: Any) -> str:
    schools = list(db.session.scalars(select(School).order_by(School.code)))
    clusters = list(db.session.scalars(select(Cluster).order_by(Cluster.code)))
    return render_template(
        template,
        roles=[(r.value, label(ROLE_LABELS, r)) for r in ROLE_ORDER],
        school_options=[("", "")] + [(str(s.id), f"{s.code} {s.name}") for s in schools],
        school_names={s.id: s.name for s in schools},
        clusters=clusters,
        **settings_context(ACTIVE),
        **context,
    )


# --- the list ----------------------------------------------------------------------------------------


@bp.route("/settings/users")
@login_required
def settings_users() -> Any:
    """Every account with its role and scope (school or clusters), active or not, last login."""
    require_reader()
    role = request.args.get("role", "")
    stmt = (
        select(User)
        .options(selectinload(User.clusters))
        .order_by(User.active.desc(), User.role, User.username)
    )
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == Role(role))
    return _page("settings/users.html", users=list(db.session.scalars(stmt)), role=role)


# --- create ------------------------------------------------------------------------------------------


@bp.route("/settings/users/new", methods=["GET", "POST"])
@login_required
def settings_user_new() -> Any:
    """Create an account (``POST /api/v1/users``); with no password given, a strong one is generated
    and shown once."""
    require_admin()
    if request.method == "GET":
        return _page("settings/user_new.html", form={"role": Role.SCHOOL_ADMIN.value}, errors={})
    form = _posted(("username", "password", *TEXT_FIELDS))
    form["cluster_ids"] = request.form.getlist("cluster_ids")
    generated = "" if form["password"] else operations.generate_password()
    try:
        data = load(UserIn(), _payload({**form, "password": form["password"] or generated}))
        user = attempt(lambda: operations.create_user(**data))
    except Invalid as exc:
        return _page("settings/user_new.html", form={**form, "password": ""}, errors=exc.errors), exc.status
    db.session.commit()
    if not generated:
        flash(_("Account %(username)s was created.", username=user.username), "success")
        return redirect(url_for("web.settings_user", user_id=user.id))
    return _password_shown(user, generated, created=True)


def _posted(fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: request.form.get(k, "").strip() for k in fields}


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's JSON body: no school is ``null``; another empty field is not sent."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if key == "school_id" and value == "":
            out[key] = None
        elif value != "":
            out[key] = value
    return out


def _password_shown(user: User, password: str, *, created: bool) -> Any:
    """The one page that shows a generated password; never cached, never stored in clear."""
    resp = make_response(_page("settings/user_password.html", user=user, password=password, created=created))
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- one account -------------------------------------------------------------------------------------


@bp.route("/settings/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def settings_user(user_id: int) -> Any:
    """An account: details, role and scope (``PATCH /api/v1/users/<id>``), password and active flag."""
    user = found(User, user_id)
    require_reader()
    if request.method == "GET":
        return _user_page(user, _form_of(user), {})
    require_admin()
    form = _posted(TEXT_FIELDS)
    form["cluster_ids"] = request.form.getlist("cluster_ids")
    try:
        data = load(UserPatch(), _payload(form))
        if form["email"] == "":
            data["email"] = ""  # an emptied address is no address (the API's own default)
        attempt(lambda: operations.update_user(user, data, by=current_user))
    except Invalid as exc:
        return _user_page(user, form, exc.errors), exc.status
    db.session.commit()
    flash(_("Account %(username)s was saved.", username=user.username), "success")
    return redirect(url_for("web.settings_user", user_id=user.id))


def _form_of(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "role": user.role.value,
        "school_id": str(user.school_id or ""),
        "cluster_ids": [str(c.id) for c in user.clusters],
    }


def _user_page(user: User, form: dict[str, Any], errors: dict[str, list[str]]) -> str:
    return _page("settings/user.html", user=user, form=form, errors=errors)


@bp.route("/settings/users/<int:user_id>/password", methods=["POST"])
@login_required
def settings_user_password(user_id: int) -> Any:
    """Reset a password: a generated one (shown once) or one the bureau admin types."""
    user = found(User, user_id)
    require_admin()
    typed = request.form.get("password", "")
    password = typed if request.form.get("mode") == "set" else operations.generate_password()
    try:
        data = load(UserPatch(), {"password": password})
        attempt(lambda: operations.update_user(user, data, by=current_user))
    except Invalid as exc:
        return _user_page(user, _form_of(user), exc.errors), exc.status
    db.session.commit()
    if request.form.get("mode") == "set":
        flash(_("The password of %(username)s was changed.", username=user.username), "success")
        return redirect(url_for("web.settings_user", user_id=user.id))
    return _password_shown(user, password, created=False)


@bp.route("/settings/users/<int:user_id>/active", methods=["POST"])
@login_required
def settings_user_active(user_id: int) -> Any:
    """Deactivate (no login, no tokens) or reactivate an account; the last active bureau admin stays."""
    user = found(User, user_id)
    require_admin()
    active = request.form.get("active") == "1"
    try:
        data = load(UserPatch(), {"active": active})
        attempt(lambda: operations.update_user(user, data, by=current_user))
    except Invalid as exc:
        return _user_page(user, _form_of(user), exc.errors), exc.status
    db.session.commit()
    if active:
        flash(_("%(username)s can log in again.", username=user.username), "success")
    else:
        flash(_("%(username)s is deactivated: no login, no API tokens.", username=user.username), "success")
    return redirect(url_for("web.settings_user", user_id=user.id))
