"""The notices journey in Chromium: the bureau admin makes a schedule, sends it now, opens the 发件箱 and
a message in it (laptop, phone, Chinese and English); a school admin chooses their notices on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from service.mail import kinds
from tests.browser_support import LAPTOP, PHONE, login, shot
from tests.conftest import District
from tests.notice_support import give_addresses, stand_in_renderer


@pytest.fixture
def addressed(app: Any, district: District, month: Any, monkeypatch: pytest.MonkeyPatch) -> District:
    monkeypatch.setitem(kinds._RENDERERS, "bulletin", stand_in_renderer)
    monkeypatch.delitem(kinds._PREPARERS, "bulletin", raising=False)
    give_addresses(app)
    return district


def _hazard_digest_sent(app: Any, d: District) -> None:
    """An overdue hazard at SA and the weekly digest sent now (to SA's admin and the cluster's inspector)."""
    from datetime import date

    from service.core.timeutil import utcnow
    from service.db import db
    from service.hazards.models import Hazard, HazardSeverity
    from service.notices import operations
    from service.notices.schemas import ScheduleIn
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        for title, days in (("配电箱未上锁", 11), ("消防通道堆放杂物", 4)):
            db.session.add(
                Hazard(
                    school_id=d.school_a.id,
                    title=title,
                    location="食堂后门",
                    severity=HazardSeverity.HIGH,
                    responsible_person="电工老王",
                    found_on=date(2026, 11, 1),
                    deadline=date(2026, 11, 21 - days),
                )
            )
        schedule = operations.create_schedule(
            ScheduleIn().load(
                {
                    "name": "逾期隐患周报",
                    "kind": "hazard_digest",
                    "rule": "weekly",
                    "weekday": 0,
                    "audience": ["school_admins", "inspectors"],
                }
            )
        )
        operations.send_now(schedule, utcnow())
        db.session.commit()
        db.session.remove()


def _fits(page: Any) -> None:
    """Nothing wider than the viewport (tables scroll inside their own box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the screen"


@pytest.mark.postgres
def test_bureau_admin_schedules_sends_and_reads_the_outbox(
    live_server: str, browser: Any, addressed: District, app: Any
) -> None:
    page = login(browser, live_server, "admin")
    page.click("[data-testid=settings-menu]")  # the notices sit in the 设置 menu
    page.click(".dropdown-menu.show [data-testid=notices-menu]")
    page.click("[data-testid=schedule-new]")
    page.fill("#f-name", "月报截止提醒")
    page.select_option("#f-kind", "deadline_reminder")
    page.select_option("#f-rule", "before_deadline")
    page.fill("#f-days_before", "3, 1")
    page.click("[data-testid=schedule-form] button[type=submit]")
    assert page.locator("[data-testid=form-errors]").is_visible()  # no recipients chosen
    assert page.locator("[data-error-for=audience]").is_visible()
    assert page.input_value("#f-days_before") == "3, 1"  # kept
    shot(page, "notices-schedule-form-errors")
    page.check("#f-audience-school_admins")
    page.click("[data-testid=schedule-form] button[type=submit]")
    assert "通知计划已保存" in page.content()
    page.locator("[data-testid=send-now]").first.click()
    assert "份通知正在发送" in page.content()
    shot(page, "notices-schedules")
    _fits(page)

    page.goto(live_server + "/mail")
    rows = page.locator("[data-testid=outbox] tbody tr")
    assert rows.count() >= 2  # the reminders of SA and SB (SC has no admin account)
    shot(page, "notices-outbox")
    page.locator("[data-testid=outbox] a").first.click()
    frame = page.frame_locator("[data-testid=mail-html]")
    assert "月报尚未提交" in frame.locator("body").inner_text()
    shot(page, "notices-message-reminder")
    _hazard_digest_sent(app, addressed)
    page.goto(live_server + "/mail")
    page.locator("[data-testid=outbox] a", has_text="逾期隐患").first.click()
    assert "配电箱未上锁" in page.frame_locator("[data-testid=mail-html]").locator("body").inner_text()
    shot(page, "notices-message-hazard-digest")

    # English, same pages
    page.goto(live_server + "/lang/en?next=/notices/schedules")
    assert "Notice schedules" in page.content() and "days before the deadline" in page.content()
    shot(page, "notices-schedules-en")
    page.context.close()


@pytest.mark.postgres
def test_phone_pages_fit_and_a_school_admin_chooses_notices(
    live_server: str, browser: Any, addressed: District, app: Any
) -> None:
    from service.db import db
    from service.notices.demo import seed_schedules
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        seed_schedules()  # the demo's usual six, three of them mandatory
        db.session.commit()
        db.session.remove()
    page = login(browser, live_server, "admin", viewport=PHONE)
    page.goto(live_server + "/notices/schedules/new")
    _fits(page)
    shot(page, "notices-schedule-form-phone")
    page.goto(live_server + "/notices/schedules")
    _fits(page)
    page.context.close()

    page = login(browser, live_server, "admin_a", viewport=PHONE)
    page.goto(live_server + "/account/tokens")  # the account's pages: tokens, and my notices
    page.click("[data-testid=my-notices-link]")
    assert "我的通知设置" in page.content() and "教育局要求必收" in page.content()
    page.uncheck("#f-kind-hazard_digest")
    page.click("[data-testid=my-notices] button[type=submit]")
    assert "您的选择已保存" in page.content()
    assert not page.is_checked("#f-kind-hazard_digest") and page.is_checked("#f-kind-bulletin")
    _fits(page)
    shot(page, "notices-mine-phone")
    page.context.close()
    page = login(browser, live_server, "admin", viewport=LAPTOP)
    page.goto(live_server + "/mail")
    shot(page, "notices-outbox-laptop")
    page.context.close()
