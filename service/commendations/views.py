"""Web pages of commendations (表彰): the rounds, one round's candidates with their reasons, and the
bureau admin's steps - propose (an ended term or year only), approve/reject one candidate or several
at once with one comment, check the list on a confirmation page, publish, and watch the certificates
being issued. The same domain functions and schemas as the API; the same visibility (school admins
see the approved awards of published rounds only; officials read everything and change nothing)."""

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
)
from service.commendations.schemas import BulkDecisionIn, CandidateDecisionIn, RoundIn
from service.core.errors import DomainError, NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.rankings.calendar import parse_target
from service.web.forms import Invalid, attempt, load, rollback
from service.web.views import bp

PAGE_LABELS = {
    "COMMENDATION_LABELS": COMMENDATION_LABELS,
    "DECISION_LABELS": DECISION_LABELS,
    "ROUND_KIND_LABELS": ROUND_KIND_LABELS,
    "ROUND_STATE_LABELS": ROUND_STATE_LABELS,
}
CERTIFICATE_POLL_SECONDS = 3


def _school_side() -> bool:
    return current_user.role is Role.SCHOOL_ADMIN


def _ensure_admin() -> None:
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)


def _round_or_abort(round_id: int) -> CommendationRound:
    try:
        row = get_or_404(CommendationRound, round_id)
    except NotFound:
        abort(404)
    if _school_side() and not row.is_published:
        abort(404)
    return row


def _candidate_or_abort(candidate_id: Any) -> CommendationCandidate:
    try:
        return get_or_404(CommendationCandidate, int(candidate_id))
    except (NotFound, TypeError, ValueError):
        abort(404)


def _flash_refusal(exc: DomainError) -> None:
    db.session.rollback()
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "danger")


def period_label(row: CommendationRound) -> str:
    zh, en = parse_target(row.kind.value, row.key).label
    return label({"period": (zh, en)}, "period")


def _who(cand: CommendationCandidate) -> str:
    return cand.school.name + (f" {cand.staff.name}" if cand.staff else "")


# --- the rounds and proposing ---------------------------------------------------------------------


def _rounds_page(form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None) -> str:
    rows = list(db.session.scalars(operations.list_rounds(published_only=_school_side())))
    can_propose = current_user.role is Role.BUREAU_ADMIN
    ended = operations.ended_targets(today_shanghai()) if can_propose else []
    if form is None:
        first = ended[0] if ended else None
        form = {
            "kind": request.args.get("kind", first.kind.value if first else "year"),
            "key": request.args.get("key", first.key if first else ""),
        }
    return render_template(
        "commendations/rounds.html",
        rounds=rows,
        period_label=period_label,
        can_propose=can_propose,
        ended=[(t, label({0: t.label}, 0)) for t in ended],
        form=form,
        errors=errors or {},
        **PAGE_LABELS,
    )


@bp.route("/commendations")
@login_required
def commendations() -> Any:
    return _rounds_page()


@bp.route("/commendations/propose", methods=["POST"])
@login_required
def commendation_propose() -> Any:
    """Compute (or recompute) a round's candidates now - a district's worth takes seconds. Only a term
    or year that has ended (operations.ends_on); the refusal is shown beside the period."""
    _ensure_admin()
    form = {"kind": request.form.get("kind", ""), "key": request.form.get("key", "").strip()}
    try:
        data = load(RoundIn(), form)
        row = attempt(
            lambda: operations.propose(
                data["kind"].value, data["key"], user=current_user._get_current_object()
            )
        )
    except Invalid as exc:
        return _rounds_page(form, exc.errors), exc.status
    db.session.commit()
    flash(_("Candidates proposed."), "success")
    return redirect(url_for("web.commendation_round", round_id=row.id), code=303)


# --- one round ------------------------------------------------------------------------------------


Refusal = tuple[CommendationCandidate | None, dict[str, list[str]]]


def _round_page(
    row: CommendationRound, *, refused: list[Refusal] | None = None, bulk: dict[str, Any] | None = None
) -> str:
    """The round page; ``refused`` are the bulk form's refusals - per candidate, or (``None``) of the
    form itself - shown in a summary on top and beside each refused line."""
    only_qualifying = request.values.get("all") != "1"
    stmt = operations.candidates(
        row, qualifies=True if only_qualifying and not _school_side() else None, awards_only=_school_side()
    )
    groups: dict[Any, list[CommendationCandidate]] = defaultdict(list)
    for cand in db.session.scalars(stmt):
        groups[cand.commendation].append(cand)
    pending = sum(1 for c in groups.values() for x in c if x.qualifies and x.decision is Decision.PENDING)
    refused = refused or []
    form_errors = {f: m for cand, errors in refused if cand is None for f, m in errors.items()}
    # A rejection without a reason is refused for every ticked line alike: said once, at the comment.
    comment = next((errors["comment"] for _cand, errors in refused if "comment" in errors), None)
    comment_errors = {"comment": comment} if comment else {}
    summary = [] if not comment else [(None, m) for m in comment]
    summary += [
        (_who(cand) if cand is not None else None, message)
        for cand, errors in refused
        for field, messages in errors.items()
        if field != "comment"
        for message in messages
    ]
    by_line = {
        cand.id: {f: m for f, m in errors.items() if f != "comment"}
        for cand, errors in refused
        if cand is not None
    }
    return render_template(
        "commendations/round.html",
        round=row,
        period=period_label(row),
        groups=[(c, groups.get(c, [])) for c in COMMENDATION_ORDER],
        pending=pending,
        only_qualifying=only_qualifying,
        can_decide=current_user.role is Role.BUREAU_ADMIN and not row.is_published,
        certificates=operations.certificate_counts(row) if row.is_published else None,
        poll_seconds=CERTIFICATE_POLL_SECONDS,
        school_side=_school_side(),
        shown=shown,
        who=_who,
        refused={cid: errors for cid, errors in by_line.items() if errors},
        refusal_summary=summary,
        bulk=bulk or {"ids": set(), "comment": ""},
        bulk_errors={**form_errors, **comment_errors},
        **PAGE_LABELS,
    )


