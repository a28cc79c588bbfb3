"""Reading rankings for people: the API, the web pages and the CLI share these queries and shapes.

Scoping is the tenant wall's job: entries are school-owned, so a school admin's query returns their
own line and an inspector's the schools of their clusters, with no filter written here. The snapshot
header is bureau-level and holds no school's numbers (counts only), so every role may read it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select

from service.core.labels import label
from service.core.timeutil import api_timestamp, today_shanghai
from service.db import db
from service.org.models import SCHOOL_TYPE_LABELS, Cluster, School, SchoolType
from service.periods.models import Period
from service.rankings.calendar import parse_target
from service.rankings.models import (
    ENTRY_STATUS_LABELS,
    RANKING_KIND_LABELS,
    EntryStatus,
    RankingEntry,
    RankingKind,
    RankingSnapshot,
)
from service.rankings.operations import current_snapshot
from service.reports.status import school_statuses, status_by_school, status_label
from service.scoring.explain import num

SORTS = ("rank", "score", "school", "movement")
# The natural direction of each sort: ranks and codes go up, scores and movements come down.
DEFAULT_ORDER = {"rank": "asc", "score": "desc", "school": "asc", "movement": "desc"}
CANTEEN_GROUP_LABELS = {"canteen": ("有食堂", "with canteen"), "no_canteen": ("无食堂", "no canteen")}


def target_label(kind: RankingKind | str, key: str) -> tuple[str, str]:
    return parse_target(RankingKind(kind).value, key).label


def peer_group_label(peer_group: str) -> str:
    """``primary:canteen`` → 小学·有食堂 (or "Primary school, with canteen")."""
    school_type, _sep, canteen = peer_group.partition(":")
    try:
        type_zh, type_en = SCHOOL_TYPE_LABELS[SchoolType(school_type)]
    except ValueError:
        type_zh = type_en = school_type
    canteen_zh, canteen_en = CANTEEN_GROUP_LABELS.get(canteen, (canteen, canteen))
    return label({0: (f"{type_zh}·{canteen_zh}", f"{type_en}, {canteen_en}")}, 0)


def snapshot_header(snapshot: RankingSnapshot) -> dict[str, Any]:
    zh, en = target_label(snapshot.kind, snapshot.key)
    codes = {
        p.id: p.code
        for p in db.session.scalars(select(Period).where(Period.id.in_(snapshot.period_ids or [])))
    }
    return {
        "id": snapshot.id,
        "kind": snapshot.kind.value,
        "kind_label": label(RANKING_KIND_LABELS, snapshot.kind),
        "key": snapshot.key,
        "label": label({0: (zh, en)}, 0),
        "label_zh": zh,
        "label_en": en,
        "created_at": api_timestamp(snapshot.created_at),
        "input_hash": snapshot.input_hash,
        "payload_hash": snapshot.payload_hash,
        "period_ids": list(snapshot.period_ids or []),
        "periods": [codes[i] for i in snapshot.period_ids or [] if i in codes],
        "basis": snapshot.basis,
        "summary": snapshot.summary,
        "previous_id": snapshot.previous_id,
        "job_run_id": snapshot.job_run_id,
    }


def entries_select(
    snapshot: RankingSnapshot,
    *,
    peer_group: str | None = None,
    cluster_id: int | None = None,
    status: EntryStatus | None = None,
    sort: str = "rank",
    order: str | None = None,
) -> Any:
    """The snapshot's entries in scope, filtered and sorted (empty values always last)."""
    e = RankingEntry
    stmt = select(e).join(School, School.id == e.school_id).where(e.snapshot_id == snapshot.id)
    if peer_group:
        stmt = stmt.where(e.peer_group == peer_group)
    if cluster_id is not None:
        stmt = stmt.where(e.cluster_id == cluster_id)
    if status is not None:
        stmt = stmt.where(e.status == status)
    order = order or DEFAULT_ORDER[sort]
    column = {"rank": e.rank_overall, "score": e.score, "school": School.code, "movement": e.movement}[sort]
    primary = column.asc() if order == "asc" else column.desc()
    return stmt.order_by(primary.nulls_last(), e.rank_overall.asc().nulls_last(), School.code)


def entry_dicts(entries: list[RankingEntry], *, sensitivity: bool = False) -> list[dict[str, Any]]:
    """Entries with their school's code and name and their cluster's name (one query each)."""
    ids = [e.school_id for e in entries]
    schools = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(ids)))} if ids else {}
    clusters = {c.id: c for c in db.session.scalars(select(Cluster))}
    # a district has a handful of peer groups and statuses: each label looked up once, not per school
    group_labels: dict[str, str] = {}
    status_labels: dict[Any, str] = {}
    out = []
    for e in entries:
        school = schools.get(e.school_id)
        cluster = clusters.get(e.cluster_id)
        if e.peer_group not in group_labels:
            group_labels[e.peer_group] = peer_group_label(e.peer_group)
        if e.status not in status_labels:
            status_labels[e.status] = label(ENTRY_STATUS_LABELS, e.status)
        row = {
            "school_id": e.school_id,
            "school_code": school.code if school else None,
            "school_name": school.name if school else None,
            "cluster_id": e.cluster_id,
            "cluster_name": cluster.name if cluster else None,
            "school_type": e.school_type,
            "peer_group": e.peer_group,
            "peer_group_label": group_labels[e.peer_group],
            "status": e.status.value,
            "status_label": status_labels[e.status],
            "score": num(e.score),
            "band": e.band.value if e.band else None,
            "rank_overall": e.rank_overall,
            "rank_peer": e.rank_peer,
            "rank_cluster": e.rank_cluster,
            "previous_rank": e.previous_rank,
            "movement": e.movement,
            "months_expected": e.months_expected,
            "months_counted": e.months_counted,
            "late_months": e.late_months,
            "canteen_applies": e.canteen_applies,
            "canteen_mean": num(e.canteen_mean),
            "safety_mean": num(e.safety_mean),
            "staff_mean": num(e.staff_mean),
            "spot_mean": num(e.spot_mean),
            "key_failed": e.key_failed,
            "credibility_flags": e.credibility_flags,
            "vetoed": e.vetoed,
            "veto_blocks": list(e.veto_blocks or []),
        }
        if sensitivity:
            row["sensitivity_max"] = e.sensitivity_max
            row["sensitivity_median"] = num(e.sensitivity_median)
        out.append(row)
    return out


