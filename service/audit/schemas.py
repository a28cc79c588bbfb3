"""Output shape of audit entries."""

from __future__ import annotations

from marshmallow import Schema, fields

from service.audit.models import AuditAction


class AuditEntryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    school_id = fields.Integer(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    table_name = fields.String()
    row_id = fields.Integer()
    action = fields.Enum(AuditAction, by_value=True)
    changes = fields.Dict(metadata={"description": "field → [before, after]"})


class AuditArgs(Schema):
    table = fields.String()
    row_id = fields.Integer()
    school_id = fields.Integer()
