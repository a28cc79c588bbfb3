"""The layout every page shares, in Chromium: on a phone the menu collapses behind a toggler."""

from __future__ import annotations

from typing import Any

from tests.browser_support import PHONE, login, shot
from tests.conftest import District


def test_phone_menu_collapses_and_opens(browser: Any, live_server: str, district: District) -> None:
    page = login(browser, live_server, "admin_a", viewport=PHONE)
    toggle = page.locator("[data-testid=menu-toggle]")
    assert toggle.is_visible()
    assert not page.locator("#main-menu a", has_text="月报").first.is_visible()
    shot(page, "layout-phone-menu-closed")
    toggle.click()
    page.wait_for_selector("#main-menu.show")  # the collapse animation has finished
    shot(page, "layout-phone-menu-open")
    # nothing wider than the screen: no horizontal scrolling of the whole page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()
