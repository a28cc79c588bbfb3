"""The school page's blocks: one school's year at a glance, each block one set-based query.

What the bureau (and the school itself) reads on ``/schools/<id>``: score and rank history
(:mod:`service.cockpit.history`), the newest accepted month's score with its areas, the inspections
(self and spot), hazards with their 整改 state (overdue marked), incidents and the vetoes in force,
the canteen's month in numbers, the staff summary, and the audit trail of the school's records.

Figures computed here are plain arithmetic over stored rows and live in pure functions
(:func:`facts_rates`), tested by hand without Flask: 两荤两素一汤 compliance = compliant days ÷ serving
days, 陪餐 = accompanied meal sittings ÷ sittings served, 留样 = sampled sittings ÷ sittings served,
food waste per pupil-day = kg × 1000 ÷ (enrolment × serving days), in grams. Rates are percentages
rounded half up to 1 decimal; a rate with nothing to divide by is ``None`` (shown "—", never 0).

Scoping is the tenant wall's job: the caller fetched the school in scope; every query here reads
school-owned tables, narrowed to that school by its id (a filter of the page, not a wall).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from service.audit.models import AuditAction, AuditEntry
from service.cockpit import history
from service.core.labels import label
from service.db import db
from service.evaluations.models import Evaluation
from service.hazards.models import HAZARD_SEVERITY_LABELS, HAZARD_STATE_LABELS, Hazard, HazardState
from service.incidents.models import INCIDENT_SEVERITY_LABELS, INCIDENT_TYPE_LABELS, Incident
from service.incidents.vetoes import COMMENDATION_LABELS, Veto, rule_label, vetoes_in_force
from service.inspections.models import CanteenMonthlyFacts, Inspection
from service.org.models import School
from service.periods.models import Period
from service.reports.review import CHILDREN, FIELD_LABELS, NOT_SHOWN
from service.scoring.explain import AREA_LABELS
from service.scoring.models import MonthStatus, SchoolMonthScore
from service.staff.models import CertificateWarning, StaffMember

ONE_DECIMAL = Decimal("0.1")
INSPECTIONS_SHOWN = 20
HAZARDS_CLOSED_DAYS = 90  # closed hazards stay on the page this long after their closing day
INCIDENT_DAYS = 365
FACT_MONTHS = 6
AUDIT_ENTRIES = 50


# --- pure arithmetic -------------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FactRates:
    menu_percent: Decimal | None  # 两荤两素一汤: compliant days ÷ serving days
    accompanied_percent: Decimal | None  # 陪餐: accompanied sittings ÷ sittings served
    sampled_percent: Decimal | None  # 留样: sampled sittings ÷ sittings served
    waste_grams_per_pupil_day: Decimal | None


def facts_rates(
    *,
    meals_served: int,
    menu_compliant_days: int,
    serving_days: int,
    leader_accompanied_meals: int,
    sampled_meals: int,
    food_waste_kg: Decimal,
    enrollment: int,
) -> FactRates:
    """The month's canteen rates (see the module docstring)."""
    pupil_days = enrollment * serving_days
    waste = (
        (Decimal(food_waste_kg) * 1000 / pupil_days).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        if pupil_days > 0
        else None
    )
    return FactRates(
        menu_percent=_percent(menu_compliant_days, serving_days),
        accompanied_percent=_percent(leader_accompanied_meals, meals_served),
        sampled_percent=_percent(sampled_meals, meals_served),
        waste_grams_per_pupil_day=waste,
    )


# --- the blocks ------------------------------------------------------------------------------------------


def months_up_to(today: date, months: int = history.TREND_MONTHS) -> list[Period]:
    """The newest ``months`` opened periods that have begun by ``today``, oldest first."""
    end = db.session.scalars(
        select(Period)
        .where(Period.year * 100 + Period.month <= today.year * 100 + today.month)
        .order_by(Period.year.desc(), Period.month.desc())
        .limit(1)
    ).first()
    return history.window(end, months) if end is not None else []


@dataclass(frozen=True)
class HistoryRow:
    period: Period
    score: history.MonthScore | None
    rank: history.MonthRank | None


def score_history(school_id: int, periods: list[Period]) -> list[HistoryRow]:
    """Month by month, oldest first: the stored score and the rank (two queries for the year)."""
    scores = history.month_scores([school_id], periods)
    ranks = history.month_ranks([school_id], periods)
    return [HistoryRow(p, scores.get((school_id, p.id)), ranks.get((school_id, p.id))) for p in periods]


