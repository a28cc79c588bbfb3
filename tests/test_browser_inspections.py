"""The inspection form in Chromium: a school admin records a canteen self-inspection and watches the
score change before saving; an inspector records a spot inspection, sees its discrepancy with the
school's self-inspections and prints the one-page record to sign; the form on a phone.

Screenshots (build/screenshots): inspection-form-live-score, spot-discrepancy, spot-print,
inspection-form-phone.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from service.db import db
from tenants import TenantScope, use_scope
from tests.browser_support import PHONE, SCREENSHOTS, Month, login, shot
from tests.conftest import District

DAY = date(2026, 11, 20)


def _report(app: Any, district: District, month: Month) -> int:
    """School A's report of the month, as the school opens it."""
    from service.periods.models import Period
    from service.reports import operations as reports

    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        report = reports.open_report(db.session.get(Period, month.period_id))
        db.session.commit()
        report_id = report.id
        db.session.remove()
    return report_id


def _self_inspection(app: Any, district: District, month: Month, **failed: int) -> None:
    """A canteen self-inspection of school A through the domain operation (code → times failed)."""
    from service.inspections import operations
    from service.inspections.models import InspectionKind, InspectionMode, ItemOutcome
    from service.org.models import School
    from service.periods.models import Period
    from service.rubrics.models import RubricKind
    from service.rubrics.operations import current_version

    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        version = current_version(RubricKind.CANTEEN)
        items = [
            {
                "item_id": i.id,
                "result": ItemOutcome.FAIL if i.code in failed else ItemOutcome.PASS,
                "occurrences": failed.get(i.code, 0),
            }
            for i in version.all_items()
            if not i.computed
        ]
        operations.create_inspection(
            db.session.get(Period, month.period_id),
            db.session.get(School, district.school_a.id),
            {
                "kind": InspectionKind.CANTEEN,
                "mode": InspectionMode.SELF,
                "inspected_on": DAY,
                "inspector_name": "邵淑芬",
                "items": items,
            },
            user=None,
            today=DAY,
        )
        db.session.commit()
        db.session.remove()


def _item(page: Any, code: str) -> Any:
    return page.locator(f".inspection-item[data-code='{code}']").first


def _choose(page: Any, code: str, outcome: str, expect_score: str) -> None:
    """Click 符合/不符合/不适用 of an item and wait for the server's score to arrive."""
    _item(page, code).locator(f"label[for$='-{outcome}']").click()
    page.wait_for_function(
        "s => document.querySelector('[data-testid=live-score]').textContent.trim() === s", arg=expect_score
    )


def test_school_records_a_canteen_self_inspection(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    report_id = _report(app, district, month)
    page = login(browser, live_server, "admin_a")
    page.goto(f"{live_server}/reports/{report_id}/inspections/new?kind=canteen")
    assert page.locator("h1").inner_text().startswith("食堂检查")
    assert page.locator("[data-testid=live-score]").inner_text() == "—"
    assert page.locator("#f-inspector_name").input_value() == "ADMIN_A"
    page.fill("#f-inspected_on", DAY.isoformat())

    page.click("[data-testid=rest-pass]")  # every item 符合: the server answers 100.0, A
    page.wait_for_function(
        "document.querySelector('[data-testid=live-score]').textContent.trim() === '100.0'"
    )
    assert page.locator("[data-testid=live-grade]").inner_text() == "A级"

    _choose(page, "E3", "fail", "98.0")  # 明厨亮灶 camera offline −2
    _choose(page, "B1", "fail", "93.0")  # ※ health certificate −5: a key item caps the grade at B
    assert page.locator("[data-testid=live-grade]").inner_text() == "B级"
    occurrences = _item(page, "B1").locator("input[type=number]")
    assert occurrences.is_enabled()  # only a failed item counts occurrences
    assert not _item(page, "A2").locator("input[type=number]").is_visible()
    occurrences.fill("2")
    occurrences.press("Tab")  # change → two people without a certificate, −10
    page.wait_for_function("document.querySelector('[data-testid=live-score]').textContent.trim() === '88.0'")
    _item(page, "B1").locator("input[name$='-note']").fill("两名帮厨健康证过期")
    _item(page, "B1").scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)
    shot(page, "inspection-form-live-score", full_page=False)
    assert page.locator("[data-testid=score-box]").is_visible()  # the score stays in view

    page.click("[data-testid=save]")
    page.wait_for_url(f"{live_server}/reports/{report_id}")
    body = page.inner_text("main")
    assert "自查已保存，得分88.0。" in body and "88.0" in body and "食堂检查" in body
    page.context.close()


