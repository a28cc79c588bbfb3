"""Incidents and vetoes (一票否决): every rule's blocks and window, late reporting at the 2-hour line,
re-deriving on edit without duplicates, inspection veto items, who may report and correct what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.core.timeutil import SHANGHAI, now_shanghai, today_shanghai
from service.core.types import utcnow
from service.db import db
from service.incidents import operations as incidents
from service.incidents import vetoes
from service.incidents.models import Incident
from service.incidents.vetoes import Veto
from service.periods.models import Period
from tenants import TenantScope, use_scope
from tests.conftest import TODAY, District

pytestmark = pytest.mark.postgres

ADV, CANTEEN, CAMPUS, STAFF = "advanced_unit", "trusted_canteen", "safe_campus", "outstanding_staff"


def _add_period(app: Any, year: int, month: int, *, deadline: date, lock_days: int = 10) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        period = Period(year=year, month=month, deadline=deadline, lock_days=lock_days)
        db.session.add(period)
        db.session.commit()
        return period.id


@pytest.fixture
def march(app: Any, district: District) -> int:
    """March 2026 (locked by now): the month of the domain examples."""
    return _add_period(app, 2026, 3, deadline=date(2026, 4, 5))


@pytest.fixture
def this_month(app: Any, district: District) -> int:
    today = TODAY  # the suite's pinned day (2026-11-21)
    deadline = date(today.year + (today.month == 12), today.month % 12 + 1, 5)
    return _add_period(app, today.year, today.month, deadline=deadline)


OCCURRED = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


def _create(app: Any, school_id: int, **facts: Any) -> dict[str, list[str]]:
    """Record an incident as the bureau; return its vetoes as {rule: blocks}."""
    data = {
        "type": "injury",
        "severity": "minor",
        "occurred_at": OCCURRED,
        "reported_at": OCCURRED + timedelta(minutes=30),
        "school_id": school_id,
        **facts,
    }
    from service.incidents.models import IncidentSeverity, IncidentType

    data["type"], data["severity"] = IncidentType(data["type"]), IncidentSeverity(data["severity"])
    with app.app_context(), use_scope(TenantScope.bureau()):
        incident = incidents.create_incident(data, now=utcnow(), today=today_shanghai(), by_bureau=True)
        db.session.commit()
        found = {v.rule: v for v in incidents.vetoes_of(incident)}
        for v in found.values():
            assert (v.starts_on, v.ends_on) == (date(2026, 3, 10), date(2027, 3, 10)), v.rule
            assert v.reason and v.school_id == school_id and v.incident_id == incident.id
        out = {rule: sorted(v.blocks) for rule, v in found.items()}
        db.session.remove()
        return out


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, {}),  # a minor injury reported in time: no veto
        (
            {"type": "food_poisoning", "severity": "serious", "school_at_fault": False},
            {},  # not the school's fault (e.g. a supplier's outbreak): no veto
        ),
        (
            {"type": "food_poisoning", "school_at_fault": True},
            {"food_poisoning_at_fault": [ADV, CANTEEN]},
        ),
        ({"unlicensed": True}, {"unlicensed": [ADV, CANTEEN]}),
        ({"banned_food": True}, {"banned_food": [ADV, CANTEEN]}),
        ({"meal_not_sampled": True}, {"meal_not_sampled": [ADV, CANTEEN]}),
        ({"fine_or_heavier": True}, {"fine_or_heavier": [ADV]}),
        ({"severity": "serious", "school_at_fault": True}, {"liability_casualty": [ADV, CAMPUS]}),
        ({"severity": "death", "school_at_fault": True}, {"liability_casualty": [ADV, CAMPUS]}),
        ({"severity": "death", "school_at_fault": False}, {}),  # not a liability accident
        ({"type": "fire", "severity": "major"}, {"major_fire": [ADV, CAMPUS]}),
        ({"type": "fire", "severity": "minor"}, {}),
        ({"type": "building", "building_collapse": True}, {"building_collapse": [ADV, CAMPUS]}),
        ({"crowd_crush": True}, {"crowd_crush": [ADV, CAMPUS]}),
        ({"type": "crime", "school_at_fault": True}, {"crime_poor_management": [ADV, CAMPUS]}),
        ({"type": "crime", "school_at_fault": False}, {}),
        ({"hidden": True}, {"hidden_or_late": [ADV, CAMPUS]}),
        ({"type": "food_poisoning", "hidden": True}, {"hidden_or_late_food": [ADV, CANTEEN]}),
        ({"falsified_data": True}, {"falsified_data": [ADV, STAFF, CAMPUS, CANTEEN]}),
        (
            {"type": "food_poisoning", "school_at_fault": True, "meal_not_sampled": True, "hidden": True},
            {
                "food_poisoning_at_fault": [ADV, CANTEEN],
                "meal_not_sampled": [ADV, CANTEEN],
                "hidden_or_late_food": [ADV, CANTEEN],
            },
        ),
    ],
)
def test_each_rule_blocks_and_window(
    app: Any, district: District, march: int, facts: dict, expected: dict
) -> None:
    got = _create(app, district.school_a.id, **facts)
    assert got == {rule: sorted(blocks) for rule, blocks in expected.items()}


def test_rule_table_is_one_editable_list() -> None:
    codes = [r.code for r in vetoes.INCIDENT_RULES]
    assert len(codes) == len(set(codes)) and vetoes.FAILED_ITEM_RULE not in codes
    known = {c.value for c in vetoes.Commendation}
    for rule in vetoes.INCIDENT_RULES:
        assert rule.zh and rule.en and rule.months == 12 and set(rule.blocks) <= known


def test_late_reporting_at_the_two_hour_line(app: Any, district: District, march: int) -> None:
    on_time = _create(app, district.school_a.id, reported_at=OCCURRED + timedelta(hours=2))
    assert on_time == {}
    late = _create(app, district.school_a.id, reported_at=OCCURRED + timedelta(hours=2, minutes=1))
    assert late == {"hidden_or_late": [ADV, CAMPUS]}
    food_late = _create(
        app, district.school_a.id, type="food_poisoning", reported_at=OCCURRED + timedelta(hours=2, minutes=1)
    )
    assert food_late == {"hidden_or_late_food": [ADV, CANTEEN]}


def test_window_in_force_until_the_day_before_the_anniversary(
    app: Any, client: Any, district: District, march: int
) -> None:
    _create(app, district.school_a.id, fine_or_heavier=True)  # 2026-03-10
    with app.app_context(), use_scope(TenantScope.bureau()):

        def in_force(day: date) -> int:
            return len(db.session.scalars(vetoes.vetoes_in_force(day)).all())

        assert in_force(date(2026, 3, 9)) == 0
        assert in_force(date(2026, 3, 10)) == 1
        assert in_force(date(2027, 3, 9)) == 1
        assert in_force(date(2027, 3, 10)) == 0
        assert vetoes.blocked_commendations(date(2027, 3, 9)) == {district.school_a.id: {ADV}}
        assert vetoes.blocked_commendations(date(2027, 3, 10)) == {}
    admin = district.headers("admin")
    assert len(client.get("/api/v1/vetoes?as_of=2027-03-09", headers=admin).get_json()) == 1
    assert client.get("/api/v1/vetoes?as_of=2027-03-10", headers=admin).get_json() == []
    body = client.get("/api/v1/vetoes", headers=admin).get_json()
    assert body[0]["ends_on"] == "2027-03-10" and body[0]["blocks_labels"] == ["先进单位"]
    assert body[0]["rule_label"] == "受到行政处罚及以上" and body[0]["source"] == "incident"


def test_add_months_clamps_to_month_end() -> None:
    assert vetoes.add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert vetoes.add_months(date(2026, 3, 10), 12) == date(2027, 3, 10)
    assert vetoes.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)


def test_window_starts_on_the_beijing_date(app: Any, district: District, march: int) -> None:
    # 2026-03-09 23:30 UTC is 2026-03-10 07:30 in Beijing
    occurred = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    got = _create(app, district.school_a.id, occurred_at=occurred, reported_at=occurred, crowd_crush=True)
    assert got == {"crowd_crush": [ADV, CAMPUS]}  # _create asserts the 2026-03-10 window


# --- the API ------------------------------------------------------------------------------------------


def _report(client: Any, headers: dict, **overrides: Any) -> Any:
    body = {
        "type": "injury",
        "severity": "minor",
        "occurred_at": (now_shanghai() - timedelta(minutes=30)).isoformat(),
        "description": "学生课间奔跑摔伤膝盖，校医处理后送医",
        **overrides,
    }
    return client.post("/api/v1/incidents", json=body, headers=headers)


def test_school_reports_its_incident_and_the_bureau_corrects_it(
    client: Any, district: District, this_month: int
) -> None:
    a, admin = district.headers("admin_a"), district.headers("admin")
    resp = _report(client, a)
    assert resp.status_code == 201, resp.get_json()
    inc = resp.get_json()
    assert inc["school_id"] == district.school_a.id and inc["period_id"] == this_month
    assert inc["reported_late"] is False and inc["vetoes"] == [] and inc["type_label"] == "人身伤害"
    # reported_at is the server's clock for a school: about now
    reported = datetime.fromisoformat(inc["reported_at"])
    assert abs((reported - utcnow()).total_seconds()) < 60

    # the bureau's findings are the bureau's to record
    for field, value in (
        ("hidden", False),
        ("falsified_data", False),
        ("fine_or_heavier", False),
        ("reported_at", now_shanghai().isoformat()),
    ):
        refused = client.patch(f"/api/v1/incidents/{inc['id']}", json={field: value}, headers=a)
        assert refused.status_code == 403 and field in refused.get_json()["errors"], field
    assert _report(client, a, hidden=True).status_code == 403

    # the bureau finds it was hidden at first: the veto appears; the school's later edit keeps it
    found = client.patch(f"/api/v1/incidents/{inc['id']}", json={"hidden": True}, headers=admin)
    assert found.status_code == 200
    assert [(v["rule"], v["blocks"]) for v in found.get_json()["vetoes"]] == [
        ("hidden_or_late", [ADV, CAMPUS])
    ]
    edited = client.patch(
        f"/api/v1/incidents/{inc['id']}", json={"description": "补充：已送医缝合"}, headers=a
    )
    assert edited.status_code == 200 and len(edited.get_json()["vetoes"]) == 1

    # inspectors and officials read, never write
    assert _report(client, district.headers("inspector"), school_id=district.school_a.id).status_code == 403
    assert (
        client.patch(
            f"/api/v1/incidents/{inc['id']}", json={"severity": "major"}, headers=district.headers("official")
        ).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/incidents/{inc['id']}", headers=district.headers("inspector")).status_code == 200
    )
    assert (
        client.get(f"/api/v1/incidents/{inc['id']}", headers=district.headers("admin_b")).status_code == 404
    )
    assert client.get("/api/v1/vetoes", headers=district.headers("admin_b")).get_json() == []


def test_editing_rederives_vetoes_without_duplicates(
    app: Any, client: Any, district: District, this_month: int
) -> None:
    admin = district.headers("admin")
    occurred = now_shanghai() - timedelta(hours=5)
    inc = _report(
        client,
        admin,
        school_id=district.school_a.id,
        occurred_at=occurred.isoformat(),
        reported_at=(occurred + timedelta(hours=1)).isoformat(),
    ).get_json()
    assert inc["vetoes"] == []
    iid = inc["id"]

    def rules() -> list[str]:
        return sorted(
            v["rule"] for v in client.get(f"/api/v1/incidents/{iid}", headers=admin).get_json()["vetoes"]
        )

    client.patch(
        f"/api/v1/incidents/{iid}", json={"crowd_crush": True, "fine_or_heavier": True}, headers=admin
    )
    assert rules() == ["crowd_crush", "fine_or_heavier"]
    for _ in range(2):  # the same facts again: the same vetoes, not twice as many
        client.patch(f"/api/v1/incidents/{iid}", json={"crowd_crush": True}, headers=admin)
    assert rules() == ["crowd_crush", "fine_or_heavier"]
    # reported late after all (bureau correction), crowd crush withdrawn
    client.patch(
        f"/api/v1/incidents/{iid}",
        json={"crowd_crush": False, "reported_at": (occurred + timedelta(hours=3)).isoformat()},
        headers=admin,
    )
    assert rules() == ["fine_or_heavier", "hidden_or_late"]
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count()).select_from(Veto)) == 2


def test_refusals_save_nothing(app: Any, client: Any, district: District, this_month: int) -> None:
    admin, a = district.headers("admin"), district.headers("admin_a")
    occurred = now_shanghai() - timedelta(hours=1)
    before = _report(
        client,
        admin,
        school_id=district.school_a.id,
        occurred_at=occurred.isoformat(),
        reported_at=(occurred - timedelta(minutes=1)).isoformat(),
        falsified_data=True,
    )
    assert before.status_code == 422 and "reported_at" in before.get_json()["errors"]
    future = _report(client, a, occurred_at=(now_shanghai() + timedelta(hours=1)).isoformat())
    assert future.status_code == 422 and "occurred_at" in future.get_json()["errors"]
    assert _report(client, a, type="flood").status_code == 422
    assert _report(client, admin).status_code == 422  # the bureau must name the school
    assert _report(client, admin, school_id=district.school_b.id, crowd_crush=True).status_code == 201
    # a school admin naming another school: not found
    assert _report(client, a, school_id=district.school_b.id).status_code == 404
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
        assert db.session.scalar(select(func.count()).select_from(Veto)) == 1


def test_school_edits_of_a_locked_month_are_refused(
    app: Any, client: Any, district: District, march: int
) -> None:
    a, admin = district.headers("admin_a"), district.headers("admin")
    old = {"occurred_at": OCCURRED.isoformat()}
    assert _report(client, a, **old).status_code == 409
    made = _report(client, admin, school_id=district.school_a.id, **old, reported_at=OCCURRED.isoformat())
    assert made.status_code == 201
    iid = made.get_json()["id"]
    assert client.patch(f"/api/v1/incidents/{iid}", json={"description": "改"}, headers=a).status_code == 409
    # the bureau's investigation concludes months later: it may still correct the facts
    fixed = client.patch(
        f"/api/v1/incidents/{iid}", json={"school_at_fault": True, "severity": "serious"}, headers=admin
    )
    assert fixed.status_code == 200
    assert [v["rule"] for v in fixed.get_json()["vetoes"]] == ["liability_casualty"]


# --- inspection veto items ----------------------------------------------------------------------------


def test_failed_veto_item_from_an_inspection(app: Any, client: Any, district: District) -> None:
    a = district.school_a.id
    with app.app_context(), use_scope(TenantScope.bureau()):
        veto = vetoes.record_failed_veto_item(a, 41, "D6", date(2026, 5, 20))
        assert sorted(veto.blocks) == [ADV, CANTEEN]
        assert (veto.starts_on, veto.ends_on) == (date(2026, 5, 20), date(2027, 5, 20))
        vetoes.record_failed_veto_item(a, 41, "D6", date(2026, 5, 20))  # recorded twice: still one
        vetoes.record_failed_veto_item(a, 41, "C5", date(2026, 5, 20), blocks=[CAMPUS])
        with pytest.raises(vetoes.DomainError):
            vetoes.record_failed_veto_item(a, 41, "C5", date(2026, 5, 20), blocks=["best_school"])
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Veto)) == 2
        assert vetoes.blocked_commendations(date(2026, 6, 1)) == {a: {ADV, CANTEEN, CAMPUS}}
        assert vetoes.clear_inspection_vetoes(a, 41, "C5") == 1
        db.session.commit()
    rows = client.get(
        f"/api/v1/vetoes?as_of=2026-06-01&school_id={a}", headers=district.headers("admin_a")
    ).get_json()
    assert [(r["source"], r["inspection_id"], r["item_code"], r["rule"]) for r in rows] == [
        ("inspection_item", 41, "D6", "failed_veto_item")
    ]
    # a school scope cannot record a veto for another school
    from tenants import TenantViolation

    with app.app_context(), use_scope(TenantScope.school(district.school_b.id)):
        with pytest.raises(TenantViolation):
            vetoes.record_failed_veto_item(a, 42, "D6", date(2026, 5, 20))
        db.session.rollback()


def test_a_school_cannot_edit_a_veto_away(app: Any, client: Any, district: District, this_month: int) -> None:
    """Moving the time of a late-reported incident, or clearing the bureau's finding of fault, would
    lift the school's own veto: refused (403) and nothing changes. Adding a barring fact to its own
    report is allowed; to the bureau's record it is not (the bureau's facts are the bureau's)."""
    school, admin = district.headers("admin_a"), district.headers("admin")
    occurred = now_shanghai() - timedelta(hours=5)
    late = _report(client, school, type="injury", occurred_at=occurred.isoformat()).get_json()
    assert [v["rule"] for v in late["vetoes"]] == ["hidden_or_late"]
    moved = client.patch(
        f"/api/v1/incidents/{late['id']}",
        json={"occurred_at": (now_shanghai() - timedelta(minutes=30)).isoformat()},
        headers=school,
    )
    assert moved.status_code == 403
    after = client.get(f"/api/v1/incidents/{late['id']}", headers=admin).get_json()
    assert datetime.fromisoformat(after["occurred_at"]) == datetime.fromisoformat(late["occurred_at"])
    assert [v["rule"] for v in after["vetoes"]] == ["hidden_or_late"]

    found = _report(
        client,
        admin,
        school_id=district.school_a.id,
        type="injury",
        severity="serious",
        school_at_fault=True,
        occurred_at=occurred.isoformat(),
        reported_at=(occurred + timedelta(hours=1)).isoformat(),
    ).get_json()
    assert found["vetoes"]
    cleared = client.patch(
        f"/api/v1/incidents/{found['id']}", json={"school_at_fault": False}, headers=school
    )
    assert cleared.status_code == 403
    assert (
        client.patch(
            f"/api/v1/incidents/{found['id']}", json={"crowd_crush": True}, headers=school
        ).status_code
        == 403
    )
    stricter = client.patch(f"/api/v1/incidents/{late['id']}", json={"crowd_crush": True}, headers=school)
    assert stricter.status_code == 200
    assert "crowd_crush" in [v["rule"] for v in stricter.get_json()["vetoes"]]


