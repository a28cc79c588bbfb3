"""Comparing 2 to 5 schools side by side: what an official reads before calling a principal.

For a chosen month (by default the newest month in which one of the schools has an accepted report):
the composite and area scores, ranks and report states of that month; the 12-month trend of the
composite and of the ranks (:mod:`service.cockpit.history`); and for each school the rubric items on
which it lost the most points over those 12 months.

Every block is one set-based query for all the schools (never one per school or per month). The
figures are the stored scores; the points an item cost are worked out by the same pure function that
scored the inspection (:func:`service.inspections.scoring.item_deduction`), so they add up to what the
explanation page shows item by item.

Scoping is the tenant wall's job: :func:`load_schools` fetches the schools in the caller's scope, and
an id outside it is "not found" exactly like one that does not exist. Who may compare at all is the
page's decision (service/cockpit/compare_views.py: the bureau and inspectors; school admins are
refused, since they see only their own school and a comparison needs two).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from service.core.errors import DomainError, NotFound
from service.db import db
from service.inspections.models import Inspection, InspectionItemResult, InspectionKind, ItemOutcome
from service.inspections.scoring import Entry, item_deduction
from service.org.models import Cluster, School
from service.periods.models import Period
from service.reports.models import MonthlyReport, ReportState
from service.rubrics.models import RubricItem
from service.scoring.explain import period_by_code

from . import history

MIN_SCHOOLS = 2
MAX_SCHOOLS = 5
TOP_ITEMS = 5


# --- choosing the schools and the month ------------------------------------------------------------------


def parse_ids(raw: Iterable[str]) -> list[int]:
    """School ids from the query string, in the order given, each once; anything else is not found."""
    ids: list[int] = []
    for value in raw:
        value = (value or "").strip()
        if not value:
            continue
        if not value.isdigit():
            raise NotFound()
        if int(value) not in ids:
            ids.append(int(value))
    return ids


def check_count(ids: Sequence[int]) -> None:
    """A comparison needs 2 to 5 schools (422, as the API refuses a bad value)."""
    if not MIN_SCHOOLS <= len(ids) <= MAX_SCHOOLS:
        raise DomainError(
            {"school": [_("Pick %(lo)s to %(hi)s schools to compare.", lo=MIN_SCHOOLS, hi=MAX_SCHOOLS)]},
            status=422,
        )


def load_schools(ids: Sequence[int]) -> list[School]:
    """The schools, in the order asked, all in the caller's scope - or :class:`NotFound`."""
    if not ids:
        return []
    found = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(ids)))}
    if len(found) != len(ids):
        raise NotFound()
    return [found[i] for i in ids]


@dataclass(frozen=True)
class PickerRow:
    id: int
    code: str
    name: str
    cluster: str
    selected: bool


