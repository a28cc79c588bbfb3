"""Settings pages of the rubrics (评分细则): the versions of each rubric, the draft editor (sections,
items, order) and publishing after a confirmation that shows the diff against the version in force.

Every edit is a plain form POSTed to one of these routes, parsed with the API's schema
(:mod:`service.rubrics.schemas`) and done by the API's operation (:mod:`service.rubrics.operations`),
so a page refuses exactly what ``/api/v1/rubric-versions/...`` refuses, with the same messages beside
the fields and the same status (422, 409 for a published version).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.accounts.models import User
from service.core.errors import NotFound
from service.core.labels import label
from service.db import db
from service.rubrics import operations
from service.rubrics.diff import ORDER, RubricDiff, diff_versions
from service.rubrics.models import (
    ITEM_KIND_LABELS,
    RUBRIC_KIND_LABELS,
    VERSION_STATUS_LABELS,
    ItemKind,
    Rubric,
    RubricItem,
    RubricVersion,
    VersionStatus,
)
from service.rubrics.schemas import ItemIn, NewVersionIn, VersionPatch
from service.rules.diff import flat
from service.scoring.explain import num
from service.web.forms import Invalid, attempt, form_list, load
from service.web.settings import found, require_admin, require_reader, settings_context
from service.web.views import bp

ACTIVE = "web.settings_rubrics"
ITEM_TEXT_FIELDS = ("section_code", "code", "text", "text_en", "kind", "unit")
ITEM_NUMBER_FIELDS = ("deduction", "cap", "max_score")
ITEM_CHECKS = ("na_allowed", "computed")
NULLABLE = frozenset({"cap", "max_score", "key_fails_on"})
FIELD_LABELS = {
    "section_code": ("所属分项", "Section"),
    "text": ("检查内容", "Text"),
    "text_en": ("英文内容", "Text (English)"),
    "kind": ("类型", "Kind"),
    "deduction": ("每次扣分", "Deduction"),
    "cap": ("扣分上限", "Cap"),
    "max_score": ("满分（评分项）", "Maximum (rated item)"),
    "unit": ("计量单位", "Unit"),
    "na_allowed": ("可不适用", "May be not applicable"),
    "key_fails_on": ("关键项不合格条件", "Key item fails on"),
    "computed": ("系统计算", "Computed"),
    "name": ("名称", "Name"),
    "name_en": ("英文名称", "Name (English)"),
    "max_points": ("分值", "Points"),
    ORDER: ("顺序", "Order"),
}
PAGE_LABELS = {
    "ITEM_KIND_LABELS": ITEM_KIND_LABELS,
    "RUBRIC_KIND_LABELS": RUBRIC_KIND_LABELS,
    "VERSION_STATUS_LABELS": VERSION_STATUS_LABELS,
}


def _version(version_id: int) -> RubricVersion:
    try:
        return operations.get_version(version_id)
    except NotFound:
        abort(404)


def _in_force(version: RubricVersion) -> RubricVersion | None:
    return operations.current_version(version.rubric.kind)


def shown_value(field: str, value: Any) -> str:
    """A diffed value as the bureau reads it: points without trailing zeros, kinds and yes/no by label."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, ItemKind):
        return label(ITEM_KIND_LABELS, value)
    if isinstance(value, Decimal):
        return num(value) or "0"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def field_label(field: str) -> str:
    return label(FIELD_LABELS, field) if field in FIELD_LABELS else field


def _page(template: str, **context: Any) -> str:
    return render_template(
        template,
        shown_value=shown_value,
        field_label=field_label,
        **PAGE_LABELS,
        **settings_context(ACTIVE),
        **context,
    )


# --- the versions ------------------------------------------------------------------------------------


@bp.route("/settings/rubrics")
@login_required
def settings_rubrics() -> Any:
    """Every rubric with its versions (state, created, published and by whom, note)."""
    require_reader()
    return _rubrics_page({})


def _rubrics_page(errors: dict[str, list[str]]) -> str:
    rubrics = list(db.session.scalars(operations.list_rubrics().options(selectinload(Rubric.versions))))
    publisher_ids = {v.published_by_id for r in rubrics for v in r.versions if v.published_by_id}
    publishers = {
        u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(publisher_ids)))
    }
    return _page(
        "settings/rubrics.html",
        rubrics=rubrics,
        publishers=publishers,
        errors=errors,
        draft_of={r.id: next((v for v in r.versions if v.is_draft), None) for r in rubrics},
    )


@bp.route("/settings/rubrics/<int:rubric_id>/draft", methods=["POST"])
@login_required
def rubric_new_version(rubric_id: int) -> Any:
    """Start a draft: a copy of the version in force (``POST /api/v1/rubrics/<id>/versions``)."""
    rubric = found(Rubric, rubric_id)
    require_admin()
    try:
        data = load(NewVersionIn(), {"note": request.form.get("note", "").strip()})
        draft = attempt(lambda: operations.new_version(rubric, note=data["note"]))
    except Invalid as exc:
        return _rubrics_page({f"rubric-{rubric.id}": _all_messages(exc.errors)}), exc.status
    db.session.commit()
    flash(_("Draft version %(version)s created; edit it below.", version=draft.version), "success")
    return redirect(url_for("web.rubric_version", version_id=draft.id))


