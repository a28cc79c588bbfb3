"""Jinja filters: Shanghai time for timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.core.timeutil import local


def register_filters(app: Any) -> None:
    @app.template_filter("local_dt")
    def _local_dt(value: datetime | None) -> str:
        dt = local(value)
        return dt.strftime("%Y-%m-%d %H:%M") if dt else "—"
