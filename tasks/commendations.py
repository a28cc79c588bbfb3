"""Commendation jobs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy import select

from service.accounts.models import User
from service.commendations import operations
from service.commendations.models import CommendationRound
from service.db import db
from service.jobs.operations import track
from tasks.base import TenantTask


@shared_task(base=TenantTask, name=operations.PROPOSE_TASK)
def propose(kind: str, key: str, user_id: int | None = None) -> dict[str, Any]:
    """Propose (or re-propose) the candidates of a term or year; sent in the bureau scope.

    Idempotent: a redelivered message recomputes the same candidates and keeps the decisions made.
    """
    user = db.session.scalars(select(User).where(User.id == user_id)).one_or_none() if user_id else None
    row = operations.propose(kind, key, user=user)
    return {"round_id": row.id, "summary": row.summary}


@shared_task(base=TenantTask, name=operations.CERTIFICATES_TASK, bind=True)
def issue_certificates(self: Any, round_id: int) -> dict[str, Any]:
    """Render the certificate PDFs of a published round (queued by publishing; bureau scope), in a
    JobRun whose progress (certificates done / to do) the jobs API shows.

    Idempotent: a redelivered message claims the same run and issues only the certificates still missing.
    """
    key = getattr(self.request, "id", None) or f"certificates-{round_id}"
    with track(key, "issue_certificates", {"round_id": round_id}) as progress:
        row = db.session.get(CommendationRound, round_id)
        if row is None:
            raise LookupError(f"no commendation round {round_id}")
        issued = operations.issue_certificates(row, progress=progress)
        done, total = operations.certificate_counts(row)
        progress.result = {"round_id": round_id, "issued": issued, "certificates": done, "awards": total}
    return progress.result
