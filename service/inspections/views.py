"""Web pages of inspections: one form for the school's self-inspection (自查) and the inspector's spot
inspection (督查), its live score, the read-only (printable) record with a spot inspection's
discrepancy against the school's self-inspections, and the inspector's list to start a spot inspection.

No rule lives here twice. The form is built from the rubric version in force (or, when editing, the
version the inspection was scored with); what it posts is put into the API's JSON shape, loaded with
the API's schema (:class:`InspectionIn`) and handed to the same operations as
``service/inspections/api.py`` with the same ``today`` and user, under the API's role table
(:data:`WRITERS`). The live score comes from the domain's own scoring function
(:func:`operations.preview_score`), asked by htmx on every change; without JavaScript the score shows
after saving. Another school's ids are a plain 404 (``get_or_404`` inside the tenant scope).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select

from service.core.converters import int4
from service.core.errors import DomainError, NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai
from service.db import db
from service.inspections import discrepancy, operations, scoring
from service.inspections.api import WRITERS
from service.inspections.models import (
    Inspection,
    InspectionItemResult,
    InspectionKind,
    InspectionMode,
    ItemOutcome,
)
from service.inspections.schemas import InspectionIn, ItemResultIn
from service.org import operations as org
from service.org.models import CanteenMode, School
from service.periods.models import Period
from service.periods.operations import list_periods
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable
from service.rubrics import operations as rubrics
from service.rubrics.models import ItemKind, RubricItem, RubricVersion
from service.web.forms import Invalid, flatten, form_list, load
from service.web.views import bp

T = TypeVar("T")
Errors = dict[str, list[str]]

# The words of the paper form: 符合 / 不符合 / 不适用.
OUTCOME_LABELS = {
    ItemOutcome.PASS: ("符合", "Complies"),
    ItemOutcome.FAIL: ("不符合", "Does not comply"),
    ItemOutcome.NA: ("不适用", "Not applicable"),
}
ITEM_KIND_BADGES = {
    ItemKind.KEY: ("※ 关键项", "※ Key item"),
    ItemKind.VETO: ("否决项", "Veto item"),
}
# The rubric's units are Chinese only; their English for the English UI.
UNIT_EN = {
    "每项": "per item",
    "每天": "per day",
    "每次": "per occurrence",
    "每人": "per person",
    "每批次": "per batch",
    "每处": "per place",
    "每样菜品": "per dish",
    "每餐": "per meal",
    "每周": "per week",
    "每份": "per letter",
    "每个": "per device",
    "每栋": "per building",
    "每台": "per unit",
    "每人次": "per visit",
    "每路": "per camera",
    "每学期": "per semester",
}
# Header fields the edit form changes (the whole record is posted; kind, mode, school and period stay).
PATCH_FIELDS = ("inspected_on", "inspector_name", "unannounced", "notes", "items")


# --- small helpers shared by the pages ---------------------------------------------------------------


def _get(model: type[T], ident: int) -> T:
    """One row in the tenant scope, or a plain 404 (another school's id looks like a missing one)."""
    try:
        return get_or_404(model, ident)
    except NotFound:
        abort(404)


def _require_writer(mode: InspectionMode) -> None:
    """The API's role table: school admins record self-inspections; inspectors and the bureau admin spot ones."""
    if current_user.role not in WRITERS[mode]:
        abort(403)


def _kind_arg() -> InspectionKind:
    try:
        return InspectionKind(request.args.get("kind", InspectionKind.CANTEEN.value))
    except ValueError:
        abort(404)


def local(zh: str, en: str | None) -> str:
    """Rubric text in the page's language (the rubric stores Chinese and English side by side)."""
    return label({0: (zh, en or zh)}, 0)


def bilingual(text: str | None) -> str:
    """A rubric note written as "中文 / English" shown in the page's language."""
    if not text:
        return ""
    zh, sep, en = text.partition(" / ")
    return local(zh, en if sep else zh)


def points(value: Any) -> str:
    """Rubric points without trailing zeros: 10.00 → 10, 0.50 → 0.5."""
    number = Decimal(str(value)).normalize()
    return format(number, "f")


def item_rule(item: RubricItem) -> str:
    """What failing the item costs, as the rubric says it: "每天扣1分（最多扣5分）"."""
    if not item.deduction:
        if item.kind is ItemKind.VETO:
            return _("No points deducted; failing it is a veto.")
        if item.kind is ItemKind.KEY:
            return _("No points deducted; failing it caps the grade.")
        return ""
    unit = local(item.unit, UNIT_EN.get(item.unit, item.unit)) if item.unit else ""
    text = _("Deducts %(points)s %(unit)s", points=points(item.deduction), unit=unit)
    if item.cap is not None and Decimal(item.cap) > Decimal(item.deduction):
        text += _(" (at most %(cap)s)", cap=points(item.cap))
    return text


def counts_occurrences(item: RubricItem) -> bool:
    """Whether "how many times" changes the deduction (a capped-at-once item or a 0-point one does not)."""
    if not item.deduction:
        return False
    return item.cap is None or Decimal(item.cap) > Decimal(item.deduction)


def entered_items(version: RubricVersion) -> list[RubricItem]:
    """The items a person judges, in rubric order (computed ones are filled in by the month-end job)."""
    return [item for item in version.all_items() if not item.computed]


PAGE_HELPERS = {
    "local": local,
    "bilingual": bilingual,
    "points": points,
    "item_rule": item_rule,
    "counts_occurrences": counts_occurrences,
    "OUTCOME_LABELS": OUTCOME_LABELS,
    "ITEM_KIND_BADGES": ITEM_KIND_BADGES,
    "ItemOutcome": ItemOutcome,
    "ItemKind": ItemKind,
    "InspectionMode": InspectionMode,
}


# --- what the form posts ----------------------------------------------------------------------------


@dataclass
class FormState:
    """The form as the person left it: header values, item rows by item id, and errors by place."""

    header: dict[str, Any]
    rows: dict[int, dict[str, str]]
    errors: Errors = field(default_factory=dict)  # beside the header fields
    item_errors: dict[int, Errors] = field(default_factory=dict)  # beside the items
    summary: Errors = field(default_factory=dict)  # on top: every message, saying what it is about
    status: int = 200  # the API's status for a refusal (422, 409, ...)


def _posted_rows(version: RubricVersion) -> dict[int, dict[str, str]]:
    """Item rows posted as ``item-<item id>-<field>``, for the version's entered items only."""
    posted = form_list(request.form, "item")
    wanted = {item.id for item in entered_items(version)}
    return {item_id: row for item_id, row in posted.items() if item_id in wanted}


def _api_items(version: RubricVersion, rows: Mapping[int, Mapping[str, str]]) -> list[dict[str, Any]]:
    """Every entered item in rubric order, in the API's shape; an unanswered item has no ``result``,
    so the API's schema refuses it beside that item instead of it counting as passed."""
    items = []
    for item in entered_items(version):
        row = rows.get(item.id, {})
        out: dict[str, Any] = {"item_id": item.id}
        for key in ("result", "occurrences", "note"):
            value = (row.get(key) or "").strip()
            if value:
                out[key] = value
        items.append(out)
    return items


def _posted_header(mode: InspectionMode) -> dict[str, Any]:
    header: dict[str, Any] = {
        "inspected_on": request.form.get("inspected_on", "").strip(),
        "inspector_name": request.form.get("inspector_name", "").strip(),
        "notes": request.form.get("notes", "").strip(),
    }
    if mode is InspectionMode.SPOT:
        header["unannounced"] = request.form.get("unannounced") == "1"
    return header


def _api_body(
    kind: InspectionKind, mode: InspectionMode, period: Period, header: Mapping[str, Any], items: list
) -> dict[str, Any]:
    """The JSON body the API would receive; an empty date is left out, so the schema says it is required."""
    body: dict[str, Any] = {"kind": kind.value, "mode": mode.value, "period_id": period.id, "items": items}
    body.update({k: v for k, v in header.items() if not (k == "inspected_on" and not v)})
    return body


@contextmanager
def _refusals() -> Iterator[None]:
    """A domain refusal as :class:`Invalid` with the API's status, item messages placed on their rows.

    Like :func:`service.web.forms.refusals`, but the operation runs in a SAVEPOINT and only that is
    rolled back: nothing of it is kept, while the rows the page shows again stay loaded. (A full
    rollback expires the logged-in user too, and an inspector - a user of no school - cannot reload
    their own row under the tenant wall to draw the page.)
    """
    savepoint = db.session.begin_nested()
    try:
        yield
    except operations.InspectionRefused as exc:
        savepoint.rollback()
        raise Invalid(exc.by_field(), exc.status) from None
    except DomainError as exc:
        savepoint.rollback()
        raise Invalid(flatten(exc.errors), exc.status) from None
    savepoint.commit()


def _about(what: str, message: str) -> str:
    return _("%(what)s: %(message)s", what=what, message=message)


def _field_labels() -> dict[str, str]:
    return {
        "inspected_on": _("Inspection date"),
        "inspector_name": _("Inspected by"),
        "unannounced": _("Unannounced"),
        "notes": _("Notes"),
    }


def _place_errors(state: FormState, errors: Errors, version: RubricVersion) -> None:
    """``items.<i>.<field>`` → beside item *i* of the form, header fields beside themselves; the
    summary on top names the item (by code) or the field each message is about."""
    items = entered_items(version)
    labels = _field_labels()
    for name, messages in errors.items():
        parts = name.split(".")
        if parts[0] == "items" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(items):
            item = items[int(parts[1])]
            where = parts[2] if len(parts) > 2 else "result"
            state.item_errors.setdefault(item.id, {}).setdefault(where, []).extend(messages)
            shown = [m if item.code in m else _about(item.code, m) for m in messages]
            state.summary.setdefault(f"items.{int(parts[1]):03d}", []).extend(shown)
        else:
            state.errors.setdefault(name, []).extend(messages)
            shown = [_about(labels[name], m) for m in messages] if name in labels else messages
            state.summary.setdefault(name, []).extend(shown)


def _save(
    version: RubricVersion,
    kind: InspectionKind,
    mode: InspectionMode,
    period: Period,
    action: Any,
) -> tuple[Any, FormState]:
    """Parse the posted form with the API's schema and run ``action(data)`` (a domain operation).

    Returns the action's result (None when refused) and the form state to show again.
    """
    state = FormState(_posted_header(mode), _posted_rows(version))
    body = _api_body(kind, mode, period, state.header, _api_items(version, state.rows))
    try:
        with _refusals():
            data = load(InspectionIn(), body)
            return action(data), state
    except Invalid as exc:
        _place_errors(state, exc.errors, version)
        state.status = exc.status
        return None, state


# --- the live score -----------------------------------------------------------------------------------


@dataclass
class LiveScore:
    score: scoring.InspectionScore | None
    grade: Any
    pending: int  # items not judged yet
    total: int
    kind: InspectionKind
    nothing_applicable: bool = False


def live_score(version: RubricVersion, rows: Mapping[int, Mapping[str, str]]) -> LiveScore:
    """The score and grade of the results entered so far, by the domain's scoring function.

    Each row is loaded with the API's item schema; a row it refuses (no choice yet, a bad number) is
    not counted, as are rows saving would refuse - the save shows why.
    """
    kind = InspectionKind(version.rubric.kind.value)
    items = []
    for row in _api_items(version, rows):
        try:
            items.append(ItemResultIn().load(row))
        except ValidationError:
            continue
    total = len(entered_items(version))
    judged = {row["item_id"] for row in items}
    try:
        scored, grade = operations.preview_score(version, kind, items)
    except scoring.NothingApplicable:
        return LiveScore(None, None, total - len(judged), total, kind, nothing_applicable=True)
    return LiveScore(scored, grade, total - len(judged), total, kind)


@bp.route("/inspections/preview", methods=["POST"])
@login_required
def inspection_preview() -> Any:
    """The score box of the form (htmx ``hx-post`` on every change): a fragment, nothing saved."""
    version_id = request.form.get("rubric_version_id", type=int4)
    if version_id is None:
        abort(400)
    try:
        version = rubrics.get_version(version_id)
    except NotFound:
        abort(404)
    if version.rubric.kind.value not in {k.value for k in InspectionKind}:
        abort(400)
    live = live_score(version, _posted_rows(version))
    return render_template("inspections/_score.html", live=live, version=version)


# --- the form pages -----------------------------------------------------------------------------------


def _default_date(period: Period) -> str:
    """Today when it falls in the period's month, else the month's last day (spot checks of a past month)."""
    last = date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])
    return min(today_shanghai(), last).isoformat()


