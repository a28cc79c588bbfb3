"""In-process domain events.

A domain function announces what happened (``emit("report.accepted", ...)``) inside its transaction;
subscribers - registered at import time by the areas that care, such as the ranking engine - react
in the same transaction, typically by queueing a job through the outbox, which sends it only if the
transaction commits. The emitting area never imports its subscribers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[..., None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)

REPORT_ACCEPTED = "report.accepted"
REPORT_REOPENED = "report.reopened"
REPORT_RETURNED = "report.returned"  # returned for correction (the school is notified right away)
INSPECTION_APPEAL_UPHELD = "inspection.appeal_upheld"


def subscribe(event: str, handler: Handler) -> Handler:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)
    return handler


def unsubscribe(event: str, handler: Handler) -> None:
    if handler in _subscribers[event]:
        _subscribers[event].remove(handler)


def emit(event: str, **payload: Any) -> None:
    for handler in list(_subscribers[event]):
        handler(**payload)
