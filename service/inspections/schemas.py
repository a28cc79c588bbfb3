"""Input and output shapes of inspections, their item results and the canteen's monthly facts."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Range, Timestamp
from service.inspections import scoring
from service.inspections.models import (
    GRADE_LABELS,
    INSPECTION_KIND_LABELS,
    INSPECTION_MODE_LABELS,
    ITEM_OUTCOME_LABELS,
    Grade,
    InspectionItemResult,
    InspectionKind,
    InspectionMode,
    ItemOutcome,
)

MAX_OCCURRENCES = 1000


class ItemResultIn(Schema):
    item_id = fields.Integer(required=True)
    result = fields.Enum(ItemOutcome, by_value=True, required=True)
    occurrences = fields.Integer(load_default=0, validate=Range(min=0, max=MAX_OCCURRENCES))
    note = fields.String(load_default="", validate=validate.Length(max=500))


class InspectionIn(Schema):
    """``school_id`` only from scopes with several schools (inspector, bureau); a school admin's is implied.

    ``items`` is the whole list of results for the rubric's entered items; the rubric version is the
    kind's published one at creation and stays with the inspection.
    """

    school_id = fields.Integer()
    kind = fields.Enum(InspectionKind, by_value=True, required=True)
    mode = fields.Enum(InspectionMode, by_value=True, required=True)
    period_id = fields.Integer(required=True)
    inspected_on = fields.Date(required=True)
    inspector_name = fields.String(load_default="", validate=validate.Length(max=64))
    unannounced = fields.Boolean(load_default=False)
    notes = fields.String(load_default="", validate=validate.Length(max=5000))
    items = fields.List(fields.Nested(ItemResultIn), required=True)


class InspectionPatch(Schema):
    """Every field optional; ``items`` replaces the whole list. Kind, mode, school, period and rubric
    version never change (delete and record again instead)."""

    inspected_on = fields.Date()
    inspector_name = fields.String(validate=validate.Length(max=64))
    unannounced = fields.Boolean()
    notes = fields.String(validate=validate.Length(max=5000))
    items = fields.List(fields.Nested(ItemResultIn))


class InspectionListArgs(Schema):
    period_id = fields.Integer()
    kind = fields.Enum(InspectionKind, by_value=True)
    mode = fields.Enum(InspectionMode, by_value=True)
    school_id = fields.Integer()


def _deducted(r: InspectionItemResult) -> str:
    return str(scoring.item_deduction(r.item, scoring.Entry(r.result, r.occurrences)))


class ItemResultOut(Schema):
    item_id = fields.Integer()
    code = fields.Function(lambda r: r.item.code)
    section = fields.Function(lambda r: r.item.section.code)
    item_kind = fields.Function(lambda r: r.item.kind.value)
    result = fields.Enum(ItemOutcome, by_value=True)
    result_label = fields.Function(lambda r: label(ITEM_OUTCOME_LABELS, r.result))
    occurrences = fields.Integer()
    deducted = fields.Function(_deducted, metadata={"description": "points this item took off"})
    note = fields.String()


class InspectionOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    kind = fields.Enum(InspectionKind, by_value=True)
    kind_label = fields.Function(lambda i: label(INSPECTION_KIND_LABELS, i.kind))
    mode = fields.Enum(InspectionMode, by_value=True)
    mode_label = fields.Function(lambda i: label(INSPECTION_MODE_LABELS, i.mode))
    rubric_version_id = fields.Integer()
    rubric_version = fields.Function(lambda i: i.rubric_version.version)
    excluded = fields.Boolean()  # set aside by an upheld appeal: left out of every score
    excluded_reason = fields.String()
    period_id = fields.Integer()
    period = fields.Function(lambda i: i.period.code)
    report_id = fields.Integer(allow_none=True)
    inspected_on = fields.Date()
    inspector_name = fields.String()
    inspector_user_id = fields.Integer(allow_none=True)
    unannounced = fields.Boolean()
    notes = fields.String()
    score = fields.Decimal(places=1, as_string=True)
    key_failed = fields.Integer()
    veto_failed = fields.Integer()
    grade = fields.Enum(Grade, by_value=True, allow_none=True)
    grade_label = fields.Function(lambda i: label(GRADE_LABELS, i.grade) if i.grade is not None else None)
    section_scores = fields.Dict(
        metadata={"description": "{section code: [points, possible]} as decimal strings"}
    )
    created_at = Timestamp()


class InspectionDetailOut(InspectionOut):
    items = fields.List(fields.Nested(ItemResultOut), attribute="item_results")


class CanteenFactsIn(Schema):
    """The whole month at once (PUT replaces). ``meals_served`` counts meal sittings (餐次)."""

    meals_served = fields.Integer(required=True, validate=Range(min=0, max=1_000_000))
    menu_compliant_days = fields.Integer(required=True, validate=Range(min=0, max=31))
    serving_days = fields.Integer(required=True, validate=Range(min=0, max=31))
    leader_accompanied_meals = fields.Integer(required=True, validate=Range(min=0, max=1_000_000))
    sampled_meals = fields.Integer(required=True, validate=Range(min=0, max=1_000_000))
    food_waste_kg = fields.Decimal(
        required=True, places=1, validate=Range(min=Decimal(0), max=Decimal("9999999.9"))
    )


class CanteenFactsOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    period_id = fields.Integer()
    report_id = fields.Integer()
    meals_served = fields.Integer()
    menu_compliant_days = fields.Integer()
    serving_days = fields.Integer()
    leader_accompanied_meals = fields.Integer()
    sampled_meals = fields.Integer()
    food_waste_kg = fields.Decimal(places=1, as_string=True)
    updated_at = Timestamp()
