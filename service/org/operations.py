"""Schools and clusters: plain functions over the session (flush, never commit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.core.errors import DomainError
from service.db import db
from service.org.models import Cluster, School


def list_clusters() -> Any:
    return select(Cluster).order_by(Cluster.code)


def list_schools(
    *, cluster_id: int | None = None, school_type: Any = None, active: bool | None = None
) -> Any:
    """Schools visible in the current scope (the tenant wall does the scoping), narrowed by filters."""
    stmt = select(School).order_by(School.code)
    if cluster_id is not None:
        stmt = stmt.where(School.cluster_id == cluster_id)
    if school_type is not None:
        stmt = stmt.where(School.type == school_type)
    if active is not None:
        stmt = stmt.where(School.active.is_(active))
    return stmt


def _check_unique(data: Mapping[str, Any], school: School | None = None) -> None:
    errors: dict[str, list[str]] = {}
    for field in ("code", "name"):
        if field not in data:
            continue
        stmt = select(School.id).where(getattr(School, field) == data[field])
        if school is not None:
            stmt = stmt.where(School.id != school.id)
        if db.session.scalar(stmt) is not None:
            errors[field] = [_("Another school already uses this value.")]
    if (
        "cluster_id" in data
        and db.session.scalar(select(Cluster.id).where(Cluster.id == data["cluster_id"])) is None
    ):
        errors["cluster_id"] = [_("Unknown cluster.")]
    if errors:
        raise DomainError(errors)


def create_school(data: Mapping[str, Any]) -> School:
    """Add a school (bureau scope only - the tenant hooks refuse it anywhere else)."""
    _check_unique(data)
    school = School(**data)
    db.session.add(school)
    db.session.flush()
    return school


def update_school(school: School, data: Mapping[str, Any]) -> School:
    _check_unique(data, school)
    for key, value in data.items():
        setattr(school, key, value)
    db.session.flush()
    return school
