"""What an upload does to the month: the plan (``build_plan``), counted per kind of record for the
confirmation page, and its steps, each one call of an area's own operation (``execute``).

The workbook is compared with the month record by record (:mod:`service.excel.month`):

- self-inspections, per kind whose sheet has at least one filled block (an empty sheet leaves that
  kind alone): a block equal to one of the month's inspections leaves it as it is; the other blocks
  replace the other inspections in order (corrected in place, so the inspection keeps its id and
  notes - or deleted and entered again when it was scored with an older rubric version); extra blocks
  are added, extra inspections deleted. Spot inspections (督查) are never touched;
- the canteen facts, when the sheet is filled: added, replaced, or unchanged;
- the evaluation of each person with a filled row: added, or replaced group by group - a rater group
  whose workbook scores equal the month's keeps its ratings, peer ratings always stay;
- hazards (by 名称, 位置, 发现日期) and incidents (by 类型, 发生时间): an existing one with other
  content is corrected (only the changed columns are sent), a new one is added; nothing is deleted.

Nothing here decides a rule of the data: every step goes through the area's operation, which checks
and scores as it does for the API. :func:`execute` runs the steps and turns the operations' refusals
into cell errors at the row (and, where the field is known, the column) they came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import partial
from itertools import zip_longest
from typing import Any

from flask_babel import gettext as _

from service.core.errors import DomainError
from service.evaluations import operations as evaluations
from service.evaluations.models import Evaluation, RaterGroup
from service.excel import common as c
from service.excel import month as m
from service.hazards import operations as hazards
from service.incidents import operations as incidents
from service.inspections import operations as inspections
from service.inspections.models import Inspection, InspectionKind, InspectionMode
from service.rubrics.models import RubricKind, RubricVersion
from service.staff.models import StaffMember

INSPECTION_KEYS = {InspectionKind.CANTEEN: "canteen_inspections", InspectionKind.SAFETY: "safety_inspections"}
KINDS = (*INSPECTION_KEYS.values(), "canteen_facts", "evaluations", "hazards", "incidents")
ACTIONS = ("added", "replaced", "deleted", "unchanged")

# Where an operation's error field is shown: the workbook column of that field.
INSPECTION_COLUMNS = {"inspected_on": "B", "inspector_name": "C", "items": "F", "kind": "A"}
EVALUATION_COLUMNS = {"ratings": "C", "staff_id": "A", "rubric_version_id": "C"}
HAZARD_COLUMNS = {"title": "A", "location": "B", "severity": "C", "responsible_person": "D",
                  "found_on": "E", "deadline": "F", "description": "G"}  # fmt: skip
INCIDENT_COLUMNS = {
    "type": "A",
    "occurred_at": "B",
    "severity": "C",
    "school_at_fault": "D",
    "description": "E",
}


@dataclass
class CellError:
    sheet: str
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class Count:
    added: int = 0
    replaced: int = 0
    deleted: int = 0
    unchanged: int = 0


@dataclass
class Step:
    """One operation call; ``cells`` places its refusals by error field (default: the row, column A)."""

    sheet: str
    row: int
    run: Callable[[], Any]
    cells: Mapping[str, tuple[int, str]] = field(default_factory=dict)


@dataclass
class Plan:
    counts: dict[str, Count]
    steps: list[Step]
    month_hash: str  # service.excel.month.fingerprint before the upload

    @property
    def replaces(self) -> bool:
        """Whether anything already in the month would be replaced or deleted."""
        return any(n.replaced or n.deleted for n in self.counts.values())

    @property
    def changes(self) -> bool:
        return any(n.added or n.replaced or n.deleted for n in self.counts.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {kind: asdict(self.counts[kind]) for kind in KINDS}

    def digest(self, file_sha256: str) -> str:
        """Binds the file, the month as it was and what would be done: a confirmation must match it."""
        payload = json.dumps([file_sha256, self.month_hash, self.as_dict()], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Context:
    month: m.MonthData
    versions: dict[RubricKind, RubricVersion | None]
    today: date
    now: datetime


def build_plan(ctx: Context, parsed: Any) -> Plan:
    """``parsed`` is the checked workbook (:class:`service.excel.upload.Parsed`)."""
    plan = Plan({kind: Count() for kind in KINDS}, [], m.fingerprint(ctx.month))
    for kind, key in INSPECTION_KEYS.items():
        _inspections(ctx, plan, kind, parsed.inspections.get(kind, []), plan.counts[key])
    _facts(ctx, plan, parsed.facts)
    for row, member, ratings in parsed.evaluations:
        _evaluation(ctx, plan, row, member, ratings)
    _hazards(ctx, plan, parsed.hazards)
    _incidents(ctx, plan, parsed.incidents)
    return plan


def execute(plan: Plan) -> list[CellError]:
    """Run every step; refusals (but a 409, which refuses the whole upload) become cell errors."""
    errors: list[CellError] = []
    for step in plan.steps:
        try:
            step.run()
        except DomainError as refusal:
            if refusal.status == 409:
                raise
            for name, messages in refusal.errors.items():
                row, column = step.cells.get(str(name).split(".")[0], (step.row, "A"))
                errors += [CellError(step.sheet, row, column, str(message)) for message in messages]
    return errors


# --- per kind of record --------------------------------------------------------------------------------


def _cells(row: int, columns: Mapping[str, str]) -> dict[str, tuple[int, str]]:
    return {name: (row, column) for name, column in columns.items()}


def _inspections(ctx: Context, plan: Plan, kind: InspectionKind, blocks: list[Any], count: Count) -> None:
    existing = ctx.month.inspections[kind]
    if not blocks:
        count.unchanged = len(existing)  # an empty sheet leaves the kind alone
        return
    version = ctx.versions[kind.rubric_kind]
    sheet = c.INSPECTION_SHEETS[kind]
    pending = list(existing)
    changed = []
    for block in sorted(blocks, key=lambda b: b.number):
        content = (block.inspected_on, block.inspector_name, m.items_content(block.items))
        same = next(
            (
                i
                for i in pending
                if version is not None
                and i.rubric_version_id == version.id
                and m.inspection_content(i) == content
            ),
            None,
        )
        if same is not None:
            pending.remove(same)
            count.unchanged += 1
        else:
            changed.append(block)
    for block, old in zip_longest(changed, pending):
        row = block.row if block is not None else 2
        if block is None:
            count.deleted += 1
            run = _delete_inspection(ctx, old)
        elif old is None:
            count.added += 1
            run = _create_inspection(ctx, kind, block)
        else:
            count.replaced += 1
            run = _replace_inspection(ctx, kind, old, block, version)
        plan.steps.append(Step(sheet, row, run, _cells(row, INSPECTION_COLUMNS)))


def _block_data(block: Any) -> dict[str, Any]:
    return {"inspected_on": block.inspected_on, "inspector_name": block.inspector_name, "items": block.items}


def _create_inspection(ctx: Context, kind: InspectionKind, block: Any) -> Callable[[], Any]:
    def run() -> Any:
        data = {"kind": kind, "mode": InspectionMode.SELF, **_block_data(block)}
        return inspections.create_inspection(
            ctx.month.report.period, ctx.month.school, data, user=None, today=ctx.today
        )

    return run


def _delete_inspection(ctx: Context, old: Inspection) -> Callable[[], Any]:
    return partial(inspections.delete_inspection, old, today=ctx.today)


def _replace_inspection(
    ctx: Context, kind: InspectionKind, old: Inspection, block: Any, version: RubricVersion | None
) -> Callable[[], Any]:
    if version is not None and old.rubric_version_id == version.id:
        return partial(inspections.update_inspection, old, _block_data(block), today=ctx.today)
    create = _create_inspection(ctx, kind, block)

    def run() -> Any:  # scored with an older version: entered again with the one in force
        inspections.delete_inspection(old, today=ctx.today)
        return create()

    return run


def _facts(ctx: Context, plan: Plan, values: dict[str, Any] | None) -> None:
    count = plan.counts["canteen_facts"]
    existing = ctx.month.facts
    if values is None:
        count.unchanged = int(existing is not None)
        return
    if existing is not None and all(getattr(existing, f) == values[f] for f in inspections.FACT_FIELDS):
        count.unchanged = 1
        return
    if existing is None:
        count.added = 1
    else:
        count.replaced = 1
    cells = {name: (2 + i, "B") for i, (name, _label, _hint) in enumerate(c.FACT_ROWS)}
    report = ctx.month.report
    plan.steps.append(
        Step(c.SHEET_FACTS, 2, partial(inspections.put_facts, report, values, today=ctx.today), cells)
    )


def _kept_rating(rating: Any) -> dict[str, Any]:
    return {
        "rater_group": rating.rater_group,
        "rater_name": rating.rater_name,
        "rater_staff_id": rating.rater_staff_id,
        "scores": dict(rating.scores),
    }


def _merged_ratings(existing: Evaluation, ratings: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The evaluation's ratings after the workbook row, or None when the row changes nothing.

    Per workbook group: scores equal to the group's (as the template shows them) keep its ratings;
    otherwise the workbook's rating replaces them (an emptied optional group removes them). Groups the
    workbook does not carry (peers) are kept."""
    sent = {RaterGroup(r["rater_group"]): r for r in ratings}
    have = m.group_scores(existing)
    replaced = {g for g in m.WORKBOOK_GROUPS if (sent[g]["scores"] if g in sent else None) != have.get(g)}
    if not replaced:
        return None
    kept = [_kept_rating(r) for r in existing.ratings if r.rater_group not in replaced]
    return kept + [sent[g] for g in m.WORKBOOK_GROUPS if g in replaced and g in sent]


