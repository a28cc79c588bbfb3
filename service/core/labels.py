"""Bilingual labels of enum values: each area keeps a ``{value: (zh, en)}`` table."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import get_locale


def label(labels: dict, value: object) -> str:
    """The zh or en label of an enum value, following the request's language (zh outside requests)."""
    zh, en = labels[value]
    if has_request_context() and str(get_locale() or "zh_CN").startswith("en"):
        return en
    return zh