def _all_messages(errors: dict[str, list[str]]) -> list[str]:
    return [m for messages in errors.values() for m in messages]


# --- one version, and the draft's sections -----------------------------------------------------------


@bp.route("/settings/rubric-versions/<int:version_id>", methods=["GET", "POST"])
@login_required
def rubric_version(version_id: int) -> Any:
    """One version: its sections and items. A draft is edited here (note, section names and points:
    ``PATCH /api/v1/rubric-versions/<id>``); its items have their own forms."""
    version = _version(version_id)
    require_reader()
    if request.method == "GET":
        return _version_page(version, _sections_form(version), {})
    require_admin()
    form = _posted_sections()
    try:
        data = load(VersionPatch(), {"note": form["note"], "sections": list(form["sections"].values())})
        attempt(lambda: operations.update_draft(version, data))
    except Invalid as exc:
        return _version_page(version, form, _section_errors(exc.errors)), exc.status
    db.session.commit()
    flash(_("The draft was saved."), "success")
    return redirect(url_for("web.rubric_version", version_id=version.id))


def _sections_form(version: RubricVersion) -> dict[str, Any]:
    return {
        "note": version.note,
        "sections": {
            n: {"code": s.code, "name": s.name, "name_en": s.name_en, "max_points": num(s.max_points)}
            for n, s in enumerate(version.sections)
        },
    }


def _posted_sections() -> dict[str, Any]:
    rows = form_list(request.form, "section")
    sections = {
        n: {k: v.strip() for k, v in row.items() if k in ("code", "name", "name_en", "max_points")}
        for n, row in sorted(rows.items())
    }
    return {"note": request.form.get("note", "").strip(), "sections": sections}


_SECTION_KEY = re.compile(r"^sections\.(\d+)\.(\w+)$")


def _section_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """``sections.0.max_points`` (the schema's name) → ``section-0-max_points`` (the input's name)."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        match = _SECTION_KEY.match(key)
        name = f"section-{match.group(1)}-{match.group(2)}" if match else key
        out.setdefault(name, []).extend(messages)
    return out


def _version_page(version: RubricVersion, form: dict[str, Any], errors: dict[str, list[str]]) -> str:
    in_force = _in_force(version)
    return _page(
        "settings/rubric_version.html",
        version=version,
        rubric=version.rubric,
        in_force=in_force,
        diff=diff_versions(in_force, version) if version.is_draft else None,
        problems=operations.validate_version(version) if version.is_draft else {},
        settings_rows=flat(version.settings or {}),
        form=form,
        errors=errors,
    )


# --- items -------------------------------------------------------------------------------------------


@bp.route("/settings/rubric-versions/<int:version_id>/items/new", methods=["GET", "POST"])
@login_required
def rubric_item_new(version_id: int) -> Any:
    """Add an item to a section of a draft (``POST /api/v1/rubric-versions/<id>/items``)."""
    version = _version(version_id)
    require_admin()
    if request.method == "GET":
        form = {"section_code": request.args.get("section", ""), "kind": ItemKind.GENERAL.value}
        return _item_page(version, None, form, {}), _status(version)
    form = _posted_item()
    try:
        data = load(ItemIn(), _item_payload(form))
        item = attempt(lambda: operations.add_item(version, data))
    except Invalid as exc:
        return _item_page(version, None, form, exc.errors), exc.status
    db.session.commit()
    flash(_("Item %(code)s was added.", code=item.code), "success")
    return redirect(url_for("web.rubric_version", version_id=version.id) + f"#item-{item.id}")


@bp.route("/settings/rubric-items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def rubric_item_edit(item_id: int) -> Any:
    """Change an item of a draft (``PATCH /api/v1/rubric-items/<id>``): the form sends every field."""
    item = found(RubricItem, item_id)
    version = _version(item.section.version_id)
    require_admin()
    if request.method == "GET":
        return _item_page(version, item, _item_form(item), {}), _status(version)
    form = _posted_item()
    try:
        data = load(ItemIn(), _item_payload(form))
        attempt(lambda: operations.update_item(item, data))
    except Invalid as exc:
        return _item_page(version, item, form, exc.errors), exc.status
    db.session.commit()
    flash(_("Item %(code)s was saved.", code=item.code), "success")
    return redirect(url_for("web.rubric_version", version_id=version.id) + f"#item-{item.id}")


def _status(version: RubricVersion) -> int:
    """A form of a published version is shown with the API's answer to changing it: 409."""
    return 200 if version.is_draft else 409


