"""The monthly forms as a school admin uses them in Chromium: the staff evaluation grid filled with
fill-down until every person is evaluated (laptop and phone), a hazard logged, started and closed with a
note, an incident reported late with the 2-hour warning shown, and the canteen facts saved. Each saves a
screenshot of its key page (build/screenshots)."""

from __future__ import annotations

from typing import Any

from tests.browser_support import LAPTOP, PHONE, Month, login, shot
from tests.conftest import District
from tests.forms_support import open_report

PEOPLE = 25  # a large school's logistics staff: the grid must stay usable on a 1366×768 laptop


def _roster(app: Any, district: District) -> None:
    """School A's staff up to PEOPLE (张甲厨 is the first)."""
    client = app.test_client()
    roles = ("cook", "guard", "cleaner", "electrician", "storekeeper")
    for n in range(2, PEOPLE + 1):
        resp = client.post(
            "/api/v1/staff",
            json={
                "name": f"后勤{n:02d}号",
                "role": roles[n % len(roles)],
                "contract_type": "contract",
                "hire_date": "2021-03-01",
            },
            headers=district.headers("admin_a"),
        )
        assert resp.status_code == 201


def test_evaluation_grid_with_fill_down(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    _roster(app, district)
    report_id = open_report(app, district, month)
    page = login(browser, live_server, "admin_a", viewport=LAPTOP)
    page.goto(f"{live_server}/reports/{report_id}/evaluations")
    assert page.get_by_test_id("progress").inner_text() == f"已考评 0 / {PEOPLE} 人"
    first = page.locator("tr[data-editable]").first
    for code, value in (("de", "9"), ("neng", "18"), ("qin", "13.5"), ("ji", "40"), ("lian", "9")):
        first.locator(f'input[data-col="{code}"]').fill(value)
        page.locator(f'button[data-fill="{code}"]').click()
    assert page.get_by_test_id("filled").inner_text().endswith(f"{PEOPLE} / {PEOPLE}")
    # one person scored differently after filling down
    page.locator("tr[data-editable]").nth(3).locator('input[data-col="ji"]').fill("44")
    # the header stays in view while the grid scrolls inside its card
    page.locator(".grid-scroll").evaluate("el => el.scrollTop = 400")
    header_top = page.locator('th[data-col-head="ji"]').bounding_box()["y"]
    grid_top = page.locator(".grid-scroll").bounding_box()["y"]
    assert abs(header_top - grid_top) < 2
    page.locator(".grid-scroll").evaluate("el => el.scrollTop = 0")
    # one bad cell: nothing is saved, the cell says why, every other input is kept
    bad = page.locator("tr[data-editable]").nth(2).locator('input[data-col="de"]')
    bad.fill("11")
    page.get_by_test_id("save-grid").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("progress").inner_text() == f"已考评 0 / {PEOPLE} 人"
    assert "须在 0 到 10 之间。" in page.locator("tr.table-danger").inner_text()
    shot(page, "evaluations-grid-errors", full_page=False)
    page.locator("tr[data-editable]").nth(2).locator('input[data-col="de"]').fill("9")
    page.get_by_test_id("save-grid").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("progress").inner_text() == f"已考评 {PEOPLE} / {PEOPLE} 人"
    assert page.locator('td[data-testid="score"]', has_text="89.50").count() == PEOPLE - 1
    assert page.locator('td[data-testid="score"]', has_text="93.50").count() == 1
    shot(page, "evaluations-grid", full_page=False)
    page.context.close()

    phone = login(browser, live_server, "admin_a", viewport=PHONE)
    phone.goto(f"{live_server}/reports/{report_id}/evaluations")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    scroller = phone.locator(".grid-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")  # the table scrolls in its card
    shot(phone, "evaluations-grid-phone", full_page=False)
    phone.context.close()


def test_hazard_logged_started_and_closed(
    browser: Any, live_server: str, district: District, month: Month
) -> None:
    page = login(browser, live_server, "admin_a", viewport=LAPTOP)
    page.goto(f"{live_server}/hazards")
    page.get_by_test_id("hazard-new").click()
    page.fill("#f-title", "食堂后门消防通道堆放杂物")
    page.fill("#f-location", "食堂后门")
    page.select_option("#f-severity", "high")
    page.fill("#f-responsible_person", "王师傅")
    page.fill("#f-found_on", "2026-11-19")
    page.fill("#f-deadline", "2026-11-24")
    page.fill("#f-description", "清理杂物，保持消防通道畅通")
    page.locator("form[data-testid=hazard-form] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("hazard-state").inner_text() == "待整改"
    page.locator('button[data-action="start"]').click()
    page.wait_for_load_state()
    assert page.get_by_test_id("hazard-state").inner_text() == "整改中"
    page.fill("#f-closing_note", "杂物已清理，通道已划线并张贴禁止堆放标识")
    page.fill("#f-closed_on", "2026-11-21")
    page.locator('button[data-action="close"]').click()
    page.wait_for_load_state()
    assert page.get_by_test_id("hazard-state").inner_text() == "已销号"
    assert "禁止堆放标识" in page.get_by_test_id("closing-note").inner_text()
    assert page.get_by_test_id("history").locator("li").count() == 2
    shot(page, "hazard-detail")
    page.goto(f"{live_server}/hazards?show=closed")
    assert page.locator("tr[data-hazard]").count() == 1
    page.context.close()

    # the cluster's inspector issues a notice found at A last week, already past its deadline
    inspector = login(browser, live_server, "inspector", viewport=LAPTOP)
    inspector.goto(f"{live_server}/hazards/new")
    inspector.select_option("#f-school_id", str(district.school_a.id))
    inspector.fill("#f-title", "配电室门锁损坏")
    inspector.fill("#f-location", "综合楼配电室")
    inspector.select_option("#f-severity", "medium")
    inspector.fill("#f-responsible_person", "李电工")
    inspector.fill("#f-found_on", "2026-11-09")
    inspector.fill("#f-deadline", "2026-11-16")
    inspector.locator("form[data-testid=hazard-form] button[type=submit]").click()
    inspector.wait_for_load_state()
    assert inspector.get_by_test_id("overdue").inner_text() == "逾期 5 天"
    inspector.goto(f"{live_server}/hazards")
    assert inspector.locator("tr.table-danger").count() == 1
    shot(inspector, "hazard-list")
    inspector.context.close()


def test_incident_reported_late_with_the_warning(
    browser: Any, live_server: str, district: District, month: Month
) -> None:
    page = login(browser, live_server, "admin_a", viewport=PHONE)
    page.goto(f"{live_server}/incidents/new")
    assert "事故须在2小时内报告" in page.get_by_test_id("two-hour-rule").inner_text()
    warning = page.get_by_test_id("late-warning")
    page.select_option("#f-type", "food_poisoning")
    page.select_option("#f-severity", "minor")
    page.fill("#f-occurred_at", "2026-11-21T09:30")  # the suite's clock: 10:00 Beijing time
    page.wait_for_timeout(200)
    assert not warning.is_visible()
    page.fill("#f-occurred_at", "2026-11-21T07:10")
    warning.wait_for(state="visible", timeout=5000)  # warned as the time is typed, before anything is saved
    page.fill("#f-description", "午餐后3名学生腹痛，已送医观察")
    page.check("#f-confirm_late")
    shot(page, "incident-form")
    page.locator("form[data-testid=incident-form] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("reported-late").is_visible()
    assert "食品安全事故隐瞒不报或迟报" in page.get_by_test_id("vetoes").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()


def test_canteen_facts_saved(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    report_id = open_report(app, district, month)
    page = login(browser, live_server, "admin_a", viewport=PHONE)
    page.goto(f"{live_server}/reports/{report_id}/facts")
    values = {
        "menu_compliant_days": "20",
        "serving_days": "21",
        "meals_served": "63",
        "leader_accompanied_meals": "70",
        "sampled_meals": "63",
        "food_waste_kg": "85.5",
    }
    for name, value in values.items():
        page.fill(f"#f-{name}", value)
    page.locator("form[data-testid=facts-form] button[type=submit]").click()
    page.wait_for_load_state()
    assert (
        "不能超过供餐餐次（63）。" in page.locator('[data-error-for="leader_accompanied_meals"]').inner_text()
    )
    page.fill("#f-leader_accompanied_meals", "60")
    page.locator("form[data-testid=facts-form] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").inner_text() == "食堂月度数据已保存。"
    assert page.input_value("#f-leader_accompanied_meals") == "60"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "canteen-facts")
    page.context.close()
