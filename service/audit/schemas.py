"""Output shape of audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import DateTime

from service.audit.models import AuditAction, AuditEntry
from service.core.schemas import Timestamp
from service.core.timeutil import api_timestamp
from service.db import Base


def _changes(entry: AuditEntry) -> dict[str, Any]:
    """``field → [before, after]`` as stored, with timestamps written as every API timestamp is.

    The trail stores a timestamp column's values as ISO text - naive UTC on SQLite, ``+00:00`` on
    PostgreSQL; the column's type (not the text's shape, which a note could imitate) says which
    values are timestamps.
    """
    table = Base.metadata.tables.get(entry.table_name)
    out: dict[str, Any] = {}
    for key, pair in (entry.changes or {}).items():
        column = table.c.get(key) if table is not None else None
        if column is not None and isinstance(column.type, DateTime) and isinstance(pair, list):
            pair = [_timestamp(value) for value in pair]
        out[key] = pair
    return out


def _timestamp(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return api_timestamp(datetime.fromisoformat(value))
    except ValueError:
        return value


class AuditEntryOut(Schema):
    id = fields.Integer()
    at = Timestamp()
    school_id = fields.Integer(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    table_name = fields.String()
    row_id = fields.Integer()
    action = fields.Enum(AuditAction, by_value=True)
    changes = fields.Function(
        _changes, metadata={"description": "field → [before, after]; timestamps as everywhere (+08:00)"}
    )


class AuditArgs(Schema):
    table = fields.String()
    row_id = fields.Integer()
    school_id = fields.Integer()
