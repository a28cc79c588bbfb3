"""Journeys of the bureau admin in Chromium (tests/browser_support.py), issue 11 parts 7 and 8: a month
recomputed from the jobs page with its progress bar moving to 100% by itself, and a commendation
round run to publication - proposed from the list of ended terms, approved in bulk with one comment,
checked on the confirmation page and published; the round page on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import PHONE, Month, login, shot
from tests.conftest import District
from tests.test_commendations import KEY, _workflow_term


def test_jobs_recompute(
    app: Any,
    browser: Any,
    live_server: str,
    district: District,
    month: Month,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run is held in the queue (no worker yet): the bar stands at 0% and polls; when the worker
    runs the job the bar reaches 100% without a reload."""
    from service.core import outbox

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "dispatch", lambda name, kwargs: sent.append((name, kwargs)))
    page = login(browser, live_server, "admin")
    page.click("[data-testid=settings-menu]")  # the jobs page sits in the 设置 menu
    page.click("[data-testid=nav-jobs]")
    page.wait_for_selector("[data-testid=heartbeat]")
    assert "嵌入式模式：任务在请求内执行" in page.inner_text("[data-testid=heartbeat]")  # no false alarm
    page.select_option("#f-period", month.code)
    page.click("[data-testid=recompute-submit]")
    page.wait_for_selector("[data-testid=run-panel][data-state=queued]")
    bar = page.locator("[data-testid=run-panel] [role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "0"
    assert [name for name, _ in sent] == ["tasks.rankings.recompute_period"]

    app.extensions["celery"].tasks[sent[0][0]].apply(kwargs=sent[0][1]).get()  # the worker runs it
    page.wait_for_selector("[data-testid=run-panel][data-state=succeeded]", timeout=15000)
    bar = page.locator("[data-testid=run-panel] [role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "100" and "100%" in bar.inner_text()
    assert "已完成" in page.inner_text("[data-testid=run-state]")
    assert "finished" in page.inner_text("[data-testid=run-log]")
    shot(page, "jobs-recompute")

    page.click("text=← 后台任务")
    page.wait_for_selector("[data-testid=runs]")
    assert "整月重新计算" in page.inner_text("[data-testid=runs]")
    shot(page, "jobs")
    page.context.close()

    phone = login(browser, live_server, "official", viewport=PHONE)
    phone.goto(f"{live_server}/jobs")
    phone.wait_for_selector("[data-testid=runs]")
    assert phone.locator("[data-testid=recompute-form]").count() == 0  # officials read
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "jobs-phone")
    phone.context.close()


def test_commendations_bulk_and_confirm(app: Any, browser: Any, live_server: str, district: District) -> None:
    """commendations-bulk and commendations-confirm: a round from proposal to publication."""
    _workflow_term(app, district)
    page = login(browser, live_server, "admin")
    page.goto(f"{live_server}/commendations")
    page.click("[data-testid=ended] >> text=2024—2025学年第二学期")  # prefills the form
    assert page.input_value("#f-key") == KEY and page.input_value("#f-kind") == "term"
    page.click("[data-testid=propose-form] button[type=submit]")
    page.wait_for_selector("[data-testid=bulk-form]")
    assert "还有 4 个符合条件的候选未审定。" in page.inner_text("main")
    round_url = page.url

    # Rejecting without a reason is refused for each ticked line, said once beside the comment.
    page.check("[data-testid=tick-all-advanced_unit]")
    page.click("[data-testid=bulk-reject]")
    page.wait_for_selector("[data-error-for=comment]")
    assert "不批准候选时请填写理由。" in page.inner_text("[data-error-for=comment]")
    assert "未能审定" in page.inner_text("[data-testid=refusals]")
    assert page.locator("[data-refused]").count() == 0  # said once, not on every line
    page.goto(round_url)

    for commendation in ("advanced_unit", "trusted_canteen", "safe_campus"):
        page.check(f"[data-testid=tick-all-{commendation}]")
    assert page.locator("input[name=candidate_id]:checked").count() == 4
    page.fill("#bulk-comment", "经局务会研究同意")
    shot(page, "commendations-bulk")
    page.click("[data-testid=bulk-approve]")
    page.wait_for_selector("text=批准：4 个候选。")
    decisions = page.locator("[data-testid^=decision-]").all_inner_texts()
    assert decisions == ["批准"] * 4
    assert page.locator("text=经局务会研究同意").count() == 4

    page.click("[data-testid=publish]")  # to the confirmation page, not yet published
    page.wait_for_selector("[data-testid=confirm-publish]")
    assert "公布后不能撤销。" in page.inner_text("[data-testid=irreversible]")
    assert page.inner_text("[data-testid=total-awards]") == "4"
    assert "甲小学" in page.inner_text("[data-testid=awards-advanced_unit]")
    assert "乙小学" in page.inner_text("[data-testid=awards-safe_campus]")
    shot(page, "commendations-confirm")
    page.click("[data-testid=confirm-publish]")
    page.wait_for_selector("[data-testid=certificates]")
    assert "已公布" in page.inner_text("[data-testid=round-state]")
    assert "4 份已全部生成" in page.inner_text("[data-testid=certificates]")  # eager: issued already
    assert page.locator(f"text={KEY}-XJDW-001").count() == 1
    shot(page, "commendations-round")
    page.context.close()

    phone = login(browser, live_server, "admin", viewport=PHONE)
    phone.goto(round_url)
    phone.wait_for_selector("[data-testid=certificates]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "commendations-round-phone")
    phone.context.close()
