"""Running a long job inside a :class:`JobRun`: claim, progress, finish - the execution state machine.

``track(run_key, kind, params)`` claims the run row (creating it on first delivery with an atomic
INSERT … ON CONFLICT DO NOTHING; a redelivered message with the same key claims the same row again,
``attempts`` + 1, by a conditional UPDATE that only one of two racing deliveries wins - the loser runs
nothing: :class:`AlreadyClaimed`) and yields a :class:`Progress` the job calls with (done, total, step). On PostgreSQL the run row is written on a
separate autocommit connection, so the API and the CLI see progress while the job's own transaction
is still open, and a job whose transaction rolls back still leaves its ``failed`` state and error
behind. On SQLite (the embedded demo, one writer) the run row is written in the job's session.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from service.core.celery import LONGEST_TASK_SECONDS
from service.core.sql import insert_ignoring_conflicts
from service.core.types import utcnow
from service.db import db
from service.jobs.models import JobRun, JobRunLog, RunState

runs = JobRun.__table__
log = JobRunLog.__table__


class Progress:
    """Writes ``done/total`` and the current step to the run row."""

    def __init__(self, run_id: int, write: Any) -> None:
        self.run_id = run_id
        self._write = write
        self.done = 0
        self.total = 0
        self.result: dict[str, Any] = {}  # what the job reports on success (stored on the run)

    def __call__(self, done: int, total: int, step: str = "") -> None:
        self.done, self.total = done, total
        self._write(
            update(runs)
            .where(runs.c.id == self.run_id)
            .values(done=done, total=total, step=step[:120], updated_at=utcnow())
        )


@contextmanager
def _writer() -> Iterator[Any]:
    session = db.session
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        with bind.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")

            def write(stmt: Any) -> Any:
                return conn.execute(stmt)

            yield write
    else:

        def write(stmt: Any) -> Any:
            return session.execute(stmt)

        yield write


def _move(
    write: Any, run_id: int, from_state: str, to_state: RunState, message: str = "", **values: Any
) -> None:
    write(update(runs).where(runs.c.id == run_id).values(state=to_state.value, updated_at=utcnow(), **values))
    write(
        insert(log).values(
            run_id=run_id, at=utcnow(), from_state=from_state, to_state=to_state.value, message=message[:2000]
        )
    )


def requested_by(user: Any) -> str:
    """How a job run names who asked for it: ``王建国 (admin)``."""
    return f"{user.display_name} ({user.username})"[:120]


class AlreadyClaimed(Exception):
    """Another attempt holds the run, or it already succeeded: this attempt does nothing.

    ``retry_after`` is how long until the holder's lease runs out (seconds; ``None`` when the run
    succeeded and there is nothing left to do). A task may come back then (with a countdown shorter
    than the broker's visibility timeout): if the holder died, its lease has expired and the claim
    succeeds; if it finished, the run is succeeded and the task stops.
    """

    def __init__(self, run_id: int, state: str, retry_after: float | None) -> None:
        super().__init__(f"job run {run_id} is {state}")
        self.run_id = run_id
        self.state = state
        self.retry_after = retry_after


def _lease_seconds() -> int:
    """How long a running attempt may hold its run: the hard task time limit, plus a margin. After it
    the attempt cannot still be running (the worker kills a task at its time limit)."""
    return LONGEST_TASK_SECONDS + 60


def _ensure_row(write: Any, run_key: str, kind: str, params: dict[str, Any], requested_by: str = "") -> int:
    """The run row for ``run_key``, created queued by an atomic INSERT … ON CONFLICT DO NOTHING (two
    deliveries of one message never create two rows, and neither fails)."""
    now = utcnow()
    write(
        insert_ignoring_conflicts(runs, ["run_key"]).values(
            run_key=run_key,
            kind=kind,
            params=params,
            requested_by=requested_by,
            state=RunState.QUEUED.value,
            done=0,
            total=0,
            step="",
            attempts=0,
            result={},
            error="",
            created_at=now,
            updated_at=now,
        )
    )
    return write(select(runs.c.id).where(runs.c.run_key == run_key)).scalar_one()


def claim(write: Any, run_key: str, kind: str, params: dict[str, Any]) -> tuple[int, str]:
    """Claim the run ``run_key`` for this attempt: (run id, its state before), or :class:`AlreadyClaimed`.

    A compare-and-set: the state this attempt read must still be there when the conditional UPDATE
    runs (``WHERE id = :id AND state = :seen AND attempts = :seen_attempts``), so of two deliveries of
    one message racing for the row exactly one moves it to running; the other does nothing. Queued and
    failed runs are claimable; a running one only once its lease has expired (its worker died); a
    succeeded one never (a redelivered message after success has nothing to do).
    """
    run_id = _ensure_row(write, run_key, kind, params)
    row = write(select(runs.c.state, runs.c.attempts, runs.c.started_at).where(runs.c.id == run_id)).one()
    now = utcnow()
    state = str(row.state)
    if state == RunState.SUCCEEDED.value:
        raise AlreadyClaimed(run_id, state, None)
    if state == RunState.RUNNING.value and row.started_at is not None:
        started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
        expires = started + timedelta(seconds=_lease_seconds())
        if expires > now:
            raise AlreadyClaimed(run_id, state, (expires - now).total_seconds())
    won = write(
        update(runs)
        .where(runs.c.id == run_id, runs.c.state == state, runs.c.attempts == row.attempts)
        .values(state=RunState.RUNNING.value, started_at=now, updated_at=now, attempts=row.attempts + 1)
    ).rowcount
    if won != 1:
        raise AlreadyClaimed(run_id, RunState.RUNNING.value, float(_lease_seconds()))
    return run_id, state


def queue(run_key: str, kind: str, params: dict[str, Any], *, requested_by: str = "") -> int:
    """Record a run as queued before its task is sent (the API returns its id at once), with who
    asked for it."""
    with _writer() as write:
        return _ensure_row(write, run_key, kind, params, requested_by)


@contextmanager
def track(run_key: str, kind: str, params: dict[str, Any]) -> Iterator[Progress]:
    """Run the body as attempt n of the run ``run_key``; record success (with ``progress.result``) or
    failure (with the error), then re-raise a failure so the task is marked failed too.

    Raises :class:`AlreadyClaimed` without running the body when another attempt holds the run or
    it already succeeded (see :func:`claim`)."""
    with _writer() as write:
        run_id, state = claim(write, run_key, kind, params)
        write(
            insert(log).values(
                run_id=run_id,
                at=utcnow(),
                from_state=state,
                to_state=RunState.RUNNING.value,
                message="attempt started",
            )
        )
        write(update(runs).where(runs.c.id == run_id).values(finished_at=None, error=""))
        progress = Progress(run_id, write)
        try:
            yield progress
        except BaseException as exc:
            _move(
                write,
                run_id,
                RunState.RUNNING.value,
                RunState.FAILED,
                repr(exc),
                finished_at=utcnow(),
                error="".join(traceback.format_exception(exc))[-4000:],
            )
            raise
        _move(
            write,
            run_id,
            RunState.RUNNING.value,
            RunState.SUCCEEDED,
            "finished",
            finished_at=utcnow(),
            result=progress.result,
        )


def get_run(run_id: int) -> JobRun | None:
    return db.session.get(JobRun, run_id)


def log_of(run_id: int) -> list[JobRunLog]:
    return list(
        db.session.scalars(select(JobRunLog).where(JobRunLog.run_id == run_id).order_by(JobRunLog.id))
    )


def latest_runs(kind: str | None = None, limit: int = 20) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if kind:
        stmt = stmt.where(JobRun.kind == kind)
    return list(db.session.scalars(stmt))


__all__ = ["AlreadyClaimed", "Progress", "get_run", "latest_runs", "log_of", "queue", "requested_by", "track"]
