"""The jobs page (后台任务) of the bureau: recompute a month from the browser with a live progress bar,
the recent job runs with their state, duration, who asked and their log, and the heartbeat line -
when the scheduler (beat) and a worker were last seen, with a warning when either is silent longer
than its schedule allows (service/jobs/heartbeat.py).

Bureau roles only: the admin recomputes, the official reads. Recomputing is the API's
``POST /api/v1/rankings/recompute``: the same schema, the same operation (the run is recorded as
queued, the task goes through the outbox after the commit). The progress bar is a fragment htmx asks
for every :data:`POLL_SECONDS` seconds while the run is queued or running; without JavaScript the
page says to reload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.labels import label
from service.core.timeutil import utcnow
from service.db import db
from service.jobs import heartbeat
from service.jobs import operations as job_runs
from service.jobs.models import RUN_STATE_LABELS, JobRun, RunState
from service.org.models import School
from service.periods.models import Period
from service.rankings import jobs as ranking_jobs
from service.rankings.schemas import RecomputeIn
from service.web.forms import Invalid, attempt, load
from service.web.views import bp

POLL_SECONDS = 2
RECENT_RUNS = 20
JOB_KIND_LABELS = {
    "recompute_period": ("整月重新计算", "Recompute a month"),
    "recompute_school_month": ("单校月度重算（审核通过后）", "One school-month (after an acceptance)"),
    "recompute_open_periods": ("夜间重算未锁定月份", "Nightly: months not yet locked"),
    "issue_certificates": ("生成荣誉证书", "Issue certificates"),
}
STATE_BADGES = {
    RunState.QUEUED: "secondary",
    RunState.RUNNING: "primary",
    RunState.SUCCEEDED: "success",
    RunState.FAILED: "danger",
}


def _ensure_bureau() -> None:
    if current_user.role not in (Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL):
        abort(403)


def _embedded() -> bool:
    """Eager Celery (the embedded demo): no broker, worker or beat - tasks run inside the request."""
    return bool(current_app.config.get("CELERY_ALWAYS_EAGER"))


def kind_label(kind: str) -> str:
    return label(JOB_KIND_LABELS, kind) if kind in JOB_KIND_LABELS else kind


def duration(run: JobRun, now: datetime) -> str:
    """How long the run took (or has taken so far); "—" before it started."""
    if run.started_at is None:
        return "—"
    end = run.finished_at or now
    seconds = max((_aware(end) - _aware(run.started_at)).total_seconds(), 0)
    if seconds < 60:
        return _("%(seconds)s s", seconds=f"{seconds:.1f}")
    minutes, rest = divmod(int(seconds), 60)
    return _("%(minutes)s min %(seconds)s s", minutes=minutes, seconds=rest)


def percent(run: JobRun) -> int:
    if run.state is RunState.SUCCEEDED:
        return 100
    return int(100 * run.done / run.total) if run.total else 0


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _subjects(runs: list[JobRun]) -> dict[int, str]:
    """What each run worked on, as a person reads it: the month, the school and month, the round."""
    periods = {p.id: p.code for p in db.session.scalars(select(Period))}
    school_ids = {r.params.get("school_id") for r in runs if r.params.get("school_id")}
    schools = (
        {s.id: s.code for s in db.session.scalars(select(School).where(School.id.in_(school_ids)))}
        if school_ids
        else {}
    )
    out = {}
    for run in runs:
        p = run.params or {}
        parts = []
        if p.get("school_id"):
            parts.append(schools.get(p["school_id"], f"#{p['school_id']}"))
        if p.get("period_id"):
            parts.append(periods.get(p["period_id"], f"#{p['period_id']}"))
        if p.get("round_id"):
            parts.append(_("round %(id)s", id=p["round_id"]))
        if p.get("today"):
            parts.append(str(p["today"]))
        out[run.id] = " ".join(parts) or "—"
    return out


def _page_context() -> dict[str, Any]:
    return {
        "kind_label": kind_label,
        "duration": duration,
        "percent": percent,
        "now": utcnow(),
        "RUN_STATE_LABELS": RUN_STATE_LABELS,
        "STATE_BADGES": STATE_BADGES,
        "poll_seconds": POLL_SECONDS,
    }


def _jobs_page(form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None) -> str:
    runs = job_runs.latest_runs(limit=RECENT_RUNS)
    periods = list(db.session.scalars(select(Period).order_by(Period.year.desc(), Period.month.desc())))
    return render_template(
        "jobs/index.html",
        runs=runs,
        logs={run.id: job_runs.log_of(run.id) for run in runs},
        subjects=_subjects(runs),
        periods=periods,
        form=form or {"period": periods[0].code if periods else ""},
        errors=errors or {},
        can_recompute=current_user.role is Role.BUREAU_ADMIN,
        heartbeat=heartbeat.status(utcnow(), embedded=_embedded()),
        limits={
            "beat": int(heartbeat.BEAT_SILENT_AFTER.total_seconds() // 60),
            "worker": int(heartbeat.WORKER_SILENT_AFTER.total_seconds() // 60),
            "queued": int(heartbeat.QUEUED_TOO_LONG.total_seconds() // 60),
        },
        **_page_context(),
    )


@bp.route("/jobs")
@login_required
def jobs() -> Any:
    _ensure_bureau()
    return _jobs_page()


@bp.route("/jobs/recompute", methods=["POST"])
@login_required
def jobs_recompute() -> Any:
    """Score a month and rank it, its term and its year in the background (bureau admin), then follow
    the run's progress bar on its page."""
    _ensure_bureau()
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)
    form = {"period": request.form.get("period", "")}
    try:
        data = load(RecomputeIn(), form)
        run_id, _key = attempt(
            lambda: ranking_jobs.queue_recompute(
                data["period"], requested_by=job_runs.requested_by(current_user)
            )
        )
    except Invalid as exc:
        return _jobs_page(form, exc.errors), exc.status
    db.session.commit()  # sends the task (the outbox dispatches after the commit)
    return redirect(url_for("web.job_run", job_id=run_id), code=303)


def _run_or_404(job_id: int) -> JobRun:
    run = db.session.get(JobRun, job_id)
    if run is None:
        abort(404)
    return run


def _run_context(run: JobRun) -> dict[str, Any]:
    return {
        "run": run,
        "log": job_runs.log_of(run.id),
        "subject": _subjects([run])[run.id],
        "finished": run.state in (RunState.SUCCEEDED, RunState.FAILED),
        **_page_context(),
    }


@bp.route("/jobs/<int:job_id>")
@login_required
def job_run(job_id: int) -> Any:
    _ensure_bureau()
    return render_template("jobs/run.html", **_run_context(_run_or_404(job_id)))


@bp.route("/jobs/<int:job_id>/progress")
@login_required
def job_progress(job_id: int) -> Any:
    """The run's panel alone (progress bar, state, log): htmx swaps it in every few seconds while the
    run is queued or running; the finished panel carries no trigger, so the polling stops."""
    _ensure_bureau()
    run = _run_or_404(job_id)
    db.session.refresh(run)  # progress is written by the worker on its own connection
    return render_template("jobs/_run.html", **_run_context(run))
