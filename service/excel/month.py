"""A school-month's data as the workbook holds it: what the template pre-fills and what an upload is
compared with, in one place.

The workbook cannot carry everything a record has, so each kind of record is reduced to what it can:

- a self-inspection: its date, inspector and every item's result, occurrences and note (not the
  inspection's own notes, nor the rubric version - a block is always scored with the version in force);
- the canteen facts: the six numbers;
- an evaluation: per rater group the workbook has (考核小组, 师生满意度, 自评) the group's mean score of
  each dimension to 2 decimals - exactly the one rating a group has when it was entered through the
  workbook; peer ratings (同事互评) name a colleague and stay in the system;
- a hazard: its 名称, 位置 and 发现日期 identify it; 等级, 责任人, 整改期限 and 描述 are its content;
- an incident: its 类型 and 发生时间 identify it; 严重程度, 学校有责任 and 描述 are its content.

Downloading the pre-filled template and uploading it unchanged therefore compares equal, record by
record, and the upload's plan says that nothing changes. :func:`fingerprint` hashes everything an
upload reads or writes, so that a confirmation can tell whether the month changed since its plan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.core.timeutil import SHANGHAI, local
from service.db import db
from service.evaluations.models import Evaluation, RaterGroup
from service.excel import common as c
from service.hazards.models import Hazard
from service.incidents.models import Incident
from service.inspections.models import (
    CanteenMonthlyFacts,
    Inspection,
    InspectionItemResult,
    InspectionKind,
    InspectionMode,
)
from service.org.models import School
from service.reports.models import MonthlyReport
from service.rubrics import operations as rubrics
from service.rubrics.models import RubricKind
from service.staff.models import StaffMember

# The rater groups of the workbook (common.STAFF_GROUPS), as enum members.
WORKBOOK_GROUPS = tuple(RaterGroup(group) for group, _label in c.STAFF_GROUPS)
CENT = Decimal("0.01")
# Excel keeps times as fractions of a day; a time read back may differ from the stored one by less.
TIME_TOLERANCE = timedelta(seconds=1)

# What a block or an inspection compares by: (date, inspector, ((item_id, result, occurrences, note), ...)).
InspectionContent = tuple[date, str, tuple[tuple[int, str, int, str], ...]]
GroupScores = dict[RaterGroup, dict[str, Decimal]]


@dataclass
class MonthData:
    """The school-month an upload compares with (every list in a fixed order)."""

    report: MonthlyReport
    school: School
    inspections: dict[InspectionKind, list[Inspection]]  # the report's self-inspections by (date, id)
    facts: CanteenMonthlyFacts | None
    evaluations: dict[int, Evaluation]  # by staff id
    roster: list[StaffMember]  # active staff, by id
    hazards: list[Hazard]  # found in the month, by (found_on, id)
    incidents: list[Incident]  # occurred in the month, by (occurred_at, id)


def month_bounds(report: MonthlyReport) -> tuple[date, date]:
    period = report.period
    first = period.first_day
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def load(report: MonthlyReport) -> MonthData:
    """Read the month of ``report``'s school. Filters name the report's school: a bureau admin (who
    may download any school's template) sees every school's rows."""
    school_id = report.school_id
    school = db.session.scalars(select(School).where(School.id == school_id)).one()
    first, last = month_bounds(report)
    inspections: dict[InspectionKind, list[Inspection]] = {kind: [] for kind in InspectionKind}
    for inspection in db.session.scalars(
        select(Inspection)
        .where(
            Inspection.school_id == school_id,
            Inspection.report_id == report.id,
            Inspection.mode == InspectionMode.SELF,
        )
        .options(selectinload(Inspection.results).selectinload(InspectionItemResult.item))
        .order_by(Inspection.inspected_on, Inspection.id)
    ):
        inspections[inspection.kind].append(inspection)
    facts = db.session.scalars(
        select(CanteenMonthlyFacts).where(
            CanteenMonthlyFacts.school_id == school_id, CanteenMonthlyFacts.period_id == report.period_id
        )
    ).one_or_none()
    evaluations = {
        e.staff_id: e
        for e in db.session.scalars(
            select(Evaluation)
            .where(Evaluation.school_id == school_id, Evaluation.period_id == report.period_id)
            .options(selectinload(Evaluation.ratings))
        )
    }
    roster = list(
        db.session.scalars(
            select(StaffMember)
            .where(StaffMember.school_id == school_id, StaffMember.active.is_(True))
            .order_by(StaffMember.id)
        )
    )
    hazards = list(
        db.session.scalars(
            select(Hazard)
            .where(Hazard.school_id == school_id, Hazard.found_on >= first, Hazard.found_on <= last)
            .order_by(Hazard.found_on, Hazard.id)
        )
    )
    start = datetime.combine(first, time(), SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    incidents = list(
        db.session.scalars(
            select(Incident)
            .where(Incident.school_id == school_id, Incident.occurred_at >= start, Incident.occurred_at < end)
            .order_by(Incident.occurred_at, Incident.id)
        )
    )
    return MonthData(report, school, inspections, facts, evaluations, roster, hazards, incidents)


# --- records as the workbook holds them --------------------------------------------------------------


def items_content(items: list[dict[str, Any]]) -> tuple[tuple[int, str, int, str], ...]:
    return tuple(
        sorted(
            (int(x["item_id"]), str(x["result"]), int(x.get("occurrences") or 0), x.get("note") or "")
            for x in items
        )
    )


def inspection_content(inspection: Inspection) -> InspectionContent:
    items = [
        {"item_id": r.item_id, "result": r.result, "occurrences": r.occurrences, "note": r.note}
        for r in inspection.results
    ]
    return inspection.inspected_on, inspection.inspector_name, items_content(items)


def group_scores(evaluation: Evaluation) -> GroupScores:
    """Per workbook rater group, the mean of each dimension over the group's ratings (2 decimals)."""
    out: GroupScores = {}
    for group in WORKBOOK_GROUPS:
        ratings = [r for r in evaluation.ratings if r.rater_group == group]
        if not ratings:
            continue
        codes = sorted({code for r in ratings for code in r.scores})
        means = {}
        for code in codes:
            values = [Decimal(str(r.scores[code])) for r in ratings if code in r.scores]
            means[code] = (sum(values) / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)
        out[group] = means
    return out


HAZARD_KEY = ("title", "location", "found_on")
HAZARD_CONTENT = ("severity", "responsible_person", "deadline", "description")
INCIDENT_CONTENT = ("severity", "school_at_fault", "description")


def hazard_content(hazard: Hazard) -> dict[str, Any]:
    return {k: getattr(hazard, k) for k in HAZARD_CONTENT}


def incident_content(incident: Incident) -> dict[str, Any]:
    return {k: getattr(incident, k) for k in INCIDENT_CONTENT}


def same_hazard(hazard: Hazard, data: dict[str, Any]) -> bool:
    return all(getattr(hazard, k) == data[k] for k in HAZARD_KEY)


def same_incident(incident: Incident, data: dict[str, Any]) -> bool:
    stored = local(incident.occurred_at)  # aware (SQLite hands back naive UTC)
    assert stored is not None
    return incident.type == data["type"] and abs(stored - data["occurred_at"]) < TIME_TOLERANCE


def local_naive(moment: datetime) -> datetime:
    """A stored instant as the workbook shows it: Beijing time, without an offset, to the second."""
    shown = local(moment)
    assert shown is not None
    return shown.replace(tzinfo=None, microsecond=0)


# --- has the month changed? ----------------------------------------------------------------------------


def fingerprint(month: MonthData) -> str:
    """SHA-256 of everything an upload reads or writes in the month (ids included), and of the rubric
    versions in force: equal fingerprints mean an upload's plan is still what it would do."""
    report = month.report
    state: dict[str, Any] = {
        "report": [report.id, str(report.state)],
        "rubrics": [getattr(rubrics.current_version(kind), "id", None) for kind in RubricKind],
        "roster": [[m.id, m.name, str(m.role), m.hire_date] for m in month.roster],
        "inspections": [
            [i.id, str(i.kind), i.rubric_version_id, i.notes, *inspection_content(i)]
            for kind in InspectionKind
            for i in month.inspections[kind]
        ],
        "facts": None
        if month.facts is None
        else [month.facts.id, *(getattr(month.facts, f) for f, _l, _h in c.FACT_ROWS)],
        "evaluations": [
            [
                e.id,
                e.staff_id,
                e.rubric_version_id,
                sorted(
                    json.dumps([str(r.rater_group), r.rater_name, r.rater_staff_id, sorted(r.scores.items())])
                    for r in e.ratings
                ),
            ]
            for _staff, e in sorted(month.evaluations.items())
        ],
        "hazards": [_hazard_state(h) for h in month.hazards],
        "incidents": [_incident_state(i) for i in month.incidents],
    }
    encoded = json.dumps(state, default=str, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _hazard_state(h: Hazard) -> list[Any]:
    return [h.id, *(getattr(h, k) for k in (*HAZARD_KEY, *HAZARD_CONTENT)), str(h.state), h.issued_by_bureau]


def _incident_state(i: Incident) -> list[Any]:
    return [
        i.id,
        str(i.type),
        i.occurred_at,
        *(getattr(i, k) for k in INCIDENT_CONTENT),
        i.bureau_confirmed_at,
    ]
