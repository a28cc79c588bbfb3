"""The REST API under /api/v1: schools, staff, certificate warnings, errors and the OpenAPI docs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import TODAY

CJK = re.compile(r"[\u4e00-\u9fff]")


def new_school(district: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": "SD",
        "name": "丁中学",
        "type": "junior",
        "enrollment": 900,
        "canteen_mode": "self_run",
        "cluster_id": district.cluster_2.id,
    }
    body.update(overrides)
    return body


def new_staff(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "王师傅",
        "role": "cook",
        "contract_type": "temporary",
        "hire_date": (TODAY - timedelta(days=30)).isoformat(),
        "health_cert_no": "JK-NEW",
        "health_cert_expiry": (TODAY + timedelta(days=365)).isoformat(),
    }
    body.update(overrides)
    return body


def school_count(client: Any, district: Any) -> int:
    resp = client.get("/api/v1/schools", headers=district.headers("admin"))
    assert resp.status_code == 200
    return int(resp.headers["X-Total-Count"])


def school_codes(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [s["code"] for s in resp.get_json()]


# --- schools: reading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "codes"),
    [
        ("admin", ["SA", "SB", "SC"]),
        ("official", ["SA", "SB", "SC"]),
        ("admin_a", ["SA"]),
        ("inspector", ["SA", "SC"]),
    ],
)
def test_school_list_follows_the_callers_scope(client, district, username, codes):
    resp = client.get("/api/v1/schools", headers=district.headers(username))
    assert school_codes(resp) == codes
    assert resp.headers["X-Total-Count"] == str(len(codes))


def test_school_list_pagination(client, district):
    headers = district.headers("admin")
    first = client.get("/api/v1/schools", query_string={"per_page": 2}, headers=headers)
    assert school_codes(first) == ["SA", "SB"]
    assert first.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in first.headers["Link"]
    second = client.get("/api/v1/schools", query_string={"per_page": 2, "page": 2}, headers=headers)
    assert school_codes(second) == ["SC"]
    assert second.headers["X-Total-Count"] == "3"
    assert 'rel="next"' not in second.headers["Link"]


@pytest.mark.parametrize("query", [{"per_page": 0}, {"per_page": 501}, {"page": 0}, {"page": "x"}])
def test_school_list_rejects_bad_paging(client, district, query):
    resp = client.get("/api/v1/schools", query_string=query, headers=district.headers("admin"))
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) <= {"page", "per_page"}
    assert resp.get_json()["errors"]


def test_school_list_filters_by_cluster(client, district):
    resp = client.get(
        "/api/v1/schools",
        query_string={"cluster_id": district.cluster_1.id},
        headers=district.headers("admin"),
    )
    assert school_codes(resp) == ["SA", "SC"]
    assert resp.headers["X-Total-Count"] == "2"
    resp = client.get(
        "/api/v1/schools",
        query_string={"cluster_id": district.cluster_2.id},
        headers=district.headers("admin"),
    )
    assert school_codes(resp) == ["SB"]


def test_cluster_filter_cannot_widen_scope(client, district):
    resp = client.get(
        "/api/v1/schools",
        query_string={"cluster_id": district.cluster_2.id},
        headers=district.headers("admin_a"),
    )
    assert school_codes(resp) == []
    assert resp.headers["X-Total-Count"] == "0"


def test_other_schools_read_as_not_found(client, district):
    assert (
        client.get(f"/api/v1/schools/{district.school_a.id}", headers=district.headers("admin_a")).status_code
        == 200
    )
    resp = client.get(f"/api/v1/schools/{district.school_b.id}", headers=district.headers("admin_a"))
    assert resp.status_code == 404
    assert resp.get_json()["errors"]
    missing = client.get("/api/v1/schools/999999", headers=district.headers("admin_a"))
    assert missing.status_code == 404
    assert missing.get_json() == resp.get_json()


# --- schools: writing ------------------------------------------------------------------------------


def test_admin_creates_school(client, district):
    resp = client.post("/api/v1/schools", json=new_school(district), headers=district.headers("admin"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "SD"
    assert body["type"] == "junior"
    assert body["cluster_id"] == district.cluster_2.id
    assert isinstance(body["id"], int)
    assert school_count(client, district) == 4
    got = client.get(f"/api/v1/schools/{body['id']}", headers=district.headers("official"))
    assert got.get_json()["name"] == "丁中学"


@pytest.mark.parametrize("username", ["official", "admin_a", "inspector"])
def test_only_bureau_admin_creates_schools(client, district, username):
    resp = client.post("/api/v1/schools", json=new_school(district), headers=district.headers(username))
    assert resp.status_code == 403
    assert resp.get_json()["errors"]
    assert school_count(client, district) == 3


def test_invalid_school_is_422_by_field(client, district):
    body = new_school(district, type="university", enrollment=-5)
    del body["name"]
    resp = client.post("/api/v1/schools", json=body, headers=district.headers("admin"))
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert {"name", "type", "enrollment"} <= set(errors)
    for field in ("name", "type", "enrollment"):
        assert isinstance(errors[field], list) and errors[field]
        assert all(isinstance(m, str) and m for m in errors[field])
    assert "json" not in errors  # flattened by field, not nested by location
    assert school_count(client, district) == 3


def test_duplicate_school_code_is_422_on_code(client, district):
    resp = client.post(
        "/api/v1/schools", json=new_school(district, code="SA"), headers=district.headers("admin")
    )
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert list(errors) == ["code"]
    assert school_count(client, district) == 3


def test_unknown_cluster_is_422(client, district):
    resp = client.post(
        "/api/v1/schools", json=new_school(district, cluster_id=999999), headers=district.headers("admin")
    )
    assert resp.status_code == 422
    assert "cluster_id" in resp.get_json()["errors"]
    assert school_count(client, district) == 3


def test_admin_patches_school(client, district):
    url = f"/api/v1/schools/{district.school_a.id}"
    resp = client.patch(
        url, json={"enrollment": 650, "contact_phone": "0371-1234567"}, headers=district.headers("admin")
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["enrollment"] == 650
    got = client.get(url, headers=district.headers("admin_a")).get_json()
    assert got["enrollment"] == 650
    assert got["contact_phone"] == "0371-1234567"
    assert got["name"] == "甲小学"  # untouched fields stay


@pytest.mark.parametrize("username", ["official", "admin_a", "inspector"])
def test_patch_school_refused_for_non_admins(client, district, username):
    url = f"/api/v1/schools/{district.school_a.id}"
    resp = client.patch(url, json={"enrollment": 1}, headers=district.headers(username))
    assert resp.status_code == 403
    assert client.get(url, headers=district.headers("admin")).get_json()["enrollment"] == 600


def test_patch_school_to_duplicate_code_is_422(client, district):
    url = f"/api/v1/schools/{district.school_a.id}"
    resp = client.patch(url, json={"code": "SB"}, headers=district.headers("admin"))
    assert resp.status_code == 422
    assert "code" in resp.get_json()["errors"]
    assert client.get(url, headers=district.headers("admin")).get_json()["code"] == "SA"


# --- staff -----------------------------------------------------------------------------------------


def test_school_admin_adds_staff_to_own_school(client, district):
    resp = client.post("/api/v1/staff", json=new_staff(), headers=district.headers("admin_a"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["school_id"] == district.school_a.id
    assert body["name"] == "王师傅"
    listed = client.get("/api/v1/staff", headers=district.headers("admin_a")).get_json()
    assert body["id"] in [m["id"] for m in listed]


def test_school_admin_cannot_add_staff_to_other_school(client, district):
    resp = client.post(
        "/api/v1/staff", json=new_staff(school_id=district.school_b.id), headers=district.headers("admin_a")
    )
    assert resp.status_code == 404
    listed = client.get(
        "/api/v1/staff", query_string={"school_id": district.school_b.id}, headers=district.headers("admin")
    ).get_json()
    assert [m["name"] for m in listed] == ["李乙厨"]


def test_bureau_admin_must_name_the_school(client, district):
    resp = client.post("/api/v1/staff", json=new_staff(), headers=district.headers("admin"))
    assert resp.status_code == 422
    assert "school_id" in resp.get_json()["errors"]
    resp = client.post(
        "/api/v1/staff", json=new_staff(school_id=district.school_c.id), headers=district.headers("admin")
    )
    assert resp.status_code == 201
    assert resp.get_json()["school_id"] == district.school_c.id


@pytest.mark.parametrize("username", ["inspector", "official"])
def test_readers_cannot_add_staff(client, district, username):
    body = new_staff(school_id=district.school_a.id)
    resp = client.post("/api/v1/staff", json=body, headers=district.headers(username))
    assert resp.status_code == 403
    listed = client.get("/api/v1/staff", headers=district.headers("admin")).get_json()
    assert "王师傅" not in [m["name"] for m in listed]


def test_invalid_staff_is_422_by_field(client, district):
    resp = client.post(
        "/api/v1/staff",
        json={"name": "", "role": "chef", "contract_type": "contract", "hire_date": "2024-13-40"},
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 422
    assert {"name", "role", "hire_date"} <= set(resp.get_json()["errors"])


def test_school_admin_patches_own_staff(client, district):
    url = f"/api/v1/staff/{district.staff_a.id}"
    resp = client.patch(url, json={"phone": "13800000000"}, headers=district.headers("admin_a"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["phone"] == "13800000000"
    assert client.get(url, headers=district.headers("admin")).get_json()["phone"] == "13800000000"


def test_school_admin_cannot_patch_other_schools_staff(client, district):
    url = f"/api/v1/staff/{district.staff_b.id}"
    resp = client.patch(url, json={"phone": "13800000000"}, headers=district.headers("admin_a"))
    assert resp.status_code == 404
    assert client.get(url, headers=district.headers("admin")).get_json()["phone"] == ""


def test_staff_patch_cannot_move_to_other_school(client, district):
    url = f"/api/v1/staff/{district.staff_a.id}"
    resp = client.patch(url, json={"school_id": district.school_b.id}, headers=district.headers("admin_a"))
    assert resp.status_code == 422
    assert client.get(url, headers=district.headers("admin")).get_json()["school_id"] == district.school_a.id


def test_staff_list_is_scoped(client, district):
    resp = client.get("/api/v1/staff", headers=district.headers("admin_a"))
    assert resp.status_code == 200
    assert [m["name"] for m in resp.get_json()] == ["张甲厨"]
    assert resp.headers["X-Total-Count"] == "1"
    everyone = client.get("/api/v1/staff", headers=district.headers("admin")).get_json()
    assert sorted(m["name"] for m in everyone) == ["张甲厨", "李乙厨"]


def test_staff_filter_on_other_school_returns_nothing(client, district):
    resp = client.get(
        "/api/v1/staff", query_string={"school_id": district.school_b.id}, headers=district.headers("admin_a")
    )
    assert resp.status_code == 200
    assert resp.get_json() == []
    assert resp.headers["X-Total-Count"] == "0"


# --- certificate warnings --------------------------------------------------------------------------


def warnings_of(client: Any, district: Any, school: Any, username: str = "admin_a") -> list[dict[str, Any]]:
    resp = client.get(f"/api/v1/schools/{school.id}/certificate-warnings", headers=district.headers(username))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_recompute_lists_expiring_certificate(client, district):
    assert warnings_of(client, district, district.school_a) == []
    resp = client.post(
        f"/api/v1/schools/{district.school_a.id}/certificate-warnings/recompute",
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 202
    assert resp.get_json()["queued"] is True
    rows = warnings_of(client, district, district.school_a)
    assert [(w["staff_id"], w["kind"]) for w in rows] == [(district.staff_a.id, "expiring")]
    assert rows[0]["staff_name"] == "张甲厨"
    assert rows[0]["expires_on"] == (TODAY + timedelta(days=10)).isoformat()
    # only school A was recomputed: B's expired cook has no warning row yet
    assert warnings_of(client, district, district.school_b, "admin") == []


def test_recompute_of_other_school_is_not_found(client, district):
    resp = client.post(
        f"/api/v1/schools/{district.school_b.id}/certificate-warnings/recompute",
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 404
    resp = client.get(
        f"/api/v1/schools/{district.school_b.id}/certificate-warnings", headers=district.headers("admin_a")
    )
    assert resp.status_code == 404


def test_inspector_cannot_recompute(client, district):
    resp = client.post(
        f"/api/v1/schools/{district.school_a.id}/certificate-warnings/recompute",
        headers=district.headers("inspector"),
    )
    assert resp.status_code == 403


def test_new_staff_with_expired_certificate_raises_warning(client, district):
    expired = (TODAY - timedelta(days=1)).isoformat()
    resp = client.post(
        "/api/v1/staff", json=new_staff(health_cert_expiry=expired), headers=district.headers("admin_a")
    )
    assert resp.status_code == 201
    new_id = resp.get_json()["id"]
    kinds = {w["staff_id"]: w["kind"] for w in warnings_of(client, district, district.school_a)}
    assert kinds[new_id] == "expired"
    assert kinds[district.staff_a.id] == "expiring"  # the whole school was recomputed


def test_renewing_certificate_clears_warning(client, district):
    expired = (TODAY - timedelta(days=1)).isoformat()
    new_id = client.post(
        "/api/v1/staff", json=new_staff(health_cert_expiry=expired), headers=district.headers("admin_a")
    ).get_json()["id"]
    renewed = (TODAY + timedelta(days=365)).isoformat()
    resp = client.patch(
        f"/api/v1/staff/{new_id}", json={"health_cert_expiry": renewed}, headers=district.headers("admin_a")
    )
    assert resp.status_code == 200
    kinds = {w["staff_id"]: w["kind"] for w in warnings_of(client, district, district.school_a)}
    assert new_id not in kinds


# --- error messages in the user's language ---------------------------------------------------------


def test_422_messages_are_chinese_by_default(client, district):
    body = new_school(district)
    del body["name"]
    resp = client.post("/api/v1/schools", json=body, headers=district.headers("admin"))
    assert resp.status_code == 422
    payload = resp.get_json()
    assert all(CJK.search(m) for m in payload["errors"]["name"]), payload


def test_422_summary_message_is_chinese_by_default(client, district):
    body = new_school(district)
    del body["name"]
    resp = client.post("/api/v1/schools", json=body, headers=district.headers("admin"))
    assert resp.status_code == 422
    assert CJK.search(resp.get_json()["message"]), resp.get_json()


def test_403_message_is_chinese_by_default(client, district):
    resp = client.post("/api/v1/schools", json=new_school(district), headers=district.headers("official"))
    assert resp.status_code == 403
    assert all(CJK.search(m) for m in resp.get_json()["errors"]["_request"])


# --- OpenAPI and the docs --------------------------------------------------------------------------


def test_openapi_document(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    assert resp.is_json
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/v1/schools", "/api/v1/staff", "/api/v1/tokens", "/api/v1/me"} <= set(doc["paths"])
    assert "post" in doc["paths"]["/api/v1/schools"]


def test_swagger_ui_uses_local_assets(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "/static/vendor/swagger-ui/" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets)
    external = [a for a in assets if re.match(r"(https?:)?//", a)]
    assert external == []
    for asset in assets:
        if asset.startswith("/static/"):
            got = client.get(asset)
            assert got.status_code == 200, asset
            assert got.data
            got.close()


def test_swagger_bundle_is_served(client):
    resp = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert resp.status_code == 200
    assert len(resp.data) > 10000
    resp.close()


def test_api_answers_in_english_when_asked(client, district):
    """API clients choose with Accept-Language; without it (and on web pages) the answer is Chinese."""
    h = district.headers("admin")
    zh = client.get("/api/v1/schools/9999", headers=h).get_json()
    en = client.get("/api/v1/schools/9999", headers={**h, "Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert en["message"] == "Not found." and en["errors"]["_request"] == ["Not found."]
    assert zh["message"] != en["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"])
    page = client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "登录" in page