def test_inspector_records_a_spot_inspection_and_prints_it(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    from pypdf import PdfReader

    _self_inspection(app, district, month)  # 100.0
    _self_inspection(app, district, month, E3=1)  # 98.0: the school found the camera offline itself
    page = login(browser, live_server, "inspector")
    page.goto(f"{live_server}/schools/{district.school_a.id}")
    page.click("[data-testid=school-spot]")
    page.wait_for_url("**/spot-inspections?*")
    assert "督查" in page.locator("h1").inner_text()
    shot(page, "spot-list")
    page.locator("[data-school=SA] [data-testid=new-spot-canteen]").click()
    page.wait_for_url("**/spot-inspections/new?kind=canteen")
    assert page.locator("h1").inner_text() == "食堂检查 · 督查"
    assert page.locator("#f-unannounced").is_checked()
    page.fill("#f-inspected_on", DAY.isoformat())
    page.click("[data-testid=rest-pass]")
    page.wait_for_function(
        "document.querySelector('[data-testid=live-score]').textContent.trim() === '100.0'"
    )
    _choose(page, "C4", "fail", "90.0")  # ※ expired stock −10
    _item(page, "C4").locator("input[name$='-note']").fill("冷库发现过期牛奶两箱")
    _choose(page, "D3", "fail", "85.0")  # a dish not sampled −5
    _choose(page, "E3", "fail", "83.0")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=discrepancy]")

    panel = page.locator("[data-testid=discrepancy]")
    assert panel.locator("[data-testid=self-mean]").inner_text().startswith("99.0")
    assert panel.locator("[data-testid=gap]").inner_text() == "16.0"
    assert panel.locator("[data-testid=credibility-flag]").is_visible()  # 16 > 15
    missed = panel.locator("[data-testid=missed-items]").inner_text()
    assert "C4" in missed and "D3" in missed and "E3" not in missed
    panel.scroll_into_view_if_needed()
    shot(page, "spot-discrepancy")

    page.emulate_media(media="print")
    assert not panel.is_visible() and not page.locator("nav.navbar").is_visible()
    assert (
        page.get_by_text("被检查单位负责人签字").is_visible() and page.get_by_text("督查员签字").is_visible()
    )
    shot(page, "spot-print")
    pdf = page.pdf(format="A4", print_background=True)
    (SCREENSHOTS / "spot-print.pdf").write_bytes(pdf)  # the page as it comes out of the printer
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1  # the record to sign fits one A4 page
    summary = page.locator("[data-testid=print-summary]").inner_text()
    assert "符合（23）" in summary and "C4" not in summary  # passed items by code, failed ones in full

    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)  # the record on the inspector's phone: the table scrolls in its box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "spot-record-phone")
    page.context.close()


def test_the_form_on_a_phone(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    report_id = _report(app, district, month)
    page = login(browser, live_server, "admin_a", viewport=PHONE)
    page.goto(f"{live_server}/reports/{report_id}/inspections/new?kind=canteen")
    _choose(page, "A1", "fail", "90.0")
    _item(page, "A2").locator("label[for$='-pass']").click()
    page.click("[data-testid=save]")  # 24 items not judged: refused beside each, nothing saved
    page.wait_for_selector("[data-testid=form-errors]")
    assert page.locator("[data-error-for$='-result']").count() == 24
    assert _item(page, "A1").locator("input[value=fail]").is_checked()  # the input is kept
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _item(page, "A3").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot(page, "inspection-form-errors-phone", full_page=False)
    page.click("[data-testid=rest-pass]")
    page.wait_for_function("document.querySelector('[data-testid=live-score]').textContent.trim() === '90.0'")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    page.wait_for_timeout(300)  # let the buttons' colour transition finish before the picture
    shot(page, "inspection-form-phone", full_page=False)
    shot(page, "inspection-form-phone-full")
    page.context.close()
