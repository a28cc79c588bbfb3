"""REST endpoints for hazards (整改通知单): notices, the rectification workflow, its history."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.hazards import operations
from service.hazards.models import Hazard
from service.hazards.schemas import (
    CloseIn,
    HazardIn,
    HazardListArgs,
    HazardOut,
    HazardPatch,
    HazardTransitionOut,
    ReopenIn,
)
from service.org.models import School

blp = Blueprint("hazards", __name__, url_prefix="/api/v1", description="隐患整改 Hazards and rectification")

# Bureau admins and the inspectors of a school's cluster record findings of their spot checks.
ISSUERS = (Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN, Role.INSPECTOR)
BUREAU_SIDE = (Role.BUREAU_ADMIN, Role.INSPECTOR)


def _by_bureau() -> bool:
    return current_user.role in BUREAU_SIDE


@blp.route("/hazards")
class Hazards(MethodView):
    @blp.arguments(HazardListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, HazardOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Hazards in the caller's scope; ``overdue=true`` lists those past their deadline and not closed."""
        return paginate(operations.list_hazards(as_of=today_shanghai(), **filters), **page)

    @blp.arguments(HazardIn)
    @blp.response(201, HazardOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Issue a rectification notice (school admin for their school; bureau admin or inspector for any in scope)."""
        if "school_id" in data:
            get_or_404(School, data["school_id"])  # another school's id reads as not found
        ensure_role(*ISSUERS)
        hazard = operations.create_hazard(data, today=today_shanghai(), by_bureau=_by_bureau())
        db.session.commit()
        return hazard


@blp.route("/hazards/<int:hazard_id>")
class HazardItem(MethodView):
    @blp.response(200, HazardOut)
    def get(self, hazard_id: int) -> Any:
        return get_or_404(Hazard, hazard_id)

    @blp.arguments(HazardPatch(partial=True))
    @blp.response(200, HazardOut)
    def patch(self, data: dict[str, Any], hazard_id: int) -> Any:
        """Correct a notice that is not closed; the school may not rewrite a notice the bureau issued."""
        hazard = get_or_404(Hazard, hazard_id)
        ensure_role(*ISSUERS)
        operations.update_hazard(hazard, data, today=today_shanghai(), by_bureau=_by_bureau())
        db.session.commit()
        return hazard


@blp.route("/hazards/<int:hazard_id>/start")
class StartHazard(MethodView):
    @blp.response(200, HazardOut)
    def post(self, hazard_id: int) -> Any:
        """Rectification has begun (open → rectifying): the school admin, or a bureau admin."""
        hazard = get_or_404(Hazard, hazard_id)
        ensure_role(Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)
        operations.start(hazard, now=utcnow())
        db.session.commit()
        return hazard


@blp.route("/hazards/<int:hazard_id>/close")
class CloseHazard(MethodView):
    @blp.arguments(CloseIn)
    @blp.response(200, HazardOut)
    def post(self, data: dict[str, Any], hazard_id: int) -> Any:
        """Close (销号) with how it was fixed and on which day (rectifying → closed)."""
        hazard = get_or_404(Hazard, hazard_id)
        ensure_role(*ISSUERS)
        operations.close(
            hazard,
            data["closing_note"],
            data["closed_on"],
            today=today_shanghai(),
            now=utcnow(),
            by_bureau=_by_bureau(),
        )
        db.session.commit()
        return hazard


@blp.route("/hazards/<int:hazard_id>/reopen")
class ReopenHazard(MethodView):
    @blp.arguments(ReopenIn)
    @blp.response(200, HazardOut)
    def post(self, data: dict[str, Any], hazard_id: int) -> Any:
        """The fix did not hold (closed → rectifying), with a reason: bureau admin or inspector."""
        hazard = get_or_404(Hazard, hazard_id)
        ensure_role(*BUREAU_SIDE)
        operations.reopen(hazard, data["reason"], now=utcnow())
        db.session.commit()
        return hazard


@blp.route("/hazards/<int:hazard_id>/transitions")
class HazardTransitions(MethodView):
    @blp.response(200, HazardTransitionOut(many=True))
    def get(self, hazard_id: int) -> Any:
        """The notice's history: every state change, who made it, when, and the note."""
        return operations.transitions_of(get_or_404(Hazard, hazard_id))
