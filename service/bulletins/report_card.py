"""A school's report card (成绩单) for a month: its own figures and only the public district context.

Built in the school's tenant scope (:func:`report_card_content` narrows to it whatever scope it was
called in), so every query - its ranking entry, its month's score and explanation, its hazards, its
vetoes - can only ever return that school's rows: the tenant wall (ORM criteria, then row-level
security) does the filtering, not this code. The district context comes from one place only: the
issued bulletin's ``public_context`` (:mod:`service.bulletins.models`), a bureau-level row holding the
published ranking - ranks, school names, composites and bands - and district counts. Nothing else of
another school (codes, deductions, hazards, incidents, staff) is within reach.

Figures are read, never recomputed: the composite, band, ranks and movement are the school's entry in
the current ranking snapshot; the areas and the staff summary its stored month score; the items where
it lost points the score explanation (:func:`service.scoring.explain.explain`).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from service.bulletins.content import BANDS, next_deadline, one_decimal, pair, peer_group_pair, target_pair
from service.bulletins.operations import published_context, published_means
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai
from service.db import db
from service.hazards.models import HAZARD_SEVERITY_LABELS, HAZARD_STATE_LABELS, Hazard, HazardState
from service.incidents.vetoes import rule_label
from service.org.models import SCHOOL_TYPE_LABELS, Cluster, School
from service.periods.models import Period
from service.rankings.listing import current_entries_of_school
from service.rankings.models import RankingEntry, RankingKind
from service.rankings.operations import current_snapshot
from service.scoring.explain import explain, num, period_by_code
from service.scoring.models import SchoolMonthScore
from tenants import TenantScope, use_scope

TREND_MONTHS = 6
TOP_PUBLIC = 10
NEIGHBOURS = 2
TWO = Decimal("0.01")


def _entry(snapshot_id: int, school_id: int) -> RankingEntry | None:
    return db.session.scalars(
        select(RankingEntry).where(
            RankingEntry.snapshot_id == snapshot_id, RankingEntry.school_id == school_id
        )
    ).first()


def _lost_points(explanation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The items the school lost points on, one line per item: in which inspections (kind and mode,
    how many), how many times, how many points in all; set-aside inspections left out. Biggest first."""
    if not explanation:
        return []
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for ins in explanation["inspections"]:
        if ins["excluded"]:
            continue
        where = _kind_mode(ins)
        for section in ins["sections"]:
            for item in section["items_deducted"]:
                line = items.setdefault(
                    (ins["kind"], item["code"]),
                    {
                        "code": item["code"],
                        "text": pair(item["text"], item["text_en"]),
                        "kind": item["kind"],
                        "found_in": {},
                        "occurrences": 0,
                        "points_off": Decimal(0),
                    },
                )
                seen = line["found_in"].setdefault(where[0], {"label": pair(*where), "count": 0})
                seen["count"] += 1
                line["occurrences"] += max(int(item["occurrences"] or 0), 1)
                line["points_off"] += Decimal(item["points_off"])
    out = sorted(items.values(), key=lambda x: (-x["points_off"], x["code"]))
    for line in out:
        line["found_in"] = list(line["found_in"].values())
        line["points_off"] = num(line["points_off"])
    return out


def _kind_mode(ins: dict[str, Any]) -> tuple[str, str]:
    from service.inspections.models import (
        INSPECTION_KIND_LABELS,
        INSPECTION_MODE_LABELS,
        InspectionKind,
        InspectionMode,
    )

    k_zh, k_en = INSPECTION_KIND_LABELS[InspectionKind(ins["kind"])]
    m_zh, m_en = INSPECTION_MODE_LABELS[InspectionMode(ins["mode"])]
    return f"{k_zh}·{m_zh}", f"{k_en} ({m_en.lower()})"


def _open_hazards(school_id: int, today: date) -> list[dict[str, Any]]:
    """The school's 整改 notices not closed today, with their deadlines (overdue first)."""
    rows = db.session.scalars(
        select(Hazard)
        .where(Hazard.school_id == school_id, Hazard.state != HazardState.CLOSED)
        .order_by(Hazard.deadline, Hazard.id)
    )
    return [
        {
            "title": h.title,
            "location": h.location,
            "severity": pair(*HAZARD_SEVERITY_LABELS[h.severity]),
            "state": pair(*HAZARD_STATE_LABELS[h.state]),
            "deadline": h.deadline.isoformat(),
            "days_left": (h.deadline - today).days,
            "overdue": today > h.deadline,
        }
        for h in rows
    ]


def _trend(school_id: int, key: str) -> list[dict[str, Any]]:
    """The school's monthly composites and ranks up to ``key`` (oldest first), with the district mean of
    each month whose bulletin was issued (public)."""
    months = [
        e
        for e in current_entries_of_school(school_id)
        if e["kind"] == RankingKind.MONTH.value and e["key"] <= key
    ][-TREND_MONTHS:]
    means = published_means([e["key"] for e in months])
    return [
        {
            "key": e["key"],
            "score": one_decimal(e["score"]),
            "band": e["band"],
            "rank": e["rank_overall"],
            "district_mean": means.get(e["key"]),
        }
        for e in months
    ]


