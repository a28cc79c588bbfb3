"""Two scored and ranked months for the compare and school pages, worked out by hand (rubrics.md).

The conftest's district (SA canteen, cluster 1; SB contracted canteen, cluster 2; SC no canteen and no
staff, cluster 1) plus SD (primary, canteen, cluster 1). Periods 2026-09, 2026-10 (scored and ranked
as of the suite's day, 2026-11-21) and 2026-11 (open, nothing in it). Staff areas come from one
evaluation per month with a chosen person score (``ranking_data.evaluation``).

2026-09 (every report accepted)
* SA: canteen self B2 晨检 ×3 (−6) → 94.0; safety self 100; staff 90 → (40×94 + 40×100 + 20×90)/100 = 95.6
* SB: canteen self C1 ×2 (−4) → 96.0; safety self B2 ×2 (−4) → 96.0; staff 80 → 92.8
* SC: safety self B1 ※ (−10) → 90.0; no canteen, no staff → 90.0
* SD: canteen self A4 ×8 (−1 each, cap 5) → 95.0; safety 100; staff 70 → 92.0
  Ranks: SA 1, SB 2, SD 3, SC 4; peer (primary with canteen) SA 1, SB 2, SD 3; SC 1 (no canteen).

2026-10 (SB's report only submitted: missing)
* SA: canteen self B2 ×1 → 98.0, spot B2 ×3 + C1 ×1 (−8) → 92.0; area 0.7×92 + 0.3×98 = 93.8;
  safety 100; staff 90 → (3752 + 4000 + 1800)/100 = 95.52 → 95.5
* SB: canteen self A4 ×3 (not counted anywhere: the month is not accepted)
* SC: safety self 100 → 100.0
* SD: canteen self 100, safety self B2 ×1 → 98.0, staff 70 → 93.2; a spot inspection (C1 ×5, −10)
  set aside by an upheld appeal (``excluded``): counted nowhere
  Ranks: SC 1 (↑3), SA 2 (↓1), SD 3 (＝); peer SA 1, SD 2; SC 1.

Points lost over 2026-09..2026-10 (accepted months, counted inspections):
* SA: canteen B2 6 + 2 + 6 = 14 in 3 inspections; canteen C1 2 in 1
* SB: canteen C1 4; safety B2 4 (tie: canteen first)
* SC: safety B1 10
* SD: canteen A4 5 (capped); safety B2 2

SA's canteen facts: 2026-09 served 66 sittings on 22 days, 20 days 两荤两素一汤, 60 accompanied, 66
sampled, 132.0 kg waste (600 pupils) → 90.9 %, 90.9 %, 100.0 %, 10.0 g per pupil-day; 2026-10: 63
sittings on 21 days, 21 compliant, 63 accompanied, 62 sampled, 94.5 kg → 100.0 %, 100.0 %, 98.4 %, 7.5 g.
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
from service.org.models import School
from service.rankings.jobs import recompute_period
from service.reports import operations as reports
from service.reports.models import ReportState
from tenants import TenantScope, use_scope
from tests import ranking_data as data
from tests.conftest import TODAY, District

CANTEEN, SAFETY = InspectionKind.CANTEEN, InspectionKind.SAFETY
SELF, SPOT = InspectionMode.SELF, InspectionMode.SPOT


@dataclass
class Scored:
    d: District
    ids: dict[str, int]  # school code → id
    sep: int
    oct: int
    nov: int
    overdue_hazard: int = 0
    closed_hazard: int = 0
    incident: int = 0


def build(app: Any, d: District) -> Scored:
    with app.app_context(), use_scope(TenantScope.bureau()):
        data.school("SD", d.cluster_1.id)
        s = {x.code: x for x in db.session.scalars(select(School))}
        sep, oct_, nov = data.period(2026, 9), data.period(2026, 10), data.period(2026, 11)
        _september(sep, s)
        _october(oct_, s)
        out = Scored(d, {c: x.id for c, x in s.items()}, sep.id, oct_.id, nov.id)
        _records(s["SA"], sep, oct_, out)
        db.session.commit()
        for p in (sep, oct_):
            recompute_period(p.id, today=TODAY)
        db.session.commit()
        db.session.remove()
    return out


def _september(p: Any, s: dict[str, School]) -> None:
    data.inspection(p, s["SA"], CANTEEN, SELF, B2=("fail", 3))
    data.inspection(p, s["SA"], SAFETY, SELF)
    data.evaluation(p, s["SA"], "90")
    data.inspection(p, s["SB"], CANTEEN, SELF, C1=("fail", 2))
    data.inspection(p, s["SB"], SAFETY, SELF, B2=("fail", 2))
    data.evaluation(p, s["SB"], "80")
    data.inspection(p, s["SC"], SAFETY, SELF, B1=("fail", 1))
    data.inspection(p, s["SD"], CANTEEN, SELF, A4=("fail", 8))
    data.inspection(p, s["SD"], SAFETY, SELF)
    data.evaluation(p, s["SD"], "70")
    for code in ("SA", "SB", "SC", "SD"):
        data.report(p, s[code])


def _october(p: Any, s: dict[str, School]) -> None:
    data.inspection(p, s["SA"], CANTEEN, SELF, B2=("fail", 1))
    data.inspection(p, s["SA"], CANTEEN, SPOT, day=20, B2=("fail", 3), C1=("fail", 1))
    data.inspection(p, s["SA"], SAFETY, SELF)
    data.evaluation(p, s["SA"], "90")
    data.inspection(p, s["SB"], CANTEEN, SELF, A4=("fail", 3))
    data.inspection(p, s["SB"], SAFETY, SELF)
    data.evaluation(p, s["SB"], "80")
    data.inspection(p, s["SC"], SAFETY, SELF)
    data.inspection(p, s["SD"], CANTEEN, SELF)
    data.inspection(p, s["SD"], SAFETY, SELF, B2=("fail", 1))
    excluded = data.inspection(p, s["SD"], CANTEEN, SPOT, day=22, C1=("fail", 5))
    excluded.excluded = True
    excluded.excluded_reason = "申诉成立"
    data.evaluation(p, s["SD"], "70")
    for code in ("SA", "SC", "SD"):
        data.report(p, s[code])
    data.report(p, s["SB"], state=ReportState.SUBMITTED)


def _records(sa: School, sep: Any, oct_: Any, out: Scored) -> None:
    """SA's canteen facts, an overdue and a closed hazard, and an incident with its veto."""
    for p, values in (
        (sep, (66, 20, 22, 60, 66, "132.0")),
        (oct_, (63, 21, 21, 63, 62, "94.5")),
    ):
        report = reports.open_report(p, school_id=sa.id)
        served, compliant, days, accompanied, sampled, waste = values
        db.session.add(
            CanteenMonthlyFacts(
                school_id=sa.id,
                period_id=p.id,
                report_id=report.id,
                meals_served=served,
                menu_compliant_days=compliant,
                serving_days=days,
                leader_accompanied_meals=accompanied,
                sampled_meals=sampled,
                food_waste_kg=Decimal(waste),
            )
        )
    overdue = Hazard(
        school_id=sa.id,
        title="甲校配电箱未上锁",
        location="教学楼一层",
        severity=HazardSeverity.HIGH,
        found_on=date(2026, 11, 2),
        deadline=date(2026, 11, 9),  # 12 days overdue on 2026-11-21
        state=HazardState.RECTIFYING,
    )
    closed = Hazard(
        school_id=sa.id,
        title="甲校灭火器过期",
        severity=HazardSeverity.MEDIUM,
        found_on=date(2026, 10, 8),
        deadline=date(2026, 10, 20),
        state=HazardState.CLOSED,
        closed_on=date(2026, 10, 18),
        closing_note="已更换",
    )
    incident = Incident(
        school_id=sa.id,
        type=IncidentType.INJURY,
        severity=IncidentSeverity.MINOR,
        occurred_at=datetime(2026, 10, 12, 1, 0, tzinfo=UTC),
        reported_at=datetime(2026, 10, 12, 5, 0, tzinfo=UTC),  # 4 hours: reported late → a veto
        description="甲校学生课间摔伤",
        period_id=oct_.id,
    )
    db.session.add_all([overdue, closed, incident])
    db.session.flush()
    evaluate_incident_vetoes(incident)
    out.overdue_hazard, out.closed_hazard, out.incident = overdue.id, closed.id, incident.id
