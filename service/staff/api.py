"""REST endpoints for the staff roster and certificate warnings (``/api/v1``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.db import db
from service.org.models import School
from service.staff import operations, vetoes
from service.staff.models import CertificateWarning, StaffMember, StaffVeto
from service.staff.schemas import (
    CertificateWarningOut,
    RecomputeAccepted,
    StaffIn,
    StaffListArgs,
    StaffOut,
    StaffPatch,
    StaffVetoIn,
    StaffVetoOut,
)
from tenants import current_scope

blp = Blueprint("staff", __name__, url_prefix="/api/v1", description="后勤人员 Logistics staff")

WRITERS = (Role.BUREAU_ADMIN, Role.SCHOOL_ADMIN)


def _by_bureau() -> bool:
    return current_user.role is Role.BUREAU_ADMIN


@blp.route("/staff")
class StaffCollection(MethodView):
    @blp.arguments(StaffListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, StaffOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Staff of the schools in the caller's scope."""
        return paginate(operations.list_staff(**filters), **page)

    @blp.arguments(StaffIn)
    @blp.response(201, StaffOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a staff member to a school in scope (a school admin's own school by default)."""
        if "school_id" in data:
            get_or_404(School, data["school_id"])  # another school's id reads as not found
        ensure_role(*WRITERS)
        if "school_id" not in data and current_scope().single_school_id is None:
            raise DomainError({"school_id": [_("Missing data for required field.")]})
        member = operations.create_staff(data)
        db.session.commit()
        return member


@blp.route("/staff/<int:staff_id>")
class StaffItem(MethodView):
    @blp.response(200, StaffOut)
    def get(self, staff_id: int) -> Any:
        return get_or_404(StaffMember, staff_id)

    @blp.arguments(StaffPatch(partial=True))
    @blp.response(200, StaffOut)
    def patch(self, data: dict[str, Any], staff_id: int) -> Any:
        member = get_or_404(StaffMember, staff_id)
        ensure_role(*WRITERS)
        operations.update_staff(member, data)
        db.session.commit()
        return member


@blp.route("/staff/<int:staff_id>/vetoes")
class StaffVetoes(MethodView):
    @blp.response(200, StaffVetoOut(many=True))
    def get(self, staff_id: int) -> Any:
        """A person's vetoes for 优秀后勤人员 (accident at fault, discipline, kickback, unexcused absence)."""
        return list(db.session.scalars(vetoes.list_for(get_or_404(StaffMember, staff_id))))

    @blp.arguments(StaffVetoIn)
    @blp.response(201, StaffVetoOut)
    def post(self, data: dict[str, Any], staff_id: int) -> Any:
        """Record one (school admin of the person's school, or bureau admin): it bars the person from
        优秀后勤人员 for 12 months from ``occurred_on``; scores are not touched."""
        member = get_or_404(StaffMember, staff_id)
        ensure_role(*WRITERS)
        veto = vetoes.record(member, data, user=current_user._get_current_object(), by_bureau=_by_bureau())
        db.session.commit()
        return veto


@blp.route("/staff/<int:staff_id>/vetoes/<int:veto_id>")
class StaffVetoItem(MethodView):
    @blp.response(204)
    def delete(self, staff_id: int, veto_id: int) -> None:
        """Withdraw a veto recorded in error (the audit trail keeps it). 403 with the reason for a
        school admin when the bureau recorded it, or when its month is locked."""
        member = get_or_404(StaffMember, staff_id)
        ensure_role(*WRITERS)
        veto = get_or_404(StaffVeto, veto_id)
        if veto.staff_id != member.id:
            raise NotFound()
        vetoes.withdraw(veto, by_bureau=_by_bureau())
        db.session.commit()


@blp.route("/schools/<int:school_id>/certificate-warnings")
class CertificateWarnings(MethodView):
    @blp.response(200, CertificateWarningOut(many=True))
    def get(self, school_id: int) -> Any:
        """Current health-certificate warnings of one school (as of the last recompute)."""
        get_or_404(School, school_id)
        stmt = (
            select(CertificateWarning)
            .where(CertificateWarning.school_id == school_id)
            .order_by(CertificateWarning.expires_on.nulls_first(), CertificateWarning.staff_id)
        )
        return list(db.session.scalars(stmt))


@blp.route("/schools/<int:school_id>/certificate-warnings/recompute")
class RecomputeCertificateWarnings(MethodView):
    @blp.response(202, RecomputeAccepted)
    def post(self, school_id: int) -> Any:
        """Queue a recompute of one school's warnings (runs on the worker after this commit)."""
        get_or_404(School, school_id)
        ensure_role(*WRITERS)
        operations.request_recompute(school_id)
        db.session.commit()
        return {"queued": True, "task": operations.RECOMPUTE_TASK}