def latest_score(school_id: int) -> tuple[Period, SchoolMonthScore] | None:
    """The newest accepted (scored) month and its stored score: what the explanation link opens."""
    row = db.session.execute(
        select(Period, SchoolMonthScore)
        .join(SchoolMonthScore, SchoolMonthScore.period_id == Period.id)
        .where(SchoolMonthScore.school_id == school_id, SchoolMonthScore.status == MonthStatus.SCORED)
        .order_by(Period.year.desc(), Period.month.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def inspections(school_id: int, limit: int = INSPECTIONS_SHOWN) -> list[Inspection]:
    """The school's newest inspections, self and spot together (their month loaded in the same query)."""
    return list(
        db.session.scalars(
            select(Inspection)
            .options(joinedload(Inspection.period))
            .where(Inspection.school_id == school_id)
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class HazardRow:
    hazard: Hazard
    overdue: bool
    days_overdue: int


def hazards(school_id: int, today: date) -> list[HazardRow]:
    """Every hazard not closed, and those closed in the last 90 days: overdue ones first (most days
    overdue first), then the other open ones by deadline, then the closed ones, newest first."""
    since = today - timedelta(days=HAZARDS_CLOSED_DAYS)
    rows = db.session.scalars(
        select(Hazard).where(
            Hazard.school_id == school_id,
            (Hazard.state != HazardState.CLOSED) | (Hazard.closed_on >= since),
        )
    )
    out = []
    for h in rows:
        overdue = h.overdue(today)
        out.append(HazardRow(h, overdue, (today - h.deadline).days if overdue else 0))

    def order(r: HazardRow) -> tuple[Any, ...]:
        closed = r.hazard.state is HazardState.CLOSED
        return (
            closed,
            not r.overdue,
            -r.days_overdue,
            r.hazard.deadline,
            -(r.hazard.closed_on or date.min).toordinal(),
        )

    return sorted(out, key=order)


def incidents(school_id: int, now: datetime) -> list[Incident]:
    """The incidents of the last 12 months, newest first."""
    return list(
        db.session.scalars(
            select(Incident)
            .where(
                Incident.school_id == school_id, Incident.occurred_at >= now - timedelta(days=INCIDENT_DAYS)
            )
            .order_by(Incident.occurred_at.desc())
        )
    )


def vetoes(school_id: int, today: date) -> list[Veto]:
    """The vetoes in force today (they bar commendations; they never change a score)."""
    return list(
        db.session.scalars(
            vetoes_in_force(today).where(Veto.school_id == school_id).order_by(Veto.ends_on.desc())
        )
    )


@dataclass(frozen=True)
class FactsRow:
    period: Period
    facts: CanteenMonthlyFacts
    rates: FactRates


def canteen_facts(school: School, periods: list[Period]) -> list[FactsRow]:
    """The canteen's facts of the last months of ``periods`` that have them, newest first."""
    ids = [p.id for p in periods[-FACT_MONTHS:]]
    if not ids:
        return []
    rows = db.session.execute(
        select(Period, CanteenMonthlyFacts)
        .join(CanteenMonthlyFacts, CanteenMonthlyFacts.period_id == Period.id)
        .where(CanteenMonthlyFacts.school_id == school.id, Period.id.in_(ids))
        .order_by(Period.year.desc(), Period.month.desc())
    ).all()
    return [
        FactsRow(
            period,
            facts,
            facts_rates(
                meals_served=facts.meals_served,
                menu_compliant_days=facts.menu_compliant_days,
                serving_days=facts.serving_days,
                leader_accompanied_meals=facts.leader_accompanied_meals,
                sampled_meals=facts.sampled_meals,
                food_waste_kg=facts.food_waste_kg,
                enrollment=school.enrollment,
            ),
        )
        for period, facts in rows
    ]


@dataclass(frozen=True)
class StaffSummary:
    by_role: dict[Any, int]  # active staff by role
    warnings: dict[Any, int]  # certificate warnings of active staff by kind
    mean_period: Period | None  # the newest month with evaluations
    mean_score: Decimal | None  # mean person score of that month (unrounded; shown with 2 decimals)
    evaluated: int


def staff_summary(school_id: int) -> StaffSummary:
    """Three queries: active staff by role, certificate warnings by kind, the newest month's mean."""
    by_role = dict(
        db.session.execute(
            select(StaffMember.role, func.count())
            .where(StaffMember.school_id == school_id, StaffMember.active.is_(True))
            .group_by(StaffMember.role)
            .order_by(StaffMember.role)
        ).all()
    )
    warnings = dict(
        db.session.execute(
            select(CertificateWarning.kind, func.count())
            .join(
                StaffMember,
                (StaffMember.school_id == CertificateWarning.school_id)
                & (StaffMember.id == CertificateWarning.staff_id),
            )
            .where(CertificateWarning.school_id == school_id, StaffMember.active.is_(True))
            .group_by(CertificateWarning.kind)
        ).all()
    )
    newest = db.session.execute(
        select(Period, func.avg(Evaluation.score), func.count())
        .join(Evaluation, Evaluation.period_id == Period.id)
        .where(Evaluation.school_id == school_id)
        .group_by(Period.id)
        .order_by(Period.year.desc(), Period.month.desc())
        .limit(1)
    ).first()
    if newest is None:
        return StaffSummary(by_role, warnings, None, None, 0)
    period, mean, count = newest
    return StaffSummary(by_role, warnings, period, Decimal(str(mean)), int(count))


# What the audit trail calls each school-owned record (the tables of Audited models with school_id).
AUDIT_RECORD_LABELS = {
    "schools": ("学校信息", "School details"),
    "monthly_reports": ("月报", "Monthly report"),
    "inspections": ("检查", "Inspection"),
    "canteen_monthly_facts": ("食堂月度数据", "Canteen facts"),
    "evaluations": ("人员考核", "Staff evaluation"),
    "staff_members": ("后勤人员", "Staff member"),
    "staff_vetoes": ("个人否决", "Personal veto"),
    "hazards": ("隐患整改", "Hazard"),
    "incidents": ("事故", "Incident"),
    "vetoes": ("一票否决", "Veto"),
    "unlock_requests": ("解锁申请", "Unlock request"),
    "inspection_appeals": ("申诉", "Appeal"),
    "commendation_candidates": ("表彰候选", "Commendation candidate"),
}
AUDIT_ACTION_LABELS = {
    AuditAction.INSERT: ("新增", "added"),
    AuditAction.UPDATE: ("修改", "changed"),
    AuditAction.DELETE: ("删除", "deleted"),
}


def record_label(table_name: str) -> str:
    """The record's name in the reader's language (the table's own name when it has none)."""
    return label(AUDIT_RECORD_LABELS, table_name) if table_name in AUDIT_RECORD_LABELS else table_name


def field_label(column: str) -> str:
    return label(FIELD_LABELS, column) if column in FIELD_LABELS else column


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    fields: list[str]  # the columns an update changed (system-kept ones left out)


def audit_trail(school_id: int, limit: int = AUDIT_ENTRIES) -> list[AuditLine]:
    """The newest ``limit`` changes to the school's records, newest first. An inspection's item results
    and an evaluation's ratings are left out: each change to them is listed as its inspection or
    evaluation (whose stored score changes with them), so 24 item rows do not push everything out."""
    rows = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.school_id == school_id, AuditEntry.table_name.not_in(list(CHILDREN)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    out = []
    for entry in rows:
        fields = (
            [k for k in (entry.changes or {}) if k not in NOT_SHOWN]
            if entry.action is AuditAction.UPDATE
            else []
        )
        out.append(AuditLine(entry, fields))
    return out


# --- the page --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolProfile:
    history: list[HistoryRow]
    latest: tuple[Period, SchoolMonthScore] | None
    inspections: list[Inspection]
    hazards: list[HazardRow]
    incidents: list[Incident]
    vetoes: list[Veto]
    facts: list[FactsRow]
    staff: StaffSummary
    audit: list[AuditLine] | None  # None: not for this reader


def profile(school: School, *, today: date, now: datetime, with_audit: bool) -> SchoolProfile:
    periods = months_up_to(today)
    return SchoolProfile(
        history=score_history(school.id, periods),
        latest=latest_score(school.id),
        inspections=inspections(school.id),
        hazards=hazards(school.id, today),
        incidents=incidents(school.id, now),
        vetoes=vetoes(school.id, today),
        facts=canteen_facts(school, periods),
        staff=staff_summary(school.id),
        audit=audit_trail(school.id) if with_audit else None,
    )


# The labels the school page's template reads (each a {value: (zh, en)} table, or a function).
PAGE_LABELS: dict[str, Any] = {
    "HAZARD_STATE_LABELS": HAZARD_STATE_LABELS,
    "HAZARD_SEVERITY_LABELS": HAZARD_SEVERITY_LABELS,
    "INCIDENT_TYPE_LABELS": INCIDENT_TYPE_LABELS,
    "INCIDENT_SEVERITY_LABELS": INCIDENT_SEVERITY_LABELS,
    "COMMENDATION_LABELS": COMMENDATION_LABELS,
    "AUDIT_ACTION_LABELS": AUDIT_ACTION_LABELS,
    "AREA_LABELS": AREA_LABELS,
    "veto_rule_label": lambda code: label({code: rule_label(code)}, code),
    "record_label": record_label,
    "field_label": field_label,
}
