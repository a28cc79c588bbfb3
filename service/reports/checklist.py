"""The month's workspace: what a school's monthly report (月报) needs, counted from the records.

:func:`month_checklist` answers "what is left to do this month?" with one line per kind of monthly
record - canteen self-inspections, the safety self-inspection, canteen facts, staff evaluations,
hazards due or overdue, incidents - each with its count. It only reads: every count is one set-based
query over the same tables (and the same predicates) the operations write and check, so the page
never keeps its own copy of a rule.

**Required or advisory.** Only what :func:`service.reports.operations.submission_problems` refuses
blocks a submission; today that is one rule (rubrics.md formula 4: every active staff member hired
by the month's end is evaluated, registered by :mod:`service.evaluations`), and the evaluations line
is marked ``required``. The rest is advisory: the rubric scores a month from whatever inspections it
has (formula 3: without a self-inspection an area rests on the spot inspections; with neither, the
area is left out and its weight shared by the others, as for a school without a canteen), so the
checklist recommends them but the product does not invent a refusal the bureau never set. Making one
required is a registered submission check (so the API and the page refuse alike), never a check in
a page.

:func:`deadline_info` says where the month stands against its deadline and lock, and
:func:`month_tasks` lists the months a school admin has work in, for the dashboard.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from service.db import db
from service.evaluations.operations import evaluation_progress, last_day, missing_evaluations
from service.hazards.models import Hazard
from service.hazards.operations import open_clause, overdue_clause
from service.incidents.models import Incident
from service.inspections.models import CanteenMonthlyFacts, Inspection, InspectionKind, InspectionMode
from service.org.models import CanteenMode, School
from service.periods.models import Period
from service.periods.operations import is_open_for, open_period_ids
from service.reports.models import MonthlyReport, ReportState
from service.reports.operations import EDITABLE_STATES


class ItemState(enum.StrEnum):
    DONE = "done"  # the month has what this line asks for
    TODO = "todo"  # still missing
    ATTENTION = "attention"  # present, but something needs action (an overdue hazard)
    INFO = "info"  # a count to know, nothing to tick off
    SKIPPED = "skipped"  # does not apply to this school (no canteen)


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the month's checklist. ``key`` names the kind of record (the page maps it to the
    record's form); ``tracked`` lines count toward the month's progress, ``required`` ones block the
    submission (see the module docstring)."""

    key: str
    label: str
    state: ItemState
    summary: str
    hint: str = ""
    required: bool = False
    tracked: bool = True
    done: int | None = None
    total: int | None = None
    names: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def progress(items: Sequence[ChecklistItem]) -> Progress:
    """How many of the month's tracked lines are done (skipped lines do not count)."""
    tracked = [i for i in items if i.tracked and i.state is not ItemState.SKIPPED]
    return Progress(sum(1 for i in tracked if i.state is ItemState.DONE), len(tracked))


# --- the checklist ---------------------------------------------------------------------------------


def month_checklist(report: MonthlyReport, *, today: date) -> list[ChecklistItem]:
    """What the report's month needs, with progress; read-only, a handful of counting queries."""
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    has_canteen = school.canteen_mode is not CanteenMode.NONE
    self_counts = _self_inspection_counts(report)
    items = [
        _canteen_self(self_counts.get(InspectionKind.CANTEEN, 0), has_canteen),
        _safety_self(self_counts.get(InspectionKind.SAFETY, 0)),
        _canteen_facts(report, has_canteen),
        _evaluations(report),
        _hazards(report, today=today),
        _incidents(report),
    ]
    return items


def _self_inspection_counts(report: MonthlyReport) -> dict[InspectionKind, int]:
    """The month's self-inspections by kind (those an upheld appeal set aside do not count)."""
    stmt = (
        select(Inspection.kind, func.count(Inspection.id))
        .where(
            Inspection.school_id == report.school_id,
            Inspection.period_id == report.period_id,
            Inspection.mode == InspectionMode.SELF,
            Inspection.excluded.is_(False),
        )
        .group_by(Inspection.kind)
    )
    return {InspectionKind(kind): int(n) for kind, n in db.session.execute(stmt).all()}


