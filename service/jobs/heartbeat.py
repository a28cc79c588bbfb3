"""Heartbeats: is the scheduler (beat) sending, and is a worker running what it sends?

Beat sends the tiny task :data:`HEARTBEAT_TASK` every minute (tasks/schedule.py). Two facts are kept,
both in the ``heartbeats`` table - visible to every web worker and to the tests, which a Redis key
would not be without a broker:

* **beat** - the send proves beat. The task stamps its send time into its own arguments
  (``sent_at``), and once the broker has taken the message the sender records it (:func:`record_sent`,
  run in the beat process). So beat is seen even while no worker runs anything.
* **worker** - the run proves a worker. The task records when it ran, the send time it carries and
  the worker's host (:func:`record_run`); the send time also counts as a sighting of beat, in case
  the sender could not write (its database connection blinked).

:func:`status` turns the two rows into the jobs page's line, for an explicit ``now``:

* beat **silent** when its last send is older than :data:`BEAT_SILENT_AFTER` (3 minutes: three
  one-minute beats missed; a restarted beat sends again within seconds);
* the worker **silent** when its last run is older than :data:`WORKER_SILENT_AFTER` (3 minutes), or
  **behind** when beat's newest send is more than :data:`QUEUED_TOO_LONG` (2 minutes) newer than the
  send of the heartbeat it ran last: heartbeats are queued but not run - the worker is stopped, stuck,
  or busy with long jobs (one worker process is busy for the length of a whole-district re-ranking);
* **never seen** before the first heartbeat (a fresh installation, or beat was never started);
* in the embedded mode (eager Celery: no broker, no worker, no beat; tasks run inside the request)
  neither is expected, and the page says so instead of raising a false alarm.

A heartbeat message expires after :data:`HEARTBEAT_EXPIRES` seconds, so a worker coming back after an
outage does not work through an hour of stale heartbeats first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite

from service.core.timeutil import local
from service.db import db
from service.jobs.models import Heartbeat

HEARTBEAT_TASK = "tasks.heartbeat.beat"
BEAT_EVERY = timedelta(minutes=1)
BEAT_SILENT_AFTER = timedelta(minutes=3)
WORKER_SILENT_AFTER = timedelta(minutes=3)
QUEUED_TOO_LONG = timedelta(minutes=2)
HEARTBEAT_EXPIRES = 300  # seconds

BEAT, WORKER = "beat", "worker"


# --- recording ----------------------------------------------------------------------------------


def _upsert(name: str, seen_at: datetime, **values: Any) -> None:
    """Insert or update the row ``name``; ``seen_at`` never moves back (a late heartbeat run after a
    newer one does not make a component look older than it is)."""
    table = Heartbeat.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    row = {"name": name, "seen_at": seen_at, "detail": "", **values}
    stmt = insert(table).values(**row)
    newer = case((stmt.excluded.seen_at > table.c.seen_at, stmt.excluded.seen_at), else_=table.c.seen_at)
    updates: dict[str, Any] = {"seen_at": newer}
    for key in values:
        updates[key] = case(
            (stmt.excluded.seen_at >= table.c.seen_at, getattr(stmt.excluded, key)), else_=table.c[key]
        )
    db.session.execute(stmt.on_conflict_do_update(index_elements=[table.c.name], set_=updates))


def record_sent(sent_at: datetime) -> None:
    """Beat sent a heartbeat at ``sent_at`` (the broker took it)."""
    _upsert(BEAT, sent_at)


def record_run(*, sent_at: datetime | None, ran_at: datetime, host: str) -> None:
    """A worker on ``host`` ran, at ``ran_at``, the heartbeat beat sent at ``sent_at``."""
    _upsert(WORKER, ran_at, sent_at=sent_at, detail=host[:200])
    if sent_at is not None:
        _upsert(BEAT, sent_at)


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sighting:
    """One component's last sighting as of ``now``."""

    name: str
    seen_at: datetime | None
    limit: timedelta
    silent_for: timedelta | None
    detail: str = ""

    @property
    def silent(self) -> bool:
        return self.silent_for is None or self.silent_for > self.limit


@dataclass(frozen=True)
class HeartbeatStatus:
    """The jobs page's heartbeat line. ``warnings`` are ``(code, message)``: ``beat_never``,
    ``beat_silent``, ``worker_never``, ``worker_silent``, ``worker_behind``."""

    embedded: bool
    beat: Sighting | None = None
    worker: Sighting | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings

    @property
    def codes(self) -> list[str]:
        return [code for code, _message in self.warnings]


def _minutes(span: timedelta) -> int:
    return max(1, int(span.total_seconds() // 60))


def _hm(moment: datetime | None) -> str:
    shown = local(moment)
    return shown.strftime("%m-%d %H:%M") if shown else ""


def status(now: datetime, *, embedded: bool) -> HeartbeatStatus:
    """When beat and a worker were last seen as of ``now``, with a warning for each silence (module
    docstring: the thresholds). ``embedded``: Celery runs tasks eagerly - nothing to watch."""
    if embedded:
        return HeartbeatStatus(embedded=True)
    rows = {r.name: r for r in db.session.scalars(select(Heartbeat))}
    beat = _sighting(rows.get(BEAT), BEAT, BEAT_SILENT_AFTER, now)
    worker = _sighting(rows.get(WORKER), WORKER, WORKER_SILENT_AFTER, now)
    warnings: list[tuple[str, str]] = []
    if beat.seen_at is None:
        warnings.append(
            ("beat_never", _("The scheduler (beat) has never been seen: start exactly one beat process."))
        )
    elif beat.silent:
        warnings.append(
            (
                "beat_silent",
                _(
                    "The scheduler (beat) has been silent for %(minutes)s minutes (it sends a heartbeat "
                    "every minute): scheduled jobs such as the nightly re-ranking are not being sent.",
                    minutes=_minutes(beat.silent_for or timedelta()),
                ),
            )
        )
    if worker.seen_at is None:
        warnings.append(
            ("worker_never", _("No worker has run a heartbeat yet: queued jobs are not being run."))
        )
    elif worker.silent:
        warnings.append(
            (
                "worker_silent",
                _(
                    "No worker has run anything for %(minutes)s minutes: queued jobs (re-ranking, "
                    "certificates) wait until a worker runs again.",
                    minutes=_minutes(worker.silent_for or timedelta()),
                ),
            )
        )
    else:
        sent = rows[WORKER].sent_at
        last_run_sent = _aware(sent) if sent is not None else None
        if beat.seen_at is not None and (
            last_run_sent is None or beat.seen_at - last_run_sent > QUEUED_TOO_LONG
        ):
            warnings.append(
                (
                    "worker_behind",
                    _(
                        "Heartbeats sent since %(since)s are queued but not run: the worker is stuck or "
                        "busy with long jobs.",
                        since=_hm(last_run_sent + BEAT_EVERY if last_run_sent else beat.seen_at),
                    ),
                )
            )
    return HeartbeatStatus(False, beat, worker, warnings)


def _sighting(row: Heartbeat | None, name: str, limit: timedelta, now: datetime) -> Sighting:
    if row is None:
        return Sighting(name, None, limit, None)
    seen = _aware(row.seen_at)
    return Sighting(name, seen, limit, max(now - seen, timedelta()), row.detail or "")


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL aware values."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
