"""Personal vetoes of 优秀后勤人员: record, withdraw, and read the ones in force.

A school vetoes nothing for a person: these bar one staff member from the 优秀后勤人员 award for 12
months from the day it happened (rubrics.md, "Veto for 优秀后勤人员"), whatever their scores. The
commendation job reads :func:`in_force`; scores never read this table.

Either the school or the bureau records one (``recorded_by_bureau`` says which). Withdrawing lifts a
bar on the award, so it follows the rule of the school's other monthly data (:func:`withdrawal_refusal`):
what the bureau recorded - a kickback, a disciplinary case - only the bureau withdraws, and a school
withdraws its own entry only while the month it happened in is open to it; after the lock it asks
the bureau, which may withdraw any of them. Recording needs no such check: a school may always bar
its own staff.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.accounts.models import User
from service.core.errors import DomainError
from service.core.timeutil import today_shanghai
from service.db import db
from service.incidents.vetoes import LOOKBACK_MONTHS, add_months
from service.periods.operations import is_month_open_for
from service.staff.models import StaffMember, StaffVeto, StaffVetoKind


def list_for(member: StaffMember) -> Any:
    """A select of one person's vetoes, newest first."""
    return (
        select(StaffVeto)
        .where(StaffVeto.school_id == member.school_id, StaffVeto.staff_id == member.id)
        .order_by(StaffVeto.occurred_on.desc(), StaffVeto.id.desc())
    )


def record(
    member: StaffMember,
    data: Mapping[str, Any],
    *,
    user: User | None,
    by_bureau: bool,
    today: date | None = None,
) -> StaffVeto:
    """Record a personal veto of ``member``; refuses a day in the future or before they were hired.

    ``by_bureau`` is kept with the veto: it decides who may withdraw it later.
    """
    occurred_on: date = data["occurred_on"]
    today = today or today_shanghai()
    if occurred_on > today:
        raise DomainError(
            {"occurred_on": [_("Cannot be later than today (%(today)s).", today=today.isoformat())]}
        )
    if occurred_on < member.hire_date:
        raise DomainError(
            {
                "occurred_on": [
                    _("Cannot be earlier than the hire date (%(hired)s).", hired=member.hire_date.isoformat())
                ]
            }
        )
    veto = StaffVeto(
        school_id=member.school_id,
        staff_id=member.id,
        kind=StaffVetoKind(data["kind"]),
        occurred_on=occurred_on,
        ends_on=add_months(occurred_on, LOOKBACK_MONTHS),
        note=data.get("note", ""),
        recorded_by_id=user.id if user else None,
        recorded_by_bureau=by_bureau,
    )
    db.session.add(veto)
    db.session.flush()
    return veto


def withdrawal_refusal(veto: StaffVeto, *, by_bureau: bool, today: date | None = None) -> str | None:
    """Why the caller may not withdraw ``veto`` (``None``: they may). The bureau may withdraw any;
    a school only its own entry, and only while the month of ``occurred_on`` is open to it."""
    if by_bureau:
        return None
    if veto.recorded_by_bureau:
        return _("The bureau recorded this veto; only the bureau can withdraw it.")
    if not is_month_open_for(veto.school_id, veto.occurred_on, today or today_shanghai()):
        return _(
            "The month of this veto (%(month)s) is locked; only the bureau can withdraw it now.",
            month=veto.occurred_on.strftime("%Y-%m"),
        )
    return None


def withdraw(veto: StaffVeto, *, by_bureau: bool, today: date | None = None) -> None:
    """Delete a veto recorded in error (the audit trail keeps what it said); 403 with the reason
    when :func:`withdrawal_refusal` has one."""
    refusal = withdrawal_refusal(veto, by_bureau=by_bureau, today=today)
    if refusal is not None:
        raise DomainError({"_request": [refusal]}, status=403)
    db.session.delete(veto)
    db.session.flush()


def in_force(as_of: date) -> dict[int, list[StaffVeto]]:
    """Staff id → their vetoes in force on ``as_of`` (``occurred_on <= as_of < ends_on``), one query."""
    out: dict[int, list[StaffVeto]] = defaultdict(list)
    stmt = (
        select(StaffVeto)
        .where(StaffVeto.occurred_on <= as_of, StaffVeto.ends_on > as_of)
        .order_by(StaffVeto.staff_id, StaffVeto.occurred_on, StaffVeto.id)
    )
    for veto in db.session.scalars(stmt):
        out[veto.staff_id].append(veto)
    return dict(out)
