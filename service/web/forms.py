"""Browser forms on the API's rules: parse with the API's marshmallow schema, act with the same domain
operation, and hand back errors by field for the page to show beside each input.

There is no second copy of a rule here. A page collects its form fields into the shape the API's JSON
body has (``{"items": [{"item_id": 3, "result": "fail"}]}``), loads it with the same schema (same
messages, in the user's language) and calls the same operation. Refusals come back as
:class:`Invalid` with ``{field: [messages]}`` - nested fields flattened to dotted names
(``items.3.result``) - and the HTTP status the API would answer (422, 403, 409).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import g, has_request_context
from marshmallow import Schema, ValidationError

from service.core.errors import DomainError
from service.db import db

T = TypeVar("T")


class Invalid(Exception):
    """What a page shows when a form is refused: errors by (dotted) field and the status to answer."""

    def __init__(self, errors: dict[str, list[str]], status: int = 422) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's and the domain's nested errors as ``{"items.3.result": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, msgs in flatten(value, name).items():
                out.setdefault(field, []).extend(msgs)
        return out
    if isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, Mapping | list | tuple):
                for field, msgs in flatten(item, prefix).items():
                    out.setdefault(field, []).extend(msgs)
            else:
                out.setdefault(prefix or "_schema", []).append(str(item))
        return out
    return {prefix or "_schema": [str(messages)]}


def load(schema: Schema, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """``data`` validated by the API's ``schema``; :class:`Invalid` (422) with the same messages."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise Invalid(flatten(exc.messages)) from None


def rollback() -> None:
    """Roll the request's transaction back, keeping the signed-in user loaded for the page.

    A plain rollback expires every object in the session, the signed-in user too, and re-loading that
    row runs in the user's own tenant scope, where an inspector's or a bureau account's row is not
    visible (the reason ``expire_on_commit`` is off): re-rendering a refused form would then fail.
    The user is set aside during the rollback and put back as it was loaded.
    """
    user = g.get("_login_user") if has_request_context() else None
    keep = user is not None and user in db.session
    if keep:
        db.session.expunge(user)
    db.session.rollback()
    if keep:
        db.session.add(user)


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a domain refusal into :class:`Invalid` (same errors and status as the API); roll back.

    The rollback is to a savepoint taken on entry, not of the whole session: the page is re-rendered
    in the same request, and a full rollback would expire the signed-in user too - whose row the
    user's own scope cannot read back (an inspector's or a bureau account), so the layout would fail.
    What the operation wrote is undone all the same; nothing else had been written.
    """
    savepoint = db.session.begin_nested()
    try:
        yield
    except DomainError as exc:
        savepoint.rollback()
        raise Invalid(flatten(exc.errors), exc.status) from None
    else:
        savepoint.commit()  # RELEASE SAVEPOINT; the view commits the transaction


def attempt(action: Callable[[], T]) -> T:
    """Run ``action`` (a domain operation) under :func:`refusals`."""
    with refusals():
        return action()


def form_list(form: Mapping[str, str], prefix: str) -> dict[int, dict[str, str]]:
    """Rows posted as ``prefix-<n>-<field>`` (e.g. ``item-12-result``), by ``n``: the way a page posts a
    list (one row per rubric item, per person) without JavaScript."""
    rows: dict[int, dict[str, str]] = {}
    start = f"{prefix}-"
    for key, value in form.items():
        if not key.startswith(start):
            continue
        index, _, field = key[len(start) :].partition("-")
        if index.isdigit() and field:
            rows.setdefault(int(index), {})[field] = value
    return rows
