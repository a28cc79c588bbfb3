"""Records every insert, update and delete of :class:`Audited` rows in the same transaction.

The actor comes from a context variable the request (the signed-in user) or a job sets; jobs
without a person record ``actor_name="system"``. Values are stored as JSON-friendly text: dates in
ISO form, decimals as strings, enums by value.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from service.audit.models import AuditAction, Audited, AuditEntry
from service.core.types import utcnow
from service.db import HouqinSession


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str


SYSTEM = Actor(None, "system")
_actor: ContextVar[Actor] = ContextVar("houqin_audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> Any:
    return _actor.set(actor)


def reset_actor(token: Any) -> None:
    _actor.reset(token)


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


REDACTED = "***"


def _shown(obj: Any, key: str, value: Any) -> Any:
    """A column's value as the trail keeps it: a redacted column only says whether there is one."""
    if key in type(obj).__audit_redact__:
        return None if value is None else REDACTED
    return _plain(value)


def _columns(obj: Any) -> list[str]:
    excluded = type(obj).__audit_exclude__
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in excluded]


def _entry(obj: Any, action: AuditAction, changes: dict[str, Any]) -> dict[str, Any]:
    actor = current_actor()
    school_id = getattr(obj, "school_id", None)
    if type(obj).__tablename__ == "schools":
        school_id = obj.id
    return {
        "school_id": school_id,
        "at": utcnow(),
        "actor_id": actor.user_id,
        "actor_name": actor.name,
        "table_name": type(obj).__tablename__,
        "row_id": obj.id,
        "action": action,
        "changes": changes,
    }


@event.listens_for(HouqinSession, "after_flush")
def _record(session: Session, flush_context: Any) -> None:
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            state = inspect(obj)
            rows.append(
                _entry(
                    obj,
                    AuditAction.INSERT,
                    {k: [None, _shown(obj, k, state.attrs[k].value)] for k in _columns(obj)},
                )
            )
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            state = inspect(obj)
            changes = {}
            for key in _columns(obj):
                hist = state.attrs[key].history
                if hist.has_changes():
                    before = hist.deleted[0] if hist.deleted else None
                    after = hist.added[0] if hist.added else None
                    if before != after:
                        changes[key] = [_shown(obj, key, before), _shown(obj, key, after)]
            if changes:
                rows.append(_entry(obj, AuditAction.UPDATE, changes))
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)


@event.listens_for(Audited, "after_delete", propagate=True)
def _record_delete(mapper: Any, connection: Any, obj: Any) -> None:
    """Deletes are recorded row by row as they are flushed - including orphans a cascade removes,
    which never appear in ``session.deleted``."""
    state = inspect(obj)
    changes = {k: [_shown(obj, k, state.attrs[k].loaded_value), None] for k in _columns(obj)}
    connection.execute(insert(AuditEntry.__table__), [_entry(obj, AuditAction.DELETE, changes)])


def record_change(session: Session, obj: Any, changes: dict[str, list[Any]]) -> None:
    """Record a change the column history cannot see - a many-to-many collection (an inspector's
    clusters) - as an update entry of ``obj``: ``{"cluster_ids": [[1], [1, 2]]}``."""
    if changes:
        session.connection().execute(
            insert(AuditEntry.__table__), [_entry(obj, AuditAction.UPDATE, _plain_changes(changes))]
        )


def _plain_changes(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {k: [_plain(before), _plain(after)] for k, (before, after) in changes.items()}
