"""Input and output shapes of appeals and their transitions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.appeals.models import APPEAL_ACTION_LABELS, APPEAL_STATE_LABELS, AppealState
from service.core.labels import label
from service.core.schemas import Timestamp
from service.inspections.models import (
    INSPECTION_KIND_LABELS,
    InspectionKind,
)


class AppealInspectionOut(Schema):
    """What the appeal is about, so a list of appeals reads without a second request."""

    id = fields.Integer()
    kind = fields.Enum(InspectionKind, by_value=True)
    kind_label = fields.Function(lambda i: label(INSPECTION_KIND_LABELS, i.kind))
    period_id = fields.Integer()
    inspected_on = fields.Date()
    inspector_name = fields.String()
    inspector_user_id = fields.Integer(allow_none=True)
    score = fields.Decimal(places=1, as_string=True)
    excluded = fields.Boolean()
    excluded_reason = fields.String()


class AppealOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    inspection_id = fields.Integer()
    inspection = fields.Nested(AppealInspectionOut)
    reason = fields.String()
    state = fields.Enum(AppealState, by_value=True)
    state_label = fields.Function(lambda a: label(APPEAL_STATE_LABELS, a.state))
    filed_by_id = fields.Integer(allow_none=True)
    filed_at = Timestamp()
    due_on = fields.Date(metadata={"description": "the last day the appeal could be filed"})
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decision_note = fields.String()


class AppealIn(Schema):
    inspection_id = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class AppealListArgs(Schema):
    state = fields.Enum(AppealState, by_value=True)
    inspection_id = fields.Integer()


class DecisionIn(Schema):
    outcome = fields.String(
        required=True, validate=validate.OneOf([AppealState.UPHELD.value, AppealState.REJECTED.value])
    )
    note = fields.String(required=True, validate=validate.Length(max=1000))


class AppealTransitionOut(Schema):
    from_state = fields.Enum(AppealState, by_value=True, allow_none=True)
    to_state = fields.Enum(AppealState, by_value=True)
    action = fields.String()
    action_label = fields.Function(lambda t: label(APPEAL_ACTION_LABELS, t.action))
    actor_id = fields.Integer(allow_none=True)
    at = Timestamp()
    note = fields.String()