def _item_form(item: RubricItem) -> dict[str, Any]:
    form: dict[str, Any] = {"section_code": item.section.code, "key_fails_on": item.key_fails_on or ""}
    for key in ("code", "text", "text_en", "unit"):
        form[key] = getattr(item, key)
    form["kind"] = item.kind.value
    for key in ITEM_NUMBER_FIELDS:
        value = getattr(item, key)
        form[key] = num(value) if value is not None else ""
    for key in ITEM_CHECKS:
        form[key] = getattr(item, key)
    return form


def _posted_item() -> dict[str, Any]:
    form: dict[str, Any] = {
        k: request.form.get(k, "").strip() for k in (*ITEM_TEXT_FIELDS, *ITEM_NUMBER_FIELDS, "key_fails_on")
    }
    for key in ITEM_CHECKS:
        form[key] = request.form.get(key) == "on"
    return form


def _item_payload(form: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's JSON body: an empty optional number or condition is ``null``, another
    empty field is not sent (its default applies; a required one is reported missing)."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if value == "" and key in NULLABLE:
            out[key] = None
        elif value != "":
            out[key] = value
    return out


def _item_page(
    version: RubricVersion, item: RubricItem | None, form: dict[str, Any], errors: dict[str, list[str]]
) -> str:
    if not version.is_draft:
        errors = {**errors, "_schema": [_("A published version cannot be changed; create a new version.")]}
    return _page(
        "settings/rubric_item.html",
        version=version,
        rubric=version.rubric,
        item=item,
        form=form,
        errors=errors,
        sections=[(s.code, f"{s.code} {s.name}") for s in version.sections],
        kinds=[
            (k.value, label(ITEM_KIND_LABELS, k)) for k in (ItemKind.GENERAL, ItemKind.KEY, ItemKind.VETO)
        ],
    )


@bp.route("/settings/rubric-items/<int:item_id>/delete", methods=["POST"])
@login_required
def rubric_item_delete(item_id: int) -> Any:
    """Remove an item from a draft (``DELETE /api/v1/rubric-items/<id>``)."""
    item = found(RubricItem, item_id)
    version = _version(item.section.version_id)
    require_admin()
    code = item.code
    try:
        attempt(lambda: operations.delete_item(item))
    except Invalid as exc:
        return _version_page(version, _sections_form(version), exc.errors), exc.status
    db.session.commit()
    flash(_("Item %(code)s was removed from the draft.", code=code), "success")
    return redirect(url_for("web.rubric_version", version_id=version.id))


@bp.route("/settings/rubric-items/<int:item_id>/move", methods=["POST"])
@login_required
def rubric_item_move(item_id: int) -> Any:
    """Move an item up or down within its section (its ``position``, as the API's PATCH sets it)."""
    item = found(RubricItem, item_id)
    version = _version(item.section.version_id)
    require_admin()
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    try:
        attempt(lambda: operations.move_item(item, offset))
    except Invalid as exc:
        return _version_page(version, _sections_form(version), exc.errors), exc.status
    db.session.commit()
    return redirect(url_for("web.rubric_version", version_id=version.id) + f"#item-{item.id}")


# --- publishing --------------------------------------------------------------------------------------


@bp.route("/settings/rubric-versions/<int:version_id>/publish", methods=["GET", "POST"])
@login_required
def rubric_publish(version_id: int) -> Any:
    """Confirm, then publish a draft (``POST /api/v1/rubric-versions/<id>/publish``).

    The confirmation shows the diff against the version in force; the form carries a digest of that
    diff, so a draft changed in the meantime (another tab, another admin) is shown again instead of
    published unseen (409).
    """
    version = _version(version_id)
    require_reader()
    in_force = _in_force(version)
    diff = diff_versions(in_force, version)
    if request.method == "GET":
        return _publish_page(version, in_force, diff, {})
    require_admin()
    if request.form.get("digest") != _digest(diff):
        errors = {"_schema": [_("The draft changed since this page was shown; check the changes again.")]}
        return _publish_page(version, in_force, diff, errors), 409
    try:
        attempt(lambda: operations.publish(version, current_user._get_current_object()))
    except Invalid as exc:
        return _publish_page(version, in_force, diff, exc.errors), exc.status
    db.session.commit()
    flash(
        _(
            "Version %(version)s of %(rubric)s is published; new scores use it.",
            version=version.version,
            rubric=label(RUBRIC_KIND_LABELS, version.rubric.kind),
        ),
        "success",
    )
    return redirect(url_for("web.settings_rubrics"))


def _publish_page(
    version: RubricVersion, in_force: RubricVersion | None, diff: RubricDiff, errors: dict[str, list[str]]
) -> str:
    problems = operations.validate_version(version) if version.status is VersionStatus.DRAFT else {}
    return _page(
        "settings/rubric_publish.html",
        version=version,
        rubric=version.rubric,
        in_force=in_force,
        diff=diff,
        digest=_digest(diff),
        problems=problems,
        errors=errors,
    )


def _digest(diff: RubricDiff) -> str:
    return hashlib.sha256(repr(diff).encode()).hexdigest()[:16]
