"""The hazard pages (隐患整改): logging a notice with the API's checks beside the fields, overdue marked
with its days, the workflow open → rectifying → closed (note and date) → reopened by the bureau, each
move with the API's roles and refusals, and other schools' notices 404."""

from __future__ import annotations

from typing import Any

from tests.browser_support import Month
from tests.conftest import District, login
from tests.forms_support import SUBMITTED, errors_for, open_report, submit

NOTICE = {
    "title": "教学楼二楼灭火器过期",
    "location": "教学楼二楼东侧",
    "severity": "medium",
    "responsible_person": "王电工",
    "found_on": "2026-11-18",
    "deadline": "2026-11-25",
    "description": "更换灭火器并登记",
}


def _hazards(app: Any, district: District, user: str = "admin_a") -> list[dict]:
    return app.test_client().get("/api/v1/hazards", headers=district.headers(user)).get_json()


def _log(client: Any, **changes: str) -> int:
    resp = client.post("/hazards/new", data={**NOTICE, **changes})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[-1])


def _school(app: Any) -> Any:
    client = app.test_client()
    login(client, "admin_a")
    return client


def test_refused_notice_shows_the_messages_beside_the_fields(
    app: Any, district: District, month: Month
) -> None:
    client = _school(app)
    page = client.get("/hazards/new").get_data(as_text=True)
    assert 'name="school_id"' not in page and 'name="deadline"' in page  # a school logs its own
    resp = client.post("/hazards/new", data={**NOTICE, "title": "", "deadline": "2026-11-10"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "title") == ["此项为必填项。"]
    resp = client.post("/hazards/new", data={**NOTICE, "deadline": "2026-11-10"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "deadline") == ["整改期限不能早于发现隐患的日期。"]
    assert 'value="教学楼二楼东侧"' in page
    assert _hazards(app, district) == []


def test_overdue_hazards_are_marked_with_their_days(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    _log(client, title="围墙裂缝", found_on="2026-11-02", deadline="2026-11-10")
    _log(client)
    page = client.get("/hazards").get_data(as_text=True)
    assert "围墙裂缝" in page and "逾期 11 天" in page and "table-danger" in page
    overdue = client.get("/hazards", query_string={"show": "overdue"}).get_data(as_text=True)
    assert "围墙裂缝" in overdue and "灭火器过期" not in overdue
    closed = client.get("/hazards", query_string={"show": "closed"}).get_data(as_text=True)
    assert "围墙裂缝" not in closed


def test_workflow_start_close_reopen(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    hazard_id = _log(client)
    page = client.get(f"/hazards/{hazard_id}").get_data(as_text=True)
    assert "待整改" in page and 'data-action="start"' in page and 'data-action="close"' not in page
    assert client.post(f"/hazards/{hazard_id}/action", data={"action": "start"}).status_code == 302

    close = {"action": "close", "closing_note": "", "closed_on": "2026-11-20"}
    resp = client.post(f"/hazards/{hazard_id}/action", data=close)
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "closing_note") == ["此项为必填项。"]
    resp = client.post(
        f"/hazards/{hazard_id}/action", data={**close, "closing_note": "已更换", "closed_on": "2026-11-22"}
    )
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "closed_on") == ["日期不能晚于今天。"]
    resp = client.post(
        f"/hazards/{hazard_id}/action", data={**close, "closing_note": "已更换", "closed_on": "2026-11-01"}
    )
    assert errors_for(resp.get_data(as_text=True), "closed_on") == ["销号日期不能早于发现隐患的日期。"]
    assert _hazards(app, district)[0]["state"] == "rectifying"

    note = "已更换4具灭火器，登记台账"
    resp = client.post(
        f"/hazards/{hazard_id}/action",
        data={"action": "close", "closing_note": note, "closed_on": "2026-11-20"},
    )
    assert resp.status_code == 302
    page = client.get(f"/hazards/{hazard_id}").get_data(as_text=True)
    assert "已销号" in page and note in page and "开始整改" in page and "整改销号" in page
    # closed: no correction (the operation's own refusal), and reopening is the bureau's
    resp = client.get(f"/hazards/{hazard_id}/edit")
    assert resp.status_code == 409 and "已销号的隐患不能修改，请先重新打开。" in resp.get_data(as_text=True)
    assert (
        client.post(
            f"/hazards/{hazard_id}/action", data={"action": "reopen", "reason": "复查未通过"}
        ).status_code
        == 403
    )

    inspector = app.test_client()
    login(inspector, "inspector")
    resp = inspector.post(f"/hazards/{hazard_id}/action", data={"action": "reopen", "reason": "否"})
    assert resp.status_code == 422 and "请填写理由（至少4个字）。" in resp.get_data(as_text=True)
    assert (
        inspector.post(
            f"/hazards/{hazard_id}/action", data={"action": "reopen", "reason": "复查发现仍有过期灭火器"}
        ).status_code
        == 302
    )
    (hazard,) = _hazards(app, district)
    assert hazard["state"] == "rectifying" and hazard["closed_on"] is None
    resp = client.post(f"/hazards/{hazard_id}/action", data={"action": "start"})
    assert resp.status_code == 409 and "整改中" in resp.get_data(as_text=True)


def test_edit_and_the_bureaus_notice(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    hazard_id = _log(client)
    resp = client.post(
        f"/hazards/{hazard_id}/edit",
        data={**NOTICE, "responsible_person": "李师傅", "deadline": "2026-11-01"},
    )
    assert resp.status_code == 422 and errors_for(resp.get_data(as_text=True), "deadline")
    resp = client.post(f"/hazards/{hazard_id}/edit", data={**NOTICE, "responsible_person": "李师傅"})
    assert resp.status_code == 302 and _hazards(app, district)[0]["responsible_person"] == "李师傅"

    inspector = app.test_client()
    login(inspector, "inspector")
    resp = inspector.post(
        "/hazards/new",
        data={**NOTICE, "school_id": str(district.school_a.id), "title": "督查发现：配电箱未上锁"},
    )
    assert resp.status_code == 302
    bureau_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    resp = client.post(f"/hazards/{bureau_id}/edit", data={**NOTICE, "title": "改个标题"})
    assert resp.status_code == 403 and "该整改通知由教育局下发，只有教育局可以修改。" in resp.get_data(
        as_text=True
    )
    assert "配电箱未上锁" in client.get(f"/hazards/{bureau_id}").get_data(as_text=True)


def test_a_submitted_month_refuses_a_schools_closing_date_in_it(
    app: Any, district: District, month: Month
) -> None:
    client = _school(app)
    hazard_id = _log(client)
    client.post(f"/hazards/{hazard_id}/action", data={"action": "start"})
    report_id = open_report(app, district, month)
    submit(app, district, month, report_id)
    resp = client.post(
        f"/hazards/{hazard_id}/action",
        data={"action": "close", "closing_note": "已整改", "closed_on": "2026-11-20"},
    )
    assert resp.status_code == 409 and SUBMITTED in resp.get_data(as_text=True)
    assert _hazards(app, district)[0]["state"] == "rectifying"


def test_other_schools_notices_are_not_found(app: Any, district: District, month: Month) -> None:
    other = app.test_client()
    login(other, "admin_b")
    hazard_b = _log(other)
    client = _school(app)
    assert client.get(f"/hazards/{hazard_b}").status_code == 404
    assert client.get(f"/hazards/{hazard_b}/edit").status_code == 404
    assert client.post(f"/hazards/{hazard_b}/edit", data=NOTICE).status_code == 404
    assert client.post(f"/hazards/{hazard_b}/action", data={"action": "start"}).status_code == 404
    assert (
        client.post("/hazards/new", data={**NOTICE, "school_id": str(district.school_b.id)}).status_code
        == 404
    )
    assert "灭火器" not in client.get("/hazards").get_data(as_text=True)
    assert _hazards(app, district, "admin_b")[0]["state"] == "open"
