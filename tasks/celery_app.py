"""The worker and beat entry point: ``celery -A tasks.celery_app worker`` / ``beat``.

Importing this module builds the Flask app (configuration from the environment) and exposes its
Celery object. A forked worker process disposes the engine's inherited pool so no connection is
shared across processes.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from service import create_app
from service.db import ENGINE_KEY
from tasks.schedule import BEAT_SCHEDULE

flask_app = create_app()
celery = flask_app.extensions["celery"]
celery.conf.beat_schedule = BEAT_SCHEDULE
celery.loader.import_default_modules()


@worker_process_init.connect
def _fresh_pool_in_child(**_: Any) -> None:
    flask_app.extensions[ENGINE_KEY].dispose(close=False)
