"""REST endpoint for job runs: the progress, result, error and log of a long job (bureau roles)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.jobs.models import JobRun
from service.rankings.schemas import JobRunOut

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="后台任务 Job runs")


@blp.route("/jobs/<int:job_id>")
class JobItem(MethodView):
    @blp.response(200, JobRunOut)
    def get(self, job_id: int) -> Any:
        """State, done/total, current step, attempts, result, error and the state log of one run."""
        ensure_role(Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL)
        return get_or_404(JobRun, job_id)
