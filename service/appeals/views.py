"""Appeal pages (申诉): a school files one against a spot inspection of theirs (``web.appeal_new``), a
reviewer works through the appeals they may decide (``web.appeal_queue``) and decides one
(``web.appeal_detail``).

The rules are the domain's (``service/appeals/operations.py``): ten working days to file, a reason,
one open appeal per inspection, and never the inspection's own inspector as the decider. The pages
parse with the API's schemas (``AppealIn``, ``DecisionIn``) and call the same ``file_appeal`` and
``decide``; a refusal is shown with the domain's message and the API's status. The decide buttons are
only offered to someone who may decide; a forced request still meets ``ensure_may_decide`` (403).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.appeals import operations
from service.appeals.api import DECIDERS
from service.appeals.models import (
    APPEAL_ACTION_LABELS,
    APPEAL_STATE_LABELS,
    APPEAL_WORKING_DAYS,
    AppealState,
    InspectionAppeal,
)
from service.appeals.schemas import AppealIn, DecisionIn
from service.core.errors import NotFound
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.inspections.models import ItemOutcome
from service.inspections.operations import load_results
from service.org.models import School
from service.web.forms import Invalid, attempt, load
from service.web.views import bp

LABELS = {"APPEAL_STATE_LABELS": APPEAL_STATE_LABELS, "APPEAL_ACTION_LABELS": APPEAL_ACTION_LABELS}
OUTCOMES = {
    AppealState.UPHELD.value: ("认定申诉成立", "Uphold the appeal"),
    AppealState.REJECTED.value: ("驳回申诉", "Dismiss the appeal"),
}


def _found(model: Any, ident: int) -> Any:
    try:
        return get_or_404(model, ident)
    except NotFound:
        abort(404)


def _summary(inspection: Any) -> dict[str, Any]:
    """What the page shows of the appealed inspection: its school and the items it failed."""
    school = db.session.scalars(select(School).where(School.id == inspection.school_id)).one()
    failed = [r for r in load_results(inspection) if r.result is ItemOutcome.FAIL]
    return {"inspection": inspection, "school": school, "failed": failed}


# --- filing (school admin) ---------------------------------------------------------------------------


@bp.route("/inspections/<int:inspection_id>/appeal", methods=["GET", "POST"])
@login_required
def appeal_new(inspection_id: int) -> Any:
    from service.inspections.models import Inspection

    inspection = _found(Inspection, inspection_id)
    if current_user.role is not Role.SCHOOL_ADMIN:
        abort(403)
    errors: dict[str, list[str]] = {}
    reason = request.form.get("reason", "")
    status = 200
    if request.method == "POST":
        try:
            data = load(AppealIn(), {"inspection_id": inspection.id, "reason": reason})
            appeal = attempt(
                lambda: operations.file_appeal(
                    inspection, data["reason"], today=today_shanghai(), now=utcnow()
                )
            )
        except Invalid as exc:  # refusals() rolled back what the operation wrote
            errors, status = exc.errors, exc.status
        else:
            db.session.commit()
            flash(_("Your appeal has been filed; a different inspector will review it."), "success")
            return redirect(url_for("web.appeal_detail", appeal_id=appeal.id), code=303)
    return (
        render_template(
            "appeals/new.html",
            due=operations.last_filing_day(inspection),
            today=today_shanghai(),
            working_days=APPEAL_WORKING_DAYS,
            errors=errors,
            reason=reason,
            **_summary(inspection),
        ),
        status,
    )


# --- the queue ---------------------------------------------------------------------------------------


@bp.route("/appeals")
@login_required
def appeal_queue() -> Any:
    """A reviewer's appeals to decide (pending or decided), never against their own inspections - those
    are listed apart, read only. A school sees its own appeals and what it may still appeal."""
    if current_user.role is Role.SCHOOL_ADMIN:
        return render_template(
            "appeals/school.html",
            appeals=list(db.session.scalars(operations.list_appeals())),
            appealable=operations.appealable_inspections(today=today_shanghai()),
            schools=_schools(),
            **LABELS,
        )
    show = "decided" if request.args.get("show") == "decided" else "pending"
    inspector_id = current_user.id if current_user.role is Role.INSPECTOR else None
    queue = db.session.scalars(
        operations.decision_queue(decided=show == "decided", inspector_id=inspector_id)
    )
    own = []
    if inspector_id is not None:
        own = list(db.session.scalars(operations.decision_queue(inspector_id=inspector_id, own=True)))
    return render_template(
        "appeals/queue.html",
        show=show,
        appeals=list(queue),
        own=own,
        schools=_schools(),
        **LABELS,
    )


def _schools() -> dict[int, School]:
    from service.org import operations as org

    return {s.id: s for s in db.session.scalars(org.list_schools())}


# --- one appeal, and its decision --------------------------------------------------------------------


@bp.route("/appeals/<int:appeal_id>", methods=["GET", "POST"])
@login_required
def appeal_detail(appeal_id: int) -> Any:
    appeal: InspectionAppeal = _found(InspectionAppeal, appeal_id)
    errors: dict[str, list[str]] = {}
    note = request.form.get("note", "")
    status = 200
    if request.method == "POST":
        if current_user.role not in DECIDERS:
            abort(403)
        try:
            data = load(DecisionIn(), {"outcome": request.form.get("outcome", ""), "note": note})
            attempt(
                lambda: operations.decide(appeal, AppealState(data["outcome"]), data["note"], now=utcnow())
            )
        except Invalid as exc:  # refusals() rolled back what the operation wrote
            errors, status = exc.errors, exc.status
        else:
            db.session.commit()
            flash(_("The appeal has been decided."), "success")
            return redirect(url_for("web.appeal_detail", appeal_id=appeal.id), code=303)
    can_decide = (
        current_user.role in DECIDERS
        and appeal.state is AppealState.SUBMITTED
        and operations.may_decide(appeal, current_user.id)
    )
    return (
        render_template(
            "appeals/detail.html",
            appeal=appeal,
            transitions=operations.transitions_of(appeal),
            can_decide=can_decide,
            own_inspection=appeal.inspection.inspector_user_id == current_user.id,
            outcomes=OUTCOMES,
            errors=errors,
            note=note,
            **_summary(appeal.inspection),
            **LABELS,
        ),
        status,
    )
