"""Ranking snapshots: ties and tie-breakers, minimum data, peer groups and clusters, movement, vetoes,
sensitivity, reproducibility (same inputs → byte-identical snapshot) and crash-safety of the jobs.

The ranking layer reads only the school-month scores, so most cases write those rows directly with
hand-chosen numbers; the end-to-end cases go through the score engine and the Celery tasks.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from service.db import db
from service.incidents.vetoes import Veto, VetoSource
from service.inspections.models import InspectionKind, InspectionMode
from service.jobs.models import JobRun, RunState
from service.org.models import School, SchoolType
from service.rankings import engine, jobs
from service.rankings.calendar import month_target, term_target
from service.rankings.models import EntryStatus, RankingEntry, RankingSnapshot
from service.scoring.engine import current_basis
from service.scoring.models import MonthStatus, SchoolMonthScore
from tenants import TenantScope, use_scope
from tests import ranking_data as data
from tests import services
from tests.conftest import District, test_config
from tests.test_tasks import worker  # noqa: F401 - the real-worker fixture

pytestmark = pytest.mark.postgres
D = Decimal


def _score(school: School, period_id: int, composite: str | None, **kw: Any) -> None:
    """A school-month row; ``spot`` is the month's spot mean, from ``spot_count`` inspections (1)."""
    spot_count = kw.pop("spot_count", 1)
    values = {
        "canteen_area": D(kw.pop("canteen", "90")) if school.has_canteen else None,
        "safety_area": D(kw.pop("safety", "90")),
        "staff_area": D(kw.pop("staff", "90")),
        "key_failed": kw.pop("key_failed", 0),
        "spot_mean": D(kw["spot"]) if kw.get("spot") is not None else None,
        "spot_count": spot_count if kw.pop("spot", None) is not None else 0,
    }
    db.session.add(
        SchoolMonthScore(
            school_id=school.id,
            period_id=period_id,
            status=MonthStatus.SCORED if composite is not None else MonthStatus.MISSING,
            canteen_applies=school.has_canteen,
            composite=D(composite) if composite is not None else None,
            late_deduction=D(kw.pop("late", "0")),
            **values,
        )
    )
    db.session.flush()


def _entries(snapshot: RankingSnapshot) -> dict[str, RankingEntry]:
    rows = db.session.scalars(select(RankingEntry).where(RankingEntry.snapshot_id == snapshot.id)).all()
    codes = {s.id: s.code for s in db.session.scalars(select(School))}
    return {codes[e.school_id]: e for e in rows}


@pytest.fixture
def six(app: Any, district: District) -> dict[str, int]:
    """Six schools: A, B, C from the fixture plus D, E (cluster 2) and F (a junior school, cluster 1)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        data.school("SD", district.cluster_2.id)
        data.school("SE", district.cluster_2.id)
        data.school("SF", district.cluster_1.id, type_=SchoolType.JUNIOR)
        db.session.commit()
        return {s.code: s.id for s in db.session.scalars(select(School))}


def test_ties_tie_breakers_and_competition_ranking(app: Any, six: dict[str, int], pg: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        s = {c: db.session.get(School, i) for c, i in six.items()}
        _score(s["SA"], p.id, "90.0", spot="80")  # 90, 0 key items, spot 80
        _score(s["SB"], p.id, "90.0")  # 90, 0 key items, no spot → below any spot
        _score(s["SD"], p.id, "90.0", key_failed=1, spot="99")  # more key items failed → after both
        _score(s["SE"], p.id, "95.0", canteen="91")  # 95: tied with F on everything
        _score(s["SF"], p.id, "95.0", canteen="91")
        _score(s["SC"], p.id, None)  # not accepted
        snap = engine.build_snapshot(month_target(2026, 3), current_basis())
        e = _entries(snap)
    assert [e[c].rank_overall for c in ("SE", "SF", "SA", "SB", "SD")] == [1, 1, 3, 4, 5]
    assert e["SC"].status is EntryStatus.MISSING and e["SC"].rank_overall is None
    # peer groups: primary with a canteen (A, B, D, E), junior with a canteen (F), primary without (C)
    assert e["SE"].peer_group == "primary:canteen" and e["SF"].peer_group == "junior:canteen"
    assert [e[c].rank_peer for c in ("SE", "SA", "SB", "SD", "SF")] == [1, 2, 3, 4, 1]
    # clusters: 1 = A, C, F; 2 = B, D, E
    assert [e[c].rank_cluster for c in ("SF", "SA", "SE", "SB", "SD")] == [1, 2, 1, 2, 3]
    assert e["SE"].band.value == "A" and e["SA"].band.value == "A"


def test_term_minimum_data_and_mean_of_months(app: Any, six: dict[str, int], pg: Any) -> None:
    """Term 1 of 2025/26 with all 5 periods open: one month missing is ranked, two is insufficient."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        periods = [data.period(y, m) for y, m in ((2025, 9), (2025, 10), (2025, 11), (2025, 12), (2026, 1))]
        s = {c: db.session.get(School, i) for c, i in six.items()}
        for i, p in enumerate(periods):
            _score(s["SA"], p.id, ["90.0", "91.0", "92.0", "93.0", "94.1"][i])  # mean 92.02 → 92.0
            _score(s["SB"], p.id, None if i == 0 else "80.0")  # one missing: ranked
            _score(s["SD"], p.id, None if i < 2 else "99.0")  # two missing: data insufficient
        snap = engine.build_snapshot(term_target(2025, 1), current_basis())
        e = _entries(snap)
    assert (e["SA"].score, e["SA"].months_counted, e["SA"].months_expected) == (D("92.0"), 5, 5)
    assert (e["SB"].status, e["SB"].rank_overall) == (EntryStatus.RANKED, 2)
    assert e["SD"].status is EntryStatus.INSUFFICIENT and e["SD"].rank_overall is None
    assert e["SD"].score == D("99.0")  # listed with its score, not ranked
    assert e["SA"].rank_overall == 1


