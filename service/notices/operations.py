"""Schedules, runs and deliveries: the state machine that sends each notice to each recipient once.

Flow (the tasks in ``tasks/notices.py`` are thin wrappers around these functions):

1. **tick** (beat, every 2 minutes; bureau scope): takes back stale claims, creates the runs of every
   due occurrence with ``INSERT … ON CONFLICT (schedule_id, target_key) DO NOTHING`` - a second tick or a
   second beat inserts nothing and queues nothing - and re-queues what the broker may have lost (queued
   runs, due deliveries whose message is older than :data:`REQUEUE_AFTER`).
2. **execute_run**: claims the run (conditional UPDATE queued → running, committed at once), inserts one
   delivery per recipient (ON CONFLICT DO NOTHING: a redelivered task adds nobody twice), renders the
   message once per language the recipients read, commits, then queues one send per delivery.
3. **send_delivery**: claims the delivery with a conditional UPDATE (pending | failed_temporary, due →
   sending) and commits the claim *before* talking to the server; the loser of a race does nothing.
   After the server accepted: sent (conditional on still holding the claim), committed. A temporary
   failure is failed_temporary with a backoff (retried by a countdown no longer than the broker's
   visibility timeout allows, or by the tick); a permanent one, or the last attempt, failed_permanent.
   When no delivery of the run is left open, the run is done (or failed if any delivery failed).

These functions commit: a claim must be visible to every other worker before the work it guards
starts, which no single transaction can give. Everything else here flushes like any operation.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update

from service.core import events
from service.core.celery import max_countdown
from service.core.errors import Conflict, DomainError
from service.core.outbox import enqueue_task
from service.core.sql import insert_ignoring_conflicts
from service.core.timeutil import local, utcnow
from service.db import db, unit_of_work
from service.mail.kinds import preparer_for
from service.notices import audience, channels, planning
from service.notices.models import (
    CLAIMABLE,
    TERMINAL,
    Channel,
    DeliveryState,
    NoticeDelivery,
    NoticePreference,
    NoticeRender,
    NoticeRule,
    NoticeRun,
    NoticeRunLog,
    NoticeSchedule,
    RunState,
)
from tenants import TenantScope, use_scope

log = logging.getLogger(__name__)

TICK_TASK = "tasks.notices.tick"
EXECUTE_TASK = "tasks.notices.execute_run"
SEND_TASK = "tasks.notices.send_delivery"
SEND_TIME_LIMIT = 120  # seconds; NOTICE_CLAIM_TIMEOUT must exceed it (a live send is never taken back)
MAX_ATTEMPTS = 8
BACKOFF_BASE = 30  # seconds: 30, 60, 120, ... (capped at BACKOFF_CAP)
BACKOFF_CAP = 6 * 3600
REQUEUE_AFTER = timedelta(minutes=10)

runs_t = NoticeRun.__table__
deliveries_t = NoticeDelivery.__table__
renders_t = NoticeRender.__table__
log_t = NoticeRunLog.__table__


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_timeout() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("NOTICE_CLAIM_TIMEOUT", 300)))


def backoff(attempts: int) -> int:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _bureau() -> TenantScope:
    return TenantScope.bureau()


def _log(run_id: int, from_state: str, to_state: str, message: str = "") -> None:
    db.session.execute(
        log_t.insert().values(
            run_id=run_id, at=utcnow(), from_state=from_state, to_state=to_state, message=message[:2000]
        )
    )


# --- schedules (the bureau's pages) -----------------------------------------------------------------------


def list_schedules() -> Any:
    return select(NoticeSchedule).order_by(NoticeSchedule.kind, NoticeSchedule.id)


def create_schedule(data: Mapping[str, Any]) -> NoticeSchedule:
    """A new schedule from :class:`~service.notices.schemas.ScheduleIn` data (audited)."""
    schedule = NoticeSchedule(**_schedule_fields(data))
    db.session.add(schedule)
    db.session.flush()
    return schedule


def update_schedule(schedule: NoticeSchedule, data: Mapping[str, Any]) -> NoticeSchedule:
    for key, value in _schedule_fields(data).items():
        setattr(schedule, key, value)
    schedule.updated_at = utcnow()
    db.session.flush()
    return schedule


def _schedule_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: data[k] for k in ScheduleFields if k in data}
    rule = data.get("rule")
    # Only the rule's own settings are kept: a weekly digest has no day of the month.
    if rule is not None:
        fields["day_of_month"] = data.get("day_of_month") if rule is NoticeRule.MONTHLY else None
        fields["weekday"] = data.get("weekday") if rule is NoticeRule.WEEKLY else None
        fields["days_before"] = (
            list(data.get("days_before") or []) if rule is NoticeRule.BEFORE_DEADLINE else []
        )
    return fields


ScheduleFields = (
    "name",
    "kind",
    "rule",
    "day_of_month",
    "weekday",
    "days_before",
    "at_time",
    "audience",
    "paused",
    "mandatory",
    "webhook_url",
)


def set_paused(schedule: NoticeSchedule, paused: bool) -> NoticeSchedule:
    schedule.paused = paused
    schedule.updated_at = utcnow()
    db.session.flush()
    return schedule


# --- runs --------------------------------------------------------------------------------------------------


def _insert_run(schedule: NoticeSchedule, target: planning.Target, now: datetime) -> int | None:
    """The new run's id, or None when the (schedule, target key) run exists already."""
    stmt = (
        insert_ignoring_conflicts(runs_t, ["schedule_id", "target_key"])
        .values(
            schedule_id=schedule.id,
            target_key=target.key,
            kind=schedule.kind,
            params=target.params,
            target_school_id=target.school_id,
            state=RunState.QUEUED.value,
            attempts=0,
            claimed_by="",
            queued_at=now,
            error="",
            meta={},
            created_at=now,
        )
        .returning(runs_t.c.id)
    )
    run_id = db.session.execute(stmt).scalar_one_or_none()
    if run_id is not None:
        _log(run_id, "", RunState.QUEUED.value, f"created for {target.key}")
        _queue_run(run_id)
    return run_id


