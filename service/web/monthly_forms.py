"""Small pieces the monthly-record pages share (canteen facts, the staff grid, hazards, incidents).

Who may change what stays the domain's call: a page asks the operation's own check
(:func:`service.reports.operations.ensure_editable`, :func:`service.hazards.operations.ensure_month_open`)
whether it *would* refuse, and shows that refusal's message instead of a form - it never decides
editability with a rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from service.accounts.models import Role
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.timeutil import local
from service.web.forms import Invalid, flatten

T = TypeVar("T")


def found(model: type[T], ident: Any) -> T:
    """The row in the caller's scope, or a plain 404 (another school's id looks like no id at all)."""
    try:
        return get_or_404(model, ident)
    except NotFound:
        abort(404)


def require(*roles: Role) -> None:
    """403 unless the user has one of ``roles`` - the same roles as the API endpoint."""
    if current_user.role not in roles:
        abort(403)


def refusal(check: Callable[[], Any]) -> Invalid | None:
    """What a domain check would refuse (its messages and status), without changing anything."""
    try:
        check()
    except DomainError as exc:
        return Invalid(flatten(exc.errors), exc.status)
    return None


def messages(invalid: Invalid | None) -> list[str]:
    """Every message of a refusal, for a read-only notice."""
    if invalid is None:
        return []
    return [m for msgs in invalid.errors.values() for m in msgs]


def form_data(form: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The posted text fields that were filled in (stripped): an empty input means "not given", so the
    schema's own ``required`` message answers for it, as the API's does for a missing key."""
    out: dict[str, Any] = {}
    for name in fields:
        value = (form.get(name) or "").strip()
        if value:
            out[name] = value
    return out


def local_input(value: datetime | None) -> str:
    """A stored timestamp as a ``datetime-local`` input's value, in Beijing time."""
    shown = local(value)
    return shown.strftime("%Y-%m-%dT%H:%M") if shown else ""
