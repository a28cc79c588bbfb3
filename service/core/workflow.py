"""Explicit state machines with a log row per transition (reports, hazards).

Each area declares its moves as ``{action: (states it may start from, state it leads to)}`` and a log
model with ``school_id``, a link column to the owner, ``from_state``, ``to_state``, ``action``,
``actor_id``, ``at`` and ``note``. :func:`advance` refuses a move that is not declared (409) and
otherwise writes the log row and changes the state, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from service.audit.trail import current_actor
from service.core.errors import Conflict
from service.db import db

Transitions = Mapping[str, tuple[frozenset[Any], Any]]


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
    """Move ``obj`` by ``action``; ``refusal(state, action)`` words the 409 for a move not allowed."""
    sources, to = transitions[action]
    if obj.state not in sources:
        raise Conflict({"state": [refusal(obj.state, action)]})
    row = log_model(
        school_id=obj.school_id,
        **{link: obj.id},
        from_state=obj.state,
        to_state=to,
        action=action,
        actor_id=current_actor().user_id,
        at=now,
        note=note,
    )
    obj.state = to
    db.session.add(row)
    return row
