"""A small district's autumn for the cockpit's tests (first screen, boards, ranking page), as of the
suite's day (2026-11-21, tests/conftest.py: TODAY). Hand counts:

* 2026-09 (locked 10-16): A, B, C accepted; B late. A 98.0 (canteen 100, safety 100, staff 90),
  B 96.0 − 2 = 94.0, C 90.0 (safety only, B1 −10) → ranks A 1, B 2, C 3.
* 2026-10 (deadline 11-05, lock_days 25 → locks 12-01, open today): A and B accepted, C a draft
  (逾期未报). A: canteen self 100, spot 78.0 (A3 −5, A4 −5, B2 −6, C1 −6) → area 0.7 × 78 + 0.3 × 100
  = 84.6, credibility flag (100 − 78 = 22 > 15); safety 100 − 2 (the overdue hazard) = 98; staff 90
  → 91.04 → 91.0. B: canteen 95 (D1 −5), safety 100, staff 90 → 96.0. Ranks B 1 (↑1), A 2 (↓1).
* 2026-11 (the suite's month, deadline 12-05): A submitted (待审核), B and C nothing (未到截止);
  ranked too, so its month ranking lists everybody "missing" by the engine.
* Hazards: A's 配电房 (found 10-03, due 10-10, open: 42 days overdue), C's 围墙 (found 11-02, due 11-10,
  rectifying: 11 days), B's 灭火器 (due 11-30: not overdue).
* B: a food poisoning at fault on 2026-10-20 → veto in force (先进单位, 放心食堂) until 2027-10-20.
* B asked to unlock 2026-09 (pending).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from service.db import db
from service.hazards.models import Hazard, HazardSeverity, HazardState
from service.incidents.models import IncidentSeverity, IncidentType
from service.incidents.operations import create_incident
from service.inspections.models import InspectionKind, InspectionMode
from service.org.models import School
from service.periods.models import Period, UnlockRequest
from service.rankings.jobs import recompute_period
from service.reports import operations as reports
from service.reports.models import ReportState
from tenants import TenantScope, use_scope
from tests import ranking_data as rd
from tests.conftest import NOW, TODAY, District, evaluate_all_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Autumn:
    d: District
    sep: int
    oct: int
    nov: int
    unlock_b: int
    hazard_a: int
    hazard_c: int
    hazard_b: int


def _schools(d: District) -> tuple[School, School, School]:
    by_id = {s.id: s for s in db.session.query(School).all()}
    return by_id[d.school_a.id], by_id[d.school_b.id], by_id[d.school_c.id]


def _self_inspections(p: Period, a: School, b: School, c: School, *, with_b: bool = True) -> None:
    rd.inspection(p, a, InspectionKind.CANTEEN, InspectionMode.SELF)
    rd.inspection(p, a, InspectionKind.SAFETY, InspectionMode.SELF)
    if with_b:
        rd.inspection(p, b, InspectionKind.CANTEEN, InspectionMode.SELF, D1=("fail", 1))
        rd.inspection(p, b, InspectionKind.SAFETY, InspectionMode.SELF)
    rd.inspection(p, c, InspectionKind.SAFETY, InspectionMode.SELF, B1=("fail", 1))


def _hazard(school: School, title: str, found: date, due: date, state: HazardState) -> int:
    h = Hazard(
        school_id=school.id,
        title=title,
        location="校园",
        severity=HazardSeverity.MEDIUM,
        responsible_person="总务主任",
        found_on=found,
        deadline=due,
        state=state,
    )
    db.session.add(h)
    db.session.flush()
    return h.id


def build_autumn(app: Any, d: District) -> Autumn:
    with app.app_context(), use_scope(TenantScope.bureau()):
        a, b, c = _schools(d)
        sep = rd.period(2026, 9)
        oct_ = Period(year=2026, month=10, deadline=date(2026, 11, 5), lock_days=25)
        nov = Period(year=2026, month=11, deadline=date(2026, 12, 5), lock_days=10)
        db.session.add_all([oct_, nov])
        db.session.flush()
        _self_inspections(sep, a, b, c)
        _self_inspections(oct_, a, b, c)
        rd.inspection(
            oct_,
            a,
            InspectionKind.CANTEEN,
            InspectionMode.SPOT,
            day=20,
            A3="fail",
            A4=("fail", 5),
            B2=("fail", 3),
            C1=("fail", 3),
        )
        hazard_a = _hazard(a, "配电房堆放杂物", date(2026, 10, 3), date(2026, 10, 10), HazardState.OPEN)
        hazard_c = _hazard(c, "围墙开裂", date(2026, 11, 2), date(2026, 11, 10), HazardState.RECTIFYING)
        hazard_b = _hazard(b, "灭火器过期", date(2026, 11, 1), date(2026, 11, 30), HazardState.OPEN)
        create_incident(
            {
                "school_id": b.id,
                "type": IncidentType.FOOD_POISONING,
                "severity": IncidentSeverity.SERIOUS,
                "school_at_fault": True,
                "occurred_at": datetime(2026, 10, 20, 8, 0, tzinfo=SHANGHAI),
                "reported_at": datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI),
                "description": "乙校食物中毒",
            },
            now=NOW,
            today=TODAY,
            by_bureau=True,
        )
        db.session.commit()
        ids = (sep.id, oct_.id, nov.id)
    for period_id in ids[:2]:
        for school in (d.school_a, d.school_b):
            evaluate_all_staff(app, school.id, period_id)
    with app.app_context(), use_scope(TenantScope.bureau()):
        a, b, c = _schools(d)
        states = {
            ids[0]: {a.id: ReportState.ACCEPTED, b.id: ReportState.ACCEPTED, c.id: ReportState.ACCEPTED},
            ids[1]: {a.id: ReportState.ACCEPTED, b.id: ReportState.ACCEPTED, c.id: ReportState.DRAFT},
        }
        for period_id, by_school in states.items():
            period = db.session.get(Period, period_id)
            for school_id, state in by_school.items():
                report = reports.open_report(period, school_id=school_id)
                report.state = state
                if state is not ReportState.DRAFT:
                    report.first_submitted_at = report.submitted_at = NOW - timedelta(days=60)
                report.late = period_id == ids[0] and school_id == b.id
        nov = db.session.get(Period, ids[2])
        submitted = reports.open_report(nov, school_id=a.id)
        submitted.state = ReportState.SUBMITTED
        submitted.first_submitted_at = submitted.submitted_at = NOW - timedelta(days=3)
        unlock = UnlockRequest(school_id=b.id, period_id=ids[0], reason="乙校申请补正九月数据")
        db.session.add(unlock)
        db.session.commit()
        for period_id in ids:
            recompute_period(period_id, today=TODAY)
        db.session.commit()
        autumn = Autumn(d, *ids, unlock_b=unlock.id, hazard_a=hazard_a, hazard_c=hazard_c, hazard_b=hazard_b)
        db.session.remove()
    return autumn
