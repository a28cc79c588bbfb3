"""The boards (看板) as pages: district hazards, vetoes and their incidents, reports awaiting review, and
unlock requests (granted or refused here by the bureau admin). The first screen itself is the
dashboard (``web.dashboard`` in service/web/views.py renders :func:`service.cockpit.operations.first_screen`).

Bureau roles and inspectors read every board (an inspector the schools of their clusters: the tenant
wall's doing); a school admin is refused (403). Acting stays where it already lives - a hazard's page,
an appeal's page, the review queue - and each row links there for the roles that may act. The one
action on a board, deciding an unlock request, parses the note with the API's ``UnlockDecisionIn``
and calls the API's ``decide_unlock``; anybody but the bureau admin gets 403.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from service.accounts.models import Role
from service.appeals.api import DECIDERS
from service.cockpit import boards
from service.cockpit.operations import COCKPIT_ROLES
from service.core.converters import int4
from service.core.errors import NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.timeutil import local, today_shanghai
from service.db import db
from service.hazards.api import BUREAU_SIDE
from service.hazards.models import HAZARD_SEVERITY_LABELS, HAZARD_STATE_LABELS
from service.incidents.models import INCIDENT_SEVERITY_LABELS, INCIDENT_TYPE_LABELS
from service.incidents.vetoes import COMMENDATION_LABELS, Commendation, rule_label
from service.periods.models import UNLOCK_STATE_LABELS, UnlockRequest, UnlockState
from service.periods.operations import decide_unlock
from service.periods.schemas import UnlockDecisionIn
from service.rankings.listing import target_label
from service.rankings.models import RankingKind
from service.reports.review_views import REVIEWERS
from service.scoring.explain import AREA_LABELS
from service.web.forms import Invalid, attempt, load
from service.web.views import bp

BOARD_LABELS = {
    "HAZARD_SEVERITY_LABELS": HAZARD_SEVERITY_LABELS,
    "HAZARD_STATE_LABELS": HAZARD_STATE_LABELS,
    "INCIDENT_TYPE_LABELS": INCIDENT_TYPE_LABELS,
    "INCIDENT_SEVERITY_LABELS": INCIDENT_SEVERITY_LABELS,
    "UNLOCK_STATE_LABELS": UNLOCK_STATE_LABELS,
}
UNLOCK_SHOW = ("pending", "granted", "refused", "all")


@bp.app_context_processor
def _cockpit_helpers() -> dict[str, Any]:
    return {
        "veto_rule_label": lambda code: label({0: rule_label(code)}, 0),
        "commendation_label": _commendation_label,
        "may_see_boards": current_user.is_authenticated and current_user.role in COCKPIT_ROLES,
        "AREA_LABELS": AREA_LABELS,
        "month_label": lambda code: label({0: target_label(RankingKind.MONTH, code)}, 0),
    }


def _commendation_label(code: str) -> str:
    try:
        return label(COMMENDATION_LABELS, Commendation(code))
    except ValueError:
        return code


def _ensure_reader() -> None:
    if current_user.role not in COCKPIT_ROLES:
        abort(403)


def _cluster_arg() -> int | None:
    return request.args.get("cluster_id", type=int4)


def _page_arg() -> int:
    return request.args.get("page", 1, type=int4) or 1


# --- hazards --------------------------------------------------------------------------------------------


@bp.route("/boards/hazards")
@login_required
def board_hazards() -> Any:
    """District hazards (整改): filter by cluster, state and overdue; the longest overdue first."""
    _ensure_reader()
    today = today_shanghai()
    state = request.args.get("state", "active")
    if state not in boards.HAZARD_STATES:
        state = "active"
    overdue = {"1": True, "0": False}.get(request.args.get("overdue", ""))
    cluster_id = _cluster_arg()
    page = boards.page_of(
        boards.hazard_board(today, cluster_id=cluster_id, state=state, overdue=overdue), _page_arg()
    )
    return render_template(
        "cockpit/board_hazards.html",
        page=page,
        today=today,
        filters={"cluster_id": cluster_id, "state": state, "overdue": request.args.get("overdue", "")},
        clusters=boards.clusters_in_scope(),
        may_act=current_user.role in BUREAU_SIDE,
        **BOARD_LABELS,
    )


# --- vetoes ---------------------------------------------------------------------------------------------


@bp.route("/boards/vetoes")
@login_required
def board_vetoes() -> Any:
    """Vetoes in force (一票否决) and the incidents behind them: filter by cluster and rule."""
    _ensure_reader()
    today = today_shanghai()
    rules = boards.veto_rules()
    rule = request.args.get("rule") or None
    if rule not in {code for code, _labels in rules}:
        rule = None
    cluster_id = _cluster_arg()
    page = boards.page_of(boards.veto_board(today, cluster_id=cluster_id, rule=rule), _page_arg())
    return render_template(
        "cockpit/board_vetoes.html",
        page=page,
        today=today,
        filters={"cluster_id": cluster_id, "rule": rule},
        rules=[(code, label({0: labels}, 0)) for code, labels in rules],
        clusters=boards.clusters_in_scope(),
        **BOARD_LABELS,
    )


# --- awaiting review --------------------------------------------------------------------------------------


@bp.route("/boards/awaiting")
@login_required
def board_awaiting() -> Any:
    """Submitted reports awaiting review across the district (待审核), the longest waiting first."""
    _ensure_reader()
    today = today_shanghai()
    cluster_id = _cluster_arg()
    period_id = request.args.get("period_id", type=int4)
    page = boards.page_of(boards.awaiting_board(cluster_id=cluster_id, period_id=period_id), _page_arg())
    return render_template(
        "cockpit/board_awaiting.html",
        page=page,
        waited={report.id: _days_since(report.submitted_at, today) for report, _s, _p in page.rows},
        filters={"cluster_id": cluster_id, "period_id": period_id},
        clusters=boards.clusters_in_scope(),
        periods=boards.periods_awaiting(),
        may_review=current_user.role in REVIEWERS,
        may_decide_appeals=current_user.role in DECIDERS,
    )


def _days_since(moment: Any, today: date) -> int:
    day = local(moment)
    return max((today - day.date()).days, 0) if day else 0


# --- unlock requests ------------------------------------------------------------------------------------


@bp.route("/boards/unlock-requests", methods=["GET", "POST"])
@login_required
def unlock_requests() -> Any:
    """Schools' requests to edit a locked month (解锁申请); the bureau admin grants or refuses each."""
    if request.method == "POST":
        return _decide()
    _ensure_reader()
    return _unlock_page()


