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

from tests.conftest import District, login

# Path parameters → which of school B's objects to put there.
ID_PARAMS = {
    "school_id": lambda d: d.school_b.id,
    "staff_id": lambda d: d.staff_b.id,
    "user_id": lambda d: d.admin_b.id,
    "token_id": lambda d: d.token_b_id,
}
OTHER_PARAMS = {"code": "en", "filename": "houqin.css"}
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
    ("web.login", "POST"): lambda d: {"username": "admin_b", "password": "wrong-password"},
    ("web.logout", "POST"): lambda d: {},
    ("web.tokens", "POST"): lambda d: {"name": "matrix"},
    ("web.revoke_token", "POST"): lambda d: {},
}

# What a collection route (no id in the path) may answer when B's ids are in its query or body.
COLLECTION_EXPECT = {
    ("staff.StaffCollection", "POST"): {404},  # body names school B → not found
    ("accounts.Users", "POST"): {403},  # only the bureau admin creates accounts
    ("org.Schools", "POST"): {403},
}

B_MARKERS = ("乙小学", "李乙厨", "JK-B", "admin_b", "ADMIN_B")


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
    from service.org.models import School
    from service.staff.models import CertificateWarning, StaffMember
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


@pytest.mark.parametrize("actor", ["admin_a", "inspector"])
def test_school_b_is_unreachable_from_a(app: Any, district: District, actor: str) -> None:
    d = district
    before = _fingerprint(app, d)
    query = {
        "school_id": d.school_b.id,
        "staff_id": d.staff_b.id,
        "user_id": d.admin_b.id,
        "cluster_id": d.cluster_2.id,
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


def _probe(app: Any, d: District, actor: str, endpoint: str, method: str, query: dict) -> list[str]:
    rule = app.url_map._rules_by_endpoint[endpoint][0]
    values = {a: ID_PARAMS[a](d) if a in ID_PARAMS else OTHER_PARAMS[a] for a in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        path = url_for(endpoint, **values)
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
    text = resp.get_data(as_text=True) if not rule.rule.startswith("/static") else ""
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
    return problems


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
