"""The 月报 pages: a school submits, its cluster's inspector returns and accepts, in the browser's forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import TODAY, District, evaluate_all_staff, login


def _period(client: Any, district: District) -> dict:
    today = TODAY
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first.month == 8:
        first = first.replace(month=7)
    resp = client.post(
        "/api/v1/periods",
        json={"year": first.year, "month": first.month, "deadline": (today + timedelta(days=3)).isoformat()},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201
    return resp.get_json()


def test_report_pages_drive_the_workflow(app: Any, district: District) -> None:
    api = app.test_client()
    period = _period(api, district)
    school = app.test_client()
    login(school, "admin_a")
    resp = school.post(f"/periods/{period['id']}/open-report")
    assert resp.status_code == 302
    report_url = resp.headers["Location"]
    report_id = int(report_url.rstrip("/").rsplit("/", 1)[-1])

    page = school.get(report_url).get_data(as_text=True)
    assert "草稿" in page and "张甲厨" in page  # still to evaluate
    refused = school.post(f"/reports/{report_id}/action", data={"action": "submit"}, follow_redirects=True)
    assert "张甲厨" in refused.get_data(as_text=True) and "草稿" in refused.get_data(as_text=True)

    evaluate_all_staff(app, district.school_a.id, period["id"])
    done = school.post(f"/reports/{report_id}/action", data={"action": "submit"}, follow_redirects=True)
    assert "已提交" in done.get_data(as_text=True)
    assert school.post(f"/reports/{report_id}/action", data={"action": "accept"}).status_code == 403

    reviewer = app.test_client()
    login(reviewer, "inspector")
    listing = reviewer.get("/reports", query_string={"period_id": period["id"]}).get_data(as_text=True)
    assert "甲小学" in listing and "丙小学" in listing and "乙小学" not in listing
    no_reason = reviewer.post(
        f"/reports/{report_id}/action", data={"action": "return"}, follow_redirects=True
    )
    assert "已提交" in no_reason.get_data(as_text=True)  # refused: a reason is required
    returned = reviewer.post(
        f"/reports/{report_id}/action",
        data={"action": "return", "reason": "留样记录不全"},
        follow_redirects=True,
    )
    assert "留样记录不全" in returned.get_data(as_text=True)
    school.post(f"/reports/{report_id}/action", data={"action": "submit"})
    accepted = reviewer.post(f"/reports/{report_id}/action", data={"action": "accept"}, follow_redirects=True)
    assert "审核通过" in accepted.get_data(as_text=True)
    # an accepted report offers the inspector no more buttons (reopening is the bureau admin's)
    assert 'data-action="accept"' not in accepted.get_data(as_text=True)
    assert 'data-action="return"' not in accepted.get_data(as_text=True)

    own = school.get("/reports").get_data(as_text=True)
    assert "审核通过" in own


def test_other_schools_report_page_is_not_found(app: Any, district: District) -> None:
    api = app.test_client()
    period = _period(api, district)
    rb = api.post(
        "/api/v1/reports", json={"period_id": period["id"]}, headers=district.headers("admin_b")
    ).get_json()
    client = app.test_client()
    login(client, "admin_a")
    assert client.get(f"/reports/{rb['id']}").status_code == 404
    assert client.post(f"/reports/{rb['id']}/action", data={"action": "submit"}).status_code == 404
