"""REST endpoints for monthly reports: create, read, the workflow actions, completeness."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.errors import DomainError
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.timeutil import today_shanghai
from service.core.types import utcnow
from service.db import db
from service.org.models import School
from service.periods.models import Period
from service.reports import operations
from service.reports.models import MonthlyReport
from service.reports.schemas import (
    CompletenessArgs,
    CompletenessRow,
    ReasonIn,
    ReportIn,
    ReportListArgs,
    ReportOut,
    TransitionOut,
)
from service.reports.status import status_by_school
from tenants import current_scope

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="月报 Monthly reports")

REVIEWERS = (Role.BUREAU_ADMIN, Role.INSPECTOR)


@blp.route("/reports")
class Reports(MethodView):
    @blp.arguments(ReportListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ReportOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Monthly reports in the caller's scope."""
        return paginate(operations.list_reports(**filters), **page)

    @blp.arguments(ReportIn)
    @blp.response(201, ReportOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Open (or return the existing) report of a school for a period."""
        period = get_or_404(Period, data["period_id"])
        if "school_id" in data:
            get_or_404(School, data["school_id"])
        ensure_role(Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)
        if "school_id" not in data and current_scope().single_school_id is None:
            raise DomainError({"school_id": [_("Missing data for required field.")]})
        report = operations.open_report(period, school_id=data.get("school_id"))
        db.session.commit()
        return report


@blp.route("/reports/<int:report_id>")
class ReportItem(MethodView):
    @blp.response(200, ReportOut)
    def get(self, report_id: int) -> Any:
        return get_or_404(MonthlyReport, report_id)


@blp.route("/reports/<int:report_id>/transitions")
class ReportTransitions(MethodView):
    @blp.response(200, TransitionOut(many=True))
    def get(self, report_id: int) -> Any:
        """The report's history: every state change, who made it, when, and why."""
        return operations.transitions_of(get_or_404(MonthlyReport, report_id))


@blp.route("/reports/<int:report_id>/submit")
class SubmitReport(MethodView):
    @blp.response(200, ReportOut)
    def post(self, report_id: int) -> Any:
        """Submit for review (school admin); 409 if the state or the lock forbids it."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.SCHOOL_ADMIN)
        operations.submit(report, now=utcnow())
        db.session.commit()
        return report


@blp.route("/reports/<int:report_id>/return")
class ReturnReport(MethodView):
    @blp.arguments(ReasonIn)
    @blp.response(200, ReportOut)
    def post(self, data: dict[str, Any], report_id: int) -> Any:
        """Return for correction with a reason (bureau admin, or an inspector of the school's cluster)."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(*REVIEWERS)
        operations.return_report(report, data["reason"], now=utcnow())
        db.session.commit()
        return report


@blp.route("/reports/<int:report_id>/accept")
class AcceptReport(MethodView):
    @blp.response(200, ReportOut)
    def post(self, report_id: int) -> Any:
        """Accept (审核通过): the month now feeds the rankings."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(*REVIEWERS)
        operations.accept(report, now=utcnow())
        db.session.commit()
        return report


@blp.route("/reports/<int:report_id>/reopen")
class ReopenReport(MethodView):
    @blp.arguments(ReasonIn)
    @blp.response(200, ReportOut)
    def post(self, data: dict[str, Any], report_id: int) -> Any:
        """Take an accepted report back for correction (bureau admin)."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.reopen(report, data["reason"], now=utcnow())
        db.session.commit()
        return report


@blp.route("/completeness")
class Completeness(MethodView):
    @blp.arguments(CompletenessArgs, location="query")
    @blp.response(200, CompletenessRow(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Which schools in scope submitted the period's report, on time or late, and which did not."""
        period = get_or_404(Period, args["period_id"])
        statuses = status_by_school(period, today=today_shanghai())
        return [
            {**row._mapping, "month_status": statuses[row.school_id].value}
            for row in operations.completeness(period)
        ]
