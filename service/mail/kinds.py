"""The kinds of notice and the function that renders each.

A renderer takes the notice's parameters (JSON-able, e.g. ``{"period": "2026-10"}`` or
``{"school_id": 3, "period": "2026-10"}``) and the recipient's language (``"zh_CN"`` or ``"en"``) and
returns an :class:`~service.mail.message.OutgoingMessage`. It runs inside an app context and a tenant
scope chosen by the caller (the bureau for a bulletin; the school for its report card, so a card can
only ever read that school's rows).

Areas register their renderers at import time (``register("bulletin", render_bulletin)``); the
delivery jobs look them up by kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from service.mail.message import OutgoingMessage

Renderer = Callable[[Mapping[str, Any], str], OutgoingMessage]

# The kinds the product knows (issue 12): the monthly/term/year bulletin (通报), each school's report
# card, deadline reminders, a returned report's notice, the weekly overdue-hazard digest and
# health-certificate expiry warnings.
KINDS = (
    "bulletin",
    "report_card",
    "deadline_reminder",
    "report_returned",
    "hazard_digest",
    "certificate_expiry",
)

_RENDERERS: dict[str, Renderer] = {}
# What must be written (and committed) before a kind is rendered, e.g. issuing the bulletin - its
# number and frozen figures - that a bulletin or a report card shows. A preparer runs in the bureau
# scope in its own committed unit of work, before the delivery run writes anything: a renderer then
# only reads (it runs in a session of its own, which could neither see nor wait for uncommitted rows).
Preparer = Callable[[Mapping[str, Any]], None]
_PREPARERS: dict[str, Preparer] = {}


def register(kind: str, renderer: Renderer) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    _RENDERERS[kind] = renderer


def register_preparer(kind: str, preparer: Preparer) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    _PREPARERS[kind] = preparer


def preparer_for(kind: str) -> Preparer | None:
    return _PREPARERS.get(kind)


def renderer_for(kind: str) -> Renderer:
    try:
        return _RENDERERS[kind]
    except KeyError:
        raise LookupError(f"no renderer registered for {kind!r}") from None
