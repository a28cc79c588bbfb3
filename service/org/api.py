"""REST endpoints for clusters and schools (``/api/v1``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role, roles_required
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.db import db
from service.org import operations
from service.org.models import Cluster, School
from service.org.schemas import (
    ClusterIn,
    ClusterOut,
    ClusterPatch,
    SchoolIn,
    SchoolListArgs,
    SchoolOut,
    SchoolPatch,
)

blp = Blueprint("org", __name__, url_prefix="/api/v1", description="片区与学校 Clusters and schools")


@blp.route("/clusters")
class Clusters(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ClusterOut(many=True))
    def get(self, page: dict[str, Any]) -> Any:
        """Clusters (片区) - every role sees the list."""
        return paginate(operations.list_clusters(), **page)

    @roles_required(Role.BUREAU_ADMIN)
    @blp.arguments(ClusterIn)
    @blp.response(201, ClusterOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a cluster, optionally with its supervisor (an active inspector) - bureau admin."""
        cluster = operations.create_cluster(data)
        db.session.commit()
        return cluster


@blp.route("/clusters/<int:cluster_id>")
class ClusterItem(MethodView):
    @blp.response(200, ClusterOut)
    def get(self, cluster_id: int) -> Any:
        return get_or_404(Cluster, cluster_id)

    @blp.arguments(ClusterPatch(partial=True))
    @blp.response(200, ClusterOut)
    def patch(self, data: dict[str, Any], cluster_id: int) -> Any:
        """Rename a cluster or assign its supervisor, who is given the cluster to inspect (bureau admin)."""
        cluster = get_or_404(Cluster, cluster_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.update_cluster(cluster, data)
        db.session.commit()
        return cluster


@blp.route("/schools")
class Schools(MethodView):
    @blp.arguments(SchoolListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SchoolOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Schools in the caller's scope."""
        stmt = operations.list_schools(
            cluster_id=filters.get("cluster_id"),
            school_type=filters.get("type"),
            active=filters.get("active"),
        )
        return paginate(stmt, **page)

    @roles_required(Role.BUREAU_ADMIN)
    @blp.arguments(SchoolIn)
    @blp.response(201, SchoolOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a school (bureau admin)."""
        school = operations.create_school(data)
        db.session.commit()
        return school


@blp.route("/schools/<int:school_id>")
class SchoolItem(MethodView):
    @blp.response(200, SchoolOut)
    def get(self, school_id: int) -> Any:
        return get_or_404(School, school_id)

    @blp.arguments(SchoolPatch(partial=True))
    @blp.response(200, SchoolOut)
    def patch(self, data: dict[str, Any], school_id: int) -> Any:
        """Change a school's record (bureau admin)."""
        school = get_or_404(School, school_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.update_school(school, data)
        db.session.commit()
        return school
