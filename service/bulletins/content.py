"""The figures of a bulletin (督查通报) for a month, term or school year - read, never recomputed.

Every score, rank, band and movement is the stored ranking snapshot's (:func:`service.rankings.engine.
entry_rows`, the canonical rows the snapshot's ``payload_hash`` is computed from); district aggregates
(the mean composite, the band distribution, the change from the previous period) are counted from those
same rows, and the previous period is the snapshot the ranking itself names (``previous_id``). The
other facts come from their areas' tables through their own definitions: submissions
(:func:`service.reports.operations.completeness`), overdue hazards at the period's end
(:func:`service.hazards.operations.overdue_clause`, the rule the score engine deducts with), vetoes in
force (:func:`service.incidents.vetoes.vetoes_in_force`), and the items failed in the period's
inspections (the inspections the score engine counts: not set aside by an appeal; a self-inspection only
once its report is accepted).

The result is plain JSON (strings, ints, lists, dicts) in both languages: it is kept on the issued
bulletin (:class:`service.bulletins.models.BulletinIssue`) and rendered in either language later. Runs
in the bureau scope (it names every school).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select

from service.core.timeutil import local
from service.db import db
from service.hazards.models import HAZARD_SEVERITY_LABELS, Hazard
from service.hazards.operations import overdue_clause
from service.incidents.models import INCIDENT_SEVERITY_LABELS, INCIDENT_TYPE_LABELS, Incident
from service.incidents.vetoes import COMMENDATION_LABELS, Commendation, rule_label, vetoes_in_force
from service.inspections.models import CanteenMonthlyFacts, Inspection, InspectionItemResult, InspectionMode
from service.org.models import SCHOOL_TYPE_LABELS, Cluster, School, SchoolType
from service.periods.models import Period
from service.periods.operations import NON_REPORTING_MONTHS, default_deadline
from service.rankings.calendar import parse_target
from service.rankings.engine import entry_rows
from service.rankings.listing import CANTEEN_GROUP_LABELS
from service.rankings.models import EntryStatus, RankingKind, RankingSnapshot
from service.reports.models import MonthlyReport, ReportState
from service.reports.operations import completeness
from service.rubrics.models import (
    ITEM_KIND_LABELS,
    ItemKind,
    Rubric,
    RubricItem,
    RubricSection,
    RubricVersion,
)
from service.scoring.engine import month_end

CONTENT_VERSION = 1
BANDS = ("A", "B", "C", "D")
TOP_PROBLEMS = 10
MOVERS = 5
PRAISED = 3
ONE = Decimal("0.1")


def pair(zh: str, en: str) -> dict[str, str]:
    """A text in both languages (the templates pick one with ``t()``)."""
    return {"zh": zh, "en": en or zh}


def one_decimal(value: Decimal | str | None) -> str | None:
    """Half up to 1 decimal, as a string (how composites and area means are shown)."""
    if value is None:
        return None
    return str(Decimal(str(value)).quantize(ONE, rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(ONE, rounding=ROUND_HALF_UP))


def peer_group_pair(peer_group: str) -> dict[str, str]:
    school_type, _sep, canteen = peer_group.partition(":")
    try:
        type_zh, type_en = SCHOOL_TYPE_LABELS[SchoolType(school_type)]
    except ValueError:
        type_zh = type_en = school_type
    c_zh, c_en = CANTEEN_GROUP_LABELS.get(canteen, (canteen, canteen))
    return pair(f"{type_zh}·{c_zh}", f"{type_en}, {c_en}")


def target_pair(kind: str, key: str) -> dict[str, str]:
    zh, en = parse_target(kind, key).label
    return pair(zh, en)


# --- the snapshot's rows -------------------------------------------------------------------------------


def _ranking_rows(snapshot: RankingSnapshot) -> list[dict[str, Any]]:
    """The snapshot's canonical entries with their school's code, name and cluster, ranked first."""
    rows = entry_rows(snapshot.id)
    ids = [r["school_id"] for r in rows]
    schools = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(ids)))} if ids else {}
    clusters = {c.id: c.name for c in db.session.scalars(select(Cluster))}
    out = []
    for r in rows:
        school = schools.get(r["school_id"])
        out.append(
            {
                "school_id": r["school_id"],
                "code": school.code if school else "",
                "name": school.name if school else "",
                "cluster_id": r["cluster_id"],
                "cluster": clusters.get(r["cluster_id"], ""),
                "peer_group": r["peer_group"],
                "status": r["status"],
                "score": r["score"],  # the snapshot's value: 1 decimal, as a string
                "band": r["band"],
                "rank": r["rank_overall"],
                "rank_peer": r["rank_peer"],
                "rank_cluster": r["rank_cluster"],
                "previous_rank": r["previous_rank"],
                "movement": r["movement"],
                "canteen": one_decimal(r["canteen_mean"]),
                "safety": one_decimal(r["safety_mean"]),
                "staff": one_decimal(r["staff_mean"]),
                "months_expected": r["months_expected"],
                "months_counted": r["months_counted"],
                "late_months": r["late_months"],
                "key_failed": r["key_failed"],
                "vetoed": bool(r["vetoed"]),
            }
        )
    out.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["code"]))
    return out


def _mean(rows: list[dict[str, Any]]) -> str | None:
    scores = [Decimal(r["score"]) for r in rows if r["status"] == EntryStatus.RANKED.value and r["score"]]
    if not scores:
        return None
    return one_decimal(sum(scores, Decimal(0)) / len(scores))


def _bands(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(BANDS, 0)
    for r in rows:
        if r["status"] == EntryStatus.RANKED.value and r["band"] in counts:
            counts[r["band"]] += 1
    return counts


def _counts(snapshot: RankingSnapshot) -> dict[str, int]:
    counts = dict((snapshot.summary or {}).get("counts") or {})
    return {s.value: int(counts.get(s.value, 0)) for s in EntryStatus}


# --- the sections --------------------------------------------------------------------------------------


def submissions(periods: list[Period]) -> dict[str, int]:
    """School-months by report status (按时 / 逾期 / 草稿 / 未提交) over the target's months."""
    counts = {"on_time": 0, "late": 0, "draft": 0, "missing": 0}
    for period in periods:
        for row in completeness(period):
            counts[row.status] += 1
    counts["total"] = sum(counts.values())
    return counts


