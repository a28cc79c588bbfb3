"""Schools and clusters: plain functions over the session (flush, never commit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.core.errors import DomainError
from service.db import db
from service.org.models import Cluster, School

if TYPE_CHECKING:
    from service.accounts.models import User


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


# --- clusters ----------------------------------------------------------------------------------------


def create_cluster(data: Mapping[str, Any]) -> Cluster:
    """Add a cluster (片区), optionally with its supervisor (see :func:`update_cluster`)."""
    _check_cluster(data)
    cluster = Cluster(code=data["code"], name=data["name"])
    db.session.add(cluster)
    db.session.flush()
    if data.get("supervisor_id") is not None:
        _assign_supervisor(cluster, data["supervisor_id"])
    return cluster


def update_cluster(cluster: Cluster, data: Mapping[str, Any]) -> Cluster:
    """Rename a cluster or change its supervisor (``supervisor_id``: an active inspector, or None).

    The supervisor visits the cluster's schools monthly, so they are given the cluster to inspect
    (its schools join their scope); removing a supervisor leaves the inspector's clusters as they are
    (that is changed on the account).
    """
    _check_cluster(data, cluster)
    for key in ("code", "name"):
        if key in data:
            setattr(cluster, key, data[key])
    if "supervisor_id" in data:
        if data["supervisor_id"] is None:
            cluster.supervisor_id = None
        else:
            _assign_supervisor(cluster, data["supervisor_id"])
    db.session.flush()
    return cluster


def supervisor_candidates() -> list[User]:
    """Who may supervise a cluster: the active inspectors."""
    from service.accounts.models import Role, User

    stmt = select(User).where(User.role == Role.INSPECTOR, User.active.is_(True)).order_by(User.display_name)
    return list(db.session.scalars(stmt))


def _check_cluster(data: Mapping[str, Any], cluster: Cluster | None = None) -> None:
    errors: dict[str, list[str]] = {}
    for field in ("code", "name"):
        if field not in data:
            continue
        stmt = select(Cluster.id).where(getattr(Cluster, field) == data[field])
        if cluster is not None:
            stmt = stmt.where(Cluster.id != cluster.id)
        if db.session.scalar(stmt) is not None:
            errors[field] = [_("Another cluster already uses this value.")]
    supervisor_id = data.get("supervisor_id")
    if supervisor_id is not None and supervisor_id not in {u.id for u in supervisor_candidates()}:
        errors["supervisor_id"] = [_("The supervisor must be an active inspector.")]
    if errors:
        raise DomainError(errors)


def _assign_supervisor(cluster: Cluster, user_id: int) -> None:
    from service.accounts.models import User
    from service.accounts.operations import update_user

    inspector = db.session.scalars(select(User).where(User.id == user_id)).one()
    cluster.supervisor_id = inspector.id
    if cluster.id not in {c.id for c in inspector.clusters}:
        update_user(inspector, {"cluster_ids": [*(c.id for c in inspector.clusters), cluster.id]})
    db.session.flush()