def _new_state(period: Period, mode: InspectionMode) -> FormState:
    header: dict[str, Any] = {
        "inspected_on": _default_date(period),
        "inspector_name": current_user.display_name,
        "notes": "",
    }
    if mode is InspectionMode.SPOT:
        header["unannounced"] = True
    return FormState(header, {})


def _saved_state(inspection: Inspection) -> FormState:
    header: dict[str, Any] = {
        "inspected_on": inspection.inspected_on.isoformat(),
        "inspector_name": inspection.inspector_name,
        "notes": inspection.notes,
        "unannounced": inspection.unannounced,
    }
    rows = {
        r.item_id: {
            "result": r.result.value,
            "occurrences": str(r.occurrences) if r.occurrences else "",
            "note": r.note,
        }
        for r in inspection.results
    }
    return FormState(header, rows)


def _form_page(
    *,
    state: FormState,
    version: RubricVersion,
    kind: InspectionKind,
    mode: InspectionMode,
    school: School,
    period: Period,
    action_url: str,
    cancel_url: str,
    inspection: Inspection | None = None,
    closed: list[str] | None = None,
) -> Any:
    status = 409 if closed else state.status
    return (
        render_template(
            "inspections/form.html",
            state=state,
            version=version,
            sections=[(s, [i for i in s.items if not i.computed]) for s in version.sections],
            computed=[i for i in version.all_items() if i.computed],
            kind=kind,
            mode=mode,
            school=school,
            period=period,
            inspection=inspection,
            action_url=action_url,
            cancel_url=cancel_url,
            closed=closed or [],
            live=live_score(version, state.rows),
            **PAGE_HELPERS,
        ),
        status,
    )


