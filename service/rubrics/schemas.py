"""Input and output shapes of rubrics, versions, sections and items.

Points are exact decimals and travel as strings with two places ("5.00"), so no client ever sees a
binary-float 0.1 + 0.2.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Range, Timestamp
from service.rubrics.models import (
    ITEM_KIND_LABELS,
    RUBRIC_KIND_LABELS,
    VERSION_STATUS_LABELS,
    ItemKind,
    Rubric,
    RubricKind,
    VersionStatus,
)

MAX_POINTS = 100


def points_out(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=2, as_string=True, **kwargs)


def points_in(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=2, validate=Range(min=0, max=MAX_POINTS), **kwargs)


def _version_of(rubric: Rubric, status: VersionStatus) -> Any:
    return next((v for v in rubric.versions if v.status is status), None)


class RubricOut(Schema):
    id = fields.Integer()
    kind = fields.Enum(RubricKind, by_value=True)
    kind_label = fields.Function(lambda r: label(RUBRIC_KIND_LABELS, r.kind))
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    current_version_id = fields.Function(
        lambda r: getattr(_version_of(r, VersionStatus.PUBLISHED), "id", None)
    )
    current_version = fields.Function(
        lambda r: getattr(_version_of(r, VersionStatus.PUBLISHED), "version", None)
    )
    draft_version_id = fields.Function(lambda r: getattr(_version_of(r, VersionStatus.DRAFT), "id", None))


class ItemOut(Schema):
    id = fields.Integer()
    section_id = fields.Integer()
    section_code = fields.Function(lambda i: i.section.code)
    code = fields.String()
    text = fields.String()
    text_en = fields.String()
    kind = fields.Enum(ItemKind, by_value=True)
    kind_label = fields.Function(lambda i: label(ITEM_KIND_LABELS, i.kind))
    deduction = points_out()
    cap = points_out(allow_none=True)
    max_score = points_out(allow_none=True)
    unit = fields.String()
    na_allowed = fields.Boolean()
    key_fails_on = fields.String(allow_none=True)
    computed = fields.Boolean()
    position = fields.Integer()


class SectionOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    max_points = points_out()
    position = fields.Integer()
    items = fields.List(fields.Nested(ItemOut))


class VersionSummaryOut(Schema):
    id = fields.Integer()
    rubric_id = fields.Integer()
    version = fields.Integer()
    status = fields.Enum(VersionStatus, by_value=True)
    status_label = fields.Function(lambda v: label(VERSION_STATUS_LABELS, v.status))
    created_at = Timestamp()
    published_at = Timestamp(allow_none=True)
    published_by_id = fields.Integer(allow_none=True)
    note = fields.String()


class VersionOut(VersionSummaryOut):
    kind = fields.Function(lambda v: v.rubric.kind.value)
    total_points = points_out()
    settings = fields.Dict(keys=fields.String())
    sections = fields.List(fields.Nested(SectionOut))


class NewVersionIn(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class SectionPatch(Schema):
    """One section of a draft, found by its code."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    name = fields.String(validate=validate.Length(min=1, max=120))
    name_en = fields.String(validate=validate.Length(max=200))
    max_points = points_in()
    position = fields.Integer(validate=Range(min=0, max=1000))


class VersionPatch(Schema):
    note = fields.String(validate=validate.Length(max=2000))
    settings = fields.Dict(keys=fields.String())
    sections = fields.List(fields.Nested(SectionPatch))


class ItemIn(Schema):
    section_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    text_en = fields.String(load_default="", validate=validate.Length(max=2000))
    kind = fields.Enum(ItemKind, by_value=True, load_default=ItemKind.GENERAL)
    deduction = points_in(load_default=Decimal(0))
    cap = points_in(load_default=None, allow_none=True)
    max_score = points_in(load_default=None, allow_none=True)
    unit = fields.String(load_default="", validate=validate.Length(max=16))
    na_allowed = fields.Boolean(load_default=False)
    key_fails_on = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    computed = fields.Boolean(load_default=False)
    position = fields.Integer(validate=Range(min=0, max=1000))


class ItemPatch(ItemIn):
    """Every field optional (the API instantiates it with ``partial=True``)."""