def _windows(client: Any, iid: int, headers: dict) -> dict[str, tuple[str, str]]:
    body = client.get(f"/api/v1/incidents/{iid}", headers=headers).get_json()
    return {v["rule"]: (v["starts_on"], v["ends_on"]) for v in body["vetoes"]}


def test_the_facts_of_an_incident_the_bureau_recorded_are_the_bureaus(
    client: Any, district: District, this_month: int
) -> None:
    """The bureau records a food poisoning on 20 November: the school cannot move it to the 1st (its
    vetoes would end 19 days sooner), nor change its type, severity, fault or findings - 403 per
    field with the reason, nothing saved. It may still add to the description; the bureau may
    still correct everything, and the windows follow the bureau's correction."""
    school, admin = district.headers("admin_a"), district.headers("admin")
    occurred = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
    made = _report(
        client,
        admin,
        school_id=district.school_a.id,
        type="food_poisoning",
        severity="serious",
        school_at_fault=True,
        occurred_at=occurred.isoformat(),
        reported_at=(occurred + timedelta(minutes=40)).isoformat(),
    )
    assert made.status_code == 201
    inc = made.get_json()
    assert inc["bureau_confirmed_at"] is not None
    iid = inc["id"]
    windows = {
        "food_poisoning_at_fault": ("2026-11-20", "2027-11-20"),
        "liability_casualty": ("2026-11-20", "2027-11-20"),
    }
    assert _windows(client, iid, admin) == windows

    moved = client.patch(
        f"/api/v1/incidents/{iid}",
        json={"occurred_at": datetime(2026, 11, 1, 12, 0, tzinfo=SHANGHAI).isoformat()},
        headers=school,
    )
    assert moved.status_code == 403
    assert moved.get_json()["errors"] == {"occurred_at": ["教育局已登记该事故，此项只能由教育局修改。"]}
    english = client.patch(
        f"/api/v1/incidents/{iid}",
        json={"severity": "minor"},
        headers={**school, "Accept-Language": "en"},
    )
    assert english.status_code == 403
    assert english.get_json()["errors"] == {
        "severity": ["The bureau has recorded this incident; only the bureau can change this field."]
    }
    for field, value in (
        ("type", "other"),
        ("severity", "death"),  # stricter or not: the bureau's
        ("school_at_fault", False),
        ("unlicensed", True),
        ("banned_food", True),  # each a change: sending a fact back unchanged is no change
        ("meal_not_sampled", True),
        ("crowd_crush", True),
        ("building_collapse", True),
    ):
        refused = client.patch(f"/api/v1/incidents/{iid}", json={field: value}, headers=school)
        assert refused.status_code == 403 and list(refused.get_json()["errors"]) == [field], field
    assert _windows(client, iid, admin) == windows
    after = client.get(f"/api/v1/incidents/{iid}", headers=admin).get_json()
    assert (datetime.fromisoformat(after["occurred_at"]), after["type"], after["severity"]) == (
        occurred,
        "food_poisoning",
        "serious",
    )

    described = client.patch(
        f"/api/v1/incidents/{iid}", json={"description": "补充：涉事菜品为四季豆"}, headers=school
    )
    assert described.status_code == 200 and described.get_json()["description"] == "补充：涉事菜品为四季豆"
    assert _windows(client, iid, admin) == windows

    day_before = datetime(2026, 11, 19, 12, 0, tzinfo=SHANGHAI)
    corrected = client.patch(
        f"/api/v1/incidents/{iid}",
        json={
            "occurred_at": day_before.isoformat(),
            "reported_at": (day_before + timedelta(minutes=40)).isoformat(),
        },
        headers=admin,
    )
    assert corrected.status_code == 200
    assert _windows(client, iid, admin) == {rule: ("2026-11-19", "2027-11-19") for rule in windows}


