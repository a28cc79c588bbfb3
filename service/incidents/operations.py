"""Incidents: plain functions over the session (flush, never commit); every write re-derives vetoes.

A school admin reports the incidents of their school; the moment of the report (``reported_at``) is
the server's clock when they do, and the bureau's findings - hidden, fined, falsified data - are the
bureau's to record (:data:`BUREAU_ONLY_FIELDS`), so a school cannot clear the facts that veto it. A
bureau admin may create and correct any incident, in any month (the bureau is the authority that
locks months, and investigations often conclude months later); a school's writes are month-bound like
the rest of its monthly data.

Once the bureau has recorded an incident (created it, or corrected or confirmed the school's report:
any bureau write sets ``bureau_confirmed_at``), every fact that decides whether a veto exists or when
its window runs (:data:`VETO_FACT_FIELDS`: type, time, severity, fault, the findings) is the bureau's;
the school may still add to the description. Before that, the school may correct its own report, but
no edit of a school may lift a veto or move its window's end earlier (moving the time of an incident
from the 26th to the 1st ends its vetoes 25 days sooner).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.audit.trail import current_actor
from service.core.errors import DomainError
from service.core.timeutil import local
from service.db import db
from service.hazards.operations import ensure_month_open, period_of
from service.incidents.models import Incident, IncidentType
from service.incidents.vetoes import Veto, VetoSource, evaluate_incident_vetoes
from tenants import current_scope

FACT_FIELDS = (
    "type",
    "occurred_at",
    "severity",
    "school_at_fault",
    "description",
    "unlicensed",
    "banned_food",
    "meal_not_sampled",
    "crowd_crush",
    "building_collapse",
)
BUREAU_ONLY_FIELDS = ("reported_at", "hidden", "fine_or_heavier", "falsified_data")
EDITABLE_FIELDS = (*FACT_FIELDS, *BUREAU_ONLY_FIELDS)
# The facts the veto rules (service/incidents/vetoes.py: INCIDENT_RULES, incident_date) read: all but
# the description. The bureau's alone once it has recorded or confirmed the incident.
VETO_FACT_FIELDS = tuple(k for k in FACT_FIELDS if k != "description")


def list_incidents(
    *, type: IncidentType | None = None, period_id: int | None = None, school_id: int | None = None
) -> Any:
    stmt = select(Incident).order_by(Incident.occurred_at.desc(), Incident.id.desc())
    if type is not None:
        stmt = stmt.where(Incident.type == type)
    if period_id is not None:
        stmt = stmt.where(Incident.period_id == period_id)
    if school_id is not None:
        stmt = stmt.where(Incident.school_id == school_id)
    return stmt


def _refuse_bureau_fields(data: Mapping[str, Any]) -> None:
    sent = [k for k in BUREAU_ONLY_FIELDS if k in data]
    if sent:
        raise DomainError({k: [_("Only the bureau can set this field.")] for k in sent}, 403)


def _refuse_confirmed_facts(incident: Incident, data: Mapping[str, Any]) -> None:
    """A school's change to a veto-deciding fact of an incident the bureau recorded: 403 per field."""
    if incident.bureau_confirmed_at is None:
        return
    # Only fields whose value would change: a form that sends every field back may still add to
    # the description.
    sent = [k for k in VETO_FACT_FIELDS if k in data and data[k] != getattr(incident, k)]
    if sent:
        message = _("The bureau has recorded this incident; only the bureau can change this field.")
        raise DomainError({k: [message] for k in sent}, 403)


def _windows(incident: Incident) -> dict[str, tuple[date, date]]:
    """Rule → its veto's window (starts_on, ends_on), for the incident's current vetoes."""
    return {v.rule: (v.starts_on, v.ends_on) for v in vetoes_of(incident)}


def _narrows(before: dict[str, tuple[date, date]], after: dict[str, tuple[date, date]]) -> bool:
    """Whether some veto of ``before`` is gone or no longer covers its whole window: starting later
    lifts the bar from the days before (the month, term or year being judged), ending earlier from
    the days after."""
    for rule, (starts, ends) in before.items():
        if rule not in after:
            return True
        new_starts, new_ends = after[rule]
        if new_starts > starts or new_ends < ends:
            return True
    return False