def _refusal_messages(check: Any) -> list[str]:
    """The messages of a read-only domain check that refuses (a report no longer editable), or []."""
    try:
        check()
    except DomainError as exc:
        return [m for messages in flatten(exc.errors).values() for m in messages]
    return []


def _school(school_id: int) -> School:
    return db.session.scalars(select(School).where(School.id == school_id)).one()


def _published(kind: InspectionKind) -> RubricVersion:
    version = rubrics.current_version(kind.rubric_kind)
    if version is None:
        abort(409, _("This rubric has no published version; ask the bureau to publish one."))
    return version


@bp.route("/reports/<int:report_id>/inspections/new", methods=["GET", "POST"])
@login_required
def inspection_new(report_id: int) -> Any:
    """The school's self-inspection (自查) of the report's month, on the rubric in force."""
    report = _get(MonthlyReport, report_id)
    _require_writer(InspectionMode.SELF)
    kind = _kind_arg()
    school, period = _school(report.school_id), report.period
    version = _published(kind)
    page = {
        "version": version,
        "kind": kind,
        "mode": InspectionMode.SELF,
        "school": school,
        "period": period,
        "action_url": url_for("web.inspection_new", report_id=report.id, kind=kind.value),
        "cancel_url": url_for("web.report_detail", report_id=report.id),
    }
    today = today_shanghai()
    if request.method == "GET":
        closed = _refusal_messages(lambda: ensure_editable(report, today=today))
        return _form_page(state=_new_state(period, InspectionMode.SELF), closed=closed, **page)

    created, state = _save(
        version,
        kind,
        InspectionMode.SELF,
        period,
        lambda data: operations.create_inspection(
            period, school, data, user=current_user._get_current_object(), today=today
        ),
    )
    if created is None:
        return _form_page(state=state, **page)
    db.session.commit()
    flash(_("Self-inspection saved: score %(score)s.", score=created.score), "success")
    return redirect(url_for("web.report_detail", report_id=report_id))


