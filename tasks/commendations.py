"""Commendation jobs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy import select

from service.accounts.models import User
from service.commendations import operations
from service.db import db
from tasks.base import TenantTask


@shared_task(base=TenantTask, name=operations.PROPOSE_TASK)
def propose(kind: str, key: str, user_id: int | None = None) -> dict[str, Any]:
    """Propose (or re-propose) the candidates of a term or year; sent in the bureau scope.

    Idempotent: a redelivered message recomputes the same candidates and keeps the decisions made.
    """
    user = db.session.scalars(select(User).where(User.id == user_id)).one_or_none() if user_id else None
    row = operations.propose(kind, key, user=user)
    return {"round_id": row.id, "summary": row.summary}
