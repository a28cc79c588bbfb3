"""Ranking jobs: thin Celery wrappers around :mod:`service.rankings.jobs`, each inside a JobRun.

The run key is the Celery task id, so a message redelivered after a worker died claims the same run
row (attempts + 1) and recomputes the same result; nothing is duplicated (upserts, hash-identified
snapshots). Sent with the bureau scope: ranks compare every school.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from celery import shared_task

from service.jobs.operations import track
from service.rankings import jobs
from tasks.base import TenantTask


def _key(task: Any, run_key: str | None, fallback: str) -> str:
    return run_key or getattr(task.request, "id", None) or fallback


@shared_task(bind=True, base=TenantTask, name="tasks.rankings.recompute_period")
def recompute_period(self: Any, period_id: int, run_key: str | None = None) -> dict:
    params = {"period_id": period_id}
    with track(_key(self, run_key, f"period-{period_id}"), "recompute_period", params) as progress:
        progress.result = jobs.recompute_period(period_id, progress=progress, job_run_id=progress.run_id)
    return progress.result


@shared_task(bind=True, base=TenantTask, name="tasks.rankings.recompute_school_month")
def recompute_school_month(self: Any, school_id: int, period_id: int, run_key: str | None = None) -> dict:
    params = {"school_id": school_id, "period_id": period_id}
    key = _key(self, run_key, f"school-month-{school_id}-{period_id}")
    with track(key, "recompute_school_month", params) as progress:
        progress.result = jobs.recompute_school_month(
            school_id, period_id, progress=progress, job_run_id=progress.run_id
        )
    return progress.result


@shared_task(bind=True, base=TenantTask, name="tasks.rankings.recompute_open_periods")
def recompute_open_periods(self: Any, today: str | None = None, run_key: str | None = None) -> dict:
    on = date.fromisoformat(today) if today else None
    key = _key(self, run_key, f"nightly-{today}")
    with track(key, "recompute_open_periods", {"today": today}) as progress:
        progress.result = jobs.recompute_open_periods(on, progress=progress, job_run_id=progress.run_id)
    return progress.result
