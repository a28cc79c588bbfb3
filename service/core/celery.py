"""Builds the Celery app from the Flask config (the Celery object lives in ``app.extensions``).

The task modules are named in ``include`` so the service can send tasks by name without importing
``tasks`` (which depends on ``service``, not the other way round).
"""

from __future__ import annotations

from typing import Any

from celery import Celery

TASK_MODULES = ["tasks.staff", "tasks.rankings", "tasks.commendations", "tasks.heartbeat"]
LONGEST_TASK_SECONDS = 3600


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
        task_time_limit=LONGEST_TASK_SECONDS,
        task_soft_time_limit=LONGEST_TASK_SECONDS - 60,
        # Redis redelivers unacked messages after this; it must exceed the longest task, or a slow
        # task runs twice at once.
        broker_transport_options={"visibility_timeout": 2 * LONGEST_TASK_SECONDS},
        result_backend_transport_options={"visibility_timeout": 2 * LONGEST_TASK_SECONDS},
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