@bp.route("/schools/<int:school_id>/periods/<int:period_id>/spot-inspections/new", methods=["GET", "POST"])
@login_required
def spot_inspection_new(school_id: int, period_id: int) -> Any:
    """The inspector's spot inspection (督查) of a school of their clusters, for a month."""
    period = _get(Period, period_id)
    school = _get(School, school_id)
    _require_writer(InspectionMode.SPOT)
    kind = _kind_arg()
    version = _published(kind)
    page = {
        "version": version,
        "kind": kind,
        "mode": InspectionMode.SPOT,
        "school": school,
        "period": period,
        "action_url": url_for(
            "web.spot_inspection_new", school_id=school.id, period_id=period.id, kind=kind.value
        ),
        "cancel_url": url_for("web.spot_inspections", period_id=period.id, school_id=school.id),
    }
    if request.method == "GET":
        return _form_page(state=_new_state(period, InspectionMode.SPOT), **page)

    created, state = _save(
        version,
        kind,
        InspectionMode.SPOT,
        period,
        lambda data: operations.create_inspection(
            period, school, data, user=current_user._get_current_object(), today=today_shanghai()
        ),
    )
    if created is None:
        return _form_page(state=state, **page)
    db.session.commit()
    flash(_("Spot inspection saved: score %(score)s.", score=created.score), "success")
    return redirect(url_for("web.inspection_detail", inspection_id=created.id))


