"""Column helpers shared by the models."""

from __future__ import annotations

import enum

from sqlalchemy import DateTime, Enum

from service.core.timeutil import utcnow as utcnow  # the application clock (column defaults use it too)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Store an enum as its value in a VARCHAR with a CHECK constraint (portable to SQLite)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


TZDateTime = DateTime(timezone=True)
