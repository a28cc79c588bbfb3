"""Notice jobs: thin wrappers around :mod:`service.notices.operations` (sent in the bureau scope).

``tick`` is beat's (every 2 minutes); ``execute_run`` and ``send_delivery`` are queued by it, by "send
now", by a returned report and by each other. Each claims its row with a conditional UPDATE first, so a
redelivered or duplicated message does nothing. A temporary failure is retried with a countdown no
longer than :func:`service.core.celery.max_countdown` (inside the broker's visibility timeout); longer
waits are left to the tick.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from service.notices import operations
from tasks.base import TenantTask


@shared_task(base=TenantTask, name=operations.TICK_TASK, time_limit=120, soft_time_limit=100)
def tick() -> dict[str, int]:
    return operations.tick()


@shared_task(base=TenantTask, name=operations.EXECUTE_TASK, time_limit=900, soft_time_limit=840)
def execute_run(run_id: int) -> dict[str, Any]:
    return operations.execute_run(run_id)


@shared_task(
    bind=True,
    base=TenantTask,
    name=operations.SEND_TASK,
    time_limit=operations.SEND_TIME_LIMIT,
    soft_time_limit=operations.SEND_TIME_LIMIT - 10,
)
def send_delivery(self: Any, delivery_id: int) -> dict[str, Any]:
    result = operations.send_delivery(delivery_id)
    if result.retry_in:
        # a new message after the commit above (the operation committed the failure)
        self.apply_async(
            kwargs={"delivery_id": delivery_id, "scope": _bureau_json()}, countdown=result.retry_in
        )
    return {"delivery_id": delivery_id, "claimed": result.claimed, "state": result.state}


def _bureau_json() -> dict[str, Any]:
    from tenants import TenantScope

    return TenantScope.bureau().to_json()