def frequent_deductions(period_ids: list[int], schools: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """存在问题: the rubric items failed most widely in the period, with the schools named.

    ONE set-based query over the period's item results, grouped by item and school: failed items of
    the inspections the scores count (spot inspections not set aside by an appeal, self-inspections of
    accepted reports). Items are matched by rubric and code across rubric versions.
    """
    r, i = InspectionItemResult, Inspection
    counted = and_(
        i.period_id.in_(period_ids),
        i.excluded.is_(False),
        or_(i.mode == InspectionMode.SPOT.value, MonthlyReport.state == ReportState.ACCEPTED.value),
    )
    stmt = (
        select(
            Rubric.kind.label("rubric"),
            RubricItem.code,
            func.min(RubricItem.text).label("text"),
            func.min(RubricItem.text_en).label("text_en"),
            func.min(RubricItem.kind).label("item_kind"),
            r.school_id,
            func.count().label("failures"),
        )
        .select_from(r)
        .join(i, and_(i.school_id == r.school_id, i.id == r.inspection_id))
        .outerjoin(
            MonthlyReport, and_(MonthlyReport.school_id == i.school_id, MonthlyReport.id == i.report_id)
        )
        .join(RubricItem, RubricItem.id == r.item_id)
        .join(RubricSection, RubricSection.id == RubricItem.section_id)
        .join(RubricVersion, RubricVersion.id == RubricSection.version_id)
        .join(Rubric, Rubric.id == RubricVersion.rubric_id)
        .where(r.result == "fail", counted)
        .group_by(Rubric.kind, RubricItem.code, r.school_id)
    )
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for row in db.session.execute(stmt):
        rubric = row.rubric.value if hasattr(row.rubric, "value") else str(row.rubric)
        item = items.setdefault(
            (rubric, row.code),
            {
                "rubric": rubric,
                "code": row.code,
                "text": pair(row.text, row.text_en),
                "item_kind": str(getattr(row.item_kind, "value", row.item_kind)),
                "failures": 0,
                "schools": [],
            },
        )
        item["failures"] += int(row.failures)
        school = schools.get(row.school_id)
        item["schools"].append({"name": school["name"] if school else "", "failures": int(row.failures)})
    out = sorted(items.values(), key=lambda x: (-len(x["schools"]), -x["failures"], x["rubric"], x["code"]))
    for item in out:
        item["schools"].sort(key=lambda s: (-s["failures"], s["name"]))
        item["school_count"] = len(item["schools"])
        kind = ItemKind(item["item_kind"]) if item["item_kind"] in ItemKind._value2member_map_ else None
        item["kind_label"] = pair(*ITEM_KIND_LABELS[kind]) if kind else pair("", "")
    return out[:TOP_PROBLEMS]


def overdue_hazards(end: date) -> list[dict[str, Any]]:
    """整改 notices past their deadline and not closed on ``end`` (formula 2's rule), by school."""
    rows = db.session.execute(
        select(Hazard, School.code, School.name)
        .join(School, School.id == Hazard.school_id)
        .where(overdue_clause(end), School.active.is_(True))
        .order_by(School.code, Hazard.deadline, Hazard.id)
    ).all()
    by_school: dict[str, dict[str, Any]] = {}
    for hazard, code, name in rows:
        entry = by_school.setdefault(code, {"code": code, "name": name, "hazards": []})
        entry["hazards"].append(
            {
                "title": hazard.title,
                "severity": pair(*HAZARD_SEVERITY_LABELS[hazard.severity]),
                "found_on": hazard.found_on.isoformat(),
                "deadline": hazard.deadline.isoformat(),
                "days_overdue": (end - hazard.deadline).days,
            }
        )
    out = list(by_school.values())
    for entry in out:
        entry["count"] = len(entry["hazards"])
        entry["max_days"] = max(h["days_overdue"] for h in entry["hazards"])
    out.sort(key=lambda e: (-e["count"], -e["max_days"], e["code"]))
    return out


def incidents(period_ids: list[int]) -> list[dict[str, Any]]:
    """Incidents of the period's months: type, severity, day, fault - never the description (it may name
    the people involved, and the bulletin goes to every school)."""
    rows = db.session.execute(
        select(Incident, School.code, School.name)
        .join(School, School.id == Incident.school_id)
        .where(Incident.period_id.in_(period_ids))
        .order_by(Incident.occurred_at, Incident.id)
    ).all()
    out = []
    for incident, code, name in rows:
        occurred = local(incident.occurred_at)
        out.append(
            {
                "code": code,
                "name": name,
                "type": pair(*INCIDENT_TYPE_LABELS[incident.type]),
                "severity": pair(*INCIDENT_SEVERITY_LABELS[incident.severity]),
                "occurred_on": occurred.date().isoformat() if occurred else "",
                "at_fault": bool(incident.school_at_fault),
                "hidden": bool(incident.hidden),
            }
        )
    return out


def vetoes(end: date) -> list[dict[str, Any]]:
    """Vetoes (一票否决) in force on ``end``: the school, the rule, the window, what they bar."""
    veto_rows = list(db.session.scalars(vetoes_in_force(end)))
    ids = {v.school_id for v in veto_rows}
    schools = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(ids)))} if ids else {}
    out = []
    known = {c.value for c in Commendation}
    for veto in veto_rows:
        school = schools.get(veto.school_id)
        out.append(
            {
                "code": school.code if school else "",
                "name": school.name if school else "",
                "rule": pair(*rule_label(veto.rule)),
                "starts_on": veto.starts_on.isoformat(),
                "ends_on": veto.ends_on.isoformat(),
                "blocks": [
                    pair(*COMMENDATION_LABELS[Commendation(b)]) for b in veto.blocks or [] if b in known
                ],
            }
        )
    out.sort(key=lambda v: (v["code"], v["starts_on"]))
    return out


