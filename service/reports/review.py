"""Review (审核): the queue of submitted reports, what changed in a report since it was returned, and
accepting several reports at once.

**What changed since a return** is read from the audit trail (``service/audit``), which records every
insert, update and delete of the month's records with the values before and after. The return itself
is in the trail too (the report's ``state`` going to ``returned``), so "after the return" is simply
"audit entries with a larger id" - no clock comparison, which the demo's simulated dates would upset.
:func:`derive_changes` is the derivation as a pure function over plain entries; :func:`changes_since_return`
reads the entries and the report's current rows and words the result for a page.

The month's records are the report's own rows (self-inspections, canteen facts, staff evaluations,
linked by ``report_id``) and the school's hazards and incidents of the month (``period_id``). Item
results and ratings count as changes of their inspection or evaluation. A record added and deleted
again after the return is left out; one deleted and re-entered (an Excel re-upload) shows as deleted
and added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.audit.models import AuditAction, AuditEntry
from service.core.errors import DomainError
from service.core.labels import label
from service.core.timeutil import local
from service.db import db
from service.evaluations.models import Evaluation, EvaluationRating
from service.hazards.models import Hazard
from service.incidents.models import INCIDENT_TYPE_LABELS, Incident
from service.inspections.models import (
    INSPECTION_KIND_LABELS,
    INSPECTION_MODE_LABELS,
    CanteenMonthlyFacts,
    Inspection,
    InspectionItemResult,
)
from service.org.models import School
from service.reports.models import MonthlyReport, ReportState, ReportTransition
from service.reports.operations import accept, transitions_of
from service.staff.models import StaffMember

# The month's records: table → the column that ties a row to the report (its id) or to its month.
PARENTS: dict[str, str] = {
    Inspection.__tablename__: "report_id",
    CanteenMonthlyFacts.__tablename__: "report_id",
    Evaluation.__tablename__: "report_id",
    Hazard.__tablename__: "period_id",
    Incident.__tablename__: "period_id",
}
# Rows that belong to one of those records: child table → (parent table, link column).
CHILDREN: dict[str, tuple[str, str]] = {
    InspectionItemResult.__tablename__: (Inspection.__tablename__, "inspection_id"),
    EvaluationRating.__tablename__: (Evaluation.__tablename__, "evaluation_id"),
}
# Columns the system keeps (keys, blobs of computed detail): never listed as "what changed".
NOT_SHOWN = frozenset(
    {"id", "school_id", "report_id", "period_id", "rubric_version_id", "section_scores", "dimension_scores"}
    | {"created_at", "created_by_id", "inspector_user_id", "staff_id", "source_inspection_id"}
)

ADDED, CHANGED, DELETED = "added", "changed", "deleted"
CHANGE_LABELS = {ADDED: ("新增", "added"), CHANGED: ("已修改", "changed"), DELETED: ("已删除", "deleted")}

RECORD_LABELS = {
    Inspection.__tablename__: ("检查", "Inspection"),
    CanteenMonthlyFacts.__tablename__: ("食堂月度数据", "Canteen facts"),
    Evaluation.__tablename__: ("人员考核", "Staff evaluation"),
    Hazard.__tablename__: ("隐患整改", "Hazard"),
    Incident.__tablename__: ("事故", "Incident"),
}
DETAIL_LABELS = {
    Inspection.__tablename__: ("项检查结果", "item results"),
    Evaluation.__tablename__: ("条评分", "ratings"),
}
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "score": ("得分", "score"),
    "grade": ("等级", "grade"),
    "key_failed": ("关键项不合格", "key items failed"),
    "veto_failed": ("否决项不合格", "veto items failed"),
    "inspected_on": ("检查日期", "date"),
    "inspector_name": ("检查人", "inspector"),
    "unannounced": ("不打招呼", "unannounced"),
    "notes": ("备注", "notes"),
    "meals_served": ("供餐餐次", "meals served"),
    "menu_compliant_days": ("两荤两素一汤天数", "menu-compliant days"),
    "serving_days": ("供餐天数", "serving days"),
    "leader_accompanied_meals": ("陪餐餐次", "accompanied meals"),
    "sampled_meals": ("留样餐次", "sampled meals"),
    "food_waste_kg": ("厨余(公斤)", "food waste (kg)"),
    "title": ("标题", "title"),
    "description": ("描述", "description"),
    "location": ("位置", "location"),
    "severity": ("严重程度", "severity"),
    "responsible_person": ("责任人", "responsible person"),
    "found_on": ("发现日期", "found on"),
    "deadline": ("整改期限", "deadline"),
    "state": ("状态", "state"),
    "closing_note": ("销号说明", "closing note"),
    "closed_on": ("销号日期", "closed on"),
    "type": ("类型", "type"),
    "occurred_at": ("发生时间", "occurred at"),
    "reported_at": ("报告时间", "reported at"),
    "school_at_fault": ("学校责任", "school at fault"),
}
SHORT = 24  # values longer than this (notes, descriptions) are named, not quoted
EMPTY_LABEL = {"empty": ("（空）", "(empty)")}


# --- the derivation (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailEntry:
    """What the derivation reads of one audit entry."""

    id: int
    at: datetime
    table_name: str
    row_id: int
    action: str  # insert | update | delete
    changes: Mapping[str, Sequence[Any]]


@dataclass
class RecordChange:
    """One record of the month changed since the return, summed over every entry about it."""

    table: str
    row_id: int
    action: str  # added | changed | deleted
    at: datetime  # the last change
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # before the first, after the last
    details: int = 0  # item results / ratings added, changed or removed
    values: dict[str, Any] = field(default_factory=dict)  # last known values (describe a deleted record)


@dataclass
class _Record:
    at: datetime
    inserted: bool = False
    deleted: bool = False
    fields: dict[str, list[Any]] = field(default_factory=dict)
    children: set[int] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)

    def own(self, entry: TrailEntry) -> None:
        if entry.action == AuditAction.INSERT:
            self.inserted = True
            self.values.update({k: pair[1] for k, pair in entry.changes.items()})
        elif entry.action == AuditAction.DELETE:
            self.deleted = True
            self.values.update({k: pair[0] for k, pair in entry.changes.items()})
        else:
            for key, (before, after) in entry.changes.items():
                self.fields.setdefault(key, [before, after])[1] = after
                self.values[key] = after

    def result(self, table: str, row_id: int) -> RecordChange | None:
        if self.inserted and self.deleted:
            return None  # came and went after the return
        if self.inserted:
            return RecordChange(table, row_id, ADDED, self.at, values=self.values)
        if self.deleted:
            return RecordChange(table, row_id, DELETED, self.at, values=self.values)
        shown = {k: (b, a) for k, (b, a) in self.fields.items() if k not in NOT_SHOWN and not _same(b, a)}
        if not shown and not self.children:
            return None
        return RecordChange(table, row_id, CHANGED, self.at, shown, len(self.children), self.values)


def _same(before: Any, after: Any) -> bool:
    """Equal values, decimals compared as numbers (``"85.0"`` and ``"85.00"`` are no change)."""
    if before == after:
        return True
    try:
        return Decimal(str(before)) == Decimal(str(after))
    except (InvalidOperation, ValueError):
        return False


def derive_changes(
    entries: Iterable[TrailEntry],
    *,
    report_id: int,
    period_id: int,
    members: Mapping[str, Iterable[int]],
    child_parents: Mapping[tuple[str, int], int] | None = None,
) -> list[RecordChange]:
    """The month's records changed by ``entries`` (the audit entries after the return), one per record.

    ``members`` are the ids of the rows that belong to the report now, by table (a record added and
    deleted since is recognised from its entries' ``report_id``/``period_id``); ``child_parents`` maps a
    surviving item result or rating, ``(table, id)``, to its inspection or evaluation (the entry of an
    update names only the columns that changed). Ordered by table (:data:`PARENTS`), then by time.
    """
    entries = sorted(entries, key=lambda e: e.id)
    targets = {"report_id": report_id, "period_id": period_id}
    owned = {table: set(members.get(table, ())) for table in PARENTS}
    parents = dict(child_parents or {})
    for entry in entries:
        pair = _link_pair(entry)
        if pair is None:
            continue
        if entry.table_name in PARENTS:
            if targets[PARENTS[entry.table_name]] in pair:
                owned[entry.table_name].add(entry.row_id)
        else:
            parent = pair[1] if entry.action == AuditAction.INSERT else pair[0]
            if parent is not None:
                parents[(entry.table_name, entry.row_id)] = parent

    records: dict[tuple[str, int], _Record] = {}
    for entry in entries:
        if entry.table_name in PARENTS:
            if entry.row_id not in owned[entry.table_name]:
                continue
            record = records.setdefault((entry.table_name, entry.row_id), _Record(entry.at))
            record.own(entry)
        elif entry.table_name in CHILDREN:
            parent_table = CHILDREN[entry.table_name][0]
            parent = parents.get((entry.table_name, entry.row_id))
            if parent is None or parent not in owned[parent_table]:
                continue
            record = records.setdefault((parent_table, parent), _Record(entry.at))
            record.children.add(entry.row_id)
        else:
            continue
        record.at = entry.at

    order = list(PARENTS)
    out = [r for (table, row_id), rec in records.items() if (r := rec.result(table, row_id)) is not None]
    return sorted(out, key=lambda c: (order.index(c.table), c.at, c.row_id))


def _link_pair(entry: TrailEntry) -> Sequence[Any] | None:
    """``[before, after]`` of the column that ties an inserted or deleted row to its owner."""
    if entry.action == AuditAction.UPDATE:
        return None
    if entry.table_name in PARENTS:
        return entry.changes.get(PARENTS[entry.table_name])
    if entry.table_name in CHILDREN:
        return entry.changes.get(CHILDREN[entry.table_name][1])
    return None


# --- reading it for a page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str | None  # None: too long to quote, only named
    after: str | None


@dataclass(frozen=True)
class ShownChange:
    """One changed record as a reviewer reads it: "自查 · 食堂检查 2026-11-10 — 已修改: 得分 85.0 → 92.0"."""

    kind: str  # the record's label (检查, 人员考核 ...)
    title: str
    action: str
    action_label: str
    at: datetime
    fields: tuple[FieldChange, ...]
    details: str  # "3 项检查结果", or ""


@dataclass(frozen=True)
class SinceReturn:
    returned_at: datetime
    reason: str
    returns: int  # how many times the report has been returned (or reopened)
    changes: tuple[ShownChange, ...]


def last_return(report: MonthlyReport) -> tuple[ReportTransition | None, int]:
    """The report's latest return (or reopening) and how many there have been."""
    returns = [t for t in transitions_of(report) if t.to_state is ReportState.RETURNED]
    return (returns[-1] if returns else None), len(returns)


def returns_of(reports: Sequence[MonthlyReport]) -> dict[int, tuple[ReportTransition, int]]:
    """:func:`last_return` of many reports in one statement: report id -> (latest return, how many);
    reports never returned are absent."""
    ids = [report.id for report in reports]
    if not ids:
        return {}
    rows = db.session.scalars(
        select(ReportTransition)
        .where(ReportTransition.report_id.in_(ids), ReportTransition.to_state == ReportState.RETURNED)
        .order_by(ReportTransition.at, ReportTransition.id)
    )
    out: dict[int, tuple[ReportTransition, int]] = {}
    for row in rows:
        out[row.report_id] = (row, out[row.report_id][1] + 1 if row.report_id in out else 1)
    return out


def changes_since_return(
    report: MonthlyReport, returned: tuple[ReportTransition | None, int] | None = None
) -> SinceReturn | None:
    """The latest return's reason and what changed in the month's records after it; None if the
    report was never returned. ``returned``: the report's :func:`last_return`, when already known."""
    transition, count = returned if returned is not None else last_return(report)
    if transition is None:
        return None
    entries = _entries_after(report, transition)
    changes = derive_changes(
        entries,
        report_id=report.id,
        period_id=report.period_id,
        members=_members(report),
        child_parents=_child_parents(entries),
    )
    return SinceReturn(
        returned_at=transition.at,
        reason=transition.note,
        returns=count,
        changes=tuple(_shown(report, changes)),
    )


def _entries_after(report: MonthlyReport, transition: ReportTransition) -> list[TrailEntry]:
    """The school's audit entries about the month's records after the return's own entry (or, for a
    return the trail does not hold, from the return's time on)."""
    boundary = None
    for row in db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.school_id == report.school_id,
            AuditEntry.table_name == MonthlyReport.__tablename__,
            AuditEntry.row_id == report.id,
        )
        .order_by(AuditEntry.id)
    ):
        state = (row.changes or {}).get("state")
        if state and state[1] == ReportState.RETURNED.value:
            boundary = row.id
    stmt = select(AuditEntry).where(
        AuditEntry.school_id == report.school_id,
        AuditEntry.table_name.in_([*PARENTS, *CHILDREN]),
    )
    stmt = (
        stmt.where(AuditEntry.id > boundary)
        if boundary is not None
        else stmt.where(AuditEntry.at >= transition.at)
    )
    return [
        TrailEntry(e.id, e.at, e.table_name, e.row_id, e.action.value, e.changes or {})
        for e in db.session.scalars(stmt.order_by(AuditEntry.id))
    ]


