"""Input and output shapes of hazards (rectification notices) and their transitions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Range, Timestamp
from service.core.timeutil import today_shanghai
from service.hazards.models import (
    HAZARD_ACTION_LABELS,
    HAZARD_SEVERITY_LABELS,
    HAZARD_STATE_LABELS,
    HazardSeverity,
    HazardState,
)


class HazardOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    title = fields.String()
    description = fields.String()
    location = fields.String()
    severity = fields.Enum(HazardSeverity, by_value=True)
    severity_label = fields.Function(lambda h: label(HAZARD_SEVERITY_LABELS, h.severity))
    responsible_person = fields.String()
    found_on = fields.Date()
    deadline = fields.Date()
    state = fields.Enum(HazardState, by_value=True)
    state_label = fields.Function(lambda h: label(HAZARD_STATE_LABELS, h.state))
    overdue = fields.Function(
        lambda h: h.overdue(today_shanghai()), metadata={"description": "as of today (Beijing time)"}
    )
    closing_note = fields.String()
    closed_on = fields.Date(allow_none=True)
    source_inspection_id = fields.Integer(allow_none=True)
    period_id = fields.Integer(allow_none=True)
    period = fields.Function(lambda h: h.period.code if h.period else None)
    issued_by_bureau = fields.Boolean()
    created_at = Timestamp()


class HazardIn(Schema):
    """``school_id`` only from scopes with several schools; a school admin's is implied."""

    school_id = fields.Integer()
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))
    severity = fields.Enum(HazardSeverity, by_value=True, required=True)
    responsible_person = fields.String(required=True, validate=validate.Length(min=1, max=40))
    found_on = fields.Date(required=True)
    deadline = fields.Date(required=True)
    source_inspection_id = fields.Integer(load_default=None, allow_none=True, validate=Range(min=1))


class HazardPatch(HazardIn):
    """Every field optional; a hazard never moves to another school."""

    class Meta:
        exclude = ("school_id",)


class HazardListArgs(Schema):
    state = fields.Enum(HazardState, by_value=True)
    overdue = fields.Boolean(metadata={"description": "overdue as of today (Beijing time)"})
    period_id = fields.Integer()
    school_id = fields.Integer()


class CloseIn(Schema):
    closing_note = fields.String(required=True, validate=validate.Length(max=1000))
    closed_on = fields.Date(required=True)


class ReopenIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=1000))


class HazardTransitionOut(Schema):
    from_state = fields.Enum(HazardState, by_value=True)
    to_state = fields.Enum(HazardState, by_value=True)
    action = fields.String()
    action_label = fields.Function(lambda t: label(HAZARD_ACTION_LABELS, t.action))
    actor_id = fields.Integer(allow_none=True)
    at = Timestamp()
    note = fields.String()
