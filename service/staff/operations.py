"""Staff roster and certificate warnings: plain functions over the session (flush, never commit)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, case, delete, func, insert, literal, or_, select

from service.core.outbox import enqueue_task
from service.core.timeutil import today_shanghai
from service.db import db
from service.staff.models import FOOD_HANDLING_ROLES, CertificateWarning, StaffMember, WarningKind
from tenants import TenantScope, TenantViolation, current_scope

DEFAULT_WARNING_DAYS = 30
RECOMPUTE_TASK = "tasks.staff.recompute_certificate_warnings"

EDITABLE_FIELDS = (
    "name",
    "gender",
    "role",
    "contract_type",
    "hire_date",
    "phone",
    "health_cert_no",
    "health_cert_expiry",
    "active",
)


def _warning_days() -> int:
    if has_app_context():
        return int(current_app.config.get("CERT_WARNING_DAYS", DEFAULT_WARNING_DAYS))
    return DEFAULT_WARNING_DAYS


def warning_days() -> int:
    """How many days before a health certificate expires its warning starts (``CERT_WARNING_DAYS``)."""
    return _warning_days()


def list_staff(*, school_id: int | None = None, active: bool | None = None) -> Any:
    """A select of the staff visible in the current scope, optionally narrowed to one school."""
    stmt = select(StaffMember).order_by(StaffMember.school_id, StaffMember.id)
    if school_id is not None:
        stmt = stmt.where(StaffMember.school_id == school_id)
    if active is not None:
        stmt = stmt.where(StaffMember.active.is_(active))
    return stmt


def create_staff(data: Mapping[str, Any]) -> StaffMember:
    """Add a staff member; ``school_id`` comes from the scope for school admins."""
    member = StaffMember(**{k: data[k] for k in (*EDITABLE_FIELDS, "school_id") if k in data})
    db.session.add(member)
    db.session.flush()
    _queue_recompute(member.school_id)
    return member


def update_staff(member: StaffMember, data: Mapping[str, Any]) -> StaffMember:
    for key in EDITABLE_FIELDS:
        if key in data:
            setattr(member, key, data[key])
    db.session.flush()
    _queue_recompute(member.school_id)
    return member


def _queue_recompute(school_id: int) -> None:
    enqueue_task(RECOMPUTE_TASK, scope=TenantScope.school(school_id), school_ids=[school_id])


def request_recompute(school_id: int) -> None:
    """Ask the worker to recompute one school's warnings after this transaction commits."""
    _queue_recompute(school_id)


def recompute_certificate_warnings(
    school_ids: Iterable[int] | None = None, *, today: date | None = None
) -> dict[str, int]:
    """Replace the warnings of ``school_ids`` (default: all schools in scope) in two statements.

    One ``DELETE`` and one ``INSERT ... SELECT`` over every school at once, inside the caller's
    transaction: re-running it gives the same rows, and a run that dies before commit leaves the
    previous warnings in place.
    """
    scope = current_scope()
    ids = None if school_ids is None else sorted({int(i) for i in school_ids})
    if ids is None and not scope.is_bureau:
        ids = sorted(scope.school_ids)
    if ids is not None:
        outside = [i for i in ids if not scope.allows(i)]
        if outside:
            raise TenantViolation(f"schools {outside} are outside scope {scope}")

    today = today or today_shanghai()
    horizon = today + timedelta(days=_warning_days())
    food_roles = [r.value for r in FOOD_HANDLING_ROLES]
    expiry = StaffMember.health_cert_expiry

    kind = case(
        (expiry.is_(None), literal(WarningKind.MISSING.value)),
        (expiry < today, literal(WarningKind.EXPIRED.value)),
        else_=literal(WarningKind.EXPIRING.value),
    )
    needs_warning = or_(
        and_(expiry.is_(None), StaffMember.role.in_(food_roles)),
        expiry <= horizon,
    )
    source = select(StaffMember.school_id, StaffMember.id, kind, expiry, literal(today)).where(
        StaffMember.active.is_(True), needs_warning
    )
    wipe = delete(CertificateWarning)
    if ids is not None:
        source = source.where(StaffMember.school_id.in_(ids))
        wipe = wipe.where(CertificateWarning.school_id.in_(ids))

    session = db.session
    session.execute(wipe)
    session.execute(
        insert(CertificateWarning).from_select(
            ["school_id", "staff_id", "kind", "expires_on", "computed_on"], source
        )
    )
    count_stmt = select(func.count(), func.count(func.distinct(CertificateWarning.school_id)))
    if ids is not None:
        count_stmt = count_stmt.where(CertificateWarning.school_id.in_(ids))
    warnings, schools = session.execute(count_stmt).one()
    return {"warnings": int(warnings), "schools_with_warnings": int(schools)}
