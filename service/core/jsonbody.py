"""Reading request bodies as JSON without letting a hostile document reach the database as a 500.

Every JSON body the app reads goes through :func:`loads` - the API's argument parser
(:class:`HouqinParser`, set on every flask-smorest blueprint) and ``request.get_json`` (the app's
JSON provider, :class:`HouqinJSONProvider`) - so each rule holds for every route, present and future:

- nesting deeper than :data:`MAX_DEPTH` is refused (Python's parser would otherwise recurse until
  ``RecursionError``: a 500 for ``[[[[...`` 100,000 deep);
- an integer literal of more than :data:`MAX_INT_DIGITS` digits is refused before Python converts
  it (4,300+ digits raise ``ValueError``, a 500; 20 digits are already past every column's range -
  the range of the field itself is checked by the bounded marshmallow ``Integer``,
  :mod:`service.core.schemas`);
- ``NaN``/``Infinity`` (not JSON) are refused;
- a string (a key or a value, at any depth) holding a NUL character or a lone UTF-16 surrogate is
  refused with the field it was found in: PostgreSQL cannot store either (``text`` refuses NUL,
  the driver cannot encode a surrogate), so they would otherwise fail as a 500 at the INSERT.

The structural refusals answer 400, the string refusals 422, both in the API's JSON error shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 32
MAX_INT_DIGITS = 20
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


class JSONRefused(ValueError):
    """A body that is JSON but not one the app accepts. ``status`` 400 (structure) or 422 (a value);
    ``field`` names where a refused string was found (``title``, ``items.2.note``)."""

    def __init__(self, message: str, *, status: int = 400, field: str = "json") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONRefused(_("A number in the body has more than %(n)s digits.", n=MAX_INT_DIGITS))
    return int(text)


def _parse_constant(text: str) -> Any:
    raise JSONRefused(_("%(value)s is not a JSON number.", value=text))


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (a NUL character, a lone surrogate), or ``None``."""
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return _("The text contains a NUL character, which cannot be stored.")
    return _("The text contains an unpaired surrogate character, which is not valid text.")


def loads(data: str | bytes) -> Any:
    """``json.loads`` with the refusals above (:class:`JSONRefused`; malformed JSON stays a
    ``json.JSONDecodeError``)."""
    try:
        doc = json.loads(data, parse_int=_parse_int, parse_constant=_parse_constant)
    except RecursionError:
        raise JSONRefused(_("The body is nested more than %(n)s levels deep.", n=MAX_DEPTH)) from None
    _check(doc)
    return doc


def _check(doc: Any) -> None:
    """Depth and strings, walked with an explicit stack (no recursion on hostile input)."""
    stack: list[tuple[Any, int, str]] = [(doc, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                raise JSONRefused(problem, status=422, field=path or "json")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise JSONRefused(_("The body is nested more than %(n)s levels deep.", n=MAX_DEPTH))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and text_problem(key):
                raise JSONRefused(text_problem(key) or "", status=422, field=path or "json")
            stack.append((value, depth + 1, where))


class HouqinParser(FlaskParser):
    """webargs' Flask parser reading bodies with :func:`loads`; a refusal is 400/422 with its message."""

    def _raw_load_json(self, req: Any) -> Any:
        if not core.is_json(req.mimetype):
            return core.missing
        data = req.get_data(cache=True)
        try:
            return loads(data.decode("utf-8") if isinstance(data, bytes) else data)
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(
                f"Bytes decoding error : {exc.reason}", str(exc.object), exc.start
            ) from exc
        except JSONRefused as refused:
            abort(refused.status, messages={refused.field: [refused.message]})


class HouqinJSONProvider(DefaultJSONProvider):
    """``request.get_json`` with the same refusals (a :class:`ValueError`: Flask answers 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return loads(s)
        except JSONRefused as refused:
            raise BadRequest(refused.message) from None
