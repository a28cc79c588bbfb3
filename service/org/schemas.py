"""Input and output shapes of clusters and schools."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Range
from service.org.models import CANTEEN_MODE_LABELS, SCHOOL_TYPE_LABELS, CanteenMode, SchoolType


class ClusterOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    supervisor_id = fields.Integer(allow_none=True)
    supervisor_name = fields.Function(lambda c: c.supervisor.display_name if c.supervisor else None)


class ClusterIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = fields.String(required=True, validate=validate.Length(min=2, max=80))
    supervisor_id = fields.Integer(
        load_default=None, allow_none=True, metadata={"description": "an active inspector's user id"}
    )


class ClusterPatch(ClusterIn):
    """Every field optional on update (the API instantiates it with ``partial=True``)."""


class SchoolOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    type = fields.Enum(SchoolType, by_value=True)
    type_label = fields.Function(lambda s: label(SCHOOL_TYPE_LABELS, s.type))
    enrollment = fields.Integer()
    staff_count = fields.Integer()
    boarding = fields.Boolean()
    canteen_mode = fields.Enum(CanteenMode, by_value=True)
    canteen_mode_label = fields.Function(lambda s: label(CANTEEN_MODE_LABELS, s.canteen_mode))
    cluster_id = fields.Integer()
    principal_name = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()
    address = fields.String()
    active = fields.Boolean()


class SchoolIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    type = fields.Enum(SchoolType, by_value=True, required=True)
    enrollment = fields.Integer(load_default=0, validate=Range(min=0, max=20000))
    staff_count = fields.Integer(load_default=0, validate=Range(min=0, max=2000))
    boarding = fields.Boolean(load_default=False)
    canteen_mode = fields.Enum(CanteenMode, by_value=True, required=True)
    cluster_id = fields.Integer(required=True)
    principal_name = fields.String(load_default="", validate=validate.Length(max=40))
    contact_name = fields.String(load_default="", validate=validate.Length(max=40))
    contact_phone = fields.String(load_default="", validate=validate.Length(max=30))
    address = fields.String(load_default="", validate=validate.Length(max=200))
    active = fields.Boolean(load_default=True)


class SchoolPatch(SchoolIn):
    """Every field optional on update (the API instantiates it with ``partial=True``)."""


class SchoolListArgs(Schema):
    cluster_id = fields.Integer()
    type = fields.Enum(SchoolType, by_value=True)
    active = fields.Boolean()