@bp.route("/commendations/<int:round_id>")
@login_required
def commendation_round(round_id: int) -> Any:
    return _round_page(_round_or_abort(round_id))


@bp.route("/commendations/<int:round_id>/certificates")
@login_required
def commendation_certificates(round_id: int) -> Any:
    """The certificate progress line alone (htmx polls it every few seconds while certificates are
    being issued; it stops polling once all are issued)."""
    row = _round_or_abort(round_id)
    return render_template(
        "commendations/_certificates.html",
        round=row,
        certificates=operations.certificate_counts(row) if row.is_published else None,
        poll_seconds=CERTIFICATE_POLL_SECONDS,
    )


@bp.route("/commendations/candidates/<int:candidate_id>/decision", methods=["POST"])
@login_required
def commendation_decide(candidate_id: int) -> Any:
    cand = _candidate_or_abort(candidate_id)
    _ensure_admin()
    try:
        data = load(
            CandidateDecisionIn(),
            {"decision": request.form.get("decision", ""), "comment": request.form.get("comment", "")},
        )
        operations.decide(
            cand,
            Decision(data["decision"]),
            data["comment"],
            user=current_user._get_current_object(),
            now=utcnow(),
        )
    except Invalid as exc:
        rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "danger")
    except DomainError as exc:
        _flash_refusal(exc)
    else:
        db.session.commit()
    return redirect(url_for("web.commendation_round", round_id=cand.round_id, **_keep_all()) + f"#c{cand.id}")


def _keep_all() -> dict[str, str]:
    return {"all": "1"} if request.form.get("all") == "1" else {}


@bp.route("/commendations/<int:round_id>/decisions", methods=["POST"])
@login_required
def commendation_decide_many(round_id: int) -> Any:
    """批量审定: the ticked candidates approved or rejected with one comment, each through the same
    ``decide`` (operations.decide_many); the refused ones are listed beside their rows."""
    row = _round_or_abort(round_id)
    _ensure_admin()
    ids = request.form.getlist("candidate_id")
    bulk = {"ids": set(ids), "comment": request.form.get("comment", "")}
    try:
        data = load(
            BulkDecisionIn(),
            {"candidate_ids": ids, "decision": request.form.get("decision", ""), "comment": bulk["comment"]},
        )
    except Invalid as exc:
        return _round_page(row, refused=[(None, exc.errors)], bulk=bulk), exc.status
    cands = [_candidate_or_abort(cid) for cid in dict.fromkeys(data["candidate_ids"])]
    outcome = operations.decide_many(
        row,
        cands,
        Decision(data["decision"]),
        data["comment"],
        user=current_user._get_current_object(),
        now=utcnow(),
    )
    db.session.commit()
    if outcome.decided:
        flash(
            _(
                "%(decision)s: %(count)s candidates.",
                decision=label(DECISION_LABELS, Decision(data["decision"])),
                count=len(outcome.decided),
            ),
            "success",
        )
    if outcome.refused:
        bulk["ids"] = {str(cand.id) for cand, _errors in outcome.refused}
        status = 200 if outcome.decided else max(_status(e) for _c, e in outcome.refused)
        return _round_page(row, refused=list(outcome.refused), bulk=bulk), status
    return redirect(url_for("web.commendation_round", round_id=row.id, **_keep_all()), code=303)


def _status(errors: dict[str, list[str]]) -> int:
    """The API's status of a refusal by its field: a missing reason is invalid input (422), a state
    (not qualifying, another round, published) a conflict (409)."""
    return 422 if "comment" in errors or "decision" in errors else 409


# --- publishing, confirmed ------------------------------------------------------------------------


def _confirm_page(row: CommendationRound, errors: dict[str, list[str]] | None = None) -> str:
    preview = operations.publication_preview(row)
    by_commendation: dict[Any, list[CommendationCandidate]] = defaultdict(list)
    for cand in preview.awards:
        by_commendation[cand.commendation].append(cand)
    return render_template(
        "commendations/confirm.html",
        round=row,
        period=period_label(row),
        preview=preview,
        awards=[(c, by_commendation.get(c, []), preview.counts[c]) for c in COMMENDATION_ORDER],
        errors=errors or {},
        who=_who,
        **PAGE_LABELS,
    )


@bp.route("/commendations/<int:round_id>/publish", methods=["GET", "POST"])
@login_required
def commendation_publish(round_id: int) -> Any:
    """GET: the confirmation page - what will be frozen (counts per commendation, the names, that it
    cannot be undone). POST (from that page, with the list's digest): publish."""
    row = _round_or_abort(round_id)
    _ensure_admin()
    if row.is_published:
        flash(_("This commendation list is published and can no longer change."), "info")
        return redirect(url_for("web.commendation_round", round_id=round_id), code=303)
    if request.method == "GET":
        return _confirm_page(row)
    confirm = request.form.get("confirm", "")
    try:
        attempt(
            lambda: operations.publish(
                row, user=current_user._get_current_object(), now=utcnow(), confirm=confirm
            )
        )
    except Invalid as exc:
        return _confirm_page(row, exc.errors), exc.status
    db.session.commit()
    flash(_("The list is published; the certificates are being generated."), "success")
    return redirect(url_for("web.commendation_round", round_id=round_id), code=303)
