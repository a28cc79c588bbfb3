"""What a draft changes against the version in force: sections and items added, removed or changed,
with each changed field's old and new value - what the bureau admin confirms before publishing.

Items are matched by their code (unique within a version), sections by theirs; an item moved to
another section is a change of its ``section_code``. Positions are compared as orders (the sequence
of the codes both versions have), so removing one item does not report every later one as moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.rubrics.models import RubricItem, RubricSection, RubricVersion

SECTION_FIELDS = ("name", "name_en", "max_points")
ITEM_FIELDS = (
    "section_code",
    "text",
    "text_en",
    "kind",
    "deduction",
    "cap",
    "max_score",
    "unit",
    "na_allowed",
    "key_fails_on",
    "computed",
)
ORDER = "order"  # the pseudo-field of a changed order (of sections, or of a section's items)


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass
class Entry:
    """One section or item that differs: ``added``, ``removed`` or ``changed`` (with its changes)."""

    status: str
    code: str
    title: str  # the section's name or the item's text (the new one where it exists)
    section_code: str = ""
    changes: list[Change] = field(default_factory=list)


@dataclass
class RubricDiff:
    sections: list[Entry] = field(default_factory=list)
    items: list[Entry] = field(default_factory=list)
    settings: list[Change] = field(default_factory=list)
    section_order: Change | None = None

    @property
    def empty(self) -> bool:
        return not (self.sections or self.items or self.settings or self.section_order)

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "changed": 0}
        for entry in (*self.sections, *self.items):
            out[entry.status] += 1
        return out


def diff_versions(old: RubricVersion | None, new: RubricVersion) -> RubricDiff:
    """``new`` against ``old`` (the version in force; ``None``: everything in ``new`` is added)."""
    old_sections = _sections(old)
    new_sections = _sections(new)
    out = RubricDiff()
    for code, section in new_sections.items():
        before = old_sections.get(code)
        if before is None:
            out.sections.append(Entry("added", code, section.name))
            continue
        changes = _changes(before, section, SECTION_FIELDS)
        order = _order([i.code for i in before.items], [i.code for i in section.items])
        if order:
            changes.append(order)
        if changes:
            out.sections.append(Entry("changed", code, section.name, changes=changes))
    for code, section in old_sections.items():
        if code not in new_sections:
            out.sections.append(Entry("removed", code, section.name))
    out.items = _item_entries(_items(old), _items(new))
    out.settings = _settings(old.settings if old else {}, new.settings or {})
    out.section_order = _order(list(old_sections), list(new_sections))
    return out


def _item_entries(old_items: dict[str, RubricItem], new_items: dict[str, RubricItem]) -> list[Entry]:
    out = []
    for code, item in new_items.items():
        before = old_items.get(code)
        if before is None:
            out.append(Entry("added", code, item.text, item.section.code, _changes(None, item, ITEM_FIELDS)))
            continue
        changes = _changes(before, item, ITEM_FIELDS)
        if changes:
            out.append(Entry("changed", code, item.text, item.section.code, changes))
    for code, item in old_items.items():
        if code not in new_items:
            out.append(Entry("removed", code, item.text, item.section.code))
    return out


def _sections(version: RubricVersion | None) -> dict[str, RubricSection]:
    return {s.code: s for s in version.sections} if version is not None else {}


def _items(version: RubricVersion | None) -> dict[str, RubricItem]:
    return {i.code: i for i in version.all_items()} if version is not None else {}


def _value(obj: Any, name: str) -> Any:
    if name == "section_code":
        return obj.section.code
    return getattr(obj, name)


def _changes(old: Any, new: Any, fields: tuple[str, ...]) -> list[Change]:
    """Fields whose values differ; against ``None`` (an added item) only the fields that are set."""
    out = []
    for name in fields:
        after = _value(new, name)
        if old is None:
            if after not in (None, "", False) or name in ("kind", "deduction"):
                out.append(Change(name, None, after))
            continue
        before = _value(old, name)
        if before != after:
            out.append(Change(name, before, after))
    return out


def _order(before: list[str], after: list[str]) -> Change | None:
    """A changed order of the codes both lists have; None when they keep their order."""
    common = set(before) & set(after)
    old = [c for c in before if c in common]
    new = [c for c in after if c in common]
    return Change(ORDER, old, new) if old != new else None


def _settings(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[Change]:
    """Changed settings of the version (sample grams, grade bands, ...) by dotted key."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            out.extend(_settings(before, after, f"{name}."))
        elif before != after:
            out.append(Change(name, before, after))
    return out
