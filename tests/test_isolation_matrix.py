"""For every route the app has: act as school A (or an inspector of A's cluster) and send school B's
ids in the path, the query and the body. Routes that take an id answer 404; no route shows or
changes anything of B's.

A route missing from the tables below fails :func:`test_matrix_covers_every_route`, so a new route
cannot skip this check.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import District, evaluate_all_staff, login

# Path parameters → which of school B's objects to put there.
ID_PARAMS = {
    "school_id": lambda d: d.school_b.id,
    "staff_id": lambda d: d.staff_b.id,
    "user_id": lambda d: d.admin_b.id,
    "token_id": lambda d: d.token_b_id,
    "report_id": lambda d: d.report_b_id,
    "request_id": lambda d: d.unlock_b_id,
    "hazard_id": lambda d: d.hazard_b_id,
    "incident_id": lambda d: d.incident_b_id,
    "evaluation_id": lambda d: d.evaluation_b_id,
    "inspection_id": lambda d: d.inspection_b_id,
    "appeal_id": lambda d: d.appeal_b_id,
    "candidate_id": lambda d: d.candidate_b_id,
    "veto_id": lambda d: d.staff_veto_b_id,
}
# Fixed values for parameters that are not school-owned ids. Rubrics are bureau-level: the district
# fixture seeds the default ones, so id 1 exists for each of these and the routes answer 200/403.
OTHER_PARAMS = {
    "code": "en",
    "filename": "houqin.css",
    "rubric_id": 1,
    "version_id": 1,
    "item_id": 1,
    "period_id": 1,  # bureau-level; created by the b_records fixture
    # Rankings: the month of b_records (ranked by it), its snapshot and a job run - all bureau-level.
    "kind": "month",
    "key": "2025-03",
    "period_code": "2025-03",
    "snapshot_id": 1,
    "job_id": 1,
    "round_id": 1,  # a published commendation round (bureau-level) holding B's award
    "cluster_id": 1,  # bureau-level (cluster 1 holds A and C; the settings pages are the bureau's)
}
UNSAFE = {"POST", "PATCH", "PUT", "DELETE"}

# Bodies for unsafe methods: valid for the route's schema, carrying B's ids wherever the schema
# has a field for one.
BODIES: dict[tuple[str, str], Any] = {
    ("accounts.Tokens", "POST"): lambda d: {"name": "matrix"},
    ("accounts.TokenItem", "DELETE"): lambda d: None,
    ("accounts.Users", "POST"): lambda d: {
        "username": "intruder",
        "display_name": "入侵者",
        "role": "school_admin",
        "password": "long-enough-1",
        "school_id": d.school_b.id,
    },
    ("accounts.UserItem", "PATCH"): lambda d: {"active": False, "password": "new-password-1"},
    ("org.Schools", "POST"): lambda d: {
        "code": "SX",
        "name": "新学校",
        "type": "primary",
        "canteen_mode": "none",
        "cluster_id": d.cluster_2.id,
    },
    ("org.SchoolItem", "PATCH"): lambda d: {"name": "被改名的乙小学", "active": False},
    ("staff.StaffCollection", "POST"): lambda d: {
        "school_id": d.school_b.id,
        "name": "冒名者",
        "role": "cook",
        "contract_type": "contract",
        "hire_date": "2024-01-01",
    },
    ("staff.StaffItem", "PATCH"): lambda d: {"name": "被改名的李乙厨", "active": False},
    ("staff.RecomputeCertificateWarnings", "POST"): lambda d: None,
    ("staff.StaffVetoes", "POST"): lambda d: {
        "kind": "discipline",
        "occurred_on": "2025-03-10",
        "note": "入侵",
    },
    ("staff.StaffVetoItem", "DELETE"): lambda d: None,
    ("rubrics.RubricVersions", "POST"): lambda d: {"note": "matrix"},
    ("rubrics.RubricVersionItem", "PATCH"): lambda d: {"note": "matrix", "settings": {"sample_grams": 150}},
    ("rubrics.RubricVersionItems", "POST"): lambda d: {
        "section_code": "A",
        "code": "A9",
        "text": "矩阵测试项",
        "deduction": "1.00",
    },
    ("rubrics.RubricItemResource", "PATCH"): lambda d: {"deduction": "3.00"},
    ("rubrics.RubricItemResource", "DELETE"): lambda d: None,
    ("rubrics.PublishRubricVersion", "POST"): lambda d: None,
    ("periods.Periods", "POST"): lambda d: {"year": 2026, "month": 11},
    ("periods.PeriodItem", "PATCH"): lambda d: {"lock_days": 3},
    ("periods.PeriodUnlockRequests", "POST"): lambda d: {"reason": "矩阵测试：本校申请"},
    ("periods.GrantUnlock", "POST"): lambda d: {"note": "同意"},
    ("periods.RefuseUnlock", "POST"): lambda d: {"note": "不同意"},
    ("reports.Reports", "POST"): lambda d: {"period_id": 1, "school_id": d.school_b.id},
    ("reports.SubmitReport", "POST"): lambda d: None,
    ("reports.ReturnReport", "POST"): lambda d: {"reason": "矩阵测试退回"},
    ("reports.AcceptReport", "POST"): lambda d: None,
    ("reports.ReopenReport", "POST"): lambda d: {"reason": "矩阵测试重开"},
    ("inspections.Inspections", "POST"): lambda d: {
        "school_id": d.school_b.id,
        "kind": "safety",
        "mode": "spot",
        "period_id": 1,
        "inspected_on": "2025-03-12",
        "items": [{"item_id": d.inspection_b_item_id, "result": "fail", "occurrences": 1}],
    },
    ("inspections.InspectionItem", "PATCH"): lambda d: {
        "notes": "矩阵测试改写",
        "items": [{"item_id": d.inspection_b_item_id, "result": "fail", "occurrences": 3}],
    },
    ("inspections.InspectionItem", "DELETE"): lambda d: None,
    ("inspections.CanteenFacts", "PUT"): lambda d: {
        "meals_served": 1,
        "menu_compliant_days": 0,
        "serving_days": 1,
        "leader_accompanied_meals": 0,
        "sampled_meals": 0,
        "food_waste_kg": "0.0",
    },
    ("evaluations.Evaluations", "POST"): lambda d: {
        "staff_id": d.staff_b.id,
        "period_id": 1,
        "ratings": [
            {
                "rater_group": "assessment",
                "rater_name": "矩阵",
                "scores": {"de": 1, "neng": 1, "qin": 1, "ji": 1, "lian": 1},
            }
        ],
    },
    ("evaluations.EvaluationItem", "PATCH"): lambda d: {
        "ratings": [
            {
                "rater_group": "assessment",
                "rater_name": "矩阵",
                "scores": {"de": 1, "neng": 1, "qin": 1, "ji": 1, "lian": 1},
            }
        ]
    },
    ("evaluations.EvaluationItem", "DELETE"): lambda d: None,
    ("hazards.Hazards", "POST"): lambda d: {
        "school_id": d.school_b.id,
        "title": "矩阵测试隐患",
        "location": "乙校操场",
        "severity": "high",
        "responsible_person": "冒名者",
        "found_on": "2025-03-05",
        "deadline": "2025-03-10",
    },
    ("hazards.HazardItem", "PATCH"): lambda d: {"title": "被改写的隐患", "deadline": "2099-01-01"},
    ("hazards.StartHazard", "POST"): lambda d: None,
    ("hazards.CloseHazard", "POST"): lambda d: {"closing_note": "矩阵测试销号", "closed_on": "2025-03-09"},
    ("hazards.ReopenHazard", "POST"): lambda d: {"reason": "矩阵测试重开"},
    ("incidents.Incidents", "POST"): lambda d: {
        "school_id": d.school_b.id,
        "type": "injury",
        "severity": "minor",
        "occurred_at": "2025-03-03T09:00:00+08:00",
    },
    ("incidents.IncidentItem", "PATCH"): lambda d: {"description": "被改写", "crowd_crush": False},
    ("appeals.Appeals", "POST"): lambda d: {"inspection_id": d.spot_b_id, "reason": "矩阵测试：冒名申诉"},
    ("appeals.AppealDecision", "POST"): lambda d: {"outcome": "upheld", "note": "矩阵测试裁决"},
    ("commendations.Rules", "PUT"): lambda d: {"settings": {"near_miss_points": "50"}, "note": "矩阵"},
    ("commendations.Rounds", "POST"): lambda d: {"kind": "term", "key": "2024-2025-2"},
    ("commendations.PublishRound", "POST"): lambda d: None,
    ("commendations.CandidateDecision", "POST"): lambda d: {"decision": "rejected", "comment": "矩阵测试"},
    ("web.commendation_propose", "POST"): lambda d: {"kind": "term", "key": "2024-2025-2"},
    ("web.commendation_decide", "POST"): lambda d: {"decision": "rejected", "comment": "矩阵测试"},
    ("web.commendation_publish", "POST"): lambda d: {},
    ("web.commendation_decide_many", "POST"): lambda d: {
        "candidate_id": [d.candidate_b_id],
        "decision": "rejected",
        "comment": "矩阵测试",
    },
    ("commendations.RoundDecisions", "POST"): lambda d: {
        "candidate_ids": [d.candidate_b_id],
        "decision": "rejected",
        "comment": "矩阵测试",
    },
    ("web.jobs_recompute", "POST"): lambda d: {"period": "2025-03"},
    ("rankings.Recompute", "POST"): lambda d: {"period": "2025-03"},
    ("scoring.ScoringRules", "PUT"): lambda d: {
        "area_weights": {"canteen": "0", "safety": "0", "staff": "100"},
        "spot_weight_percent": "70",
        "credibility_gap": "15",
        "late_deduction": "2",
        "bands": {"A": "90", "B": "75", "C": "60"},
        "max_missing_months": {"term": 1, "year": 1},
        "sensitivity_shift": "10",
    },
    ("web.report_action", "POST"): lambda d: {"action": "accept"},
    ("web.review_queue", "POST"): lambda d: {"action": "accept_selected", "report_id": [d.report_b_id]},
    ("web.appeal_new", "POST"): lambda d: {"reason": "矩阵测试：冒名申诉"},
    ("web.appeal_detail", "POST"): lambda d: {"outcome": "upheld", "note": "矩阵测试裁决"},
    # The staff roster pages (service/staff/views.py): B's school, person or veto → 404, nothing written.
    ("web.staff_new", "POST"): lambda d: {
        "name": "冒名者",
        "role": "cook",
        "contract_type": "contract",
        "hire_date": "2024-01-01",
    },
    ("web.staff_edit", "POST"): lambda d: {
        "name": "被改名的李乙厨",
        "role": "cook",
        "contract_type": "contract",
        "hire_date": "2024-01-01",
    },
    ("web.staff_leave", "POST"): lambda d: {},
    ("web.staff_vetoes", "POST"): lambda d: {
        "kind": "discipline",
        "occurred_on": "2025-03-10",
        "note": "入侵",
    },
    ("web.staff_veto_withdraw", "POST"): lambda d: {},
    ("web.open_report", "POST"): lambda d: {},
    ("excel.ReportUpload", "POST"): lambda d: None,  # no file: B's report id must answer 404 first
    # The settings pages (设置): the bureau admin's; B's user or school in the path → 404 first.
    ("web.rubric_new_version", "POST"): lambda d: {"note": "矩阵"},
    ("web.rubric_version", "POST"): lambda d: {
        "note": "矩阵",
        "section-0-code": "A",
        "section-0-max_points": "5",
    },
    ("web.rubric_item_new", "POST"): lambda d: {"section_code": "A", "code": "A9", "text": "矩阵测试项"},
    ("web.rubric_item_edit", "POST"): lambda d: {
        "section_code": "A",
        "code": "A1",
        "text": "矩阵",
        "deduction": "3",
    },
    ("web.rubric_item_delete", "POST"): lambda d: {},
    ("web.rubric_item_move", "POST"): lambda d: {"direction": "down"},
    ("web.rubric_publish", "POST"): lambda d: {"digest": "x"},
    ("web.settings_scoring_rules", "POST"): lambda d: {
        "area_weights.canteen": "0",
        "area_weights.safety": "0",
        "area_weights.staff": "100",
        "spot_weight_percent": "70",
        "late_deduction": "2",
        "credibility_gap": "15",
        "bands.A": "90",
        "bands.B": "75",
        "bands.C": "60",
        "max_missing_months.term": "1",
        "max_missing_months.year": "1",
        "sensitivity_shift": "10",
        "confirm": "1",
        "base_version": "0",
    },
    ("web.settings_commendation_rules", "POST"): lambda d: {
        "near_miss_points": "50",
        "confirm": "1",
        "base_version": "0",
    },
    ("web.settings_periods", "POST"): lambda d: {"year": "2026", "month": "12"},
    ("web.settings_period", "POST"): lambda d: {"deadline": "2099-01-01", "lock_days": "3"},
    ("web.settings_user_new", "POST"): lambda d: {
        "username": "intruder",
        "display_name": "入侵者",
        "role": "school_admin",
        "school_id": str(d.school_b.id),
        "password": "long-enough-1",
    },
    ("web.settings_user", "POST"): lambda d: {"display_name": "被改名", "role": "inspector", "school_id": ""},
    ("web.settings_user_password", "POST"): lambda d: {"mode": "set", "password": "new-password-1"},
    ("web.settings_user_active", "POST"): lambda d: {"active": "0"},
    ("web.settings_school_new", "POST"): lambda d: {
        "code": "SX",
        "name": "新学校",
        "type": "primary",
        "canteen_mode": "none",
        "cluster_id": str(d.cluster_2.id),
    },
    ("web.settings_school_edit", "POST"): lambda d: {
        "code": "SB",
        "name": "被改名的乙小学",
        "type": "primary",
        "canteen_mode": "none",
        "cluster_id": str(d.cluster_2.id),
    },
    ("web.settings_cluster_new", "POST"): lambda d: {"code": "C9", "name": "入侵片区"},
    ("web.settings_cluster_edit", "POST"): lambda d: {"code": "C1", "name": "被改名片区"},
    ("org.Clusters", "POST"): lambda d: {"code": "C9", "name": "入侵片区"},
    ("org.ClusterItem", "PATCH"): lambda d: {"name": "被改名片区", "supervisor_id": None},
    ("web.login", "POST"): lambda d: {"username": "admin_b", "password": "wrong-password"},
    ("web.logout", "POST"): lambda d: {},
    ("web.tokens", "POST"): lambda d: {"name": "matrix"},
    # One's own password: a wrong current one (422), so the actor's later logins still work.
    ("web.change_password", "POST"): lambda d: {
        "current_password": "wrong-password",
        "password": "matrix-new-pass-77",
        "repeat": "matrix-new-pass-77",
    },
    ("web.revoke_token", "POST"): lambda d: {},
    # The unlock-request board (service/cockpit/views.py): B's request id in the body → 404, nothing decided.
    ("web.unlock_requests", "POST"): lambda d: {
        "request_id": d.unlock_b_id,
        "action": "grant",
        "note": "矩阵",
    },
}

# What a route without a school-owned id in its path (a collection, or a bureau-level row such as a
# rubric) may answer when B's ids are in its query or body.
COLLECTION_EXPECT = {
    ("staff.StaffCollection", "POST"): {404},  # body names school B → not found
    ("evaluations.Evaluations", "POST"): {404},  # body names B's staff member → not found
    ("accounts.Users", "POST"): {403},  # only the bureau admin creates accounts
    ("org.Schools", "POST"): {403},
    # Rubrics are bureau-level: everybody reads them, only the bureau admin changes them.
    ("rubrics.Rubrics", "GET"): {200},
    ("rubrics.RubricVersions", "GET"): {200},
    ("rubrics.RubricVersions", "POST"): {403},
    ("rubrics.RubricVersionItem", "GET"): {200},
    ("rubrics.RubricVersionItem", "PATCH"): {403},
    ("rubrics.RubricVersionItems", "POST"): {403},
    ("rubrics.RubricItemResource", "GET"): {200},
    ("rubrics.RubricItemResource", "PATCH"): {403},
    ("rubrics.RubricItemResource", "DELETE"): {403},
    ("rubrics.PublishRubricVersion", "POST"): {403},
    ("hazards.Hazards", "POST"): {404},  # body names school B → not found
    ("incidents.Incidents", "POST"): {404},  # body names school B → not found
    ("inspections.Inspections", "POST"): {404},  # body names school B → not found
    ("appeals.Appeals", "POST"): {404},  # body names B's spot inspection → not found
    # Bureau roles and inspectors (their cluster only); school admins are refused.
    ("excel.CompletenessExport", "GET"): {200, 403},
    # Rankings: entries in scope only; what holds every school (sensitivity, payload, job runs) and
    # what changes rankings or rules is for the bureau.
    ("rankings.Ranking", "GET"): {200},
    ("rankings.SnapshotItem", "GET"): {200},
    ("rankings.Sensitivity", "GET"): {403},
    ("rankings.SnapshotPayload", "GET"): {403},
    ("rankings.Recompute", "POST"): {403},
    ("jobs.JobItem", "GET"): {403},
    ("scoring.ScoringRules", "GET"): {200},
    ("scoring.ScoringRules", "PUT"): {403},
    ("web.rankings", "GET"): {200},
    # Commendations: everyone reads the rules and a published round (its lines in scope only);
    # only the bureau admin changes rules, proposes and publishes.
    ("commendations.Rules", "GET"): {200},
    ("commendations.Rules", "PUT"): {403},
    ("commendations.Rounds", "GET"): {200},
    ("commendations.Rounds", "POST"): {403},
    ("commendations.RoundItem", "GET"): {200},
    ("commendations.RoundCandidates", "GET"): {200},
    ("commendations.PublishRound", "POST"): {403},
    ("commendations.AwardsWorkbook", "GET"): {200},
    ("web.commendations", "GET"): {200},
    ("web.commendation_propose", "POST"): {403},
    ("web.commendation_round", "GET"): {200},
    ("web.commendation_publish", "POST"): {403},
    # Bulk decisions and the confirmation before 公布: the bureau admin's; the certificate progress
    # line is read by whoever sees the round (a school its own certificates).
    ("web.commendation_decide_many", "POST"): {403},
    ("web.commendation_publish", "GET"): {403},
    ("web.commendation_certificates", "GET"): {200},
    ("commendations.RoundDecisions", "POST"): {403},
    ("commendations.Publication", "GET"): {403},
    # The jobs page, its runs and the heartbeat: bureau roles only.
    ("web.jobs", "GET"): {403},
    ("web.jobs_recompute", "POST"): {403},
    ("web.job_run", "GET"): {403},
    ("web.job_progress", "GET"): {403},
    ("jobs.Heartbeat", "GET"): {403},
    # Review (审核): reviewers see their scope's submitted reports, school admins are refused; a posted
    # report id of B's is not found. Appeals: everybody sees the appeals of their own scope.
    ("web.review_queue", "GET"): {200, 403},
    ("web.review_queue", "POST"): {404},
    ("web.appeal_queue", "GET"): {200},
    # The ranking's xlsx export: the page's rows in scope. The boards (看板): bureau roles and inspectors
    # (their clusters' schools), school admins refused; an unlock request of B's is not found.
    ("web.rankings_export", "GET"): {200},
    ("web.board_hazards", "GET"): {200, 403},
    ("web.board_vetoes", "GET"): {200, 403},
    ("web.board_awaiting", "GET"): {200, 403},
    ("web.unlock_requests", "GET"): {200, 403},
    ("web.unlock_requests", "POST"): {404},
    # Clusters are bureau-level: everyone reads one, only the bureau admin adds or changes them.
    ("org.Clusters", "POST"): {403},
    ("org.ClusterItem", "GET"): {200},
    ("org.ClusterItem", "PATCH"): {403},
}
# The settings pages (设置) are the bureau's: a school admin or an inspector is refused every one
# without a school-owned id (those with B's user or school answer 404 above).
for _endpoint in (
    "web.settings",
    "web.settings_rubrics",
    "web.rubric_new_version",
    "web.rubric_version",
    "web.rubric_item_new",
    "web.rubric_item_edit",
    "web.rubric_item_delete",
    "web.rubric_item_move",
    "web.rubric_publish",
    "web.settings_rules",
    "web.settings_scoring_rules",
    "web.settings_commendation_rules",
    "web.settings_periods",
    "web.settings_period",
    "web.settings_users",
    "web.settings_user_new",
    "web.settings_schools",
    "web.settings_school_new",
    "web.settings_cluster_new",
    "web.settings_cluster_edit",
):
    for _method in ("GET", "POST"):
        COLLECTION_EXPECT[(_endpoint, _method)] = {403}

B_MARKERS: tuple[str, ...] = (
    "乙小学",
    "李乙厨",
    "JK-B",
    "admin_b",
    "ADMIN_B",
    "乙校申请解锁",
    "乙校食堂自查",
)


def _routes(app: Any) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return out


def _fingerprint(app: Any, d: District) -> dict[str, Any]:
    """Everything of school B's, read in the bureau scope."""
    from service.accounts.models import ApiToken, User
    from service.db import db
    from service.evaluations.models import Evaluation, EvaluationRating
    from service.inspections.models import CanteenMonthlyFacts, Inspection, InspectionItemResult
    from service.org.models import School
    from service.periods.models import Period, UnlockRequest
    from service.reports.models import MonthlyReport, ReportTransition
    from service.staff.models import CertificateWarning, StaffMember, StaffVeto
    from tenants import TenantScope, use_scope

    def rows(stmt: Any) -> list[tuple]:
        return [tuple(r) for r in db.session.execute(stmt).all()]

    with app.app_context(), use_scope(TenantScope.bureau()):
        fp = {
            "school": rows(select(*School.__table__.c).where(School.id == d.school_b.id)),
            "staff": rows(select(*StaffMember.__table__.c).where(StaffMember.school_id == d.school_b.id)),
            "users": rows(select(*User.__table__.c).where(User.school_id == d.school_b.id)),
            "tokens": rows(select(*ApiToken.__table__.c).where(ApiToken.user_id == d.admin_b.id)),
            "warnings": rows(
                select(*CertificateWarning.__table__.c).where(CertificateWarning.school_id == d.school_b.id)
            ),
            "schools": rows(select(School.id).order_by(School.id)),
            **_b_hazard_rows(rows, d),
            **_b_ranking_rows(rows, d),
            **_b_appeal_rows(rows, d),
            **_b_commendation_rows(rows, d),
            "staff_vetoes": rows(select(*StaffVeto.__table__.c).where(StaffVeto.school_id == d.school_b.id)),
            "reports": rows(
                select(*MonthlyReport.__table__.c).where(MonthlyReport.school_id == d.school_b.id)
            ),
            "transitions": rows(
                select(*ReportTransition.__table__.c).where(ReportTransition.school_id == d.school_b.id)
            ),
            "unlocks": rows(
                select(*UnlockRequest.__table__.c).where(UnlockRequest.school_id == d.school_b.id)
            ),
            "periods": rows(select(*Period.__table__.c)),
            "evaluations": rows(select(*Evaluation.__table__.c).where(Evaluation.school_id == d.school_b.id)),
            "evaluation_ratings": rows(
                select(*EvaluationRating.__table__.c).where(EvaluationRating.school_id == d.school_b.id)
            ),
            "inspections": rows(select(*Inspection.__table__.c).where(Inspection.school_id == d.school_b.id)),
            "inspection_results": rows(
                select(*InspectionItemResult.__table__.c).where(
                    InspectionItemResult.school_id == d.school_b.id
                )
            ),
            "canteen_facts": rows(
                select(*CanteenMonthlyFacts.__table__.c).where(CanteenMonthlyFacts.school_id == d.school_b.id)
            ),
        }
        db.session.remove()
    return fp


