"""The one beat schedule (run exactly one beat process). Times are Asia/Shanghai."""

from __future__ import annotations

from celery.schedules import crontab

from tenants import TenantScope

BEAT_SCHEDULE = {
    "nightly-certificate-warnings": {
        "task": "tasks.staff.recompute_certificate_warnings",
        "schedule": crontab(hour=1, minute=30),
        "kwargs": {"scope": TenantScope.bureau().to_json()},
    },
}
