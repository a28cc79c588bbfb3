"""Incidents (安全事故): what happened at a school, when, how bad, and the facts the veto rules read.

The boolean flags record findings (hidden, fined, unlicensed, banned food, meal not sampled, falsified
data, crowd crush, building collapse); :mod:`service.incidents.vetoes` derives the vetoes from them.
Reporting late means more than two hours between the incident and the report to the bureau.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.periods.models import Period
from tenants import TenantOwned

# An incident must reach the bureau within this long (《中小学幼儿园安全管理办法》: report at once).
REPORT_WITHIN = timedelta(hours=2)


def is_reported_late(occurred_at: datetime, reported_at: datetime) -> bool:
    """More than :data:`REPORT_WITHIN` between the incident and its report; exactly two hours is on time.

    The one place the rule is written: the model's :attr:`Incident.reported_late` (which the veto
    rules read) and the report form's warning before anything is saved both ask here.
    """
    return reported_at - occurred_at > REPORT_WITHIN


class IncidentType(enum.StrEnum):
    FOOD_POISONING = "food_poisoning"
    INJURY = "injury"
    FIRE = "fire"
    BUILDING = "building"
    CRIME = "crime"
    OTHER = "other"


INCIDENT_TYPE_LABELS = {
    IncidentType.FOOD_POISONING: ("食物中毒", "Food poisoning"),
    IncidentType.INJURY: ("人身伤害", "Injury"),
    IncidentType.FIRE: ("火灾", "Fire"),
    IncidentType.BUILDING: ("校舍安全", "Building safety"),
    IncidentType.CRIME: ("治安刑事", "Crime"),
    IncidentType.OTHER: ("其他", "Other"),
}

# Incident types that belong to the canteen area (their hiding or late report bars 放心食堂).
FOOD_TYPES = frozenset({IncidentType.FOOD_POISONING})


class IncidentSeverity(enum.StrEnum):
    MINOR = "minor"
    SERIOUS = "serious"
    MAJOR = "major"
    DEATH = "death"


INCIDENT_SEVERITY_LABELS = {
    IncidentSeverity.MINOR: ("轻微", "Minor"),
    IncidentSeverity.SERIOUS: ("严重（重伤）", "Serious"),
    IncidentSeverity.MAJOR: ("重大", "Major"),
    IncidentSeverity.DEATH: ("死亡", "Death"),
}

# The veto-relevant flags, in the order forms show them; the bureau's findings are marked.
FLAG_LABELS = {
    "hidden": ("隐瞒不报", "Hidden (not reported)"),
    "fine_or_heavier": ("受到行政处罚", "Administrative fine or heavier"),
    "unlicensed": ("无证经营", "Operating without a licence"),
    "banned_food": ("发现禁止食品", "Banned food found"),
    "meal_not_sampled": ("整餐次未留样", "A meal with no sample kept"),
    "falsified_data": ("数据造假", "Falsified data"),
    "crowd_crush": ("拥挤踩踏", "Crowd crush"),
    "building_collapse": ("校舍坍塌", "Building collapse"),
}


class Incident(Audited, TenantOwned, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        CheckConstraint("reported_at >= occurred_at", name="reported_after_occurred"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[IncidentType] = mapped_column(str_enum(IncidentType, "incident_type"))
    occurred_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    reported_at: Mapped[datetime] = mapped_column(TZDateTime)
    severity: Mapped[IncidentSeverity] = mapped_column(str_enum(IncidentSeverity, "incident_severity"))
    school_at_fault: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    # The period of the month it occurred (Beijing time); NULL only for a non-reporting month (August).
    period_id: Mapped[int | None] = mapped_column(
        ForeignKey("periods.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    fine_or_heavier: Mapped[bool] = mapped_column(Boolean, default=False)
    unlicensed: Mapped[bool] = mapped_column(Boolean, default=False)
    banned_food: Mapped[bool] = mapped_column(Boolean, default=False)
    meal_not_sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    falsified_data: Mapped[bool] = mapped_column(Boolean, default=False)
    crowd_crush: Mapped[bool] = mapped_column(Boolean, default=False)
    building_collapse: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # When the bureau first recorded (created or corrected) the incident; from then on every fact
    # that decides a veto's existence or window is the bureau's (service/incidents/operations.py).
    bureau_confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    period: Mapped[Period | None] = relationship()

    @property
    def bureau_confirmed(self) -> bool:
        return self.bureau_confirmed_at is not None

    @property
    def reported_late(self) -> bool:
        """More than two hours between the incident and its report; exactly two hours is on time."""
        return is_reported_late(self.occurred_at, self.reported_at)