def test_matrix_covers_every_route(app: Any) -> None:
    missing = []
    for endpoint, method, rule in _routes(app):
        params = [a for a in app.url_map._rules_by_endpoint[endpoint][0].arguments]
        unknown = [p for p in params if p not in ID_PARAMS and p not in OTHER_PARAMS]
        if unknown:
            missing.append(f"{method} {rule}: no B value for {unknown}")
        if method in UNSAFE and (endpoint, method) not in BODIES:
            missing.append(f"{method} {rule}: no body in BODIES")
    assert not missing, "routes not covered by the isolation matrix:\n" + "\n".join(missing)


@pytest.fixture
def b_records(app: Any, district: District) -> District:
    """School B's workflow records: a submitted report and a pending unlock request (period id 1)."""
    from datetime import date

    from service.db import db
    from service.periods.models import Period, UnlockRequest
    from service.reports import operations as reports
    from tenants import TenantScope, use_scope

    with app.app_context():
        with use_scope(TenantScope.bureau()):
            period = Period(year=2025, month=3, deadline=date(2025, 4, 5), lock_days=10)
            db.session.add(period)
            db.session.commit()
        with use_scope(TenantScope.school(district.school_b.id)):
            period = db.session.get(Period, period.id)
            report = reports.open_report(period)
            report.state = reports.ReportState.RETURNED  # so that "submit" would be a valid move for B
            unlock = UnlockRequest(period_id=period.id, reason="乙校申请解锁")
            db.session.add(unlock)
            db.session.commit()
            district.report_b_id = report.id  # type: ignore[attr-defined]
            district.unlock_b_id = unlock.id  # type: ignore[attr-defined]
            _b_inspection(district, period, report)
            _b_hazards(district, period)
            _b_appeal(district, period)
            period_id = period.id
        db.session.remove()
    # B's staff member evaluated for the month (a B-owned evaluation with a rating)
    district.evaluation_b_id = evaluate_all_staff(app, district.school_b.id, period_id)[0]  # type: ignore[attr-defined]
    _rank(app, period_id)
    _b_commendation(app, district)
    _b_staff_veto(app, district)
    return district