def canteen_facts(period_ids: list[int]) -> dict[str, Any]:
    """两荤两素一汤 compliance, 陪餐 and 留样 rates by school, from the accepted reports' canteen facts."""
    f = CanteenMonthlyFacts
    rows = db.session.execute(
        select(
            School.code,
            School.name,
            func.sum(f.serving_days).label("serving_days"),
            func.sum(f.menu_compliant_days).label("compliant_days"),
            func.sum(f.meals_served).label("meals"),
            func.sum(f.leader_accompanied_meals).label("accompanied"),
            func.sum(f.sampled_meals).label("sampled"),
        )
        .select_from(f)
        .join(School, School.id == f.school_id)
        .join(MonthlyReport, and_(MonthlyReport.school_id == f.school_id, MonthlyReport.id == f.report_id))
        .where(f.period_id.in_(period_ids), MonthlyReport.state == ReportState.ACCEPTED.value)
        .group_by(School.code, School.name)
        .order_by(School.code)
    ).all()
    schools = [
        {
            "code": r.code,
            "name": r.name,
            "menu_rate": percent(int(r.compliant_days or 0), int(r.serving_days or 0)),
            "accompany_rate": percent(int(r.accompanied or 0), int(r.meals or 0)),
            "sample_rate": percent(int(r.sampled or 0), int(r.meals or 0)),
            "meals": int(r.meals or 0),
        }
        for r in rows
    ]
    # The weakest first: the lowest 陪餐 rate (then 留样, then menu) leads the table.
    schools.sort(
        key=lambda x: tuple(float(x[k] or 0) for k in ("accompany_rate", "sample_rate", "menu_rate"))
    )
    total = {
        k: sum(int(getattr(r, k) or 0) for r in rows) for k in ("serving_days", "compliant_days", "meals")
    }
    total.update({k: sum(int(getattr(r, k) or 0) for r in rows) for k in ("accompanied", "sampled")})
    return {
        "schools": schools,
        "menu_rate": percent(total["compliant_days"], total["serving_days"]),
        "accompany_rate": percent(total["accompanied"], total["meals"]),
        "sample_rate": percent(total["sampled"], total["meals"]),
        "reporting": len(schools),
    }