def _recorded(n: int) -> str:
    return _("%(n)s recorded", n=n) if n else _("None recorded yet")


def _canteen_self(n: int, has_canteen: bool) -> ChecklistItem:
    label = _("Canteen self-inspections")
    if not has_canteen:
        return ChecklistItem(
            "canteen_self", label, ItemState.SKIPPED, _("Not needed: the school has no canteen.")
        )
    return ChecklistItem(
        "canteen_self",
        label,
        ItemState.DONE if n else ItemState.TODO,
        _recorded(n),
        hint="" if n else _("Recommended; it does not block the submission."),
        counts={"recorded": n},
    )


def _safety_self(n: int) -> ChecklistItem:
    return ChecklistItem(
        "safety_self",
        _("Campus safety self-inspection"),
        ItemState.DONE if n else ItemState.TODO,
        _recorded(n),
        hint="" if n else _("Recommended; it does not block the submission."),
        counts={"recorded": n},
    )


def _canteen_facts(report: MonthlyReport, has_canteen: bool) -> ChecklistItem:
    label = _("Canteen facts (menus, accompanied meals, samples)")
    if not has_canteen:
        return ChecklistItem(
            "canteen_facts", label, ItemState.SKIPPED, _("Not needed: the school has no canteen.")
        )
    entered = (
        db.session.scalar(
            select(CanteenMonthlyFacts.id).where(
                CanteenMonthlyFacts.school_id == report.school_id,
                CanteenMonthlyFacts.period_id == report.period_id,
            )
        )
        is not None
    )
    return ChecklistItem(
        "canteen_facts",
        label,
        ItemState.DONE if entered else ItemState.TODO,
        _("Entered") if entered else _("Not entered yet"),
        hint="" if entered else _("Recommended; it does not block the submission."),
    )


def _evaluations(report: MonthlyReport) -> ChecklistItem:
    done, needed = evaluation_progress(report)
    label = _("Staff evaluations")
    if needed == 0:
        return ChecklistItem(
            "evaluations", label, ItemState.DONE, _("Nobody to evaluate this month."), required=True
        )
    missing = missing_evaluations(report) if done < needed else []
    return ChecklistItem(
        "evaluations",
        label,
        ItemState.DONE if done >= needed else ItemState.TODO,
        _("Evaluated: %(done)s of %(total)s", done=done, total=needed),
        required=True,
        done=done,
        total=needed,
        names=tuple(m.name for m in missing),
    )


def hazards_as_of(report: MonthlyReport, *, today: date) -> date:
    """The day the month's hazards are judged on: ``today``, or the month's last day for a month that
    is over (the day the safety score counts overdue hazards, rubrics.md formula 2)."""
    return min(today, last_day(report.period))


def _hazard_clauses(report: MonthlyReport, *, today: date) -> tuple[Any, Any]:
    """SQL for the month's hazards: (due in the month and still open, overdue) on :func:`hazards_as_of`."""
    first, last = report.period.first_day, last_day(report.period)
    as_of = hazards_as_of(report, today=today)
    due = and_(open_clause(as_of), Hazard.deadline >= first, Hazard.deadline <= last)
    return due, overdue_clause(as_of)


def month_hazards(report: MonthlyReport, *, today: date) -> list[Hazard]:
    """The hazards the checklist counts (due this month and open, or overdue), by deadline."""
    due, overdue = _hazard_clauses(report, today=today)
    stmt = (
        select(Hazard)
        .where(Hazard.school_id == report.school_id, or_(due, overdue))
        .order_by(Hazard.deadline, Hazard.id)
    )
    return list(db.session.scalars(stmt))


