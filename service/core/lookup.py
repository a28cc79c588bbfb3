"""Fetching one row by id inside the current tenant scope.

Always a ``SELECT`` (never ``Session.get``): an identity-map hit would skip the tenant criteria.
Another school's id therefore reads as "not found", the same as an id that does not exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from service.core.errors import NotFound
from service.db import db

T = TypeVar("T")


def get_or_404(model: type[T], ident: Any) -> T:
    obj = db.session.scalars(select(model).where(model.id == ident)).one_or_none()  # type: ignore[attr-defined]
    if obj is None:
        raise NotFound()
    return obj