def next_deadline(last: Period) -> dict[str, Any]:
    """The month after the period (August skipped) and its report deadline (its period's, or the rule's)."""
    year, month = (last.year, last.month + 1) if last.month < 12 else (last.year + 1, 1)
    if month in NON_REPORTING_MONTHS:
        month += 1
    period = db.session.scalars(select(Period).where(Period.year == year, Period.month == month)).first()
    deadline = period.deadline if period else default_deadline(year, month)
    code = f"{year:04d}-{month:02d}"
    return {
        "period": code,
        "label": target_pair(RankingKind.MONTH.value, code),
        "deadline": deadline.isoformat(),
        "opened": period is not None,
    }


# --- the whole bulletin --------------------------------------------------------------------------------


def _movers(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    moved = [r for r in rows if r["movement"]]
    up = sorted((r for r in moved if r["movement"] > 0), key=lambda r: (-r["movement"], r["rank"]))
    down = sorted((r for r in moved if r["movement"] < 0), key=lambda r: (r["movement"], r["rank"]))
    return {"up": [_brief(r) for r in up[:MOVERS]], "down": [_brief(r) for r in down[:MOVERS]]}


def _brief(r: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "code": r["code"],
        "name": r["name"],
        "score": r["score"],
        "band": r["band"],
        "rank": r["rank"],
        "previous_rank": r["previous_rank"],
        "movement": r["movement"],
        **extra,
    }


def _praise(rows: list[dict[str, Any]], previous: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """表扬: the top ranks (ties included) and the most improved composites; a vetoed school is not
    praised (一票否决 bars it from the honours the bulletin speaks for)."""
    ranked = [r for r in rows if r["status"] == EntryStatus.RANKED.value and not r["vetoed"]]
    top = [_brief(r) for r in ranked if r["rank"] is not None and r["rank"] <= PRAISED]
    improved = []
    for r in ranked:
        before = previous.get(r["school_id"])
        if before and before["status"] == EntryStatus.RANKED.value and before["score"] and r["score"]:
            gain = Decimal(r["score"]) - Decimal(before["score"])
            if gain > 0:
                improved.append(_brief(r, previous_score=before["score"], gain=str(gain)))
    improved.sort(key=lambda x: (-Decimal(x["gain"]), x["rank"] or 0))
    return {"top": top, "improved": improved[:PRAISED]}


def _peer_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["peer_group"]].append(r)
    out = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda r: (r["rank_peer"] is None, r["rank_peer"] or 0, r["code"]))
        out.append(
            {
                "peer_group": key,
                "label": peer_group_pair(key),
                "ranked": sum(1 for r in members if r["status"] == EntryStatus.RANKED.value),
                "schools": [
                    {
                        "code": r["code"],
                        "name": r["name"],
                        "rank_peer": r["rank_peer"],
                        "rank": r["rank"],
                        "score": r["score"],
                        "band": r["band"],
                        "status": r["status"],
                    }
                    for r in members
                ],
            }
        )
    return out


