"""When a schedule is due (its occurrences, in Beijing time) and what it is about (its targets).

An occurrence is an instant the rule names (the 20th at 09:00; T−3 before a deadline at 09:00; Monday
at 08:30). A beat tick creates the runs of every occurrence between ``max(schedule created, now − 24 h)``
and now: a tick that comes late (beat restarted) still sends today's reminders, one that comes a day
late does not send yesterday's, and a schedule never fires for an instant before it existed.

A target is what one run is about, with the key that makes it unique per schedule: the bulletin of a
month (``2026-10``), one school's report card (``2026-10/s4``), one school's reminder on one day
(``2026-11/2026-12-02/s4``), a school's digest of one ISO week (``2026-W48/s4``), one certificate's
expiry (``s4/staff17/2026-12-20``), one return of a report (``report-9/t31``). The same key from a
second tick, a second beat or "send now" on the same day is the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from service.core.timeutil import SHANGHAI, local
from service.db import db
from service.hazards.operations import overdue_by_school
from service.notices.models import NoticeRule, NoticeSchedule
from service.org.models import School
from service.periods.models import Period
from service.reports.operations import completeness
from service.staff.models import CertificateWarning, WarningKind

CATCH_UP = timedelta(hours=24)
NOT_SUBMITTED = frozenset({"missing", "draft"})  # never submitted (a returned report was submitted)


@dataclass(frozen=True)
class Occurrence:
    at: datetime  # aware
    period_id: int | None = None  # the month a before-deadline occurrence counts down to

    @property
    def day(self) -> date:
        return self.at.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Target:
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    school_id: int | None = None


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def _month_back(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def candidates(schedule: NoticeSchedule, now: datetime) -> Iterator[Occurrence]:
    """The rule's instants around ``now`` (the caller keeps those inside the window)."""
    today = now.astimezone(SHANGHAI).date()
    rule = schedule.rule
    if rule is NoticeRule.MONTHLY and schedule.day_of_month:
        for first in (today.replace(day=1), _month_back(today)):
            yield Occurrence(_at(first.replace(day=schedule.day_of_month), schedule.at_time))
    elif rule is NoticeRule.WEEKLY and schedule.weekday is not None:
        back = (today.weekday() - schedule.weekday) % 7
        for day in (today - timedelta(days=back), today - timedelta(days=back + 7)):
            yield Occurrence(_at(day, schedule.at_time))
    elif rule is NoticeRule.DAILY:
        for day in (today, today - timedelta(days=1)):
            yield Occurrence(_at(day, schedule.at_time))
    elif rule is NoticeRule.BEFORE_DEADLINE and schedule.days_before:
        horizon = today + timedelta(days=max(schedule.days_before) + 1)
        periods = db.session.scalars(
            select(Period).where(Period.deadline >= today - timedelta(days=1), Period.deadline <= horizon)
        )
        for period in periods:
            for n in schedule.days_before:
                yield Occurrence(_at(period.deadline - timedelta(days=n), schedule.at_time), period.id)


def due(schedule: NoticeSchedule, now: datetime) -> list[Occurrence]:
    """The occurrences a tick at ``now`` acts on (see the module's docstring)."""
    if schedule.paused or schedule.rule is NoticeRule.EVENT:
        return []
    created = local(schedule.created_at) or now
    start = max(created, now - CATCH_UP)
    return sorted({o for o in candidates(schedule, now) if start <= o.at <= now}, key=lambda o: o.at)


# --- targets --------------------------------------------------------------------------------------------


def reported_month(day: date) -> Period | None:
    """The newest month whose deadline has passed on ``day``: the month a bulletin or card is about."""
    return db.session.scalars(
        select(Period).where(Period.deadline < day).order_by(Period.year.desc(), Period.month.desc()).limit(1)
    ).first()


def open_month(day: date) -> Period | None:
    """The month being reported on ``day``: the first deadline on or after it."""
    return db.session.scalars(
        select(Period).where(Period.deadline >= day).order_by(Period.deadline, Period.id).limit(1)
    ).first()


def _active_schools() -> list[School]:
    return list(db.session.scalars(select(School).where(School.active.is_(True)).order_by(School.code)))


def targets(kind: str, occurrence: Occurrence) -> list[Target]:
    """What the runs of ``kind`` at ``occurrence`` are about (bureau scope: every school is visible)."""
    day = occurrence.day
    if kind in ("bulletin", "report_card"):
        period = reported_month(day)
        if period is None:
            return []
        if kind == "bulletin":
            return [Target(period.code, {"period": period.code})]
        return [
            Target(f"{period.code}/s{s.id}", {"period": period.code, "school_id": s.id}, s.id)
            for s in _active_schools()
        ]
    if kind == "deadline_reminder":
        return _reminders(occurrence)
    if kind == "hazard_digest":
        iso = day.isocalendar()
        return [
            Target(
                f"{iso.year}-W{iso.week:02d}/s{row.school_id}",
                {"school_id": row.school_id, "as_of": day.isoformat()},
                row.school_id,
            )
            for row in overdue_by_school(day)
            if row.overdue_count
        ]
    if kind == "certificate_expiry":
        rows = db.session.scalars(
            select(CertificateWarning)
            .where(CertificateWarning.kind == WarningKind.EXPIRING)
            .order_by(CertificateWarning.school_id, CertificateWarning.expires_on)
        )
        return [
            Target(
                f"s{w.school_id}/staff{w.staff_id}/{w.expires_on}",
                {"school_id": w.school_id, "staff_id": w.staff_id, "expires_on": str(w.expires_on)},
                w.school_id,
            )
            for w in rows
        ]
    return []


def _reminders(occurrence: Occurrence) -> list[Target]:
    """One reminder per school that has not submitted the month (never submitted: no report, or a draft)."""
    day = occurrence.day
    period = db.session.get(Period, occurrence.period_id) if occurrence.period_id else open_month(day)
    if period is None or period.deadline < day:
        return []
    days_left = (period.deadline - day).days
    return [
        Target(
            f"{period.code}/{day.isoformat()}/s{row.school_id}",
            {
                "period": period.code,
                "school_id": row.school_id,
                "deadline": period.deadline.isoformat(),
                "days_left": days_left,
            },
            row.school_id,
        )
        for row in completeness(period)
        if row.status in NOT_SUBMITTED
    ]


def returned_target(report_id: int, transition_id: int, school_id: int, period_code: str) -> Target:
    return Target(
        f"report-{report_id}/t{transition_id}",
        {"report_id": report_id, "school_id": school_id, "period": period_code},
        school_id,
    )
