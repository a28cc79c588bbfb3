"""SQL the dialects spell differently: an INSERT that quietly skips rows whose unique key exists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from service.db import db


def insert_ignoring_conflicts(table: Any, columns: Sequence[str], *, dialect: str | None = None) -> Any:
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` on ``table`` for the session's database (PostgreSQL,
    or SQLite in the embedded mode; both have it). The atomic claim of a unique key: of two racing
    inserts exactly one writes the row, and neither fails; ``.returning(table.c.id)`` says which."""
    name = dialect or db.session.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    return _Pending(module, table, list(columns))


class _Pending:
    def __init__(self, module: Any, table: Any, columns: list[str]) -> None:
        self._module, self._table, self._columns = module, table, columns

    def values(self, *args: Any, **kwargs: Any) -> Any:
        stmt = self._module.insert(self._table).values(*args, **kwargs)
        return stmt.on_conflict_do_nothing(index_elements=self._columns)
