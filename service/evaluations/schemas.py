"""Input and output shapes of staff evaluations, their ratings and the missing-evaluation list."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Timestamp
from service.evaluations.models import RATER_GROUP_LABELS, RaterGroup
from service.staff.models import STAFF_ROLE_LABELS, StaffRole


class RatingIn(Schema):
    """One rater's scores ``{dimension_code: number}``; the name defaults to the rating staff member's."""

    rater_group = fields.Enum(RaterGroup, by_value=True, required=True)
    rater_name = fields.String(load_default="", validate=validate.Length(max=40))
    rater_staff_id = fields.Integer(load_default=None, allow_none=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Decimal(), required=True)


class EvaluationIn(Schema):
    staff_id = fields.Integer(required=True)
    period_id = fields.Integer(required=True)
    ratings = fields.List(fields.Nested(RatingIn), required=True)


class EvaluationPatch(Schema):
    """The new ratings; they replace all the old ones."""

    ratings = fields.List(fields.Nested(RatingIn), required=True)


class EvaluationListArgs(Schema):
    period_id = fields.Integer()
    staff_id = fields.Integer()
    school_id = fields.Integer()


class RatingOut(Schema):
    id = fields.Integer()
    rater_group = fields.Enum(RaterGroup, by_value=True)
    rater_group_label = fields.Function(lambda r: label(RATER_GROUP_LABELS, r.rater_group))
    rater_name = fields.String()
    rater_staff_id = fields.Integer(allow_none=True)
    scores = fields.Dict(keys=fields.String(), values=fields.String())
    created_at = Timestamp()


class EvaluationOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    staff_id = fields.Integer()
    staff_name = fields.Function(lambda e: e.staff.name)
    period_id = fields.Integer()
    period = fields.Function(lambda e: e.period.code)
    report_id = fields.Integer()
    rubric_version_id = fields.Integer()
    # Formula 4 rounds a person score only for display: ``score`` is what every page and export shows,
    # ``score_exact`` what every computation uses (staff area, person means, the ≥ 95 threshold).
    score = fields.Decimal(
        attribute="score_shown",
        as_string=True,
        metadata={"description": "person score as shown: 0–100, 2 decimals, half up"},
    )
    score_exact = fields.Decimal(
        attribute="score",
        as_string=True,
        metadata={"description": "person score as kept and computed with: unrounded, to 10 decimals"},
    )
    dimension_scores = fields.Dict(keys=fields.String(), values=fields.String())
    ratings = fields.List(fields.Nested(RatingOut))
    created_at = Timestamp()


class MissingStaffOut(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.Enum(StaffRole, by_value=True)
    role_label = fields.Function(lambda s: label(STAFF_ROLE_LABELS, s.role))
    hire_date = fields.Date()
