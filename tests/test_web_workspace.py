"""The month's workspace (月报工作台), the school dashboard, score freshness and the staff roster pages.

Domain functions (the checklist, the deadline, the score card) are tested without a request; the pages
with Flask's test client: what a school admin notices - every blocking problem in one list, errors beside
the fields, nothing saved on a refusal, read-only pages for other roles, 403/404.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.db import db
from service.staff.models import StaffMember, StaffVeto, StaffVetoKind
from tenants import TenantScope, use_scope
from tests.browser_support import Month
from tests.conftest import NOW, TODAY, District, evaluate_all_staff, login

# --- helpers ---------------------------------------------------------------------------------------


def _add_staff(app: Any, school_id: int, *names: str, active: bool = True) -> list[int]:
    from service.staff.models import ContractType, StaffMember, StaffRole

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        rows = [
            StaffMember(
                school_id=school_id,
                name=name,
                role=StaffRole.CLEANER,
                contract_type=ContractType.TEMPORARY,
                hire_date=TODAY - timedelta(days=400),
                active=active,
            )
            for name in names
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = [r.id for r in rows]
        db.session.remove()
    return ids


def _open_report(app: Any, school_id: int, period_id: int) -> int:
    from service.periods.models import Period
    from service.reports import operations as reports

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        report = reports.open_report(db.session.get(Period, period_id))
        db.session.commit()
        rid = report.id
        db.session.remove()
    return rid


def _self_inspection(app: Any, school_id: int, period_id: int, kind: str, *, day: int = 10) -> int:
    """A self-inspection with every item passed, through the domain operation."""
    from service.inspections import operations as inspections
    from service.inspections.models import InspectionKind, InspectionMode, ItemOutcome
    from service.org.models import School
    from service.periods.models import Period
    from service.rubrics.operations import current_version

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        k = InspectionKind(kind)
        version = current_version(k.rubric_kind)
        items = [{"item_id": i.id, "result": ItemOutcome.PASS} for i in version.all_items() if not i.computed]
        period = db.session.get(Period, period_id)
        school = db.session.scalars(select(School).where(School.id == school_id)).one()
        inspection = inspections.create_inspection(
            period,
            school,
            {
                "kind": k,
                "mode": InspectionMode.SELF,
                "inspected_on": date(period.year, period.month, day),
                "inspector_name": "总务处",
                "items": items,
            },
            user=None,
            today=TODAY,
        )
        db.session.commit()
        iid = inspection.id
        db.session.remove()
    return iid


def _spot_inspection(app: Any, school_id: int, period_id: int) -> int:
    from service.inspections import operations as inspections
    from service.inspections.models import InspectionKind, InspectionMode, ItemOutcome
    from service.org.models import School
    from service.periods.models import Period
    from service.rubrics.operations import current_version

    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(InspectionKind.SAFETY.rubric_kind)
        items = [{"item_id": i.id, "result": ItemOutcome.PASS} for i in version.all_items() if not i.computed]
        period = db.session.get(Period, period_id)
        school = db.session.scalars(select(School).where(School.id == school_id)).one()
        inspection = inspections.create_inspection(
            period,
            school,
            {
                "kind": InspectionKind.SAFETY,
                "mode": InspectionMode.SPOT,
                "inspected_on": date(period.year, period.month, 12),
                "inspector_name": "督查组",
                "items": items,
            },
            user=None,
            today=TODAY,
        )
        db.session.commit()
        iid = inspection.id
        db.session.remove()
    return iid


def _hazard(
    app: Any, school_id: int, title: str, found: date, deadline: date, closed: date | None = None
) -> None:
    from service.hazards.models import Hazard, HazardSeverity, HazardState

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        db.session.add(
            Hazard(
                school_id=school_id,
                title=title,
                severity=HazardSeverity.MEDIUM,
                found_on=found,
                deadline=deadline,
                state=HazardState.CLOSED if closed else HazardState.OPEN,
                closed_on=closed,
                closing_note="已整改" if closed else "",
            )
        )
        db.session.commit()
        db.session.remove()


def _checklist(app: Any, school_id: int, report_id: int) -> dict[str, Any]:
    from service.reports import checklist
    from service.reports.models import MonthlyReport

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        report = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == report_id)).one()
        items = checklist.month_checklist(report, today=TODAY)
        out = {i.key: i for i in items}
        out["_progress"] = checklist.progress(items)
        db.session.remove()
    return out


def _state(app: Any, report_id: int) -> str:
    from service.reports.models import MonthlyReport

    with app.app_context(), use_scope(TenantScope.bureau()):
        state = db.session.scalars(select(MonthlyReport.state).where(MonthlyReport.id == report_id)).one()
        db.session.remove()
    return state.value


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


# --- the checklist ---------------------------------------------------------------------------------


def test_checklist_counts_the_months_records(app: Any, district: District, month: Month) -> None:
    a = district.school_a.id
    _add_staff(app, a, "王五", "李四")
    _add_staff(app, a, "已离职", active=False)  # not needed
    rid = _open_report(app, a, month.period_id)

    fresh = _checklist(app, a, rid)
    assert [k for k in fresh if not k.startswith("_")] == [
        "canteen_self",
        "safety_self",
        "canteen_facts",
        "evaluations",
        "hazards",
        "incidents",
    ]
    assert fresh["canteen_self"].state == "todo" and not fresh["canteen_self"].required
    assert (fresh["evaluations"].done, fresh["evaluations"].total) == (0, 3)
    assert fresh["evaluations"].required and fresh["evaluations"].names == ("张甲厨", "王五", "李四")
    assert (fresh["_progress"].done, fresh["_progress"].total) == (0, 4)

    _self_inspection(app, a, month.period_id, "canteen", day=3)
    _self_inspection(app, a, month.period_id, "canteen", day=17)
    _self_inspection(app, a, month.period_id, "safety")
    evaluate_all_staff(app, a, month.period_id)
    # hazards: one overdue (deadline passed), one due later this month, one closed, one due next month
    _hazard(app, a, "消防通道堵塞", date(2026, 11, 2), date(2026, 11, 10))
    _hazard(app, a, "护栏松动", date(2026, 11, 15), date(2026, 11, 28))
    _hazard(app, a, "灯管损坏", date(2026, 11, 3), date(2026, 11, 12), closed=date(2026, 11, 11))
    _hazard(app, a, "屋顶渗漏", date(2026, 11, 20), date(2026, 12, 20))
    with app.app_context(), use_scope(TenantScope.school(a)):
        from service.incidents import operations as incidents
        from service.incidents.models import IncidentSeverity, IncidentType

        incidents.create_incident(
            {
                "type": IncidentType.INJURY,
                "severity": IncidentSeverity.MINOR,
                "occurred_at": NOW - timedelta(hours=1),
            },
            now=NOW,
            today=TODAY,
            by_bureau=False,
        )
        db.session.commit()
        db.session.remove()

    done = _checklist(app, a, rid)
    assert done["canteen_self"].state == "done" and done["canteen_self"].counts == {"recorded": 2}
    assert done["safety_self"].counts == {"recorded": 1}
    assert done["canteen_facts"].state == "todo"  # still no facts
    assert (done["evaluations"].done, done["evaluations"].total, done["evaluations"].names) == (3, 3, ())
    assert done["hazards"].counts == {"due": 2, "overdue": 1} and done["hazards"].state == "attention"
    assert done["incidents"].counts == {"reported": 1}
    assert (done["_progress"].done, done["_progress"].total) == (3, 4)


def test_a_school_without_a_canteen_skips_the_canteen_lines(
    app: Any, district: District, month: Month
) -> None:
    c = district.school_c.id
    rid = _open_report(app, c, month.period_id)
    items = _checklist(app, c, rid)
    assert items["canteen_self"].state == "skipped" and items["canteen_facts"].state == "skipped"
    # no staff at C: nobody to evaluate, the line is done
    assert items["evaluations"].state == "done" and items["evaluations"].total is None
    assert (items["_progress"].done, items["_progress"].total) == (1, 2)  # safety and evaluations only


def test_deadline_states(app: Any, district: District, month: Month) -> None:
    from service.periods.models import Period, UnlockRequest, UnlockState
    from service.reports.checklist import DeadlineState, deadline_info
    from service.reports.models import MonthlyReport, ReportState

    a = district.school_a.id
    with app.app_context(), use_scope(TenantScope.school(a)):
        period = db.session.get(Period, month.period_id)
        due = deadline_info(period, None, a, today=TODAY)
        assert (due.state, due.days, due.deadline) == (DeadlineState.DUE, 14, date(2026, 12, 5))
        assert deadline_info(period, None, a, today=date(2026, 12, 5)).days == 0
        late = deadline_info(period, None, a, today=date(2026, 12, 8))
        assert (late.state, late.days) == (DeadlineState.LATE, 3)
        locked = deadline_info(period, None, a, today=period.locks_on)
        assert locked.state is DeadlineState.LOCKED
        returned = MonthlyReport(period_id=period.id, state=ReportState.RETURNED, first_submitted_at=NOW)
        resubmit = deadline_info(period, returned, a, today=TODAY)
        assert (resubmit.state, resubmit.days) == (DeadlineState.RESUBMIT, (period.locks_on - TODAY).days)
        submitted = MonthlyReport(period_id=period.id, state=ReportState.SUBMITTED)
        assert deadline_info(period, submitted, a, today=TODAY).state is DeadlineState.SUBMITTED
        # a granted unlock opens a locked month again
        db.session.add(
            UnlockRequest(
                period_id=period.id,
                reason="补录数据",
                state=UnlockState.GRANTED,
                unlocked_until=period.locks_on + timedelta(days=7),
            )
        )
        db.session.flush()
        assert deadline_info(period, None, a, today=period.locks_on).state is DeadlineState.LATE
        db.session.rollback()
        db.session.remove()


# --- the workspace page: submitting ----------------------------------------------------------------


def test_submit_lists_every_blocking_problem_together(app: Any, district: District, month: Month) -> None:
    a = district.school_a.id
    _add_staff(app, a, "王五", "李四")
    rid = _open_report(app, a, month.period_id)
    school = _client(app, "admin_a")

    page = school.get(f"/reports/{rid}").get_data(as_text=True)
    assert 'data-item="evaluations" data-state="todo"' in page
    assert "0/3" in page and "必须" in page  # required to submit

    resp = school.post(f"/reports/{rid}/action", data={"action": "submit"})
    assert resp.status_code == 409  # the API's status
    html = resp.get_data(as_text=True)
    problems = html.split('data-testid="submit-problems"')[1].split("</div>")[0]
    assert problems.count("<li>") == 1  # one line for the people, not one alert per person
    assert "还有3人未考评：张甲厨、王五、李四。" in problems
    assert 'class="alert alert-danger"' in html and html.count("alert alert-danger") == 1
    assert _state(app, rid) == "draft"

    # the API refuses with the very same message
    api = app.test_client().post(f"/api/v1/reports/{rid}/submit", headers=district.headers("admin_a"))
    assert api.status_code == 409
    assert api.get_json()["errors"]["evaluations"] == ["还有3人未考评：张甲厨、王五、李四。"]

    evaluate_all_staff(app, a, month.period_id)
    done = school.post(f"/reports/{rid}/action", data={"action": "submit"}, follow_redirects=True)
    assert done.status_code == 200 and _state(app, rid) == "submitted"
    assert 'data-action="submit"' not in done.get_data(as_text=True)


def test_the_month_links_the_roster_and_says_what_submitting_did(
    app: Any, district: District, month: Month
) -> None:
    """Found by the month journey (tests/test_journey_month.py): the grid has nobody to add a person
    with, so the evaluations line links the roster; a submission said only "操作成功"; the submitted
    month still said "提交前必须完成"."""
    a = district.school_a.id
    _hazard(app, a, "护栏松动", date(2026, 11, 15), date(2026, 11, 28))
    rid = _open_report(app, a, month.period_id)
    school = _client(app, "admin_a")
    page = school.get(f"/reports/{rid}").get_data(as_text=True)
    evaluations = page.split('data-item="evaluations"')[1].split("</li>")[0]
    assert f'href="/schools/{a}#roster"' in evaluations and "后勤人员名册" in evaluations
    hazards = page.split('data-testid="hazards"')[1].split("</table>")[0]
    assert "护栏松动" in hazards  # the page's own list, never shadowed by a name the menu uses

    evaluate_all_staff(app, a, month.period_id)
    done = school.post(f"/reports/{rid}/action", data={"action": "submit"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "月报已提交审核。" in html and "操作成功" not in html
    assert "提交前必须完成" not in html  # nothing is required of a submitted month


def test_problems_of_every_registered_check_are_listed_together(
    app: Any, district: District, month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.reports import operations as reports

    def no_safety_check(report: Any) -> dict[str, list[str]]:
        return {"inspections": ["本月没有校园安全自查。"]}

    monkeypatch.setattr(reports, "SUBMISSION_CHECKS", [*reports.SUBMISSION_CHECKS, no_safety_check])
    rid = _open_report(app, district.school_a.id, month.period_id)
    resp = _client(app, "admin_a").post(f"/reports/{rid}/action", data={"action": "submit"})
    problems = resp.get_data(as_text=True).split('data-testid="submit-problems"')[1].split("</ul>")[0]
    assert problems.count("<li>") == 2
    assert "还有1人未考评：张甲厨。" in problems and "本月没有校园安全自查。" in problems


def test_reviewers_see_the_workspace_read_only_with_their_buttons(
    app: Any, district: District, month: Month
) -> None:
    a = district.school_a.id
    rid = _open_report(app, a, month.period_id)
    inspector = _client(app, "inspector")
    draft = inspector.get(f"/reports/{rid}").get_data(as_text=True)
    assert 'data-testid="checklist"' in draft and "data-action=" not in draft  # nothing to do on a draft
    assert inspector.post(f"/reports/{rid}/action", data={"action": "submit"}).status_code == 403

    evaluate_all_staff(app, a, month.period_id)
    _client(app, "admin_a").post(f"/reports/{rid}/action", data={"action": "submit"})
    submitted = inspector.get(f"/reports/{rid}").get_data(as_text=True)
    assert 'data-action="return"' in submitted and 'data-action="accept"' in submitted
    assert 'data-action="submit"' not in submitted

    # returning needs a reason: refused beside the field, with the API's status, nothing changed
    short = inspector.post(f"/reports/{rid}/action", data={"action": "return", "reason": "不行"})
    assert short.status_code == 422
    html = short.get_data(as_text=True)
    assert 'data-error-for="return-reason"' in html and "至少4个字" in html
    assert _state(app, rid) == "submitted"

    official = _client(app, "official")
    page = official.get(f"/reports/{rid}").get_data(as_text=True)
    assert "data-action=" not in page and 'data-testid="checklist"' in page
    assert official.post(f"/reports/{rid}/action", data={"action": "accept"}).status_code == 403

    returned = inspector.post(
        f"/reports/{rid}/action",
        data={"action": "return", "reason": "留样记录不全，请补充"},
        follow_redirects=True,
    )
    assert returned.status_code == 200 and _state(app, rid) == "returned"

    # the school sees the reasons at the top of the workspace and on its dashboard
    school = _client(app, "admin_a")
    page = school.get(f"/reports/{rid}").get_data(as_text=True)
    top = page.split('data-testid="return-reason"')[1].split("</div>")[0]
    assert "留样记录不全，请补充" in top and "inspector" in top  # who, from the audit trail
    assert page.index('data-testid="return-reason"') < page.index('data-testid="checklist"')
    dashboard = school.get("/").get_data(as_text=True)
    assert "留样记录不全，请补充" in dashboard and 'data-testid="dashboard-return-reason"' in dashboard


def test_workspace_of_another_school_is_not_found(app: Any, district: District, month: Month) -> None:
    rid_b = _open_report(app, district.school_b.id, month.period_id)
    for user in ("admin_a", "inspector"):
        client = _client(app, user)
        assert client.get(f"/reports/{rid_b}").status_code == 404
        assert client.post(f"/reports/{rid_b}/action", data={"action": "submit"}).status_code == 404


# --- score freshness -------------------------------------------------------------------------------


def _card(app: Any, school_id: int, period_id: int) -> Any:
    from service.scoring.freshness import score_card

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        card = score_card(school_id, period_id)
        db.session.remove()
    return card


def test_score_card_says_when_the_score_is_older_than_the_records(
    app: Any, district: District, month: Month
) -> None:
    from service.rankings.jobs import recompute_period

    a = district.school_a.id
    rid = _open_report(app, a, month.period_id)
    assert _card(app, a, month.period_id).freshness == "none"
    school = _client(app, "admin_a")
    assert 'data-freshness="none"' in school.get(f"/reports/{rid}").get_data(as_text=True)

    _self_inspection(app, a, month.period_id, "safety")
    evaluate_all_staff(app, a, month.period_id)
    school.post(f"/reports/{rid}/action", data={"action": "submit"})
    with app.app_context(), use_scope(TenantScope.bureau()):
        recompute_period(month.period_id)  # the nightly job: scored while awaiting acceptance
        db.session.commit()
        db.session.remove()
    waiting = _card(app, a, month.period_id)
    assert waiting.freshness == "awaiting" and waiting.composite is None
    page = school.get(f"/reports/{rid}").get_data(as_text=True)
    assert 'data-freshness="awaiting"' in page and "待审核通过" in page

    # accepting queues the recompute (eager in tests): the score is current
    reviewer = _client(app, "inspector")
    assert reviewer.post(f"/reports/{rid}/action", data={"action": "accept"}).status_code == 302
    current = _card(app, a, month.period_id)
    assert current.freshness == "current" and current.composite is not None

    # an inspector's spot inspection after the score: said so on every page showing the score
    _spot_inspection(app, a, month.period_id)
    changed = _card(app, a, month.period_id)
    assert changed.freshness == "changed" and changed.changed_at > changed.computed_at
    for url in (f"/reports/{rid}", f"/schools/{a}", f"/schools/{a}/scores/{month.code}"):
        html = school.get(url).get_data(as_text=True)
        assert 'data-freshness="changed"' in html, url
        assert "记录在计算得分后有变动" in html, url

    with app.app_context(), use_scope(TenantScope.bureau()):
        recompute_period(month.period_id)
        db.session.commit()
        db.session.remove()
    assert _card(app, a, month.period_id).freshness == "current"

    # a deleted spot inspection leaves no row behind; the count tells
    with app.app_context(), use_scope(TenantScope.bureau()):
        from service.inspections.models import Inspection, InspectionMode

        spot = db.session.scalars(select(Inspection).where(Inspection.mode == InspectionMode.SPOT)).one()
        db.session.delete(spot)
        db.session.commit()
        db.session.remove()
    assert _card(app, a, month.period_id).freshness == "changed"


def test_score_card_of_a_reopened_month_awaits_acceptance(app: Any, district: District, month: Month) -> None:
    a = district.school_a.id
    rid = _open_report(app, a, month.period_id)
    evaluate_all_staff(app, a, month.period_id)
    _client(app, "admin_a").post(f"/reports/{rid}/action", data={"action": "submit"})
    _client(app, "inspector").post(f"/reports/{rid}/action", data={"action": "accept"})
    assert _card(app, a, month.period_id).freshness == "current"
    with app.app_context(), use_scope(TenantScope.bureau()):
        from service.reports import operations as reports
        from service.reports.models import MonthlyReport
        from service.scoring.models import SchoolMonthScore

        report = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == rid)).one()
        score_before = db.session.scalars(select(SchoolMonthScore.composite)).first()
        reports.reopen(report, "重新核对数据", now=NOW)
        db.session.commit()  # no worker ran: the row still holds the old composite
        db.session.remove()
    card = _card(app, a, month.period_id)
    assert card.freshness == "awaiting"
    if card.composite is not None:
        assert card.composite == score_before


# --- the dashboard ---------------------------------------------------------------------------------


def test_school_dashboard_shows_the_months_work(app: Any, district: District, month: Month) -> None:
    a = district.school_a.id
    _hazard(app, a, "消防通道堵塞", date(2026, 11, 2), date(2026, 11, 10))
    _hazard(app, a, "护栏松动", date(2026, 11, 15), date(2026, 11, 28))
    school = _client(app, "admin_a")
    page = school.get("/").get_data(as_text=True)
    tasks = page.split('data-testid="month-tasks"')[1].split("</section>")[0]
    assert month.code in tasks and "还剩14天" in tasks and "开始填报" in tasks
    counts = page.split('data-testid="hazard-counts"')[1].split("</section>")[0]
    assert ">2</span>" in counts and ">1</span>" in counts  # 2 open, 1 overdue
    assert 'data-testid="school-count">1<' in page  # what every role sees stays

    started = school.post(f"/periods/{month.period_id}/open-report")
    assert started.status_code == 302
    rid = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    page = school.get("/").get_data(as_text=True)
    assert f'href="/reports/{rid}"' in page and "0/4" in page

    inspector = _client(app, "inspector").get("/").get_data(as_text=True)
    assert 'data-testid="month-tasks"' not in inspector and 'data-testid="school-count">2<' in inspector


def test_dashboard_trend_lists_the_schools_monthly_scores(app: Any, district: District, month: Month) -> None:
    a = district.school_a.id
    rid = _open_report(app, a, month.period_id)
    evaluate_all_staff(app, a, month.period_id)
    _client(app, "admin_a").post(f"/reports/{rid}/action", data={"action": "submit"})
    _client(app, "inspector").post(f"/reports/{rid}/action", data={"action": "accept"})
    page = _client(app, "admin_a").get("/").get_data(as_text=True)
    trend = page.split('data-testid="trend"')[1].split("</section>")[0]
    assert month.code in trend and f"/schools/{a}/scores/{month.code}" in trend
    assert "90.0" in trend  # every staff member at 90%: staff area 90, the only area present


# --- the staff roster ------------------------------------------------------------------------------


def _staff_count(app: Any, school_id: int) -> int:
    with app.app_context(), use_scope(TenantScope.school(school_id)):
        n = db.session.scalar(select(func.count(StaffMember.id))) or 0
        db.session.remove()
    return n


def test_staff_form_shows_errors_beside_fields_and_saves_nothing(app: Any, district: District) -> None:
    a = district.school_a.id
    school = _client(app, "admin_a")
    form = school.get(f"/schools/{a}/staff/new")
    assert form.status_code == 200 and 'name="hire_date"' in form.get_data(as_text=True)

    before = _staff_count(app, a)
    resp = school.post(
        f"/schools/{a}/staff/new",
        data={
            "name": "",
            "role": "cook",
            "contract_type": "contract",
            "hire_date": "2026-13-40",
            "phone": "138",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'data-error-for="name"' in html and "此项为必填项" in html
    assert 'data-error-for="hire_date"' in html and "日期格式无效" in html
    assert 'data-testid="form-errors"' in html
    assert 'value="138"' in html  # the input is kept
    assert _staff_count(app, a) == before

    ok = school.post(
        f"/schools/{a}/staff/new",
        data={
            "name": "赵新厨",
            "gender": "女",
            "role": "cook",
            "contract_type": "contract",
            "hire_date": "2026-09-01",
            "health_cert_no": "JK-NEW",
            "health_cert_expiry": (TODAY + timedelta(days=5)).isoformat(),
        },
    )
    assert ok.status_code == 302 and f"/schools/{a}" in ok.headers["Location"]
    assert _staff_count(app, a) == before + 1
    page = school.get(f"/schools/{a}").get_data(as_text=True)
    row = page.split('data-testid="roster"')[1].split("赵新厨")[1].split("</tr>")[0]
    assert "JK-NEW" in row and "即将到期" in row  # the warning job ran after the commit


def test_staff_edit_and_leave(app: Any, district: District, month: Month) -> None:
    a = district.school_a.id
    (other,) = _add_staff(app, a, "周保洁")
    school = _client(app, "admin_a")
    edit = school.get(f"/staff/{district.staff_a.id}/edit").get_data(as_text=True)
    assert 'value="张甲厨"' in edit and 'value="JK-A"' in edit

    bad = school.post(
        f"/staff/{district.staff_a.id}/edit",
        data={"name": "张甲厨", "role": "chef", "contract_type": "contract", "hire_date": "2024-01-01"},
    )
    assert bad.status_code == 422 and 'data-error-for="role"' in bad.get_data(as_text=True)

    left = school.post(f"/staff/{other}/leave")
    assert left.status_code == 302
    # editing a person who left does not bring them back
    school.post(
        f"/staff/{other}/edit",
        data={
            "name": "周保洁",
            "role": "cleaner",
            "contract_type": "temporary",
            "hire_date": "2025-01-01",
            "phone": "139",
        },
    )
    with app.app_context(), use_scope(TenantScope.school(a)):
        member = db.session.scalars(select(StaffMember).where(StaffMember.id == other)).one()
        assert (member.active, member.phone) == (False, "139")
        db.session.remove()
    page = school.get(f"/schools/{a}").get_data(as_text=True)
    assert "已离职" in page.split(f'data-staff="{other}"')[1].split("</tr>")[0]
    # who left is no longer needed for the month
    rid = _open_report(app, a, month.period_id)
    assert _checklist(app, a, rid)["evaluations"].names == ("张甲厨",)


def test_staff_pages_refuse_other_roles_and_schools(app: Any, district: District) -> None:
    a, b = district.school_a.id, district.school_b.id
    inspector = _client(app, "inspector")
    assert inspector.get(f"/schools/{a}/staff/new").status_code == 403
    assert inspector.post(f"/staff/{district.staff_a.id}/leave").status_code == 403
    assert inspector.get(f"/staff/{district.staff_a.id}/vetoes").status_code == 200  # reads
    official = _client(app, "official")
    assert official.post(f"/staff/{district.staff_a.id}/edit", data={"name": "x"}).status_code == 403
    page = official.get(f"/schools/{a}").get_data(as_text=True)
    assert 'data-testid="staff-add"' not in page and 'data-testid="staff-leave"' not in page

    school = _client(app, "admin_a")
    assert school.get(f"/schools/{b}/staff/new").status_code == 404
    assert school.get(f"/staff/{district.staff_b.id}/edit").status_code == 404
    assert school.post(f"/staff/{district.staff_b.id}/leave").status_code == 404
    assert _staff_count(app, b) == 1

    admin = _client(app, "admin")  # the bureau admin edits every school's roster
    assert admin.get(f"/schools/{b}/staff/new").status_code == 200


def test_personal_vetoes_record_and_withdraw(app: Any, district: District, month: Month) -> None:
    staff = district.staff_a.id
    school = _client(app, "admin_a")
    future = school.post(
        f"/staff/{staff}/vetoes",
        data={"kind": "discipline", "occurred_on": (TODAY + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 422
    assert 'data-error-for="occurred_on"' in future.get_data(
        as_text=True
    ) and "不能晚于今天" in future.get_data(as_text=True)
    missing = school.post(f"/staff/{staff}/vetoes", data={"occurred_on": "2026-11-02"})
    assert missing.status_code == 422 and 'data-error-for="kind"' in missing.get_data(as_text=True)

    ok = school.post(
        f"/staff/{staff}/vetoes",
        data={"kind": "unexcused_absence", "occurred_on": "2026-11-02", "note": "旷工两天"},
    )
    assert ok.status_code == 302
    # the bureau's own entry, and an old one of the school's in a locked month
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        from service.staff import vetoes

        member = db.session.scalars(select(StaffMember).where(StaffMember.id == staff)).one()
        vetoes.record(
            member,
            {"kind": StaffVetoKind.KICKBACK, "occurred_on": date(2026, 11, 5)},
            user=None,
            by_bureau=True,
        )
        vetoes.record(
            member,
            {"kind": StaffVetoKind.DISCIPLINE, "occurred_on": date(2026, 9, 5)},
            user=None,
            by_bureau=False,
        )
        db.session.commit()
        ids = {v.kind: v.id for v in db.session.scalars(select(StaffVeto))}
        db.session.remove()

    page = school.get(f"/staff/{staff}/vetoes").get_data(as_text=True)
    assert "旷工两天" in page

    def has_button(html: str, veto_id: int) -> bool:
        return 'data-testid="withdraw"' in html.split(f'data-veto="{veto_id}"')[1].split("</tr>")[0]

    assert has_button(page, ids[StaffVetoKind.UNEXCUSED_ABSENCE])
    assert not has_button(page, ids[StaffVetoKind.KICKBACK])  # the bureau's
    assert not has_button(page, ids[StaffVetoKind.DISCIPLINE])  # its month is locked

    refused = school.post(f"/staff/{staff}/vetoes/{ids[StaffVetoKind.KICKBACK]}/withdraw")
    assert refused.status_code == 403 and "只能由教育局撤销" in refused.get_data(as_text=True)
    assert (
        school.post(f"/staff/{staff}/vetoes/{ids[StaffVetoKind.UNEXCUSED_ABSENCE]}/withdraw").status_code
        == 302
    )

    bureau = _client(app, "admin").get(f"/staff/{staff}/vetoes").get_data(as_text=True)
    assert has_button(bureau, ids[StaffVetoKind.KICKBACK]) and has_button(
        bureau, ids[StaffVetoKind.DISCIPLINE]
    )
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count(StaffVeto.id))) == 2
        db.session.remove()
    inspector = _client(app, "inspector").get(f"/staff/{staff}/vetoes").get_data(as_text=True)
    assert 'data-testid="veto-form"' not in inspector and 'data-testid="withdraw"' not in inspector
