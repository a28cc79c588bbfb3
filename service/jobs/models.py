"""Job runs and their transition log (the execution state machine of long jobs).

One row per logical run, keyed by ``run_key`` (the Celery task id, or a CLI-chosen key): a redelivered
message finds its row and runs again in it (``attempts`` + 1) instead of creating a second one. States:
queued → running → succeeded | failed; a failed or interrupted run may run again (running again).
``done``/``total`` is the progress the API and the CLI show. Bureau-level: the parameters are ids.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


RUN_STATE_LABELS = {
    RunState.QUEUED: ("排队中", "Queued"),
    RunState.RUNNING: ("运行中", "Running"),
    RunState.SUCCEEDED: ("已完成", "Succeeded"),
    RunState.FAILED: ("失败", "Failed"),
}


class JobRun(Base):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[RunState] = mapped_column(str_enum(RunState, "run_state"), default=RunState.QUEUED)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str] = mapped_column(String(120), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # Who asked for it ("王建国 (admin)"), kept as text so it outlives the account; "" for the runs
    # started by the system (beat's nightly jobs, the re-ranking after an acceptance).
    requested_by: Mapped[str] = mapped_column(String(120), default="", server_default="")


class JobRunLog(Base):
    __tablename__ = "job_run_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("job_runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    from_state: Mapped[str] = mapped_column(String(20), default="")
    to_state: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")


class Heartbeat(Base):
    """When the scheduler (``beat``) and a worker (``worker``) were last seen (service/jobs/heartbeat.py).

    Bureau-level, one row per component. ``seen_at`` is the time the component proved itself alive;
    for the worker row ``sent_at`` is when beat sent the heartbeat it ran (so a heartbeat queued but not
    run shows), and ``detail`` the worker's hostname.
    """

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(TZDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
