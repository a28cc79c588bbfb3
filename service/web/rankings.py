"""Web pages of the rankings (排名): the ranking table of a month, term or year, one school-month's
explanation, and the ranking box on the dashboard. Scoping is the tenant wall's job: a school admin's
table holds their own line, an inspector's the schools of their clusters."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import BUREAU_ROLES, Role
from service.core.errors import DomainError, NotFound
from service.db import db
from service.org import operations as org
from service.periods.models import Period
from service.rankings import listing
from service.rankings.calendar import parse_target
from service.rankings.models import RANKING_KIND_LABELS, EntryStatus, RankingKind
from service.rankings.operations import current_snapshot
from service.scoring.explain import explain, period_by_code
from service.scoring.freshness import score_card
from service.scoring.models import SchoolMonthScore
from service.web.views import bp

DASHBOARD_TOP = 10


@bp.app_context_processor
def _ranking_helpers() -> dict[str, Any]:
    return {"ranking_box": ranking_box, "RANKING_KIND_LABELS": RANKING_KIND_LABELS}


@bp.route("/rankings")
@login_required
def rankings() -> Any:
    """The current ranking of the chosen month, term or year (the latest one by default)."""
    try:
        kind = RankingKind(request.args.get("kind", RankingKind.MONTH.value))
    except ValueError:
        abort(404)
    keys = listing.ranked_keys(kind)
    key = request.args.get("key")
    if not key:  # the newest ranking that ranks somebody (not a month still being reported)
        newest = listing.latest_snapshot(kind)
        key = newest.key if newest is not None else None
    peer_group = request.args.get("peer_group") or None
    cluster_id = request.args.get("cluster_id", type=int)
    snapshot = header = None
    entries: list[dict[str, Any]] = []
    peer_groups: list[str] = []
    if key:
        try:
            parse_target(kind.value, key)
        except DomainError:
            abort(404)
        snapshot = current_snapshot(kind, key)
    if snapshot is not None:
        header = listing.snapshot_header(snapshot)
        everything = list(db.session.scalars(listing.entries_select(snapshot)))
        peer_groups = sorted({e.peer_group for e in everything})
        shown = list(
            db.session.scalars(listing.entries_select(snapshot, peer_group=peer_group, cluster_id=cluster_id))
        )
        entries = listing.entry_dicts(shown)
    explain_period = _explain_period(snapshot)
    return render_template(
        "rankings/list.html",
        kind=kind,
        kinds=list(RankingKind),
        key=key,
        keys=keys,
        header=header,
        snapshot=snapshot,
        entries=entries,
        peer_groups=peer_groups,
        peer_group=peer_group,
        peer_group_label=listing.peer_group_label,
        clusters=list(db.session.scalars(org.list_clusters())),
        cluster_id=cluster_id,
        explain_period=explain_period,
        is_bureau=current_user.role in BUREAU_ROLES,
    )


def _explain_period(snapshot: Any) -> str | None:
    """The month a row's explanation link opens: the month itself, or a term's or year's last month."""
    if snapshot is None or not snapshot.period_ids:
        return None
    period = db.session.scalars(
        select(Period)
        .where(Period.id.in_(snapshot.period_ids))
        .order_by(Period.year.desc(), Period.month.desc())
    ).first()
    return period.code if period else None


@bp.route("/schools/<int:school_id>/scores/<period_code>")
@login_required
def school_score_explanation(school_id: int, period_code: str) -> Any:
    """Why the school scored what it did that month: composite → areas → inspections → items."""
    try:
        period = period_by_code(period_code)
        data = explain(school_id, period.id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        raise
    months = list(
        db.session.scalars(
            select(Period)
            .join(SchoolMonthScore, SchoolMonthScore.period_id == Period.id)
            .where(SchoolMonthScore.school_id == school_id)
            .order_by(Period.year, Period.month)
        )
    )
    # The explanation lists the month's inspections beside the stored score: say when it is not current.
    card = score_card(school_id, period.id)
    return render_template("rankings/explanation.html", x=data, months=months, card=card)


def ranking_box() -> dict[str, Any]:
    """What the dashboard shows: the latest month's top 10 and the latest term (bureau, inspectors),
    or the school's own rank and score (school admin)."""
    month = listing.latest_snapshot(RankingKind.MONTH)
    term = listing.latest_snapshot(RankingKind.TERM)
    box: dict[str, Any] = {
        "month": listing.snapshot_header(month) if month else None,
        "term": listing.snapshot_header(term) if term else None,
        "top": [],
        "own": [],
    }
    if current_user.role is Role.SCHOOL_ADMIN:
        for snapshot in (month, term):
            if snapshot is None:
                continue
            rows = listing.entry_dicts(list(db.session.scalars(listing.entries_select(snapshot))))
            if rows:
                box["own"].append({"header": listing.snapshot_header(snapshot), "entry": rows[0]})
    elif month is not None:
        stmt = listing.entries_select(month, status=EntryStatus.RANKED).limit(DASHBOARD_TOP)
        box["top"] = listing.entry_dicts(list(db.session.scalars(stmt)))
    return box
