"""The review queue page (审核, ``web.review_queue``): an inspector's (their clusters') or the bureau
admin's submitted reports, the longest waiting first, with what changed since a return; accept or
return one, or accept several at once.

Every action is the API's: the reason is parsed with ``ReasonIn`` and the moves are
``service/reports/operations.py: accept`` / ``return_report`` (several at once through
``review.accept_many``). Reports are looked up in the tenant scope first, so another cluster's report id
is a 404 before the role is even considered, exactly as in ``service/reports/api.py``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.errors import NotFound
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.org.models import School
from service.reports import operations, review
from service.reports.models import MonthlyReport
from service.reports.schemas import ReasonIn
from service.web.forms import Invalid, attempt, load
from service.web.views import bp

REVIEWERS = (Role.BUREAU_ADMIN, Role.INSPECTOR)  # as service/reports/api.py


def _ensure_reviewer() -> None:
    if current_user.role not in REVIEWERS:
        abort(403)


def _report(report_id: Any) -> MonthlyReport:
    try:
        return get_or_404(MonthlyReport, int(report_id))
    except (NotFound, TypeError, ValueError):
        abort(404)


def _name(report: MonthlyReport) -> str:
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    return f"{school.name} {report.period.code}"


def _page(
    errors: dict[int, dict[str, list[str]]] | None = None, reasons: dict[int, str] | None = None
) -> Any:
    rows = review.review_queue(today=today_shanghai())
    names = {row.report.id: f"{row.school.name} {row.report.period.code}" for row in rows}
    summary = {
        f"{rid}.{field}": [f"{names.get(rid, rid)}: {m}" for m in messages]
        for rid, by_field in (errors or {}).items()
        for field, messages in by_field.items()
    }
    return render_template(
        "reports/review_queue.html", rows=rows, errors=errors or {}, summary=summary, reasons=reasons or {}
    )


@bp.route("/review", methods=["GET", "POST"])
@login_required
def review_queue() -> Any:
    if request.method == "GET":
        _ensure_reviewer()
        return _page()
    action = request.form.get("action", "")
    if action == "accept_selected":
        return _accept_selected()
    if action not in ("accept", "return"):
        abort(400)
    report = _report(request.form.get("report_id"))
    _ensure_reviewer()
    reason = request.form.get("reason", "")
    try:
        if action == "accept":
            attempt(lambda: operations.accept(report, now=utcnow()))
        else:
            data = load(ReasonIn(), {"reason": reason})
            attempt(lambda: operations.return_report(report, data["reason"], now=utcnow()))
    except Invalid as exc:  # refusals() rolled back what the operation wrote
        return _page({report.id: exc.errors}, {report.id: reason}), exc.status
    db.session.commit()
    if action == "accept":
        flash(_("Accepted: %(report)s.", report=_name(report)), "success")
    else:
        flash(_("Returned for correction: %(report)s.", report=_name(report)), "success")
    return redirect(url_for("web.review_queue"), code=303)


def _accept_selected() -> Any:
    """批量审核通过: each ticked report accepted on its own (see ``review.accept_many``)."""
    reports = [_report(value) for value in request.form.getlist("report_id")]
    _ensure_reviewer()
    if not reports:
        return _page({0: {"report_id": [_("Tick the reports to accept first.")]}}), 422
    outcome = review.accept_many(reports, now=utcnow())
    db.session.commit()
    if outcome.accepted:
        flash(
            _(
                "Accepted %(n)s reports: %(reports)s.",
                n=len(outcome.accepted),
                reports=_list(outcome.accepted),
            ),
            "success",
        )
    for report, messages in outcome.refused:
        flash(
            _("Not accepted: %(report)s - %(reason)s", report=_name(report), reason=" ".join(messages)),
            "danger",
        )
    return redirect(url_for("web.review_queue"), code=303)


def _list(reports: list[MonthlyReport]) -> str:
    return _(", ").join(_name(r) for r in reports)
