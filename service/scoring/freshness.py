"""Whether a school-month's stored score still matches the records shown beside it.

A :class:`~service.scoring.models.SchoolMonthScore` is computed by a job - after an acceptance, a
reopening or an upheld appeal, and nightly for open months - so a page that lists a month's
inspections and evaluations beside its score can show records newer than the score. It must then say
so ("awaiting acceptance; score as of …") instead of passing an old number off as current.

**The rule** (:func:`score_card`), cheap enough for every page that shows a score:

1. no row yet → ``NONE`` (never computed);
2. the report is not accepted (no report, draft, submitted, returned, reopened) → ``AWAITING``: only
   an accepted month is scored; a composite still on the row (from before a reopening) is as of
   ``computed_at``;
3. accepted, and the month's records changed after ``computed_at`` → ``CHANGED``. "Changed" is read
   from two things the score depends on, each one query:

   * the **audit trail** (every write to an audited row is an entry stamped with the app clock): the
     newest entry on the report itself (its transitions: submit, accept, reopen; a re-judged late
     flag) and on the month's inspections (self and spot; a correction re-stores the inspection's
     score and counts, an upheld appeal sets ``excluded``) and evaluations (new ratings re-store the
     person score) - later than ``computed_at`` means the score predates them;
   * the **counts** the row was computed from: scored inspections, evaluations and hazards overdue
     at the month's end. A deleted spot inspection leaves no row to find in the trail but changes the
     count; a hazard reopened (or back-dated) after the month was scored changes the month-end count.

   An accepted month whose row still says ``missing`` is the job not having run yet: ``CHANGED`` too;
4. otherwise ``CURRENT``.

Rules published after the score are not a change of the records: the explanation page names the
rules version a score was computed with beside the version in force. Item results and ratings are not
read one by one: a change to them that changes nothing the score
reads leaves the inspection or evaluation row unchanged and the score right. Inspections, ratings
and evaluations can only change in an editable (not accepted) month, except spot inspections and
appeals, which the trail covers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from service.audit.models import AuditEntry
from service.db import db
from service.evaluations.models import Evaluation
from service.hazards.models import Hazard
from service.hazards.operations import overdue_clause
from service.inspections.models import Inspection
from service.periods.models import Period
from service.reports.models import MonthlyReport, ReportState
from service.scoring.engine import month_end
from service.scoring.models import Band, MonthStatus, SchoolMonthScore


class Freshness(enum.StrEnum):
    NONE = "none"
    AWAITING = "awaiting"
    CHANGED = "changed"
    CURRENT = "current"


@dataclass(frozen=True)
class ScoreCard:
    """A school-month's score as a page may show it: the value, when it was computed, and whether it
    is still current (see the module docstring)."""

    freshness: Freshness
    composite: Decimal | None = None
    band: Band | None = None
    computed_at: datetime | None = None
    changed_at: datetime | None = None  # the newest change found after computed_at (CHANGED)
    row: SchoolMonthScore | None = None

    @property
    def current(self) -> bool:
        return self.freshness is Freshness.CURRENT


def score_card(school_id: int, period_id: int) -> ScoreCard:
    """The score card of one school-month in the caller's scope (another school's: ``NONE``)."""
    row = db.session.scalars(
        select(SchoolMonthScore).where(
            SchoolMonthScore.school_id == school_id, SchoolMonthScore.period_id == period_id
        )
    ).first()
    if row is None:
        return ScoreCard(Freshness.NONE)
    shown = {"composite": row.composite, "band": row.band, "computed_at": row.computed_at, "row": row}
    report = db.session.scalars(
        select(MonthlyReport).where(
            MonthlyReport.school_id == school_id, MonthlyReport.period_id == period_id
        )
    ).first()
    if report is None or report.state is not ReportState.ACCEPTED:
        return ScoreCard(Freshness.AWAITING, **shown)
    changed_at = last_change(report)
    if (
        row.status is not MonthStatus.SCORED
        or (changed_at is not None and changed_at > row.computed_at)
        or _counts_differ(row, report)
    ):
        return ScoreCard(Freshness.CHANGED, changed_at=changed_at, **shown)
    return ScoreCard(Freshness.CURRENT, **shown)


def last_change(report: MonthlyReport) -> datetime | None:
    """The newest audit entry on the report and on its month's inspections and evaluations."""
    inspections = select(Inspection.id).where(
        Inspection.school_id == report.school_id, Inspection.period_id == report.period_id
    )
    evaluations = select(Evaluation.id).where(
        Evaluation.school_id == report.school_id, Evaluation.period_id == report.period_id
    )
    return db.session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.school_id == report.school_id,
            or_(
                and_(AuditEntry.table_name == MonthlyReport.__tablename__, AuditEntry.row_id == report.id),
                and_(AuditEntry.table_name == Inspection.__tablename__, AuditEntry.row_id.in_(inspections)),
                and_(AuditEntry.table_name == Evaluation.__tablename__, AuditEntry.row_id.in_(evaluations)),
            ),
        )
    )


def _counts_differ(row: SchoolMonthScore, report: MonthlyReport) -> bool:
    """The row's counts against the records now: scored inspections, evaluations, month-end overdue
    hazards (one query)."""
    period: Period = report.period
    school, pid = report.school_id, report.period_id
    inspections = (
        select(func.count(Inspection.id))
        .where(Inspection.school_id == school, Inspection.period_id == pid, Inspection.excluded.is_(False))
        .scalar_subquery()
    )
    evaluations = (
        select(func.count(Evaluation.id))
        .where(Evaluation.school_id == school, Evaluation.period_id == pid)
        .scalar_subquery()
    )
    overdue = (
        select(func.count(Hazard.id))
        .where(Hazard.school_id == school, overdue_clause(month_end(period)))
        .scalar_subquery()
    )
    now = db.session.execute(select(inspections, evaluations, overdue)).one()
    return (int(now[0]), int(now[1]), int(now[2])) != (
        row.inspections,
        row.staff_evaluated,
        row.overdue_hazards,
    )
