"""Browser journeys of review and appeals (issue 10, journey (d) and the review queue), in Chromium.

(d) School A's admin appeals a spot inspection made by ``inspector``; ``inspector2``, a second inspector
of the same cluster, upholds it with a reason; ``inspector`` (who made it) never gets the buttons.
Review: A's month was returned and resubmitted with changes; the cluster's inspector sees what changed
and accepts A and C at once. Screenshots: appeal-file, appeal-queue, appeal-decide, appeal-own-inspector,
review-queue, review-queue-phone, review-bulk-accepted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from tests.browser_support import LAPTOP, PHONE, Month, login, shot
from tests.conftest import District
from tests.review_support import RETURN_REASON, add_inspector, report_state, returned_and_resubmitted, spot


def test_appeal_decided_by_a_different_inspector(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    inspection = spot(app.test_client(), district, month.period_id, date(2026, 11, 20), B2=2, F1=3)
    add_inspector(app, district, "inspector2", district.cluster_1)

    # the school, on a phone: 申诉 → the inspection it may still appeal → the reason → filed
    school = login(browser, live_server, "admin_a", viewport=PHONE)
    school.click("[data-testid=menu-toggle]")
    school.click("#main-menu >> text=申诉")
    row = school.locator("[data-testid=appealable] tr", has_text="2026-12-04")
    row.get_by_role("link", name="申诉").click()
    school.wait_for_selector("[data-testid=last-filing-day]")
    assert "2026-12-04" in school.inner_text("[data-testid=last-filing-day]")
    school.fill("#f-reason", "督查当天晨检记录已在电子台账补录，陪餐记录在食堂登记本上，请复核。")
    shot(school, "appeal-file")
    school.click("[data-action=file-appeal]")
    school.wait_for_selector("[data-testid=appeal-state]")
    assert school.inner_text("[data-testid=appeal-state]") == "待复核"
    appeal_url = school.url
    assert school.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    school.context.close()

    # the inspector who made the inspection: listed apart, no buttons
    own = login(browser, live_server, "inspector")
    own.goto(live_server + "/appeals")
    assert own.locator("[data-testid=appeal-queue] [data-testid=appeal-row]").count() == 0
    own.locator("[data-testid=own-appeals] [data-testid=appeal-row]").get_by_role("link", name="打开").click()
    own.wait_for_selector("[data-testid=not-yours]")
    assert (
        own.locator("[data-action=uphold]").count() == 0 and own.locator("[data-action=dismiss]").count() == 0
    )
    shot(own, "appeal-own-inspector")
    own.context.close()

    # a second inspector of the cluster decides it
    other = login(browser, live_server, "inspector2", viewport=LAPTOP)
    other.click("[data-testid=nav-boards] >> text=看板")  # appeals sit in the boards dropdown
    other.click(".dropdown-menu.show >> text=申诉")
    other.wait_for_selector("[data-testid=appeal-queue] [data-testid=appeal-row]")
    assert "甲小学" in other.inner_text("[data-testid=appeal-queue]")
    shot(other, "appeal-queue")
    other.locator("[data-testid=appeal-queue] [data-testid=appeal-row]").get_by_role(
        "link", name="打开"
    ).click()
    assert other.url == appeal_url
    assert "B2" in other.inner_text("[data-testid=inspection-summary]")
    other.fill("#f-note", "经核实电子台账，晨检记录齐全；督查记录作废，当月重新计分。")
    shot(other, "appeal-decide")
    other.click("[data-action=uphold]")
    other.wait_for_selector("[data-testid=decision]")
    assert other.inner_text("[data-testid=appeal-state]") == "申诉成立"
    assert "晨检记录齐全" in other.inner_text("[data-testid=decision]")
    assert other.locator("[data-action=uphold]").count() == 0
    shot(other, "appeal-decided")
    other.context.close()

    from service.db import db
    from service.inspections.models import Inspection
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalars(select(Inspection.excluded).where(Inspection.id == inspection["id"])).one()
        db.session.remove()


def test_review_queue_shows_changes_and_accepts_two_at_once(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)

    phone = login(browser, live_server, "inspector", viewport=PHONE)
    phone.goto(live_server + "/review")
    phone.wait_for_selector("[data-testid=review-row]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "review-queue-phone")
    phone.context.close()

    page = login(browser, live_server, "inspector", viewport=LAPTOP)
    page.click("#main-menu >> text=审核")
    cards = page.locator("[data-testid=review-row]")
    assert cards.count() == 2
    assert [cards.nth(i).get_attribute("data-report-id") for i in range(2)] == [
        str(m.report_c),
        str(m.report_a),
    ]
    a_card = page.locator(f"[data-testid=review-row][data-report-id='{m.report_a}']")
    assert RETURN_REASON in a_card.inner_text()
    changes = a_card.locator("[data-testid=changes]").inner_text()
    assert "得分 98.0 → 100.0" in changes and "校园安全检查" in changes and "食堂后门灭火器过期" in changes
    shot(page, "review-queue")

    page.check(f"#pick-{m.report_c}")
    page.check(f"#pick-{m.report_a}")
    page.locator("[data-action=accept-selected]").first.click()
    page.wait_for_selector("[data-testid=queue-empty]")
    assert "已审核通过 2 份月报" in page.inner_text("main")
    shot(page, "review-bulk-accepted")
    page.context.close()
    assert report_state(app, m.report_a) == report_state(app, m.report_c) == "accepted"
    assert report_state(app, m.report_b) == "submitted"  # another cluster's, untouched
