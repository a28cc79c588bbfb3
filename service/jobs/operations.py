"""Running a long job inside a :class:`JobRun`: claim, progress, finish - the execution state machine.

``track(run_key, kind, params)`` claims the run row (creating it on first delivery; a redelivered
message with the same key claims the same row again, ``attempts`` + 1) and yields a
:class:`Progress` the job calls with (done, total, step). On PostgreSQL the run row is written on a
separate autocommit connection, so the API and the CLI see progress while the job's own transaction
is still open, and a job whose transaction rolls back still leaves its ``failed`` state and error
behind. On SQLite (the embedded demo, one writer) the run row is written in the job's session.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert, select, update

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


def claim(
    write: Any, run_key: str, kind: str, params: dict[str, Any], requested_by: str = ""
) -> tuple[int, str]:
    """The run row for ``run_key`` (created queued if new) and its state before this attempt."""
    row = write(select(runs.c.id, runs.c.state).where(runs.c.run_key == run_key)).first()
    if row is None:
        write(
            insert(runs).values(
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
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        row = write(select(runs.c.id, runs.c.state).where(runs.c.run_key == run_key)).first()
    return row.id, row.state


def queue(run_key: str, kind: str, params: dict[str, Any], *, requested_by: str = "") -> int:
    """Record a run as queued before its task is sent (the API returns its id at once), with who
    asked for it."""
    with _writer() as write:
        run_id, _ = claim(write, run_key, kind, params, requested_by)
    return run_id


@contextmanager
def track(run_key: str, kind: str, params: dict[str, Any]) -> Iterator[Progress]:
    """Run the body as attempt n of the run ``run_key``; record success (with ``progress.result``) or
    failure (with the error), then re-raise a failure so the task is marked failed too."""
    with _writer() as write:
        run_id, state = claim(write, run_key, kind, params)
        _move(
            write,
            run_id,
            state,
            RunState.RUNNING,
            "attempt started",
            started_at=utcnow(),
            finished_at=None,
            error="",
            attempts=runs.c.attempts + 1,
        )
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


__all__ = ["Progress", "get_run", "latest_runs", "log_of", "queue", "requested_by", "track"]
