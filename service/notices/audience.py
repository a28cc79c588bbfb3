"""Who receives a run's notice: the schedule's audience resolved for the run's school, less opt-outs.

Bureau officials and admins are users by role; a school's admins are its ``school_admin`` users; its
inspectors are the inspectors assigned to its cluster and the cluster's supervisor. A district-wide
notice (the bulletin) goes to every active school's admins. The ``School`` record has a principal's
name but no address, so the principal/contact list is the school's admin accounts (each with its
e-mail address); accounts without an address receive nothing (the run's log says how many).

A user who opted out of the kind (``notice_preferences``) is left out unless the schedule is mandatory.
Runs in the bureau scope (users of every school are read).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from service.accounts.models import Role, User, inspector_clusters
from service.db import db
from service.notices.models import Audience, NoticePreference, NoticeSchedule
from service.org.models import Cluster, School


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str
    locale: str
    user_id: int | None


def _users(audience: list[str], school_id: int | None) -> list[User]:
    clauses = []
    if Audience.BUREAU_ADMINS.value in audience:
        clauses.append(User.role == Role.BUREAU_ADMIN)
    if Audience.BUREAU_OFFICIALS.value in audience:
        clauses.append(User.role == Role.BUREAU_OFFICIAL)
    if Audience.SCHOOL_ADMINS.value in audience:
        if school_id is None:
            active = select(School.id).where(School.active.is_(True))
            clauses.append((User.role == Role.SCHOOL_ADMIN) & User.school_id.in_(active))
        else:
            clauses.append((User.role == Role.SCHOOL_ADMIN) & (User.school_id == school_id))
    if Audience.INSPECTORS.value in audience:
        clauses.append(_inspectors(school_id))
    if not clauses:
        return []
    stmt = select(User).where(User.active.is_(True), or_(*clauses)).order_by(User.id)
    return list(db.session.scalars(stmt))


def _inspectors(school_id: int | None) -> object:
    if school_id is None:
        return User.role == Role.INSPECTOR
    cluster = select(School.cluster_id).where(School.id == school_id).scalar_subquery()
    assigned = select(inspector_clusters.c.user_id).where(inspector_clusters.c.cluster_id == cluster)
    supervisor = select(Cluster.supervisor_id).where(Cluster.id == cluster)
    return (User.role == Role.INSPECTOR) & (User.id.in_(assigned) | User.id.in_(supervisor))


def opted_out(kind: str) -> set[int]:
    return set(
        db.session.scalars(
            select(NoticePreference.user_id).where(
                NoticePreference.kind == kind, NoticePreference.enabled.is_(False)
            )
        )
    )


def recipients(schedule: NoticeSchedule, school_id: int | None) -> tuple[list[Recipient], int]:
    """The recipients (one per address) and how many accounts were left out for having no address."""
    skip = set() if schedule.mandatory else opted_out(schedule.kind)
    out: dict[str, Recipient] = {}
    without_address = 0
    for user in _users(list(schedule.audience), school_id):
        if user.id in skip:
            continue
        address = (user.email or "").strip()
        if not address:
            without_address += 1
            continue
        out.setdefault(
            address.lower(), Recipient(address, user.display_name, user.locale or "zh_CN", user.id)
        )
    return list(out.values()), without_address
