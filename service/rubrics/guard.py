"""The second guard of rubric immutability: a ``before_flush`` hook on the session class.

The operations already refuse to edit a published version (409). This hook catches whatever slips
past them - a script, a future feature, a careless fix - because a changed published rubric would
silently change the meaning of every score computed with it. At flush time it refuses to insert,
change or delete sections and items of a version whose *stored* status is published or retired, and
any change to such a version except the one transition the workflow needs: published → retired.

"Stored" status is read from the database inside the transaction, so a version created published in
the same flush (the default seed) may still receive its rows, and a version published by an earlier
flush is already frozen.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from service.core.errors import Conflict
from service.rubrics.models import FROZEN_STATUSES, RubricItem, RubricSection, RubricVersion, VersionStatus

_INSTALLED_KEY = "_houqin_rubric_guard"


class FrozenVersion(Conflict):
    """A published or retired rubric version was about to change."""

    def __init__(self) -> None:
        super().__init__({"_schema": [frozen_message()]})


def frozen_message() -> str:
    return _("A published version cannot be changed; create a new version.")


def install_immutability_guard(session_cls: type[Session]) -> None:
    if getattr(session_cls, _INSTALLED_KEY, False):
        return
    setattr(session_cls, _INSTALLED_KEY, True)
    event.listen(session_cls, "before_flush", _refuse_frozen_changes)


def _refuse_frozen_changes(session: Session, flush_context: Any, instances: Any) -> None:
    with session.no_autoflush:
        checker = _Checker(session)
        for obj in session.new:
            if isinstance(obj, RubricSection | RubricItem):
                checker.refuse_if_frozen(obj)
        for obj in session.deleted:
            if isinstance(obj, RubricVersion | RubricSection | RubricItem):
                checker.refuse_if_frozen(obj)
        for obj in session.dirty:
            if not isinstance(obj, RubricVersion | RubricSection | RubricItem):
                continue
            if not session.is_modified(obj, include_collections=False):
                continue  # only a collection changed: its new or removed members are checked themselves
            if isinstance(obj, RubricVersion) and checker.is_retirement(obj):
                continue
            checker.refuse_if_frozen(obj)


class _Checker:
    """Looks up stored parents and statuses once per flush."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._status: dict[int, VersionStatus | None] = {}
        self._section_version: dict[int, int | None] = {}

    def refuse_if_frozen(self, obj: Any) -> None:
        if isinstance(obj, RubricVersion):
            versions = {obj.id} if _persistent(obj) else set()
        elif isinstance(obj, RubricSection):
            versions = self._versions_of_section(obj)
        else:
            versions = set()
            for section_id in _ids(obj, "section_id"):
                versions |= self._versions_of_section_id(section_id)
            section = _loaded(obj, "section")
            if section is not None:
                versions |= self._versions_of_section(section)
        if any(self._stored_status(v) in FROZEN_STATUSES for v in versions):
            raise FrozenVersion()

    def is_retirement(self, version: RubricVersion) -> bool:
        """Only ``status`` changed, from a stored published to retired."""
        state = inspect(version)
        changed = {
            attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()
        }
        return (
            changed == {"status"}
            and self._stored_status(version.id) is VersionStatus.PUBLISHED
            and version.status is VersionStatus.RETIRED
        )

    def _versions_of_section(self, section: RubricSection) -> set[int]:
        versions = set(_ids(section, "version_id"))
        if _persistent(section):
            versions |= self._versions_of_section_id(section.id)
        version = _loaded(section, "version")
        if version is not None and _persistent(version):
            versions.add(version.id)
        return versions

    def _versions_of_section_id(self, section_id: int) -> set[int]:
        if section_id not in self._section_version:
            self._section_version[section_id] = self.session.execute(
                select(RubricSection.version_id).where(RubricSection.id == section_id)
            ).scalar_one_or_none()
        stored = self._section_version[section_id]
        return {stored} if stored is not None else set()

    def _stored_status(self, version_id: int) -> VersionStatus | None:
        if version_id not in self._status:
            self._status[version_id] = self.session.execute(
                select(RubricVersion.status).where(RubricVersion.id == version_id)
            ).scalar_one_or_none()
        return self._status[version_id]


def _persistent(obj: Any) -> bool:
    state = inspect(obj)
    return state.persistent or state.deleted


def _loaded(obj: Any, key: str) -> Any:
    """A relationship's in-memory value, without triggering a load."""
    return inspect(obj).dict.get(key)


def _ids(obj: Any, key: str) -> list[int]:
    """Old and new values of a foreign-key column (a moved row is checked at both ends)."""
    history = inspect(obj).attrs[key].history
    values = [*history.added, *history.unchanged, *history.deleted]
    if not values and key in inspect(obj).dict:
        values = [inspect(obj).dict[key]]
    return [v for v in values if v is not None]
