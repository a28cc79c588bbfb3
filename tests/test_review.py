"""Review (审核) in the domain, without pages: what changed since a return, derived from the audit trail
(first as a pure function over plain entries, then on the real trail), and accepting several reports
at once (each on its own: a refusal undoes only that report, the ranking event fires per acceptance)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from service.core import events
from service.core.types import utcnow
from service.db import db
from service.reports.models import MonthlyReport, ReportState
from service.reports.review import (
    ADDED,
    CHANGED,
    DELETED,
    TrailEntry,
    accept_many,
    changes_since_return,
    derive_changes,
    review_queue,
)
from tenants import TenantScope, use_scope
from tests.browser_support import Month
from tests.conftest import TODAY, District
from tests.review_support import RETURN_REASON, returned_and_resubmitted

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
REPORT, PERIOD = 7, 3


def entry(n: int, table: str, row_id: int, action: str, **changes: Any) -> TrailEntry:
    return TrailEntry(n, T0 + timedelta(minutes=n), table, row_id, action, changes)


# --- the derivation, pure ----------------------------------------------------------------------------


def test_added_changed_and_deleted_records_of_the_report() -> None:
    entries = [
        entry(
            1,
            "inspections",
            10,
            "update",
            score=["85.0", "92.0"],
            notes=["", "复查"],
            section_scores=[{}, {}],
        ),
        entry(2, "inspection_item_results", 101, "update", result=["fail", "pass"], occurrences=[1, 0]),
        entry(
            3,
            "inspections",
            11,
            "insert",
            report_id=[None, REPORT],
            kind=[None, "safety"],
            mode=[None, "self"],
        ),
        entry(
            4, "evaluations", 20, "delete", report_id=[REPORT, None], staff_id=[5, None], score=["90", None]
        ),
        entry(5, "hazards", 30, "insert", period_id=[None, PERIOD], title=[None, "灭火器过期"]),
    ]
    changes = derive_changes(
        entries,
        report_id=REPORT,
        period_id=PERIOD,
        members={"inspections": {10, 11}, "hazards": {30}},
        child_parents={("inspection_item_results", 101): 10},
    )
    assert [(c.table, c.row_id, c.action) for c in changes] == [
        ("inspections", 10, CHANGED),
        ("inspections", 11, ADDED),
        ("evaluations", 20, DELETED),
        ("hazards", 30, ADDED),
    ]
    changed = changes[0]
    # the record's own columns, before the first change and after the last; computed blobs are left out
    assert changed.fields == {"score": ("85.0", "92.0"), "notes": ("", "复查")}
    assert changed.details == 1  # one item result
    assert changed.at == T0 + timedelta(minutes=2)  # its last change (the item result)
    assert changes[2].values["staff_id"] == 5  # a deleted record is described from the trail


def test_a_record_added_and_deleted_again_is_no_change() -> None:
    entries = [
        entry(1, "inspections", 12, "insert", report_id=[None, REPORT]),
        entry(2, "inspection_item_results", 120, "insert", inspection_id=[None, 12]),
        entry(3, "inspection_item_results", 120, "delete", inspection_id=[12, None]),
        entry(4, "inspections", 12, "delete", report_id=[REPORT, None]),
    ]
    assert derive_changes(entries, report_id=REPORT, period_id=PERIOD, members={}) == []


def test_other_reports_and_noise_are_left_out() -> None:
    entries = [
        # another school-month's inspection and its item result
        entry(1, "inspections", 13, "insert", report_id=[None, REPORT + 1]),
        entry(2, "inspection_item_results", 130, "insert", inspection_id=[None, 13]),
        # a hazard of another month
        entry(3, "hazards", 31, "update", title=["a", "b"]),
        # only computed detail changed (no visible column, no child row)
        entry(4, "inspections", 10, "update", section_scores=[{"A": 1}, {"A": 2}]),
        # a value written again with the same number
        entry(5, "evaluations", 20, "update", score=["90.00", "90.0000000000"]),
        # the report itself, a spot inspection's other tables: not the month's records
        entry(6, "monthly_reports", REPORT, "update", state=["returned", "submitted"]),
    ]
    changes = derive_changes(
        entries, report_id=REPORT, period_id=PERIOD, members={"inspections": {10}, "evaluations": {20}}
    )
    assert changes == []


def test_a_rating_replaced_counts_as_a_change_of_its_evaluation() -> None:
    entries = [
        entry(1, "evaluation_ratings", 200, "delete", evaluation_id=[20, None], scores=[{"de": "9"}, None]),
        entry(2, "evaluation_ratings", 201, "insert", evaluation_id=[None, 20], scores=[None, {"de": "10"}]),
        entry(3, "evaluations", 20, "update", score=["90.0000000000", "91.0000000000"]),
    ]
    [change] = derive_changes(entries, report_id=REPORT, period_id=PERIOD, members={"evaluations": {20}})
    assert (change.action, change.details, change.fields) == (
        CHANGED,
        2,
        {"score": ("90.0000000000", "91.0000000000")},
    )


# --- on the real trail -------------------------------------------------------------------------------


def test_changes_since_return_on_the_audit_trail(app: Any, district: District, month: Month) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        report = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == m.report_a)).one()
        since = changes_since_return(report)
        assert since is not None
        assert since.reason == RETURN_REASON and since.returns == 1
        shown = [(c.action, c.kind, c.title) for c in since.changes]
        assert shown == [
            (CHANGED, "", "自查 · 食堂检查 2026-11-10"),
            (ADDED, "", "自查 · 校园安全检查 2026-11-12"),
            (ADDED, "隐患整改", "食堂后门灭火器过期"),
        ]
        canteen = since.changes[0]
        fields = {f.label: (f.before, f.after) for f in canteen.fields}
        assert fields["得分"] == ("98.0", "100.0")  # B2 (morning check, −2) corrected
        assert canteen.details == "1 项检查结果"
        # a report never returned has nothing to show
        other = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == m.report_b))
        assert other.one_or_none() is None  # another cluster's report is not even visible here
        db.session.remove()
    with app.app_context(), use_scope(TenantScope.school(district.school_c.id)):
        report_c = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == m.report_c)).one()
        assert changes_since_return(report_c) is None
        db.session.remove()


def test_the_queue_is_the_scopes_submitted_reports_oldest_first(
    app: Any, district: District, month: Month
) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    cluster_1 = TenantScope.schools({district.school_a.id, district.school_c.id})
    with app.app_context(), use_scope(cluster_1):
        rows = review_queue(today=TODAY + timedelta(days=3))
        assert [r.report.id for r in rows] == [m.report_c, m.report_a]  # C submitted first, A resubmitted
        assert [r.days_waiting for r in rows] == [3, 3]
        assert rows[0].since_return is None and rows[1].since_return is not None
        db.session.remove()
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert [r.report.id for r in review_queue(today=TODAY)] == [m.report_c, m.report_b, m.report_a]
        db.session.remove()


def test_accept_many_accepts_each_that_can_be_and_says_why_not(
    app: Any, district: District, month: Month
) -> None:
    m = returned_and_resubmitted(app, district, month.period_id)
    fired: list[dict[str, Any]] = []

    def seen(**payload: Any) -> None:
        fired.append(payload)

    events.subscribe(events.REPORT_ACCEPTED, seen)
    try:
        with app.app_context(), use_scope(TenantScope.bureau()):
            reports = {
                r.id: r
                for r in db.session.scalars(
                    select(MonthlyReport).where(MonthlyReport.period_id == month.period_id)
                )
            }
            reports[m.report_b].state = ReportState.RETURNED  # a colleague returned B a moment ago
            db.session.commit()
            outcome = accept_many(
                [reports[m.report_c], reports[m.report_b], reports[m.report_a]], now=utcnow()
            )
            db.session.commit()
            assert [r.id for r in outcome.accepted] == [m.report_c, m.report_a]
            [(refused, messages)] = outcome.refused
            assert refused.id == m.report_b and "已退回" in messages[0]
            db.session.remove()
        with app.app_context(), use_scope(TenantScope.bureau()):
            states = {
                r.id: r.state for r in db.session.execute(select(MonthlyReport.id, MonthlyReport.state))
            }
            assert states[m.report_a] is states[m.report_c] is ReportState.ACCEPTED
            assert states[m.report_b] is ReportState.RETURNED  # the refusal undid nothing else
            db.session.remove()
    finally:
        events.unsubscribe(events.REPORT_ACCEPTED, seen)
    assert sorted(p["report_id"] for p in fired) == sorted([m.report_a, m.report_c])


def test_accepted_reports_are_ranked(app: Any, district: District, month: Month) -> None:
    """The ranking event goes out after the commit: the eager worker scores the accepted months."""
    from service.scoring.models import SchoolMonthScore

    m = returned_and_resubmitted(app, district, month.period_id)
    with app.app_context(), use_scope(TenantScope.schools({district.school_a.id, district.school_c.id})):
        reports = list(
            db.session.scalars(select(MonthlyReport).where(MonthlyReport.id.in_([m.report_a, m.report_c])))
        )
        accept_many(reports, now=utcnow())
        db.session.commit()
        db.session.remove()
    with app.app_context(), use_scope(TenantScope.bureau()):
        scored = set(
            db.session.scalars(
                select(SchoolMonthScore.school_id).where(SchoolMonthScore.period_id == month.period_id)
            )
        )
        db.session.remove()
    assert {district.school_a.id, district.school_c.id} <= scored
