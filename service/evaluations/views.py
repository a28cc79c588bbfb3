"""Staff evaluations of a month as one grid (后勤人员考核): a row per person of the month's roster, a
column per dimension of the staff rubric in force, the assessment group's (考核小组) scores in the cells.

The columns, their ranges and the rater group come from the published staff rubric version - nothing
here knows that there are five dimensions or what they are worth. Each changed row is sent through the
API's schema (:class:`EvaluationIn`) and the API's operations (:func:`operations.create_evaluation`,
:func:`operations.replace_ratings`); a person's ratings from the other groups (satisfaction, peers,
self - entered through the API or Excel) go back unchanged with the grid's assessment rating.

All or nothing: every row is tried, every problem is collected by person and dimension
(:class:`operations.RatingsRefused` says which dimension a refusal is about), and if there is one the
whole transaction is rolled back and the grid comes back with the user's input and the messages in
their cells. A person with several assessment raters, or evaluated with another rubric version, cannot
be changed in the grid (one cell per dimension would lose ratings); the row says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.core.errors import DomainError
from service.core.labels import label
from service.core.timeutil import today_shanghai
from service.db import db
from service.evaluations import operations
from service.evaluations.api import WRITERS
from service.evaluations.models import RATER_GROUP_LABELS, Evaluation, RaterGroup
from service.evaluations.schemas import EvaluationIn
from service.org.models import School
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable
from service.rubrics.models import RubricKind, RubricSection, RubricVersion
from service.rubrics.operations import current_version
from service.staff.models import STAFF_ROLE_LABELS, StaffMember
from service.web.forms import Invalid, flatten, form_list, load
from service.web.monthly_forms import found, messages, refusal, require
from service.web.views import bp

ROW = "_row"  # a row's messages that are not about one dimension
GRID_GROUP = RaterGroup.ASSESSMENT


@dataclass
class Row:
    """One person of the grid: stored or posted values by dimension, and the messages of a refused save."""

    staff: StaffMember
    evaluation: Evaluation | None
    values: dict[str, str] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)  # labels of the other rater groups that rated
    locked: str | None = None  # why the grid cannot change this row
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.locked is None


def _plain(value: Any) -> str:
    """A stored score as typed: ``"9.50"`` → ``"9.5"``, ``"10.00"`` → ``"10"``."""
    return format(Decimal(str(value)).normalize(), "f")


def _assessment(evaluation: Evaluation) -> list[Any]:
    return [r for r in evaluation.ratings if r.rater_group is GRID_GROUP]


def _row_of(evaluation: Evaluation, version: RubricVersion) -> Row:
    row = Row(evaluation.staff, evaluation)
    row.others = sorted(
        {
            label(RATER_GROUP_LABELS, r.rater_group)
            for r in evaluation.ratings
            if r.rater_group is not GRID_GROUP
        }
    )
    assessed = _assessment(evaluation)
    if evaluation.rubric_version_id != version.id:
        row.locked = _("Evaluated with another version of the rubric; change it through the API or Excel.")
    elif len(assessed) > 1:
        row.locked = _("Several assessment-group raters; change them through the API or Excel.")
    if len(assessed) == 1:
        row.values = {code: _plain(v) for code, v in assessed[0].scores.items()}
    elif assessed:  # the group's mean, shown only
        for section in version.sections:
            scores = [Decimal(r.scores[section.code]) for r in assessed if section.code in r.scores]
            if scores:
                row.values[section.code] = _plain((sum(scores) / len(scores)).quantize(Decimal("0.01")))
    return row


def _roster(report: MonthlyReport, version: RubricVersion) -> list[Row]:
    """The month's evaluations and the active staff still without one (hired by the month's end)."""
    evaluations = db.session.scalars(
        operations.list_evaluations(period_id=report.period_id, school_id=report.school_id)
    )
    rows = [_row_of(e, version) for e in evaluations]
    rows += [Row(member, None) for member in operations.missing_evaluations(report)]
    rows.sort(key=lambda r: r.staff.id)
    return rows


# --- saving ------------------------------------------------------------------------------------------


def _changed(row: Row, posted: Mapping[str, str]) -> bool:
    """Whether the posted cells differ from what is stored (an unparseable cell counts as a change)."""
    if row.evaluation is None:
        return any(posted.values())
    stored = dict(row.values)
    if set(stored) != {c for c, v in posted.items() if v}:
        return True
    try:
        return any(Decimal(posted[c]) != Decimal(v) for c, v in stored.items())
    except InvalidOperation:
        return True


def _ratings(row: Row, scores: dict[str, str]) -> list[dict[str, Any]]:
    """The grid's assessment rating first (its rater kept), then the person's other ratings unchanged."""
    kept = _assessment(row.evaluation) if row.evaluation is not None else []
    first = kept[0] if kept else None
    rating = {
        "rater_group": GRID_GROUP.value,
        "rater_name": first.rater_name if first else RATER_GROUP_LABELS[GRID_GROUP][0],
        "rater_staff_id": first.rater_staff_id if first else None,
        "scores": scores,
    }
    others = [
        {
            "rater_group": r.rater_group.value,
            "rater_name": r.rater_name,
            "rater_staff_id": r.rater_staff_id,
            "scores": dict(r.scores),
        }
        for r in (row.evaluation.ratings if row.evaluation is not None else [])
        if r.rater_group is not GRID_GROUP
    ]
    return [rating, *others]


def _cell_errors(row: Row, errors: Mapping[str, list[str]]) -> None:
    """Schema messages (``ratings.0.scores.<code>.value``) into the grid rating's cells; others on the row."""
    for key, msgs in errors.items():
        parts = key.split(".")
        if parts[:3] == ["ratings", "0", "scores"] and len(parts) > 3:
            row.errors.setdefault(parts[3], []).extend(msgs)
        else:
            row.errors.setdefault(ROW, []).extend(msgs)


