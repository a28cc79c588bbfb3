"""The ``bulletin`` and ``report_card`` notice renderers (service/mail/kinds.py's registry).

Parameters (JSON):

* ``bulletin``: ``{"period": "2026-10"}`` for a month, or ``{"kind": "term"|"year", "key": "2025-2026-1"}``.
  Runs in the bureau scope (refused otherwise: a narrower scope would issue a bulletin that leaves
  schools out). The first render ISSUES the bulletin - assigns its number and keeps its figures
  (:func:`service.bulletins.operations.issue`, flushed in the caller's transaction: commit it) - and every
  later render, in either language, gives the same document.
* ``report_card``: ``{"school_id": 3, "period": "2026-10"}``. Rendered in that school's scope whatever
  scope the caller is in (narrowing is always safe); the district context is the issued bulletin's
  public part, so issue the month's bulletin before sending its report cards.

``meta`` of the message records what it was rendered from (snapshot id and payload hash; the bulletin's
number), for the delivery run to keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, has_request_context, url_for

from service.bulletins import operations, render, workbooks
from service.bulletins.report_card import report_card_content
from service.mail.kinds import register, register_preparer
from service.mail.message import OutgoingMessage
from service.rankings.models import RankingKind
from tenants import current_scope


def target_of(params: Mapping[str, Any]) -> tuple[str, str]:
    kind = str(params.get("kind") or RankingKind.MONTH.value)
    key = str(params.get("key") or params.get("period") or "")
    return kind, key


def app_link(endpoint: str, **values: Any) -> str:
    """An absolute link to a page: the request's host, or the ``PUBLIC_URL`` setting in a job."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if not base:
        return ""
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


def render_bulletin(params: Mapping[str, Any], lang: str) -> OutgoingMessage:
    if not current_scope().is_bureau:
        raise PermissionError("a bulletin is rendered in the bureau scope")
    kind, key = target_of(params)
    b = operations.issued_bulletin(kind, key)
    link = app_link("web.bulletin_preview", kind=kind, key=key)
    document = render.bulletin_document(b, lang, link=link)
    meta = {
        "snapshot_id": str(b.issue.snapshot_id),
        "payload_hash": b.issue.payload_hash,
        "bulletin_id": str(b.issue.id),
        "number": f"{b.issue.year}-{b.issue.number}",
        "content_hash": b.issue.content_hash,
    }
    return render.message(document, xlsx=workbooks.bulletin_xlsx(b, lang), link=link, meta=meta)


def render_report_card(params: Mapping[str, Any], lang: str) -> OutgoingMessage:
    school_id, period = int(params["school_id"]), str(params["period"])
    card = report_card_content(school_id, period)
    link = app_link("web.report_card_preview", school_id=school_id, period=period)
    document = render.report_card_document(card, lang, link=link)
    meta = {
        "snapshot_id": str(card["snapshot"]["id"]),
        "payload_hash": card["snapshot"]["payload_hash"],
        "school_id": str(school_id),
    }
    return render.message(document, xlsx=workbooks.report_card_xlsx(card, lang), link=link, meta=meta)


def issue_bulletin_of(params: Mapping[str, Any]) -> None:
    """Before a bulletin or a month's report cards go out: issue the bulletin they show (number and
    figures frozen; idempotent), committed by the caller before any renderer runs."""
    kind, key = target_of(params)
    operations.issue(kind, key)


register("bulletin", render_bulletin)
register_preparer("bulletin", issue_bulletin_of)
register_preparer("report_card", issue_bulletin_of)
register("report_card", render_report_card)