def test_a_term_counts_the_months_due_on_the_day_it_is_ranked(app: Any, six: dict[str, int], pg: Any) -> None:
    """Term 1 of 2026/27 ranked on 21 November 2026: September and October are due (deadlines 5 October
    and 5 November), November is open but due only on 5 December. SB has no October; SD has no October
    and, like everybody, nothing accepted for November yet. Counting November would make SB
    insufficient (2 of 3 missing) and put the term's expected months at 3 for all; from 6 December it
    counts (SA then has its November)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        s = {c: db.session.get(School, i) for c, i in six.items()}
        sep, oct_, nov = data.period(2026, 9), data.period(2026, 10), data.period(2026, 11)
        _score(s["SA"], sep.id, "90.0")
        _score(s["SA"], oct_.id, "92.0")
        _score(s["SB"], sep.id, "80.0")
        _score(s["SB"], oct_.id, None)
        _score(s["SB"], nov.id, None)
        target = term_target(2026, 1)
        on_21st = engine.build_snapshot(target, current_basis(), as_of=date(2026, 11, 21))
        before = _entries(on_21st)
        assert [p.code for p in engine.periods_of(target, as_of=date(2026, 12, 5))] == ["2026-09", "2026-10"]
        _score(s["SA"], nov.id, "94.0")  # accepted early December
        on_6th = engine.build_snapshot(target, current_basis(), as_of=date(2026, 12, 6))
        after = _entries(on_6th)
    # 21 Nov: 2 months expected; SA (90 + 92) ÷ 2 = 91.0; SB one missing of 2: still ranked
    assert (before["SA"].months_expected, before["SA"].score) == (2, D("91.0"))
    assert (before["SB"].status, before["SB"].months_counted) == (EntryStatus.RANKED, 1)
    # 6 Dec: November is due: 3 expected; SA (90 + 92 + 94) ÷ 3 = 92.0; SB 2 of 3 missing: insufficient
    assert (after["SA"].months_expected, after["SA"].score) == (3, D("92.0"))
    assert after["SB"].status is EntryStatus.INSUFFICIENT
    assert on_6th.period_ids == [sep.id, oct_.id, nov.id] and on_21st.period_ids == [sep.id, oct_.id]


def test_term_tie_breakers_are_means_of_the_monthly_values(app: Any, six: dict[str, int], pg: Any) -> None:
    """Formula 7: a term's spot tie-breaker is the mean of the monthly spot means over the months that
    have one - not the mean of all the term's spot inspections - and its canteen tie-breaker the mean
    of the monthly canteen areas. Term 1 of 2025/26 with September and October open; every school
    scores 90.0 both months with no key item failed, so the tie-breakers decide."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        s = {c: db.session.get(School, i) for c, i in six.items()}
        sep, oct_ = data.period(2025, 9), data.period(2025, 10)
        # A: September's spot mean 90 over 3 inspections, October's 70 over 1
        _score(s["SA"], sep.id, "90.0", spot="90", spot_count=3)
        _score(s["SA"], oct_.id, "90.0", spot="70", spot_count=1)
        # B: 82 in each month
        _score(s["SB"], sep.id, "90.0", spot="82")
        _score(s["SB"], oct_.id, "90.0", spot="82")
        # F: 81 in September, no spot inspection in October (that month does not count, it is not a 0)
        _score(s["SF"], sep.id, "90.0", spot="81")
        _score(s["SF"], oct_.id, "90.0")
        # D and E: no spot inspection at all (below any school with one); canteen areas decide
        _score(s["SD"], sep.id, "90.0", canteen="91")
        _score(s["SD"], oct_.id, "90.0", canteen="95")
        _score(s["SE"], sep.id, "90.0", canteen="94")
        _score(s["SE"], oct_.id, "90.0", canteen="93")
        term = engine.build_snapshot(term_target(2025, 1), current_basis())
        e = _entries(term)
    # A: (90 + 70) ÷ 2 = 80 (all inspections: (3 × 90 + 70) ÷ 4 = 85, which would put A first)
    # B: (82 + 82) ÷ 2 = 82 · F: 81 ÷ 1 = 81 (over the months that have one)
    assert (e["SA"].spot_mean, e["SB"].spot_mean, e["SF"].spot_mean) == (D("80"), D("82"), D("81"))
    # D: (91 + 95) ÷ 2 = 93 · E: (94 + 93) ÷ 2 = 93.5
    assert (e["SD"].canteen_mean, e["SE"].canteen_mean, e["SD"].spot_mean) == (D("93"), D("93.5"), None)
    assert all(e[c].score == D("90.0") for c in ("SA", "SB", "SD", "SE", "SF"))
    # spot 82 > 81 > 80 > none; then canteen 93.5 > 93
    assert [e[c].rank_overall for c in ("SB", "SF", "SA", "SE", "SD")] == [1, 2, 3, 4, 5]


