"""The canteen facts page (食堂月度数据): the API's fields and checks, messages beside the fields, read-only
once the report is submitted, a clear word for a school without a canteen, other schools' reports 404."""

from __future__ import annotations

from typing import Any

from tests.browser_support import Month
from tests.conftest import District, login
from tests.forms_support import SUBMITTED, errors_for, open_report, submit

GOOD = {
    "menu_compliant_days": "20",
    "serving_days": "21",
    "meals_served": "63",
    "leader_accompanied_meals": "60",
    "sampled_meals": "63",
    "food_waste_kg": "85.5",
}


def _facts(app: Any, district: District, report_id: int) -> Any:
    return app.test_client().get(
        f"/api/v1/reports/{report_id}/canteen-facts", headers=district.headers("admin_a")
    )


def test_facts_page_explains_each_number(app: Any, district: District, month: Month) -> None:
    report_id = open_report(app, district, month)
    client = app.test_client()
    login(client, "admin_a")
    page = client.get(f"/reports/{report_id}/facts").get_data(as_text=True)
    assert "两荤两素一汤达标天数" in page and "供餐天数" in page and "领导陪餐餐次" in page
    assert "留样餐次" in page and "125" in page and "48" in page  # the canteen rubric's sample rule
    assert 'name="food_waste_kg"' in page and "csrf_token" in page


def test_refused_facts_show_the_apis_messages_beside_the_fields(
    app: Any, district: District, month: Month
) -> None:
    report_id = open_report(app, district, month)
    client = app.test_client()
    login(client, "admin_a")
    bad = {**GOOD, "serving_days": "31", "leader_accompanied_meals": "70", "food_waste_kg": ""}
    resp = client.post(f"/reports/{report_id}/facts", data=bad)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "food_waste_kg") == ["此项为必填项。"]
    # the schema first: a missing field stops the domain's cross-checks, as in the API
    assert errors_for(page, "leader_accompanied_meals") == []
    assert 'value="70"' in page  # the user's input is kept
    assert _facts(app, district, report_id).status_code == 404  # nothing saved

    bad = {**GOOD, "serving_days": "31", "leader_accompanied_meals": "70"}
    resp = client.post(f"/reports/{report_id}/facts", data=bad)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "serving_days") == ["该月只有30天。"]
    assert errors_for(page, "leader_accompanied_meals") == ["不能超过供餐餐次（63）。"]
    assert 'data-testid="form-errors"' in page
    resp = client.post(f"/reports/{report_id}/facts", data={**GOOD, "menu_compliant_days": "-1"})
    assert errors_for(resp.get_data(as_text=True), "menu_compliant_days") == ["须在 0 到 31 之间。"]
    assert _facts(app, district, report_id).status_code == 404


def test_facts_saved_then_read_only_after_submission(app: Any, district: District, month: Month) -> None:
    report_id = open_report(app, district, month)
    client = app.test_client()
    login(client, "admin_a")
    resp = client.post(f"/reports/{report_id}/facts", data=GOOD)
    assert resp.status_code == 302
    saved = _facts(app, district, report_id).get_json()
    assert saved["meals_served"] == 63 and saved["food_waste_kg"] == "85.5"
    page = client.get(f"/reports/{report_id}/facts").get_data(as_text=True)
    assert 'value="63"' in page and 'value="85.5"' in page

    submit(app, district, month, report_id)
    page = client.get(f"/reports/{report_id}/facts").get_data(as_text=True)
    assert (
        SUBMITTED in page
        and 'data-testid="facts-read-only"' in page
        and '<form method="post" class="card"' not in page
    )
    resp = client.post(f"/reports/{report_id}/facts", data={**GOOD, "meals_served": "66"})
    assert resp.status_code == 409 and SUBMITTED in resp.get_data(as_text=True)
    assert _facts(app, district, report_id).get_json()["meals_served"] == 63


def test_school_without_canteen_is_told_so(app: Any, district: District, month: Month) -> None:
    report_id = open_report(app, district, month, user="admin", school_id=district.school_c.id)
    client = app.test_client()
    login(client, "inspector")
    page = client.get(f"/reports/{report_id}/facts").get_data(as_text=True)
    assert "该校没有食堂，无需填报食堂月度数据。" in page and 'name="meals_served"' not in page


def test_roles_and_other_schools(app: Any, district: District, month: Month) -> None:
    report_a = open_report(app, district, month)
    report_b = open_report(app, district, month, user="admin_b")
    client = app.test_client()
    login(client, "admin_a")
    assert client.get(f"/reports/{report_b}/facts").status_code == 404
    assert client.post(f"/reports/{report_b}/facts", data=GOOD).status_code == 404
    inspector = app.test_client()
    login(inspector, "inspector")
    assert inspector.get(f"/reports/{report_a}/facts").status_code == 200  # reads
    assert inspector.post(f"/reports/{report_a}/facts", data=GOOD).status_code == 403
    assert _facts(app, district, report_a).status_code == 404
