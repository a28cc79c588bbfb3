"""Audit entries, written automatically for every change to an :class:`Audited` model.

An entry belongs to the school of the changed row (``school_id``), or to nobody for bureau-level
records (periods, rubrics); it sits behind the tenant wall like any school-owned row, so a school
sees the history of its own records and the bureau sees everything.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from tenants import TenantOwned


class Audited:
    """Mixin: changes to rows of this model are recorded in ``audit_entries``.

    ``__audit_exclude__`` names columns whose changes are noise (timestamps the system maintains);
    ``__audit_redact__`` names secrets (a password hash): that they changed is recorded, never the value.
    """

    __audit_exclude__: frozenset[str] = frozenset()
    __audit_redact__: frozenset[str] = frozenset()


class AuditAction(enum.StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


class AuditEntry(TenantOwned, Base):
    __tablename__ = "audit_entries"
    __tenant_nullable__ = True
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        Index("ix_audit_entries_record", "table_name", "row_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
