"""Builders for the scoring and ranking tests: periods, accepted reports, inspections, evaluations.

Inspections go through ``service.inspections.operations.create_inspection`` (so their stored score is
the application's); reports are then set to their final state directly (the workflow has its own
tests), and evaluations are written with a chosen person score (:func:`evaluation`) or from ratings
through the application (:func:`rated_evaluation`).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from service.db import db
from service.evaluations import operations as evaluations
from service.evaluations.models import Evaluation
from service.hazards.models import Hazard, HazardSeverity, HazardState
from service.inspections import operations as inspections
from service.inspections.models import InspectionKind, InspectionMode, ItemOutcome
from service.org.models import CanteenMode, School, SchoolType
from service.periods.models import Period
from service.reports import operations as reports
from service.reports.models import MonthlyReport, ReportState
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from service.staff.models import ContractType, StaffMember, StaffRole


def period(year: int, month: int) -> Period:
    nxt = date(year + (month == 12), month % 12 + 1, 5)
    p = Period(year=year, month=month, deadline=nxt, lock_days=10)
    db.session.add(p)
    db.session.flush()
    return p


def school(
    code: str, cluster_id: int, *, type_: SchoolType = SchoolType.PRIMARY, canteen: bool = True
) -> School:
    s = School(
        code=code,
        name=f"测试学校{code}",
        type=type_,
        canteen_mode=CanteenMode.SELF_RUN if canteen else CanteenMode.NONE,
        cluster_id=cluster_id,
    )
    db.session.add(s)
    db.session.flush()
    return s


def _items(kind: InspectionKind, found: dict[str, Any]) -> list[dict[str, Any]]:
    version = current_version(kind.rubric_kind)
    assert version is not None
    rows = []
    for item in version.all_items():
        if item.computed:
            continue
        outcome = found.get(item.code, "pass")
        result, occurrences = (outcome, 0) if isinstance(outcome, str) else outcome
        rows.append({"item_id": item.id, "result": ItemOutcome(result), "occurrences": occurrences})
    return rows


def inspection(
    p: Period, s: School, kind: InspectionKind, mode: InspectionMode, day: int = 10, **found: Any
) -> Any:
    """One inspection on ``day`` of the period; ``found``: item code → "na" | "fail" | ("fail", n)."""
    data = {
        "kind": kind,
        "mode": mode,
        "inspected_on": date(p.year, p.month, day),
        "inspector_name": "督查员" if mode is InspectionMode.SPOT else "食堂管理员",
        "items": _items(kind, found),
    }
    today = date(p.year, p.month, calendar.monthrange(p.year, p.month)[1]) + timedelta(days=1)
    return inspections.create_inspection(p, s, data, user=None, today=today)


def report(
    p: Period, s: School, *, state: ReportState = ReportState.ACCEPTED, late: bool = False
) -> MonthlyReport:
    r = reports.open_report(p, school_id=s.id)
    r.state = state
    r.late = late
    db.session.flush()
    return r


def _member(s: School, name: str) -> StaffMember:
    member = StaffMember(
        school_id=s.id,
        name=name,
        role=StaffRole.CLEANER,
        contract_type=ContractType.CONTRACT,
        hire_date=date(2020, 1, 1),
    )
    db.session.add(member)
    db.session.flush()
    return member


def rated_evaluation(
    p: Period, s: School, ratings: list[dict[str, Any]], *, name: str = "员工"
) -> Evaluation:
    """A staff member of ``s`` evaluated for the period through the application (its ratings → formula 4)."""
    today = date(p.year, p.month, calendar.monthrange(p.year, p.month)[1]) + timedelta(days=1)
    return evaluations.create_evaluation(_member(s, name), p, ratings, today=today)


def evaluation(p: Period, s: School, score: str, *, name: str = "员工") -> Evaluation:
    """A staff member of ``s`` with a person score of ``score`` for the period."""
    member = _member(s, name)
    r = reports.open_report(p, school_id=s.id)
    e = Evaluation(
        school_id=s.id,
        staff_id=member.id,
        period_id=p.id,
        report_id=r.id,
        rubric_version_id=current_version(RubricKind.STAFF).id,
        score=Decimal(score),
        dimension_scores={},
    )
    db.session.add(e)
    db.session.flush()
    return e


def overdue_hazard(s: School, found_on: date, deadline: date) -> Hazard:
    h = Hazard(
        school_id=s.id,
        title="灭火器过期",
        severity=HazardSeverity.MEDIUM,
        found_on=found_on,
        deadline=deadline,
        state=HazardState.OPEN,
    )
    db.session.add(h)
    db.session.flush()
    return h