def _members(report: MonthlyReport) -> dict[str, set[int]]:
    def ids(model: Any, column: Any, value: int) -> set[int]:
        return set(
            db.session.scalars(select(model.id).where(model.school_id == report.school_id, column == value))
        )

    return {
        Inspection.__tablename__: ids(Inspection, Inspection.report_id, report.id),
        CanteenMonthlyFacts.__tablename__: ids(CanteenMonthlyFacts, CanteenMonthlyFacts.report_id, report.id),
        Evaluation.__tablename__: ids(Evaluation, Evaluation.report_id, report.id),
        Hazard.__tablename__: ids(Hazard, Hazard.period_id, report.period_id),
        Incident.__tablename__: ids(Incident, Incident.period_id, report.period_id),
    }


def _child_parents(entries: Sequence[TrailEntry]) -> dict[tuple[str, int], int]:
    """The inspection or evaluation of each surviving child row an update entry names."""
    out: dict[tuple[str, int], int] = {}
    for model, link in ((InspectionItemResult, "inspection_id"), (EvaluationRating, "evaluation_id")):
        wanted = {e.row_id for e in entries if e.table_name == model.__tablename__ and e.action == "update"}
        if wanted:
            column = getattr(model, link)
            for row_id, parent in db.session.execute(select(model.id, column).where(model.id.in_(wanted))):
                out[(model.__tablename__, row_id)] = parent
    return out


