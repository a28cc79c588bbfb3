"""Browser journey of the bulletin and report-card previews (Chromium): the email as recipients see it,
in Chinese and English, on a laptop and a phone; screenshots for a person to look at."""

from __future__ import annotations

from typing import Any

import pytest

from tests import bulletin_data
from tests.browser_support import LAPTOP, PHONE, login, shot
from tests.conftest import District

pytestmark = [pytest.mark.postgres]
OCT = "2026-10"


def test_bulletin_and_report_card_previews(
    app: Any, live_server: str, browser: Any, district: District
) -> None:
    months = bulletin_data.build(app, district)
    page = login(browser, live_server, "official", viewport=LAPTOP)
    page.goto(f"{live_server}/bulletins/month/{OCT}")
    preview = page.get_by_test_id("email-preview")
    assert "督查通报" in preview.inner_text() and "存在问题" in preview.inner_text()
    # the chart is an image drawn on the server, inlined like the mail client shows the cid: part
    assert page.locator("[data-testid=email-preview] img").first.evaluate("i => i.naturalWidth") > 300
    shot(page, "bulletin-preview-zh")
    page.get_by_test_id("lang-toggle").click()
    page.wait_for_load_state()
    assert "Inspection bulletin" in page.get_by_test_id("email-preview").inner_text()
    shot(page, "bulletin-preview-en")
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    assert download.value.suggested_filename.endswith(".pdf")
    page.context.close()

    phone = login(browser, live_server, "admin_a", viewport=PHONE)
    phone.goto(f"{live_server}/schools/{months.schools['SA']}/report-cards/{OCT}")
    text = phone.get_by_test_id("email-preview").inner_text()
    assert "甲小学" in text and "一、本月成绩" in text
    shot(phone, "report-card-preview-phone")
    assert (
        phone.goto(f"{live_server}/bulletins/month/{OCT}").status == 403
    )  # the bulletin is the bureau's page
    phone.context.close()
