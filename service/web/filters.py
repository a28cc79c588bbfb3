"""Jinja filters and globals shared by every page: Shanghai time for timestamps, numbers as people read
them (composite and inspection scores with 1 decimal, staff scores with 2 - never ``89.269231``), and
links to pages that may not exist in every build."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app, url_for

from service.core.timeutil import local


def shown(value: Any, places: int = 1) -> str:
    """``value`` rounded half up to ``places`` decimals for display; "—" for nothing."""
    if value is None or value == "":
        return "—"
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def maybe_url(endpoint: str, **values: Any) -> str | None:
    """``url_for(endpoint, ...)`` or None when no such page is registered (a checklist links what exists)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def register_filters(app: Any) -> None:
    @app.template_filter("local_dt")
    def _local_dt(value: datetime | None) -> str:
        dt = local(value)
        return dt.strftime("%Y-%m-%d %H:%M") if dt else "—"

    @app.template_filter("score1")
    def _score1(value: Any) -> str:
        return shown(value, 1)

    @app.template_filter("score2")
    def _score2(value: Any) -> str:
        return shown(value, 2)

    @app.template_filter("iso_date")
    def _iso_date(value: date | None) -> str:
        return value.isoformat() if value else "—"

    app.add_template_global(maybe_url, "maybe_url")

    from service.reports.status import STATUS_BADGES, SchoolMonthStatus, status_label

    # The status label of a school-month (service/reports/status.py) and its badge colour.
    app.add_template_global(status_label, "month_status_label")
    app.add_template_global(lambda status: STATUS_BADGES[SchoolMonthStatus(status)], "month_status_class")
