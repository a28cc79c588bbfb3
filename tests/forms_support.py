"""Helpers of the monthly-form page tests (canteen facts, staff grid, hazards, incidents): the month's
report of a school through the API as its admin would open it, and the page's error texts."""

from __future__ import annotations

import re
from typing import Any

from tests.browser_support import Month
from tests.conftest import District, evaluate_all_staff


def open_report(app: Any, district: District, month: Month, user: str = "admin_a", **body: Any) -> int:
    """The school's report of ``month`` (opened through the API, as the 月报 page does); its id."""
    resp = app.test_client().post(
        "/api/v1/reports", json={"period_id": month.period_id, **body}, headers=district.headers(user)
    )
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()["id"]


def submit(app: Any, district: District, month: Month, report_id: int) -> None:
    """Every staff member evaluated, then the report submitted (school A's): its data is read-only now."""
    evaluate_all_staff(app, district.school_a.id, month.period_id)
    resp = app.test_client().post(f"/api/v1/reports/{report_id}/submit", headers=district.headers("admin_a"))
    assert resp.status_code == 200, resp.get_json()


def errors_for(page: str, name: str) -> list[str]:
    """The messages shown beside the field ``name`` (``data-error-for``)."""
    pattern = rf'data-error-for="{re.escape(name)}">([^<]*)<'
    return re.findall(pattern, page)


SUBMITTED = "月报已提交，退回后才能修改。"
