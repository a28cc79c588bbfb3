"""REST endpoints for appeals against spot inspections (申诉), under ``/api/v1/appeals``.

Roles: a school admin files an appeal against a spot inspection of their school; an inspector of the
school's cluster or a bureau admin - never the inspector who carried out the inspection - decides it.
Everybody reads the appeals in their scope. Rows are looked up in scope first, so another school's
ids are a 404 for everybody.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.appeals import operations
from service.appeals.models import AppealState, InspectionAppeal
from service.appeals.schemas import AppealIn, AppealListArgs, AppealOut, AppealTransitionOut, DecisionIn
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.inspections.models import Inspection

blp = Blueprint("appeals", __name__, url_prefix="/api/v1", description="申诉 Spot-inspection appeals")

DECIDERS = (Role.INSPECTOR, Role.BUREAU_ADMIN)


@blp.route("/appeals")
class Appeals(MethodView):
    @blp.arguments(AppealListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, AppealOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Appeals of the schools in the caller's scope, newest first; filter by ``state``."""
        return paginate(operations.list_appeals(**filters), **page)

    @blp.arguments(AppealIn)
    @blp.response(201, AppealOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Appeal a spot inspection of your school within 10 working days (school admin)."""
        inspection = get_or_404(Inspection, data["inspection_id"])
        ensure_role(Role.SCHOOL_ADMIN)
        appeal = operations.file_appeal(inspection, data["reason"], today=today_shanghai(), now=utcnow())
        db.session.commit()
        return appeal


@blp.route("/appeals/<int:appeal_id>")
class AppealItem(MethodView):
    @blp.response(200, AppealOut)
    def get(self, appeal_id: int) -> Any:
        return get_or_404(InspectionAppeal, appeal_id)


@blp.route("/appeals/<int:appeal_id>/decision")
class AppealDecision(MethodView):
    @blp.arguments(DecisionIn)
    @blp.response(200, AppealOut)
    def post(self, data: dict[str, Any], appeal_id: int) -> Any:
        """Uphold or reject with a note: an inspector of the school's cluster or a bureau admin who
        did not carry out the inspection. Upheld sets the inspection aside and recomputes the month."""
        appeal = get_or_404(InspectionAppeal, appeal_id)
        ensure_role(*DECIDERS)
        operations.decide(appeal, AppealState(data["outcome"]), data["note"], now=utcnow())
        db.session.commit()
        return appeal


@blp.route("/appeals/<int:appeal_id>/transitions")
class AppealTransitions(MethodView):
    @blp.response(200, AppealTransitionOut(many=True))
    def get(self, appeal_id: int) -> Any:
        """The appeal's history: filing and decision, who, when, and the note."""
        return operations.transitions_of(get_or_404(InspectionAppeal, appeal_id))