def _hazards(report: MonthlyReport, *, today: date) -> ChecklistItem:
    due, overdue = _hazard_clauses(report, today=today)
    row = db.session.execute(
        select(func.count(Hazard.id).filter(due), func.count(Hazard.id).filter(overdue)).where(
            Hazard.school_id == report.school_id
        )
    ).one()
    due_n, overdue_n = int(row[0]), int(row[1])
    return ChecklistItem(
        "hazards",
        _("Hazards"),
        ItemState.ATTENTION if overdue_n else ItemState.INFO,
        _("%(due)s due this month, %(overdue)s overdue", due=due_n, overdue=overdue_n),
        hint=_("Overdue hazards lower the month's safety score.") if overdue_n else "",
        tracked=False,
        counts={"due": due_n, "overdue": overdue_n},
    )


def _incidents(report: MonthlyReport) -> ChecklistItem:
    n = (
        db.session.scalar(
            select(func.count(Incident.id)).where(
                Incident.school_id == report.school_id, Incident.period_id == report.period_id
            )
        )
        or 0
    )
    return ChecklistItem(
        "incidents",
        _("Incidents"),
        ItemState.INFO,
        _("%(n)s reported this month", n=n),
        hint=_("Report an incident to the bureau within 2 hours."),
        tracked=False,
        counts={"reported": int(n)},
    )


# --- the deadline ----------------------------------------------------------------------------------


class DeadlineState(enum.StrEnum):
    DUE = "due"  # a draft before its deadline (``days`` left; 0 = today)
    LATE = "late"  # a draft after its deadline, the month not locked yet (``days`` late)
    RESUBMIT = "resubmit"  # returned: to correct and resubmit before the lock (``days`` to it)
    LOCKED = "locked"  # the month is locked for this school (no granted unlock)
    SUBMITTED = "submitted"  # submitted or accepted: nothing due from the school


@dataclass(frozen=True)
class DeadlineInfo:
    deadline: date
    locks_on: date
    state: DeadlineState
    days: int = 0


def deadline_info(
    period: Period, report: MonthlyReport | None, school_id: int, *, today: date
) -> DeadlineInfo:
    """Where a school's month stands against the deadline (first submission, lateness) and the lock
    (the last day the school may change it; :func:`service.periods.operations.is_open_for`)."""
    deadline, locks_on = period.deadline, period.locks_on
    if report is not None and report.state not in EDITABLE_STATES:
        return DeadlineInfo(deadline, locks_on, DeadlineState.SUBMITTED)
    if not is_open_for(period, school_id, today):
        return DeadlineInfo(deadline, locks_on, DeadlineState.LOCKED, (today - locks_on).days)
    if report is not None and report.first_submitted_at is not None:
        # Lateness was judged on the first submission; what matters now is the lock.
        return DeadlineInfo(deadline, locks_on, DeadlineState.RESUBMIT, max((locks_on - today).days, 0))
    if today <= deadline:
        return DeadlineInfo(deadline, locks_on, DeadlineState.DUE, (deadline - today).days)
    return DeadlineInfo(deadline, locks_on, DeadlineState.LATE, (today - deadline).days)


# --- the dashboard's months --------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthTask:
    period: Period
    report: MonthlyReport | None
    deadline: DeadlineInfo
    progress: Progress | None  # None until the school has opened the month's report


def month_tasks(school_id: int, *, today: date) -> list[MonthTask]:
    """The months a school admin has work in: every period that has begun and is still open to the
    school (not locked, or unlocked for it), and any month whose report was returned, newest first."""
    periods = list(
        db.session.scalars(
            select(Period)
            .where(Period.year * 12 + Period.month <= today.year * 12 + today.month)
            .order_by(Period.year.desc(), Period.month.desc())
        )
    )
    reports = {
        r.period_id: r
        for r in db.session.scalars(
            select(MonthlyReport).where(
                MonthlyReport.school_id == school_id, MonthlyReport.period_id.in_([p.id for p in periods])
            )
        )
    }
    open_ids = open_period_ids(periods, school_id, today)  # one statement, not one per month
    tasks = []
    for period in periods:
        report = reports.get(period.id)
        returned = report is not None and report.state is ReportState.RETURNED
        if not returned and period.id not in open_ids:
            continue
        tasks.append(
            MonthTask(
                period,
                report,
                deadline_info(period, report, school_id, today=today),
                progress(month_checklist(report, today=today)) if report is not None else None,
            )
        )
    return tasks
