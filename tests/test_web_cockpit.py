"""The bureau's cockpit (issue 11, items 1, 4, 5): the status labels of a school-month, the first screen's
figures, the ranking page (status labels, sorting, xlsx export, print layout, compare checkboxes) and the
boards (hazards, vetoes, awaiting review, unlock requests) - officials read-only, inspectors scoped.

The district's autumn is built by tests/cockpit_data.py (hand counts in its docstring); the clock is the
suite's (2026-11-21).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from service.db import db
from service.periods.models import Period, UnlockRequest, UnlockState
from service.reports.models import ReportState
from service.reports.status import SchoolMonthStatus as S
from service.reports.status import month_status, period_statuses
from tenants import TenantScope, use_scope
from tests.cockpit_data import Autumn, build_autumn
from tests.conftest import TODAY, District, login

pytestmark = pytest.mark.usefixtures("pg")

DEADLINE = date(2026, 12, 5)
LOCKS_ON = date(2026, 12, 16)


@pytest.fixture
def autumn(app: Any, district: District) -> Autumn:
    return build_autumn(app, district)


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the status labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "today", "unlocked", "expected", "label"),
    [
        (ReportState.DRAFT, date(2026, 11, 21), False, S.NOT_DUE, "未到截止"),  # draft before the deadline
        (None, date(2026, 12, 5), False, S.NOT_DUE, "未到截止"),  # the deadline day itself is not late
        (ReportState.DRAFT, date(2026, 12, 6), False, S.OVERDUE, "逾期未报"),  # after the deadline
        (None, date(2026, 12, 15), False, S.OVERDUE, "逾期未报"),  # nothing at all, the day before the lock
        (None, date(2026, 12, 16), False, S.MISSING, "缺报"),  # nothing after the lock
        (ReportState.DRAFT, date(2027, 1, 10), False, S.MISSING, "缺报"),
        (ReportState.DRAFT, date(2027, 1, 10), True, S.OVERDUE, "逾期未报"),  # a granted unlock in force
        (ReportState.SUBMITTED, date(2027, 1, 10), False, S.SUBMITTED, "待审核"),
        (ReportState.RETURNED, date(2026, 11, 21), False, S.RETURNED, "已退回"),
        (ReportState.RETURNED, date(2027, 1, 10), False, S.RETURNED, "已退回"),  # after the lock too
        (ReportState.ACCEPTED, date(2027, 1, 10), False, S.ACCEPTED, "已审核"),
    ],
)
def test_month_status_hand_table(
    app: Any, state: ReportState | None, today: date, unlocked: bool, expected: S, label: str
) -> None:
    from service.reports.status import SCHOOL_MONTH_STATUS_LABELS

    got = month_status(state, deadline=DEADLINE, locks_on=LOCKS_ON, today=today, unlocked=unlocked)
    assert got is expected
    assert SCHOOL_MONTH_STATUS_LABELS[got][0] == label


def test_period_statuses_one_query_for_every_school(app: Any, district: District) -> None:
    """July (locked): A returned, B nothing (缺报), C nothing but unlocked today (逾期未报)."""
    d = district
    with app.app_context(), use_scope(TenantScope.bureau()):
        july = Period(year=2026, month=7, deadline=date(2026, 8, 5), lock_days=10)
        db.session.add(july)
        db.session.flush()
        from service.reports import operations as reports

        reports.open_report(july, school_id=d.school_a.id).state = ReportState.RETURNED
        db.session.add(
            UnlockRequest(
                school_id=d.school_c.id,
                period_id=july.id,
                reason="补报七月",
                state=UnlockState.GRANTED,
                unlocked_until=TODAY + timedelta(days=3),
            )
        )
        db.session.flush()
        statements: list[str] = []
        engine = db.session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            rows = period_statuses(july, today=TODAY)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
        assert {r.code: r.status for r in rows} == {"SA": S.RETURNED, "SB": S.MISSING, "SC": S.OVERDUE}
        # an inspector's scope: the cluster's schools only
        with use_scope(TenantScope.schools([d.school_a.id, d.school_c.id])):
            assert [r.code for r in period_statuses(july, today=TODAY)] == ["SA", "SC"]
        db.session.rollback()
        db.session.remove()


def test_completeness_api_and_export_carry_the_status(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    client = app.test_client()
    rows = client.get(
        "/api/v1/completeness", query_string={"period_id": autumn.oct}, headers=d.headers("official")
    ).get_json()
    assert {r["code"]: (r["month_status"], r["month_status_label"]) for r in rows} == {
        "SA": ("accepted", "已审核"),
        "SB": ("accepted", "已审核"),
        "SC": ("overdue", "逾期未报"),
    }
    resp = client.get(f"/api/v1/periods/{autumn.nov}/completeness.xlsx", headers=d.headers("official"))
    sheet = list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert sheet[0][-1] == "月度状况"
    assert {r[0]: r[-1] for r in sheet[1:]} == {"SA": "待审核", "SB": "未到截止", "SC": "未到截止"}
    page = (
        _client(app, "official")
        .get("/reports", query_string={"period_id": autumn.nov})
        .get_data(as_text=True)
    )
    assert "待审核" in page and "未到截止" in page and "缺报" not in page


# --- the first screen -------------------------------------------------------------------------------------


def _first_screen(app: Any, scope: TenantScope, month: str | None = None) -> Any:
    from service.cockpit.operations import first_screen

    with app.test_request_context(), use_scope(scope):
        screen = first_screen(TODAY, month=month)
        db.session.remove()
    return screen


def test_first_screen_figures(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    s = _first_screen(app, TenantScope.bureau())
    assert (
        s.ranking is not None and s.ranking.header["key"] == "2026-10"
    )  # the newest month with accepted reports
    assert s.reporting is not None and s.reporting.code == "2026-10"  # the oldest month still open
    assert [m.code for m in s.months] == ["2026-11", "2026-10"]
    p = s.progress
    assert p is not None and p.period.code == "2026-10"
    assert {k.value: v for k, v in p.totals.items() if v} == {"accepted": 2, "overdue": 1}
    by_cluster = {
        c.name: {k.value: [r.code for r in v] for k, v in c.by_status.items() if v} for c in p.clusters
    }
    assert by_cluster == {
        "城东片区": {"accepted": ["SA"], "overdue": ["SC"]},
        "城西片区": {"accepted": ["SB"]},
    }
    r = s.ranking
    assert [(e["school_code"], e["rank_overall"], e["score"]) for e in r.top] == [
        ("SB", 1, "96"),
        ("SA", 2, "91"),
    ]
    assert r.bottom == []  # two ranked: both are in the top
    assert [(e["school_code"], e["movement"]) for e in r.up] == [("SB", 1)]
    assert [(e["school_code"], e["movement"]) for e in r.down] == [("SA", -1)]
    assert r.counts == {"ranked": 2, "insufficient": 0, "missing": 1} and r.bands == {"A": 2}
    assert s.hazards_overdue == 2
    assert [(h.school.code, h.hazard.title, h.days) for h in s.hazards] == [
        ("SA", "配电房堆放杂物", 42),
        ("SC", "围墙开裂", 11),
    ]
    assert s.vetoes_count == 2 and s.vetoed_schools == 1 and {v.school.code for v in s.vetoes} == {"SB"}
    assert [(f.school.code, f.area, f.self_score, f.spot_score, f.gap) for f in s.credibility] == [
        ("SA", "canteen", Decimal(100), Decimal(78), Decimal(22))
    ]
    assert (s.waiting.unlock_requests, s.waiting.appeals, s.waiting.awaiting_review) == (1, 0, 1)
    assert s.waiting.oldest_days == 3
    november = _first_screen(app, TenantScope.bureau(), month="2026-11").progress
    assert {k.value: v for k, v in november.totals.items() if v} == {"submitted": 1, "not_due": 2}
    assert d.school_a.id in [r.school_id for c in november.clusters for r in c.by_status[S.SUBMITTED]]


def test_first_screen_keeps_the_due_month_while_a_new_one_starts(app: Any, autumn: Autumn) -> None:
    """November's first acceptance ranks one school before November's deadline: the first screen keeps
    October (every school was due) and points to November's early ranking."""
    from service.rankings.jobs import recompute_period
    from service.reports.models import MonthlyReport

    assert _first_screen(app, TenantScope.bureau()).early is None
    with app.app_context(), use_scope(TenantScope.bureau()):
        report = db.session.scalars(
            select(MonthlyReport).where(
                MonthlyReport.period_id == autumn.nov, MonthlyReport.state == ReportState.SUBMITTED
            )
        ).one()
        report.state = ReportState.ACCEPTED
        db.session.commit()
        recompute_period(autumn.nov, today=TODAY)
        db.session.commit()
        db.session.remove()
    s = _first_screen(app, TenantScope.bureau())
    assert s.ranking.header["key"] == "2026-10"
    assert s.early is not None and (s.early["key"], s.early["ranked"]) == ("2026-11", 1)
    page = _client(app, "official").get("/").get_data(as_text=True)
    early = page[page.index('data-testid="early-ranking"') :]
    assert "2026年11月" in early[:300] and "key=2026-11" in early[:600]


