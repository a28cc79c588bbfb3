"""The layout every page shares, in Chromium: on a phone the menu collapses behind a toggler."""

from __future__ import annotations

from typing import Any

from tests.browser_support import PHONE, login, shot
from tests.conftest import District
from tests.conftest import login as client_login


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


def _menu(app: Any, username: str) -> str:
    client = app.test_client()
    client_login(client, username)
    html = client.get("/").get_data(as_text=True)
    return html.split('id="main-menu"')[1].split("</nav>")[0]


def test_each_role_finds_its_entry_points_in_the_menu(app: Any, district: District) -> None:
    """Every role: hazards and incidents (a school admin records them, reviewers follow them); the
    review queue only for those who review; a school admin's "本校" opens their own school; the API
    pages sit under the user's name, whose link works without JavaScript (the tokens page)."""
    school = _menu(app, "admin_a")
    assert 'data-testid="nav-hazards"' in school and 'data-testid="nav-incidents"' in school
    assert f'href="/schools/{district.school_a.id}"' in school and ">本校<" in school
    assert 'href="/review"' not in school
    assert 'data-testid="user-menu"' in school and 'href="/account/tokens"' in school
    for reviewer in ("inspector", "admin"):
        menu = _menu(app, reviewer)
        # the district's hazards, incidents and appeals sit in the 看板 (boards) dropdown
        assert 'href="/review"' in menu and 'href="/appeals"' in menu and 'href="/boards/hazards"' in menu
        assert 'href="/incidents"' in menu and 'href="/schools"' in menu
    official = _menu(app, "official")
    assert 'href="/review"' not in official and 'href="/appeals"' in official
