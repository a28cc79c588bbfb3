"""The compare page's domain (service/cockpit/compare.py, history.py): hand-counted trends, ranks and
items lost over two scored months (tests/compare_data.py), and the aggregation of points lost as a pure
function."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from service.cockpit import compare, history
from service.core.errors import DomainError, NotFound
from service.db import db
from service.periods.models import Period
from tenants import TenantScope, use_scope
from tests import compare_data
from tests.conftest import District

pytestmark = pytest.mark.usefixtures("pg")
D = Decimal


@pytest.fixture
def scored(app: Any, district: District) -> compare_data.Scored:
    return compare_data.build(app, district)


def _lost(items: list[compare.LostItem]) -> list[tuple[str, str, Decimal, int]]:
    return [(i.kind, i.code, i.points, i.times) for i in items]


def test_trend_ranks_and_items_lost_by_hand(app: Any, scored: compare_data.Scored) -> None:
    ids = scored.ids
    order = [ids["SA"], ids["SB"], ids["SC"], ids["SD"]]
    with app.app_context(), use_scope(TenantScope.bureau()):
        schools = compare.load_schools(order)
        period, offered = compare.choose_period(order, None)
        assert period.code == "2026-10"  # the newest month with an accepted report
        assert [p.code for p in offered] == ["2026-10", "2026-09"]
        result = compare.compare(schools, period)
        assert [p.code for p in result.periods] == ["2026-09", "2026-10"]
        sep, oct_ = result.periods

        def composite(code: str, p: Period) -> Decimal | None:
            s = result.score(ids[code], p)
            return s.composite if s and s.scored else None

        assert [composite(c, sep) for c in ("SA", "SB", "SC", "SD")] == [
            D("95.6"),
            D("92.8"),
            D("90.0"),
            D("92.0"),
        ]
        assert [composite(c, oct_) for c in ("SA", "SB", "SC", "SD")] == [
            D("95.5"),
            None,
            D("100.0"),
            D("93.2"),
        ]
        sa = result.score(ids["SA"])
        assert (sa.canteen, sa.safety, sa.staff) == (D("93.8"), D("100"), D("90"))
        assert result.score(ids["SC"]).canteen is None and not result.score(ids["SC"]).canteen_applies

        def ranks(code: str, p: Period) -> tuple[Any, ...] | None:
            r = result.rank(ids[code], p)
            return (r.rank_overall, r.rank_peer, r.movement) if r else None

        assert [ranks(c, sep) for c in ("SA", "SB", "SD", "SC")] == [
            (1, 1, None),
            (2, 2, None),
            (3, 3, None),
            (4, 1, None),
        ]
        assert [ranks(c, oct_) for c in ("SC", "SA", "SD")] == [(1, 1, 3), (2, 1, -1), (3, 2, 0)]
        assert ranks("SB", oct_) == (None, None, None)  # listed as missing, not ranked
        assert result.reports[ids["SB"]].value == "submitted"

        assert _lost(result.lost[ids["SA"]]) == [("canteen", "B2", D(14), 3), ("canteen", "C1", D(2), 1)]
        assert _lost(result.lost[ids["SB"]]) == [("canteen", "C1", D(4), 1), ("safety", "B2", D(4), 1)]
        assert _lost(result.lost[ids["SC"]]) == [("safety", "B1", D(10), 1)]
        # A4 ×8 is capped at 5; the excluded spot inspection (C1 ×5) counts nowhere
        assert _lost(result.lost[ids["SD"]]) == [("canteen", "A4", D(5), 1), ("safety", "B2", D(2), 1)]
        assert result.lost[ids["SA"]][0].text.startswith("每日晨检")
        assert result.lost[ids["SA"]][0].months == 2


def test_a_chosen_month_and_the_window_it_ends(app: Any, scored: compare_data.Scored) -> None:
    ids = [scored.ids["SA"], scored.ids["SB"]]
    with app.app_context(), use_scope(TenantScope.bureau()):
        period, _offered = compare.choose_period(ids, "2026-09")
        result = compare.compare(compare.load_schools(ids), period)
        assert [p.code for p in result.periods] == ["2026-09"]
        # only September's failures: SA's B2 ×3 in its self-inspection
        assert _lost(result.lost[scored.ids["SA"]]) == [("canteen", "B2", D(6), 1)]
        with pytest.raises(NotFound):
            compare.choose_period(ids, "2024-01")
        with pytest.raises(NotFound):
            compare.choose_period(ids, "garbage")


def test_scope_decides_which_schools_exist(app: Any, scored: compare_data.Scored) -> None:
    """An inspector of cluster 1 (SA, SC, SD) cannot load SB: not found, like an id that does not exist."""
    d, ids = scored.d, scored.ids
    with app.app_context(), use_scope(TenantScope.schools({d.school_a.id, d.school_c.id, ids["SD"]})):
        assert [s.code for s in compare.load_schools([ids["SD"], ids["SA"]])] == ["SD", "SA"]
        with pytest.raises(NotFound):
            compare.load_schools([ids["SA"], ids["SB"]])
        with pytest.raises(NotFound):
            compare.load_schools([ids["SA"], 99999])
        # the picker lists the scope's schools only, filtered by code or name
        assert [r.code for r in compare.picker("", [])] == ["SA", "SC", "SD"]
        assert [r.code for r in compare.picker("丙", [])] == ["SC"]
        assert [(r.code, r.selected) for r in compare.picker("sc", [ids["SA"]])] == [
            ("SA", True),
            ("SC", False),
        ]
        assert compare.picker("%", []) == []  # a wildcard is a plain character


def test_parse_and_count() -> None:
    assert compare.parse_ids(["3", "1", "3", "", " 2 "]) == [3, 1, 2]
    with pytest.raises(NotFound):
        compare.parse_ids(["1", "x"])
    with pytest.raises(NotFound):
        compare.parse_ids(["-1"])


def test_count_is_two_to_five(app: Any) -> None:
    with app.test_request_context():
        compare.check_count([1, 2])
        compare.check_count([1, 2, 3, 4, 5])
        for ids in ([], [1], [1, 2, 3, 4, 5, 6]):
            with pytest.raises(DomainError) as exc:
                compare.check_count(ids)
            assert exc.value.status == 422 and "school" in exc.value.errors


def test_aggregate_lost_is_summed_capped_per_inspection_and_ordered() -> None:
    """Pure: points summed over inspections, ties by kind then code, the newest text, top ``limit``."""

    def r(
        school: int, kind: str, code: str, points: str, inspection: int, period: int, text: str = ""
    ) -> Any:
        return compare.FailedResult(school, kind, code, text or code, "", D(points), inspection, period)

    rows = [
        r(1, "canteen", "B2", "6", 10, 1, "旧文字"),
        r(1, "canteen", "B2", "2", 12, 2, "新文字"),
        r(1, "safety", "B2", "8", 11, 1),
        r(1, "canteen", "A4", "5", 10, 1),
        r(1, "canteen", "C1", "1", 12, 2),
        r(1, "safety", "A1", "1", 11, 1),
        r(1, "canteen", "A2", "1", 10, 1),
        r(2, "safety", "B1", "10", 20, 1),
    ]
    out = compare.aggregate_lost(rows, limit=5)
    assert [(i.kind, i.code, i.points, i.times, i.months) for i in out[1]] == [
        ("canteen", "B2", D(8), 2, 2),
        ("safety", "B2", D(8), 1, 1),
        ("canteen", "A4", D(5), 1, 1),
        ("canteen", "A2", D(1), 1, 1),
        ("canteen", "C1", D(1), 1, 1),
    ]
    assert out[1][0].text == "新文字"
    assert [(i.code, i.points) for i in out[2]] == [("B1", D(10))]


def test_history_reads_one_query_per_block(app: Any, scored: compare_data.Scored) -> None:
    """Set-based: the scores of four schools over the window are one statement, their ranks another."""
    from sqlalchemy import event

    ids = list(scored.ids.values())
    with app.app_context(), use_scope(TenantScope.bureau()):
        periods = history.window(db.session.get(Period, scored.oct))
        statements: list[str] = []
        engine = db.engine

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            scores = history.month_scores(ids, periods)
            ranks = history.month_ranks(ids, periods)
            lost = compare.items_lost(ids, periods)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(scores) == 8 and len(ranks) == 8 and len(lost) == 4
        assert len(statements) == 3
