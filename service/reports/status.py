"""Where a school's month stands, in one word an official can trust: the status labels every page,
board and export shows for a school-month.

Before this, everything that was not an accepted report read 缺报 (missing), so a report merely waiting
for review, returned for a correction, or still before its deadline looked like a school that never
reported. The label is now derived from the report's state, the period's deadline and lock (and a
granted unlock for the school), and the clock's ``today`` - never from the ranking engine, whose
"missing" only means "not accepted (yet)" and stays as it is in the rankings and their API.

The six labels, in the order the pages list them:

========== ========== ============================================================================
status     label      when
========== ========== ============================================================================
accepted   已审核     the report is accepted (审核通过)
submitted  待审核     submitted, waiting for a reviewer
returned   已退回     returned for correction (also after the lock: it is the reviewer's move, not
                      a school that never reported)
not_due    未到截止   nothing submitted yet and the deadline has not passed (a draft, no report at
                      all, or a month not yet over)
overdue    逾期未报   nothing submitted, the deadline passed, but the school may still report: the
                      month is not locked, or a granted unlock is in force for the school
missing    缺报       nothing submitted and the month is locked for the school
========== ========== ============================================================================

Lateness of a submitted report (submitted after the deadline) is a separate flag (``late``), shown
beside the label: a late but accepted month is 已审核 and 逾期提交.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, exists, select

from service.core.labels import label
from service.db import db
from service.org.models import School
from service.periods.models import Period, UnlockRequest, UnlockState, lock_date
from service.reports.models import MonthlyReport, ReportState


class SchoolMonthStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    OVERDUE = "overdue"
    MISSING = "missing"
    NOT_DUE = "not_due"


# In the order the pages list them (completeness columns, legends).
STATUS_ORDER = tuple(SchoolMonthStatus)

SCHOOL_MONTH_STATUS_LABELS = {
    SchoolMonthStatus.ACCEPTED: ("已审核", "Accepted"),
    SchoolMonthStatus.SUBMITTED: ("待审核", "Awaiting review"),
    SchoolMonthStatus.RETURNED: ("已退回", "Returned"),
    SchoolMonthStatus.OVERDUE: ("逾期未报", "Overdue"),
    SchoolMonthStatus.MISSING: ("缺报", "Missing"),
    SchoolMonthStatus.NOT_DUE: ("未到截止", "Not yet due"),
}

# Bootstrap badge classes of each status (one place, so every page colours them alike).
STATUS_BADGES = {
    SchoolMonthStatus.ACCEPTED: "text-bg-success",
    SchoolMonthStatus.SUBMITTED: "text-bg-info",
    SchoolMonthStatus.RETURNED: "text-bg-warning",
    SchoolMonthStatus.OVERDUE: "text-bg-danger",
    SchoolMonthStatus.MISSING: "text-bg-dark",
    SchoolMonthStatus.NOT_DUE: "text-bg-light border",
}


def month_status(
    state: ReportState | None, *, deadline: date, locks_on: date, today: date, unlocked: bool = False
) -> SchoolMonthStatus:
    """The status of one school-month (the table in the module docstring).

    ``state`` is the report's state (None: no report opened); ``unlocked``: a granted unlock is in
    force for the school on ``today``. Pure: the set-based :func:`period_statuses` calls it per row.
    """
    if state is ReportState.ACCEPTED:
        return SchoolMonthStatus.ACCEPTED
    if state is ReportState.SUBMITTED:
        return SchoolMonthStatus.SUBMITTED
    if state is ReportState.RETURNED:
        return SchoolMonthStatus.RETURNED
    if today <= deadline:
        return SchoolMonthStatus.NOT_DUE
    if today < locks_on or unlocked:
        return SchoolMonthStatus.OVERDUE
    return SchoolMonthStatus.MISSING


@dataclass(frozen=True)
class SchoolMonth:
    """One active school in scope and its month: the report (if any) and the status label."""

    school_id: int
    code: str
    name: str
    cluster_id: int
    report_id: int | None
    state: ReportState | None
    late: bool
    first_submitted_at: datetime | None
    submitted_at: datetime | None
    status: SchoolMonthStatus


def period_statuses(period: Period, *, today: date) -> list[SchoolMonth]:
    """Every active school in scope with its status for ``period`` on ``today``, by school code.

    One query for all schools: schools LEFT JOIN the period's reports, with whether a granted unlock
    is in force for the school today (the scope is the tenant wall's: an inspector gets their
    clusters' schools, a school admin their own).
    """
    unlocked = exists().where(
        UnlockRequest.school_id == School.id,
        UnlockRequest.period_id == period.id,
        UnlockRequest.state == UnlockState.GRANTED,
        UnlockRequest.unlocked_until >= today,
    )
    rows = db.session.execute(
        select(
            School.id,
            School.code,
            School.name,
            School.cluster_id,
            MonthlyReport.id,
            MonthlyReport.state,
            MonthlyReport.late,
            MonthlyReport.first_submitted_at,
            MonthlyReport.submitted_at,
            unlocked.label("unlocked"),
        )
        .outerjoin(
            MonthlyReport, and_(MonthlyReport.school_id == School.id, MonthlyReport.period_id == period.id)
        )
        .where(School.active.is_(True))
        .order_by(School.code)
    ).all()
    deadline, locks_on = period.deadline, period.locks_on
    return [
        SchoolMonth(
            school_id=school_id,
            code=code,
            name=name,
            cluster_id=cluster_id,
            report_id=report_id,
            state=state,
            late=bool(late),
            first_submitted_at=first,
            submitted_at=submitted,
            status=month_status(
                state, deadline=deadline, locks_on=locks_on, today=today, unlocked=bool(open_)
            ),
        )
        for school_id, code, name, cluster_id, report_id, state, late, first, submitted, open_ in rows
    ]


def school_statuses(school_id: int, period_ids: list[int], *, today: date) -> dict[int, SchoolMonthStatus]:
    """Period id → status of one school's months (one query: the periods LEFT JOIN the school's
    reports, with whether a granted unlock is in force today) - a school's trend or history."""
    if not period_ids:
        return {}
    unlocked = exists().where(
        UnlockRequest.school_id == school_id,
        UnlockRequest.period_id == Period.id,
        UnlockRequest.state == UnlockState.GRANTED,
        UnlockRequest.unlocked_until >= today,
    )
    rows = db.session.execute(
        select(Period.id, Period.deadline, Period.lock_days, MonthlyReport.state, unlocked.label("unlocked"))
        .outerjoin(
            MonthlyReport, and_(MonthlyReport.period_id == Period.id, MonthlyReport.school_id == school_id)
        )
        .where(Period.id.in_(period_ids))
    ).all()
    return {
        period_id: month_status(
            state,
            deadline=deadline,
            locks_on=lock_date(deadline, lock_days),
            today=today,
            unlocked=bool(open_),
        )
        for period_id, deadline, lock_days, state, open_ in rows
    }


def status_by_school(period: Period, *, today: date) -> dict[int, SchoolMonthStatus]:
    """School id → status for ``period`` (one query; see :func:`period_statuses`)."""
    return {row.school_id: row.status for row in period_statuses(period, today=today)}


def count_by_status(rows: list[SchoolMonth]) -> dict[SchoolMonthStatus, int]:
    """How many schools are in each status (every status present, zeros included)."""
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for row in rows:
        counts[row.status] += 1
    return counts


def status_label(status: SchoolMonthStatus | str) -> str:
    """The label of ``status`` in the request's language."""
    return label(SCHOOL_MONTH_STATUS_LABELS, SchoolMonthStatus(status))
