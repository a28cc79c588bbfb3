"""The compare page and the school page through the test client: who may compare which schools, the
shareable URL, the picker, the refusals; the school page's blocks with the hand-counted figures of
tests/compare_data.py, and who reads the audit trail."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from service.db import db
from tenants import TenantScope, use_scope
from tests import compare_data
from tests import ranking_data as data
from tests.conftest import District, login

pytestmark = pytest.mark.usefixtures("pg")


@pytest.fixture
def scored(app: Any, district: District) -> compare_data.Scored:
    return compare_data.build(app, district)


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def _url(*ids: int, **extra: str) -> str:
    query = "&".join([f"school={i}" for i in ids] + [f"{k}={v}" for k, v in extra.items()])
    return f"/compare?{query}"


def _block(html: str, testid: str) -> str:
    """The element with ``data-testid=testid`` (up to its table's or section's end)."""
    start = html.index(f'data-testid="{testid}"')
    end = html.index("</table>", start)
    return html[start:end]


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


# --- compare --------------------------------------------------------------------------------------------


def test_an_official_compares_three_schools(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    official = _client(app, "official")
    resp = official.get(_url(ids["SA"], ids["SC"], ids["SD"]))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    side = _block(html, "compare-table")
    assert [n in side for n in ("甲小学", "丙小学", "测试学校SD")] == [True, True, True]
    composite = side.split('data-testid="row-composite"')[1].split("</tr>")[0]
    assert re.findall(r"<strong[^>]*>([\d.]+)</strong>", composite) == ["95.5", "100.0", "93.2"]
    canteen = _cells(side.split('data-testid="row-canteen"')[1].split("</tr>")[0])
    assert canteen == ["93.8", "不适用", "100.0"]
    assert "↓1" in side and "↑3" in side  # SA down one place, SC up three
    # the trend and rank tables hold the chart's numbers
    trend = _block(html, "trend-table")
    assert _cells(trend.split('data-period="2026-09"')[1].split("</tr>")[0]) == ["95.6", "90.0", "92.0"]
    assert _cells(trend.split('data-period="2026-10"')[1].split("</tr>")[0]) == ["95.5", "100.0", "93.2"]
    ranks = _block(html, "rank-table")
    assert _cells(ranks.split('data-period="2026-10"')[1].split("</tr>")[0]) == ["2 / 1", "1 / 1", "3 / 2"]
    # where each lost the most points, with the item's text
    lost_a = html.split(f'data-testid="lost-{ids["SA"]}"')[1].split("</table>")[0]
    assert "每日晨检并记录" in lost_a and _cells(lost_a)[1:3] == ["14.0", "3"]
    assert "echarts.min.js" in html and 'data-testid="chart-trend"' in html


def test_the_shareable_url_reproduces_the_page(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    official = _client(app, "official")
    html = official.get(_url(ids["SA"], ids["SB"], q="甲")).get_data(as_text=True)
    share = unescape(re.search(r'data-testid="share-url">([^<]+)</a>', html).group(1))
    assert share.endswith(f"/compare?school={ids['SA']}&school={ids['SB']}&period=2026-10")
    again = _client(app, "admin").get(share.replace("http://localhost", "")).get_data(as_text=True)
    for testid in ("compare-table", "trend-table", "rank-table"):
        assert _block(again, testid) == _block(html, testid)
    # SB's October is not accepted: its report state is shown, never a score
    assert "已提交" in _block(html, "compare-table")


def test_a_period_can_be_chosen(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    html = _client(app, "official").get(_url(ids["SA"], ids["SB"], period="2026-09")).get_data(as_text=True)
    composite = _block(html, "compare-table").split('data-testid="row-composite"')[1].split("</tr>")[0]
    assert re.findall(r"<strong[^>]*>([\d.]+)</strong>", composite) == ["95.6", "92.8"]
    assert '<option value="2026-09" selected' in html
    assert _client(app, "official").get(_url(ids["SA"], ids["SB"], period="2024-01")).status_code == 404


def test_inspector_compares_their_clusters_only(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    inspector = _client(app, "inspector")
    assert inspector.get(_url(ids["SA"], ids["SB"])).status_code == 404  # SB is in cluster 2
    assert inspector.get(_url(ids["SB"], ids["SC"], ids["SD"])).status_code == 404
    ok = inspector.get(_url(ids["SA"], ids["SC"], ids["SD"]))
    assert ok.status_code == 200
    picker = inspector.get("/compare").get_data(as_text=True)
    assert "甲小学" in picker and "测试学校SD" in picker and "乙小学" not in picker
    # the official sees every school
    official = _client(app, "official")
    assert official.get(_url(ids["SA"], ids["SB"])).status_code == 200
    assert "乙小学" in official.get("/compare").get_data(as_text=True)


def test_school_admins_are_refused(app: Any, scored: compare_data.Scored) -> None:
    """A school admin sees only their own school: a comparison needs two, so the page is not theirs."""
    ids = scored.ids
    school = _client(app, "admin_a")
    assert school.get("/compare").status_code == 403
    assert school.get(_url(ids["SA"], ids["SC"])).status_code == 403
    home = school.get(f"/schools/{ids['SA']}").get_data(as_text=True)
    assert 'href="/compare' not in home


def test_two_to_five_schools_and_the_picker(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    with app.app_context(), use_scope(TenantScope.bureau()):
        extra = [data.school(code, scored.d.cluster_2.id).id for code in ("SE", "SF")]
        db.session.commit()
        db.session.remove()
    official = _client(app, "official")
    one = official.get(_url(ids["SA"]))
    assert one.status_code == 422
    assert "请选择2至5所学校进行对比" in one.get_data(as_text=True)
    assert f'id="school-{ids["SA"]}" checked' in one.get_data(as_text=True)  # the choice is kept
    six = official.get(_url(*ids.values(), *extra))
    assert six.status_code == 422
    assert official.get(_url(*ids.values(), extra[0])).status_code == 200  # five
    assert official.get(_url(ids["SA"], ids["SA"], ids["SB"])).status_code == 200  # a repeat counts once
    assert official.get("/compare?school=x&school=1").status_code == 404
    assert official.get(_url(ids["SA"], 999999)).status_code == 404
    # filtering keeps the choice and does not compare yet
    filtered = official.get(_url(ids["SA"], q="丙", filter="1"))
    page = filtered.get_data(as_text=True)
    assert filtered.status_code == 200 and 'data-testid="compare-table"' not in page
    picker = page.split('data-testid="compare-picker"')[1].split("</fieldset>")[0]
    assert "丙小学" in picker and "甲小学" in picker and "乙小学" not in picker


# --- the school page --------------------------------------------------------------------------------------


def test_school_page_blocks(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    html = _client(app, "official").get(f"/schools/{ids['SA']}").get_data(as_text=True)
    # score and rank history: the chart and its table
    assert 'data-testid="chart-history"' in html
    history = _block(html, "history-table")
    assert _cells(history.split('data-period="2026-10"')[1].split("</tr>")[0])[:8] == [
        "95.5", "A", "93.8", "100.0", "90.0", "2", "1", "↓1 下降",
    ]  # fmt: skip
    assert _cells(history.split('data-period="2026-09"')[1].split("</tr>")[0])[:7] == [
        "95.6", "A", "94.0", "100.0", "90.0", "1", "1",
    ]  # fmt: skip
    latest = html.split('data-testid="latest-score"')[1].split("</div></div>")[0]
    assert "2026-10" in latest and "95.5" in latest and f"/schools/{ids['SA']}/scores/2026-10" in latest
    # inspections link to their records; hazards with their state, the overdue one marked
    inspections = _block(html, "school-inspections")
    assert inspections.count("/inspections/") == 5 and "督查" in inspections
    hazards = _block(html, "school-hazards")
    overdue_row = hazards.split(f'data-hazard="{scored.overdue_hazard}"')[1].split("</tr>")[0]
    assert "table-danger" in overdue_row[:40]
    assert "整改中" in overdue_row and "逾期 12 天" in overdue_row
    closed_row = hazards.split(f'data-hazard="{scored.closed_hazard}"')[1].split("</tr>")[0]
    assert "已销号" in closed_row and "逾期" not in closed_row
    # an incident reported late, and the veto it triggered
    assert "甲校学生课间摔伤" in _block(html, "school-incidents")
    assert "先进单位" in _block(html, "school-vetoes")
    # canteen facts: rates by hand (tests/compare_data.py)
    facts = _block(html, "school-facts")
    assert _cells(facts.split('data-period="2026-09"')[1].split("</tr>")[0]) == [
        "90.9%", "90.9%", "100.0%", "10.0 克", "22",
    ]  # fmt: skip
    assert _cells(facts.split('data-period="2026-10"')[1].split("</tr>")[0]) == [
        "100.0%", "100.0%", "98.4%", "7.5 克", "21",
    ]  # fmt: skip
    # staff summary: the fixture's cook and two evaluated cleaners; the cook's certificate expires soon
    summary = html.split('data-testid="staff-summary"')[1].split("</section>")[0]
    assert 'data-role="cook">1<' in summary and 'data-role="cleaner">2<' in summary
    assert "90.00" in summary and "2026-10" in summary
    # the roster and the personal vetoes are still there
    assert 'data-testid="roster"' in html and "张甲厨" in html
    # the audit trail: newest first
    audit = _block(html, "school-audit")
    stamps = re.findall(r'<td class="text-nowrap">([\d\- :]+)</td>', audit)
    assert stamps and stamps == sorted(stamps, reverse=True)
    assert "检查项结果" not in audit and "inspection_item_results" not in audit


def test_the_audit_trail_is_for_the_bureau_and_the_school(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    for username in ("admin", "official", "admin_a"):
        page = _client(app, username).get(f"/schools/{ids['SA']}").get_data(as_text=True)
        assert 'data-testid="school-audit"' in page, username
    inspector = _client(app, "inspector").get(f"/schools/{ids['SA']}")
    assert inspector.status_code == 200
    page = inspector.get_data(as_text=True)
    assert 'id="audit"' not in page and 'href="#audit"' not in page
    assert f'href="/compare?school={ids["SA"]}"' in page  # an inspector may compare from here
    assert _client(app, "admin_a").get(f"/schools/{ids['SB']}").status_code == 404


def test_a_school_without_scores_or_canteen(app: Any, district: District) -> None:
    """Nothing scored yet: no chart is drawn, the (empty) table is open, every block says so."""
    html = _client(app, "official").get(f"/schools/{district.school_c.id}").get_data(as_text=True)
    assert 'data-testid="chart-history"' not in html and "echarts.min.js" not in html
    assert "尚无已计分的审核通过月份" in html
    assert "该校没有食堂" in html
