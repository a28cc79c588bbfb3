"""Issue 10's cross-page journeys in Chromium (tests/browser_support.py), each a month as people live it.

(a) School A's admin fills the whole month of 2026-11 in the browser and submits it: dashboard → the
    month's workspace → two canteen self-inspections and a safety self-inspection (every item judged,
    a few failed), the canteen facts, a second staff member added on the roster and every person
    evaluated on the grid, a hazard logged and started, an incident reported within 2 hours → every
    checklist line done → 提交审核 → 已提交. Screenshots ``month-a-*``.
(c) The cluster's inspector records a spot inspection of A (school page → 督查), sees the discrepancy,
    returns A's report from the review queue with a reason; A's admin sees the reason on the dashboard
    and the workspace, corrects a self-inspection and resubmits; the inspector sees what changed since
    the return and accepts; the month's ranking shows A's composite - the hand count below, which is
    also the stored ``SchoolMonthScore.composite``. Screenshots ``month-c-*``.

Every click that navigates is followed by a wait for the URL or an element of the next page; nothing
sleeps blindly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import select

from service.core.timeutil import now_shanghai
from service.db import db
from tenants import TenantScope, use_scope
from tests.browser_support import PHONE, Month, login, shot
from tests.conftest import District
from tests.review_support import items

# Playwright is imported where a browser test needs it (as tests/browser_support.py does).
expect = pytest.importorskip("playwright.sync_api").expect

# --- what the journeys enter, and the scores that follow from it (rubrics.md formulas 1-5) ------------

# Canteen self-inspection 1: B1 ※ health certificate −5, E3 camera offline −2 → 93.0
CANTEEN_1 = {"B1": 1, "E3": 1}
CANTEEN_1_SCORE = Decimal("93.0")
# Canteen self-inspection 2: D3 one dish not sampled −5 → 95.0
CANTEEN_2 = {"D3": 1}
CANTEEN_2_SCORE = Decimal("95.0")
# Safety self-inspection: D1 (no lift) not applicable removes its 5 from the possible 100 → 95;
# B2 an extinguisher out of date −2, E3 a camera down −3 → 90 of 95 = 94.736… → 94.7
SAFETY = {"B2": 1, "E3": 1}
SAFETY_NA = ("D1",)
SAFETY_SCORE = Decimal("94.7")
# The staff grid (assessment group only): 德 能 勤 绩 廉
STAFF_ROWS = {
    "张甲厨": ("9", "18", "13.5", "40", "9"),  # 89.5
    "赵新厨": ("10", "19", "14", "42", "9.5"),  # 94.5
}
STAFF_MEAN = Decimal("92.0")
# The inspector's canteen spot inspection: C4 ※ expired stock −10, D3 a dish not sampled −5 → 85.0
SPOT = {"C4": 1, "D3": 1}
SPOT_SCORE = Decimal("85.0")
# After the return the school corrects self-inspection 2: it had missed the expired stock (C4 −10) → 85.0
CANTEEN_2_FIXED = {"D3": 1, "C4": 1}
CANTEEN_2_FIXED_SCORE = Decimal("85.0")
RETURN_REASON = "督查发现冷库有过期牛奶（C4），第二次食堂自查未发现，请核实后更正自查记录。"


def _one(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def expected_composite(canteen_self: list[Decimal], spot: Decimal | None) -> Decimal:
    """The month's composite by hand (formulas 3-5): canteen 0.7 × spot + 0.3 × self mean (self mean
    alone without a spot inspection), safety = its self-inspection (no overdue hazard: the journey's is
    due on the month's last day, not yet overdue), staff = mean of the person scores; 40/40/20;
    submitted on time (no −2); rounded to 1 decimal."""
    self_mean = sum(canteen_self) / len(canteen_self)
    canteen = self_mean if spot is None else Decimal("0.7") * spot + Decimal("0.3") * self_mean
    return _one((40 * canteen + 40 * SAFETY_SCORE + 20 * STAFF_MEAN) / 100)


# --- page helpers --------------------------------------------------------------------------------------


def _item(page: Any, code: str) -> Any:
    return page.locator(f".inspection-item[data-code='{code}']").first


def _wait_score(page: Any, score: Decimal) -> None:
    page.wait_for_function(
        "s => document.querySelector('[data-testid=live-score]').textContent.trim() === s", arg=str(score)
    )


def _judge(page: Any, failed: dict[str, int], na: tuple[str, ...] = (), *, one_by_one: bool) -> None:
    """Judge the form's items: the failed ones 不符合 (times found), ``na`` 不适用, the rest 符合 - each
    clicked (``one_by_one``) or with the form's "mark the rest as complying" button."""
    for code, times in failed.items():
        _item(page, code).locator("label[for$='-fail']").click()
        if times > 1:
            _item(page, code).locator("input[type=number]").fill(str(times))
        _item(page, code).locator("input[name$='-note']").fill(f"{code}不符合，已现场记录")
    for code in na:
        _item(page, code).locator("label[for$='-na']").click()
    if one_by_one:
        codes = page.eval_on_selector_all(".inspection-item", "els => els.map(e => e.dataset.code)")
        for code in codes:
            if code not in failed and code not in na:
                _item(page, code).locator("label[for$='-pass']").click()
    else:
        page.click("[data-testid=rest-pass]")
    assert page.locator(".inspection-item:not(:has(input[type=radio]:checked))").count() == 0


def _workspace(page: Any, base: str, report_id: int) -> None:
    page.wait_for_url(f"{base}/reports/{report_id}")
    page.wait_for_selector("[data-testid=checklist]")


def _back_to_the_month(page: Any) -> None:
    """The form's breadcrumb back to the month's workspace (← 甲小学 · 月报 2026-11)."""
    page.locator("main nav a", has_text="月报").click()


def _to_the_month(page: Any, base: str, report_id: int) -> None:
    """From any page back to the month as a school admin would: the menu's 概览, then the month's card."""
    page.click("#main-menu >> text=概览")
    page.wait_for_url(base + "/")
    page.click("[data-testid=open-workspace]")
    _workspace(page, base, report_id)


def _line(page: Any, key: str) -> Any:
    return page.locator(f"[data-testid=checklist] [data-item={key}]")


def _self_inspection(
    page: Any,
    base: str,
    report_id: int,
    *,
    kind: str,
    day: str,
    failed: dict[str, int],
    score: Decimal,
    na: tuple[str, ...] = (),
    one_by_one: bool = False,
    name: str | None = None,
) -> None:
    """From the workspace: the checklist line's "add" button → the form → judged → saved → back."""
    link = "填报食堂自查" if kind == "canteen" else "填报安全自查"
    _line(page, f"{kind}_self").get_by_role("link", name=link).click()
    page.wait_for_url(f"**/reports/{report_id}/inspections/new?kind={kind}")
    page.fill("#f-inspected_on", day)
    _judge(page, failed, na, one_by_one=one_by_one)
    _wait_score(page, score)
    if name:
        shot(page, name)
    page.click("[data-testid=save]")
    _workspace(page, base, report_id)
    assert f"得分{score}" in page.inner_text(".alert-success")


# --- (a) a school admin fills the whole month and submits it --------------------------------------------


def fill_month_in_the_browser(page: Any, base: str, month: Month) -> int:
    """Journey (a) up to the submission, on ``page`` (admin_a logged in, on the dashboard); the report's id."""
    tasks = page.locator("[data-testid=month-tasks]")
    assert month.code in tasks.inner_text()
    page.click("[data-testid=open-workspace]")  # starts the month's report
    page.wait_for_url("**/reports/*")
    page.wait_for_selector("[data-testid=checklist]")
    report_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert "草稿" in page.inner_text("[data-testid=report-state]")
    assert page.inner_text("[data-testid=progress]").startswith("已完成0")
    shot(page, "month-a-workspace-before")

    # two canteen self-inspections (the first judged item by item) and the safety self-inspection
    _self_inspection(
        page,
        base,
        report_id,
        kind="canteen",
        day="2026-11-06",
        failed=CANTEEN_1,
        score=CANTEEN_1_SCORE,
        one_by_one=True,
        name="month-a-canteen-form",
    )
    _self_inspection(
        page, base, report_id, kind="canteen", day="2026-11-20", failed=CANTEEN_2, score=CANTEEN_2_SCORE
    )
    assert "已录入2次" in _line(page, "canteen_self").inner_text()
    _self_inspection(
        page,
        base,
        report_id,
        kind="safety",
        day="2026-11-13",
        failed=SAFETY,
        na=SAFETY_NA,
        score=SAFETY_SCORE,
        name="month-a-safety-form",
    )

    # canteen facts
    _line(page, "canteen_facts").get_by_role("link", name="填报食堂月度数据").click()
    page.wait_for_url(f"**/reports/{report_id}/facts")
    for name, value in {
        "menu_compliant_days": "20",
        "serving_days": "21",
        "meals_served": "63",
        "leader_accompanied_meals": "60",
        "sampled_meals": "63",
        "food_waste_kg": "85.5",
    }.items():
        page.fill(f"#f-{name}", value)
    page.locator("form[data-testid=facts-form] button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert page.inner_text(".alert-success") == "食堂月度数据已保存。"
    shot(page, "month-a-facts")
    _back_to_the_month(page)
    _workspace(page, base, report_id)

    # a second staff member through the roster, then everybody on the grid
    _line(page, "evaluations").get_by_role("link", name="后勤人员名册").click()
    page.wait_for_selector("[data-testid=roster]")
    page.click("[data-testid=staff-add]")
    page.wait_for_selector("[data-testid=staff-form]")
    page.fill("#f-name", "赵新厨")
    page.select_option("#f-role", "cook")
    page.select_option("#f-contract_type", "contract")
    page.fill("#f-hire_date", "2026-09-01")
    page.fill("#f-health_cert_no", "JK-2026-201")
    page.fill("#f-health_cert_expiry", "2027-08-31")
    shot(page, "month-a-staff-form")
    page.click("[data-testid=staff-form] button[type=submit]")
    page.wait_for_selector("[data-testid=roster] tr:has-text('赵新厨')")
    _to_the_month(page, base, report_id)
    assert "0/2" in _line(page, "evaluations").inner_text().replace(" ", "")

    _line(page, "evaluations").get_by_role("link", name="填写考评").click()
    page.wait_for_url(f"**/reports/{report_id}/evaluations")
    rows = page.locator("tr[data-editable]")
    assert rows.count() == 2
    for name, values in STAFF_ROWS.items():
        row = page.locator("tr[data-editable]", has_text=name)
        for code, value in zip(("de", "neng", "qin", "ji", "lian"), values, strict=True):
            row.locator(f'input[data-col="{code}"]').fill(value)
    page.get_by_test_id("save-grid").click()
    expect(page.get_by_test_id("progress")).to_have_text("已考评 2 / 2 人")  # after the POST/redirect
    assert page.locator('td[data-testid="score"]', has_text="89.50").count() == 1
    assert page.locator('td[data-testid="score"]', has_text="94.50").count() == 1
    shot(page, "month-a-evaluations")
    _back_to_the_month(page)
    _workspace(page, base, report_id)

    # a hazard: logged, rectification started
    _line(page, "hazards").get_by_role("link", name="登记隐患").click()
    page.wait_for_url("**/hazards/new")
    page.fill("#f-title", "食堂后门消防通道堆放杂物")
    page.fill("#f-location", "食堂后门")
    page.select_option("#f-severity", "high")
    page.fill("#f-responsible_person", "王师傅")
    page.fill("#f-found_on", "2026-11-18")
    page.fill("#f-deadline", "2026-11-30")  # due on the month's last day: not yet overdue at its end
    page.fill("#f-description", "清理杂物，保持消防通道畅通")
    shot(page, "month-a-hazard-form")
    page.locator("form[data-testid=hazard-form] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/hazards/\d+$"))
    assert page.get_by_test_id("hazard-state").inner_text() == "待整改"
    page.locator('button[data-action="start"]').click()
    expect(page.get_by_test_id("hazard-state")).to_have_text("整改中")
    shot(page, "month-a-hazard")

    # an incident, reported within 2 hours (30 minutes before the app's clock says now)
    _to_the_month(page, base, report_id)
    _line(page, "incidents").get_by_role("link", name="报告事故").click()
    page.wait_for_url("**/incidents/new")
    shown = page.get_by_test_id("reported-at").inner_text()  # 保存时即为报告时间（现在 2026-11-21 10:00）
    now = datetime.strptime(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown).group(), "%Y-%m-%d %H:%M")
    page.select_option("#f-type", "injury")
    page.select_option("#f-severity", "minor")
    page.fill("#f-occurred_at", (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-description", "课间一名学生在操场摔倒擦伤膝盖，校医已处理并通知家长")
    assert not page.get_by_test_id("late-warning").is_visible()
    shot(page, "month-a-incident-form")
    page.locator("form[data-testid=incident-form] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/incidents/\d+$"))
    assert page.get_by_test_id("reported-late").count() == 0
    _to_the_month(page, base, report_id)
    return report_id


def test_a_school_admin_fills_the_whole_month_and_submits_it(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    page = login(browser, live_server, "admin_a")
    report_id = fill_month_in_the_browser(page, live_server, month)

    # every line of the checklist is done (hazards and incidents are counts, not to-dos)
    for key in ("canteen_self", "safety_self", "canteen_facts", "evaluations"):
        assert _line(page, key).get_attribute("data-state") == "done", key
    assert "1" in page.inner_text("[data-testid=summary-hazards]")
    assert "1" in page.inner_text("[data-testid=summary-incidents]")
    assert page.inner_text("[data-testid=progress]").startswith("已完成4")
    assert page.locator("[data-testid=inspections] tbody tr").count() == 3
    shot(page, "month-a-workspace-after")

    page.click("[data-action=submit]")
    _workspace(page, live_server, report_id)
    assert page.inner_text(".alert-success") == "月报已提交审核。"
    assert "已提交" in page.inner_text("[data-testid=report-state]")
    assert page.locator("[data-action=submit]").count() == 0
    assert page.locator("[data-testid=checklist] >> text=提交前必须完成").count() == 0  # nothing left to do
    shot(page, "month-a-submitted")
    page.context.close()

    phone = login(browser, live_server, "admin_a", viewport=PHONE)
    phone.goto(f"{live_server}/reports/{report_id}")
    phone.wait_for_selector("[data-testid=checklist]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "month-a-phone")
    phone.context.close()


# --- (c) review loop with a spot inspection, and the ranking ---------------------------------------------

API = "/api/v1"


@dataclass
class _Api:
    """The REST API as one user, answering the JSON of the expected status."""

    client: Any
    headers: dict[str, str]

    def __call__(self, method: str, url: str, body: Any = None, status: int = 200) -> Any:
        resp = getattr(self.client, method)(API + url, json=body, headers=self.headers)
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()


def _inspection(app: Any, kind: str, day: str, failed: dict[str, int], na: tuple[str, ...] = ()) -> dict:
    """A self-inspection's body: ``failed`` failed, ``na`` not applicable, every other item passed."""
    from service.rubrics.models import RubricKind

    rows = items(app, RubricKind(kind), **failed)
    codes = _codes(app, [row["item_id"] for row in rows])
    for row in rows:
        if codes[row["item_id"]] in na:
            row.update(result="na", occurrences=0)
    return {"kind": kind, "mode": "self", "inspected_on": day, "inspector_name": "ADMIN_A", "items": rows}


def _codes(app: Any, item_ids: list[int]) -> dict[int, str]:
    from service.rubrics.models import RubricItem

    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = db.session.execute(select(RubricItem.id, RubricItem.code).where(RubricItem.id.in_(item_ids)))
        codes = {item_id: code for item_id, code in rows}
        db.session.remove()
    return codes


@dataclass
class Submitted:
    report_id: int
    canteen_2: int  # the self-inspection the school corrects after the return


def submitted_month(app: Any, district: District, month: Month) -> Submitted:
    """School A's month as journey (a) leaves it - the same records and numbers - entered through the
    REST API (the browser part of it is journey (a)) and submitted."""
    api = _Api(app.test_client(), district.headers("admin_a"))
    report = api("post", "/reports", {"period_id": month.period_id}, 201)
    period = {"period_id": month.period_id}
    api("post", "/inspections", {**_inspection(app, "canteen", "2026-11-06", CANTEEN_1), **period}, 201)
    canteen_2 = api(
        "post", "/inspections", {**_inspection(app, "canteen", "2026-11-20", CANTEEN_2), **period}, 201
    )
    assert canteen_2["score"] == str(CANTEEN_2_SCORE)
    safety = api(
        "post", "/inspections", {**_inspection(app, "safety", "2026-11-13", SAFETY, SAFETY_NA), **period}, 201
    )
    assert safety["score"] == str(SAFETY_SCORE)
    facts = {"menu_compliant_days": 20, "serving_days": 21, "meals_served": 63}
    facts |= {"leader_accompanied_meals": 60, "sampled_meals": 63, "food_waste_kg": "85.5"}
    api("put", f"/reports/{report['id']}/canteen-facts", facts)
    member = {"name": "赵新厨", "role": "cook", "contract_type": "contract", "hire_date": "2026-09-01"}
    staff = api("post", "/staff", member, 201)
    for staff_id, name in ((district.staff_a.id, "张甲厨"), (staff["id"], "赵新厨")):
        scores = dict(zip(("de", "neng", "qin", "ji", "lian"), STAFF_ROWS[name], strict=True))
        rating = {"rater_group": "assessment", "rater_name": "考核小组", "scores": scores}
        api("post", "/evaluations", {"staff_id": staff_id, **period, "ratings": [rating]}, 201)
    hazard = {"title": "食堂后门消防通道堆放杂物", "location": "食堂后门", "severity": "high"}
    hazard |= {"responsible_person": "王师傅", "found_on": "2026-11-18", "deadline": "2026-11-30"}
    api("post", "/hazards", hazard, 201)
    occurred = (now_shanghai() - timedelta(minutes=30)).replace(tzinfo=None).isoformat(timespec="minutes")
    incident = {"type": "injury", "severity": "minor", "occurred_at": occurred, "description": "学生摔倒擦伤"}
    assert not api("post", "/incidents", incident, 201)["reported_late"]
    api("post", f"/reports/{report['id']}/submit")
    return Submitted(report["id"], canteen_2["id"])


def _stored_composite(app: Any, school_id: int, period_id: int) -> Decimal:
    from service.scoring.models import SchoolMonthScore

    with app.app_context(), use_scope(TenantScope.bureau()):
        value = db.session.scalars(
            select(SchoolMonthScore.composite).where(
                SchoolMonthScore.school_id == school_id, SchoolMonthScore.period_id == period_id
            )
        ).one()
        db.session.remove()
    return Decimal(value)


def _review_card(page: Any, report_id: int) -> Any:
    return page.locator(f"[data-testid=review-row][data-report-id='{report_id}']")


def test_c_spot_inspection_return_fix_resubmit_accept_and_the_ranking(
    app: Any, browser: Any, live_server: str, district: District, month: Month
) -> None:
    base, a = live_server, district.school_a.id
    m = submitted_month(app, district, month)

    # the cluster's inspector: 学校 → 甲小学 → 督查 → a canteen spot inspection of A this month
    inspector = login(browser, base, "inspector")
    inspector.click("#main-menu >> text=学校")
    inspector.wait_for_url(base + "/schools")
    inspector.get_by_role("link", name="甲小学").click()
    inspector.wait_for_url(f"{base}/schools/{a}")
    inspector.click("[data-testid=school-spot]")
    inspector.wait_for_url("**/spot-inspections?*")
    inspector.locator("[data-school=SA] [data-testid=new-spot-canteen]").click()
    inspector.wait_for_url("**/spot-inspections/new?kind=canteen")
    assert inspector.locator("h1").inner_text() == "食堂检查 · 督查"
    inspector.fill("#f-inspected_on", "2026-11-21")
    _judge(inspector, SPOT, one_by_one=False)
    _wait_score(inspector, SPOT_SCORE)
    shot(inspector, "month-c-spot-form")
    inspector.click("[data-testid=save]")
    inspector.wait_for_url(re.compile(r".*/inspections/\d+$"))
    panel = inspector.locator("[data-testid=discrepancy]")
    self_mean = (CANTEEN_1_SCORE + CANTEEN_2_SCORE) / 2
    assert panel.locator("[data-testid=self-mean]").inner_text().startswith(str(self_mean))  # 94.0
    assert panel.locator("[data-testid=gap]").inner_text() == str(self_mean - SPOT_SCORE)  # 9.0
    assert panel.locator("[data-testid=credibility-flag]").count() == 0  # not more than 15 apart
    assert "C4" in panel.locator("[data-testid=missed-items]").inner_text()  # both self-inspections passed it
    panel.scroll_into_view_if_needed()
    shot(inspector, "month-c-discrepancy")

    # ... and returns A's report from the review queue with a reason
    inspector.click("#main-menu >> text=审核")
    inspector.wait_for_url(base + "/review")
    card = _review_card(inspector, m.report_id)
    card.locator("textarea[name=reason]").fill(RETURN_REASON)
    shot(inspector, "month-c-review-queue")
    card.locator("[data-action=return]").click()
    inspector.wait_for_selector("[data-testid=queue-empty]")
    assert "已退回" in inspector.inner_text(".alert-success")

    # the school sees the reason on its dashboard and in the workspace, corrects and resubmits
    school = login(browser, base, "admin_a")
    assert RETURN_REASON in school.inner_text("[data-testid=dashboard-return-reason]")
    shot(school, "month-c-dashboard-returned")
    school.click("[data-testid=open-workspace]")
    _workspace(school, base, m.report_id)
    assert RETURN_REASON in school.inner_text("[data-testid=return-reason]")
    assert "inspector · " in school.inner_text("[data-testid=return-reason]")  # who returned it (audit trail)
    shot(school, "month-c-workspace-returned")
    row = school.locator("[data-testid=inspections] tbody tr", has_text="2026-11-20")
    row.get_by_role("link", name="修改").click()
    school.wait_for_url(f"{base}/inspections/{m.canteen_2}/edit")
    _wait_score(school, CANTEEN_2_SCORE)
    _item(school, "C4").locator("label[for$='-fail']").click()
    _item(school, "C4").locator("input[name$='-note']").fill("复查冷库发现过期牛奶两箱，已下架销毁")
    _wait_score(school, CANTEEN_2_FIXED_SCORE)
    school.click("[data-testid=save]")
    _workspace(school, base, m.report_id)
    assert f"得分{CANTEEN_2_FIXED_SCORE}" in school.inner_text(".alert-success")
    school.click("[data-action=submit]")
    _workspace(school, base, m.report_id)
    assert school.inner_text(".alert-success") == "月报已提交审核。"
    assert "已提交" in school.inner_text("[data-testid=report-state]")
    school.context.close()

    # the inspector sees what changed since the return, and accepts
    inspector.click("#main-menu >> text=审核")
    inspector.wait_for_url(base + "/review")
    card = _review_card(inspector, m.report_id)
    assert card.locator("[data-testid=resubmitted]").is_visible()
    assert RETURN_REASON in card.locator("[data-testid=return-reason]").inner_text()
    changes = card.locator("[data-testid=changes]").inner_text()
    assert f"得分 {CANTEEN_2_SCORE} → {CANTEEN_2_FIXED_SCORE}" in changes, changes
    shot(inspector, "month-c-review-changes")
    card.locator("[data-action=accept]").click()
    inspector.wait_for_selector("[data-testid=queue-empty]")
    assert "审核通过" in inspector.inner_text(".alert-success")

    # the month's ranking: A with the composite counted by hand from what was entered
    expected = expected_composite([CANTEEN_1_SCORE, CANTEEN_2_FIXED_SCORE], SPOT_SCORE)
    assert expected == Decimal("90.8")  # 0.7×85 + 0.3×89 = 86.2; (40×86.2 + 40×94.7 + 20×92) ÷ 100
    # the spot inspection lowered the month (self-inspections alone: 93.9), the correction lowered it again
    assert (
        expected
        < expected_composite([CANTEEN_1_SCORE, CANTEEN_2_SCORE], SPOT_SCORE)
        < expected_composite([CANTEEN_1_SCORE, CANTEEN_2_SCORE], None)
    )
    assert _stored_composite(app, a, month.period_id) == expected
    inspector.click("#main-menu >> text=排名")  # opens on the newest month that ranks somebody
    inspector.wait_for_selector("[data-testid=ranking]")
    assert inspector.input_value("#key") == month.code
    inspector.goto(f"{base}/rankings?kind=month&key={month.code}")  # the month's own address, the same table
    inspector.wait_for_selector("[data-testid=ranking]")
    sa = inspector.locator("[data-testid=ranking] tbody tr", has_text="甲小学")
    assert sa.locator("td[data-col=rank]").inner_text() == "1"  # the only school with an accepted month
    assert sa.locator("td[data-col=score]").inner_text() == str(expected)
    assert sa.locator("td[data-col=band]").inner_text() == "A"
    shot(inspector, "month-c-ranking")
    inspector.context.close()

    # the school's own month shows the same score, current (no "awaiting acceptance" note)
    school = login(browser, base, "admin_a")
    school.goto(f"{base}/reports/{m.report_id}")
    card = school.locator("[data-testid=score-card]")
    assert card.get_attribute("data-freshness") == "current"
    assert card.locator("[data-testid=score-value]").inner_text() == str(expected)
    assert "审核通过" in school.inner_text("[data-testid=report-state]")
    card.scroll_into_view_if_needed()
    shot(school, "month-c-workspace-accepted", full_page=False)
    school.context.close()


# --- the navbar after every page was merged -------------------------------------------------------------

# What each role finds on the bar itself (a school admin's own work; the district's boards - hazards,
# incidents, appeals, unlock requests - sit in the 看板 dropdown for the bureau and inspectors).
NAV_ROLES = {
    "admin_a": ("隐患整改", "事故事件", "月报", "申诉"),
    "inspector": ("审核", "看板", "对比"),
    "admin": ("审核", "看板", "对比"),
    "official": ("看板", "对比"),
}
NAV_ROLES_EN = {"admin_a": "Hazards", "inspector": "Boards", "admin": "Boards", "official": "Boards"}


def _one_row(page: Any) -> list[str]:
    """The menu's labels, asserting they sit on one row with no label wrapped and the bar one line high."""
    links = page.locator("#main-menu .navbar-nav .nav-link:visible")
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    assert len({round(b["y"]) for b in boxes}) == 1, boxes  # one row
    assert len({round(b["height"]) for b in boxes}) == 1, boxes  # no label on two lines
    assert page.locator("nav.navbar").bounding_box()["height"] <= 64
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    return [links.nth(i).inner_text().strip() for i in range(links.count())]


def test_the_navbar_fits_a_laptop_for_every_role(browser: Any, live_server: str, district: District) -> None:
    """At 1366×768 every role's menu is one row (no label wraps, nothing pushed onto a second line), in
    Chinese and in English, and each role finds its own entry points there: hazards and incidents for a
    school admin, the review and appeal queues for reviewers; the API pages under the user's name."""
    for username, wanted in NAV_ROLES.items():
        page = login(browser, live_server, username)
        texts = _one_row(page)
        for label in wanted:
            assert label in texts, (username, label, texts)
        shot(page, f"navbar-{username}", full_page=False)
        page.click("nav.navbar >> text=English")
        page.wait_for_selector("nav.navbar >> text=中文")
        shot(page, f"navbar-{username}-en", full_page=False)
        assert NAV_ROLES_EN[username] in _one_row(page)
        page.click("[data-testid=user-menu]")
        page.wait_for_selector(".dropdown-menu.show")
        assert page.locator(".dropdown-menu.show .dropdown-item", has_text="API tokens").is_visible()
        shot(page, f"navbar-{username}-en", full_page=False)
        page.context.close()
