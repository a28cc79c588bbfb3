"""Chromium: an official compares three schools and reads the trend (picker, charts, the data behind
them, the shareable URL on a phone), then opens a school's page (sections, chart, records)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import compare_data
from tests.browser_support import LAPTOP, PHONE, login, shot
from tests.conftest import District

pytestmark = pytest.mark.usefixtures("pg")


def _no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_an_official_compares_three_schools_and_reads_the_trend(
    app: Any, browser: Any, live_server: str, district: District
) -> None:
    scored = compare_data.build(app, district)
    ids = scored.ids
    page = login(browser, live_server, "official", viewport=LAPTOP)
    page.click("[data-testid=nav-compare]")
    page.wait_for_selector("[data-testid=compare-picker]")
    # type-ahead: typing filters the list in the browser; a ticked school stays in view
    page.fill("[data-testid=compare-search]", "丙")
    page.wait_for_selector(f"label[for=school-{ids['SA']}]", state="hidden")
    assert page.locator(f"label[for=school-{ids['SC']}]").is_visible()
    page.check(f"#school-{ids['SC']}")
    page.fill("[data-testid=compare-search]", "")
    page.check(f"#school-{ids['SA']}")
    page.check(f"#school-{ids['SD']}")
    page.click("[data-testid=compare-submit]")
    page.wait_for_selector("[data-testid=compare-table]")
    page.wait_for_selector("[data-testid=chart-trend][data-chart-ready] svg")
    page.wait_for_selector("[data-testid=chart-radar][data-chart-ready] svg")
    # the trend as numbers: open 查看数据 under the chart
    page.click("[data-testid=data-trend] summary")
    october = page.locator("[data-testid=trend-table] tr[data-period='2026-10'] td")
    assert october.all_inner_texts() == ["95.5", "100.0", "93.2"]
    september = page.locator("[data-testid=trend-table] tr[data-period='2026-09'] td")
    assert september.all_inner_texts() == ["95.6", "90.0", "92.0"]
    assert "每日晨检并记录" in page.inner_text(f"[data-testid=lost-{ids['SA']}]")
    _no_sideways_scroll(page, LAPTOP["width"])
    shot(page, "compare-three")
    share = page.get_attribute("[data-testid=share-url]", "href")
    side = page.inner_text("[data-testid=compare-table]")
    # the same in English (the navbar at 1366 px)
    page.goto(f"{live_server}/lang/en?next=" + share.split(live_server, 1)[1].replace("&", "%26"))
    page.wait_for_selector("[data-testid=chart-trend][data-chart-ready] svg")
    assert "Where each school lost the most points" in page.content()
    shot(page, "compare-three-en", full_page=False)
    page.context.close()

    # the link reproduces the comparison, here on a phone
    phone = login(browser, live_server, "official", viewport=PHONE)
    phone.goto(share)
    phone.wait_for_selector("[data-testid=chart-trend][data-chart-ready] svg")
    assert phone.inner_text("[data-testid=compare-table]") == side
    _no_sideways_scroll(phone, PHONE["width"])
    shot(phone, "compare-phone")
    phone.context.close()


def test_the_school_page(app: Any, browser: Any, live_server: str, district: District) -> None:
    scored = compare_data.build(app, district)
    a = scored.ids["SA"]
    page = login(browser, live_server, "official", viewport=LAPTOP)
    page.goto(f"{live_server}/schools/{a}")
    page.wait_for_selector("[data-testid=chart-history][data-chart-ready] svg")
    assert "95.5" in page.inner_text("[data-testid=latest-score]")
    assert "逾期 12 天" in page.inner_text("[data-testid=school-hazards]")
    page.click("[data-testid=profile-nav] a[href='#canteen']")
    assert "90.9%" in page.inner_text("[data-testid=school-facts]")
    page.click("[data-testid=latest-explanation]")
    page.wait_for_url(f"**/schools/{a}/scores/2026-10")
    page.go_back()
    page.wait_for_selector("[data-testid=roster]")
    _no_sideways_scroll(page, LAPTOP["width"])
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "school-page")
    page.context.close()

    phone = login(browser, live_server, "official", viewport=PHONE)
    phone.goto(f"{live_server}/schools/{a}")
    phone.wait_for_selector("[data-testid=chart-history][data-chart-ready] svg")
    assert phone.locator("[data-testid=profile-nav]").is_visible()
    _no_sideways_scroll(phone, PHONE["width"])
    shot(phone, "school-page-phone")
    phone.context.close()