def bulletin_content(snapshot: RankingSnapshot) -> dict[str, Any]:
    """Everything a bulletin shows, from ``snapshot`` (bureau scope)."""
    periods = list(
        db.session.scalars(
            select(Period).where(Period.id.in_(snapshot.period_ids or [])).order_by(Period.year, Period.month)
        )
    )
    kind, key = snapshot.kind.value, snapshot.key
    rows = _ranking_rows(snapshot)
    by_id = {r["school_id"]: r for r in rows}
    previous_snapshot = (
        db.session.get(RankingSnapshot, snapshot.previous_id) if snapshot.previous_id else None
    )
    previous_rows = _ranking_rows(previous_snapshot) if previous_snapshot else []
    previous = {r["school_id"]: r for r in previous_rows}
    end = month_end(periods[-1]) if periods else None
    period_ids = [p.id for p in periods]
    mean, previous_mean = _mean(rows), _mean(previous_rows) if previous_snapshot else None
    change = (
        str(Decimal(mean) - Decimal(previous_mean))
        if mean is not None and previous_mean is not None
        else None
    )
    return {
        "version": CONTENT_VERSION,
        "kind": kind,
        "key": key,
        "label": target_pair(kind, key),
        "periods": [p.code for p in periods],
        "period_end": end.isoformat() if end else None,
        "snapshot": {
            "id": snapshot.id,
            "payload_hash": snapshot.payload_hash,
            "input_hash": snapshot.input_hash,
            "created_at": local(snapshot.created_at).isoformat() if snapshot.created_at else None,
        },
        "previous": (
            {
                "id": previous_snapshot.id,
                "key": previous_snapshot.key,
                "label": target_pair(previous_snapshot.kind.value, previous_snapshot.key),
                "payload_hash": previous_snapshot.payload_hash,
            }
            if previous_snapshot
            else None
        ),
        "summary": {
            "schools": len(rows),
            "counts": _counts(snapshot),
            "submissions": submissions(periods),
            "mean": mean,
            "previous_mean": previous_mean,
            "mean_change": change,
            "bands": _bands(rows),
            "previous_bands": _bands(previous_rows) if previous_snapshot else None,
            "vetoed": sum(1 for r in rows if r["vetoed"]),
        },
        "ranking": rows,
        "peer_groups": _peer_groups(rows),
        "movers": _movers(rows),
        "praise": _praise(rows, previous),
        "problems": frequent_deductions(period_ids, by_id) if period_ids else [],
        "overdue_hazards": overdue_hazards(end) if end else [],
        "incidents": incidents(period_ids) if period_ids else [],
        "vetoes": vetoes(end) if end else [],
        "canteen": canteen_facts(period_ids) if period_ids else canteen_facts([]),
        "next_deadline": next_deadline(periods[-1]) if periods else None,
    }


def public_context(content: dict[str, Any]) -> dict[str, Any]:
    """What a school's report card may show of the district: the published ranking (rank, name,
    composite, band of the ranked schools) and counts - no codes, no ids, no other figure."""
    ranked = [r for r in content["ranking"] if r["status"] == EntryStatus.RANKED.value]
    peer: dict[str, int] = defaultdict(int)
    cluster: dict[str, int] = defaultdict(int)
    for r in ranked:
        peer[r["peer_group"]] += 1
        cluster[str(r["cluster_id"])] += 1
    summary = content["summary"]
    return {
        "kind": content["kind"],
        "key": content["key"],
        "label": content["label"],
        "schools": summary["schools"],
        "ranked": len(ranked),
        "mean": summary["mean"],
        "bands": summary["bands"],
        "peer_group_sizes": dict(sorted(peer.items())),
        "cluster_sizes": dict(sorted(cluster.items())),
        "ranking": [
            {"rank": r["rank"], "name": r["name"], "score": r["score"], "band": r["band"]} for r in ranked
        ],
    }
