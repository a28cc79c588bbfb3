"""Input and output shapes of incidents and vetoes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Timestamp
from service.core.timeutil import SHANGHAI
from service.incidents.models import (
    INCIDENT_SEVERITY_LABELS,
    INCIDENT_TYPE_LABELS,
    IncidentSeverity,
    IncidentType,
)
from service.incidents.operations import vetoes_of
from service.incidents.vetoes import COMMENDATION_LABELS, VETO_SOURCE_LABELS, VetoSource, rule_label


def _rule_label(code: str) -> str:
    zh, en = rule_label(code)
    return label({code: (zh, en)}, code)


class VetoOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    rule = fields.String()
    rule_label = fields.Function(lambda v: _rule_label(v.rule))
    source = fields.Enum(VetoSource, by_value=True)
    source_label = fields.Function(lambda v: label(VETO_SOURCE_LABELS, v.source))
    incident_id = fields.Integer(allow_none=True)
    inspection_id = fields.Integer(allow_none=True)
    item_code = fields.String(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date(metadata={"description": "exclusive: the first day the veto no longer applies"})
    blocks = fields.List(fields.String())
    blocks_labels = fields.Function(
        lambda v: [label(COMMENDATION_LABELS, b) for b in v.blocks if b in COMMENDATION_LABELS]
    )
    reason = fields.String()


class IncidentOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    type = fields.Enum(IncidentType, by_value=True)
    type_label = fields.Function(lambda i: label(INCIDENT_TYPE_LABELS, i.type))
    occurred_at = Timestamp()
    reported_at = Timestamp()
    reported_late = fields.Boolean(metadata={"description": "more than 2 hours after the incident"})
    severity = fields.Enum(IncidentSeverity, by_value=True)
    severity_label = fields.Function(lambda i: label(INCIDENT_SEVERITY_LABELS, i.severity))
    school_at_fault = fields.Boolean()
    description = fields.String()
    period_id = fields.Integer(allow_none=True)
    period = fields.Function(lambda i: i.period.code if i.period else None)
    hidden = fields.Boolean()
    fine_or_heavier = fields.Boolean()
    unlicensed = fields.Boolean()
    banned_food = fields.Boolean()
    meal_not_sampled = fields.Boolean()
    falsified_data = fields.Boolean()
    crowd_crush = fields.Boolean()
    building_collapse = fields.Boolean()
    created_at = Timestamp()
    bureau_confirmed_at = Timestamp(
        allow_none=True,
        metadata={
            "description": "when the bureau first recorded it (created or corrected): from then on only the "
            "bureau changes the facts that decide its vetoes"
        },
    )


class IncidentDetailOut(IncidentOut):
    """One incident with the vetoes derived from it."""

    vetoes = fields.Function(lambda i: VetoOut(many=True).dump(vetoes_of(i)))


class IncidentIn(Schema):
    """``school_id`` only from scopes with several schools; ``reported_at`` and the bureau's findings
    (hidden, fine_or_heavier, falsified_data) only from a bureau admin."""

    school_id = fields.Integer()
    type = fields.Enum(IncidentType, by_value=True, required=True)
    # A time without an offset is Beijing time.
    occurred_at = fields.AwareDateTime(required=True, default_timezone=SHANGHAI)
    reported_at = fields.AwareDateTime(default_timezone=SHANGHAI)
    severity = fields.Enum(IncidentSeverity, by_value=True, required=True)
    school_at_fault = fields.Boolean(load_default=False)
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    hidden = fields.Boolean()
    fine_or_heavier = fields.Boolean()
    unlicensed = fields.Boolean(load_default=False)
    banned_food = fields.Boolean(load_default=False)
    meal_not_sampled = fields.Boolean(load_default=False)
    falsified_data = fields.Boolean()
    crowd_crush = fields.Boolean(load_default=False)
    building_collapse = fields.Boolean(load_default=False)


class IncidentPatch(IncidentIn):
    """Every field optional; an incident never moves to another school."""

    class Meta:
        exclude = ("school_id",)


class IncidentListArgs(Schema):
    type = fields.Enum(IncidentType, by_value=True)
    period_id = fields.Integer()
    school_id = fields.Integer()


class VetoListArgs(Schema):
    as_of = fields.Date(
        metadata={"description": "only vetoes in force that day (starts_on ≤ as_of < ends_on)"}
    )
    school_id = fields.Integer()
