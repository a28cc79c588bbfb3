"""Staff evaluations (后勤人员考核): hand-computed scores, refusals, the submission check, version pinning."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from service.db import db
from service.evaluations import operations as evaluations
from service.evaluations import scoring
from service.evaluations.models import Evaluation, EvaluationRating
from service.excel.common import SHEET_STAFF
from service.periods.models import Period
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from tenants import TenantScope, use_scope
from tests.conftest import TODAY, District, evaluate_all_staff, login

pytestmark = pytest.mark.postgres

DIMENSIONS = ["de", "neng", "qin", "ji", "lian"]


def _scores(de: Any, neng: Any, qin: Any, ji: Any, lian: Any) -> dict[str, Any]:
    return dict(zip(DIMENSIONS, (de, neng, qin, ji, lian), strict=True))


# Only the assessment group (80% on 德) and the person themself (100%): the missing groups' weights
# are shared out, e.g. 德 = (50 × 8 + 10 × 10) ÷ 60 = 8.33.
ASSESSMENT_AND_SELF = [
    {"rater_group": "assessment", "rater_name": "考核小组", "scores": _scores(8, 16, 12, 36, 8)},
    {"rater_group": "self", "scores": _scores(10, 20, 15, 45, 10)},
]


def _all_groups(peer_id: int) -> list[dict[str, Any]]:
    return [
        {"rater_group": "assessment", "rater_name": "王校长", "scores": _scores(8, 18, 14, 40, 9)},
        {"rater_group": "assessment", "rater_name": "赵主任", "scores": _scores(9, 16, 13, 42, 10)},
        {"rater_group": "satisfaction", "rater_name": "教师代表", "scores": _scores(7, 15, 12, 38, 8)},
        {"rater_group": "peer", "rater_staff_id": peer_id, "scores": _scores(9, 17, 15, 41, 9)},
        {"rater_group": "self", "scores": _scores(10, 20, 15, 45, 10)},
    ]


@pytest.fixture
def period(app: Any, district: District) -> dict:
    """Last month, open (its deadline is in the future)."""
    today = TODAY
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first.month == 8:  # August is not a reporting month
        first = first.replace(month=7)
    resp = app.test_client().post(
        "/api/v1/periods",
        json={"year": first.year, "month": first.month, "deadline": (today + timedelta(days=3)).isoformat()},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _add_staff(client: Any, district: District, name: str, user: str = "admin_a", **extra: Any) -> dict:
    body = {"name": name, "role": "cleaner", "contract_type": "temporary", "hire_date": "2024-03-01"}
    resp = client.post("/api/v1/staff", json={**body, **extra}, headers=district.headers(user))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _evaluate(
    client: Any, district: District, staff_id: int, period_id: int, ratings: list, user: str = "admin_a"
) -> Any:
    return client.post(
        "/api/v1/evaluations",
        json={"staff_id": staff_id, "period_id": period_id, "ratings": ratings},
        headers=district.headers(user),
    )


def _count_rows(app: Any) -> tuple[int, int]:
    with app.app_context(), use_scope(TenantScope.bureau()):
        counts = (
            db.session.scalar(select(func.count(Evaluation.id))) or 0,
            db.session.scalar(select(func.count(EvaluationRating.id))) or 0,
        )
        db.session.remove()
    return counts


# --- scoring, by hand ------------------------------------------------------------------------------


def test_scoring_all_four_groups_by_hand() -> None:
    ratings = [(r["rater_group"], r["scores"]) for r in _all_groups(peer_id=99)]
    result = scoring.evaluate(ratings, scoring.DEFAULT_RATER_WEIGHTS, DIMENSIONS)
    # 德: assessment mean 8.5 → (50×8.5 + 20×7 + 20×9 + 10×10) ÷ 100 = 8.45
    # 能: (50×17 + 20×15 + 20×17 + 10×20) ÷ 100 = 16.90;  勤: (50×13.5 + 20×12 + 20×15 + 10×15) ÷ 100 = 13.65
    # 绩: (50×41 + 20×38 + 20×41 + 10×45) ÷ 100 = 40.80;  廉: (50×9.5 + 20×8 + 20×9 + 10×10) ÷ 100 = 9.15
    assert {k: str(v) for k, v in result.dimensions.items()} == {
        "de": "8.45",
        "neng": "16.90",
        "qin": "13.65",
        "ji": "40.80",
        "lian": "9.15",
    }
    assert result.score == Decimal("88.95")


def test_scoring_missing_groups_share_their_weight() -> None:
    ratings = [(r["rater_group"], r["scores"]) for r in ASSESSMENT_AND_SELF]
    result = scoring.evaluate(ratings, scoring.DEFAULT_RATER_WEIGHTS, DIMENSIONS)
    # 德 (50×8 + 10×10) ÷ 60 = 8.333…; 能 (50×16 + 10×20) ÷ 60 = 16.666…; 勤 12.5; 绩 37.5; 廉 8.333…
    assert {k: str(v) for k, v in result.dimensions.items()} == {
        "de": "8.33",
        "neng": "16.67",
        "qin": "12.50",
        "ji": "37.50",
        "lian": "8.33",
    }
    # 5000 ÷ 60 = 83.333…: kept unrounded (formula 4), stored to 10 decimals, shown with 2
    assert result.exact == Fraction(250, 3)
    assert result.score == Decimal("83.3333333333")
    assert result.shown == Decimal("83.33")


def test_person_score_sums_exact_dimensions_and_is_rounded_only_for_display() -> None:
    # 德, 能 and 廉 each end in .333…: shown 8.33 + 3.33 + 8.33 + 12 + 30 = 61.99, but the exact sum is 62.
    ratings = [
        ("assessment", _scores(8, 4, 12, 30, 8)),
        ("self", _scores(10, 0, 12, 30, 10)),
    ]
    result = scoring.evaluate(ratings, scoring.DEFAULT_RATER_WEIGHTS, DIMENSIONS)
    assert sum(result.dimensions.values()) == Decimal("61.99")
    assert result.exact == 62 and result.shown == Decimal("62.00")
    # half up, not half even; exact, not through binary floats
    assert scoring.round_half_up(Fraction("8.345")) == Decimal("8.35")
    assert scoring.round_half_up(Fraction("2.675")) == Decimal("2.68")
    assert scoring.round_half_up(Fraction("2.6749")) == Decimal("2.67")


# --- the API ---------------------------------------------------------------------------------------


def test_evaluation_with_every_group_is_scored_and_stored(
    app: Any, client: Any, district: District, period: dict
) -> None:
    peer = _add_staff(client, district, "周同事")
    resp = _evaluate(client, district, district.staff_a.id, period["id"], _all_groups(peer["id"]))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["score"] == "88.95"
    assert body["dimension_scores"] == {
        "de": "8.45",
        "neng": "16.90",
        "qin": "13.65",
        "ji": "40.80",
        "lian": "9.15",
    }
    assert body["staff_name"] == "张甲厨" and body["school_id"] == district.school_a.id
    ratings = body["ratings"]
    assert [r["rater_group"] for r in ratings] == ["assessment", "assessment", "satisfaction", "peer", "self"]
    # names default to the rating staff member; a self rating names the person rated
    assert ratings[3]["rater_name"] == "周同事" and ratings[3]["rater_staff_id"] == peer["id"]
    assert ratings[4]["rater_name"] == "张甲厨" and ratings[4]["rater_staff_id"] == district.staff_a.id
    assert ratings[0]["scores"]["ji"] == "40.00"
    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(RubricKind.STAFF)
        assert body["rubric_version_id"] == version.id
        db.session.remove()

    # the report of the month was opened for it
    report = client.get(
        f"/api/v1/reports/{body['report_id']}", headers=district.headers("admin_a")
    ).get_json()
    assert report["period_id"] == period["id"] and report["state"] == "draft"

    # everyone in scope reads it; filters narrow
    for user in ("admin_a", "inspector", "official", "admin"):
        rows = client.get(
            "/api/v1/evaluations", query_string={"period_id": period["id"]}, headers=district.headers(user)
        ).get_json()
        assert [r["id"] for r in rows] == [body["id"]], user
    assert client.get("/api/v1/evaluations", headers=district.headers("admin_b")).get_json() == []
    assert (
        client.get(
            "/api/v1/evaluations", query_string={"staff_id": peer["id"]}, headers=district.headers("admin")
        ).get_json()
        == []
    )
    assert (
        client.get(
            "/api/v1/evaluations",
            query_string={"school_id": district.school_b.id},
            headers=district.headers("admin"),
        ).get_json()
        == []
    )


def test_patch_replaces_ratings_and_recomputes(
    app: Any, client: Any, district: District, period: dict
) -> None:
    peer = _add_staff(client, district, "周同事")
    eid = _evaluate(client, district, district.staff_a.id, period["id"], _all_groups(peer["id"])).get_json()[
        "id"
    ]
    resp = client.patch(
        f"/api/v1/evaluations/{eid}",
        json={"ratings": ASSESSMENT_AND_SELF},
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["score"] == "83.33"
    assert resp.get_json()["score_exact"] == "83.3333333333"  # 5000 ÷ 60, kept unrounded
    assert [r["rater_group"] for r in resp.get_json()["ratings"]] == ["assessment", "self"]
    assert _count_rows(app) == (1, 2)

    # a refused PATCH changes nothing
    bad = client.patch(
        f"/api/v1/evaluations/{eid}",
        json={
            "ratings": [{"rater_group": "assessment", "rater_name": "x", "scores": _scores(11, 0, 0, 0, 0)}]
        },
        headers=district.headers("admin_a"),
    )
    assert bad.status_code == 422
    again = client.get(f"/api/v1/evaluations/{eid}", headers=district.headers("admin_a")).get_json()
    assert again["score"] == "83.33" and len(again["ratings"]) == 2

    assert client.delete(f"/api/v1/evaluations/{eid}", headers=district.headers("admin_a")).status_code == 204
    assert _count_rows(app) == (0, 0)
    trail = client.get(
        "/api/v1/audit", query_string={"table": "evaluation_ratings"}, headers=district.headers("admin")
    ).get_json()
    assert sorted(e["action"] for e in trail) == ["delete"] * 5 + ["delete"] * 2 + ["insert"] * 7


def test_refusals_save_nothing(app: Any, client: Any, district: District, period: dict) -> None:
    pid = period["id"]
    sid = district.staff_a.id
    peer = _add_staff(client, district, "周同事")

    def refused(ratings: list, status: int = 422, staff_id: int = sid, user: str = "admin_a") -> dict:
        resp = _evaluate(client, district, staff_id, pid, ratings, user=user)
        assert resp.status_code == status, resp.get_json()
        errors = resp.get_json()["errors"]
        if status == 422:  # exactly the one problem the case is about
            assert sum(len(m) for m in errors.values()) == 1, errors
        return errors

    # a score above the dimension's points (德 is out of 10), or below 0, or with 3 decimals
    errors = refused(
        [{"rater_group": "assessment", "rater_name": "王校长", "scores": _scores(10.5, 20, 15, 45, 10)}]
    )
    assert any("10" in m for m in errors["ratings"])
    refused([{"rater_group": "assessment", "rater_name": "王校长", "scores": _scores(-1, 20, 15, 45, 10)}])
    refused(
        [{"rater_group": "assessment", "rater_name": "王校长", "scores": _scores("9.125", 20, 15, 45, 10)}]
    )
    # an unknown dimension
    refused(
        [
            {
                "rater_group": "assessment",
                "rater_name": "王校长",
                "scores": {**_scores(9, 20, 15, 45, 10), "x": 1},
            }
        ]
    )
    # raters are not the person rated: a peer rating by oneself, or an assessment rating by oneself
    refused(
        [
            *ASSESSMENT_AND_SELF,
            {"rater_group": "peer", "rater_staff_id": sid, "scores": _scores(9, 9, 9, 9, 9)},
        ]
    )
    refused(
        [
            {"rater_group": "assessment", "rater_staff_id": sid, "scores": _scores(9, 20, 15, 45, 10)},
            ASSESSMENT_AND_SELF[1],
        ]
    )
    # a self rating is by the person rated; a peer names the colleague; each rates once
    refused([ASSESSMENT_AND_SELF[0], {**ASSESSMENT_AND_SELF[1], "rater_staff_id": peer["id"]}])
    refused(
        [
            *ASSESSMENT_AND_SELF,
            {"rater_group": "peer", "rater_name": "无名", "scores": _scores(9, 9, 9, 9, 9)},
        ]
    )
    refused([*ASSESSMENT_AND_SELF, ASSESSMENT_AND_SELF[1]])
    peer_rating = {"rater_group": "peer", "rater_staff_id": peer["id"], "scores": _scores(9, 9, 9, 9, 9)}
    refused([*ASSESSMENT_AND_SELF, peer_rating, peer_rating])
    # a rater from another school (the bureau admin sees both schools: still refused)
    errors = refused(
        [*ASSESSMENT_AND_SELF, {**peer_rating, "rater_staff_id": district.staff_b.id}], user="admin"
    )
    assert "ratings" in errors
    # the assessment group must rate, and score every dimension
    errors = refused([ASSESSMENT_AND_SELF[1]])
    assert len(errors["ratings"]) == 1
    refused(
        [{"rater_group": "assessment", "rater_name": "王校长", "scores": {"de": 9}}, ASSESSMENT_AND_SELF[1]]
    )
    refused([])
    # a rater needs a name
    refused([{"rater_group": "assessment", "scores": _scores(9, 20, 15, 45, 10)}])

    # staff of another school: not found, for a school admin and an inspector alike
    refused(ASSESSMENT_AND_SELF, status=404, staff_id=district.staff_b.id)
    refused(ASSESSMENT_AND_SELF, status=404, staff_id=district.staff_b.id, user="inspector")
    # read-only roles
    refused(ASSESSMENT_AND_SELF, status=403, user="inspector")
    refused(ASSESSMENT_AND_SELF, status=403, user="official")
    # an inactive staff member, and one hired after the month
    gone = _add_staff(client, district, "离职工", active=False)
    errors = refused(ASSESSMENT_AND_SELF, staff_id=gone["id"])
    assert "staff_id" in errors
    later = _add_staff(client, district, "新来的", hire_date=TODAY.isoformat())
    assert "staff_id" in refused(ASSESSMENT_AND_SELF, staff_id=later["id"])

    assert _count_rows(app) == (0, 0)
    # not even the month's draft report, which a valid evaluation opens
    assert client.get("/api/v1/reports", headers=district.headers("admin")).get_json() == []

    # valid, then a second evaluation of the same person-month is a conflict
    assert _evaluate(client, district, sid, pid, ASSESSMENT_AND_SELF).status_code == 201
    assert "staff_id" in refused(ASSESSMENT_AND_SELF, status=409)
    assert _count_rows(app) == (1, 2)


def test_bureau_admin_evaluates_any_school(client: Any, district: District, period: dict) -> None:
    resp = _evaluate(client, district, district.staff_b.id, period["id"], ASSESSMENT_AND_SELF, user="admin")
    assert resp.status_code == 201 and resp.get_json()["school_id"] == district.school_b.id
    eid = resp.get_json()["id"]
    assert client.get(f"/api/v1/evaluations/{eid}", headers=district.headers("admin_a")).status_code == 404
    assert client.get(f"/api/v1/evaluations/{eid}", headers=district.headers("admin_b")).status_code == 200
    assert (
        client.patch(
            f"/api/v1/evaluations/{eid}",
            json={"ratings": ASSESSMENT_AND_SELF},
            headers=district.headers("official"),
        ).status_code
        == 403
    )


def test_no_changes_after_submission_or_lock(app: Any, client: Any, district: District, period: dict) -> None:
    a = district.headers("admin_a")
    eid = _evaluate(client, district, district.staff_a.id, period["id"], ASSESSMENT_AND_SELF).get_json()["id"]
    report_id = client.get(f"/api/v1/evaluations/{eid}", headers=a).get_json()["report_id"]
    assert client.post(f"/api/v1/reports/{report_id}/submit", headers=a).status_code == 200

    other = _add_staff(client, district, "周同事")
    resp = _evaluate(client, district, other["id"], period["id"], ASSESSMENT_AND_SELF)
    assert resp.status_code == 409 and "state" in resp.get_json()["errors"]
    patch = client.patch(f"/api/v1/evaluations/{eid}", json={"ratings": _all_groups(other["id"])}, headers=a)
    assert patch.status_code == 409
    assert client.delete(f"/api/v1/evaluations/{eid}", headers=a).status_code == 409
    assert client.get(f"/api/v1/evaluations/{eid}", headers=a).get_json()["score"] == "83.33"

    # returned for correction: editable again
    client.post(
        f"/api/v1/reports/{report_id}/return",
        json={"reason": "考核表缺签字"},
        headers=district.headers("admin"),
    )
    assert (
        client.patch(
            f"/api/v1/evaluations/{eid}", json={"ratings": _all_groups(other["id"])}, headers=a
        ).status_code
        == 200
    )

    # a locked month
    with app.app_context(), use_scope(TenantScope.bureau()):
        locked = Period(year=2025, month=3, deadline=date(2025, 4, 5), lock_days=10)
        db.session.add(locked)
        db.session.commit()
        locked_id = locked.id
        db.session.remove()
    resp = _evaluate(client, district, district.staff_a.id, locked_id, ASSESSMENT_AND_SELF)
    assert resp.status_code == 409 and "period_id" in resp.get_json()["errors"]


def test_submission_waits_for_every_active_staff_member(
    app: Any, client: Any, district: District, period: dict
) -> None:
    a = district.headers("admin_a")
    other = _add_staff(client, district, "周同事")
    _add_staff(client, district, "离职工", active=False)  # inactive: not needed
    _add_staff(client, district, "新来的", hire_date=TODAY.isoformat())  # hired after the month
    report = client.post("/api/v1/reports", json={"period_id": period["id"]}, headers=a).get_json()
    rid = report["id"]

    missing = client.get(f"/api/v1/reports/{rid}/missing-evaluations", headers=a).get_json()
    assert [m["name"] for m in missing] == ["张甲厨", "周同事"]
    assert missing[0]["role_label"] == "炊事员"  # Chinese by default
    # the inspector of A's cluster reads it too; school B does not find A's report
    assert (
        client.get(
            f"/api/v1/reports/{rid}/missing-evaluations", headers=district.headers("inspector")
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/reports/{rid}/missing-evaluations", headers=district.headers("admin_b")
        ).status_code
        == 404
    )

    resp = client.post(f"/api/v1/reports/{rid}/submit", headers=a)
    assert resp.status_code == 409
    messages = resp.get_json()["errors"]["evaluations"]
    # one message naming everybody still to evaluate, not one per person
    assert messages == ["还有2人未考评：张甲厨、周同事。"]

    assert (
        _evaluate(client, district, district.staff_a.id, period["id"], ASSESSMENT_AND_SELF).status_code == 201
    )
    resp = client.post(f"/api/v1/reports/{rid}/submit", headers=a)
    assert resp.status_code == 409 and len(resp.get_json()["errors"]["evaluations"]) == 1
    assert "周同事" in resp.get_json()["errors"]["evaluations"][0]
    assert client.get(f"/api/v1/reports/{rid}", headers=a).get_json()["state"] == "draft"

    assert _evaluate(client, district, other["id"], period["id"], ASSESSMENT_AND_SELF).status_code == 201
    assert client.get(f"/api/v1/reports/{rid}/missing-evaluations", headers=a).get_json() == []
    resp = client.post(f"/api/v1/reports/{rid}/submit", headers=a)
    assert resp.status_code == 200 and resp.get_json()["state"] == "submitted"

    # a school without staff submits without evaluations
    c_report = client.post(
        "/api/v1/reports",
        json={"period_id": period["id"], "school_id": district.school_c.id},
        headers=district.headers("admin"),
    ).get_json()
    with app.app_context(), use_scope(TenantScope.school(district.school_c.id)):
        from service.reports import operations as reports
        from service.reports.models import MonthlyReport

        report_c = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == c_report["id"])).one()
        assert evaluations.submission_check(report_c) == {}
        db.session.remove()
    assert evaluations.submission_check in reports.SUBMISSION_CHECKS


def test_staff_area_query_agrees_with_python(app: Any, client: Any, district: District, period: dict) -> None:
    pid = period["id"]
    peer = _add_staff(client, district, "周同事")
    third = _add_staff(client, district, "吴保洁")
    _add_staff(client, district, "离职工", active=False)
    _add_staff(client, district, "新来的", hire_date=TODAY.isoformat())
    assert (
        _evaluate(client, district, district.staff_a.id, pid, _all_groups(peer["id"])).status_code == 201
    )  # 88.95
    assert _evaluate(client, district, peer["id"], pid, ASSESSMENT_AND_SELF).status_code == 201  # 83.333…
    odd = [{"rater_group": "assessment", "rater_name": "王校长", "scores": _scores(7, 15, 11, 33.5, 7)}]
    assert _evaluate(client, district, third["id"], pid, odd).status_code == 201  # 73.50
    assert (
        _evaluate(client, district, district.staff_b.id, pid, ASSESSMENT_AND_SELF, user="admin").status_code
        == 201
    )

    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = {r.school_id: r for r in evaluations.staff_area_scores(pid)}
        version = current_version(RubricKind.STAFF)
        weights = scoring.weights_of(version.settings)
        dims = [s.code for s in version.sections]
        python: dict[int, list[Decimal]] = {}
        for ev in db.session.scalars(select(Evaluation)):
            score = scoring.person_score([(r.rater_group.value, r.scores) for r in ev.ratings], weights, dims)
            assert score == ev.score
            python.setdefault(ev.school_id, []).append(score)
        db.session.remove()

    a, b, c = district.school_a.id, district.school_b.id, district.school_c.id
    assert sorted(python[a]) == [Decimal("73.50"), Decimal("83.3333333333"), Decimal("88.95")]
    assert (rows[a].evaluated, rows[a].active_staff) == (3, 3)
    # (88.95 + 83.3333333333 + 73.50) ÷ 3 = 81.92777777776…: the mean of the unrounded person scores (of
    # the shown 83.33 it would be 81.9266…); the query's numeric mean matches Python's to its precision
    area_a = scoring.staff_area(python[a])
    assert abs(rows[a].staff_area - area_a) < Decimal("1e-14")
    assert rows[a].staff_area.quantize(Decimal("0.0000001")) == Decimal("81.9277778")
    assert rows[b].staff_area == scoring.staff_area(python[b]) == Decimal("83.3333333333")
    assert (rows[b].evaluated, rows[b].active_staff) == (1, 1)
    assert (rows[c].staff_area, rows[c].evaluated, rows[c].active_staff) == (None, 0, 0)

    # the query runs in the caller's scope: a school sees itself, an inspector their cluster
    with app.app_context(), use_scope(TenantScope.school(a)):
        assert [r.school_id for r in evaluations.staff_area_scores(pid)] == [a]
        db.session.remove()
    with app.app_context(), use_scope(TenantScope.schools([a, c])):
        assert [r.school_id for r in evaluations.staff_area_scores(pid)] == [a, c]
        db.session.remove()


def test_a_person_score_is_kept_unrounded_and_shown_with_2_decimals_everywhere(
    app: Any, client: Any, district: District, period: dict
) -> None:
    """Formula 4: rounded only for display. The stored value is the exact one to 10 decimals; the API's
    ``score``, the report page and the Excel export show 2 decimals, half up; ``score_exact`` is what
    every computation uses."""
    # 德 (50 × 8 + 10 × 10) ÷ 60 … as in test_scoring_missing_groups_share_their_weight: 5000 ÷ 60
    body = _evaluate(client, district, district.staff_a.id, period["id"], ASSESSMENT_AND_SELF).get_json()
    assert (body["score"], body["score_exact"]) == ("83.33", "83.3333333333")
    with app.app_context(), use_scope(TenantScope.bureau()):
        stored = db.session.scalars(select(Evaluation)).one()
        assert stored.score == Decimal("83.3333333333") and stored.score_shown == Decimal("83.33")
        db.session.remove()

    web = app.test_client()
    login(web, "admin_a")
    page = web.get(f"/reports/{body['report_id']}").get_data(as_text=True)
    assert ">83.33</td>" in page and "83.333" not in page

    export = client.get(
        f"/api/v1/reports/{body['report_id']}/export.xlsx", headers=district.headers("admin_a")
    )
    sheet = load_workbook(BytesIO(export.data))[SHEET_STAFF]
    assert [row[:2] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]] == [("张甲厨", 83.33)]


def test_scores_keep_their_rubric_version(app: Any, client: Any, district: District, period: dict) -> None:
    admin = district.headers("admin")
    eid = _evaluate(client, district, district.staff_a.id, period["id"], ASSESSMENT_AND_SELF).get_json()["id"]
    v1 = client.get(f"/api/v1/evaluations/{eid}", headers=admin).get_json()["rubric_version_id"]

    staff_rubric = next(
        r for r in client.get("/api/v1/rubrics", headers=admin).get_json() if r["kind"] == "staff"
    )
    draft = client.post(
        f"/api/v1/rubrics/{staff_rubric['id']}/versions", json={"note": "自评权重提高"}, headers=admin
    )
    assert draft.status_code == 201, draft.get_json()
    v2 = draft.get_json()["id"]
    weights = {"assessment": 50, "satisfaction": 20, "peer": 20, "self": 30}
    assert (
        client.patch(
            f"/api/v1/rubric-versions/{v2}", json={"settings": {"rater_weights": weights}}, headers=admin
        ).status_code
        == 200
    )
    assert client.post(f"/api/v1/rubric-versions/{v2}/publish", headers=admin).status_code == 200

    # the existing evaluation is recomputed with its own version (83.33), not the new weights
    resp = client.patch(f"/api/v1/evaluations/{eid}", json={"ratings": ASSESSMENT_AND_SELF}, headers=admin)
    assert resp.status_code == 200
    assert (resp.get_json()["rubric_version_id"], resp.get_json()["score"]) == (v1, "83.33")
    # a new evaluation uses the published version: 德 (50×8 + 30×10) ÷ 80 = 8.75, … total 87.50
    other = _add_staff(client, district, "周同事")
    new = _evaluate(client, district, other["id"], period["id"], ASSESSMENT_AND_SELF).get_json()
    assert (new["rubric_version_id"], new["score"]) == (v2, "87.50")
    assert new["dimension_scores"]["de"] == "8.75" and new["dimension_scores"]["qin"] == "13.13"


def test_evaluate_all_staff_helper_lets_the_report_submit(
    app: Any, client: Any, district: District, period: dict
) -> None:
    ids = evaluate_all_staff(app, district.school_a.id, period["id"])
    assert len(ids) == 1
    ev = client.get(f"/api/v1/evaluations/{ids[0]}", headers=district.headers("admin_a")).get_json()
    assert ev["score"] == "90.00"
    rid = ev["report_id"]
    assert (
        client.post(f"/api/v1/reports/{rid}/submit", headers=district.headers("admin_a")).status_code == 200
    )
