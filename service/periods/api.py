"""REST endpoints for periods and unlock requests (``/api/v1``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import ensure_role, roles_required
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.timeutil import today_shanghai
from service.db import db
from service.periods import operations
from service.periods.models import Period, UnlockRequest
from service.periods.schemas import (
    PeriodIn,
    PeriodOut,
    PeriodPatch,
    UnlockDecisionIn,
    UnlockListArgs,
    UnlockRequestIn,
    UnlockRequestOut,
)

blp = Blueprint("periods", __name__, url_prefix="/api/v1", description="填报周期 Reporting periods")


@blp.route("/periods")
class Periods(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, PeriodOut(many=True))
    def get(self, page: dict[str, Any]) -> Any:
        """Reporting periods, newest first."""
        return paginate(operations.list_periods(), **page)

    @roles_required(Role.BUREAU_ADMIN)
    @blp.arguments(PeriodIn)
    @blp.response(201, PeriodOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a month for reporting (bureau admin); the deadline defaults to the 5th of the next month."""
        period = operations.create_period(data)
        db.session.commit()
        return period


@blp.route("/periods/<int:period_id>")
class PeriodItem(MethodView):
    @blp.response(200, PeriodOut)
    def get(self, period_id: int) -> Any:
        return get_or_404(Period, period_id)

    @blp.arguments(PeriodPatch)
    @blp.response(200, PeriodOut)
    def patch(self, data: dict[str, Any], period_id: int) -> Any:
        """Move a deadline or the lock (bureau admin), until the period locks."""
        period = get_or_404(Period, period_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.update_period(period, data, today=today_shanghai())
        db.session.commit()
        return period


@blp.route("/periods/<int:period_id>/unlock-requests")
class PeriodUnlockRequests(MethodView):
    @blp.arguments(UnlockRequestIn)
    @blp.response(201, UnlockRequestOut)
    def post(self, data: dict[str, Any], period_id: int) -> Any:
        """A school asks to edit a locked month, with a reason (school admin)."""
        period = get_or_404(Period, period_id)
        ensure_role(Role.SCHOOL_ADMIN)
        req = operations.request_unlock(period, data["reason"], today=today_shanghai())
        db.session.commit()
        return req


@blp.route("/unlock-requests")
class UnlockRequests(MethodView):
    @blp.arguments(UnlockListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, UnlockRequestOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Unlock requests in the caller's scope."""
        stmt = select(UnlockRequest).order_by(UnlockRequest.requested_at.desc())
        if "state" in filters:
            stmt = stmt.where(UnlockRequest.state == filters["state"])
        if "period_id" in filters:
            stmt = stmt.where(UnlockRequest.period_id == filters["period_id"])
        return paginate(stmt, **page)


def _decide(request_id: int, data: dict[str, Any], *, grant: bool) -> Any:
    req = get_or_404(UnlockRequest, request_id)
    ensure_role(Role.BUREAU_ADMIN)
    operations.decide_unlock(req, grant=grant, note=data.get("note", ""), today=today_shanghai())
    db.session.commit()
    return req


@blp.route("/unlock-requests/<int:request_id>/grant")
class GrantUnlock(MethodView):
    @blp.arguments(UnlockDecisionIn)
    @blp.response(200, UnlockRequestOut)
    def post(self, data: dict[str, Any], request_id: int) -> Any:
        """Grant an unlock (bureau admin): the school may edit that month for 7 days."""
        return _decide(request_id, data, grant=True)


@blp.route("/unlock-requests/<int:request_id>/refuse")
class RefuseUnlock(MethodView):
    @blp.arguments(UnlockDecisionIn)
    @blp.response(200, UnlockRequestOut)
    def post(self, data: dict[str, Any], request_id: int) -> Any:
        """Refuse an unlock, saying why (bureau admin)."""
        return _decide(request_id, data, grant=False)
