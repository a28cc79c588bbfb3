"""Journeys of the settings pages (设置) in Chromium (tests/browser_support.py): the bureau admin
publishes a new canteen rubric version with one changed item (the confirmation shows exactly that
change), changes a weight, moves a deadline and creates an inspector with a cluster; a settings page on
a phone; the navbar's 设置 menu at 1366×768 in Chinese and English."""

from __future__ import annotations

from typing import Any

from tests.browser_support import PHONE, Month, login, shot
from tests.conftest import District


def test_bureau_admin_publishes_a_rubric_version_with_one_changed_item(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    page = login(browser, live_server, "admin")
    page.click("[data-testid=settings-menu]")
    page.click(".dropdown-menu.show >> text=评分细则")
    page.wait_for_selector("[data-testid=rubric-canteen]")
    card = page.locator("[data-testid=rubric-canteen]")
    card.locator("input[name=note]").fill("D1 一道菜未留样扣分由5分调整为8分")
    card.locator("[data-testid=new-draft] button").click()
    page.wait_for_selector("[data-testid=draft-changes]")
    assert "无变更" in page.inner_text("[data-testid=draft-changes]")

    page.click("[data-testid=edit-D1]")
    page.wait_for_selector("[data-testid=item-form]")
    assert page.input_value("#f-deduction") == "5"
    page.fill("#f-deduction", "8")
    page.fill("#f-cap", "6")
    page.click("[data-testid=save-item]")  # refused as the API refuses it: the message beside the cap
    assert page.inner_text("[data-error-for=cap]") == "扣分上限不能小于每次扣分。"
    assert page.input_value("#f-deduction") == "8"  # the input is kept
    page.fill("#f-cap", "")
    page.click("[data-testid=save-item]")
    page.wait_for_selector("[data-testid=draft-changes]")
    assert page.locator("[data-testid=draft-changes] [data-testid=diff-item]").count() == 1
    shot(page, "settings-rubric-draft")

    page.click("[data-testid=to-publish]")
    page.wait_for_selector("[data-testid=publish-form]")
    items = page.locator("[data-testid=diff-item]")
    assert items.count() == 1 and items.first.get_attribute("data-code") == "D1"
    changes = items.first.locator("[data-field]")
    assert changes.count() == 1 and changes.first.get_attribute("data-field") == "deduction"
    assert changes.first.inner_text().replace(" ", "") == "每次扣分：5→8"
    assert page.locator("[data-testid=diff-section]").count() == 0
    assert "新增 0 项，删除 0 项，修改 1 项" in page.inner_text("[data-testid=diff-counts]")
    shot(page, "settings-rubric-diff")
    page.click("[data-testid=confirm-publish]")
    page.wait_for_selector("[data-testid=rubric-canteen]")
    versions = page.locator("[data-testid=rubric-canteen] [data-testid=versions] tbody tr")
    assert "第 2 版" in versions.nth(0).inner_text() and "已发布" in versions.nth(0).inner_text()
    assert "已停用" in versions.nth(1).inner_text()
    page.context.close()


def test_bureau_admin_changes_a_weight(app: Any, browser: Any, live_server: str, district: District) -> None:
    page = login(browser, live_server, "admin")
    page.goto(f"{live_server}/settings/rules")
    page.click("[data-testid=change-scoring]")
    page.wait_for_selector("[data-testid=scoring-rules-form]")
    page.fill("[name='area_weights.canteen']", "45")
    page.fill("[name='note']", "食堂权重由40上调为45")
    page.click("[data-testid=review-changes]")
    page.wait_for_selector("[data-testid=rules-diff]")
    lines = page.locator("[data-testid=rules-diff] [data-key]")
    assert lines.count() == 1 and lines.first.inner_text().replace(" ", "") == "食堂领域权重：40→45"
    shot(page, "settings-scoring-rules")
    page.click("[data-testid=confirm-save]")
    page.wait_for_selector("[data-testid=rules-scoring]")
    latest = page.locator("[data-testid=rules-scoring] [data-testid=rules-version]").first
    assert latest.get_attribute("data-version") == "1" and "40" in latest.inner_text()
    shot(page, "settings-rules")
    page.context.close()


def test_bureau_admin_moves_a_deadline(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    page = login(browser, live_server, "admin")
    page.goto(f"{live_server}/settings/periods")
    page.click(f"[data-testid=period-{month.code}] a")
    page.wait_for_selector("[data-testid=period-form]")
    assert "已提交 0 份" in page.inner_text("[data-testid=rejudge-note]")
    page.fill("#f-deadline", "2026-12-08")
    page.click("[data-testid=save-period]")
    page.wait_for_selector("[data-testid=period-form]")
    assert "截止日期 2026-12-08，2026-12-19 起锁定" in page.inner_text("main")
    shot(page, "settings-periods")
    page.goto(f"{live_server}/settings/periods")
    assert "2026-12-08" in page.inner_text(f"[data-testid=period-{month.code}]")
    page.context.close()


def test_bureau_admin_creates_an_inspector_with_a_cluster(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    page = login(browser, live_server, "admin")
    page.goto(f"{live_server}/settings/users")
    page.click("[data-testid=new-user]")
    page.wait_for_selector("[data-testid=user-form]")
    assert page.locator("#f-school_id").is_visible()  # a school admin by default
    page.fill("#f-username", "qian.dc")
    page.fill("#f-display_name", "钱督查")
    page.select_option("#f-role", "inspector")
    page.locator("#f-school_id").wait_for(state="hidden")  # Alpine: only what the role needs
    page.check(f"#f-cluster-{district.cluster_2.id}")
    page.click("[data-testid=create-user]")
    page.wait_for_selector("[data-testid=temporary-password]")
    password = page.inner_text("[data-testid=password-value]")
    shot(page, "settings-user-password")
    page.goto(f"{live_server}/settings/users")
    row = page.locator("[data-testid='user-qian.dc']")
    assert "督查员" in row.inner_text() and "城西片区" in row.inner_text()
    shot(page, "settings-users")
    page.context.close()

    inspector = browser.new_context(locale="zh-CN").new_page()
    inspector.goto(f"{live_server}/login")
    inspector.fill("#username", "qian.dc")
    inspector.fill("#password", password)
    inspector.click("button[type=submit]")
    # an account made by the bureau chooses its own password before anything else
    inspector.wait_for_selector("[data-testid=password-form]")
    inspector.goto(f"{live_server}/schools")
    inspector.wait_for_selector("[data-testid=password-form]")
    inspector.fill("#f-current_password", password)
    inspector.fill("#f-password", "qian-dc-chose-this-9")
    inspector.fill("#f-repeat", "qian-dc-chose-this-9")
    shot(inspector, "account-password")
    inspector.click("[data-testid=change-password]")
    inspector.wait_for_selector("[data-testid=whoami]")
    inspector.goto(f"{live_server}/schools")
    assert "乙小学" in inspector.inner_text("main") and "甲小学" not in inspector.inner_text("main")
    inspector.context.close()


def test_settings_on_a_phone_and_the_menu_in_english(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    page = login(browser, live_server, "admin", viewport=PHONE)
    page.goto(f"{live_server}/settings/rules/scoring")
    page.wait_for_selector("[data-testid=scoring-rules-form]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    button = page.locator("[data-testid=review-changes]")
    assert button.bounding_box()["height"] >= 36
    shot(page, "settings-phone")
    page.goto(f"{live_server}/settings/users/{district.admin_a.id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "settings-user-phone")
    page.context.close()

    page = login(browser, live_server, "admin")
    page.goto(f"{live_server}/settings")
    assert page.locator("nav.navbar").bounding_box()["height"] < 80  # one line at 1366×768 in Chinese
    page.click("[data-testid=settings-menu]")
    shot(page, "settings-navbar-zh", full_page=False)
    page.goto(f"{live_server}/lang/en?next=/settings")
    page.click("[data-testid=settings-menu]")
    menu = page.locator(".dropdown-menu.show")
    # five settings areas, the notices (schedules, outbox, failures) and the task runs
    assert menu.is_visible() and menu.locator("a").count() == 9
    shot(page, "settings-navbar-en", full_page=False)
    menu.locator("text=Periods").click()
    page.wait_for_selector("[data-testid=periods]")
    page.context.close()