def _queue_run(run_id: int) -> None:
    enqueue_task(EXECUTE_TASK, scope=_bureau(), system=True, run_id=run_id)


def create_due_runs(now: datetime) -> list[int]:
    """Runs for every due occurrence of every schedule that is not paused (bureau scope)."""
    created = []
    for schedule in db.session.scalars(list_schedules().where(NoticeSchedule.paused.is_(False))):
        for occurrence in planning.due(schedule, now):
            for target in planning.targets(schedule.kind, occurrence):
                run_id = _insert_run(schedule, target, now)
                if run_id is not None:
                    created.append(run_id)
    return created


def send_now(schedule: NoticeSchedule, now: datetime) -> tuple[int, int]:
    """The schedule's notice for today's targets now: (runs created, runs that existed already).

    The same target keys as the scheduled occurrence of the day, so a notice sent now is not sent again
    by the schedule (a reminder sent now on the T−3 day, the month's bulletin)."""
    if schedule.rule is NoticeRule.EVENT:
        raise Conflict({"rule": [_("This notice is sent when its event happens; it cannot be sent now.")]})
    occurrence = planning.Occurrence(now)
    created = existing = 0
    for target in planning.targets(schedule.kind, occurrence):
        if _insert_run(schedule, target, now) is None:
            existing += 1
        else:
            created += 1
    return created, existing


def _on_report_returned(
    *, report_id: int, transition_id: int, school_id: int, period_code: str, **_: Any
) -> None:
    """A returned report's notice, right away: a run per schedule of the kind, queued after the commit
    of the return (a return that rolls back notifies nobody)."""
    now = utcnow()
    target = planning.returned_target(report_id, transition_id, school_id, period_code)
    schedules = db.session.scalars(
        list_schedules().where(NoticeSchedule.kind == "report_returned", NoticeSchedule.paused.is_(False))
    )
    for schedule in schedules:
        _insert_run(schedule, target, now)


events.subscribe(events.REPORT_RETURNED, _on_report_returned)


