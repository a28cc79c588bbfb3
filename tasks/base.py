"""The base class of every Houqin task.

A task must be sent with an explicit ``scope`` keyword (a :class:`tenants.TenantScope` in JSON form:
one school, a set of schools or the bureau). A task sent without one fails before touching the
database. Each run gets the Flask app context, the scope, and its own session, which is committed
when the task returns and rolled back and removed otherwise. Rows are passed by id and re-fetched.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from service.core.celery import max_countdown
from service.db import unit_of_work
from service.jobs.operations import AlreadyClaimed
from tenants import MissingTenantScope, TenantScope, use_scope


class TenantTask(Task):
    abstract = True
    typing = False  # Celery's signature check would reject ``scope``; apply_async checks it instead

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Refuse to send a task without a valid scope (the worker checks again on receipt)."""
        TenantScope.from_json((kwargs or {}).get("scope"))
        return super().apply_async(args, kwargs, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if "scope" not in kwargs:
            raise MissingTenantScope(f"task {self.name} was sent without a tenant scope")
        scope = TenantScope.from_json(kwargs.pop("scope"))
        flask_app = self.app.flask_app
        # The unit of work is entered first so that the app context's teardown (which removes the
        # current session) removes this task's session - not a request's, when run eagerly.
        with unit_of_work() as session, flask_app.app_context(), use_scope(scope):
            try:
                result = self.run(*args, **kwargs)
            except AlreadyClaimed as claimed:
                session.rollback()
                return self._come_back_later(claimed, scope, args, kwargs)
            session.commit()
            return result

    def _come_back_later(self, claimed: AlreadyClaimed, scope: TenantScope, args: Any, kwargs: Any) -> Any:
        """Another attempt holds the job run (or it succeeded): run nothing now. While the holder's
        lease lasts, send this message again with a countdown bounded by the broker's visibility
        timeout; if the holder died, the lease runs out and the next try claims the run."""
        if claimed.retry_after is None or self.app.conf.task_always_eager:
            return {"skipped": str(claimed)}
        countdown = min(int(claimed.retry_after) + 1, max_countdown(self.app.flask_app.config))
        raise self.retry(
            args=args, kwargs={**kwargs, "scope": scope.to_json()}, countdown=countdown, max_retries=None
        )