def _check_times(occurred_at: datetime, reported_at: datetime, *, now: datetime) -> None:
    errors: dict[str, list[str]] = {}
    if occurred_at > now:
        errors["occurred_at"] = [_("The time cannot be in the future.")]
    if reported_at < occurred_at:
        errors["reported_at"] = [_("The report cannot come before the incident.")]
    elif reported_at > now:
        errors["reported_at"] = [_("The time cannot be in the future.")]
    if errors:
        raise DomainError(errors)


def _in_utc(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with its times in UTC, as every stored timestamp is: the schema gives Beijing time for a
    time without an offset, and SQLite (the embedded mode) stores an aware time's wall clock as is."""
    out = dict(data)
    for key in ("occurred_at", "reported_at"):
        if isinstance(out.get(key), datetime):
            out[key] = out[key].astimezone(UTC)
    return out


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware one (SQLite gives them back naive, in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local_day(moment: datetime) -> date:
    value = local(moment)
    assert value is not None
    return value.date()


def create_incident(data: Mapping[str, Any], *, now: datetime, today: date, by_bureau: bool) -> Incident:
    data = _in_utc(data)
    if not by_bureau:
        _refuse_bureau_fields(data)
    reported_at = data.get("reported_at") or now
    _check_times(data["occurred_at"], reported_at, now=now)
    period = period_of(_local_day(data["occurred_at"]), field="occurred_at")
    school_id = data.get("school_id") or current_scope().single_school_id
    if school_id is None:
        raise DomainError({"school_id": [_("Missing data for required field.")]})
    if not by_bureau:
        ensure_month_open(school_id, period, today=today)
    incident = Incident(
        school_id=school_id,
        **{k: data[k] for k in EDITABLE_FIELDS if k in data and k != "reported_at"},
        reported_at=reported_at,
        period_id=period.id if period else None,
        created_by_id=current_actor().user_id,
        bureau_confirmed_at=now if by_bureau else None,
    )
    db.session.add(incident)
    db.session.flush()
    evaluate_incident_vetoes(incident)
    return incident


def update_incident(
    incident: Incident, data: Mapping[str, Any], *, now: datetime, today: date, by_bureau: bool
) -> Incident:
    """Correct an incident and derive its vetoes again; a bureau write confirms it (see the module)."""
    data = _in_utc(data)
    if not by_bureau:
        _refuse_bureau_fields(data)
        _refuse_confirmed_facts(incident, data)
        ensure_month_open(incident.school_id, incident.period, today=today)
    occurred_at = data.get("occurred_at", _aware(incident.occurred_at))
    reported_at = data.get("reported_at", _aware(incident.reported_at))
    _check_times(occurred_at, reported_at, now=now)
    period = period_of(_local_day(occurred_at), field="occurred_at")
    if not by_bureau:
        ensure_month_open(incident.school_id, period, today=today)
    windows_before = _windows(incident)
    for key in EDITABLE_FIELDS:
        if key in data:
            setattr(incident, key, data[key])
    incident.period_id = period.id if period else None
    if by_bureau and incident.bureau_confirmed_at is None:
        incident.bureau_confirmed_at = now
    db.session.flush()
    evaluate_incident_vetoes(incident)
    # A school may add facts that bar it, never edit one away or narrow it: that is the bureau's call.
    if not by_bureau and _narrows(windows_before, _windows(incident)):
        raise DomainError(
            {
                "_schema": [
                    _("This change would lift or shorten a veto (一票否决); only the bureau can do that.")
                ]
            },
            status=403,
        )
    return incident


def vetoes_of(incident: Incident) -> list[Veto]:
    return list(
        db.session.scalars(
            select(Veto)
            .where(
                Veto.school_id == incident.school_id,
                Veto.source == VetoSource.INCIDENT,
                Veto.incident_id == incident.id,
            )
            .order_by(Veto.id)
        )
    )