def _evaluation(
    ctx: Context, plan: Plan, row: int, member: StaffMember, ratings: list[dict[str, Any]]
) -> None:
    count = plan.counts["evaluations"]
    existing = ctx.month.evaluations.get(member.id)
    period = ctx.month.report.period
    if existing is None:
        count.added += 1
        run = partial(evaluations.create_evaluation, member, period, ratings, today=ctx.today)
    else:
        merged = _merged_ratings(existing, ratings)
        if merged is None:
            count.unchanged += 1
            return
        count.replaced += 1
        run = partial(evaluations.replace_ratings, existing, merged, today=ctx.today)
    plan.steps.append(Step(c.SHEET_STAFF, row, run, _cells(row, EVALUATION_COLUMNS)))


def _hazards(ctx: Context, plan: Plan, rows: list[tuple[int, dict[str, Any]]]) -> None:
    count = plan.counts["hazards"]
    pending = list(ctx.month.hazards)
    school_id = ctx.month.school.id
    for row, data in rows:
        same = next((h for h in pending if m.same_hazard(h, data)), None)
        if same is None:
            count.added += 1
            new = {**data, "school_id": school_id}
            run = partial(hazards.create_hazard, new, today=ctx.today, by_bureau=False)
        else:
            pending.remove(same)
            changed = {k: data[k] for k in m.HAZARD_CONTENT if getattr(same, k) != data[k]}
            if not changed:
                count.unchanged += 1
                continue
            count.replaced += 1
            run = partial(hazards.update_hazard, same, changed, today=ctx.today, by_bureau=False)
        plan.steps.append(Step(c.SHEET_HAZARDS, row, run, _cells(row, HAZARD_COLUMNS)))