def _shown(report: MonthlyReport, changes: Sequence[RecordChange]) -> Iterable[ShownChange]:
    staff_ids = {int(c.values["staff_id"]) for c in changes if c.values.get("staff_id") is not None}
    staff_ids |= {
        e.staff_id
        for e in _current(Evaluation, [c.row_id for c in changes if c.table == Evaluation.__tablename__])
    }
    names = (
        {
            row.id: row.name
            for row in db.session.execute(
                select(StaffMember.id, StaffMember.name).where(StaffMember.id.in_(staff_ids))
            )
        }
        if staff_ids
        else {}
    )
    for change in changes:
        values = dict(change.values)
        current = _current_row(change)
        if current is not None:
            values.update(
                {
                    k: getattr(current, k)
                    for k in ("kind", "mode", "inspected_on", "staff_id", "title", "type", "occurred_at")
                    if hasattr(current, k)
                }
            )
        yield ShownChange(
            # an inspection's title already says what it is (自查 · 食堂检查 ...)
            kind="" if change.table == Inspection.__tablename__ else label(RECORD_LABELS, change.table),
            title=_title(change.table, values, names),
            action=change.action,
            action_label=label(CHANGE_LABELS, change.action),
            at=change.at,
            fields=tuple(_field(change.table, k, b, a) for k, (b, a) in change.fields.items()),
            details=(f"{change.details} {label(DETAIL_LABELS, change.table)}" if change.details else ""),
        )