def test_a_school_may_correct_its_own_report_until_the_bureau_confirms_it(
    client: Any, district: District, this_month: int
) -> None:
    """The school reports a food poisoning of yesterday noon a day late. Before the bureau looks at
    it, moving it to the 1st keeps every veto but ends them 19 days sooner: refused (403) like lifting
    one. A correction that shortens nothing is allowed. The bureau's PATCH - an empty one too -
    confirms the report; from then on the facts are the bureau's."""
    school, admin = district.headers("admin_a"), district.headers("admin")
    occurred = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
    inc = _report(
        client, school, type="food_poisoning", school_at_fault=True, occurred_at=occurred.isoformat()
    ).get_json()
    assert inc["bureau_confirmed_at"] is None and inc["reported_late"] is True
    iid = inc["id"]
    windows = {
        "food_poisoning_at_fault": ("2026-11-20", "2027-11-20"),
        "hidden_or_late_food": ("2026-11-20", "2027-11-20"),
    }
    assert _windows(client, iid, school) == windows

    earlier = client.patch(
        f"/api/v1/incidents/{iid}",
        json={"occurred_at": datetime(2026, 11, 1, 12, 0, tzinfo=SHANGHAI).isoformat()},
        headers=school,
    )
    assert earlier.status_code == 403
    assert earlier.get_json()["errors"] == {"_schema": ["此修改会撤销或缩短一票否决，只有教育局可以这样做。"]}
    assert _windows(client, iid, school) == windows

    later = client.patch(
        f"/api/v1/incidents/{iid}",
        json={
            "occurred_at": datetime(2026, 11, 20, 12, 30, tzinfo=SHANGHAI).isoformat(),
            "severity": "serious",
        },
        headers=school,
    )
    assert later.status_code == 200, later.get_json()
    assert later.get_json()["bureau_confirmed_at"] is None
    assert _windows(client, iid, school) == {**windows, "liability_casualty": ("2026-11-20", "2027-11-20")}

    confirmed = client.patch(f"/api/v1/incidents/{iid}", json={}, headers=admin)
    assert confirmed.status_code == 200 and confirmed.get_json()["bureau_confirmed_at"] is not None
    refused = client.patch(f"/api/v1/incidents/{iid}", json={"severity": "death"}, headers=school)
    assert refused.status_code == 403 and list(refused.get_json()["errors"]) == ["severity"]
    assert (
        client.patch(
            f"/api/v1/incidents/{iid}", json={"description": "已上报区教育局"}, headers=school
        ).status_code
        == 200
    )


