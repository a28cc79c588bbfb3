"""The one beat schedule (run exactly one beat process). Times are Asia/Shanghai."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery.schedules import crontab

from service.jobs.heartbeat import BEAT_EVERY, HEARTBEAT_EXPIRES, HEARTBEAT_TASK
from tenants import TenantScope

BEAT_SCHEDULE = {
    "nightly-certificate-warnings": {
        "task": "tasks.staff.recompute_certificate_warnings",
        "schedule": crontab(hour=1, minute=30),
        "kwargs": {"scope": TenantScope.bureau().to_json()},
    },
    # DHIS2's lesson: acceptance already re-ranks incrementally; the nightly run only catches what no
    # event announced (a deadline moved, a hazard went overdue at midnight, a rule changed).
    "nightly-open-period-rankings": {
        "task": "tasks.rankings.recompute_open_periods",
        "schedule": crontab(hour=2, minute=0),
        "kwargs": {"scope": TenantScope.bureau().to_json()},
    },
    # The jobs page's heartbeat line (service/jobs/heartbeat.py): sent proves beat, run proves a worker.
    "heartbeat": {
        "task": HEARTBEAT_TASK,
        "schedule": BEAT_EVERY.total_seconds(),
        "kwargs": {"scope": TenantScope.bureau().to_json()},
        "options": {"expires": HEARTBEAT_EXPIRES},
    },
    # Notices (service/notices): creates due runs under unique keys, takes back stale claims, re-queues
    # what the broker lost. A second beat sending this too creates nothing twice.
    "notices-tick": {
        "task": "tasks.notices.tick",
        "schedule": 120.0,
        "kwargs": {"scope": TenantScope.bureau().to_json()},
        "options": {"expires": 110},
    },
}


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """:data:`BEAT_SCHEDULE` with the notices tick every ``NOTICES_TICK_SECONDS`` (its message expires
    a little before the next one is sent, so a backlog never piles up ticks)."""
    every = float(config.get("NOTICES_TICK_SECONDS") or 120.0)
    schedule = {name: dict(entry) for name, entry in BEAT_SCHEDULE.items()}
    schedule["notices-tick"]["schedule"] = every
    schedule["notices-tick"]["options"] = {"expires": max(1.0, every - 10) if every > 20 else every}
    return schedule