def peer_groups_of(snapshot: RankingSnapshot) -> list[str]:
    """The peer groups the snapshot's entries in scope fall into (the page's filter choices)."""
    return list(
        db.session.scalars(
            select(RankingEntry.peer_group)
            .where(RankingEntry.snapshot_id == snapshot.id)
            .distinct()
            .order_by(RankingEntry.peer_group)
        )
    )


def with_month_status(
    snapshot: RankingSnapshot, rows: list[dict[str, Any]], *, today: date
) -> list[dict[str, Any]]:
    """``rows`` (from :func:`entry_dicts`) with the label a person reads for a month's missing entry.

    The engine's ``missing`` only means "no accepted report (yet)"; the entry keeps that status (the
    API and the snapshot are unchanged), but its ``status_label`` becomes the report's status -
    待审核, 已退回, 未到截止, 逾期未报 or 缺报 (service/reports/status.py) - and ``month_status`` names it.
    One query for every school of the month; terms and years are left as they are (数据不足 is theirs).
    """
    if snapshot.kind is not RankingKind.MONTH or not snapshot.period_ids:
        return rows
    if not any(row["status"] == EntryStatus.MISSING.value for row in rows):
        return rows
    period = db.session.get(Period, snapshot.period_ids[0])
    if period is None:
        return rows
    statuses = status_by_school(period, today=today)
    for row in rows:
        status = statuses.get(row["school_id"])
        if row["status"] == EntryStatus.MISSING.value and status is not None:
            row["month_status"] = status.value
            row["status_label"] = status_label(status)
    return rows


def latest_snapshot(kind: RankingKind) -> RankingSnapshot | None:
    """The current snapshot of the latest month, term or year that ranks somebody.

    Early in a month the month before is still being reported: its ranking exists (every school
    "missing" until its report is accepted) but shows nothing, so pages open on the newest one with
    ranked schools; only when no ranking ranks anybody yet is the newest one returned.
    """
    newest: RankingSnapshot | None = None
    for key in ranked_keys(kind):
        snapshot = current_snapshot(kind, key)
        newest = newest or snapshot
        if snapshot is not None and ranked_count(snapshot):
            return snapshot
    return newest


def ranked_count(snapshot: RankingSnapshot) -> int:
    """How many schools the snapshot ranks (its summary counts entries by status)."""
    return int(((snapshot.summary or {}).get("counts") or {}).get(EntryStatus.RANKED.value, 0))


def ranked_keys(kind: RankingKind) -> list[str]:
    """Every key of ``kind`` with a snapshot, newest first (keys sort in calendar order)."""
    return list(
        db.session.scalars(
            select(RankingSnapshot.key)
            .where(RankingSnapshot.kind == kind)
            .group_by(RankingSnapshot.key)
            .order_by(RankingSnapshot.key.desc())
        )
    )


def current_entries_of_school(school_id: int) -> list[dict[str, Any]]:
    """The school's entry in the current snapshot of every month, term and year ranked so far."""
    current = (
        select(func.max(RankingSnapshot.id).label("id"))
        .group_by(RankingSnapshot.kind, RankingSnapshot.key)
        .subquery("current")
    )
    rows = db.session.execute(
        select(RankingSnapshot, RankingEntry)
        .join(current, current.c.id == RankingSnapshot.id)
        .join(RankingEntry, RankingEntry.snapshot_id == RankingSnapshot.id)
        .where(RankingEntry.school_id == school_id)
        .order_by(RankingSnapshot.kind, RankingSnapshot.key)
    ).all()
    details = entry_dicts([entry for _snapshot, entry in rows])
    out = []
    for (snapshot, _entry), detail in zip(rows, details, strict=True):
        zh, en = target_label(snapshot.kind, snapshot.key)
        out.append(
            {
                "kind": snapshot.kind.value,
                "key": snapshot.key,
                "label": label({0: (zh, en)}, 0),
                "snapshot_id": snapshot.id,
                **detail,
            }
        )
    return out


def school_trend(school_id: int, *, months: int = 6) -> list[dict[str, Any]]:
    """The school's last ``months`` monthly rankings, oldest first: its composite, band, rank and
    movement month by month (the dashboard's trend; a plain list, no chart). A month the engine lists
    as missing carries the report's status label (service/reports/status.py), as on the ranking page."""
    rows = [e for e in current_entries_of_school(school_id) if e["kind"] == RankingKind.MONTH.value][-months:]
    missing = {e["key"]: e for e in rows if e["status"] == EntryStatus.MISSING.value}
    if missing:  # a missing month reads as its report's status (待审核, 未到截止, ...), as in the ranking
        months_of = [and_(Period.year == int(k[:4]), Period.month == int(k[5:])) for k in missing]
        periods = {p.code: p.id for p in db.session.scalars(select(Period).where(or_(*months_of)))}
        statuses = school_statuses(school_id, list(periods.values()), today=today_shanghai())
        for key, row in missing.items():
            status = statuses.get(periods.get(key, -1))
            if status is not None:
                row["month_status"] = status.value
                row["status_label"] = status_label(status)
    return rows
