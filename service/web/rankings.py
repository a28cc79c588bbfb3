"""Web pages of the rankings (排名): the ranking table of a month, term or year, one school-month's
explanation, and the ranking box on the dashboard. Scoping is the tenant wall's job: a school admin's
table holds their own line, an inspector's the schools of their clusters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import BUREAU_ROLES, Role
from service.core.errors import DomainError, NotFound
from service.core.timeutil import today_shanghai
from service.db import db
from service.excel.api import attachment
from service.org import operations as org
from service.org.models import Cluster
from service.periods.models import Period
from service.rankings import listing
from service.rankings.calendar import parse_target
from service.rankings.export import ranking_workbook
from service.rankings.models import RANKING_KIND_LABELS, EntryStatus, RankingKind
from service.rankings.operations import current_snapshot
from service.rankings.schemas import RankingArgs
from service.reports.status import school_statuses, status_label
from service.scoring.explain import explain, period_by_code
from service.scoring.freshness import score_card
from service.scoring.models import SchoolMonthScore
from service.web.filters import maybe_url
from service.web.forms import Invalid, load
from service.web.views import bp

DASHBOARD_TOP = 10


@bp.app_context_processor
def _ranking_helpers() -> dict[str, Any]:
    return {"ranking_box": ranking_box, "RANKING_KIND_LABELS": RANKING_KIND_LABELS}


@dataclass
class RankingTable:
    """What the ranking page, its print layout and its xlsx export show: the same rows, the same filters."""

    kind: RankingKind
    key: str | None
    keys: list[str]
    args: dict[str, Any]  # peer_group, cluster_id, sort, order (parsed with the API's RankingArgs)
    snapshot: Any = None
    header: dict[str, Any] | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    peer_groups: list[str] = field(default_factory=list)


def _table_args() -> dict[str, Any]:
    """The page's filters and sort, parsed with the API's schema; a bad value falls back to its default."""
    raw = {k: v for k in ("peer_group", "cluster_id", "sort", "order") if (v := request.args.get(k))}
    try:
        return load(RankingArgs(), raw)
    except Invalid as exc:
        bad = {name.split(".")[0] for name in exc.errors}
        return load(RankingArgs(), {k: v for k, v in raw.items() if k not in bad})


def _ranking_table() -> RankingTable:
    """The chosen ranking (the newest that ranks somebody by default) with the page's filters and sort;
    a missing month's label is the report's status (service/reports/status.py), never a bare 缺报."""
    try:
        kind = RankingKind(request.args.get("kind", RankingKind.MONTH.value))
    except ValueError:
        abort(404)
    key = request.args.get("key")
    if not key:  # the newest ranking that ranks somebody (not a month still being reported)
        newest = listing.latest_snapshot(kind)
        key = newest.key if newest is not None else None
    table = RankingTable(kind, key, listing.ranked_keys(kind), _table_args())
    if key:
        try:
            parse_target(kind.value, key)
        except DomainError:
            abort(404)
        table.snapshot = current_snapshot(kind, key)
    if table.snapshot is not None:
        table.header = listing.snapshot_header(table.snapshot)
        table.peer_groups = listing.peer_groups_of(table.snapshot)
        shown = list(db.session.scalars(listing.entries_select(table.snapshot, **table.args)))
        table.entries = listing.with_month_status(
            table.snapshot, listing.entry_dicts(shown), today=today_shanghai()
        )
    return table


@bp.route("/rankings")
@login_required
def rankings() -> Any:
    """The current ranking of the chosen month, term or year: sortable (``?sort=&order=``, the API's
    names), printable (A4), exported as xlsx with the same rows, and schools ticked to compare."""
    table = _ranking_table()
    return render_template(
        "rankings/list.html",
        kind=table.kind,
        kinds=list(RankingKind),
        key=table.key,
        keys=table.keys,
        header=table.header,
        snapshot=table.snapshot,
        entries=table.entries,
        peer_groups=table.peer_groups,
        peer_group=table.args.get("peer_group"),
        peer_group_label=listing.peer_group_label,
        clusters=list(db.session.scalars(org.list_clusters())),
        cluster_id=table.args.get("cluster_id"),
        sort=table.args["sort"],
        order=table.args.get("order") or listing.DEFAULT_ORDER[table.args["sort"]],
        default_order=listing.DEFAULT_ORDER,
        explain_period=_explain_period(table.snapshot),
        is_bureau=current_user.role in BUREAU_ROLES,
        printed_on=today_shanghai(),
        compare_url=maybe_url("web.compare"),
    )


@bp.route("/rankings/export.xlsx")
@login_required
def rankings_export() -> Any:
    """The ranking page's rows (same filters and sort, same scope) as an xlsx workbook."""
    table = _ranking_table()
    if table.snapshot is None or table.header is None:
        abort(404)
    content = ranking_workbook(
        table.header,
        table.entries,
        printed_on=today_shanghai(),
        cluster=_cluster_name(table.args.get("cluster_id")),
        peer_group=listing.peer_group_label(table.args["peer_group"])
        if table.args.get("peer_group")
        else None,
    )
    return attachment(
        content,
        f"houqin-ranking-{table.kind.value}-{table.key}.xlsx",
        f"{table.header['label_zh']}-排名.xlsx",
    )


def _cluster_name(cluster_id: int | None) -> str | None:
    if cluster_id is None:
        return None
    return db.session.scalar(select(Cluster.name).where(Cluster.id == cluster_id))


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
    if data["status"] == "missing":  # the report's status (待审核, 未到截止, ...), not the engine's 缺报
        status = school_statuses(school_id, [period.id], today=today_shanghai()).get(period.id)
        if status is not None:
            data["status_label"] = status_label(status)
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
