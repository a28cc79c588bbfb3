"""Explicit state machines with a log row per transition, and the compare-and-set every move makes.

Each area declares its moves as ``{action: (states it may start from, state it leads to)}`` and a log
model with ``school_id``, a link column to the owner, ``from_state``, ``to_state``, ``action``,
``actor_id``, ``at`` and ``note``. :func:`advance` refuses a move that is not declared (409) and
otherwise writes the log row and changes the state, in the caller's transaction.

**Why every move goes through :func:`claim`.** Two people press 审核通过 on the same report at the same
moment: both requests load it in state ``submitted`` and both pass the check, and a plain write of the
new state let both through - two transition rows, two events, two ranking jobs, or a report ending
``returned`` with ``accepted_at`` set. :func:`claim` is a conditional UPDATE on the state the caller
read (``UPDATE … SET state = state WHERE id = :id AND state = :seen``) whose row count decides: on
PostgreSQL the second UPDATE waits for the first transaction and, once it commits, re-checks its WHERE
against the committed row and matches nothing, so the second request gets a 409 naming the state it
found; on SQLite (the demo) the statement runs under the database's write lock, with the same effect.
The winner holds the row lock until it commits, so no other move can slip in between its claim and
its own write of the new state - which stays an ordinary ORM change, so the audit trail records it
and flush guards (rubric versions) judge it exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text, update

from service.audit.trail import current_actor
from service.core.errors import Conflict
from service.db import db

Transitions = Mapping[str, tuple[frozenset[Any], Any]]


def changed_meanwhile() -> str:
    """The refusal when the row changed under the caller but the move would still be allowed now."""
    return _("Someone else changed this at the same moment; reload the page and try again.")


def claim(
    obj: Any,
    seen: Any,
    *,
    refusal: Callable[[Any], str],
    column: str = "state",
    field: str = "state",
) -> None:
    """Lock ``obj``'s row if its ``column`` still holds ``seen`` (the value the caller decided on).

    Otherwise someone else moved it first: ``obj`` is expired (a page that shows it again reads the
    current row) and the move is refused with 409, ``{field: [refusal(current value)]}`` - or
    :func:`changed_meanwhile` when the row is gone from the caller's view. Call it before writing
    anything that depends on the state; write the new state after it, in the same transaction.
    """
    model = type(obj)
    attr = getattr(model, column)
    stmt = (
        update(model)
        .where(model.id == obj.id, attr == seen)
        .values({column: attr})
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(stmt).rowcount == 1:
        return
    current = db.session.scalar(select(attr).where(model.id == obj.id))
    db.session.expire(obj)
    raise Conflict({field: [changed_meanwhile() if current is None else refusal(current)]})


def serialize(kind: int, key: int) -> None:
    """Queue the callers that create a workflow row for the same ``key`` (``kind``: the area's lock number).

    A creation has no row to claim yet: two appeals filed against one inspection at the same moment
    both find "no open appeal" and both insert. Taken before that check, this PostgreSQL
    transaction-level advisory lock makes the second caller wait until the first commits; its check
    then reads the committed row and refuses (409). SQLite (the demo) serialises writers by itself.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:kind, :key)"), {"kind": kind, "key": key})


def advance(
    obj: Any,
    action: str,
    *,
    transitions: Transitions,
    log_model: type[Any],
    link: str,
    refusal: Callable[[Any, str], str],
    now: datetime,
    note: str = "",
) -> Any:
    """Move ``obj`` by ``action``; ``refusal(state, action)`` words the 409 for a move not allowed.

    The move is claimed first (:func:`claim`): of two at the same moment exactly one writes its log
    row and changes the state; the other is refused as if it had come a moment later.
    """
    sources, to = transitions[action]
    seen = obj.state
    if seen not in sources:
        raise Conflict({"state": [refusal(seen, action)]})
    claim(
        obj,
        seen,
        refusal=lambda current: refusal(current, action) if current not in sources else changed_meanwhile(),
    )
    row = log_model(
        school_id=obj.school_id,
        **{link: obj.id},
        from_state=seen,
        to_state=to,
        action=action,
        actor_id=current_actor().user_id,
        at=now,
        note=note,
    )
    obj.state = to
    db.session.add(row)
    return row
