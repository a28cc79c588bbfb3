"""Builds the Celery app from the Flask config (the Celery object lives in ``app.extensions``).

The task modules are named in ``include`` so the service can send tasks by name without importing
``tasks`` (which depends on ``service``, not the other way round).
"""

from __future__ import annotations

from typing import Any

from celery import Celery

TASK_MODULES = ["tasks.staff", "tasks.rankings", "tasks.commendations", "tasks.heartbeat", "tasks.notices"]
LONGEST_TASK_SECONDS = 3600
# Redis redelivers a message nobody acknowledged after this many seconds. It must exceed the longest
# task, or a slow task runs twice at once. ``CELERY_VISIBILITY_TIMEOUT`` overrides it (a test that
# kills a worker uses a few seconds so the redelivery comes quickly).
DEFAULT_VISIBILITY_TIMEOUT = 2 * LONGEST_TASK_SECONDS
# The longest countdown any task is sent with (a retry's backoff): an ETA or countdown longer than the
# visibility timeout makes Redis hand the waiting message to a second worker (Superset's duplicates).
MAX_COUNTDOWN_SECONDS = 600


def visibility_timeout(config: Any) -> int:
    return int(config.get("CELERY_VISIBILITY_TIMEOUT") or DEFAULT_VISIBILITY_TIMEOUT)


def max_countdown(config: Any) -> int:
    """The bound on every countdown: well inside the visibility timeout; the rest waits for beat."""
    return max(1, min(MAX_COUNTDOWN_SECONDS, visibility_timeout(config) // 2))


def init_celery(app: Any) -> Celery:
    celery = Celery(app.import_name, include=TASK_MODULES, set_as_current=True)
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        result_backend=app.config["CELERY_RESULT_BACKEND"],
        task_always_eager=app.config["CELERY_ALWAYS_EAGER"],
        task_eager_propagates=app.config.get("CELERY_EAGER_PROPAGATES", False),
        task_default_queue=app.config["CELERY_QUEUE"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,  # a task killed mid-run is redelivered; tasks are idempotent
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A pool process whose resident memory passed this after a task is replaced (KB): rendering
        # PDFs with the CJK fonts grows a process over hundreds of documents (docs/performance.md).
        worker_max_memory_per_child=int(app.config.get("CELERY_MAX_MEMORY_PER_CHILD_KB") or 300_000),
        task_time_limit=LONGEST_TASK_SECONDS,
        task_soft_time_limit=LONGEST_TASK_SECONDS - 60,
        # Redis redelivers unacked messages after this (see DEFAULT_VISIBILITY_TIMEOUT).
        broker_transport_options={
            "visibility_timeout": visibility_timeout(app.config),
            **(app.config.get("CELERY_BROKER_TRANSPORT_OPTIONS") or {}),
        },
        result_backend_transport_options={"visibility_timeout": visibility_timeout(app.config)},
        result_expires=7 * 24 * 3600,
        timezone=app.config["TIMEZONE"],
        enable_utc=True,
        broker_connection_retry_on_startup=True,
    )
    celery.flask_app = app  # type: ignore[attr-defined]
    if celery.conf.task_always_eager:
        celery.loader.import_default_modules()
    app.extensions["celery"] = celery
    return celery
