"""The outbox: Celery tasks queued during a transaction are sent only after it commits.

A rolled-back request or job sends nothing; a committed one sends each queued task exactly once
(the worker re-fetches rows by id, so it always sees the committed state).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from service.db import HouqinSession, db
from tenants import TenantScope, TenantViolation, current_scope

log = logging.getLogger(__name__)
_KEY = "houqin_outbox"


def enqueue_task(name: str, *, scope: TenantScope, system: bool = False, **kwargs: Any) -> None:
    """Queue task ``name`` with JSON ``kwargs`` for after the current transaction commits.

    The task's scope must lie within the caller's: a school cannot start work for another school.
    ``system=True`` is for follow-up work the domain itself decides on (a domain-event subscriber
    queueing the district-wide re-ranking after an inspector upholds an appeal): the task and its
    arguments come from our code, not from the caller, so the caller's narrower scope does not limit it.
    """
    caller = current_scope()
    if system:
        pass
    elif not (caller.is_bureau or (not scope.is_bureau and scope.school_ids <= caller.school_ids)):
        raise TenantViolation(f"cannot queue a task for {scope} from {caller}")
    session = db.session()
    if not session.in_transaction():
        session.begin()  # tie the queued task to a transaction, so a rollback drops it
    session.info.setdefault(_KEY, []).append((name, {"scope": scope.to_json(), **kwargs}))


def pending(session: Session) -> list[tuple[str, dict[str, Any]]]:
    return list(session.info.get(_KEY, []))


def dispatch(name: str, kwargs: dict[str, Any]) -> None:
    """Send one task through the app's Celery (eager mode runs it here, in its own session)."""
    celery = current_app.extensions["celery"]
    celery.signature(name, kwargs=kwargs).apply_async()


@event.listens_for(HouqinSession, "after_commit")
def _send_after_commit(session: Session) -> None:
    # SQLAlchemy emits after_commit for a SAVEPOINT's release too (a page's refusals() wraps the
    # operation in one): nothing is committed yet then, and a task sent now would not see the rows.
    if session.in_nested_transaction():
        return
    queued = session.info.pop(_KEY, [])
    for name, kwargs in queued:
        try:
            dispatch(name, kwargs)
        except Exception:  # a broker outage must not turn a committed request into an error page
            log.exception("could not send task %s", name)


@event.listens_for(HouqinSession, "after_transaction_end")
def _drop_unsent(session: Session, transaction: Any) -> None:
    """A transaction that ended without commit (rollback, close) takes its queued tasks with it."""
    if transaction.parent is None:
        session.info.pop(_KEY, None)
