"""Web pages of commendations (表彰): the rounds, one round's candidates with their reasons, and the
bureau admin's buttons (propose, approve/reject with a comment, publish). The same domain functions
as the API; the same visibility (school admins see the approved awards of published rounds only)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from service.accounts.models import Role
from service.commendations import operations
from service.commendations.export import shown
from service.commendations.models import (
    COMMENDATION_LABELS,
    COMMENDATION_ORDER,
    DECISION_LABELS,
    ROUND_KIND_LABELS,
    ROUND_STATE_LABELS,
    CommendationCandidate,
    CommendationRound,
    Decision,
    RoundKind,
)
from service.core.errors import DomainError, NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.types import utcnow
from service.db import db
from service.rankings.calendar import parse_target
from service.web.views import bp

PAGE_LABELS = {
    "COMMENDATION_LABELS": COMMENDATION_LABELS,
    "DECISION_LABELS": DECISION_LABELS,
    "ROUND_KIND_LABELS": ROUND_KIND_LABELS,
    "ROUND_STATE_LABELS": ROUND_STATE_LABELS,
}


def _school_side() -> bool:
    return current_user.role is Role.SCHOOL_ADMIN


def _round_or_abort(round_id: int) -> CommendationRound:
    try:
        row = get_or_404(CommendationRound, round_id)
    except NotFound:
        abort(404)
    if _school_side() and not row.is_published:
        abort(404)
    return row


def _flash_refusal(exc: DomainError) -> None:
    db.session.rollback()
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "danger")


def period_label(row: CommendationRound) -> str:
    zh, en = parse_target(row.kind.value, row.key).label
    return label({"period": (zh, en)}, "period")


@bp.route("/commendations")
@login_required
def commendations() -> Any:
    rows = list(db.session.scalars(operations.list_rounds(published_only=_school_side())))
    return render_template(
        "commendations/rounds.html",
        rounds=rows,
        period_label=period_label,
        can_propose=current_user.role is Role.BUREAU_ADMIN,
        **PAGE_LABELS,
    )


@bp.route("/commendations/propose", methods=["POST"])
@login_required
def commendation_propose() -> Any:
    """Compute (or recompute) a round's candidates now - a district's worth takes seconds."""
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)
    kind = request.form.get("kind", "")
    key = request.form.get("key", "").strip()
    if kind not in (RoundKind.TERM.value, RoundKind.YEAR.value):
        abort(400)
    try:
        row = operations.propose(kind, key, user=current_user._get_current_object())
    except DomainError as exc:
        _flash_refusal(exc)
        return redirect(url_for("web.commendations"))
    db.session.commit()
    flash(_("Candidates proposed."), "success")
    return redirect(url_for("web.commendation_round", round_id=row.id))


@bp.route("/commendations/<int:round_id>")
@login_required
def commendation_round(round_id: int) -> Any:
    row = _round_or_abort(round_id)
    only_qualifying = request.args.get("all") != "1"
    stmt = operations.candidates(
        row, qualifies=True if only_qualifying and not _school_side() else None, awards_only=_school_side()
    )
    groups: dict[Any, list[CommendationCandidate]] = defaultdict(list)
    for cand in db.session.scalars(stmt):
        groups[cand.commendation].append(cand)
    pending = sum(1 for c in groups.values() for x in c if x.qualifies and x.decision is Decision.PENDING)
    return render_template(
        "commendations/round.html",
        round=row,
        period=period_label(row),
        groups=[(c, groups.get(c, [])) for c in COMMENDATION_ORDER],
        pending=pending,
        only_qualifying=only_qualifying,
        can_decide=current_user.role is Role.BUREAU_ADMIN and not row.is_published,
        certificates=operations.certificate_counts(row) if row.is_published else None,
        school_side=_school_side(),
        shown=shown,
        **PAGE_LABELS,
    )


@bp.route("/commendations/candidates/<int:candidate_id>/decision", methods=["POST"])
@login_required
def commendation_decide(candidate_id: int) -> Any:
    try:
        cand = get_or_404(CommendationCandidate, candidate_id)
    except NotFound:
        abort(404)
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)
    decision = request.form.get("decision", "")
    if decision not in (Decision.APPROVED.value, Decision.REJECTED.value):
        abort(400)
    try:
        operations.decide(
            cand,
            Decision(decision),
            request.form.get("comment", ""),
            user=current_user._get_current_object(),
            now=utcnow(),
        )
    except DomainError as exc:
        _flash_refusal(exc)
    else:
        db.session.commit()
    return redirect(url_for("web.commendation_round", round_id=cand.round_id, **_keep_all()) + f"#c{cand.id}")


def _keep_all() -> dict[str, str]:
    return {"all": "1"} if request.form.get("all") == "1" else {}


@bp.route("/commendations/<int:round_id>/publish", methods=["POST"])
@login_required
def commendation_publish(round_id: int) -> Any:
    row = _round_or_abort(round_id)
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)
    try:
        operations.publish(row, user=current_user._get_current_object(), now=utcnow())
    except DomainError as exc:
        _flash_refusal(exc)
        return redirect(url_for("web.commendation_round", round_id=round_id))
    db.session.commit()
    flash(_("The list is published; the certificates are being generated."), "success")
    return redirect(url_for("web.commendation_round", round_id=round_id))
