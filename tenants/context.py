"""The tenant scope a request or a job acts in.

The scope is derived from the authenticated user (web and API) or from a task's explicit ``scope``
argument (jobs) - never from a URL, a query string or a request body. It lives in a
:class:`contextvars.ContextVar`, so threads and eager tasks each see their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class MissingTenantScope(RuntimeError):
    """Raised when work that needs a tenant scope runs without one."""


class TenantViolation(RuntimeError):
    """Raised when a write would touch a school outside the current scope."""


class ScopeKind(StrEnum):
    NONE = "none"  # fail closed: school-owned rows are invisible, inserts refused
    SCHOOLS = "schools"  # one school (a school admin) or several (an inspector's clusters)
    BUREAU = "bureau"  # the whole district, chosen explicitly for bureau-wide work


@dataclass(frozen=True)
class TenantScope:
    """Which schools' rows are visible and writable."""

    kind: ScopeKind
    school_ids: frozenset[int] = frozenset()

    @classmethod
    def school(cls, school_id: int) -> TenantScope:
        return cls(ScopeKind.SCHOOLS, frozenset({int(school_id)}))

    @classmethod
    def schools(cls, school_ids: Iterable[int]) -> TenantScope:
        return cls(ScopeKind.SCHOOLS, frozenset(int(i) for i in school_ids))

    @classmethod
    def bureau(cls) -> TenantScope:
        return cls(ScopeKind.BUREAU)

    @property
    def is_bureau(self) -> bool:
        return self.kind is ScopeKind.BUREAU

    @property
    def is_none(self) -> bool:
        return self.kind is ScopeKind.NONE

    @property
    def single_school_id(self) -> int | None:
        """The school when the scope is exactly one school, else ``None``."""
        if self.kind is ScopeKind.SCHOOLS and len(self.school_ids) == 1:
            return next(iter(self.school_ids))
        return None

    def allows(self, school_id: int | None) -> bool:
        if self.kind is ScopeKind.BUREAU:
            return True
        return school_id is not None and school_id in self.school_ids

    # JSON form, for Celery task arguments.
    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "school_ids": sorted(self.school_ids)}

    @classmethod
    def from_json(cls, data: Any) -> TenantScope:
        if isinstance(data, TenantScope):
            return data
        if not isinstance(data, dict) or "kind" not in data:
            raise MissingTenantScope(f"not a tenant scope: {data!r}")
        kind = ScopeKind(data["kind"])
        if kind is ScopeKind.NONE:
            raise MissingTenantScope("a job cannot run with an empty tenant scope")
        if kind is ScopeKind.SCHOOLS:
            ids = data.get("school_ids") or []
            if not ids:
                raise MissingTenantScope("a school scope needs at least one school id")
            return cls.schools(ids)
        return cls.bureau()


NO_SCOPE = TenantScope(ScopeKind.NONE)

_current: ContextVar[TenantScope] = ContextVar("houqin_tenant_scope", default=NO_SCOPE)


def current_scope() -> TenantScope:
    """The scope in force; :data:`NO_SCOPE` when nobody set one (which sees nothing)."""
    return _current.get()


def set_scope(scope: TenantScope) -> Any:
    """Set the scope and return a token for :func:`reset_scope` (request hooks use this pair)."""
    return _current.set(scope)


def reset_scope(token: Any) -> None:
    _current.reset(token)


@contextlib.contextmanager
def use_scope(scope: TenantScope) -> Iterator[TenantScope]:
    """Run a block in ``scope`` and restore the previous one afterwards."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)