def test_first_screen_of_an_inspector_holds_their_clusters(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    s = _first_screen(app, TenantScope.schools([d.school_a.id, d.school_c.id]))
    assert [c.name for c in s.progress.clusters] == ["城东片区"]
    assert [e["school_code"] for e in s.ranking.top] == ["SA"]  # B is not theirs; ranks stay the district's
    assert s.ranking.top[0]["rank_overall"] == 2
    assert s.vetoes_count == 0 and s.waiting.unlock_requests == 0
    assert s.hazards_overdue == 2


def test_first_screen_queries_do_not_grow_with_the_district(app: Any, autumn: Autumn) -> None:
    from service.cockpit.operations import first_screen
    from tests import ranking_data as rd

    def count() -> int:
        statements: list[str] = []
        with app.test_request_context(), use_scope(TenantScope.bureau()):
            engine = db.session.get_bind()
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(engine, "before_cursor_execute", listener)
            try:
                first_screen(TODAY)
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            db.session.remove()
        return len(statements)

    before = count()
    with app.app_context(), use_scope(TenantScope.bureau()):
        for i in range(12):
            rd.school(f"X{i:02d}", autumn.d.cluster_2.id)
        db.session.commit()
        from service.rankings.jobs import recompute_period

        recompute_period(autumn.oct, today=TODAY)
        db.session.commit()
        db.session.remove()
    assert count() == before


def test_the_first_screen_page(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    page = _client(app, "official").get("/").get_data(as_text=True)
    assert 'data-testid="cockpit"' in page and 'data-testid="ranking-box"' not in page
    text = _text(page)
    assert "最新已审核月份： 2026年10月" in text or "2026年10月" in text
    # the late school named under 逾期未报, linked to its page; the counts link to where they are handled
    cluster_1 = page[page.index(f'data-cluster="{d.cluster_1.id}"') :]
    overdue = cluster_1[cluster_1.index('data-status="overdue"') :]
    assert f'href="/schools/{d.school_c.id}"' in overdue[: overdue.index("</td>")]
    for href in (
        "/boards/awaiting",
        "/boards/unlock-requests",
        "/appeals",
        "/boards/hazards?overdue=1",
        "/boards/vetoes",
    ):
        assert f'href="{href}"' in page, href
    assert "key=2026-10" in page and "配电房堆放杂物" in page and "22.0" in page
    assert "<form" not in page[page.index('data-testid="cockpit"') : page.index('data-testid="school-count"')]
    assert "待审核" in _client(app, "official").get("/?month=2026-11").get_data(as_text=True)
    # an inspector: their clusters only
    inspector = _client(app, "inspector").get("/").get_data(as_text=True)
    assert 'data-testid="cockpit"' in inspector and "乙小学" not in inspector
    # a school admin keeps their own start page
    school = _client(app, "admin_a").get("/").get_data(as_text=True)
    assert 'data-testid="cockpit"' not in school and 'data-testid="nav-boards"' not in school


# --- the ranking page -------------------------------------------------------------------------------------


def _ranking_codes(page: str) -> list[str]:
    table = page[page.index('data-testid="ranking"') :]
    return re.findall(r'<td data-col="code">(S[ABC])</td>', table)


def test_ranking_labels_never_say_missing_for_a_report_in_review_or_not_due(app: Any, autumn: Autumn) -> None:
    official = _client(app, "official")
    nov = official.get("/rankings", query_string={"kind": "month", "key": "2026-11"}).get_data(as_text=True)
    assert 'data-status="submitted">待审核' in nov and 'data-status="not_due">未到截止' in nov
    assert "缺报" not in nov
    oct_ = official.get("/rankings", query_string={"kind": "month", "key": "2026-10"}).get_data(as_text=True)
    assert 'data-status="overdue">逾期未报' in oct_ and "缺报" not in oct_
    # the API is the engine's, unchanged
    api = (
        app.test_client()
        .get("/api/v1/rankings/month/2026-11", headers=autumn.d.headers("official"))
        .get_json()
    )
    assert {e["status_label"] for e in api["entries"]} == {"缺报"}


def test_ranking_sorts_with_the_api_sort_names(app: Any, autumn: Autumn) -> None:
    official = _client(app, "official")

    def codes(**query: str) -> list[str]:
        page = official.get("/rankings", query_string={"kind": "month", "key": "2026-09", **query})
        return _ranking_codes(page.get_data(as_text=True))

    assert codes() == ["SA", "SB", "SC"]
    assert codes(sort="score", order="asc") == ["SC", "SB", "SA"]
    assert codes(sort="school", order="desc") == ["SC", "SB", "SA"]
    assert codes(sort="nonsense") == ["SA", "SB", "SC"]  # a bad value falls back to the default
    page = official.get(
        "/rankings", query_string={"kind": "month", "key": "2026-09", "sort": "score"}
    ).get_data(as_text=True)
    assert 'aria-sort="descending"' in page and "sort=score&amp;order=asc" in page  # clicking again reverses


def _rules_version(app: Any, autumn: Autumn, key: str) -> int:
    """The rules version the month was ranked with (the snapshot's basis, as the API shows it)."""
    resp = app.test_client().get(f"/api/v1/rankings/month/{key}", headers=autumn.d.headers("official"))
    return resp.get_json()["snapshot"]["basis"]["rules_version"]


def test_ranking_export_has_the_page_rows(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    official = _client(app, "official")
    query = {"kind": "month", "key": "2026-09", "sort": "score", "order": "asc"}
    resp = official.get("/rankings/export.xlsx", query_string=query)
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''2026" in resp.headers["Content-Disposition"]
    rows = list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "2026年9月 学校后勤综合排名"
    version = _rules_version(app, autumn, "2026-09")
    assert rows[1][0] == f"导出日期 2026-11-21 · 评分规则第 {version} 版 · 计算月份 2026-09"
    assert rows[2][:8] == ("排名", "变化", "学校代码", "学校名称", "片区", "同类组", "综合得分", "等级")
    assert [(r[0], r[2], r[6], r[7]) for r in rows[3:]] == [
        (3, "SC", 90.0, "A"),
        (2, "SB", 94.0, "A"),
        (1, "SA", 98.0, "A"),
    ]
    by_code = {r[2]: r for r in rows[3:]}
    assert by_code["SB"][15] == 1  # late months
    # the page's filters: one cluster
    filtered = official.get("/rankings/export.xlsx", query_string={**query, "cluster_id": d.cluster_1.id})
    rows = list(load_workbook(BytesIO(filtered.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "2026年9月 学校后勤综合排名（城东片区）" and [r[2] for r in rows[3:]] == ["SC", "SA"]
    # the November month: the status labels, not the engine's 缺报
    nov = official.get("/rankings/export.xlsx", query_string={"kind": "month", "key": "2026-11"})
    labels = {
        r[2]: r[14] for r in list(load_workbook(BytesIO(nov.data)).active.iter_rows(values_only=True))[3:]
    }
    assert labels == {"SA": "待审核", "SB": "未到截止", "SC": "未到截止"}
    # a school admin exports their own line only
    own = _client(app, "admin_a").get("/rankings/export.xlsx", query_string=query)
    assert [r[2] for r in list(load_workbook(BytesIO(own.data)).active.iter_rows(values_only=True))[3:]] == [
        "SA"
    ]
    assert (
        official.get("/rankings/export.xlsx", query_string={"kind": "month", "key": "2024-01"}).status_code
        == 404
    )


def test_ranking_export_neutralises_formulas(app: Any, autumn: Autumn) -> None:
    from service.org.models import School

    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.scalars(select(School).where(School.code == "SA")).one().name = "=HYPERLINK(1)"
        db.session.commit()
        db.session.remove()
    resp = _client(app, "official").get(
        "/rankings/export.xlsx", query_string={"kind": "month", "key": "2026-09"}
    )
    cell = load_workbook(BytesIO(resp.data)).active["D4"]
    assert cell.value == "'=HYPERLINK(1)" and cell.data_type == "s"


def test_ranking_print_layout_and_compare_checkboxes(app: Any, database: Any, autumn: Autumn) -> None:
    page = _client(app, "official").get("/rankings", query_string={"kind": "month", "key": "2026-09"})
    text = page.get_data(as_text=True)
    title = text[text.index('data-testid="print-title"') :]
    version = _rules_version(app, autumn, "2026-09")
    assert "2026年9月 · 学校后勤综合排名" in title[:400]
    assert f"打印日期 2026-11-21 · 评分规则第 {version} 版" in title[:600]
    assert "rankings.css" in text
    # the compare page is registered: ticked schools go to /compare?school=..
    assert '<form id="compare-form" method="get" action="/compare"' in text
    assert text.count('form="compare-form" name="school"') == 3 and 'data-testid="compare-selected"' in text


# --- the boards -------------------------------------------------------------------------------------------


BOARDS = ("/boards/hazards", "/boards/vetoes", "/boards/awaiting", "/boards/unlock-requests")


def test_boards_are_for_the_bureau_and_inspectors(app: Any, autumn: Autumn) -> None:
    school = _client(app, "admin_a")
    for path in BOARDS:
        assert school.get(path).status_code == 403, path
    for user in ("admin", "official", "inspector"):
        client = _client(app, user)
        for path in BOARDS:
            assert client.get(path).status_code == 200, (user, path)
        assert 'data-testid="nav-boards"' in client.get("/").get_data(as_text=True)


def test_hazard_board_filters_and_order(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    official = _client(app, "official")

    def hazards(**query: Any) -> list[int]:
        page = official.get("/boards/hazards", query_string=query).get_data(as_text=True)
        return [int(x) for x in re.findall(r'data-hazard="(\d+)"', page)]

    assert hazards() == [autumn.hazard_a, autumn.hazard_c, autumn.hazard_b]  # the longest overdue first
    assert hazards(overdue="1") == [autumn.hazard_a, autumn.hazard_c]
    assert hazards(overdue="0") == [autumn.hazard_b]
    assert hazards(state="rectifying") == [autumn.hazard_c]
    assert hazards(state="closed") == []
    assert hazards(cluster_id=d.cluster_2.id) == [autumn.hazard_b]
    page = official.get("/boards/hazards").get_data(as_text=True)
    assert "42" in _text(page) and "查看" in page and "处理" not in page  # officials read
    admin = _client(app, "admin").get("/boards/hazards").get_data(as_text=True)
    assert "处理" in admin and f"/hazards/{autumn.hazard_a}" in admin
    inspector = _client(app, "inspector").get("/boards/hazards").get_data(as_text=True)
    assert f'data-hazard="{autumn.hazard_b}"' not in inspector and "城西片区" not in inspector


def test_board_pages_of_fifty(app: Any, autumn: Autumn) -> None:
    from service.cockpit import boards

    with app.app_context(), use_scope(TenantScope.bureau()):
        page = boards.page_of(boards.hazard_board(TODAY, state="all"), 2, per_page=2)
        assert (page.page, page.pages, page.total) == (2, 2, 3)
        assert [h.id for h, _s in page.rows] == [autumn.hazard_b]
        assert boards.page_of(boards.hazard_board(TODAY), 9, per_page=2).page == 2  # clamped to the last
        db.session.remove()
    page = _client(app, "official").get("/boards/hazards", query_string={"page": 5}).get_data(as_text=True)
    assert "共 3 条" in page


def test_veto_board(app: Any, autumn: Autumn) -> None:
    d = autumn.d
    official = _client(app, "official")
    page = official.get("/boards/vetoes").get_data(as_text=True)
    assert page.count("data-veto=") == 2 and "学校责任食物中毒或食源性疾病" in page and "食物中毒" in page
    assert "2027-10-20" in page and "放心食堂" in page and "/incidents/" in page
    only = official.get("/boards/vetoes", query_string={"rule": "food_poisoning_at_fault"}).get_data(
        as_text=True
    )
    assert only.count("data-veto=") == 1
    assert (
        official.get("/boards/vetoes", query_string={"cluster_id": d.cluster_1.id})
        .get_data(as_text=True)
        .count("data-veto=")
        == 0
    )
    assert _client(app, "inspector").get("/boards/vetoes").get_data(as_text=True).count("data-veto=") == 0


def test_awaiting_board(app: Any, autumn: Autumn) -> None:
    official = _client(app, "official").get("/boards/awaiting").get_data(as_text=True)
    assert official.count("data-report=") == 1 and "甲小学" in official and "2026-11" in official
    assert 'data-testid="to-review-queue"' not in official  # officials do not review
    admin = _client(app, "admin").get("/boards/awaiting").get_data(as_text=True)
    assert 'data-testid="to-review-queue"' in admin and 'href="/review"' in admin
    inspector = _client(app, "inspector").get(
        "/boards/awaiting", query_string={"cluster_id": autumn.d.cluster_2.id}
    )
    assert inspector.get_data(as_text=True).count("data-report=") == 0


def test_unlock_board_official_reads_admin_decides(app: Any, autumn: Autumn) -> None:
    official = _client(app, "official")
    page = official.get("/boards/unlock-requests").get_data(as_text=True)
    assert "乙校申请补正九月数据" in page and 'name="action"' not in page  # no buttons for officials
    assert (
        official.post(
            "/boards/unlock-requests", data={"request_id": autumn.unlock_b, "action": "grant", "note": ""}
        ).status_code
        == 403
    )
    inspector = _client(app, "inspector")
    assert "乙校申请补正九月数据" not in inspector.get("/boards/unlock-requests").get_data(as_text=True)
    assert (
        inspector.post(
            "/boards/unlock-requests", data={"request_id": autumn.unlock_b, "action": "grant"}
        ).status_code
        == 404
    )  # another cluster's request is not found

    admin = _client(app, "admin")
    page = admin.get("/boards/unlock-requests").get_data(as_text=True)
    assert f'data-testid="decide-{autumn.unlock_b}"' in page
    refused = admin.post(
        "/boards/unlock-requests", data={"request_id": autumn.unlock_b, "action": "refuse", "note": " "}
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'data-error-for="note"' in body and 'data-testid="form-errors"' in body
    assert _unlock_state(app, autumn.unlock_b) == (UnlockState.PENDING, None)
    granted = admin.post(
        "/boards/unlock-requests", data={"request_id": autumn.unlock_b, "action": "grant", "note": "同意"}
    )
    assert granted.status_code == 303
    assert _unlock_state(app, autumn.unlock_b) == (UnlockState.GRANTED, TODAY + timedelta(days=7))
    again = admin.post(
        "/boards/unlock-requests", data={"request_id": autumn.unlock_b, "action": "refuse", "note": "不同意"}
    )
    assert again.status_code == 409
    decided = admin.get("/boards/unlock-requests", query_string={"show": "granted"}).get_data(as_text=True)
    assert "乙校申请补正九月数据" in decided and "2026-11-28" in decided


def _unlock_state(app: Any, request_id: int) -> tuple[UnlockState, date | None]:
    with app.app_context(), use_scope(TenantScope.bureau()):
        req = db.session.get(UnlockRequest, request_id)
        out = (req.state, req.unlocked_until)
        db.session.remove()
    return out


def test_a_school_sees_its_months_in_the_same_labels(app: Any, autumn: Autumn) -> None:
    """The school admin's trend and the score explanation of a month in review read 待审核, not 缺报."""
    d = autumn.d
    school = _client(app, "admin_a")
    trend = school.get("/").get_data(as_text=True)
    trend = trend[trend.index('data-testid="trend"') :]
    assert "待审核" in trend and "缺报" not in trend
    explanation = school.get(f"/schools/{d.school_a.id}/scores/2026-11").get_data(as_text=True)
    assert "<strong>待审核</strong>" in explanation and "缺报" not in explanation
    c_month = _client(app, "official").get(f"/schools/{d.school_c.id}/scores/2026-10").get_data(as_text=True)
    assert "<strong>逾期未报</strong>" in c_month
