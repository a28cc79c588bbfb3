"""Versioned rubrics: the defaults match rubrics.md, versions copy and freeze, validation, roles.

The district fixture seeds the default rubrics, so after the per-test truncation the canteen rubric
is id 1 and its version 1 is id 1 (safety 2, staff 3).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tenants import TenantScope, use_scope

CJK = re.compile(r"[\u4e00-\u9fff]")
FROZEN_MESSAGE = "已发布的版本不可修改，请新建版本"
CANTEEN, SAFETY, STAFF = 1, 2, 3


def _version(client: Any, district: Any, version_id: int, username: str = "admin") -> dict[str, Any]:
    resp = client.get(f"/api/v1/rubric-versions/{version_id}", headers=district.headers(username))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _items(version: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for section in version["sections"] for item in section["items"]}


def _sections(version: dict[str, Any]) -> dict[str, str]:
    return {s["code"]: s["max_points"] for s in version["sections"]}


def _new_draft(client: Any, district: Any, rubric_id: int = CANTEEN) -> dict[str, Any]:
    resp = client.post(
        f"/api/v1/rubrics/{rubric_id}/versions", json={"note": "2027版"}, headers=district.headers("admin")
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _content(version: dict[str, Any]) -> list[Any]:
    """Sections and items without ids: what a copy must reproduce."""
    return [
        (
            {k: v for k, v in s.items() if k not in ("id", "items")},
            [{k: v for k, v in i.items() if k not in ("id", "section_id")} for i in s["items"]],
        )
        for s in version["sections"]
    ]


# --- the defaults -------------------------------------------------------------------------------------


def test_default_rubrics_are_published_and_total_100(client, district):
    resp = client.get("/api/v1/rubrics", headers=district.headers("admin"))
    assert resp.status_code == 200
    rubrics = resp.get_json()
    assert [(r["id"], r["kind"], r["current_version"]) for r in rubrics] == [
        (CANTEEN, "canteen", 1),
        (SAFETY, "safety", 1),
        (STAFF, "staff", 1),
    ]
    assert all(r["draft_version_id"] is None for r in rubrics)
    for rubric in rubrics:
        version = _version(client, district, rubric["current_version_id"])
        assert version["status"] == "published"
        assert version["published_by_id"] == district.admin.id
        assert sum(Decimal(p) for p in _sections(version).values()) == 100
        assert version["total_points"] == "100.00"
        codes = [i["code"] for s in version["sections"] for i in s["items"]]
        assert len(codes) == len(set(codes)), "item codes must be unique within a version"
        assert all(s["items"] for s in version["sections"])
        assert all(s["name"] and s["name_en"] for s in version["sections"])
        assert all(i["text"] and i["text_en"] for s in version["sections"] for i in s["items"])


def test_default_canteen_rubric(client, district):
    version = _version(client, district, CANTEEN)
    assert _sections(version) == {
        "A": "10.00",
        "B": "15.00",
        "C": "20.00",
        "D": "25.00",
        "E": "15.00",
        "F": "15.00",
    }
    items = _items(version)
    cert = items["B1"]
    assert "健康证" in cert["text"]
    assert (cert["kind"], cert["deduction"], cert["unit"]) == ("key", "5.00", "每人")
    assert cert["key_fails_on"]
    assert (items["A4"]["deduction"], items["A4"]["cap"], items["A4"]["unit"]) == ("1.00", "5.00", "每天")
    assert (items["A3"]["deduction"], items["A3"]["kind"]) == ("5.00", "general")
    assert (items["B2"]["deduction"], items["B2"]["unit"]) == ("2.00", "每天")
    assert (items["C1"]["deduction"], items["C1"]["unit"]) == ("2.00", "每批次")
    assert (items["C4"]["kind"], items["C4"]["deduction"]) == ("key", "10.00")
    whole_meal = items["D4"]
    assert whole_meal["kind"] == "key" and "整餐" in whole_meal["text"]
    assert (items["D3"]["deduction"], items["D1"]["deduction"]) == ("5.00", "5.00")
    assert (items["E1"]["kind"], items["E1"]["deduction"]) == ("key", "5.00")
    assert (items["F1"]["deduction"], items["F1"]["cap"]) == ("1.00", "8.00")
    assert (items["F2"]["deduction"], items["F4"]["deduction"]) == ("3.00", "5.00")
    assert items["F4"]["na_allowed"] is True  # contracting does not apply to a self-run canteen
    vetoes = {code: i for code, i in items.items() if i["kind"] == "veto"}
    assert set(vetoes) == {"C5", "D6"}
    assert "亚硝酸盐" in vetoes["C5"]["text"]
    assert all(
        word in vetoes["D6"]["text"] for word in ("四季豆", "黄花菜", "野生蘑菇", "发芽土豆", "裱花蛋糕")
    )
    assert all(v["deduction"] == "0.00" for v in vetoes.values())  # vetoes never change the score
    assert {code for code, i in items.items() if i["kind"] == "key"} == {"A1", "B1", "C4", "D4", "E1"}
    settings = version["settings"]
    assert (settings["sample_grams"], settings["sample_hours"]) == (125, 48)
    assert settings["grade_bands"] == {"A": 90, "B": 75, "C": 60}
    assert (settings["grade_a_min_section_percent"], settings["ungraded_min_key_failed"]) == (70, 2)


def test_default_safety_rubric(client, district):
    version = _version(client, district, SAFETY)
    assert [(s["code"], s["max_points"]) for s in version["sections"]] == [
        ("A", "10.00"),
        ("B", "25.00"),
        ("C", "20.00"),
        ("D", "15.00"),
        ("E", "15.00"),
        ("F", "10.00"),
        ("G", "5.00"),
    ]
    items = _items(version)
    evacuation = items["B1"]
    assert "疏散" in evacuation["text"]
    assert (evacuation["kind"], evacuation["deduction"]) == ("key", "10.00")
    assert items["C1"]["kind"] == "key" and "危房" in items["C1"]["text"]
    assert items["B2"]["deduction"] == "2.00"
    assert (items["D1"]["deduction"], items["D2"]["deduction"], items["D3"]["deduction"]) == (
        "5.00",
        "5.00",
        "2.00",
    )
    assert (items["E1"]["deduction"], items["E3"]["deduction"]) == ("2.00", "3.00")
    assert items["F1"]["deduction"] == "5.00"
    hazards = items["G1"]
    assert (hazards["deduction"], hazards["cap"], hazards["computed"]) == ("2.00", "5.00", True)
    assert [code for code, i in items.items() if i["computed"]] == ["G1"]


def test_default_staff_rubric(client, district):
    version = _version(client, district, STAFF)
    assert [(s["code"], s["name"], s["max_points"]) for s in version["sections"]] == [
        ("de", "德", "10.00"),
        ("neng", "能", "20.00"),
        ("qin", "勤", "15.00"),
        ("ji", "绩", "45.00"),
        ("lian", "廉", "10.00"),
    ]
    assert version["settings"]["rater_weights"] == {
        "assessment": 50,
        "satisfaction": 20,
        "peer": 20,
        "self": 10,
    }
    for section in version["sections"]:
        rated = [i for i in section["items"] if i["max_score"] is not None]
        assert sum(Decimal(i["max_score"]) for i in rated) == Decimal(section["max_points"])
    vetoes = {code: i for code, i in _items(version).items() if i["kind"] == "veto"}
    assert set(vetoes) == {"V1", "V2", "V3", "V4", "V5"}
    assert "健康证" in vetoes["V2"]["text"] and "6个月" in vetoes["V5"]["text"]
    assert vetoes["V5"]["computed"] is True


def test_seeding_twice_changes_nothing(app, district):
    from service.db import db
    from service.rubrics.defaults import seed_default_rubrics
    from service.rubrics.models import RubricItem, RubricVersion

    with app.app_context(), use_scope(TenantScope.bureau()):
        before = len(db.session.scalars(select(RubricItem.id)).all())
        assert seed_default_rubrics(db.session()) == []
        assert len(db.session.scalars(select(RubricItem.id)).all()) == before
        assert len(db.session.scalars(select(RubricVersion.id)).all()) == 3


def test_current_version_is_the_published_one(app, district):
    from service.db import db
    from service.rubrics import operations
    from service.rubrics.models import RubricKind, VersionStatus

    with app.app_context(), use_scope(TenantScope.bureau()):
        current = operations.current_version(RubricKind.SAFETY)
        assert current is not None
        assert (current.id, current.status) == (SAFETY, VersionStatus.PUBLISHED)
        db.session.rollback()


# --- versions -----------------------------------------------------------------------------------------


def test_new_version_copies_everything(client, district):
    original = _version(client, district, CANTEEN)
    draft = _new_draft(client, district)
    assert (draft["version"], draft["status"], draft["note"]) == (2, "draft", "2027版")
    assert draft["id"] != original["id"]
    assert draft["settings"] == original["settings"]
    assert _content(draft) == _content(original)
    draft_ids = {i["id"] for i in _items(draft).values()}
    assert draft_ids.isdisjoint({i["id"] for i in _items(original).values()})
    listed = client.get(f"/api/v1/rubrics/{CANTEEN}/versions", headers=district.headers("official"))
    assert [(v["version"], v["status"]) for v in listed.get_json()] == [(1, "published"), (2, "draft")]
    rubric = client.get("/api/v1/rubrics", headers=district.headers("admin")).get_json()[0]
    assert (rubric["current_version_id"], rubric["draft_version_id"]) == (original["id"], draft["id"])


def test_only_one_draft_at_a_time(client, district):
    _new_draft(client, district)
    resp = client.post(f"/api/v1/rubrics/{CANTEEN}/versions", json={}, headers=district.headers("admin"))
    assert resp.status_code == 409
    assert resp.get_json()["errors"]["_schema"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/rubric-versions/1", {"note": "改"}),
        ("PATCH", "/api/v1/rubric-versions/1", {"sections": [{"code": "A", "max_points": "12"}]}),
        ("POST", "/api/v1/rubric-versions/1/items", {"section_code": "A", "code": "A9", "text": "新"}),
        ("PATCH", "/api/v1/rubric-items/1", {"deduction": "3"}),
        ("DELETE", "/api/v1/rubric-items/1", None),
        ("POST", "/api/v1/rubric-versions/1/publish", None),
    ],
)
def test_published_version_cannot_be_edited(client, district, method, path, body):
    before = _version(client, district, 1)
    resp = client.open(path, method=method, json=body, headers=district.headers("admin"))
    assert resp.status_code == 409, resp.get_json()
    assert FROZEN_MESSAGE in resp.get_json()["errors"]["_schema"]
    assert _version(client, district, 1) == before


def test_publishing_v2_retires_v1_and_leaves_its_rows_alone(client, district):
    headers = district.headers("admin")
    v1_before = _version(client, district, CANTEEN)
    draft = _new_draft(client, district)
    cert = _items(draft)["B1"]
    resp = client.patch(
        f"/api/v1/rubric-items/{cert['id']}",
        json={"deduction": "6", "cap": "12", "text": "健康证（新）"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["deduction"], resp.get_json()["cap"]) == ("6.00", "12.00")
    resp = client.patch(
        f"/api/v1/rubric-versions/{draft['id']}",
        json={
            "settings": {"sample_grams": 150, "banned_foods": None},
            "sections": [
                {"code": "A", "max_points": "12"},
                {"code": "F", "max_points": "13", "name": "陪餐"},
            ],
        },
        headers=headers,
    )
    assert resp.status_code == 200, resp.get_json()
    patched = resp.get_json()
    assert patched["settings"]["sample_grams"] == 150 and "banned_foods" not in patched["settings"]
    assert patched["settings"]["sample_hours"] == 48
    assert _sections(patched)["A"] == "12.00" and _sections(patched)["F"] == "13.00"

    resp = client.post(f"/api/v1/rubric-versions/{draft['id']}/publish", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    published = resp.get_json()
    assert published["status"] == "published" and published["published_by_id"] == district.admin.id

    v1_after = _version(client, district, CANTEEN)
    assert v1_after["status"] == "retired"
    assert {k: v for k, v in v1_after.items() if k not in ("status", "status_label")} == {
        k: v for k, v in v1_before.items() if k not in ("status", "status_label")
    }
    rubric = client.get("/api/v1/rubrics", headers=headers).get_json()[0]
    assert (rubric["current_version"], rubric["current_version_id"]) == (2, draft["id"])
    # The retired version is frozen too; the next draft copies v2.
    assert client.patch("/api/v1/rubric-items/1", json={"unit": "x"}, headers=headers).status_code == 409
    v3 = _new_draft(client, district)
    assert v3["version"] == 3 and _items(v3)["B1"]["deduction"] == "6.00"


def test_add_and_delete_items_of_a_draft(client, district):
    headers = district.headers("admin")
    draft = _new_draft(client, district, SAFETY)
    resp = client.post(
        f"/api/v1/rubric-versions/{draft['id']}/items",
        json={
            "section_code": "E",
            "code": "E5",
            "text": "校园周边护学岗",
            "text_en": "Guard post at the gate at school run times",
            "kind": "general",
            "deduction": 1,
            "cap": "4",
            "unit": "每天",
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()
    item = resp.get_json()
    assert (item["section_code"], item["deduction"], item["cap"], item["position"]) == (
        "E",
        "1.00",
        "4.00",
        5,
    )
    moved = client.patch(
        f"/api/v1/rubric-items/{item['id']}", json={"section_code": "F"}, headers=headers
    ).get_json()
    assert moved["section_code"] == "F"
    drill = _items(draft)["F2"]
    assert client.delete(f"/api/v1/rubric-items/{drill['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/rubric-items/{drill['id']}", headers=headers).status_code == 404
    codes = set(_items(_version(client, district, draft["id"])))
    assert "E5" in codes and "F2" not in codes
    assert client.post(f"/api/v1/rubric-versions/{draft['id']}/publish", headers=headers).status_code == 200


# --- validation ---------------------------------------------------------------------------------------


def test_publish_refuses_sections_not_adding_up_to_100(client, district):
    headers = district.headers("admin")
    draft = _new_draft(client, district)
    resp = client.patch(
        f"/api/v1/rubric-versions/{draft['id']}",
        json={"sections": [{"code": "A", "max_points": "15"}]},
        headers=headers,
    )
    assert resp.status_code == 200
    resp = client.post(f"/api/v1/rubric-versions/{draft['id']}/publish", headers=headers)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert list(errors) == ["sections"]
    assert CJK.search(errors["sections"][0]) and "105" in errors["sections"][0]
    assert _version(client, district, draft["id"])["status"] == "draft"
    assert _version(client, district, CANTEEN)["status"] == "published"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"deduction": "-1"}, "deduction"),
        ({"deduction": "abc"}, "deduction"),
        ({"cap": "1"}, "cap"),  # below B1's deduction of 5
        ({"code": "A1"}, "code"),  # another item of the version has it
        ({"section_code": "Z"}, "section_code"),
        ({"kind": "fatal"}, "kind"),
    ],
)
def test_invalid_item_patch_is_422_by_field(client, district, body, field):
    draft = _new_draft(client, district)
    cert = _items(draft)["B1"]
    resp = client.patch(f"/api/v1/rubric-items/{cert['id']}", json=body, headers=district.headers("admin"))
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(m, str) and m for m in errors[field])
    assert _items(_version(client, district, draft["id"]))["B1"] == cert


def test_invalid_new_item_is_422_by_field(client, district):
    draft = _new_draft(client, district)
    url = f"/api/v1/rubric-versions/{draft['id']}/items"
    headers = district.headers("admin")
    resp = client.post(url, json={"section_code": "A", "code": "A9", "deduction": -2}, headers=headers)
    assert resp.status_code == 422
    assert {"text", "deduction"} == set(resp.get_json()["errors"])
    resp = client.post(
        url,
        json={"section_code": "A", "code": "A9", "text": "新项", "deduction": 3, "cap": 2},
        headers=headers,
    )
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["cap"]
    assert CJK.search(resp.get_json()["errors"]["cap"][0])


def test_section_points_must_be_positive(client, district):
    draft = _new_draft(client, district)
    resp = client.patch(
        f"/api/v1/rubric-versions/{draft['id']}",
        json={"sections": [{"code": "A", "max_points": "0"}]},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 422
    assert list(resp.get_json()["errors"]) == ["max_points"]
    resp = client.patch(
        f"/api/v1/rubric-versions/{draft['id']}",
        json={"sections": [{"code": "A", "max_points": "-5"}]},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 422


def test_staff_rated_items_must_match_their_dimension(client, district):
    headers = district.headers("admin")
    draft = _new_draft(client, district, STAFF)
    resp = client.patch(
        f"/api/v1/rubric-versions/{draft['id']}",
        json={"sections": [{"code": "de", "max_points": "15"}, {"code": "ji", "max_points": "40"}]},
        headers=headers,
    )
    assert resp.status_code == 200
    resp = client.post(f"/api/v1/rubric-versions/{draft['id']}/publish", headers=headers)
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["max_score"]
    items = _items(_version(client, district, draft["id"]))
    for code, score in (("de1", "15"), ("ji1", "40")):
        resp = client.patch(
            f"/api/v1/rubric-items/{items[code]['id']}", json={"max_score": score}, headers=headers
        )
        assert resp.status_code == 200
    assert client.post(f"/api/v1/rubric-versions/{draft['id']}/publish", headers=headers).status_code == 200


# --- roles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin", "official", "inspector", "admin_a", "admin_b"])
def test_every_role_reads_the_rubrics(client, district, username):
    headers = district.headers(username)
    assert len(client.get("/api/v1/rubrics", headers=headers).get_json()) == 3
    assert client.get(f"/api/v1/rubrics/{STAFF}/versions", headers=headers).status_code == 200
    assert _version(client, district, SAFETY, username)["sections"]
    assert client.get("/api/v1/rubric-items/1", headers=headers).status_code == 200


WRITES = [
    ("POST", "/api/v1/rubrics/1/versions", {}),
    ("PATCH", "/api/v1/rubric-versions/{draft}", {"note": "x"}),
    ("POST", "/api/v1/rubric-versions/{draft}/items", {"section_code": "A", "code": "A9", "text": "新"}),
    ("PATCH", "/api/v1/rubric-items/{item}", {"deduction": "1"}),
    ("DELETE", "/api/v1/rubric-items/{item}", None),
    ("POST", "/api/v1/rubric-versions/{draft}/publish", None),
]


@pytest.mark.parametrize("username", ["official", "inspector", "admin_a"])
def test_only_the_bureau_admin_changes_rubrics(client, district, username):
    draft = _new_draft(client, district, SAFETY)
    snapshot = _version(client, district, draft["id"])
    item = _items(draft)["A1"]["id"]
    for method, path, body in WRITES:
        url = path.format(draft=draft["id"], item=item)
        resp = client.open(url, method=method, json=body, headers=district.headers(username))
        assert resp.status_code == 403, f"{method} {url}: {resp.status_code}"
        assert resp.get_json()["errors"]
    assert _version(client, district, draft["id"]) == snapshot
    assert (
        len(client.get(f"/api/v1/rubrics/{CANTEEN}/versions", headers=district.headers("admin")).get_json())
        == 1
    )


def test_unknown_ids_are_404(client, district):
    headers = district.headers("admin")
    assert client.get("/api/v1/rubric-versions/999", headers=headers).status_code == 404
    assert client.get("/api/v1/rubrics/999/versions", headers=headers).status_code == 404
    assert client.patch("/api/v1/rubric-items/999", json={}, headers=headers).status_code == 404


# --- the flush guard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change", ["item", "section", "version", "new_item", "delete_section", "delete_version"]
)
def test_flush_guard_refuses_changes_to_a_published_version(app, district, change):
    from service.db import db
    from service.rubrics.guard import FrozenVersion
    from service.rubrics.models import RubricItem, RubricSection, RubricVersion

    with app.app_context(), use_scope(TenantScope.bureau()):
        s = db.session
        version = s.get(RubricVersion, CANTEEN)
        section = s.scalars(select(RubricSection).where(RubricSection.version_id == version.id)).first()
        if change == "item":
            s.scalars(
                select(RubricItem).where(RubricItem.section_id == section.id)
            ).first().deduction = Decimal(9)
        elif change == "section":
            section.max_points = Decimal(11)
        elif change == "version":
            version.settings = {"sample_grams": 1}
        elif change == "new_item":
            s.add(RubricItem(section_id=section.id, code="A9", text="偷偷加的", deduction=Decimal(1)))
        elif change == "delete_section":
            s.delete(section)
        else:
            s.delete(version)
        with pytest.raises(FrozenVersion):
            s.flush()
        s.rollback()
        assert s.get(RubricVersion, CANTEEN).settings["sample_grams"] == 125


def test_flush_guard_allows_only_retiring_a_published_version(app, district):
    from service.db import db
    from service.rubrics.guard import FrozenVersion
    from service.rubrics.models import RubricVersion, VersionStatus

    with app.app_context(), use_scope(TenantScope.bureau()):
        s = db.session
        version = s.get(RubricVersion, STAFF)
        version.status = VersionStatus.RETIRED
        version.note = "顺便改个说明"
        with pytest.raises(FrozenVersion):
            s.flush()  # retiring, but changing something else too
        s.rollback()
        version = s.get(RubricVersion, STAFF)
        version.status = VersionStatus.RETIRED
        s.flush()
        version.status = VersionStatus.PUBLISHED  # retired → published is not a transition
        with pytest.raises(FrozenVersion):
            s.flush()
        s.rollback()


def test_at_most_one_published_version_per_rubric(app, district, client):
    from service.db import db
    from service.rubrics.models import RubricVersion, VersionStatus

    draft = _new_draft(client, district)
    with app.app_context(), use_scope(TenantScope.bureau()):
        s = db.session
        s.get(RubricVersion, draft["id"]).status = VersionStatus.PUBLISHED
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def test_rubric_edits_are_in_the_audit_trail(client, district):
    """A bureau admin's change to a draft rubric item is recorded with before and after."""
    admin = district.headers("admin")
    draft = client.post("/api/v1/rubrics/1/versions", json={"note": "2027 修订"}, headers=admin).get_json()
    item = draft["sections"][0]["items"][0]
    new = "9.00" if item["deduction"] != "9.00" else "8.00"
    resp = client.patch(f"/api/v1/rubric-items/{item['id']}", json={"deduction": new}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    trail = client.get(
        "/api/v1/audit", query_string={"table": "rubric_items", "row_id": item["id"]}, headers=admin
    ).get_json()
    update = next(e for e in trail if e["action"] == "update")
    assert update["changes"]["deduction"] == [item["deduction"], new]
    assert update["actor_name"] == "admin" and update["school_id"] is None
