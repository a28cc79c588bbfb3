"""Rubrics and their versions: plain functions over the session (flush, never commit).

The workflow: :func:`new_version` copies the latest version into a draft; the bureau edits the draft
(:func:`update_draft`, :func:`add_item`, :func:`update_item`, :func:`delete_item`); :func:`publish`
validates it, retires the previously published version and publishes the draft. Anything that would
change a published or retired version is refused with 409 before it reaches the flush guard.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, event, or_, select
from sqlalchemy.orm import joinedload, selectinload

from service.accounts.models import User
from service.core import workflow
from service.core.errors import Conflict, DomainError, NotFound
from service.core.types import utcnow
from service.db import HouqinSession, db
from service.rubrics.guard import FrozenVersion, frozen_message
from service.rubrics.models import (
    Rubric,
    RubricItem,
    RubricKind,
    RubricSection,
    RubricVersion,
    VersionStatus,
)

# Every rubric is scored out of 100 points (rubrics.md: "100 points per inspection").
TOTAL_POINTS = Decimal(100)

SECTION_FIELDS = ("name", "name_en", "max_points", "position")
ITEM_FIELDS = (
    "code",
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
    "position",
)

Errors = dict[str, list[str]]


# --- reading -----------------------------------------------------------------------------------------


def list_rubrics() -> Any:
    return select(Rubric).order_by(Rubric.id)


def list_versions(rubric: Rubric) -> Any:
    return select(RubricVersion).where(RubricVersion.rubric_id == rubric.id).order_by(RubricVersion.version)


def get_version(version_id: int) -> RubricVersion:
    """A version with its sections and items loaded in two queries; 404 when it does not exist."""
    stmt = (
        select(RubricVersion)
        .where(RubricVersion.id == version_id)
        .options(selectinload(RubricVersion.sections).selectinload(RubricSection.items))
    )
    version = db.session.scalars(stmt).one_or_none()
    if version is None:
        raise NotFound()
    return version


def current_version(kind: RubricKind) -> RubricVersion | None:
    """The published version of the rubric of ``kind`` - the one new scores are computed with.

    Remembered for the rest of the transaction (imports and the demo score thousands of rows with
    it); :func:`publish` and the end of the transaction forget it.
    """
    cache = db.session.info.setdefault(_PUBLISHED_CACHE, {})
    if kind not in cache:
        stmt = (
            select(RubricVersion)
            .join(Rubric)
            .where(Rubric.kind == kind, RubricVersion.status == VersionStatus.PUBLISHED)
            .options(selectinload(RubricVersion.sections).selectinload(RubricSection.items))
        )
        cache[kind] = db.session.scalars(stmt).one_or_none()
    return cache[kind]


_PUBLISHED_CACHE = "houqin_published_rubric_versions"


def versions_with_items(
    ids: Collection[int], *, published: Collection[RubricKind] = ()
) -> dict[int, RubricVersion]:
    """The versions ``ids`` and the published version of each kind in ``published``, by id, with
    their sections and items - in one statement (joined eager loading), however many there are.

    For pages that show many inspections at once (a school-month's explanation): loading each
    inspection's version lazily cost one statement per version and one per section. The published
    versions found are remembered as :func:`current_version` remembers them, so asking for one of
    them afterwards in the same transaction reads nothing more.
    """
    cache = db.session.info.setdefault(_PUBLISHED_CACHE, {})
    kinds = sorted(kind for kind in set(published) if kind not in cache)
    wanted = sorted(set(ids))
    conditions = []
    if wanted:
        conditions.append(RubricVersion.id.in_(wanted))
    if kinds:
        conditions.append(and_(Rubric.kind.in_(kinds), RubricVersion.status == VersionStatus.PUBLISHED))
    if not conditions:
        return {}
    stmt = (
        select(RubricVersion, Rubric.kind)
        .join(Rubric, Rubric.id == RubricVersion.rubric_id)
        .where(or_(*conditions))
        .options(joinedload(RubricVersion.sections).joinedload(RubricSection.items))
    )
    found: dict[int, RubricVersion] = {}
    for version, kind in db.session.execute(stmt).unique():
        found[version.id] = version
        if kind in kinds and version.status is VersionStatus.PUBLISHED:
            cache[kind] = version
    for kind in kinds:
        cache.setdefault(kind, None)  # none published: what current_version would remember too
    return {i: found[i] for i in wanted if i in found}


@event.listens_for(HouqinSession, "after_transaction_end")
def _forget_published(session: Any, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PUBLISHED_CACHE, None)


def latest_version(rubric: Rubric) -> RubricVersion | None:
    stmt = list_versions(rubric).order_by(None).order_by(RubricVersion.version.desc()).limit(1)
    return db.session.scalars(stmt).first()


# --- versions ----------------------------------------------------------------------------------------


def new_version(rubric: Rubric, note: str = "") -> RubricVersion:
    """Copy the latest version (settings, sections, items) into a new draft numbered one higher.

    One draft at a time: two drafts of the same rubric would compete at publish time.
    """
    latest = latest_version(rubric)
    if latest is not None and latest.is_draft:
        raise Conflict(
            {
                "_schema": [
                    _(
                        "This rubric already has a draft (version %(version)s); edit or publish it first.",
                        version=latest.version,
                    )
                ]
            }
        )
    draft = RubricVersion(
        rubric_id=rubric.id,
        version=(latest.version + 1) if latest is not None else 1,
        status=VersionStatus.DRAFT,
        note=note,
        settings=copy.deepcopy(latest.settings) if latest is not None else {},
    )
    for section in latest.sections if latest is not None else []:
        copy_section = RubricSection(
            **{f: getattr(section, f) for f in ("code", *SECTION_FIELDS)},
        )
        for item in section.items:
            copy_section.items.append(RubricItem(**{f: getattr(item, f) for f in ITEM_FIELDS}))
        draft.sections.append(copy_section)
    db.session.add(draft)
    db.session.flush()
    return draft


def update_draft(version: RubricVersion, data: Mapping[str, Any]) -> RubricVersion:
    """Change a draft's note, settings (shallow merge; ``null`` removes a key) and sections.

    ``sections`` is a list of patches matched by section ``code``: name, name_en, max_points, position.
    """
    ensure_draft(version)
    errors: Errors = {}
    by_code = {s.code: s for s in version.sections}
    for patch in data.get("sections") or []:
        section = by_code.get(patch["code"])
        if section is None:
            _add(errors, "sections", _("Unknown section: %(code)s.", code=patch["code"]))
            continue
        if "max_points" in patch and patch["max_points"] <= 0:
            _add(errors, "max_points", _("Section %(code)s: points must be above 0.", code=section.code))
    if errors:
        raise DomainError(errors)

    if "note" in data:
        version.note = data["note"]
    if "settings" in data and data["settings"] is not None:
        merged = {**(version.settings or {}), **data["settings"]}
        version.settings = {k: v for k, v in merged.items() if v is not None}  # a new dict: tracked
    for patch in data.get("sections") or []:
        section = by_code[patch["code"]]
        for key in SECTION_FIELDS:
            if key in patch:
                setattr(section, key, patch[key])
    db.session.flush()
    return version


def publish(version: RubricVersion, user: User | None) -> RubricVersion:
    """Validate a draft, retire the rubric's published version and publish this one.

    Claimed first (``workflow.claim`` on the draft status): of two publications at the same moment one
    wins and the other is refused (409) before it retires anything.
    """
    ensure_draft(version)
    workflow.claim(
        version, VersionStatus.DRAFT, column="status", field="_schema", refusal=lambda _s: frozen_message()
    )
    db.session.info.pop(_PUBLISHED_CACHE, None)
    errors = validate_version(version)
    if errors:
        raise DomainError(errors)
    previous = db.session.scalars(
        select(RubricVersion).where(
            RubricVersion.rubric_id == version.rubric_id,
            RubricVersion.status == VersionStatus.PUBLISHED,
        )
    ).one_or_none()
    if previous is not None:
        previous.status = VersionStatus.RETIRED
        db.session.flush()  # before publishing: at most one published version per rubric (unique index)
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    version.published_by_id = user.id if user is not None else None
    db.session.flush()
    return version


def validate_version(version: RubricVersion) -> Errors:
    """What stands in the way of publishing: points, item limits, duplicate codes (field → messages)."""
    errors: Errors = {}
    if not version.sections:
        _add(errors, "sections", _("A rubric needs at least one section."))
    total = version.total_points
    if version.sections and total != TOTAL_POINTS:
        _add(
            errors,
            "sections",
            _("Section points must add up to %(total)s (now %(now)s).", total=TOTAL_POINTS, now=total),
        )
    seen: set[str] = set()
    for section in version.sections:
        if section.max_points <= 0:
            _add(errors, "max_points", _("Section %(code)s: points must be above 0.", code=section.code))
        if not section.items:
            _add(errors, "items", _("Section %(code)s has no items.", code=section.code))
        rated = [i.max_score for i in section.items if i.max_score is not None]
        if rated and sum(rated, Decimal(0)) != section.max_points:
            _add(
                errors,
                "max_score",
                _(
                    "Section %(code)s: the rated items must add up to the section's %(points)s points.",
                    code=section.code,
                    points=section.max_points,
                ),
            )
        for item in section.items:
            for field, messages in _item_errors(item.deduction, item.cap, item.max_score).items():
                for message in messages:
                    _add(errors, field, f"{item.code}: {message}")
            if item.code in seen:
                _add(errors, "code", _("Item code %(code)s is used twice.", code=item.code))
            seen.add(item.code)
    return errors


# --- items -------------------------------------------------------------------------------------------


def add_item(version: RubricVersion, data: Mapping[str, Any]) -> RubricItem:
    """Add an item to the section ``data["section_code"]`` of a draft."""
    ensure_draft(version)
    section = _section(version, data["section_code"])
    values = {k: data[k] for k in ITEM_FIELDS if k in data}
    values.setdefault("deduction", Decimal(0))
    values.setdefault("position", max((i.position for i in section.items), default=0) + 1)
    _check_item(version, values, None)
    item = RubricItem(**values)
    section.items.append(item)
    db.session.flush()
    return item


def update_item(item: RubricItem, data: Mapping[str, Any]) -> RubricItem:
    """Change an item of a draft; ``section_code`` moves it to another section of the same draft."""
    version = item.section.version
    ensure_draft(version)
    target = _section(version, data["section_code"]) if "section_code" in data else item.section
    values = {k: getattr(item, k) for k in ITEM_FIELDS}
    values.update({k: data[k] for k in ITEM_FIELDS if k in data})
    _check_item(version, values, item)
    for key in ITEM_FIELDS:
        if key in data:
            setattr(item, key, data[key])
    if target is not item.section:
        item.section.items.remove(item)
        target.items.append(item)
    db.session.flush()
    return item


def move_item(item: RubricItem, offset: int) -> RubricItem:
    """Move an item ``offset`` places within its section (-1: up, +1: down) of a draft.

    The section's items are numbered 1..n in the new order, each through :func:`update_item` (the
    API's ``PATCH {"position": n}``); at either end nothing moves.
    """
    ensure_draft(item.section.version)
    items = sorted(item.section.items, key=lambda i: (i.position, i.id))
    index = items.index(item)
    target = index + offset
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    for position, other in enumerate(items, start=1):
        if other.position != position:
            update_item(other, {"position": position})
    return item


def delete_item(item: RubricItem) -> None:
    version = item.section.version
    ensure_draft(version)
    item.section.items.remove(item)  # delete-orphan
    db.session.flush()


# --- helpers -----------------------------------------------------------------------------------------


def ensure_draft(version: RubricVersion) -> None:
    """409 for anything but a draft: published and retired versions never change."""
    if not version.is_draft:
        raise FrozenVersion()


def _section(version: RubricVersion, code: str) -> RubricSection:
    for section in version.sections:
        if section.code == code:
            return section
    raise DomainError({"section_code": [_("Unknown section: %(code)s.", code=code)]})


def _check_item(version: RubricVersion, values: Mapping[str, Any], item: RubricItem | None) -> None:
    errors = _item_errors(values.get("deduction"), values.get("cap"), values.get("max_score"))
    code = values.get("code")
    if any(other.code == code and other is not item for other in version.all_items()):
        _add(errors, "code", _("Another item of this version already uses this code."))
    if errors:
        raise DomainError(errors)


def _item_errors(deduction: Decimal | None, cap: Decimal | None, max_score: Decimal | None) -> Errors:
    errors: Errors = {}
    deduction = deduction if deduction is not None else Decimal(0)
    if deduction < 0:
        _add(errors, "deduction", _("The deduction cannot be negative."))
    if cap is not None and cap < deduction:
        _add(errors, "cap", _("The cap must be at least the deduction."))
    if max_score is not None and max_score <= 0:
        _add(errors, "max_score", _("The maximum score must be above 0."))
    if max_score is not None and deduction != 0:
        _add(errors, "deduction", _("A rated item has no deduction."))
    return errors


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)