def test_movement_vetoes_and_sensitivity(app: Any, six: dict[str, int], pg: Any) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        s = {c: db.session.get(School, i) for c, i in six.items()}
        feb, mar = data.period(2026, 2), data.period(2026, 3)
        _score(s["SA"], feb.id, "95.0")
        _score(s["SB"], feb.id, "90.0")
        # March: A and B tie at 90.0 (canteen 100/safety 80 vs canteen 80/safety 100); canteen breaks it
        _score(s["SA"], mar.id, "90.0", canteen="100", safety="80", staff="90")
        _score(s["SB"], mar.id, "90.0", canteen="80", safety="100", staff="90")
        _score(s["SE"], mar.id, "97.0", canteen="97", safety="97", staff="97")
        db.session.add(
            Veto(
                school_id=s["SE"].id,
                rule="failed_veto_item",
                source=VetoSource.INSPECTION_ITEM,
                inspection_id=999,
                item_code="C5",
                starts_on=date(2026, 3, 2),
                ends_on=date(2027, 3, 2),
                blocks=["trusted_canteen", "advanced_unit"],
            )
        )
        basis = current_basis()
        engine.build_snapshot(month_target(2026, 2), basis)
        march = engine.build_snapshot(month_target(2026, 3), basis)
        term = engine.build_snapshot(term_target(2025, 2), basis)  # Feb + Mar open
        m, t = _entries(march), _entries(term)
    assert (m["SE"].rank_overall, m["SA"].rank_overall, m["SB"].rank_overall) == (1, 2, 3)
    assert (m["SA"].previous_rank, m["SA"].movement) == (1, -1)  # 1st in Feb, 2nd in March
    assert m["SE"].movement is None  # no February entry
    # a veto flags the school and names what it bars; its score and rank are untouched
    assert m["SE"].vetoed and m["SE"].veto_blocks == ["advanced_unit", "trusted_canteen"]
    assert (m["SE"].score, m["SE"].rank_overall) == (D("97.0"), 1)
    assert not m["SA"].vetoed
    # The term: A (92.5) and B (90.0) ranked; E has 1 of 2 months → ranked too (one missing allowed)
    assert t["SA"].rank_overall == 2 and t["SE"].rank_overall == 1
    assert t["SA"].sensitivity_max is not None and term.summary["sensitivity"]["shift"] == "10"