def _refusal_errors(row: Row, exc: DomainError) -> None:
    """The domain's refusal by cell where it names a dimension of the grid's rating, else on the row."""
    if not isinstance(exc, operations.RatingsRefused):
        _cell_errors(row, flatten(exc.errors))
        return
    for problem in exc.problems:
        ours = problem.rating == 0 or problem.group is GRID_GROUP
        if ours and problem.dimensions:
            for code in problem.dimensions:
                row.errors.setdefault(code, []).append(problem.cell or problem.message)
        else:
            row.errors.setdefault(ROW, []).append(problem.message)


def _save_row(report: MonthlyReport, row: Row, posted: Mapping[str, str]) -> int | None:
    """Create or replace one person's evaluation; the status of a refusal (messages on the row), else None."""
    scores = {code: value for code, value in posted.items() if value}
    body = {"staff_id": row.staff.id, "period_id": report.period_id, "ratings": _ratings(row, scores)}
    today = today_shanghai()
    try:
        data = load(EvaluationIn(), body)
    except Invalid as invalid:
        _cell_errors(row, invalid.errors)
        return invalid.status
    try:
        if row.evaluation is None:
            operations.create_evaluation(row.staff, report.period, data["ratings"], today=today)
        else:
            operations.replace_ratings(row.evaluation, data["ratings"], today=today)
    except DomainError as exc:
        _refusal_errors(row, exc)
        return exc.status
    return None


def _save_grid(report: MonthlyReport, rows: list[Row], sections: list[RubricSection]) -> int | None:
    """Every changed row, all or nothing; the status to answer when anything was refused.

    The rows are written inside a SAVEPOINT that is rolled back when any row was refused (see
    :func:`service.web.forms.refusals` for why not the whole transaction).
    """
    posted_rows = form_list(request.form, "row")
    statuses: set[int] = set()
    savepoint = db.session.begin_nested()
    for row in rows:
        cells = posted_rows.get(row.staff.id)
        if cells is None or not row.editable:
            continue
        posted = {s.code: (cells.get(s.code) or "").strip() for s in sections}
        changed = _changed(row, posted)
        row.values = posted
        if changed:
            status = _save_row(report, row, posted)
            if status is not None:
                statuses.add(status)
    if not statuses:
        savepoint.commit()
        return None
    savepoint.rollback()
    return next((s for s in (403, 409) if s in statuses), 422)


def _delete(report: MonthlyReport, rows: list[Row], staff_id: str) -> Any:
    row = next((r for r in rows if str(r.staff.id) == staff_id and r.evaluation is not None), None)
    if row is None:
        abort(404)
    try:
        operations.delete_evaluation(row.evaluation, today=today_shanghai())  # type: ignore[arg-type]
    except DomainError as exc:
        db.session.rollback()
        for msgs in flatten(exc.errors).values():
            for message in msgs:
                flash(message, "danger")
        return redirect(url_for("web.evaluations_grid", report_id=report.id))
    db.session.commit()
    flash(_("The evaluation of %(name)s was deleted.", name=row.staff.name), "success")
    return redirect(url_for("web.evaluations_grid", report_id=report.id))


# --- the page ----------------------------------------------------------------------------------------


def _render(report: MonthlyReport, version: RubricVersion | None, rows: list[Row], status: int = 200) -> Any:
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    locked = refusal(lambda: ensure_editable(report, today=today_shanghai()))
    evaluated = sum(1 for r in rows if r.evaluation is not None)
    failed = {r.staff.id for r in rows if r.errors}
    sections = list(version.sections) if version else []
    return (
        render_template(
            "evaluations/grid.html",
            report=report,
            school=school,
            version=version,
            sections=sections,
            tops={s.code: _plain(s.max_points) for s in sections},
            rows=rows,
            evaluated=evaluated,
            failed=failed,
            can_edit=current_user.role in WRITERS and locked is None and version is not None,
            locked=messages(locked),
            ROW=ROW,
            group_label=label(RATER_GROUP_LABELS, GRID_GROUP),
            STAFF_ROLE_LABELS=STAFF_ROLE_LABELS,
        ),
        status,
    )


@bp.route("/reports/<int:report_id>/evaluations", methods=["GET", "POST"])
@login_required
def evaluations_grid(report_id: int) -> Any:
    """The month's staff evaluations as a grid; POST saves every changed row in one transaction."""
    report = found(MonthlyReport, report_id)
    version = current_version(RubricKind.STAFF)
    rows = _roster(report, version) if version is not None else []
    if request.method == "GET":
        return _render(report, version, rows)
    require(*WRITERS)
    if version is None:
        return _render(report, version, rows, 409)
    if refusal(lambda: ensure_editable(report, today=today_shanghai())) is not None:
        return _render(report, version, rows, 409)  # the notice says why; nothing is written
    if request.form.get("delete"):
        return _delete(report, rows, request.form["delete"])
    status = _save_grid(report, rows, list(version.sections))
    if status is not None:
        return _render(report, version, rows, status)
    db.session.commit()
    flash(_("Evaluations saved."), "success")
    return redirect(url_for("web.evaluations_grid", report_id=report.id))
