"""REST endpoints for staff evaluations (``/api/v1``): school and bureau admins write, others read."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.timeutil import today_shanghai
from service.db import db
from service.evaluations import operations
from service.evaluations.models import Evaluation
from service.evaluations.schemas import (
    EvaluationIn,
    EvaluationListArgs,
    EvaluationOut,
    EvaluationPatch,
    MissingStaffOut,
)
from service.periods.models import Period
from service.reports.models import MonthlyReport
from service.staff.models import StaffMember

blp = Blueprint("evaluations", __name__, url_prefix="/api/v1", description="后勤人员考核 Staff evaluations")

WRITERS = (Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)


@blp.route("/evaluations")
class Evaluations(MethodView):
    @blp.arguments(EvaluationListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, EvaluationOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Evaluations in the caller's scope, with their ratings."""
        return paginate(operations.list_evaluations(**filters), **page)

    @blp.arguments(EvaluationIn)
    @blp.response(201, EvaluationOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Evaluate one staff member for one month: every rating in one request, all or nothing."""
        staff = get_or_404(StaffMember, data["staff_id"])  # another school's staff reads as not found
        period = get_or_404(Period, data["period_id"])
        ensure_role(*WRITERS)
        evaluation = operations.create_evaluation(staff, period, data["ratings"], today=today_shanghai())
        db.session.commit()
        return evaluation


@blp.route("/evaluations/<int:evaluation_id>")
class EvaluationItem(MethodView):
    @blp.response(200, EvaluationOut)
    def get(self, evaluation_id: int) -> Any:
        return get_or_404(Evaluation, evaluation_id)

    @blp.arguments(EvaluationPatch)
    @blp.response(200, EvaluationOut)
    def patch(self, data: dict[str, Any], evaluation_id: int) -> Any:
        """Replace the ratings and recompute (with the rubric version the evaluation was made with)."""
        evaluation = get_or_404(Evaluation, evaluation_id)
        ensure_role(*WRITERS)
        operations.replace_ratings(evaluation, data["ratings"], today=today_shanghai())
        db.session.commit()
        return evaluation

    @blp.response(204)
    def delete(self, evaluation_id: int) -> Any:
        evaluation = get_or_404(Evaluation, evaluation_id)
        ensure_role(*WRITERS)
        operations.delete_evaluation(evaluation, today=today_shanghai())
        db.session.commit()
        return None


@blp.route("/reports/<int:report_id>/missing-evaluations")
class MissingEvaluations(MethodView):
    @blp.response(200, MissingStaffOut(many=True))
    def get(self, report_id: int) -> Any:
        """Active staff of the report's school still without an evaluation for its month."""
        return operations.missing_evaluations(get_or_404(MonthlyReport, report_id))
