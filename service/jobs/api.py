"""REST endpoints for job runs (bureau roles): the progress, result, error and log of a long job, and
the heartbeat - when the scheduler (beat) and a worker were last seen (service/jobs/heartbeat.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.core.schemas import Timestamp
from service.core.timeutil import utcnow
from service.jobs import heartbeat
from service.jobs.models import JobRun
from service.rankings.schemas import JobRunOut

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="后台任务 Job runs")


class SightingOut(Schema):
    seen_at = Timestamp(allow_none=True)
    silent_seconds = fields.Function(lambda s: int(s.silent_for.total_seconds()) if s.silent_for else None)
    limit_seconds = fields.Function(lambda s: int(s.limit.total_seconds()))
    silent = fields.Boolean()
    detail = fields.String()


class WarningOut(Schema):
    code = fields.Function(lambda w: w[0])
    message = fields.Function(lambda w: w[1])


class HeartbeatOut(Schema):
    embedded = fields.Boolean(metadata={"description": "eager Celery: tasks run inside the request"})
    ok = fields.Boolean()
    beat = fields.Nested(SightingOut, allow_none=True)
    worker = fields.Nested(SightingOut, allow_none=True)
    warnings = fields.List(fields.Nested(WarningOut))


@blp.route("/jobs/<int:job_id>")
class JobItem(MethodView):
    @blp.response(200, JobRunOut)
    def get(self, job_id: int) -> Any:
        """State, done/total, current step, attempts, result, error and the state log of one run."""
        ensure_role(Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL)
        return get_or_404(JobRun, job_id)


@blp.route("/jobs/heartbeat")
class Heartbeat(MethodView):
    @blp.response(200, HeartbeatOut)
    def get(self) -> Any:
        """When beat and a worker were last seen, with a warning for each silence longer than its
        schedule allows (beat > 3 min, worker > 3 min, heartbeats queued > 2 min)."""
        ensure_role(Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL)
        return heartbeat.status(utcnow(), embedded=bool(current_app.config.get("CELERY_ALWAYS_EAGER")))