def test_a_school_cannot_move_its_incident_later_out_of_the_month_judged(
    client: Any, district: District, this_month: int
) -> None:
    """Moving an incident later keeps every rule and its length but starts the window later: the days
    before (the month or term being judged) lose the bar. Refused like shortening it (403)."""
    school = district.headers("admin_a")
    occurred = datetime(2026, 11, 19, 12, 0, tzinfo=SHANGHAI)
    inc = _report(
        client, school, type="food_poisoning", school_at_fault=True, occurred_at=occurred.isoformat()
    ).get_json()
    before = _windows(client, inc["id"], school)
    assert before["food_poisoning_at_fault"] == ("2026-11-19", "2027-11-19")
    later = client.patch(
        f"/api/v1/incidents/{inc['id']}",
        json={"occurred_at": datetime(2026, 11, 21, 9, 0, tzinfo=SHANGHAI).isoformat()},
        headers=school,
    )
    assert later.status_code == 403, later.get_json()
    assert _windows(client, inc["id"], school) == before  # nothing changed


def test_a_confirmed_incident_takes_a_form_that_sends_unchanged_facts_back(
    client: Any, district: District, this_month: int
) -> None:
    """Only a fact whose value would change is refused on a bureau-confirmed incident: a page that posts
    every field back may still add to the description."""
    admin, school = district.headers("admin"), district.headers("admin_a")
    occurred = now_shanghai() - timedelta(hours=1)
    inc = _report(
        client, admin, school_id=district.school_a.id, type="injury", occurred_at=occurred.isoformat()
    ).get_json()
    same = client.patch(
        f"/api/v1/incidents/{inc['id']}",
        json={"type": "injury", "occurred_at": inc["occurred_at"], "description": "补充：已送医"},
        headers=school,
    )
    assert same.status_code == 200, same.get_json()
    assert same.get_json()["description"] == "补充：已送医"
    changed = client.patch(f"/api/v1/incidents/{inc['id']}", json={"type": "fire"}, headers=school)
    assert changed.status_code == 403 and list(changed.get_json()["errors"]) == ["type"]


def test_every_fact_but_the_description_decides_a_veto() -> None:
    """VETO_FACT_FIELDS is what a school loses once the bureau recorded the incident: every fact the
    rules read (the bureau-only findings are refused to schools anyway)."""
    assert set(incidents.FACT_FIELDS) - set(incidents.VETO_FACT_FIELDS) == {"description"}
    assert {"type", "occurred_at", "severity", "school_at_fault"} <= set(incidents.VETO_FACT_FIELDS)