def _current(model: Any, ids: Sequence[int]) -> list[Any]:
    return list(db.session.scalars(select(model).where(model.id.in_(ids)))) if ids else []


_MODELS = {
    Inspection.__tablename__: Inspection,
    CanteenMonthlyFacts.__tablename__: CanteenMonthlyFacts,
    Evaluation.__tablename__: Evaluation,
    Hazard.__tablename__: Hazard,
    Incident.__tablename__: Incident,
}


def _current_row(change: RecordChange) -> Any:
    if change.action == DELETED:
        return None
    model = _MODELS[change.table]
    return db.session.scalars(select(model).where(model.id == change.row_id)).one_or_none()


def _title(table: str, values: Mapping[str, Any], names: Mapping[int, str]) -> str:
    if table == Inspection.__tablename__:
        kind, mode = values.get("kind"), values.get("mode")
        parts = [
            label(INSPECTION_MODE_LABELS, _enum(INSPECTION_MODE_LABELS, mode)) if mode else "",
            label(INSPECTION_KIND_LABELS, _enum(INSPECTION_KIND_LABELS, kind)) if kind else "",
        ]
        return f"{' · '.join(p for p in parts if p)} {_day(values.get('inspected_on'))}".strip()
    if table == Evaluation.__tablename__:
        staff = values.get("staff_id")
        return names.get(int(staff), "") if staff is not None else ""
    if table == Hazard.__tablename__:
        return str(values.get("title") or "")
    if table == Incident.__tablename__:
        kind = values.get("type")
        name = label(INCIDENT_TYPE_LABELS, _enum(INCIDENT_TYPE_LABELS, kind)) if kind else ""
        return f"{name} {_day(values.get('occurred_at'))}".strip()
    return ""