def _unlock_filters() -> tuple[str, int | None]:
    show = request.values.get("show", "pending")
    return (show if show in UNLOCK_SHOW else "pending"), request.values.get("cluster_id", type=int4)


def _unlock_page(
    errors: dict[int, dict[str, list[str]]] | None = None, notes: dict[int, str] | None = None
) -> Any:
    show, cluster_id = _unlock_filters()
    state = None if show == "all" else UnlockState(show)
    page = boards.page_of(boards.unlock_board(state=state, cluster_id=cluster_id), _page_arg())
    return render_template(
        "cockpit/unlock_requests.html",
        page=page,
        show=show,
        filters={"cluster_id": cluster_id, "show": show},
        clusters=boards.clusters_in_scope(),
        may_decide=current_user.role is Role.BUREAU_ADMIN,
        errors=errors or {},
        notes=notes or {},
        UnlockState=UnlockState,
        **BOARD_LABELS,
    )


def _decide() -> Any:
    """Grant or refuse one request: looked up in scope first (another school's id is a 404), then the
    role (403), then the API's schema and operation (422 without a reason to refuse, 409 when decided)."""
    try:
        req = get_or_404(UnlockRequest, int(request.form.get("request_id", "")))
    except (NotFound, ValueError):
        abort(404)
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)
    action = request.form.get("action", "")
    if action not in ("grant", "refuse"):
        abort(400)
    note = request.form.get("note", "")
    try:
        data = load(UnlockDecisionIn(), {"note": note})
        attempt(
            lambda: decide_unlock(req, grant=action == "grant", note=data["note"], today=today_shanghai())
        )
    except Invalid as exc:
        return _unlock_page({req.id: exc.errors}, {req.id: note}), exc.status
    db.session.commit()
    if action == "grant":
        flash(_("Unlock granted until %(day)s.", day=req.unlocked_until), "success")
    else:
        flash(_("Unlock request refused."), "success")
    show, cluster_id = _unlock_filters()
    return redirect(url_for("web.unlock_requests", show=show, cluster_id=cluster_id), code=303)