def test_sensitivity_by_hand(app: Any, six: dict[str, int], pg: Any) -> None:
    """A: canteen 100, safety 80; B: canteen 80, safety 100; staff 90 for both → 90.0 each.
    Canteen −10 or safety +10 swaps them; the other four scenarios keep A first."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        s = {c: db.session.get(School, i) for c, i in six.items()}
        p = data.period(2026, 4)
        _score(s["SA"], p.id, "90.0", canteen="100", safety="80", staff="90")
        _score(s["SB"], p.id, "90.0", canteen="80", safety="100", staff="90")
        term = engine.build_snapshot(term_target(2025, 2), current_basis())
        e = _entries(term)
    assert (e["SA"].rank_overall, e["SB"].rank_overall) == (1, 2)
    # moves over the 6 scenarios: [0, 1, 1, 0, 0, 0] → max 1, median 0.0
    assert (e["SA"].sensitivity_max, e["SA"].sensitivity_median) == (1, D("0.0"))
    assert (e["SB"].sensitivity_max, e["SB"].sensitivity_median) == (1, D("0.0"))


def _district_month(app: Any, district: District) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        p = data.period(2026, 3)
        for sid, spot in ((district.school_a.id, True), (district.school_b.id, False)):
            sch = db.session.get(School, sid)
            data.inspection(p, sch, InspectionKind.CANTEEN, InspectionMode.SELF, A3="fail")
            data.inspection(p, sch, InspectionKind.SAFETY, InspectionMode.SELF)
            if spot:
                data.inspection(p, sch, InspectionKind.CANTEEN, InspectionMode.SPOT, day=16, D3="fail")
            data.evaluation(p, sch, "91.50")
            data.report(p, sch)
        db.session.commit()
        return p.id


def _snapshots() -> list[tuple[str, str, str]]:
    rows = db.session.scalars(select(RankingSnapshot).order_by(RankingSnapshot.id)).all()
    return [(r.kind.value, r.key, r.payload_hash) for r in rows]


def test_rerun_is_identical_and_a_fresh_run_gives_the_same_bytes(
    app: Any, district: District, pg: Any
) -> None:
    period_id = _district_month(app, district)
    with app.app_context(), use_scope(TenantScope.bureau()):
        jobs.recompute_period(period_id)
        db.session.commit()
        first = _snapshots()
        month = db.session.scalars(select(RankingSnapshot).where(RankingSnapshot.kind == "month")).one()
        payload = engine.payload_bytes(month)
        assert hashlib.sha256(payload).hexdigest() == month.payload_hash
        jobs.recompute_period(period_id)  # unchanged inputs: nothing new
        db.session.commit()
        assert _snapshots() == first and len(first) == 3
        entries = db.session.scalar(select(func.count()).select_from(RankingEntry))
        # wipe the snapshots and the scores; recompute from the raw data: the very same bytes
        db.session.execute(delete(RankingSnapshot))
        db.session.execute(delete(SchoolMonthScore))
        db.session.commit()
        jobs.recompute_period(period_id)
        db.session.commit()
        again = db.session.scalars(select(RankingSnapshot).where(RankingSnapshot.kind == "month")).one()
        assert engine.payload_bytes(again) == payload
        assert [h for *_, h in _snapshots()] == [h for *_, h in first]
        assert db.session.scalar(select(func.count()).select_from(RankingEntry)) == entries


def test_a_changed_input_writes_a_new_snapshot_and_keeps_the_old(
    app: Any, district: District, pg: Any
) -> None:
    period_id = _district_month(app, district)
    with app.app_context(), use_scope(TenantScope.bureau()):
        jobs.recompute_period(period_id)
        db.session.commit()
        old = db.session.scalars(select(RankingSnapshot).where(RankingSnapshot.kind == "month")).one()
        old_hash = old.payload_hash
        sch = db.session.get(School, district.school_b.id)
        p = db.session.get(data.Period, period_id)
        data.inspection(p, sch, InspectionKind.CANTEEN, InspectionMode.SPOT, day=20, D3=("fail", 4))
        jobs.recompute_school_month(sch.id, period_id)
        db.session.commit()
        months = db.session.scalars(
            select(RankingSnapshot).where(RankingSnapshot.kind == "month").order_by(RankingSnapshot.id)
        ).all()
    assert len(months) == 2 and months[0].payload_hash == old_hash != months[1].payload_hash
    assert months[1].previous_id == months[0].previous_id  # same previous month, new inputs


def test_a_task_that_dies_midway_leaves_nothing_and_its_redelivery_completes(
    app: Any, district: District, pg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.rankings import recompute_period

    period_id = _district_month(app, district)
    real = engine.build_snapshot
    calls = {"n": 0}

    def dies_on_the_year(target: Any, basis: Any, **kw: Any) -> Any:
        if target.kind.value == "year" and calls["n"] == 0:
            calls["n"] += 1
            raise RuntimeError("worker killed")
        return real(target, basis, **kw)

    monkeypatch.setattr(engine, "build_snapshot", dies_on_the_year)
    scope = TenantScope.bureau().to_json()
    with pytest.raises(RuntimeError):
        recompute_period.apply(kwargs={"scope": scope, "period_id": period_id, "run_key": "msg-1"}).get()
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count()).select_from(SchoolMonthScore)) == 0
        assert db.session.scalar(select(func.count()).select_from(RankingSnapshot)) == 0
        run = db.session.scalars(select(JobRun).where(JobRun.run_key == "msg-1")).one()
        assert run.state is RunState.FAILED and "worker killed" in run.error
        db.session.remove()
    recompute_period.apply(kwargs={"scope": scope, "period_id": period_id, "run_key": "msg-1"}).get()
    with app.app_context(), use_scope(TenantScope.bureau()):
        run = db.session.scalars(select(JobRun).where(JobRun.run_key == "msg-1")).one()
        assert (run.state, run.attempts, run.done, run.total) == (RunState.SUCCEEDED, 2, 4, 4)
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
        assert db.session.scalar(select(func.count()).select_from(RankingSnapshot)) == 3
        assert db.session.scalar(select(func.count()).select_from(SchoolMonthScore)) == 3


def test_accepting_a_report_reranks_its_period(app: Any, client: Any, district: District, pg: Any) -> None:
    period_id = _district_month(app, district)
    with app.app_context(), use_scope(TenantScope.bureau()):
        c = db.session.get(School, district.school_c.id)
        p = db.session.get(data.Period, period_id)
        data.inspection(p, c, InspectionKind.SAFETY, InspectionMode.SELF)
        data.report(p, c, state=data.ReportState.SUBMITTED)
        report_id = data.reports.open_report(p, school_id=c.id).id
        db.session.commit()
    resp = client.post(f"/api/v1/reports/{report_id}/accept", headers=district.headers("admin"))
    assert resp.status_code == 200, resp.get_json()
    with app.app_context(), use_scope(TenantScope.bureau()):
        snap = db.session.scalars(select(RankingSnapshot).where(RankingSnapshot.kind == "month")).one()
        e = _entries(snap)
        assert e["SC"].status is EntryStatus.RANKED and e["SC"].score == D("100.0")
        run = db.session.scalars(select(JobRun)).one()
        assert run.kind == "recompute_school_month" and run.state is RunState.SUCCEEDED


@pytest.mark.worker
@pytest.mark.redis
def test_the_period_job_runs_on_a_real_worker(
    database: Any,
    district: District,
    app: Any,
    worker: dict,  # noqa: F811 - the fixture imported from test_tasks
) -> None:
    from service import create_app

    period_id = _district_month(app, district)
    sender = create_app(
        test_config(
            database,
            CELERY_ALWAYS_EAGER=False,
            CELERY_BROKER_URL=services.REDIS_URL,
            CELERY_RESULT_BACKEND=services.REDIS_URL,
            CELERY_QUEUE=worker["queue"],
        )
    )
    result = sender.extensions["celery"].send_task(
        "tasks.rankings.recompute_period",
        kwargs={"scope": TenantScope.bureau().to_json(), "period_id": period_id, "run_key": "real-1"},
        queue=worker["queue"],
    )
    started = time.monotonic()
    out = result.get(timeout=90)
    assert time.monotonic() - started < 90
    assert set(out["snapshots"]) == {"month:2026-03", "term:2025-2026-2", "year:2025-2026"}
    with app.app_context(), use_scope(TenantScope.bureau()):
        run = db.session.scalars(select(JobRun).where(JobRun.run_key == "real-1")).one()
        assert (run.state, run.done, run.total) == (RunState.SUCCEEDED, 4, 4)
        snap = db.session.get(RankingSnapshot, out["snapshots"]["month:2026-03"]["id"])
        assert snap.payload_hash == out["snapshots"]["month:2026-03"]["payload_hash"]
        assert {e.status for e in _entries(snap).values()} == {EntryStatus.RANKED, EntryStatus.MISSING}
