"""The three ranking jobs, as plain functions (the Celery tasks in ``tasks/rankings.py`` call these).

* :func:`recompute_school_month` - after a report is accepted or reopened: the one school-month's
  scores, then the ranks of its month, term and school year (ranks depend on every school, so they are
  recomputed whole - set-based, cheap).
* :func:`recompute_period` - every school of one period, then the same three rankings.
* :func:`recompute_open_periods` - the nightly job: every period not yet locked on ``today``.

Each holds a transaction-level advisory lock (PostgreSQL) so two workers never rank at once, writes
with upserts and immutable, hash-identified snapshots, and can be re-run after a crash: a rolled-back
run leaves nothing, a repeated run writes nothing new when nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.core.errors import DomainError
from service.core.outbox import enqueue_task
from service.core.timeutil import today_shanghai
from service.db import db
from service.jobs import operations as job_runs
from service.periods.models import Period
from service.rankings import engine
from service.rankings.calendar import targets_containing
from service.scoring.engine import current_basis, score_period
from tenants import TenantScope

ProgressFn = Callable[[int, int, str], None]
RECOMPUTE_TASK = "tasks.rankings.recompute_period"


def _noop(done: int, total: int, step: str = "") -> None:
    return None


def _rank_targets(
    period: Period,
    basis: Any,
    progress: ProgressFn,
    done: int,
    total: int,
    job_run_id: int | None,
    today: date,
) -> dict[str, Any]:
    snapshots: dict[str, Any] = {}
    for target in targets_containing(period.year, period.month):
        progress(done, total, f"rank {target.kind.value} {target.key}")
        snap = engine.build_snapshot(target, basis, job_run_id=job_run_id, as_of=today)
        done += 1
        if snap is not None:
            snapshots[f"{target.kind.value}:{target.key}"] = {
                "id": snap.id,
                "payload_hash": snap.payload_hash,
            }
    progress(done, total, "done")
    return snapshots


def recompute_period(
    period_id: int,
    *,
    progress: ProgressFn | None = None,
    job_run_id: int | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Score every active school for ``period_id`` and rank its month, term and year (as of ``today``,
    the Beijing date by default: a term counts the months due by then)."""
    progress = progress or _noop
    today = today or today_shanghai()
    period = db.session.get(Period, period_id)
    if period is None:
        raise LookupError(f"no period {period_id}")
    engine.lock()
    basis = current_basis()
    total = 1 + len(targets_containing(period.year, period.month))
    progress(0, total, f"score {period.code}")
    score_period(period_id, basis=basis)
    snapshots = _rank_targets(period, basis, progress, 1, total, job_run_id, today)
    return {"period": period.code, "snapshots": snapshots}


def recompute_school_month(
    school_id: int,
    period_id: int,
    *,
    progress: ProgressFn | None = None,
    job_run_id: int | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The incremental job: one school's month, then the three rankings that contain it."""
    progress = progress or _noop
    today = today or today_shanghai()
    period = db.session.get(Period, period_id)
    if period is None:
        raise LookupError(f"no period {period_id}")
    engine.lock()
    basis = current_basis()
    total = 1 + len(targets_containing(period.year, period.month))
    progress(0, total, f"score school {school_id} {period.code}")
    score_period(period_id, [school_id], basis=basis)
    snapshots = _rank_targets(period, basis, progress, 1, total, job_run_id, today)
    return {"period": period.code, "school_id": school_id, "snapshots": snapshots}


def open_periods(today: date) -> list[Period]:
    rows = db.session.scalars(select(Period).order_by(Period.year, Period.month))
    return [p for p in rows if not p.is_locked(today)]


def recompute_open_periods(
    today: date | None = None, *, progress: ProgressFn | None = None, job_run_id: int | None = None
) -> dict[str, Any]:
    """Nightly: recompute every period still open on ``today`` (Beijing date), oldest first."""
    progress = progress or _noop
    today = today or today_shanghai()
    periods = open_periods(today)
    out = {}
    for index, period in enumerate(periods):
        progress(index, len(periods), f"period {period.code}")
        out[period.code] = recompute_period(period.id, job_run_id=job_run_id, today=today)["snapshots"]
    progress(len(periods), len(periods), "done")
    return {"periods": out}


def queue_recompute(period_code: str, *, requested_by: str = "") -> tuple[int, str]:
    """Queue :func:`recompute_period` of the month ``period_code`` (``2026-03``) in the background.

    The job run is recorded as queued at once (so the API and the jobs page can follow it by id before
    a worker picks it up), and the task is sent through the outbox after the caller's commit. Returns
    ``(job run id, run key)``; 422 on ``period`` when the bureau has opened no such month. Bureau scope.
    """
    year, month = (int(p) for p in period_code.split("-"))
    period = db.session.scalars(select(Period).where(Period.year == year, Period.month == month)).first()
    if period is None:
        raise DomainError({"period": [_("No reporting period %(period)s.", period=period_code)]})
    run_key = f"recompute-{period.code}-{uuid.uuid4().hex[:12]}"
    run_id = job_runs.queue(run_key, "recompute_period", {"period_id": period.id}, requested_by=requested_by)
    enqueue_task(RECOMPUTE_TASK, scope=TenantScope.bureau(), period_id=period.id, run_key=run_key)
    return run_id, run_key