def picker(q: str, selected: Sequence[int]) -> list[PickerRow]:
    """The active schools of the scope whose code or name contains ``q`` (all of them without ``q``),
    and the selected ones whatever ``q`` says - one query, by code. A school no longer active can still
    be compared by its id (its history stays), it is only not offered."""
    stmt = select(School, Cluster.name).join(Cluster, Cluster.id == School.cluster_id).order_by(School.code)
    offered: Any = School.active.is_(True)
    q = q.strip()
    if q:
        pattern = f"%{_escape_like(q)}%"
        offered = offered & or_(
            School.code.ilike(pattern, escape="\\"), School.name.ilike(pattern, escape="\\")
        )
    stmt = stmt.where(or_(offered, School.id.in_(list(selected) or [0])))
    return [
        PickerRow(s.id, s.code, s.name, cluster, s.id in selected) for s, cluster in db.session.execute(stmt)
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def choose_period(school_ids: Sequence[int], code: str | None) -> tuple[Period | None, list[Period]]:
    """The month to compare (``code``, or the newest with an accepted report of one of the schools)
    and the months offered by the chooser (those with one, newest first). An unknown code is not found."""
    offered = history.scored_periods(school_ids)
    if code:
        return period_by_code(code), offered
    return (offered[0] if offered else history.newest_period()), offered


# --- the items a school lost most points on ----------------------------------------------------------------


@dataclass(frozen=True)
class FailedResult:
    """One failed item of one counted inspection, with the points it took off its section."""

    school_id: int
    kind: str
    code: str
    text: str
    text_en: str
    points: Decimal
    inspection_id: int
    period_id: int


@dataclass
class LostItem:
    kind: str
    code: str
    text: str
    text_en: str
    points: Decimal = Decimal(0)
    inspections: set[int] = field(default_factory=set)
    periods: set[int] = field(default_factory=set)

    @property
    def times(self) -> int:
        """In how many inspections the item failed."""
        return len(self.inspections)

    @property
    def months(self) -> int:
        return len(self.periods)


def aggregate_lost(results: Iterable[FailedResult], limit: int = TOP_ITEMS) -> dict[int, list[LostItem]]:
    """School id → its ``limit`` items with the most points lost (summed over the inspections), then
    by kind and code. An item is the same item across rubric versions when its kind and code agree;
    the text shown is the newest version's (the highest inspection id)."""
    by_school: dict[int, dict[tuple[str, str], LostItem]] = {}
    newest: dict[tuple[int, str, str], int] = {}
    for r in results:
        key = (r.kind, r.code)
        item = by_school.setdefault(r.school_id, {}).setdefault(
            key, LostItem(r.kind, r.code, r.text, r.text_en)
        )
        item.points += r.points
        item.inspections.add(r.inspection_id)
        item.periods.add(r.period_id)
        if r.inspection_id >= newest.get((r.school_id, *key), -1):
            newest[(r.school_id, *key)] = r.inspection_id
            item.text, item.text_en = r.text, r.text_en
    return {
        school_id: sorted(items.values(), key=lambda i: (-i.points, i.kind, i.code))[:limit]
        for school_id, items in by_school.items()
    }


def failed_results(school_ids: Sequence[int], periods: Iterable[Period]) -> list[FailedResult]:
    """Every failed item of the schools' counted inspections in ``periods``: one query.

    Counted = what the score counted: the inspection belongs to a month whose report is accepted,
    and a spot inspection set aside by an upheld appeal (``excluded``) does not count."""
    period_ids = [p.id for p in periods]
    if not school_ids or not period_ids:
        return []
    i, r = Inspection, InspectionItemResult
    rows = db.session.execute(
        select(i.school_id, i.kind, i.id, i.period_id, r.occurrences, RubricItem)
        .join(r, (r.school_id == i.school_id) & (r.inspection_id == i.id))
        .join(RubricItem, RubricItem.id == r.item_id)
        .join(
            MonthlyReport,
            (MonthlyReport.school_id == i.school_id) & (MonthlyReport.period_id == i.period_id),
        )
        .where(
            i.school_id.in_(school_ids),
            i.period_id.in_(period_ids),
            i.excluded.is_(False),
            r.result == ItemOutcome.FAIL,
            MonthlyReport.state == ReportState.ACCEPTED,
        )
    ).all()
    return [
        FailedResult(
            school_id=school_id,
            kind=InspectionKind(kind).value,
            code=item.code,
            text=item.text,
            text_en=item.text_en,
            points=item_deduction(item, Entry(ItemOutcome.FAIL, occurrences)),
            inspection_id=inspection_id,
            period_id=period_id,
        )
        for school_id, kind, inspection_id, period_id, occurrences, item in rows
    ]


def items_lost(
    school_ids: Sequence[int], periods: Iterable[Period], limit: int = TOP_ITEMS
) -> dict[int, list[LostItem]]:
    return aggregate_lost(failed_results(school_ids, periods), limit)


# --- the comparison ---------------------------------------------------------------------------------------


def report_states(school_ids: Sequence[int], period: Period) -> dict[int, ReportState]:
    """School id → the state of its report for the month (absent: no report opened): one query."""
    rows = db.session.execute(
        select(MonthlyReport.school_id, MonthlyReport.state).where(
            MonthlyReport.school_id.in_(school_ids), MonthlyReport.period_id == period.id
        )
    )
    return dict(rows.all())


@dataclass
class Comparison:
    schools: list[School]
    clusters: dict[int, str]
    period: Period | None
    periods: list[Period]  # the trend's months, oldest first
    scores: dict[tuple[int, int], history.MonthScore]
    ranks: dict[tuple[int, int], history.MonthRank]
    reports: dict[int, ReportState]
    lost: dict[int, list[LostItem]]

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.schools]

    def score(self, school_id: int, period: Period | None = None) -> history.MonthScore | None:
        period = period or self.period
        return self.scores.get((school_id, period.id)) if period else None

    def rank(self, school_id: int, period: Period | None = None) -> history.MonthRank | None:
        period = period or self.period
        return self.ranks.get((school_id, period.id)) if period else None


def compare(schools: Sequence[School], period: Period | None) -> Comparison:
    """Everything the compare page shows, for schools already fetched in scope."""
    ids = [s.id for s in schools]
    periods = history.window(period) if period is not None else []
    clusters = dict(
        db.session.execute(
            select(Cluster.id, Cluster.name).where(Cluster.id.in_({s.cluster_id for s in schools}))
        ).all()
    )
    return Comparison(
        schools=list(schools),
        clusters=clusters,
        period=period,
        periods=periods,
        scores=history.month_scores(ids, periods),
        ranks=history.month_ranks(ids, periods),
        reports=report_states(ids, period) if period is not None else {},
        lost=items_lost(ids, periods),
    )