def _enum(labels: Mapping[Any, Any], value: Any) -> Any:
    """The labels' key for ``value`` (an enum member, or its stored text from the trail)."""
    for key in labels:
        if key == value or getattr(key, "value", key) == value:
            return key
    return value


def _day(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        shown = local(value)
        return shown.date().isoformat() if shown else ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text[:10]
    return _day(parsed) if "T" in text or " " in text else text[:10]


def _field(table: str, key: str, before: Any, after: Any) -> FieldChange:
    name = label(FIELD_LABELS, key) if key in FIELD_LABELS else key
    shown_before, shown_after = _value(table, key, before), _value(table, key, after)
    if (
        shown_before is not None
        and shown_after is not None
        and max(len(shown_before), len(shown_after)) <= SHORT
    ):
        return FieldChange(name, shown_before, shown_after)
    return FieldChange(name, None, None)


def _value(table: str, key: str, value: Any) -> str | None:
    if value is None or value == "":
        return label(EMPTY_LABEL, "empty")
    if isinstance(value, dict | list):
        return None
    if key == "score":
        places = 2 if table == Evaluation.__tablename__ else 1  # staff person scores show 2 decimals
        try:
            return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-places)))
        except InvalidOperation:
            return str(value)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if key.endswith("_at"):
        return _day(value)
    return str(value)


# --- the queue and accepting several at once ---------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    report: MonthlyReport
    school: School
    days_waiting: int
    since_return: SinceReturn | None


def review_queue(*, today: date) -> list[QueueRow]:
    """Submitted reports in the caller's scope (an inspector's clusters, or every school for the
    bureau), the longest waiting first, each with what changed since its last return."""
    rows = db.session.execute(
        select(MonthlyReport, School)
        .join(School, School.id == MonthlyReport.school_id)
        .where(MonthlyReport.state == ReportState.SUBMITTED)
        .options(selectinload(MonthlyReport.period))
        .order_by(MonthlyReport.submitted_at, MonthlyReport.id)
    )
    rows = list(rows)
    returns = returns_of([report for report, _school in rows])  # one statement, not one per report
    out = []
    for report, school in rows:
        submitted = local(report.submitted_at)
        waiting = (today - submitted.date()).days if submitted else 0
        since = changes_since_return(report, returns.get(report.id, (None, 0)))
        out.append(QueueRow(report, school, max(waiting, 0), since))
    return out


@dataclass
class BulkOutcome:
    accepted: list[MonthlyReport] = field(default_factory=list)
    refused: list[tuple[MonthlyReport, list[str]]] = field(default_factory=list)


def accept_many(reports: Sequence[MonthlyReport], *, now: datetime) -> BulkOutcome:
    """Accept each of ``reports`` that can be accepted; say, per report, why the others were not.

    Not all-or-nothing, on purpose: a reviewer who ticks twelve reports and finds that one was
    accepted a minute ago by a colleague (or returned) expects the other eleven accepted and to be told
    about the one - not to be sent back to tick eleven boxes again. So each report is accepted in a
    savepoint of its own: a refusal undoes that report only, and the caller commits the rest once.
    Each acceptance is exactly :func:`service.reports.operations.accept` (the API's): it logs the
    transition and emits the ranking event, whose re-ranking job goes out after the commit.
    """
    outcome = BulkOutcome()
    for report in reports:
        try:
            with db.session.begin_nested():
                accept(report, now=now)
        except DomainError as exc:
            outcome.refused.append((report, [m for messages in exc.errors.values() for m in messages]))
        else:
            outcome.accepted.append(report)
    return outcome
