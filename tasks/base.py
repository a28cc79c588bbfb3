"""The base class of every Houqin task.

A task must be sent with an explicit ``scope`` keyword (a :class:`tenants.TenantScope` in JSON form:
one school, a set of schools or the bureau). A task sent without one fails before touching the
database. Each run gets the Flask app context, the scope, and its own session, which is committed
when the task returns and rolled back and removed otherwise. Rows are passed by id and re-fetched.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from service.db import unit_of_work
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
            result = self.run(*args, **kwargs)
            session.commit()
            return result