def claim_run(run_id: int, now: datetime) -> bool:
    """queued → running (or running whose worker stopped answering → running again); commits.

    A compare-and-set on the state read just before: of two deliveries of the task exactly one wins."""
    row = db.session.execute(select(runs_t.c.state, runs_t.c.claimed_at).where(runs_t.c.id == run_id)).first()
    if row is None:
        return False
    state = str(row.state)
    stale = now - claim_timeout()
    claimed_at = local(row.claimed_at)
    if state == RunState.RUNNING.value and claimed_at is not None and claimed_at >= stale:
        return False
    if state not in (RunState.QUEUED.value, RunState.RUNNING.value):
        return False
    condition = [runs_t.c.id == run_id, runs_t.c.state == state]
    if state == RunState.RUNNING.value:
        condition.append(runs_t.c.claimed_at < stale)
    won = db.session.execute(
        update(runs_t)
        .where(*condition)
        .values(
            state=RunState.RUNNING.value,
            claimed_by=worker_name(),
            claimed_at=now,
            attempts=runs_t.c.attempts + 1,
            error="",
        )
    ).rowcount
    if won != 1:
        db.session.rollback()
        return False
    _log(run_id, state, RunState.RUNNING.value, f"claimed by {worker_name()}")
    db.session.commit()
    return True


