"""Input and output shapes of monthly reports, transitions and completeness."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Timestamp
from service.reports.models import REPORT_STATE_LABELS, ReportState
from service.reports.status import status_label


class ReportOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    period_id = fields.Integer()
    period = fields.Function(lambda r: r.period.code)
    state = fields.Enum(ReportState, by_value=True)
    state_label = fields.Function(lambda r: label(REPORT_STATE_LABELS, r.state))
    first_submitted_at = Timestamp(allow_none=True)
    submitted_at = Timestamp(allow_none=True)
    late = fields.Boolean()
    return_reason = fields.String()
    reviewed_at = Timestamp(allow_none=True)
    accepted_at = Timestamp(allow_none=True)


class ReportIn(Schema):
    """``school_id`` only from scopes with several schools; a school admin's is implied."""

    period_id = fields.Integer(required=True)
    school_id = fields.Integer()


class ReportListArgs(Schema):
    period_id = fields.Integer()
    state = fields.Enum(ReportState, by_value=True)


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=1000))


class TransitionOut(Schema):
    from_state = fields.Enum(ReportState, by_value=True)
    to_state = fields.Enum(ReportState, by_value=True)
    action = fields.String()
    actor_id = fields.Integer(allow_none=True)
    at = Timestamp()
    note = fields.String()


class CompletenessArgs(Schema):
    period_id = fields.Integer(required=True)


class CompletenessRow(Schema):
    school_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    cluster_id = fields.Integer()
    report_id = fields.Integer(allow_none=True)
    state = fields.Enum(ReportState, by_value=True, allow_none=True)
    first_submitted_at = Timestamp(allow_none=True)
    status = fields.String(metadata={"description": "missing | draft | on_time | late"})
    month_status = fields.String(
        metadata={
            "description": "accepted | submitted | returned | overdue | missing | not_due "
            "(service/reports/status.py: never missing before the lock)"
        }
    )
    month_status_label = fields.Function(lambda r: status_label(r["month_status"]))