def _b_inspection(district: District, period: Any, report: Any) -> None:
    """School B's canteen self-inspection (one failed item) and canteen facts, in B's scope."""
    from datetime import date
    from decimal import Decimal

    from service.db import db
    from service.inspections.models import (
        CanteenMonthlyFacts,
        Grade,
        Inspection,
        InspectionItemResult,
        InspectionKind,
        InspectionMode,
        ItemOutcome,
    )
    from service.rubrics.models import RubricKind
    from service.rubrics.operations import current_version

    version = current_version(RubricKind.CANTEEN)
    item = version.all_items()[1]
    inspection = Inspection(
        kind=InspectionKind.CANTEEN,
        mode=InspectionMode.SELF,
        rubric_version_id=version.id,
        period_id=period.id,
        report_id=report.id,
        inspected_on=date(2025, 3, 10),
        inspector_name="乙校总务处",
        notes="乙校食堂自查",
        score=Decimal("98.0"),
        grade=Grade.A,
        section_scores={},
    )
    inspection.results.append(InspectionItemResult(item_id=item.id, result=ItemOutcome.FAIL, occurrences=1))
    facts = CanteenMonthlyFacts(
        period_id=period.id,
        report_id=report.id,
        meals_served=66,
        menu_compliant_days=20,
        serving_days=22,
        leader_accompanied_meals=60,
        sampled_meals=66,
        food_waste_kg=Decimal("120.5"),
    )
    db.session.add_all([inspection, facts])
    db.session.commit()
    district.inspection_b_id = inspection.id  # type: ignore[attr-defined]
    district.inspection_b_item_id = item.id  # type: ignore[attr-defined]