@bp.route("/inspections/<int:inspection_id>/edit", methods=["GET", "POST"])
@login_required
def inspection_edit(inspection_id: int) -> Any:
    """Change an inspection (the whole record), scored again with the rubric version it was made with."""
    inspection = _get(Inspection, inspection_id)
    _require_writer(inspection.mode)
    version = rubrics.get_version(inspection.rubric_version_id)
    school, period = _school(inspection.school_id), inspection.period
    page = {
        "version": version,
        "kind": inspection.kind,
        "mode": inspection.mode,
        "school": school,
        "period": period,
        "inspection": inspection,
        "action_url": url_for("web.inspection_edit", inspection_id=inspection.id),
        "cancel_url": url_for("web.inspection_detail", inspection_id=inspection.id),
    }
    if request.method == "GET":
        return _form_page(state=_saved_state(inspection), closed=_change_refused(inspection), **page)

    updated, state = _save(
        version,
        inspection.kind,
        inspection.mode,
        period,
        lambda data: operations.update_inspection(
            inspection, {k: data[k] for k in PATCH_FIELDS}, today=today_shanghai()
        ),
    )
    if updated is None:
        return _form_page(state=state, **page)
    db.session.commit()
    flash(_("Inspection saved: score %(score)s.", score=updated.score), "success")
    return redirect(_after_save(updated))


def _after_save(inspection: Inspection) -> str:
    if inspection.mode is InspectionMode.SELF and inspection.report_id is not None:
        return url_for("web.report_detail", report_id=inspection.report_id)
    return url_for("web.inspection_detail", inspection_id=inspection.id)


def _change_refused(inspection: Inspection) -> list[str]:
    """Why the data rules would refuse a change now (a submitted report, a set-aside inspection), or []."""
    if inspection.excluded:
        return [_("This inspection was set aside by an upheld appeal and can no longer be changed.")]
    if inspection.mode is InspectionMode.SELF and inspection.report is not None:
        report = inspection.report
        return _refusal_messages(lambda: ensure_editable(report, today=today_shanghai()))
    return []


