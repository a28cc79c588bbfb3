"""The incident pages (安全事故): the 2-hour report says the rule and warns before a late report is saved,
the vetoes an incident caused are shown, a school's correction of a bureau-recorded incident is refused
per field with 403, read-only once the month's report is submitted, and other schools' incidents 404."""

from __future__ import annotations

import re
from typing import Any

from tests.browser_support import Month
from tests.conftest import TODAY, District, login
from tests.forms_support import SUBMITTED, errors_for, open_report, submit

# The suite's clock is 2026-11-21 10:00 Beijing time.
REPORT = {
    "type": "injury",
    "severity": "minor",
    "occurred_at": "2026-11-21T09:00",
    "description": "学生课间摔伤",
}


def _incidents(app: Any, district: District, user: str = "admin_a") -> list[dict]:
    return app.test_client().get("/api/v1/incidents", headers=district.headers(user)).get_json()


def _school(app: Any) -> Any:
    client = app.test_client()
    login(client, "admin_a")
    return client


def test_the_form_states_the_two_hour_rule(app: Any, district: District, month: Month) -> None:
    page = _school(app).get("/incidents/new").get_data(as_text=True)
    assert "事故须在2小时内报告。" in page and "先进单位" in page and "平安校园" in page
    # the school reports now: the report time shown is the clock's (it runs on from 10:00 during the suite)
    assert 'name="reported_at"' not in page
    assert re.search(rf"{TODAY.isoformat()} \d\d:\d\d", page)
    assert 'name="hidden"' not in page and 'name="falsified_data"' not in page  # the bureau's findings


def test_a_late_report_is_warned_about_before_it_is_saved(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    late = {**REPORT, "occurred_at": "2026-11-21T07:30"}
    resp = client.post("/incidents/new", data=late)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "本次报告距事故发生已超过2小时。" in page
    assert 'name="confirm_late"' in page and 'value="2026-11-21T07:30"' in page
    assert _incidents(app, district) == []
    resp = client.post("/incidents/new", data={**late, "confirm_late": "1"})
    assert resp.status_code == 302
    (incident,) = _incidents(app, district)
    assert incident["reported_late"] is True
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "迟报" in page and "安全事故隐瞒不报或迟报（超过2小时）" in page and "平安校园" in page


def test_an_on_time_report_needs_no_confirmation(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    resp = client.post("/incidents/new", data={**REPORT, "crowd_crush": "on"})
    assert resp.status_code == 302
    (incident,) = _incidents(app, district)
    assert incident["reported_late"] is False and incident["crowd_crush"] is True
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "拥挤踩踏" in page and 'data-testid="reported-late"' not in page


def test_refused_reports_show_the_messages_beside_the_fields(
    app: Any, district: District, month: Month
) -> None:
    client = _school(app)
    resp = client.post("/incidents/new", data={**REPORT, "type": ""})
    assert resp.status_code == 422 and errors_for(resp.get_data(as_text=True), "type") == ["此项为必填项。"]
    resp = client.post("/incidents/new", data={**REPORT, "occurred_at": "2026-11-21T11:00"})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "occurred_at") == ["时间不能晚于现在。"]
    # the bureau's findings are not on a school's form; sent anyway, the domain refuses them (403)
    resp = client.post("/incidents/new", data={**REPORT, "hidden": "on"})
    assert resp.status_code == 403 and "该字段只能由教育局填写。" in resp.get_data(as_text=True)
    assert _incidents(app, district) == []


def test_a_bureau_recorded_incident_keeps_its_facts(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    resp = client.post("/incidents/new", data=REPORT)
    incident_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    confirm = app.test_client().patch(
        f"/api/v1/incidents/{incident_id}", json={}, headers=district.headers("admin")
    )
    assert confirm.status_code == 200
    page = client.get(f"/incidents/{incident_id}/edit").get_data(as_text=True)
    assert "教育局已确认此事故" in page and 'value="2026-11-21T09:00"' in page

    resp = client.post(f"/incidents/{incident_id}/edit", data={**REPORT, "severity": "serious"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert errors_for(page, "severity") == ["教育局已登记该事故，此项只能由教育局修改。"]
    assert errors_for(page, "occurred_at") == []  # unchanged fields are not sent
    resp = client.post(
        f"/incidents/{incident_id}/edit", data={**REPORT, "description": "学生课间摔伤，已送医"}
    )
    assert resp.status_code == 302
    (incident,) = _incidents(app, district)
    assert incident["severity"] == "minor" and incident["description"] == "学生课间摔伤，已送医"


def test_a_school_cannot_lift_its_veto(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    resp = client.post("/incidents/new", data={**REPORT, "crowd_crush": "on"})
    incident_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    resp = client.post(f"/incidents/{incident_id}/edit", data=REPORT)  # crowd crush unticked
    assert resp.status_code == 403 and "此修改会撤销或缩短一票否决" in resp.get_data(as_text=True)
    assert _incidents(app, district)[0]["crowd_crush"] is True


def test_read_only_after_submission(app: Any, district: District, month: Month) -> None:
    client = _school(app)
    resp = client.post("/incidents/new", data=REPORT)
    incident_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    submit(app, district, month, open_report(app, district, month))
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert f"/incidents/{incident_id}/edit" not in page
    resp = client.get(f"/incidents/{incident_id}/edit")
    assert resp.status_code == 409 and SUBMITTED in resp.get_data(as_text=True)
    resp = client.post(f"/incidents/{incident_id}/edit", data={**REPORT, "description": "改"})
    assert resp.status_code == 409 and _incidents(app, district)[0]["description"] == REPORT["description"]
    resp = client.post("/incidents/new", data=REPORT)
    assert resp.status_code == 409 and SUBMITTED in resp.get_data(as_text=True)


def test_roles_and_other_schools(app: Any, district: District, month: Month) -> None:
    other = app.test_client()
    login(other, "admin_b")
    resp = other.post("/incidents/new", data=REPORT)
    incident_b = int(resp.headers["Location"].rsplit("/", 1)[-1])
    client = _school(app)
    assert client.get(f"/incidents/{incident_b}").status_code == 404
    assert client.get(f"/incidents/{incident_b}/edit").status_code == 404
    assert client.post(f"/incidents/{incident_b}/edit", data=REPORT).status_code == 404
    assert (
        client.post("/incidents/new", data={**REPORT, "school_id": str(district.school_b.id)}).status_code
        == 404
    )
    assert "学生课间摔伤" not in client.get("/incidents").get_data(as_text=True)
    inspector = app.test_client()
    login(inspector, "inspector")
    assert inspector.get("/incidents/new").status_code == 403
    assert inspector.post("/incidents/new", data=REPORT).status_code == 403
    bureau = app.test_client()
    login(bureau, "admin")
    page = bureau.get("/incidents/new").get_data(as_text=True)
    assert 'name="reported_at"' in page and 'name="hidden"' in page and 'name="school_id"' in page
    assert len(_incidents(app, district, "admin_b")) == 1 and _incidents(app, district) == []
