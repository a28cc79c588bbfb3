"""``GET /api/v1/audit``: the change history, for the bureau."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import roles_required
from service.accounts.models import Role
from service.audit.models import AuditEntry
from service.audit.schemas import AuditArgs, AuditEntryOut
from service.core.pagination import paginate
from service.core.schemas import PageArgs

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计记录 Audit trail")


@blp.route("/audit")
class Audit(MethodView):
    @roles_required(Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL)
    @blp.arguments(AuditArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, AuditEntryOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Who changed what and when, newest first; filter by table, row or school."""
        stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        if "table" in filters:
            stmt = stmt.where(AuditEntry.table_name == filters["table"])
        if "row_id" in filters:
            stmt = stmt.where(AuditEntry.row_id == filters["row_id"])
        if "school_id" in filters:
            stmt = stmt.where(AuditEntry.school_id == filters["school_id"])
        return paginate(stmt, **page)
