"""The bureau's cockpit in Chromium (tests/browser_support.py), on the district's autumn of
tests/cockpit_data.py: an official opens the first screen (laptop and phone), follows a late school to
its page, reads the ranking sorted and in print media, and opens the hazard board."""

from __future__ import annotations

from typing import Any

from tests.browser_support import LAPTOP, PHONE, login, shot
from tests.cockpit_data import build_autumn
from tests.conftest import District


def test_official_opens_the_first_screen_and_follows_a_late_school(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    build_autumn(app, district)
    page = login(browser, live_server, "official", viewport=LAPTOP)
    cockpit = page.locator("[data-testid=cockpit]")
    assert "2026年10月" in page.inner_text("[data-testid=cockpit-months]")
    assert page.locator("[data-testid=tile-hazards] .fs-3").inner_text() == "2"
    assert "乙小学" in page.inner_text("[data-testid=ranking-up]")
    assert cockpit.locator("form").count() == 0  # officials read: no action on the first screen
    shot(page, "cockpit-first-screen", full_page=False)
    shot(page, "cockpit-first-screen-full")
    # the late school: 丙小学 under 逾期未报 in 城东片区, one click to open the names, one to its page
    row = page.locator(f"[data-cluster='{district.cluster_1.id}']")
    late = row.locator("td[data-status=overdue] details")
    late.locator("summary").click()
    link = late.locator("a", has_text="丙小学")
    assert link.is_visible()
    assert link.get_attribute("href") == f"/schools/{district.school_c.id}"
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/schools/{district.school_c.id}")
    # in English at 1366×768 the navbar (with the boards' dropdown) stays on one line
    page.goto(f"{live_server}/lang/en?next=/")
    assert "District overview" in page.inner_text("[data-testid=cockpit]")
    shot(page, "cockpit-first-screen-en", full_page=False)
    assert page.locator("nav.navbar").bounding_box()["height"] < 80
    page.context.close()

    phone = login(browser, live_server, "official", viewport=PHONE)
    assert phone.locator("[data-testid=completeness-by-cluster]").is_visible()
    # nothing wider than the screen: the tables scroll inside their card
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "cockpit-first-screen-phone")
    phone.locator("[data-testid=menu-toggle]").click()
    phone.wait_for_selector("#main-menu.show")
    phone.locator("[data-testid=nav-boards] > a").click()
    assert phone.locator("[data-testid=nav-boards] .dropdown-menu").is_visible()
    shot(phone, "cockpit-phone-boards-menu")
    phone.context.close()


def test_ranking_sorted_and_printed_and_the_hazard_board(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    autumn = build_autumn(app, district)
    page = login(browser, live_server, "official", viewport=LAPTOP)
    page.goto(f"{live_server}/rankings?kind=month&key=2026-09")
    page.locator("th a[data-sort=score]").click()  # the score's natural order: highest first
    page.wait_for_load_state()
    assert "sort=score" in page.url
    page.locator("th a[data-sort=score]").click()  # again: lowest first
    page.wait_for_load_state()
    codes = page.locator("[data-testid=ranking] tbody tr td[data-col=code]").all_inner_texts()
    assert codes == ["SC", "SB", "SA"]
    shot(page, "ranking-sorted", full_page=False)
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator("[data-testid=ranking-filters]").is_visible()
    title = page.locator("[data-testid=print-title]")
    assert title.is_visible() and "打印日期 2026-11-21" in title.inner_text()
    shot(page, "ranking-print")
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"
    page.emulate_media(media="screen")

    page.goto(f"{live_server}/boards/hazards")
    rows = page.locator("[data-testid=board-hazards] tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("[data-testid=days-overdue]").inner_text() == "42"
    assert rows.first.get_attribute("data-hazard") == str(autumn.hazard_a)
    assert page.locator("[data-testid=board-hazards] >> text=处理").count() == 0  # officials read
    shot(page, "board-hazards")
    page.select_option("#f-overdue", "1")
    page.click("[data-testid=board-filters] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=board-hazards] tbody tr").count() == 2
    page.click("[data-testid=board-tabs] >> text=否决与事故")
    page.wait_for_selector("[data-testid=board-vetoes]")
    assert page.locator("[data-testid=board-vetoes] tbody tr").count() == 2
    shot(page, "board-vetoes", full_page=False)
    page.click("[data-testid=board-tabs] >> text=待审核")
    page.wait_for_selector("[data-testid=board-awaiting]")
    shot(page, "board-awaiting", full_page=False)
    page.context.close()

    phone = login(browser, live_server, "admin", viewport=PHONE)
    phone.goto(f"{live_server}/boards/unlock-requests")
    assert phone.locator(f"[data-testid=decide-{autumn.unlock_b}] button").count() == 2
    shot(phone, "board-unlock-requests-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.context.close()