def _district(public: dict[str, Any] | None, own_name: str, own_rank: int | None) -> dict[str, Any] | None:
    """The published ranking as the card shows it: the top ten and the school's neighbours."""
    if public is None:
        return None
    ranking = public["ranking"]
    top = [r for r in ranking if r["rank"] is not None and r["rank"] <= TOP_PUBLIC]
    near: list[dict[str, Any]] = []
    if own_rank is not None and own_rank > TOP_PUBLIC - NEIGHBOURS:
        near = [r for r in ranking if abs(r["rank"] - own_rank) <= NEIGHBOURS and r not in top]
    gap = bool(near) and bool(top) and near[0]["rank"] > top[-1]["rank"] + 1
    rows = [
        dict(r, own=r["name"] == own_name and r["rank"] == own_rank, gap_before=gap and i == len(top))
        for i, r in enumerate(top + near)
    ]
    return {
        "label": dict(public["label"]),
        "ranked": public["ranked"],
        "schools": public["schools"],
        "mean": public["mean"],
        "bands": {b: public["bands"].get(b, 0) for b in BANDS},
        "rows": rows,
        "peer_group_sizes": dict(public.get("peer_group_sizes", {})),
        "cluster_sizes": dict(public.get("cluster_sizes", {})),
    }


def _staff(score: SchoolMonthScore | None) -> dict[str, Any]:
    if score is None or not score.staff_evaluated:
        return {"count": score.staff_evaluated if score else 0, "mean": None}
    mean = (
        Decimal(score.staff_area).quantize(TWO, rounding=ROUND_HALF_UP)
        if score.staff_area is not None
        else None
    )
    return {"count": score.staff_evaluated, "mean": str(mean) if mean is not None else None}


def report_card_content(school_id: int, period_code: str) -> dict[str, Any]:
    """The report card of ``school_id`` for the month ``period_code``, read in that school's scope.

    NotFound when the school is outside the caller's scope or the month has no period or ranking.
    """
    school = get_or_404(School, school_id)  # in the caller's scope: another school is a 404
    with use_scope(TenantScope.school(school.id)):
        return _content(school.id, period_code)


def _content(school_id: int, period_code: str) -> dict[str, Any]:
    school = get_or_404(School, school_id)
    period: Period = period_by_code(period_code)
    snapshot = current_snapshot(RankingKind.MONTH, period.code)
    if snapshot is None:
        raise NotFound()
    entry = _entry(snapshot.id, school.id)
    score = db.session.scalars(
        select(SchoolMonthScore).where(
            SchoolMonthScore.school_id == school.id, SchoolMonthScore.period_id == period.id
        )
    ).first()
    try:
        explanation = explain(school.id, period.id) if score is not None else None
    except DomainError:
        explanation = None
    cluster = db.session.get(Cluster, school.cluster_id)
    public = published_context(RankingKind.MONTH.value, period.code)
    own_rank = entry.rank_overall if entry else None
    today = today_shanghai()
    ranked = int(((snapshot.summary or {}).get("counts") or {}).get("ranked", 0))
    peer_sizes = (public or {}).get("peer_group_sizes", {})
    cluster_sizes = (public or {}).get("cluster_sizes", {})
    type_zh, type_en = SCHOOL_TYPE_LABELS[school.type]
    return {
        "school": {
            "id": school.id,
            "code": school.code,
            "name": school.name,
            "type": pair(type_zh, type_en),
            "cluster": cluster.name if cluster else "",
        },
        "kind": RankingKind.MONTH.value,
        "key": period.code,
        "label": target_pair(RankingKind.MONTH.value, period.code),
        "snapshot": {"id": snapshot.id, "payload_hash": snapshot.payload_hash},
        "status": entry.status.value if entry else "missing",
        "score": one_decimal(entry.score) if entry and entry.score is not None else None,
        "band": entry.band.value if entry and entry.band else None,
        "late": bool(score.late) if score else False,
        "late_deduction": one_decimal(score.late_deduction) if score and score.late else None,
        "areas": {
            "canteen": one_decimal(score.canteen_area) if score else None,
            "canteen_applies": bool(score.canteen_applies) if score else school.has_canteen,
            "safety": one_decimal(score.safety_area) if score else None,
            "staff": one_decimal(score.staff_area) if score else None,
            "hazard_deduction": one_decimal(score.hazard_deduction) if score else None,
            "overdue_hazards": score.overdue_hazards if score else 0,
        },
        "rank": {
            "overall": own_rank,
            "overall_of": ranked,
            "peer": entry.rank_peer if entry else None,
            "peer_of": peer_sizes.get(entry.peer_group) if entry else None,
            "peer_group": peer_group_pair(entry.peer_group) if entry else None,
            "cluster": entry.rank_cluster if entry else None,
            "cluster_of": cluster_sizes.get(str(entry.cluster_id)) if entry else None,
            "previous": entry.previous_rank if entry else None,
            "movement": entry.movement if entry else None,
        },
        "vetoed": bool(entry.vetoed) if entry else False,
        "vetoes": [
            {
                "rule": pair(*rule_label(v["rule"])),
                "starts_on": v["starts_on"],
                "ends_on": v["ends_on"],
            }
            for v in (explanation or {}).get("vetoes", [])
        ],
        "lost_points": _lost_points(explanation),
        "hazards": _open_hazards(school.id, today),
        "as_of": today.isoformat(),
        "deadline": {"period": period.code, "deadline": period.deadline.isoformat()},
        "next_deadline": next_deadline(period),
        "staff": _staff(score),
        "trend": _trend(school.id, period.code),
        "district": _district(public, school.name, own_rank),
    }
