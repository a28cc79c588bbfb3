"""Inspections and canteen facts: plain functions over the session (flush, never commit).

Who may do what is checked by the API (it knows the caller's role); these functions enforce the
rules of the data: the pinned rubric version, the month, the report's editability for a school's own
data, the canteen, and all-or-nothing saving - every check runs before the first row changes, so a
refused request leaves nothing behind.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.accounts.models import User
from service.core.errors import Conflict, DomainError
from service.db import db
from service.incidents import vetoes
from service.inspections import scoring
from service.inspections.models import (
    CanteenMonthlyFacts,
    Grade,
    Inspection,
    InspectionItemResult,
    InspectionKind,
    InspectionMode,
    ItemOutcome,
)
from service.org.models import CanteenMode, School
from service.periods.models import Period
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable, open_report
from service.rubrics import operations as rubrics
from service.rubrics.models import ItemKind, RubricItem, RubricVersion

Errors = dict[str, list[str]]


class InspectionRefused(DomainError):
    """A refused inspection (422), with the item messages also placed on the row they are about.

    ``errors`` is exactly what the API answers: ``items`` stays one flat list of messages, each naming
    its item ("Item 2 (A2): ..."). ``located`` repeats each item message under the dotted field of its
    row (``items.<i>.result``, ``i`` counted from 0 like marshmallow's own nested errors), so the
    browser form can show it beside the item it is about (``service/inspections/views.py``).
    """

    def __init__(self, errors: Errors, located: Errors) -> None:
        super().__init__(errors)
        self.located = located

    def by_field(self) -> Errors:
        """The errors for a page: item messages beside their rows, everything else as the API has it."""
        placed = {message for messages in self.located.values() for message in messages}
        out: Errors = {}
        for field, messages in self.errors.items():
            kept = [m for m in messages if not (field == "items" and m in placed)]
            if kept:
                out[field] = kept
        for field, messages in self.located.items():
            out.setdefault(field, []).extend(messages)
        return out


FACT_FIELDS = (
    "meals_served",
    "menu_compliant_days",
    "serving_days",
    "leader_accompanied_meals",
    "sampled_meals",
    "food_waste_kg",
)


# --- reading -----------------------------------------------------------------------------------------


def list_inspections(
    *,
    period_id: int | None = None,
    kind: InspectionKind | None = None,
    mode: InspectionMode | None = None,
    school_id: int | None = None,
) -> Any:
    """Inspections in the caller's scope, newest first; ``school_id`` only narrows within the scope."""
    stmt = (
        select(Inspection)
        .options(selectinload(Inspection.period), selectinload(Inspection.rubric_version))
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
    )
    if period_id is not None:
        stmt = stmt.where(Inspection.period_id == period_id)
    if kind is not None:
        stmt = stmt.where(Inspection.kind == kind)
    if mode is not None:
        stmt = stmt.where(Inspection.mode == mode)
    if school_id is not None:
        stmt = stmt.where(Inspection.school_id == school_id)
    return stmt


def load_results(inspection: Inspection) -> list[InspectionItemResult]:
    """The item results with their rubric items, in rubric order (section, then item position)."""
    results = list(
        db.session.scalars(
            select(InspectionItemResult)
            .where(
                InspectionItemResult.school_id == inspection.school_id,
                InspectionItemResult.inspection_id == inspection.id,
            )
            .options(selectinload(InspectionItemResult.item).selectinload(RubricItem.section))
        )
    )
    return sorted(results, key=lambda r: (r.item.section.position, r.item.position, r.item.id))


# --- inspections -------------------------------------------------------------------------------------


def create_inspection(
    period: Period, school: School, data: Mapping[str, Any], *, user: User | None, today: date
) -> Inspection:
    """Record one inspection with all its item results, scored with the kind's published rubric.

    A self-inspection belongs to the school's report for the period (opened on first use) and needs
    that report to be editable (409 otherwise); a spot inspection records who inspected.
    """
    kind: InspectionKind = data["kind"]
    mode: InspectionMode = data["mode"]
    version = rubrics.current_version(kind.rubric_kind)
    if version is None:
        raise Conflict({"kind": [_("This rubric has no published version; ask the bureau to publish one.")]})

    report: MonthlyReport | None = None
    if mode is InspectionMode.SELF:
        report = open_report(period, school_id=school.id)
        ensure_editable(report, today=today)

    inspector_name = (data.get("inspector_name") or "").strip()
    if mode is InspectionMode.SPOT and not inspector_name and user is not None:
        inspector_name = user.display_name
    errors = _header_errors(
        kind=kind,
        mode=mode,
        school=school,
        period=period,
        inspected_on=data["inspected_on"],
        inspector_name=inspector_name,
        unannounced=bool(data.get("unannounced", False)),
        today=today,
    )
    located: Errors = {}
    entries = _check_items(version, data["items"], errors, located)
    if errors:
        raise InspectionRefused(errors, located)

    inspection = Inspection(
        school_id=school.id,
        kind=kind,
        mode=mode,
        rubric_version_id=version.id,
        period_id=period.id,
        report_id=report.id if report is not None else None,
        inspected_on=data["inspected_on"],
        inspector_name=inspector_name,
        inspector_user_id=user.id if (mode is InspectionMode.SPOT and user is not None) else None,
        unannounced=bool(data.get("unannounced", False)),
        notes=data.get("notes", ""),
    )
    for row in data["items"]:
        inspection.results.append(
            InspectionItemResult(
                school_id=school.id,
                item_id=row["item_id"],
                result=row["result"],
                occurrences=row.get("occurrences", 0),
                note=row.get("note", ""),
            )
        )
    _store_score(inspection, version, entries)
    db.session.add(inspection)
    db.session.flush()
    _sync_vetoes(inspection, version, entries)
    return inspection


def update_inspection(inspection: Inspection, data: Mapping[str, Any], *, today: date) -> Inspection:
    """Change the notes, date, inspector or the whole item list, and score again.

    The inspection keeps its rubric version: results are checked against, and scored with, the
    version it was created with, even if a newer one has been published since.
    """
    if inspection.excluded:
        # Set aside by an upheld appeal: editing would re-score it and bring its vetoes back.
        raise Conflict(
            {"id": [_("This inspection was set aside by an upheld appeal and can no longer be changed.")]}
        )
    if inspection.mode is InspectionMode.SELF:
        ensure_editable(_report_of(inspection), today=today)
    version = rubrics.get_version(inspection.rubric_version_id)
    school = db.session.scalars(select(School).where(School.id == inspection.school_id)).one()

    inspector_name = data["inspector_name"].strip() if "inspector_name" in data else inspection.inspector_name
    errors = _header_errors(
        kind=inspection.kind,
        mode=inspection.mode,
        school=school,
        period=inspection.period,
        inspected_on=data.get("inspected_on", inspection.inspected_on),
        inspector_name=inspector_name,
        unannounced=bool(data.get("unannounced", inspection.unannounced)),
        today=today,
    )
    located: Errors = {}
    if "items" in data:
        entries = _check_items(version, data["items"], errors, located)
    else:
        entries = {r.item_id: scoring.Entry(r.result, r.occurrences) for r in inspection.results}
    if errors:
        raise InspectionRefused(errors, located)

    for key in ("inspected_on", "unannounced", "notes"):
        if key in data:
            setattr(inspection, key, data[key])
    inspection.inspector_name = inspector_name
    if "items" in data:
        _replace_results(inspection, data["items"])
    _store_score(inspection, version, entries)
    db.session.flush()
    _sync_vetoes(inspection, version, entries)
    return inspection


def delete_inspection(inspection: Inspection, *, today: date) -> None:
    if inspection.mode is InspectionMode.SELF:
        ensure_editable(_report_of(inspection), today=today)
    vetoes.clear_inspection_vetoes(inspection.school_id, inspection.id)
    db.session.delete(inspection)  # results go with it (ORM cascade, so each deletion is audited)
    db.session.flush()


# What failing a veto item bars, by the kind of inspection (一票否决, rubrics.md "Incidents and vetoes").
VETO_BLOCKS = {
    InspectionKind.CANTEEN: (vetoes.Commendation.TRUSTED_CANTEEN, vetoes.Commendation.ADVANCED_UNIT),
    InspectionKind.SAFETY: (vetoes.Commendation.SAFE_CAMPUS, vetoes.Commendation.ADVANCED_UNIT),
}


def _sync_vetoes(
    inspection: Inspection, version: RubricVersion, entries: Mapping[int, scoring.Entry]
) -> None:
    """Make the inspection's vetoes match its failed veto items (idempotent; corrections remove them)."""
    vetoes.clear_inspection_vetoes(inspection.school_id, inspection.id)
    for item in version.all_items():
        entry = entries.get(item.id)
        if item.kind is ItemKind.VETO and entry is not None and entry.result is ItemOutcome.FAIL:
            vetoes.record_failed_veto_item(
                inspection.school_id,
                inspection.id,
                item.code,
                inspection.inspected_on,
                [c.value for c in VETO_BLOCKS[inspection.kind]],
            )


def _report_of(inspection: Inspection) -> MonthlyReport:
    return db.session.scalars(
        select(MonthlyReport).where(
            MonthlyReport.school_id == inspection.school_id, MonthlyReport.id == inspection.report_id
        )
    ).one()


def _replace_results(inspection: Inspection, items: Sequence[Mapping[str, Any]]) -> None:
    """Update rows in place by item (keeps the unique key and makes the audit trail show real changes)."""
    existing = {r.item_id: r for r in inspection.results}
    wanted = {row["item_id"] for row in items}
    for item_id, row in existing.items():
        if item_id not in wanted:
            inspection.results.remove(row)  # delete-orphan
    for row in items:
        result = existing.get(row["item_id"])
        if result is None:
            result = InspectionItemResult(school_id=inspection.school_id, item_id=row["item_id"])
            inspection.results.append(result)
        result.result = row["result"]
        result.occurrences = row.get("occurrences", 0)
        result.note = row.get("note", "")


def score_results(
    version: RubricVersion, kind: InspectionKind, entries: Mapping[int, scoring.Entry]
) -> tuple[scoring.InspectionScore, Grade | None]:
    """Formula 1 and, for a canteen inspection, its grade under the version's settings.

    The one function behind both the score a saved inspection stores and the live score the browser
    form shows while items are being judged, so the two cannot disagree.
    Raises :class:`scoring.NothingApplicable` when every item with points is not applicable.
    """
    scored = scoring.score_inspection(version.sections, entries)
    grade = scoring.canteen_grade(scored, version.settings) if kind is InspectionKind.CANTEEN else None
    return scored, grade


def preview_score(
    version: RubricVersion, kind: InspectionKind, items: Sequence[Mapping[str, Any]]
) -> tuple[scoring.InspectionScore, Grade | None]:
    """The score and grade an inspection would get from the results entered so far; nothing is saved.

    ``items`` has the API's shape. Items not judged yet deduct nothing, and rows that saving would
    refuse (not applicable where the rubric forbids it, ...) are left out by the same checks as
    saving, which reports them.
    """
    entries = _check_items(version, items, {}, {})
    return score_results(version, kind, entries)


def _store_score(
    inspection: Inspection, version: RubricVersion, entries: Mapping[int, scoring.Entry]
) -> None:
    try:
        scored, grade = score_results(version, inspection.kind, entries)
    except scoring.NothingApplicable:
        raise DomainError(
            {"items": [_("Every item was marked not applicable; there is nothing to score.")]}
        ) from None
    inspection.score = scored.score
    inspection.key_failed = scored.key_failed
    inspection.veto_failed = scored.veto_failed
    inspection.section_scores = scored.section_scores_json()
    inspection.grade = grade


def _header_errors(
    *,
    kind: InspectionKind,
    mode: InspectionMode,
    school: School,
    period: Period,
    inspected_on: date,
    inspector_name: str,
    unannounced: bool,
    today: date,
) -> Errors:
    errors: Errors = {}
    if kind is InspectionKind.CANTEEN and school.canteen_mode is CanteenMode.NONE:
        _add(errors, "kind", _("This school has no canteen, so it cannot have canteen inspections."))
    last_day = calendar.monthrange(period.year, period.month)[1]
    if not (period.first_day <= inspected_on <= date(period.year, period.month, last_day)):
        _add(
            errors,
            "inspected_on",
            _("The inspection date must fall in the month of the period (%(period)s).", period=period.code),
        )
    elif inspected_on > today:
        _add(errors, "inspected_on", _("The inspection date cannot be in the future."))
    if mode is InspectionMode.SELF and unannounced:
        _add(errors, "unannounced", _("Only spot inspections can be unannounced."))
    if not inspector_name:
        _add(errors, "inspector_name", _("Please say who carried out the inspection."))
    return errors


def _check_items(
    version: RubricVersion, items: Sequence[Mapping[str, Any]], errors: Errors, located: Errors
) -> dict[int, scoring.Entry]:
    """Check the item list against the pinned version; add one message per bad item to ``errors``,
    and the same message to ``located`` under the field of the row it is about.

    Every item the rubric expects to be entered (all but ``computed`` ones) must be listed exactly
    once: a forgotten item is refused rather than silently counted as passed.
    """
    by_id = {item.id: item for item in version.all_items()}
    entries: dict[int, scoring.Entry] = {}
    seen: set[int] = set()
    messages: list[str] = []

    def refuse(n: int, field: str, message: str) -> None:
        messages.append(message)
        _add(located, f"items.{n - 1}.{field}", message)

    for n, row in enumerate(items, start=1):
        item = by_id.get(row["item_id"])
        if item is None:
            refuse(
                n,
                "item_id",
                _(
                    "Item %(n)s: rubric item %(id)s is not part of rubric version %(version)s.",
                    n=n,
                    id=row["item_id"],
                    version=version.version,
                ),
            )
            continue
        if item.id in seen:
            refuse(n, "item_id", _("Item %(n)s (%(code)s): this item is listed twice.", n=n, code=item.code))
            continue
        seen.add(item.id)
        result: ItemOutcome = row["result"]
        occurrences = int(row.get("occurrences", 0))
        if item.computed:
            refuse(
                n,
                "result",
                _(
                    "Item %(n)s (%(code)s): this item is computed by the system and cannot be entered.",
                    n=n,
                    code=item.code,
                ),
            )
            continue
        if result is ItemOutcome.NA and not item.na_allowed:
            refuse(
                n,
                "result",
                _("Item %(n)s (%(code)s): this item cannot be marked not applicable.", n=n, code=item.code),
            )
            continue
        if occurrences and result is not ItemOutcome.FAIL:
            refuse(
                n,
                "occurrences",
                _("Item %(n)s (%(code)s): only a failed item has occurrences.", n=n, code=item.code),
            )
            continue
        entries[item.id] = scoring.Entry(result, occurrences)
    missing = [item.code for item in version.all_items() if not item.computed and item.id not in seen]
    if missing:
        messages.append(_("Results are missing for items: %(codes)s.", codes=", ".join(missing)))
    for message in messages:
        _add(errors, "items", message)
    return entries


# --- canteen facts -----------------------------------------------------------------------------------


def get_facts(report: MonthlyReport) -> CanteenMonthlyFacts | None:
    return db.session.scalars(
        select(CanteenMonthlyFacts).where(
            CanteenMonthlyFacts.school_id == report.school_id,
            CanteenMonthlyFacts.period_id == report.period_id,
        )
    ).one_or_none()


def put_facts(report: MonthlyReport, data: Mapping[str, Any], *, today: date) -> CanteenMonthlyFacts:
    """Enter or replace the canteen's facts of the report's month."""
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    if school.canteen_mode is CanteenMode.NONE:
        raise DomainError(
            {"school_id": [_("This school has no canteen, so it has no canteen facts to report.")]}
        )
    ensure_editable(report, today=today)
    errors = _facts_errors(report.period, data)
    if errors:
        raise DomainError(errors)
    facts = get_facts(report)
    if facts is None:
        facts = CanteenMonthlyFacts(
            school_id=report.school_id, period_id=report.period_id, report_id=report.id
        )
        db.session.add(facts)
    for key in FACT_FIELDS:
        setattr(facts, key, data[key])
    db.session.flush()
    return facts


def _facts_errors(period: Period, data: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    for key in ("leader_accompanied_meals", "sampled_meals"):
        if data[key] > data["meals_served"]:
            _add(errors, key, _("Cannot be more than the meals served (%(n)s).", n=data["meals_served"]))
    days = calendar.monthrange(period.year, period.month)[1]
    if data["serving_days"] > days:
        _add(errors, "serving_days", _("The month has only %(n)s days.", n=days))
    if data["menu_compliant_days"] > data["serving_days"]:
        _add(
            errors,
            "menu_compliant_days",
            _("Cannot be more than the serving days (%(n)s).", n=data["serving_days"]),
        )
    return errors


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)
