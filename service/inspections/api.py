"""REST endpoints for inspections (自查 / 督查) and the canteen's monthly facts (``/api/v1``).

Roles: a school admin records self-inspections of their own school; an inspector (schools of their
clusters - the scope sees to that) or a bureau admin records spot inspections. A school admin may
read but never change a spot inspection. Rows are always looked up in scope first, so another
school's ids are a 404 for everybody.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.timeutil import today_shanghai
from service.db import db
from service.inspections import operations
from service.inspections.models import Inspection, InspectionMode
from service.inspections.schemas import (
    CanteenFactsIn,
    CanteenFactsOut,
    InspectionDetailOut,
    InspectionIn,
    InspectionListArgs,
    InspectionOut,
    InspectionPatch,
)
from service.org.models import School
from service.periods.models import Period
from service.reports.models import MonthlyReport
from tenants import current_scope

blp = Blueprint("inspections", __name__, url_prefix="/api/v1", description="检查 Inspections")

# Who may create, change or delete an inspection of each mode.
WRITERS = {
    InspectionMode.SELF: (Role.SCHOOL_ADMIN,),
    InspectionMode.SPOT: (Role.INSPECTOR, Role.BUREAU_ADMIN),
}


def _detail(inspection: Inspection) -> Inspection:
    inspection.item_results = operations.load_results(inspection)  # type: ignore[attr-defined]
    return inspection


@blp.route("/inspections")
class Inspections(MethodView):
    @blp.arguments(InspectionListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, InspectionOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Inspections of the schools in the caller's scope, newest first."""
        return paginate(operations.list_inspections(**filters), **page)

    @blp.arguments(InspectionIn)
    @blp.response(201, InspectionDetailOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Record an inspection with its whole item list, scored on save; all or nothing."""
        period = get_or_404(Period, data["period_id"])
        school = get_or_404(School, data["school_id"]) if "school_id" in data else None
        ensure_role(*WRITERS[data["mode"]])
        if school is None:
            school_id = current_scope().single_school_id
            if school_id is None:
                raise DomainError({"school_id": [_("Missing data for required field.")]})
            school = get_or_404(School, school_id)
        inspection = operations.create_inspection(
            period, school, data, user=current_user._get_current_object(), today=today_shanghai()
        )
        db.session.commit()
        return _detail(inspection)


@blp.route("/inspections/<int:inspection_id>")
class InspectionItem(MethodView):
    @blp.response(200, InspectionDetailOut)
    def get(self, inspection_id: int) -> Any:
        return _detail(get_or_404(Inspection, inspection_id))

    @blp.arguments(InspectionPatch)
    @blp.response(200, InspectionDetailOut)
    def patch(self, data: dict[str, Any], inspection_id: int) -> Any:
        """Change notes, date, inspector or the item list; scored again with the same rubric version."""
        inspection = get_or_404(Inspection, inspection_id)
        ensure_role(*WRITERS[inspection.mode])
        operations.update_inspection(inspection, data, today=today_shanghai())
        db.session.commit()
        return _detail(inspection)

    @blp.response(204)
    def delete(self, inspection_id: int) -> Any:
        inspection = get_or_404(Inspection, inspection_id)
        ensure_role(*WRITERS[inspection.mode])
        operations.delete_inspection(inspection, today=today_shanghai())
        db.session.commit()
        return None


@blp.route("/reports/<int:report_id>/canteen-facts")
class CanteenFacts(MethodView):
    @blp.response(200, CanteenFactsOut)
    def get(self, report_id: int) -> Any:
        """The canteen's facts of the report's month; 404 until they are entered."""
        facts = operations.get_facts(get_or_404(MonthlyReport, report_id))
        if facts is None:
            raise NotFound()
        return facts

    @blp.arguments(CanteenFactsIn)
    @blp.response(200, CanteenFactsOut)
    def put(self, data: dict[str, Any], report_id: int) -> Any:
        """Enter or replace the month's canteen facts (school admin, while the report is editable)."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.SCHOOL_ADMIN)
        facts = operations.put_facts(report, data, today=today_shanghai())
        db.session.commit()
        return facts
