"""Re-rank when the data behind a ranking changes: a report accepted or reopened, an appeal upheld.

Each event queues the incremental job for the school-month (after the transaction commits, through the
outbox). The job runs in the bureau scope whoever caused the event, because ranks compare every school;
``RANKINGS_ON_EVENTS = False`` turns this off (the demo seeds a year, then ranks it once).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

from service.core import events
from service.core.outbox import enqueue_task
from tenants import TenantScope

INSPECTION_APPEAL_UPHELD = getattr(events, "INSPECTION_APPEAL_UPHELD", "inspection.appeal_upheld")


def _rerank(school_id: int, period_id: int, **_: Any) -> None:
    if has_app_context() and not current_app.config.get("RANKINGS_ON_EVENTS", True):
        return
    enqueue_task(
        "tasks.rankings.recompute_school_month",
        scope=TenantScope.bureau(),
        system=True,
        school_id=school_id,
        period_id=period_id,
    )


def register() -> None:
    for event in (events.REPORT_ACCEPTED, events.REPORT_REOPENED, INSPECTION_APPEAL_UPHELD):
        events.subscribe(event, _rerank)
