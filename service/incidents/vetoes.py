"""Vetoes (一票否决): which commendations a school is barred from, why, and for how long.

A veto comes from an incident (derived by the rules in :data:`INCIDENT_RULES`) or from a failed veto
item of an inspection (recorded by the inspections area through :func:`record_failed_veto_item`). It
bars the commendations named in ``blocks`` from ``starts_on`` (the incident's date in Beijing time, or
the inspection's date) until ``ends_on`` (exclusive): twelve months later unless a rule says otherwise.

Vetoes never change scores (rubrics.md formula 8): a vetoed school is still scored, ranked and
listed, only flagged and kept off the commendation lists the veto names. Nothing in the scoring code
reads this table; the commendation job reads :func:`vetoes_in_force`.

The incident rules are ONE table of :class:`VetoRule` rows (code, labels, predicate, blocks, months)
on purpose: the bureau is to edit them later (which commendations a rule bars, its look-back), and
moving this table into the database then means replacing the predicate by a flag/type/severity
condition per row - nothing else in the code enumerates the rules.

``source_inspection``-style ids (``inspection_id``) are plain integers without a foreign key: the
inspections area is built separately and may not exist in every deployment.
"""

from __future__ import annotations

import calendar
import enum
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.audit.models import Audited
from service.core.errors import DomainError
from service.core.timeutil import local
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base, db
from service.incidents.models import (
    FOOD_TYPES,
    INCIDENT_TYPE_LABELS,
    Incident,
    IncidentSeverity,
    IncidentType,
)
from tenants import TenantOwned

LOOKBACK_MONTHS = 12  # rubrics.md: look-back 12 months unless the rule says otherwise


class Commendation(enum.StrEnum):
    ADVANCED_UNIT = "advanced_unit"
    TRUSTED_CANTEEN = "trusted_canteen"
    SAFE_CAMPUS = "safe_campus"
    OUTSTANDING_STAFF = "outstanding_staff"


COMMENDATION_LABELS = {
    Commendation.ADVANCED_UNIT: ("先进单位", "Advanced unit"),
    Commendation.TRUSTED_CANTEEN: ("放心食堂", "Trusted canteen"),
    Commendation.SAFE_CAMPUS: ("平安校园", "Safe campus"),
    Commendation.OUTSTANDING_STAFF: ("优秀后勤人员", "Outstanding logistics staff"),
}

ADV, CANTEEN, CAMPUS, STAFF = (
    Commendation.ADVANCED_UNIT.value,
    Commendation.TRUSTED_CANTEEN.value,
    Commendation.SAFE_CAMPUS.value,
    Commendation.OUTSTANDING_STAFF.value,
)


class VetoSource(enum.StrEnum):
    INCIDENT = "incident"
    INSPECTION_ITEM = "inspection_item"


VETO_SOURCE_LABELS = {
    VetoSource.INCIDENT: ("安全事故", "Incident"),
    VetoSource.INSPECTION_ITEM: ("检查否决项", "Inspection veto item"),
}


