"""Input and output shapes of periods and unlock requests."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Range, Timestamp
from service.periods.models import UNLOCK_STATE_LABELS, UnlockState


class PeriodOut(Schema):
    id = fields.Integer()
    code = fields.String()
    year = fields.Integer()
    month = fields.Integer()
    deadline = fields.Date()
    lock_days = fields.Integer()
    locks_on = fields.Date()


class PeriodIn(Schema):
    year = fields.Integer(required=True, validate=Range(min=2000, max=2100))
    month = fields.Integer(required=True, validate=Range(min=1, max=12))
    deadline = fields.Date(load_default=None)
    lock_days = fields.Integer(load_default=10, validate=Range(min=0, max=60))


class PeriodPatch(Schema):
    deadline = fields.Date()
    lock_days = fields.Integer(validate=Range(min=0, max=60))


class UnlockRequestIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=1000))


class UnlockDecisionIn(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class UnlockRequestOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    period_id = fields.Integer()
    reason = fields.String()
    state = fields.Enum(UnlockState, by_value=True)
    state_label = fields.Function(lambda r: label(UNLOCK_STATE_LABELS, r.state))
    requested_at = Timestamp()
    decided_at = Timestamp(allow_none=True)
    decision_note = fields.String()
    unlocked_until = fields.Date(allow_none=True)


class UnlockListArgs(Schema):
    state = fields.Enum(UnlockState, by_value=True)
    period_id = fields.Integer()
