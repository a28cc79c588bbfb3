"""The boards (看板): district-wide tables of what needs acting on, with filters and pages of 50.

Each board is one select (plus a count) built from the owning area's own clauses - hazards' overdue
rule, the vetoes in force, the report and unlock states - so a board never restates a rule. Scoping is
the tenant wall's: an inspector's boards hold the schools of their clusters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select

from service.db import db
from service.hazards.models import Hazard, HazardState
from service.hazards.operations import list_hazards, overdue_clause
from service.incidents.models import Incident
from service.incidents.vetoes import FAILED_ITEM_LABELS, FAILED_ITEM_RULE, INCIDENT_RULES, Veto, list_vetoes
from service.org.models import Cluster, School
from service.periods.models import Period, UnlockRequest, UnlockState
from service.reports.models import MonthlyReport, ReportState

PER_PAGE = 50

# The hazard board's state filter: not closed (the default), one state, or every hazard.
HAZARD_STATES = ("active", "open", "rectifying", "closed", "all")


@dataclass
class Page:
    """One page of a board's rows and where it is among the pages."""

    rows: list[Any]
    page: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_of(stmt: Any, page: int, *, per_page: int = PER_PAGE) -> Page:
    """Rows ``page`` of ``stmt`` (1-based; clamped to the last page) and the total: two queries."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    last = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), last)
    rows = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all())
    return Page(rows, page, total, per_page)


def clusters_in_scope() -> list[Cluster]:
    """The clusters that hold a school the caller can see (an inspector's own; every one for the bureau)."""
    return list(
        db.session.scalars(
            select(Cluster).where(Cluster.id.in_(select(School.cluster_id).distinct())).order_by(Cluster.code)
        )
    )


# --- hazards -------------------------------------------------------------------------------------------


def hazard_board(
    today: date, *, cluster_id: int | None = None, state: str = "active", overdue: bool | None = None
) -> Any:
    """Hazards with their school, the longest overdue first (then by deadline): ``(Hazard, School)`` rows.

    ``state``: one of :data:`HAZARD_STATES`; ``overdue``: only overdue (True) or not overdue (False) on
    ``today``, by the hazards area's own rule (:func:`service.hazards.operations.overdue_clause`).
    """
    stmt = (
        list_hazards(as_of=today, overdue=overdue)
        .add_columns(School)
        .join(School, School.id == Hazard.school_id)
        .order_by(None)
    )
    if state == "active":
        stmt = stmt.where(Hazard.state != HazardState.CLOSED)
    elif state in ("open", "rectifying", "closed"):
        stmt = stmt.where(Hazard.state == HazardState(state))
    if cluster_id is not None:
        stmt = stmt.where(School.cluster_id == cluster_id)
    late_first = case((overdue_clause(today), 0), else_=1)
    return stmt.order_by(late_first, Hazard.deadline, Hazard.id)


# --- vetoes and their incidents ---------------------------------------------------------------------------


def veto_rules() -> list[tuple[str, tuple[str, str]]]:
    """Every veto rule (code, (zh, en)): the incident rules and a failed inspection veto item."""
    return [(r.code, (r.zh, r.en)) for r in INCIDENT_RULES] + [(FAILED_ITEM_RULE, FAILED_ITEM_LABELS)]


def veto_board(today: date, *, cluster_id: int | None = None, rule: str | None = None) -> Any:
    """Vetoes in force on ``today`` with their school and incident (None for a failed inspection
    item): ``(Veto, School, Incident | None)`` rows, the newest first."""
    stmt = (
        list_vetoes(as_of=today)
        .add_columns(School, Incident)
        .join(School, School.id == Veto.school_id)
        .outerjoin(Incident, and_(Incident.school_id == Veto.school_id, Incident.id == Veto.incident_id))
        .order_by(None)
    )
    if cluster_id is not None:
        stmt = stmt.where(School.cluster_id == cluster_id)
    if rule:
        stmt = stmt.where(Veto.rule == rule)
    return stmt.order_by(Veto.starts_on.desc(), Veto.id.desc())


# --- reports awaiting review -----------------------------------------------------------------------------


def awaiting_board(*, cluster_id: int | None = None, period_id: int | None = None) -> Any:
    """Submitted reports awaiting review, the longest waiting first: ``(MonthlyReport, School, Period)``."""
    stmt = (
        select(MonthlyReport, School, Period)
        .join(School, School.id == MonthlyReport.school_id)
        .join(Period, Period.id == MonthlyReport.period_id)
        .where(MonthlyReport.state == ReportState.SUBMITTED)
    )
    if cluster_id is not None:
        stmt = stmt.where(School.cluster_id == cluster_id)
    if period_id is not None:
        stmt = stmt.where(MonthlyReport.period_id == period_id)
    return stmt.order_by(MonthlyReport.submitted_at, MonthlyReport.id)


def periods_awaiting() -> list[Period]:
    """The periods that have a report awaiting review in scope (the awaiting board's month filter)."""
    waiting = select(MonthlyReport.period_id).where(MonthlyReport.state == ReportState.SUBMITTED).distinct()
    return list(
        db.session.scalars(
            select(Period).where(Period.id.in_(waiting)).order_by(Period.year.desc(), Period.month.desc())
        )
    )


# --- unlock requests ------------------------------------------------------------------------------------


def unlock_board(*, state: UnlockState | None = UnlockState.PENDING, cluster_id: int | None = None) -> Any:
    """Unlock requests with their school and month: ``(UnlockRequest, School, Period)`` rows. Pending
    ones the longest waiting first; decided ones the newest decision first."""
    stmt = (
        select(UnlockRequest, School, Period)
        .join(School, School.id == UnlockRequest.school_id)
        .join(Period, Period.id == UnlockRequest.period_id)
    )
    if state is not None:
        stmt = stmt.where(UnlockRequest.state == state)
    if cluster_id is not None:
        stmt = stmt.where(School.cluster_id == cluster_id)
    if state is UnlockState.PENDING:
        return stmt.order_by(UnlockRequest.requested_at, UnlockRequest.id)
    return stmt.order_by(
        UnlockRequest.decided_at.desc().nulls_first(), UnlockRequest.requested_at.desc(), UnlockRequest.id
    )
