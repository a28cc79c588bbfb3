"""The review queue page (审核): who sees which reports and in which order, what changed since a return,
returning with a reason (the error beside the field), accepting one or several, and another cluster's
reports out of reach."""

from __future__ import annotations

import re
from typing import Any

from tests.browser_support import Month
from tests.conftest import District, login
from tests.review_support import RETURN_REASON, report_state, returned_and_resubmitted


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def _rows(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-testid="review-row" data-report-id="(\d+)"', page)]


def _card(page: str, report_id: int) -> str:
    start = page.index(f'data-report-id="{report_id}"')
    end = page.find('data-testid="review-row"', start + 1)
    return page[start : end if end > 0 else len(page)]


def test_queue_per_role_oldest_submission_first(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    inspector = _client(app, "inspector").get("/review")
    assert inspector.status_code == 200
    page = inspector.get_data(as_text=True)
    # cluster 1 only (A and C, never B), the longest waiting first: C, then A's resubmission
    assert _rows(page) == [m.report_c, m.report_a]
    assert "乙小学" not in page
    assert "审核" in page  # the nav link
    bureau = _client(app, "admin").get("/review").get_data(as_text=True)
    assert _rows(bureau) == [m.report_c, m.report_b, m.report_a]
    # school admins and officials do not review
    assert _client(app, "admin_a").get("/review").status_code == 403
    assert _client(app, "official").get("/review").status_code == 403
    assert 'href="/review"' not in _client(app, "admin_a").get("/").get_data(as_text=True)


def test_queue_shows_the_return_reason_and_what_changed(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    page = _client(app, "inspector").get("/review").get_data(as_text=True)
    card = _card(page, m.report_a)
    assert RETURN_REASON in card and "退回后重新提交" in card
    assert "已修改" in card and "自查 · 食堂检查 2026-11-10" in card and "得分 98.0 → 100.0" in card
    assert "新增" in card and "自查 · 校园安全检查 2026-11-12" in card and "食堂后门灭火器过期" in card
    assert "已等待 0 天" in card and "按时" in card
    # C was never returned: no reason, no changes block
    assert 'data-testid="return-reason"' not in _card(page, m.report_c)


def test_return_needs_a_reason_shown_beside_the_field(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    client = _client(app, "inspector")
    resp = client.post("/review", data={"action": "return", "report_id": m.report_c, "reason": " 短 "})
    assert resp.status_code == 422
    card = _card(resp.get_data(as_text=True), m.report_c)
    assert re.search(r'data-error-for="reason">请填写理由（至少4个字）。<', card)
    assert 'class="form-control is-invalid"' in card and "短" in card  # the input is kept
    assert report_state(app, m.report_c) == "submitted"  # nothing written

    done = client.post(
        "/review",
        data={"action": "return", "report_id": m.report_c, "reason": "安全自查缺失"},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "已退回修改" in done.get_data(as_text=True)
    assert report_state(app, m.report_c) == "returned"
    assert _rows(done.get_data(as_text=True)) == [m.report_a]


def test_accept_one_from_the_queue(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    client = _client(app, "inspector")
    resp = client.post("/review", data={"action": "accept", "report_id": m.report_a})
    assert resp.status_code == 303
    assert report_state(app, m.report_a) == "accepted"
    # accepting it again (a stale page) is the API's 409, shown on the card
    again = client.post("/review", data={"action": "accept", "report_id": m.report_a})
    assert again.status_code == 409 and "不能执行" in again.get_data(as_text=True)


def test_bulk_accept_accepts_each_and_lists_the_refused(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    client = _client(app, "inspector")
    # a colleague accepted C a moment before the ticked boxes were sent
    assert (
        app.test_client()
        .post(f"/api/v1/reports/{m.report_c}/accept", headers=district.headers("admin"))
        .status_code
        == 200
    )
    resp = client.post(
        "/review",
        data={"action": "accept_selected", "report_id": [m.report_c, m.report_a]},
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "已审核通过 1 份月报：甲小学 2026-11" in page
    assert "未审核通过：丙小学 2026-11" in page and "审核通过”的月报不能执行" in page
    assert report_state(app, m.report_a) == "accepted"
    assert _rows(page) == []

    nothing = client.post("/review", data={"action": "accept_selected"})
    assert nothing.status_code == 422 and "请先勾选" in nothing.get_data(as_text=True)


def test_another_clusters_report_is_not_found(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    client = _client(app, "inspector")
    assert client.get(f"/reports/{m.report_b}").status_code == 404
    assert client.post("/review", data={"action": "accept", "report_id": m.report_b}).status_code == 404
    assert (
        client.post(
            "/review", data={"action": "return", "report_id": m.report_b, "reason": "越权退回"}
        ).status_code
        == 404
    )
    # one foreign id in a bulk accept refuses the whole request before anything is written
    bulk = client.post("/review", data={"action": "accept_selected", "report_id": [m.report_a, m.report_b]})
    assert bulk.status_code == 404
    assert report_state(app, m.report_a) == report_state(app, m.report_b) == "submitted"
    # a school admin posting a report id of their own is refused for the role (403), B's is 404
    school = _client(app, "admin_a")
    assert school.post("/review", data={"action": "accept", "report_id": m.report_a}).status_code == 403
    assert school.post("/review", data={"action": "accept", "report_id": m.report_b}).status_code == 404