@pytest.mark.parametrize("actor", ["admin_a", "inspector"])
def test_school_b_is_unreachable_from_a(app: Any, b_records: District, actor: str) -> None:
    d = b_records
    before = _fingerprint(app, d)
    query = {
        "school_id": d.school_b.id,
        "staff_id": d.staff_b.id,
        "user_id": d.admin_b.id,
        "cluster_id": d.cluster_2.id,
        "report_id": d.report_b_id,
        "period_id": 1,
        "school": d.school_b.id,  # the compare page's name for a school id (GET /compare?school=…)
    }
    failures: list[str] = []
    for endpoint, method, _rule in _routes(app):
        if endpoint == "web.logout":
            continue  # exercised last: it ends the web session the other routes use
        failures += _probe(app, d, actor, endpoint, method, query)
    failures += _probe(app, d, actor, "web.logout", "POST", query)
    after = _fingerprint(app, d)
    assert after == before, "school B's data changed"
    assert not failures, "\n".join(failures)


def _response_text(resp: Any) -> str:
    """The body as text; an xlsx download is unzipped, so B's names inside a workbook are found too."""
    if resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(resp.get_data())) as archive:
            return "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return resp.get_data(as_text=True)


def _probe(app: Any, d: District, actor: str, endpoint: str, method: str, query: dict) -> list[str]:
    rule = app.url_map._rules_by_endpoint[endpoint][0]
    values = {a: ID_PARAMS[a](d) if a in ID_PARAMS else OTHER_PARAMS[a] for a in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        path = url_for(endpoint, **values)
    # Only school-owned ids make a route answer 404 to A; OTHER_PARAMS (rubric ids, ...) are shared rows.
    has_id = any(a in ID_PARAMS for a in rule.arguments)
    body = BODIES[(endpoint, method)](d) if method in UNSAFE else None

    client = app.test_client()
    is_api = rule.rule.startswith("/api/")
    kwargs: dict[str, Any] = {"query_string": query, "follow_redirects": False}
    if is_api:
        kwargs["headers"] = d.headers(actor)
        if body is not None:
            kwargs["json"] = body
    else:
        login(client, actor)
        if body is not None:
            kwargs["data"] = body
    resp = client.open(path, method=method, **kwargs)
    text = _response_text(resp) if not rule.rule.startswith("/static") else ""
    where = f"{actor}: {method} {path}"
    problems = []
    if resp.status_code >= 500:
        problems.append(f"{where} → {resp.status_code}")
    if has_id and resp.status_code != 404:
        problems.append(f"{where} → {resp.status_code}, expected 404")
    expected = COLLECTION_EXPECT.get((endpoint, method))
    if not has_id and expected and resp.status_code not in expected:
        problems.append(f"{where} → {resp.status_code}, expected {sorted(expected)}")
    leaked = [m for m in B_MARKERS if m in text]
    if leaked and endpoint != "web.login":
        problems.append(f"{where} shows school B's data: {leaked}")
    outside = sorted(_school_ids_in(resp) - _visible_to(d, actor))
    if outside:
        problems.append(f"{where} returns rows of schools {outside}")
    return problems


def _visible_to(d: District, actor: str) -> set[int]:
    return {d.school_a.id, d.school_c.id} if actor == "inspector" else {d.school_a.id}


def _school_ids_in(resp: Any) -> set[int]:
    """Every ``school_id`` in a JSON answer (lists and nested objects) - a leak without name markers."""
    if not resp.is_json:
        return set()
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            sid = node.get("school_id")
            if isinstance(sid, int):
                found.add(sid)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(resp.get_json(silent=True))
    return found


def test_bureau_admin_reaches_school_b(app: Any, district: District) -> None:
    """The same probes succeed for the bureau: the matrix is not passing because routes are broken."""
    d = district
    headers = d.headers("admin")
    assert app.test_client().get(f"/api/v1/schools/{d.school_b.id}", headers=headers).status_code == 200
    assert app.test_client().get(f"/api/v1/staff/{d.staff_b.id}", headers=headers).status_code == 200
    assert app.test_client().get(f"/api/v1/users/{d.admin_b.id}", headers=headers).status_code == 200
    resp = app.test_client().patch(
        f"/api/v1/staff/{d.staff_b.id}", json={"name": "李乙厨改"}, headers=headers
    )
    assert resp.status_code == 200 and resp.get_json()["name"] == "李乙厨改"
    client = app.test_client()
    login(client, "admin")
    assert "乙小学" in client.get(f"/schools/{d.school_b.id}").get_data(as_text=True)


def test_school_a_reaches_its_own_rows(app: Any, district: District) -> None:
    d = district
    headers = d.headers("admin_a")
    client = app.test_client()
    assert client.get(f"/api/v1/schools/{d.school_a.id}", headers=headers).status_code == 200
    resp = client.patch(f"/api/v1/staff/{d.staff_a.id}", json={"name": "张甲厨改"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["name"] == "张甲厨改"
    # A's own school record is the bureau's to change: found, but refused.
    assert (
        client.patch(f"/api/v1/schools/{d.school_a.id}", json={"name": "新名字"}, headers=headers).status_code
        == 403
    )


# --- hazards, incidents, vetoes (service/hazards, service/incidents) -------------------------------

B_MARKERS += ("乙校消防隐患", "乙校学生受伤")


def _b_hazards(district: District, period: Any) -> None:
    """School B's rectification notice (in rectification, with its log), an incident and its veto."""
    from datetime import UTC, date, datetime

    from service.db import db
    from service.hazards.models import Hazard, HazardSeverity, HazardState, HazardTransition
    from service.incidents.models import Incident, IncidentSeverity, IncidentType
    from service.incidents.vetoes import evaluate_incident_vetoes, record_failed_veto_item

    hazard = Hazard(
        title="乙校消防隐患",
        location="乙校食堂后门",
        severity=HazardSeverity.HIGH,
        responsible_person="乙校电工",
        found_on=date(2025, 3, 5),
        deadline=date(2025, 3, 10),
        state=HazardState.RECTIFYING,  # so that "close" would be a valid move for B
        period_id=period.id,
    )
    db.session.add(hazard)
    db.session.flush()
    db.session.add(
        HazardTransition(
            hazard_id=hazard.id, from_state=HazardState.OPEN, to_state=HazardState.RECTIFYING, action="start"
        )
    )
    incident = Incident(
        type=IncidentType.INJURY,
        severity=IncidentSeverity.MINOR,
        occurred_at=datetime(2025, 3, 3, 1, 0, tzinfo=UTC),
        reported_at=datetime(2025, 3, 3, 1, 30, tzinfo=UTC),
        description="乙校学生受伤",
        crowd_crush=True,
        period_id=period.id,
    )
    db.session.add(incident)
    db.session.flush()
    evaluate_incident_vetoes(incident)
    record_failed_veto_item(district.school_b.id, 9999, "D6", date(2025, 3, 12))
    db.session.commit()
    district.hazard_b_id = hazard.id  # type: ignore[attr-defined]
    district.incident_b_id = incident.id  # type: ignore[attr-defined]


def _b_hazard_rows(rows: Any, d: District) -> dict[str, Any]:
    from service.hazards.models import Hazard, HazardTransition
    from service.incidents.models import Incident
    from service.incidents.vetoes import Veto

    b = d.school_b.id
    return {
        "hazards": rows(select(*Hazard.__table__.c).where(Hazard.school_id == b)),
        "hazard_transitions": rows(
            select(*HazardTransition.__table__.c).where(HazardTransition.school_id == b)
        ),
        "incidents": rows(select(*Incident.__table__.c).where(Incident.school_id == b)),
        "vetoes": rows(select(*Veto.__table__.c).where(Veto.school_id == b).order_by(Veto.id)),
    }


# --- the monthly forms in the browser (issue 10: canteen facts, staff grid, hazards, incidents) -------

BODIES.update(
    {
        ("web.facts_edit", "POST"): lambda d: {
            "meals_served": "1",
            "menu_compliant_days": "0",
            "serving_days": "1",
            "leader_accompanied_meals": "0",
            "sampled_meals": "0",
            "food_waste_kg": "0.0",
        },
        ("web.evaluations_grid", "POST"): lambda d: {
            **{f"row-{d.staff_b.id}-{code}": "1" for code in ("de", "neng", "qin", "ji", "lian")},
        },
        ("web.hazard_new", "POST"): lambda d: {
            "school_id": str(d.school_b.id),
            "title": "矩阵测试隐患",
            "location": "乙校操场",
            "severity": "high",
            "responsible_person": "冒名者",
            "found_on": "2025-03-05",
            "deadline": "2025-03-10",
        },
        ("web.hazard_edit", "POST"): lambda d: {
            "title": "被改写的隐患",
            "location": "乙校操场",
            "severity": "low",
            "responsible_person": "冒名者",
            "found_on": "2025-03-05",
            "deadline": "2099-01-01",
        },
        ("web.hazard_action", "POST"): lambda d: {
            "action": "close",
            "closing_note": "矩阵测试销号",
            "closed_on": "2025-03-09",
        },
        ("web.incident_new", "POST"): lambda d: {
            "school_id": str(d.school_b.id),
            "type": "injury",
            "severity": "minor",
            "occurred_at": "2025-03-03T09:00",
            "confirm_late": "1",
        },
        ("web.incident_edit", "POST"): lambda d: {
            "type": "injury",
            "severity": "minor",
            "occurred_at": "2025-03-03T09:00",
            "description": "被改写",
        },
    }
)
COLLECTION_EXPECT.update(
    {
        ("web.hazard_list", "GET"): {200},  # the scope's notices only
        ("web.hazard_new", "GET"): {200},  # school admins and inspectors both issue notices
        ("web.hazard_new", "POST"): {404},  # body names school B → not found
        ("web.incident_list", "GET"): {200},
        ("web.incident_new", "GET"): {200, 403},  # inspectors read incidents, they do not report them
        ("web.incident_new", "POST"): {404},  # body names school B → not found
    }
)


# --- spot-inspection appeals (service/appeals) ------------------------------------------------------

B_MARKERS += ("乙校申诉理由",)


def _b_appeal(district: District, period: Any) -> None:
    """School B's spot inspection (by the bureau admin) and B's open appeal against it, with its log."""
    from datetime import date
    from decimal import Decimal

    from service.appeals.models import AppealState, InspectionAppeal, InspectionAppealTransition
    from service.db import db
    from service.inspections.models import Grade, Inspection, InspectionKind, InspectionMode
    from service.rubrics.models import RubricKind
    from service.rubrics.operations import current_version

    spot = Inspection(
        kind=InspectionKind.CANTEEN,
        mode=InspectionMode.SPOT,
        rubric_version_id=current_version(RubricKind.CANTEEN).id,
        period_id=period.id,
        inspected_on=date(2025, 3, 12),
        inspector_name="督查组",
        inspector_user_id=district.admin.id,
        score=Decimal("88.0"),
        grade=Grade.B,
        section_scores={},
    )
    db.session.add(spot)
    db.session.flush()
    appeal = InspectionAppeal(
        inspection_id=spot.id, reason="乙校申诉理由", state=AppealState.SUBMITTED, due_on=date(2025, 3, 26)
    )
    db.session.add(appeal)
    db.session.flush()
    db.session.add(
        InspectionAppealTransition(
            appeal_id=appeal.id,
            from_state=None,
            to_state=AppealState.SUBMITTED,
            action="file",
            note="乙校申诉理由",
        )
    )
    db.session.commit()
    district.spot_b_id = spot.id  # type: ignore[attr-defined]
    district.appeal_b_id = appeal.id  # type: ignore[attr-defined]


def _b_appeal_rows(rows: Any, d: District) -> dict[str, Any]:
    from service.appeals.models import InspectionAppeal, InspectionAppealTransition

    b = d.school_b.id
    return {
        "appeals": rows(select(*InspectionAppeal.__table__.c).where(InspectionAppeal.school_id == b)),
        "appeal_transitions": rows(
            select(*InspectionAppealTransition.__table__.c).where(InspectionAppealTransition.school_id == b)
        ),
    }


# --- commendations (service/commendations) ------------------------------------------------------------

B_MARKERS += ("乙校表彰理由",)


def _b_commendation(app: Any, district: District) -> None:
    """A published round (id 1) with B's approved 优秀后勤人员 award and its certificate."""
    from service.commendations.models import (
        Commendation,
        CommendationCandidate,
        CommendationCertificate,
        CommendationRound,
        Decision,
        RoundKind,
        RoundState,
    )
    from service.core.types import utcnow
    from service.db import db
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        row = CommendationRound(
            kind=RoundKind.TERM,
            key="2024-2025-2",
            state=RoundState.PUBLISHED,
            computed_at=utcnow(),
            published_at=utcnow(),
        )
        db.session.add(row)
        db.session.flush()
        number = "2024-2025-2-YXHQ-001"
        cand = CommendationCandidate(
            round_id=row.id,
            school_id=district.school_b.id,
            commendation=Commendation.OUTSTANDING_STAFF,
            staff_id=district.staff_b.id,
            subject=f"staff:{district.staff_b.id}",
            qualifies=True,
            reasons=[
                {
                    "code": "person_mean",
                    "ok": True,
                    "zh": "乙校表彰理由",
                    "en": "B",
                    "value": None,
                    "threshold": None,
                }
            ],
            decision=Decision.APPROVED,
            comment="乙校表彰理由",
            certificate_no=number,
        )
        db.session.add(cand)
        db.session.flush()
        db.session.add(
            CommendationCertificate(
                school_id=district.school_b.id,
                candidate_id=cand.id,
                certificate_no=number,
                pdf=b"%PDF-1.7 B",
                sha256="0" * 64,
            )
        )
        db.session.commit()
        district.candidate_b_id = cand.id  # type: ignore[attr-defined]
        db.session.remove()


B_MARKERS += ("乙校个人否决记录",)


def _b_staff_veto(app: Any, district: District) -> None:
    """A personal veto (优秀后勤人员) of B's staff member."""
    from datetime import date

    from service.db import db
    from service.staff.models import StaffVeto, StaffVetoKind
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.school(district.school_b.id)):
        veto = StaffVeto(
            staff_id=district.staff_b.id,
            kind=StaffVetoKind.UNEXCUSED_ABSENCE,
            occurred_on=date(2025, 3, 3),
            ends_on=date(2026, 3, 3),
            note="乙校个人否决记录",
        )
        db.session.add(veto)
        db.session.commit()
        district.staff_veto_b_id = veto.id  # type: ignore[attr-defined]
        db.session.remove()


def _b_commendation_rows(rows: Any, d: District) -> dict[str, Any]:
    from service.commendations.models import CommendationCandidate, CommendationCertificate, CommendationRound

    b = d.school_b.id
    return {
        "commendation_rounds": rows(select(*CommendationRound.__table__.c)),
        "commendation_candidates": rows(
            select(*CommendationCandidate.__table__.c).where(CommendationCandidate.school_id == b)
        ),
        "commendation_certificates": rows(
            select(*CommendationCertificate.__table__.c).where(CommendationCertificate.school_id == b)
        ),
    }


# --- scores and rankings (service/scoring, service/rankings) --------------------------------------------


def _rank(app: Any, period_id: int) -> None:
    """Score and rank the month in the bureau scope: every school, B included, has an entry (snapshot 1)."""
    from service.db import db
    from service.rankings.jobs import recompute_period
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        recompute_period(period_id)
        db.session.commit()
        db.session.remove()


def _b_ranking_rows(rows: Any, d: District) -> dict[str, Any]:
    from service.rankings.models import RankingEntry, RankingSnapshot
    from service.rules.models import RuleSet
    from service.scoring.models import SchoolMonthScore

    b = d.school_b.id
    return {
        "month_scores": rows(select(*SchoolMonthScore.__table__.c).where(SchoolMonthScore.school_id == b)),
        "ranking_entries": rows(select(*RankingEntry.__table__.c).where(RankingEntry.school_id == b)),
        "ranking_snapshots": rows(select(RankingSnapshot.id, RankingSnapshot.payload_hash)),
        "rule_sets": rows(select(RuleSet.id, RuleSet.version)),
    }


# --- the inspection form pages (service/inspections/views.py) ----------------------------------------


def _inspection_form(d: District) -> dict[str, Any]:
    """The form the inspection pages post, judging B's rubric item (the rest is left unjudged)."""
    return {
        "inspected_on": "2025-03-12",
        "inspector_name": "矩阵",
        "notes": "矩阵测试改写",
        "unannounced": "1",
        f"item-{d.inspection_b_item_id}-result": "fail",
        f"item-{d.inspection_b_item_id}-occurrences": "3",
    }


BODIES.update(
    {
        ("web.inspection_new", "POST"): _inspection_form,
        ("web.spot_inspection_new", "POST"): _inspection_form,
        ("web.inspection_edit", "POST"): _inspection_form,
        ("web.inspection_delete", "POST"): lambda d: {},
        # bureau-level: the published canteen rubric (version id 1) and a result, never a school's row
        ("web.inspection_preview", "POST"): lambda d: {"rubric_version_id": 1, **_inspection_form(d)},
    }
)
COLLECTION_EXPECT.update(
    {
        ("web.inspection_preview", "POST"): {200},
        ("web.spot_inspections", "GET"): {200, 403},  # inspectors and the bureau admin; not a school
    }
)


# --- the monthly workbook's pages (service/excel/views.py) ----------------------------------------------

BODIES.update(
    {
        # no file, and a token that names nothing: B's report id must answer 404 before either is read
        ("web.report_excel_upload", "POST"): lambda d: {},
        ("web.report_excel_confirm", "POST"): lambda d: {"token": "matrix", "action": "confirm"},
    }
)


# --- the compare page (service/cockpit/compare_views.py) --------------------------------------------------

COLLECTION_EXPECT.update(
    {
        # ?school=<B>: an inspector of A's cluster is told B does not exist; school admins may not compare
        ("web.compare", "GET"): {403, 404},
    }
)


# --- bulletins and report cards (service/bulletins/views.py) --------------------------------------------

# A report card's month (bureau-level, ranked by b_records); B's school id in the path → 404.
OTHER_PARAMS["period"] = "2025-03"
COLLECTION_EXPECT.update(
    {
        # the bulletin names every school: bureau roles only
        ("web.bulletin_preview", "GET"): {403},
        ("web.bulletin_pdf", "GET"): {403},
        ("web.bulletin_xlsx", "GET"): {403},
    }
)


# --- notices (service/notices/views.py): the bureau admin's pages; every user's own choices -------------

OTHER_PARAMS.update(
    {
        # bureau-level rows (schedules, runs, deliveries) and the embedded outbox's files: the pages
        # refuse every role but the bureau admin before looking anything up
        "schedule_id": 1,
        "run_id": 1,
        "delivery_id": 1,
        "message_name": "notice-0000001.eml",
        "part_index": 1,
    }
)
BODIES.update(
    {
        ("web.notice_schedule_new", "POST"): lambda d: {
            "name": "矩阵",
            "kind": "bulletin",
            "rule": "monthly",
            "day_of_month": "20",
            "audience": "school_admins",
        },
        ("web.notice_schedule_edit", "POST"): lambda d: {
            "name": "矩阵",
            "kind": "bulletin",
            "rule": "monthly",
            "day_of_month": "20",
            "audience": "school_admins",
        },
        ("web.notice_schedule_action", "POST"): lambda d: {"action": "send_now"},
        ("web.notice_resend", "POST"): lambda d: {},
        ("web.my_notices", "POST"): lambda d: {},
    }
)
COLLECTION_EXPECT.update(
    {
        ("web.notice_schedules", "GET"): {403},
        ("web.notice_schedule_new", "GET"): {403},
        ("web.notice_schedule_new", "POST"): {403},
        ("web.notice_schedule_edit", "GET"): {403},
        ("web.notice_schedule_edit", "POST"): {403},
        ("web.notice_schedule_action", "POST"): {403},
        ("web.notice_run", "GET"): {403},
        ("web.notice_resend", "POST"): {403},
        ("web.notice_failures", "GET"): {403},
        ("web.mail_outbox", "GET"): {403},
        ("web.mail_message", "GET"): {403},
        ("web.mail_part", "GET"): {403},
        ("web.my_notices", "GET"): {200},  # the user's own choices, nothing of B's
        ("web.my_notices", "POST"): {302},
    }
)
