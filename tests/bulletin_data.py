"""A two-month district for the bulletin and report-card tests (September and October 2026, ranked).

Four schools: the conftest district's SA (cluster 1, self-run canteen), SB (cluster 2, contracted), SC
(cluster 1, no canteen) and SD, a junior secondary school in cluster 2. Every school has things of its
own that no other school's report card may show (its staff, its hazards, an incident), marked with its
Chinese initial (甲/乙/丙/丁) so a leak is easy to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from service.db import db
from service.hazards.models import Hazard, HazardSeverity, HazardState
from service.incidents.models import Incident, IncidentSeverity, IncidentType
from service.incidents.vetoes import evaluate_incident_vetoes
from service.inspections.models import CanteenMonthlyFacts, InspectionKind, InspectionMode
from service.org.models import CanteenMode, School, SchoolType
from service.rankings.jobs import recompute_period
from tenants import TenantScope, use_scope
from tests import ranking_data as data
from tests.conftest import District

TODAY = date(2026, 11, 21)

# What each school's card must never show of another school (besides its code, and its name outside
# the published ranking).
PRIVATE = {
    "SA": ("甲校保洁员王", "甲校后厨排风扇损坏", "甲校食堂自查备注"),
    "SB": ("乙校保洁员李", "乙校配电箱未上锁", "乙校学生受伤经过"),
    "SC": ("丙校门卫赵", "丙校围墙裂缝"),
    "SD": ("丁校炊事员钱", "丁校楼梯扶手松动"),
}


@dataclass
class Months:
    sep: int
    oct: int
    schools: dict[str, int]  # code -> id


def _hazard(school: School, title: str, found: date, deadline: date) -> None:
    db.session.add(
        Hazard(
            school_id=school.id,
            title=title,
            severity=HazardSeverity.MEDIUM,
            found_on=found,
            deadline=deadline,
            state=HazardState.OPEN,
        )
    )


def _facts(p: Any, school: School, report_id: int, accompanied: int) -> None:
    db.session.add(
        CanteenMonthlyFacts(
            school_id=school.id,
            period_id=p.id,
            report_id=report_id,
            meals_served=60,
            menu_compliant_days=18,
            serving_days=20,
            leader_accompanied_meals=accompanied,
            sampled_meals=60,
            food_waste_kg=Decimal("12.5"),
        )
    )


def _report(p: Any, school: School, *, late: bool = False) -> Any:
    r = data.report(p, school, late=late)
    r.first_submitted_at = datetime(p.year, p.month, 28, 2, 0, tzinfo=UTC)
    db.session.flush()
    return r


def build(app: Any, district: District) -> Months:
    with app.app_context(), use_scope(TenantScope.bureau()):
        sa, sb, sc = (
            db.session.get(School, s.id) for s in (district.school_a, district.school_b, district.school_c)
        )
        sd = School(
            code="SD",
            name="丁初级中学",
            type=SchoolType.JUNIOR,
            canteen_mode=CanteenMode.SELF_RUN,
            cluster_id=district.cluster_2.id,
        )
        db.session.add(sd)
        db.session.flush()
        sep, oct_ = data.period(2026, 9), data.period(2026, 10)
        for p in (sep, oct_):
            canteen, safety = InspectionKind.CANTEEN, InspectionKind.SAFETY
            self_, spot = InspectionMode.SELF, InspectionMode.SPOT
            # SA: daily log gaps in its canteen; a spot inspection in October finds a meal unsampled.
            data.inspection(p, sa, canteen, self_, A4=("fail", 2))
            data.inspection(p, sa, safety, self_)
            if p is oct_:
                data.inspection(p, sa, canteen, spot, day=20, D3="fail", A4="fail")
            data.evaluation(p, sa, "91.50", name="甲校保洁员王")
            _facts(p, sa, _report(p, sa).id, accompanied=60)
            # SB: the same daily-log gap, fire patrol not logged; late in October.
            data.inspection(p, sb, canteen, self_, A4="fail")
            data.inspection(p, sb, safety, self_, B3="fail")
            data.evaluation(p, sb, "85.00", name="乙校保洁员李")
            _facts(p, sb, _report(p, sb, late=p is oct_).id, accompanied=30)
            # SC (no canteen): accepted in September, nothing in October (missing).
            if p is sep:
                data.inspection(p, sc, safety, self_)
                data.evaluation(p, sc, "80.00", name="丙校门卫赵")
                _report(p, sc)
            # SD: clean.
            data.inspection(p, sd, canteen, self_)
            data.inspection(p, sd, safety, self_)
            data.evaluation(p, sd, "95.00", name="丁校炊事员钱")
            _facts(p, sd, _report(p, sd).id, accompanied=58)
        _hazard(sb, "乙校配电箱未上锁", date(2026, 8, 20), date(2026, 9, 10))  # overdue on 31 Oct: 51 days
        _hazard(sa, "甲校后厨排风扇损坏", date(2026, 10, 8), date(2026, 12, 20))  # open, not overdue
        _hazard(sc, "丙校围墙裂缝", date(2026, 10, 3), date(2026, 10, 20))  # overdue on 31 Oct: 11 days
        _hazard(sd, "丁校楼梯扶手松动", date(2026, 11, 2), date(2026, 11, 30))
        incident = Incident(
            school_id=sb.id,
            type=IncidentType.INJURY,
            severity=IncidentSeverity.MINOR,
            occurred_at=datetime(2026, 10, 13, 1, 0, tzinfo=UTC),
            reported_at=datetime(2026, 10, 13, 1, 30, tzinfo=UTC),
            description="乙校学生受伤经过",
            crowd_crush=True,
            period_id=oct_.id,
        )
        db.session.add(incident)
        db.session.flush()
        evaluate_incident_vetoes(incident)
        inspection_note(sa.id, oct_.id, "甲校食堂自查备注")
        db.session.commit()
        for p in (sep, oct_):
            recompute_period(p.id, today=TODAY)
            db.session.commit()
        codes = {s.code: s.id for s in db.session.scalars(select(School))}
        out = Months(sep.id, oct_.id, codes)
        db.session.remove()
    return out


def inspection_note(school_id: int, period_id: int, note: str) -> None:
    """Put a note on the school's first inspection of the month (a private remark of that school)."""
    from service.inspections.models import Inspection

    row = db.session.scalars(
        select(Inspection)
        .where(Inspection.school_id == school_id, Inspection.period_id == period_id)
        .limit(1)
    ).first()
    row.notes = note
    db.session.flush()
