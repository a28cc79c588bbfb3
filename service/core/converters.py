"""The ``<int:...>`` URL converter of the whole app, bounded to the range of the id columns.

Every id column is a PostgreSQL ``integer`` (int4); SQLAlchemy binds a parameter with a cast to the
column's type, so ``/api/v1/periods/68719476735`` used to fail in the database ("integer out of
range") as a 500. The converter still matches any run of digits (so such a path never falls through
to another route, as ``/rankings/snapshots/<id>`` would to ``/rankings/<kind>/<key>``) and refuses a
value past int4's maximum when converting it: werkzeug then answers 404 - for every route, API and
pages, and exactly the 404 body of an id that does not exist (``Not found.``). Installed in
:func:`service.create_app` before any blueprint is registered.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, ValidationError

INT4_MAX = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``int`` with ``max`` defaulting to :data:`INT4_MAX` (a rule may still pass its own bounds)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT4_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        if len(value.lstrip("-")) > len(str(INT4_MAX)):  # int() is never asked to read 4,300 digits
            raise ValidationError()
        return super().to_python(value)


def install(app: Any) -> None:
    app.url_map.converters["int"] = BoundedIntConverter


def int4(value: str) -> int:
    """``type=`` for ``request.args.get``/``request.form.get`` of an id or a page number: an int within
    int4, else ``ValueError`` - which werkzeug turns into the default (no filter, the first page), so a
    query string like ``?school_id=68719476735`` is never sent to the database as out of range."""
    text = value.strip()
    if len(text.lstrip("-")) > len(str(INT4_MAX)):
        raise ValueError("out of range")
    number = int(text)
    if not -INT4_MAX - 1 <= number <= INT4_MAX:
        raise ValueError("out of range")
    return number
