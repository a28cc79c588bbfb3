"""Journeys of the month's workspace and the staff roster in Chromium (tests/browser_support.py):
a school admin opens the month from the dashboard and is told everything that blocks the submission
at once; the workspace on a phone; adding a staff member and marking one as left."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.browser_support import PHONE, Month, login, shot
from tests.conftest import TODAY, District, evaluate_all_staff
from tests.test_web_workspace import _add_staff, _hazard, _open_report, _self_inspection


def test_school_admin_opens_the_month_and_sees_every_blocking_problem(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    _add_staff(app, district.school_a.id, "王五", "李四")
    page = login(browser, live_server, "admin_a")
    tasks = page.locator("[data-testid=month-tasks]")
    assert month.code in tasks.inner_text() and "还剩14天" in tasks.inner_text()
    shot(page, "school-dashboard")
    page.click("[data-testid=open-workspace]")  # starts the month's report: its workspace opens
    page.wait_for_selector("[data-testid=checklist]")
    assert "/reports/" in page.url
    evaluations = page.locator("[data-item=evaluations]")
    assert "已考评0/3人" in evaluations.inner_text() and "提交前必须完成" in evaluations.inner_text()
    assert page.locator("[data-item=canteen_self] >> text=建议填报").count() == 1

    page.click("[data-action=submit]")
    page.wait_for_selector("[data-testid=submit-problems]")
    problems = page.locator("[data-testid=submit-problems] li")
    assert problems.count() == 1  # one list, one line for all the people
    assert problems.first.inner_text() == "还有3人未考评：张甲厨、王五、李四。"
    assert page.locator(".alert-danger").count() == 1
    assert "草稿" in page.inner_text("[data-testid=report-state]")
    shot(page, "workspace-blocked")
    page.context.close()


def test_workspace_on_a_phone(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    a = district.school_a.id
    rid = _open_report(app, a, month.period_id)
    _self_inspection(app, a, month.period_id, "canteen", day=3)
    _self_inspection(app, a, month.period_id, "safety", day=5)
    _hazard(app, a, "消防通道堵塞（食堂后门）", date(2026, 11, 2), date(2026, 11, 10))
    _hazard(app, a, "教学楼三楼护栏松动", date(2026, 11, 15), date(2026, 11, 28))
    evaluate_all_staff(app, a, month.period_id)

    page = login(browser, live_server, "admin_a", viewport=PHONE)
    page.goto(f"{live_server}/reports/{rid}")
    page.wait_for_selector("[data-testid=checklist]")
    assert page.locator("[data-item=hazards]").get_attribute("data-state") == "attention"
    assert "3/4" in page.inner_text("[data-testid=checklist] >> xpath=..")  # facts still to enter
    submit = page.locator("[data-action=submit]")
    assert submit.is_visible() and submit.bounding_box()["height"] >= 36  # a thumb can hit it
    # nothing wider than the screen: tables scroll inside their card, not the page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "workspace-phone")
    page.context.close()


def test_adding_a_staff_member_and_marking_one_as_left(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    a = district.school_a.id
    _add_staff(app, a, "周保洁")
    page = login(browser, live_server, "admin_a")
    page.goto(f"{live_server}/schools/{a}")
    page.click("[data-testid=staff-add]")
    page.wait_for_selector("[data-testid=staff-form]")

    # saved without a name: the error sits beside the field, the rest is kept
    page.select_option("#f-role", "cook")
    page.select_option("#f-contract_type", "contract")
    page.fill("#f-hire_date", "2026-09-01")
    page.click("[data-testid=staff-form] button[type=submit]")
    assert "此项为必填项" in page.inner_text("[data-error-for=name]")
    assert page.input_value("#f-hire_date") == "2026-09-01"
    shot(page, "staff-form-error")

    page.fill("#f-name", "赵新厨")
    page.fill("#f-health_cert_no", "JK-2026-118")
    page.fill("#f-health_cert_expiry", (TODAY + timedelta(days=12)).isoformat())
    page.click("[data-testid=staff-form] button[type=submit]")
    page.wait_for_selector("[data-testid=roster]")
    row = page.locator("[data-testid=roster] tr", has_text="赵新厨")
    assert "JK-2026-118" in row.inner_text() and "即将到期" in row.inner_text()

    page.on("dialog", lambda dialog: dialog.accept())  # "mark as left?" - yes
    page.locator("[data-testid=roster] tr", has_text="周保洁").locator("[data-testid=staff-leave]").click()
    page.wait_for_load_state()
    left = page.locator("[data-testid=roster] tr", has_text="周保洁")
    assert "已离职" in left.inner_text() and left.locator("[data-testid=staff-leave]").count() == 0
    shot(page, "staff-roster")
    page.context.close()
