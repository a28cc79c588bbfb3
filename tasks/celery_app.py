"""The worker and beat entry point: ``celery -A tasks.celery_app worker`` / ``beat``.

Importing this module builds the Flask app (configuration from the environment) and exposes its
Celery object; without a real ``SECRET_KEY`` outside the embedded mode the process exits with that
message (status 1) instead of running jobs for an app that would not start. A forked worker process disposes the engine's inherited pool so no connection is
shared across processes.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from service import create_app
from service.bulletins.render import preload, release_pdf_setups
from service.config import InsecureSecretKey
from service.db import ENGINE_KEY
from tasks.schedule import beat_schedule

try:
    flask_app = create_app()
except InsecureSecretKey as exc:
    raise SystemExit(f"celery: {exc}") from None
celery = flask_app.extensions["celery"]
celery.conf.beat_schedule = beat_schedule(flask_app.config)
celery.loader.import_default_modules()


@worker_init.connect
def _preload(**_: Any) -> None:
    """Before the pool forks: what every rendering process would otherwise load on its first card."""
    with flask_app.app_context():
        preload(flask_app)


@worker_process_init.connect
def _fresh_pool_in_child(**_: Any) -> None:
    flask_app.extensions[ENGINE_KEY].dispose(close=False)


@worker_process_shutdown.connect
def _release_pdf_fonts(**_: Any) -> None:
    """A pool process ends with ``os._exit`` (no atexit): remove the PDF fonts' temporary copies."""
    release_pdf_setups()
