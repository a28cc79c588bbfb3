"""Whether a school-month's stored score still matches the records shown beside it.

A :class:`~service.scoring.models.SchoolMonthScore` is computed by a job - after an acceptance, a
reopening or an upheld appeal, and nightly for open months - so a page that lists a month's
inspections and evaluations beside its score can show records newer than the score. It must then say
so ("awaiting acceptance; score as of …") instead of passing an old number off as current.

**The rule** (:func:`score_card`; :func:`score_cards` for several months of a school at once, in
three statements), cheap enough for every page that shows a score:

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

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
    return score_cards(school_id, [period_id])[period_id]


def score_cards(school_id: int, period_ids: Iterable[int]) -> dict[int, ScoreCard]:
    """:func:`score_card` of several months of one school in three statements, however many months
    (a school's page lists its recent months): the rows, the reports, and one ``SELECT`` of every
    accepted month's newest change and counts."""
    ids = sorted(set(period_ids))
    if not ids:
        return {}
    rows = {
        r.period_id: r
        for r in db.session.scalars(
            select(SchoolMonthScore).where(
                SchoolMonthScore.school_id == school_id, SchoolMonthScore.period_id.in_(ids)
            )
        )
    }
    reports = (
        {
            r.period_id: r
            for r in db.session.scalars(
                select(MonthlyReport)
                .where(MonthlyReport.school_id == school_id, MonthlyReport.period_id.in_(list(rows)))
                .options(selectinload(MonthlyReport.period))
            )
        }
        if rows
        else {}
    )
    accepted = [reports[pid] for pid in sorted(reports) if reports[pid].state is ReportState.ACCEPTED]
    checks = _checks(accepted)
    cards = {}
    for pid in ids:
        row = rows.get(pid)
        if row is None:
            cards[pid] = ScoreCard(Freshness.NONE)
            continue
        shown = {"composite": row.composite, "band": row.band, "computed_at": row.computed_at, "row": row}
        report = reports.get(pid)
        if report is None or report.state is not ReportState.ACCEPTED:
            cards[pid] = ScoreCard(Freshness.AWAITING, **shown)
            continue
        changed_at, counts = checks[report.id]
        if (
            row.status is not MonthStatus.SCORED
            or (changed_at is not None and changed_at > row.computed_at)
            or counts != (row.inspections, row.staff_evaluated, row.overdue_hazards)
        ):
            cards[pid] = ScoreCard(Freshness.CHANGED, changed_at=changed_at, **shown)
        else:
            cards[pid] = ScoreCard(Freshness.CURRENT, **shown)
    return cards


def _checks(reports: list[MonthlyReport]) -> dict[int, tuple[datetime | None, tuple[int, int, int]]]:
    """Report id -> (:func:`last_change`, the counts of :func:`_counts`) of each report, in one
    statement of scalar subqueries (four per report)."""
    if not reports:
        return {}
    columns = [expr for report in reports for expr in (_last_change_select(report), *_counts(report))]
    values = db.session.execute(select(*(c.scalar_subquery() for c in columns))).one()
    out = {}
    for n, report in enumerate(reports):
        at, inspections, evaluations, overdue = values[4 * n : 4 * n + 4]
        out[report.id] = (at, (int(inspections), int(evaluations), int(overdue)))
    return out


def last_change(report: MonthlyReport) -> datetime | None:
    """The newest audit entry on the report and on its month's inspections and evaluations."""
    return db.session.scalar(_last_change_select(report))


def _last_change_select(report: MonthlyReport) -> Any:
    inspections = select(Inspection.id).where(
        Inspection.school_id == report.school_id, Inspection.period_id == report.period_id
    )
    evaluations = select(Evaluation.id).where(
        Evaluation.school_id == report.school_id, Evaluation.period_id == report.period_id
    )
    return select(func.max(AuditEntry.at)).where(
        AuditEntry.school_id == report.school_id,
        or_(
            and_(AuditEntry.table_name == MonthlyReport.__tablename__, AuditEntry.row_id == report.id),
            and_(AuditEntry.table_name == Inspection.__tablename__, AuditEntry.row_id.in_(inspections)),
            and_(AuditEntry.table_name == Evaluation.__tablename__, AuditEntry.row_id.in_(evaluations)),
        ),
    )


def _counts(report: MonthlyReport) -> tuple[Any, Any, Any]:
    """What the row's counts are checked against: scored inspections, evaluations and overdue
    hazards at the month's end, as the records stand now."""
    period: Period = report.period
    school, pid = report.school_id, report.period_id
    return (
        select(func.count(Inspection.id)).where(
            Inspection.school_id == school, Inspection.period_id == pid, Inspection.excluded.is_(False)
        ),
        select(func.count(Evaluation.id)).where(Evaluation.school_id == school, Evaluation.period_id == pid),
        select(func.count(Hazard.id)).where(Hazard.school_id == school, overdue_clause(month_end(period))),
    )
