"""Staff jobs."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from service.staff import operations
from tasks.base import TenantTask


@shared_task(base=TenantTask, name="tasks.staff.recompute_certificate_warnings")
def recompute_certificate_warnings(school_ids: list[int] | None = None, today: str | None = None) -> dict:
    """Recompute health-certificate warnings for ``school_ids`` (default: every school in scope)."""
    on = date.fromisoformat(today) if today else None
    return operations.recompute_certificate_warnings(school_ids, today=on)
