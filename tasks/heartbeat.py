"""The heartbeat: beat sends it every minute, a worker runs it (service/jobs/heartbeat.py).

The send time travels in the task's own arguments (``sent_at``, stamped by :meth:`HeartbeatTask.apply_async`
when the sender does not give one), and the sender records the send once the broker has taken the
message: the send proves beat alive even while no worker runs; the run proves a worker.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery import shared_task

from service.core.timeutil import parse_instant, utcnow
from service.db import unit_of_work
from service.jobs import heartbeat
from tasks.base import TenantTask
from tenants import TenantScope, use_scope

log = logging.getLogger(__name__)


class HeartbeatTask(TenantTask):
    abstract = True

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        kwargs = dict(kwargs or {})
        sent = utcnow()
        kwargs.setdefault("sent_at", sent.isoformat())
        result = super().apply_async(args, kwargs, **options)
        if not self.app.conf.task_always_eager:  # eagerly, the run below records the send too
            _record_sent(self.app.flask_app, sent)
        return result


def _record_sent(flask_app: Any, sent: Any) -> None:
    """Record beat's send in its own short transaction; never let a database blink stop beat."""
    try:
        with unit_of_work() as session, flask_app.app_context(), use_scope(TenantScope.bureau()):
            heartbeat.record_sent(sent)
            session.commit()
    except Exception:
        log.exception("could not record the heartbeat's send")


@shared_task(bind=True, base=HeartbeatTask, name=heartbeat.HEARTBEAT_TASK, ignore_result=True)
def beat(self: Any, sent_at: str | None = None) -> dict[str, Any]:
    """Record that a worker ran the heartbeat beat sent at ``sent_at`` (sent in the bureau scope)."""
    ran = utcnow()
    sent = parse_instant(sent_at) if sent_at else None
    host = str(getattr(self.request, "hostname", "") or socket.gethostname())
    heartbeat.record_run(sent_at=sent, ran_at=ran, host=host)
    return {"sent_at": sent_at, "ran_at": ran.isoformat(), "host": host}