@bp.route("/inspections/<int:inspection_id>/delete", methods=["POST"])
@login_required
def inspection_delete(inspection_id: int) -> Any:
    inspection = _get(Inspection, inspection_id)
    _require_writer(inspection.mode)
    mode, report_id, school_id, period_id = (
        inspection.mode,
        inspection.report_id,
        inspection.school_id,
        inspection.period_id,
    )
    try:
        with _refusals():
            operations.delete_inspection(inspection, today=today_shanghai())
    except Invalid as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("web.inspection_detail", inspection_id=inspection_id))
    db.session.commit()
    flash(_("Inspection deleted."), "success")
    if mode is InspectionMode.SELF and report_id is not None:
        return redirect(url_for("web.report_detail", report_id=report_id))
    return redirect(url_for("web.spot_inspections", period_id=period_id, school_id=school_id))


# --- the record ----------------------------------------------------------------------------------------


@dataclass
class ItemLine:
    item: RubricItem
    result: InspectionItemResult | None
    deducted: Decimal


def _lines(version: RubricVersion, inspection: Inspection) -> list[tuple[Any, list[ItemLine], list[str]]]:
    """Sections of the pinned version with each item's result and what it took off."""
    results = {r.item_id: r for r in operations.load_results(inspection)}
    out = []
    for section in version.sections:
        lines = []
        for item in section.items:
            result = results.get(item.id)
            entry = scoring.Entry(result.result, result.occurrences) if result else None
            lines.append(ItemLine(item, result, scoring.item_deduction(item, entry)))
        out.append((section, lines, (inspection.section_scores or {}).get(section.code)))
    return out


@bp.route("/inspections/<int:inspection_id>")
@login_required
def inspection_detail(inspection_id: int) -> Any:
    """The inspection as recorded (read-only, printable); a spot one with its discrepancy."""
    inspection = _get(Inspection, inspection_id)
    version = rubrics.get_version(inspection.rubric_version_id)
    sections = _lines(version, inspection)
    lines = [line for _s, section_lines, _p in sections for line in section_lines]
    may_change = current_user.role in WRITERS[inspection.mode]
    return render_template(
        "inspections/detail.html",
        inspection=inspection,
        school=_school(inspection.school_id),
        version=version,
        sections=sections,
        failed=[x for x in lines if x.result is not None and x.result.result is ItemOutcome.FAIL],
        passed=[x for x in lines if x.result is not None and x.result.result is ItemOutcome.PASS],
        not_applicable=[x for x in lines if x.result is not None and x.result.result is ItemOutcome.NA],
        may_change=may_change,
        closed=_change_refused(inspection) if may_change else [],
        gap=discrepancy.for_spot(inspection) if inspection.mode is InspectionMode.SPOT else None,
        **PAGE_HELPERS,
    )


# --- the inspector's entry point -------------------------------------------------------------------------


@bp.route("/spot-inspections")
@login_required
def spot_inspections() -> Any:
    """督查: the schools of the inspector's clusters for a month, their spot inspections so far and a
    button to record a new one (canteen only where the school has a canteen)."""
    _require_writer(InspectionMode.SPOT)
    today = today_shanghai()
    periods = [p for p in db.session.scalars(list_periods()) if p.first_day <= today]
    chosen = request.args.get("period_id", type=int4)
    period = next((p for p in periods if p.id == chosen), None)
    if period is None:
        period = next((p for p in periods if not p.is_locked(today)), periods[0] if periods else None)
    schools = list(db.session.scalars(org.list_schools(active=True)))
    only = request.args.get("school_id", type=int4)
    if only is not None:
        schools = [s for s in schools if s.id == only]
    spots: dict[int, list[Inspection]] = {}
    if period is not None:
        for row in db.session.scalars(
            operations.list_inspections(period_id=period.id, mode=InspectionMode.SPOT)
        ):
            spots.setdefault(row.school_id, []).append(row)
    return render_template(
        "inspections/spot_list.html",
        periods=periods,
        period=period,
        schools=schools,
        spots=spots,
        only=only,
        today=today,
        CanteenMode=CanteenMode,
        InspectionKind=InspectionKind,
        **PAGE_HELPERS,
    )
