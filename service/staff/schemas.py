"""Input and output shapes of the staff roster and certificate warnings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.core.labels import label
from service.core.schemas import Timestamp
from service.staff.models import (
    CONTRACT_TYPE_LABELS,
    STAFF_ROLE_LABELS,
    STAFF_VETO_LABELS,
    WARNING_KIND_LABELS,
    ContractType,
    StaffRole,
    StaffVetoKind,
    WarningKind,
)


class StaffOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    name = fields.String()
    gender = fields.String()
    role = fields.Enum(StaffRole, by_value=True)
    role_label = fields.Function(lambda s: label(STAFF_ROLE_LABELS, s.role))
    contract_type = fields.Enum(ContractType, by_value=True)
    contract_type_label = fields.Function(lambda s: label(CONTRACT_TYPE_LABELS, s.contract_type))
    hire_date = fields.Date()
    phone = fields.String()
    health_cert_no = fields.String()
    health_cert_expiry = fields.Date(allow_none=True)
    active = fields.Boolean()


class StaffIn(Schema):
    """``school_id`` is accepted only from scopes with several schools; a school admin's is implied."""

    school_id = fields.Integer()
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    gender = fields.String(load_default="", validate=validate.OneOf(["", "男", "女"]))
    role = fields.Enum(StaffRole, by_value=True, required=True)
    contract_type = fields.Enum(ContractType, by_value=True, required=True)
    hire_date = fields.Date(required=True)
    phone = fields.String(load_default="", validate=validate.Length(max=30))
    health_cert_no = fields.String(load_default="", validate=validate.Length(max=40))
    health_cert_expiry = fields.Date(load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)


class StaffPatch(StaffIn):
    """Every field optional; a staff member never moves to another school."""

    class Meta:
        exclude = ("school_id",)


class StaffListArgs(Schema):
    school_id = fields.Integer()
    active = fields.Boolean()


class CertificateWarningOut(Schema):
    staff_id = fields.Integer()
    staff_name = fields.Function(lambda w: w.staff.name)
    kind = fields.Enum(WarningKind, by_value=True)
    kind_label = fields.Function(lambda w: label(WARNING_KIND_LABELS, w.kind))
    expires_on = fields.Date(allow_none=True)
    computed_on = fields.Date()


class RecomputeAccepted(Schema):
    queued = fields.Boolean()
    task = fields.String()


class StaffVetoIn(Schema):
    kind = fields.Enum(StaffVetoKind, by_value=True, required=True)
    occurred_on = fields.Date(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class StaffVetoOut(Schema):
    id = fields.Integer()
    staff_id = fields.Integer()
    school_id = fields.Integer()
    kind = fields.Enum(StaffVetoKind, by_value=True)
    kind_label = fields.Function(lambda v: label(STAFF_VETO_LABELS, v.kind))
    occurred_on = fields.Date()
    ends_on = fields.Date(metadata={"description": "the first day the veto no longer bars the award"})
    note = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)
    recorded_by_bureau = fields.Boolean(
        metadata={"description": "recorded by the bureau: only the bureau can withdraw it"}
    )
    created_at = Timestamp()