def _incidents(ctx: Context, plan: Plan, rows: list[tuple[int, dict[str, Any]]]) -> None:
    count = plan.counts["incidents"]
    pending = list(ctx.month.incidents)
    school_id = ctx.month.school.id
    for row, data in rows:
        same = next((i for i in pending if m.same_incident(i, data)), None)
        if same is None:
            count.added += 1
            new = {**data, "school_id": school_id}
            run = partial(incidents.create_incident, new, now=ctx.now, today=ctx.today, by_bureau=False)
        else:
            pending.remove(same)
            changed = {k: data[k] for k in m.INCIDENT_CONTENT if getattr(same, k) != data[k]}
            if not changed:
                count.unchanged += 1
                continue
            count.replaced += 1
            run = partial(
                incidents.update_incident, same, changed, now=ctx.now, today=ctx.today, by_bureau=False
            )
        plan.steps.append(Step(c.SHEET_INCIDENTS, row, run, _cells(row, INCIDENT_COLUMNS)))


# --- the plan in words -----------------------------------------------------------------------------------


def kind_label(kind: str) -> str:
    return {
        "canteen_inspections": _("canteen self-inspection(s)"),
        "safety_inspections": _("safety self-inspection(s)"),
        "canteen_facts": _("canteen facts"),
        "evaluations": _("staff evaluation(s)"),
        "hazards": _("hazard(s)"),
        "incidents": _("incident(s)"),
    }[kind]


def _phrase(action: str, n: int, what: str, *, done: bool) -> str:
    if action == "replaced":
        return (
            _("replaced %(n)s %(what)s", n=n, what=what)
            if done
            else _("replace %(n)s %(what)s", n=n, what=what)
        )
    if action == "deleted":
        return (
            _("deleted %(n)s %(what)s", n=n, what=what)
            if done
            else _("delete %(n)s %(what)s", n=n, what=what)
        )
    return _("added %(n)s %(what)s", n=n, what=what) if done else _("add %(n)s %(what)s", n=n, what=what)


def _phrases(counts: Mapping[str, Count], *, done: bool) -> list[str]:
    """Replacements and deletions first (what the confirmation is about), then additions."""
    return [
        _phrase(action, getattr(counts[kind], action), kind_label(kind), done=done)
        for action in ("replaced", "deleted", "added")
        for kind in KINDS
        if getattr(counts[kind], action)
    ]


def summary(plan: Plan) -> str:
    """ "The upload will replace 3 canteen self-inspection(s), add 1 hazard(s)." (or that nothing changes)."""
    phrases = _phrases(plan.counts, done=False)
    if not phrases:
        return _("The workbook holds the same data as the month: nothing changes.")
    return _("The upload will %(changes)s.", changes=_(", ").join(phrases))


def done_summary(plan: Plan) -> str:
    phrases = _phrases(plan.counts, done=True)
    if not phrases:
        return _("Nothing changed: the workbook holds the same data as the month.")
    return _("Imported from the workbook: %(changes)s.", changes=_(", ").join(phrases))