def execute_run(run_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Claim the run, add its deliveries, render its message per language, queue the sends."""
    now = now or utcnow()
    if not claim_run(run_id, now):
        return {"run_id": run_id, "claimed": False}
    run = db.session.scalars(select(NoticeRun).where(NoticeRun.id == run_id)).one()
    try:
        _prepare(run.kind, dict(run.params or {}))
    except Exception as exc:  # e.g. no ranking of the month yet: the run fails visibly
        db.session.rollback()
        _fail_run(run_id, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        log.exception("notice run %s could not be prepared", run_id)
        return {"run_id": run_id, "claimed": True, "failed": str(exc)}
    recipients, without_address = audience.recipients(run.schedule, run.target_school_id)
    for r in recipients:
        _insert_delivery(run.id, Channel.EMAIL, r.address, 0, r.user_id, r.name, r.locale, now)
    if run.schedule.webhook_url:
        _insert_delivery(run.id, Channel.WEBHOOK, run.schedule.webhook_url, 0, None, "", "zh_CN", now)
    try:
        _render_missing(run)
    except Exception as exc:  # a renderer's bug or missing data: the run fails visibly
        db.session.rollback()
        _fail_run(run_id, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        log.exception("notice run %s could not be rendered", run_id)
        return {"run_id": run_id, "claimed": True, "failed": str(exc)}
    note = f"{len(recipients)} recipients"
    if without_address:
        note += f", {without_address} accounts without an e-mail address"
    _log(run_id, RunState.RUNNING.value, RunState.RUNNING.value, note)
    queued = queue_sends(run_id, now)
    db.session.commit()
    finish_run_if_complete(run_id)
    db.session.commit()
    return {"run_id": run_id, "claimed": True, "deliveries": queued}


def _insert_delivery(
    run_id: int,
    channel: Channel,
    address: str,
    round_: int,
    user_id: int | None,
    name: str,
    locale: str,
    now: datetime,
) -> int | None:
    stmt = (
        insert_ignoring_conflicts(deliveries_t, ["run_id", "channel", "address", "round"])
        .values(
            run_id=run_id,
            channel=channel.value,
            address=address,
            round=round_,
            user_id=user_id,
            name=name[:120],
            locale=locale,
            state=DeliveryState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            claimed_by="",
            message_id="",
            smtp_reply="",
            last_error="",
            created_at=now,
        )
        .returning(deliveries_t.c.id)
    )
    return db.session.execute(stmt).scalar_one_or_none()


def _prepare(kind: str, params: dict[str, Any]) -> None:
    """The kind's preparer (service/mail/kinds.py), committed in its own unit of work before this run
    writes anything (the run's claim is committed already): e.g. the bulletin a report card shows."""
    preparer = preparer_for(kind)
    if preparer is None:
        return
    db.session.commit()  # nothing of this run is pending: the preparer's session may write
    with unit_of_work(), use_scope(_bureau()):
        preparer(params)
        db.session.commit()


def _render_missing(run: NoticeRun) -> None:
    """Render the run's message once for each language its deliveries need and store it."""
    from service.notices.render import render

    needed = set(db.session.scalars(select(deliveries_t.c.locale).where(deliveries_t.c.run_id == run.id)))
    have = set(db.session.scalars(select(renders_t.c.locale).where(renders_t.c.run_id == run.id)))
    scope = TenantScope.school(run.target_school_id) if run.target_school_id else _bureau()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    for locale in sorted(needed - have):
        message = render(run.kind, run.params, locale, scope)
        db.session.execute(
            insert_ignoring_conflicts(renders_t, ["run_id", "locale"]).values(
                run_id=run.id,
                locale=locale,
                subject=message.subject[:300],
                mime=channels.build_mime(message, sender=sender),
                link=message.link[:500],
                summary=message.summary,
                created_at=utcnow(),
            )
        )
        if message.meta:
            run.meta = {**(run.meta or {}), **message.meta}
    db.session.flush()


def _fail_run(run_id: int, error: str) -> None:
    won = db.session.execute(
        update(runs_t)
        .where(runs_t.c.id == run_id, runs_t.c.state == RunState.RUNNING.value)
        .values(state=RunState.FAILED.value, error=error[:4000], finished_at=utcnow())
    ).rowcount
    if won:
        _log(run_id, RunState.RUNNING.value, RunState.FAILED.value, error)


def queue_sends(run_id: int | None, now: datetime) -> int:
    """Queue a send for each claimable, due delivery (of one run, or of every run); marks them queued."""
    stmt = select(deliveries_t.c.id).where(
        deliveries_t.c.state.in_(CLAIMABLE), deliveries_t.c.next_attempt_at <= now
    )
    if run_id is not None:
        stmt = stmt.where(deliveries_t.c.run_id == run_id)
    else:
        stmt = stmt.where(
            or_(deliveries_t.c.queued_at.is_(None), deliveries_t.c.queued_at < now - REQUEUE_AFTER)
        )
    ids = list(db.session.scalars(stmt.order_by(deliveries_t.c.id)))
    if ids:
        db.session.execute(update(deliveries_t).where(deliveries_t.c.id.in_(ids)).values(queued_at=now))
    for delivery_id in ids:
        enqueue_task(SEND_TASK, scope=_bureau(), system=True, delivery_id=delivery_id)
    return len(ids)


def finish_run_if_complete(run_id: int) -> str | None:
    """running → done (every delivery sent) | failed (some failed permanently) once none is open."""
    counts = dict(
        db.session.execute(
            select(deliveries_t.c.state, func.count())
            .where(deliveries_t.c.run_id == run_id)
            .group_by(deliveries_t.c.state)
        ).all()
    )
    if any(state not in TERMINAL for state in counts):
        return None
    failed = counts.get(DeliveryState.FAILED_PERMANENT.value, 0)
    to_state = RunState.FAILED if failed else RunState.DONE
    won = db.session.execute(
        update(runs_t)
        .where(runs_t.c.id == run_id, runs_t.c.state == RunState.RUNNING.value)
        .values(
            state=to_state.value, finished_at=utcnow(), error=f"{failed} deliveries failed" if failed else ""
        )
    ).rowcount
    if not won:
        return None
    sent = counts.get(DeliveryState.SENT.value, 0)
    _log(run_id, RunState.RUNNING.value, to_state.value, f"{sent} sent, {failed} failed")
    return to_state.value


# --- deliveries -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    claimed: bool
    state: str = ""
    retry_in: int | None = None  # seconds: send again with this countdown (bounded), else the tick


def claim_delivery(delivery_id: int, now: datetime, worker: str) -> bool:
    """The conditional UPDATE that makes this worker the only sender of the delivery; committed."""
    won = db.session.execute(
        update(deliveries_t)
        .where(
            deliveries_t.c.id == delivery_id,
            deliveries_t.c.state.in_(CLAIMABLE),
            deliveries_t.c.next_attempt_at <= now,
        )
        .values(
            state=DeliveryState.SENDING.value,
            claimed_by=worker,
            claimed_at=now,
            attempts=deliveries_t.c.attempts + 1,
        )
    ).rowcount
    db.session.commit()
    return won == 1


def send_delivery(delivery_id: int, *, now: datetime | None = None) -> SendResult:
    """Claim, send through the delivery's channel, record the outcome (see the module's docstring)."""
    now = now or utcnow()
    worker = f"{worker_name()}:{delivery_id}:{now.timestamp():.3f}"
    if not claim_delivery(delivery_id, now, worker):
        return SendResult(delivery_id, claimed=False)
    delivery = db.session.scalars(select(NoticeDelivery).where(NoticeDelivery.id == delivery_id)).one()
    try:
        accepted = deliver(delivery)
    except channels.PermanentFailure as exc:
        return _failed(delivery, worker, str(exc), permanent=True)
    except Exception as exc:  # TemporaryFailure, and anything unexpected (tried again later)
        return _failed(delivery, worker, f"{type(exc).__name__}: {exc}", permanent=False)
    mark_sent(delivery.id, worker, accepted)
    db.session.commit()
    finish_run_if_complete(delivery.run_id)
    db.session.commit()
    return SendResult(delivery_id, claimed=True, state=DeliveryState.SENT.value)


def mark_sent(delivery_id: int, worker: str, accepted: channels.Accepted) -> bool:
    """sending → sent, only while this worker still holds the claim (a claim taken back after the
    timeout belongs to someone else now, who sends again: the README's at-most-twice window)."""
    won = db.session.execute(
        update(deliveries_t)
        .where(
            deliveries_t.c.id == delivery_id,
            deliveries_t.c.state == DeliveryState.SENDING.value,
            deliveries_t.c.claimed_by == worker,
        )
        .values(
            state=DeliveryState.SENT.value, sent_at=utcnow(), smtp_reply=accepted.reply[:500], last_error=""
        )
    ).rowcount
    if not won:
        log.warning("delivery %s was sent but its claim had been taken back", delivery_id)
    return bool(won)


def deliver(delivery: NoticeDelivery) -> channels.Accepted:
    """Hand the delivery's stored render to its channel: a group robot, SMTP, or an .eml file."""
    render = db.session.scalars(
        select(NoticeRender).where(
            NoticeRender.run_id == delivery.run_id, NoticeRender.locale == delivery.locale
        )
    ).one_or_none()
    if render is None:
        raise channels.TemporaryFailure(f"no render of run {delivery.run_id} in {delivery.locale}")
    config = current_app.config
    if delivery.channel is Channel.WEBHOOK:
        markdown = render.summary or f"**{render.subject}**"
        if render.link and render.link not in markdown:
            markdown += f"\n\n[{render.link}]({render.link})"
        return channels.post_webhook(
            delivery.address,
            channels.robot_payload(delivery.address, title=render.subject, markdown=markdown),
        )
    sender = config["MAIL_DEFAULT_SENDER"]
    msg_id = channels.message_id(delivery.id, sender)
    db.session.execute(update(deliveries_t).where(deliveries_t.c.id == delivery.id).values(message_id=msg_id))
    msg = channels.addressed(render.mime, to=delivery.address, name=delivery.name, msg_id=msg_id)
    if config.get("MAIL_SERVER"):
        return channels.send_smtp(
            msg, to=delivery.address, settings=channels.SmtpSettings.from_config(config)
        )
    return channels.write_eml(msg, directory=outbox_dir(), delivery_id=delivery.id)


def outbox_dir() -> Path:
    """Where the embedded mode writes its messages: ``instance/mail/`` (``MAIL_OUTBOX_DIR`` overrides)."""
    configured = current_app.config.get("MAIL_OUTBOX_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "mail"


def _failed(delivery: NoticeDelivery, worker: str, error: str, *, permanent: bool) -> SendResult:
    """Record a failed try (still holding the claim): retry later with backoff, or give up."""
    db.session.rollback()
    attempts = db.session.scalar(select(deliveries_t.c.attempts).where(deliveries_t.c.id == delivery.id)) or 1
    final = permanent or attempts >= MAX_ATTEMPTS
    wait = backoff(attempts)
    limit = max_countdown(current_app.config)
    eager = bool(current_app.config.get("CELERY_ALWAYS_EAGER"))
    countdown = None if (final or eager or wait + 1 > limit) else wait + 1
    state = DeliveryState.FAILED_PERMANENT if final else DeliveryState.FAILED_TEMPORARY
    won = db.session.execute(
        update(deliveries_t)
        .where(
            deliveries_t.c.id == delivery.id,
            deliveries_t.c.state == DeliveryState.SENDING.value,
            deliveries_t.c.claimed_by == worker,
        )
        .values(
            state=state.value,
            last_error=error[:4000],
            next_attempt_at=utcnow() + timedelta(seconds=wait),
            # a countdown message is in flight: the tick leaves it alone until REQUEUE_AFTER
            queued_at=utcnow() if countdown else None,
        )
    ).rowcount
    db.session.commit()
    if won and final:
        finish_run_if_complete(delivery.run_id)
        db.session.commit()
    return SendResult(delivery.id, claimed=True, state=state.value, retry_in=countdown if won else None)


def sweep(now: datetime) -> dict[str, int]:
    """Take back claims whose worker stopped: a delivery ``sending`` longer than the claim timeout
    becomes failed_temporary (due now; it may have reached the server - the README's window); a run
    ``running`` that long is re-queued (its deliveries were inserted idempotently)."""
    stale = now - claim_timeout()
    deliveries = db.session.execute(
        update(deliveries_t)
        .where(deliveries_t.c.state == DeliveryState.SENDING.value, deliveries_t.c.claimed_at < stale)
        .values(
            state=DeliveryState.FAILED_TEMPORARY.value,
            next_attempt_at=now,
            queued_at=None,
            last_error="claim timed out: the worker stopped before recording the outcome",
        )
    ).rowcount
    has_deliveries = select(deliveries_t.c.id).where(deliveries_t.c.run_id == runs_t.c.id).exists()
    stale_runs = select(runs_t.c.id).where(
        runs_t.c.state == RunState.RUNNING.value, runs_t.c.claimed_at < stale
    )
    # A run's deliveries and renders are committed together, so a run without deliveries died before
    # that commit: execute it again (claim_run accepts a stale running run). One with deliveries is
    # being sent by their own tasks; if its last sender died before closing it, close it now.
    stuck = list(db.session.scalars(stale_runs.where(~has_deliveries)))
    for run_id in stuck:
        _queue_run(run_id)
    for run_id in db.session.scalars(stale_runs.where(has_deliveries)):
        finish_run_if_complete(run_id)
    return {"deliveries_taken_back": deliveries, "runs_requeued": len(stuck)}


def requeue_runs(now: datetime) -> int:
    """Queued runs whose task the broker may have lost (queued more than REQUEUE_AFTER ago)."""
    ids = list(
        db.session.scalars(
            select(runs_t.c.id).where(
                runs_t.c.state == RunState.QUEUED.value,
                or_(runs_t.c.queued_at.is_(None), runs_t.c.queued_at < now - REQUEUE_AFTER),
            )
        )
    )
    if ids:
        db.session.execute(update(runs_t).where(runs_t.c.id.in_(ids)).values(queued_at=now))
    for run_id in ids:
        _queue_run(run_id)
    return len(ids)


def tick(now: datetime | None = None) -> dict[str, int]:
    """One beat tick (bureau scope). Harmless to repeat or to run twice at once."""
    now = now or utcnow()
    result = sweep(now)
    result["runs_created"] = len(create_due_runs(now))
    result["runs_requeued"] += requeue_runs(now)
    result["sends_queued"] = queue_sends(None, now)
    return result


# --- the bureau's buttons ----------------------------------------------------------------------------------


def resend(delivery: NoticeDelivery, *, now: datetime | None = None) -> int:
    """Send the same rendered message to the same recipient again (a new delivery, round + 1)."""
    now = now or utcnow()
    last = db.session.scalar(
        select(func.max(deliveries_t.c.round)).where(
            deliveries_t.c.run_id == delivery.run_id,
            deliveries_t.c.channel == delivery.channel.value,
            deliveries_t.c.address == delivery.address,
        )
    )
    new_id = _insert_delivery(
        delivery.run_id,
        delivery.channel,
        delivery.address,
        int(last or 0) + 1,
        delivery.user_id,
        delivery.name,
        delivery.locale,
        now,
    )
    if new_id is None:  # pragma: no cover - the round is new by construction
        raise Conflict({"delivery": [_("This message is already being sent again.")]})
    reopened = db.session.execute(
        update(runs_t)
        .where(
            runs_t.c.id == delivery.run_id, runs_t.c.state.in_([RunState.DONE.value, RunState.FAILED.value])
        )
        .values(state=RunState.RUNNING.value, finished_at=None)
    ).rowcount
    if reopened:
        _log(delivery.run_id, "", RunState.RUNNING.value, f"resent to {delivery.address}")
    db.session.execute(update(deliveries_t).where(deliveries_t.c.id == new_id).values(queued_at=now))
    enqueue_task(SEND_TASK, scope=_bureau(), system=True, delivery_id=new_id)
    return new_id


def retry_run(run: NoticeRun) -> None:
    """A failed run (its message could not be rendered) queued again."""
    if run.state is not RunState.FAILED or db.session.scalar(
        select(func.count())
        .select_from(deliveries_t)
        .where(deliveries_t.c.run_id == run.id, deliveries_t.c.state.in_(TERMINAL))
    ):
        raise Conflict({"run": [_("Only a run that failed before sending anything can be run again.")]})
    db.session.execute(
        update(runs_t)
        .where(runs_t.c.id == run.id, runs_t.c.state == RunState.FAILED.value)
        .values(state=RunState.QUEUED.value, queued_at=utcnow(), error="")
    )
    _log(run.id, RunState.FAILED.value, RunState.QUEUED.value, "queued again")
    _queue_run(run.id)


def recent_runs(schedule_id: int | None = None, limit: int = 50) -> list[NoticeRun]:
    stmt = select(NoticeRun).order_by(NoticeRun.id.desc()).limit(limit)
    if schedule_id is not None:
        stmt = stmt.where(NoticeRun.schedule_id == schedule_id)
    return list(db.session.scalars(stmt))


def failures(limit: int = 200) -> list[NoticeDelivery]:
    """Deliveries that failed (permanently, or still retrying) that no later round has sent since."""
    later = (
        select(deliveries_t.c.id)
        .where(
            deliveries_t.c.run_id == NoticeDelivery.run_id,
            deliveries_t.c.address == NoticeDelivery.address,
            deliveries_t.c.round > NoticeDelivery.round,
            deliveries_t.c.state == DeliveryState.SENT.value,
        )
        .exists()
    )
    stmt = (
        select(NoticeDelivery)
        .where(
            NoticeDelivery.state.in_([DeliveryState.FAILED_PERMANENT, DeliveryState.FAILED_TEMPORARY]),
            ~later,
        )
        .order_by(NoticeDelivery.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def failure_counts() -> dict[str, int]:
    """For the bureau admin's dashboard line: permanent failures and runs that failed to render."""
    permanent = len([d for d in failures() if d.state is DeliveryState.FAILED_PERMANENT])
    failed_runs = db.session.scalar(
        select(func.count())
        .select_from(runs_t)
        .where(
            runs_t.c.state == RunState.FAILED.value,
            ~select(deliveries_t.c.id).where(deliveries_t.c.run_id == runs_t.c.id).exists(),
        )
    )
    return {"deliveries": permanent, "runs": int(failed_runs or 0)}


# --- preferences (the user's own page) -------------------------------------------------------------------

AUDIENCE_OF_ROLE = {
    "bureau_admin": "bureau_admins",
    "bureau_official": "bureau_officials",
    "school_admin": "school_admins",
    "inspector": "inspectors",
}


@dataclass(frozen=True)
class Choice:
    kind: str
    enabled: bool
    mandatory: bool


def choices_for(user: Any) -> list[Choice]:
    """The kinds the user's role is sent (by some schedule), each with the user's choice; a kind is
    mandatory when a schedule sending it to the user's role says so."""
    group = AUDIENCE_OF_ROLE.get(str(user.role.value if hasattr(user.role, "value") else user.role))
    kinds: dict[str, bool] = {}
    for schedule in db.session.scalars(list_schedules()):
        if group in (schedule.audience or []):
            kinds[schedule.kind] = kinds.get(schedule.kind, False) or schedule.mandatory
    off = {
        p.kind
        for p in db.session.scalars(
            select(NoticePreference).where(
                NoticePreference.user_id == user.id, NoticePreference.enabled.is_(False)
            )
        )
    }
    return [
        Choice(kind, kind not in off or mandatory, mandatory) for kind, mandatory in sorted(kinds.items())
    ]


def set_choices(user: Any, wanted: Mapping[str, bool]) -> None:
    """Store the user's choices for the kinds offered; opting out of a mandatory kind is refused."""
    offered = {c.kind: c for c in choices_for(user)}
    refused = [k for k, on in wanted.items() if k in offered and offered[k].mandatory and not on]
    if refused:
        raise DomainError(
            {k: [_("The bureau requires this notice; it cannot be turned off.")] for k in refused}, 409
        )
    for kind, choice in offered.items():
        if choice.mandatory or kind not in wanted:
            continue
        stmt = insert_ignoring_conflicts(NoticePreference.__table__, ["user_id", "kind"]).values(
            user_id=user.id, kind=kind, enabled=bool(wanted[kind]), updated_at=utcnow()
        )
        db.session.execute(stmt)
        db.session.execute(
            update(NoticePreference.__table__)
            .where(and_(NoticePreference.user_id == user.id, NoticePreference.kind == kind))
            .values(enabled=bool(wanted[kind]), updated_at=utcnow())
        )
    db.session.flush()
