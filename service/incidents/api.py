"""REST endpoints for incidents (安全事故) and the vetoes (一票否决) in force."""

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
from service.incidents import operations
from service.incidents.models import Incident
from service.incidents.schemas import (
    IncidentDetailOut,
    IncidentIn,
    IncidentListArgs,
    IncidentOut,
    IncidentPatch,
    VetoListArgs,
    VetoOut,
)
from service.incidents.vetoes import list_vetoes
from service.org.models import School

blp = Blueprint(
    "incidents", __name__, url_prefix="/api/v1", description="安全事故与一票否决 Incidents and vetoes"
)

WRITERS = (Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)


def _by_bureau() -> bool:
    return current_user.role is Role.BUREAU_ADMIN


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(IncidentListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, IncidentOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Incidents in the caller's scope, newest first."""
        return paginate(operations.list_incidents(**filters), **page)

    @blp.arguments(IncidentIn)
    @blp.response(201, IncidentDetailOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Report an incident (school admin for their school; bureau admin for any school)."""
        if "school_id" in data:
            get_or_404(School, data["school_id"])  # another school's id reads as not found
        ensure_role(*WRITERS)
        incident = operations.create_incident(
            data, now=utcnow(), today=today_shanghai(), by_bureau=_by_bureau()
        )
        db.session.commit()
        return incident


@blp.route("/incidents/<int:incident_id>")
class IncidentItem(MethodView):
    @blp.response(200, IncidentDetailOut)
    def get(self, incident_id: int) -> Any:
        """One incident with the vetoes derived from it."""
        return get_or_404(Incident, incident_id)

    @blp.arguments(IncidentPatch(partial=True))
    @blp.response(200, IncidentDetailOut)
    def patch(self, data: dict[str, Any], incident_id: int) -> Any:
        """Correct an incident; its vetoes are derived again from the new facts.

        A bureau admin's PATCH (an empty one too) confirms the incident: from then on its type, time,
        severity, fault and findings are the bureau's (403 for a school admin, per field); a school
        admin's change that would lift or shorten a veto is refused (403) in any case."""
        incident = get_or_404(Incident, incident_id)
        ensure_role(*WRITERS)
        operations.update_incident(
            incident, data, now=utcnow(), today=today_shanghai(), by_bureau=_by_bureau()
        )
        db.session.commit()
        return incident


@blp.route("/vetoes")
class Vetoes(MethodView):
    @blp.arguments(VetoListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VetoOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Vetoes in the caller's scope; with ``as_of``, only those in force that day. They never change scores."""
        return paginate(list_vetoes(**filters), **page)