class Veto(Audited, TenantOwned, Base):
    __tablename__ = "vetoes"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        # One veto per rule and source: re-deriving replaces, never duplicates.
        UniqueConstraint("school_id", "incident_id", "rule"),
        UniqueConstraint("school_id", "inspection_id", "item_code", "rule"),
        ForeignKeyConstraint(
            ["school_id", "incident_id"],
            ["incidents.school_id", "incidents.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("ends_on > starts_on", name="window_not_empty"),
        CheckConstraint(
            "(source = 'incident' AND incident_id IS NOT NULL AND inspection_id IS NULL)"
            " OR (source = 'inspection_item' AND inspection_id IS NOT NULL AND incident_id IS NULL)",
            name="source_matches_ids",
        ),
        Index("ix_vetoes_window", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    source: Mapped[VetoSource] = mapped_column(str_enum(VetoSource, "veto_source"))
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # Plain ids of service/inspections (no FK; see the module docstring).
    inspection_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    item_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # exclusive
    blocks: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


# --- the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VetoRule:
    """One row of the rule table: when an incident triggers it and what it bars for how long."""

    code: str
    zh: str
    en: str
    applies: Callable[[Incident], bool]
    blocks: tuple[str, ...]
    months: int = LOOKBACK_MONTHS


_SEVERE = frozenset({IncidentSeverity.SERIOUS, IncidentSeverity.MAJOR, IncidentSeverity.DEATH})
_MAJOR = frozenset({IncidentSeverity.MAJOR, IncidentSeverity.DEATH})


def _hidden_or_late(i: Incident) -> bool:
    return bool(i.hidden) or i.reported_late


# rubrics.md "Incidents and vetoes". Hiding or late reporting bars 先进单位 plus the award of the
# incident's area, so it is two rows (food → 放心食堂, everything else → 平安校园).
INCIDENT_RULES: tuple[VetoRule, ...] = (
    VetoRule(
        "food_poisoning_at_fault",
        "学校责任食物中毒或食源性疾病",
        "Food poisoning with the school at fault",
        lambda i: i.type is IncidentType.FOOD_POISONING and bool(i.school_at_fault),
        (ADV, CANTEEN),
    ),
    VetoRule(
        "unlicensed", "无证经营", "Operating without a licence", lambda i: bool(i.unlicensed), (CANTEEN, ADV)
    ),
    VetoRule(
        "banned_food", "发现禁止食品", "Banned food found", lambda i: bool(i.banned_food), (CANTEEN, ADV)
    ),
    VetoRule(
        "meal_not_sampled",
        "整餐次未留样",
        "A meal with no sample kept",
        lambda i: bool(i.meal_not_sampled),
        (CANTEEN, ADV),
    ),
    VetoRule(
        "fine_or_heavier",
        "受到行政处罚及以上",
        "Administrative fine or heavier",
        lambda i: bool(i.fine_or_heavier),
        (ADV,),
    ),
    VetoRule(
        "liability_casualty",
        "责任事故造成死亡或重伤",
        "Death or serious injury from a liability accident",
        lambda i: i.severity in _SEVERE and bool(i.school_at_fault),
        (ADV, CAMPUS),
    ),
    VetoRule(
        "major_fire",
        "发生重大火灾",
        "Major fire",
        lambda i: i.type is IncidentType.FIRE and i.severity in _MAJOR,
        (ADV, CAMPUS),
    ),
    VetoRule(
        "building_collapse",
        "校舍坍塌",
        "Building collapse",
        lambda i: bool(i.building_collapse),
        (ADV, CAMPUS),
    ),
    VetoRule("crowd_crush", "拥挤踩踏", "Crowd crush", lambda i: bool(i.crowd_crush), (ADV, CAMPUS)),
    VetoRule(
        "crime_poor_management",
        "管理不善导致严重治安刑事案件",
        "Serious crime through poor management",
        lambda i: i.type is IncidentType.CRIME and bool(i.school_at_fault),
        (CAMPUS, ADV),
    ),
    VetoRule(
        "hidden_or_late_food",
        "食品安全事故隐瞒不报或迟报（超过2小时）",
        "Food incident hidden or reported late (over 2 hours)",
        lambda i: i.type in FOOD_TYPES and _hidden_or_late(i),
        (ADV, CANTEEN),
    ),
    VetoRule(
        "hidden_or_late",
        "安全事故隐瞒不报或迟报（超过2小时）",
        "Incident hidden or reported late (over 2 hours)",
        lambda i: i.type not in FOOD_TYPES and _hidden_or_late(i),
        (ADV, CAMPUS),
    ),
    VetoRule(
        "falsified_data",
        "数据造假",
        "Falsified data",
        lambda i: bool(i.falsified_data),
        (ADV, CANTEEN, CAMPUS, STAFF),
    ),
)

RULES_BY_CODE = {rule.code: rule for rule in INCIDENT_RULES}

# A failed veto item of an inspection (canteen veto items by default).
FAILED_ITEM_RULE = "failed_veto_item"
FAILED_ITEM_LABELS = ("检查否决项不合格", "Inspection veto item failed")
DEFAULT_ITEM_BLOCKS = (CANTEEN, ADV)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (2024-02-29 + 12 → 2025-02-28)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def incident_date(incident: Incident) -> date:
    """The day the incident happened, in Beijing time: the start of its vetoes' window."""
    occurred = local(incident.occurred_at)
    assert occurred is not None
    return occurred.date()


def rule_label(code: str) -> tuple[str, str]:
    if code == FAILED_ITEM_RULE:
        return FAILED_ITEM_LABELS
    rule = RULES_BY_CODE.get(code)
    return (rule.zh, rule.en) if rule else (code, code)


# --- deriving and recording -------------------------------------------------------------------------


def evaluate_incident_vetoes(incident: Incident) -> list[Veto]:
    """(Re)derive the vetoes of one incident: delete its vetoes, insert one per rule that applies.

    Called after every create and change of an incident, so the vetoes always match its current
    facts; running it twice gives the same rows (the unique key on (school, incident, rule) holds).
    """
    session = db.session
    session.flush()  # the incident's id and current values are in the database
    _delete(
        select(Veto).where(
            Veto.school_id == incident.school_id,
            Veto.source == VetoSource.INCIDENT,
            Veto.incident_id == incident.id,
        )
    )
    starts = incident_date(incident)
    type_zh = INCIDENT_TYPE_LABELS[incident.type][0]
    vetoes = [
        Veto(
            school_id=incident.school_id,
            rule=rule.code,
            source=VetoSource.INCIDENT,
            incident_id=incident.id,
            starts_on=starts,
            ends_on=add_months(starts, rule.months),
            blocks=list(rule.blocks),
            reason=f"{rule.zh}（{starts.isoformat()} {type_zh}事故）",
        )
        for rule in INCIDENT_RULES
        if rule.applies(incident)
    ]
    session.add_all(vetoes)
    session.flush()
    return vetoes


def record_failed_veto_item(
    school_id: int,
    inspection_id: int,
    item_code: str,
    on_date: date,
    blocks: Iterable[str] = DEFAULT_ITEM_BLOCKS,
    *,
    months: int = LOOKBACK_MONTHS,
) -> Veto:
    """Record that an inspection on ``on_date`` failed veto item ``item_code`` (for the inspections area).

    Idempotent per (inspection, item): a second call replaces the first. Failing a canteen veto item
    bars 放心食堂 and 先进单位 (the default ``blocks``).
    """
    codes = list(dict.fromkeys(str(b) for b in blocks))
    known = {c.value for c in Commendation}
    if not codes or any(c not in known for c in codes):
        raise DomainError({"blocks": [_("Must be one of: %(choices)s.", choices=", ".join(sorted(known)))]})
    clear_inspection_vetoes(school_id, inspection_id, item_code)
    veto = Veto(
        school_id=school_id,
        rule=FAILED_ITEM_RULE,
        source=VetoSource.INSPECTION_ITEM,
        inspection_id=inspection_id,
        item_code=item_code,
        starts_on=on_date,
        ends_on=add_months(on_date, months),
        blocks=codes,
        reason=f"{FAILED_ITEM_LABELS[0]}：{item_code}（{on_date.isoformat()} 检查）",
    )
    db.session.add(veto)
    db.session.flush()
    return veto


def clear_inspection_vetoes(school_id: int, inspection_id: int, item_code: str | None = None) -> int:
    """Remove the vetoes of an inspection (or of one of its items) - when the result is corrected."""
    stmt = select(Veto).where(
        Veto.school_id == school_id,
        Veto.source == VetoSource.INSPECTION_ITEM,
        Veto.inspection_id == inspection_id,
    )
    if item_code is not None:
        stmt = stmt.where(Veto.item_code == item_code)
    return _delete(stmt)


def _delete(stmt: Any) -> int:
    """ORM deletes (not a bulk DELETE) so the audit trail records each removed veto."""
    rows = list(db.session.scalars(stmt))
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return len(rows)


# --- reading ------------------------------------------------------------------------------------------


def list_vetoes(*, as_of: date | None = None, school_id: int | None = None) -> Any:
    """A select of the vetoes in scope: all of them, or those in force on ``as_of``."""
    stmt = vetoes_in_force(as_of) if as_of is not None else select(Veto)
    if school_id is not None:
        stmt = stmt.where(Veto.school_id == school_id)
    return stmt.order_by(Veto.school_id, Veto.starts_on.desc(), Veto.id)


def vetoes_in_force(as_of: date) -> Any:
    """One set-based select: every veto in scope with ``starts_on <= as_of < ends_on``."""
    return select(Veto).where(Veto.starts_on <= as_of, Veto.ends_on > as_of)


def blocked_commendations(as_of: date) -> dict[int, set[str]]:
    """School id → the commendation codes barred on ``as_of`` (schools without a veto are absent)."""
    out: dict[int, set[str]] = defaultdict(set)
    for veto in db.session.scalars(vetoes_in_force(as_of)):
        out[veto.school_id].update(veto.blocks or [])
    return dict(out)
