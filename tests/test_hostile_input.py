"""Malformed values are a 4xx in the API's JSON error shape on every route, never a 500 (issue 14).

The routes come from the app itself - the url_map (every API route with an ``<int:...>`` id, every
method it registers) and the OpenAPI spec (every integer query parameter and body field) - so a route
added later is tried too. Ids past the int4 columns answer exactly the 404 of an id that does not
exist; bodies nested 100,000 deep, integers of 5,000 digits, NaN, NUL characters and lone surrogates
are refused before any view runs; integers past int4 in a query or a body are a 422 naming the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import District

pytestmark = pytest.mark.postgres

ROLES = ("admin", "official", "inspector", "admin_a", "admin_b")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OUT_OF_RANGE_IDS = (2**31, 68719476735, 2**63, 10**30)
BIG = 68719476735  # past int4 (the id columns), inside int8
NOT_FOUND_ID = 2**31 - 1  # the largest id a path takes: looked up, and it does not exist


def _api_id_rules(app: Any) -> list[Any]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and any(
            type(conv).__name__ == "BoundedIntConverter" for conv in rule._converters.values()
        ):
            rules.append(rule)
    return rules


def _path(rule: Any, value: Any) -> str:
    """The rule's path with every int argument set to ``value`` (other arguments: a plain word)."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", lambda m: str(value) if m.group(1) == "int" else "x",
                  rule.rule)  # fmt: skip


def _assert_error_shape(resp: Any, where: str) -> dict:
    assert 400 <= resp.status_code < 500, (where, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.is_json, (where, resp.status_code, resp.get_data(as_text=True)[:300])
    body = resp.get_json()
    assert body["code"] == resp.status_code and isinstance(body["message"], str), (where, body)
    assert body["errors"] and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(m, str) for m in v)
        for k, v in body["errors"].items()
    ), (where, body)
    return body


def test_every_int_id_route_answers_404_for_ids_past_the_column(app: Any, district: District) -> None:
    client = app.test_client()
    rules = _api_id_rules(app)
    assert len(rules) > 40  # the API's id routes, found in the url_map
    tried = 0
    for role in ROLES:
        headers = district.headers(role)
        # the answer for an id that does not exist, as this role
        missing = client.get(f"/api/v1/periods/{NOT_FOUND_ID}", headers=headers)
        assert missing.status_code == 404
        for rule in rules:
            for method in sorted(set(rule.methods) & set(METHODS)):
                # every value as the bureau admin; two of them (int8, past int8) as the other roles
                for value in OUT_OF_RANGE_IDS if role == "admin" else OUT_OF_RANGE_IDS[1::2]:
                    resp = client.open(_path(rule, value), method=method, headers=headers, json={})
                    where = f"{role} {method} {rule.rule} = {value}"
                    body = _assert_error_shape(resp, where)
                    assert resp.status_code == 404 and body == missing.get_json(), (where, body)
                    tried += 1
    assert tried > 500
    # without a token: the same answer as for any path (the id is not looked at)
    resp = client.get(f"/api/v1/periods/{BIG}")
    assert resp.status_code == client.get(f"/api/v1/periods/{NOT_FOUND_ID}").status_code


# --- bodies and query strings, from the OpenAPI spec -------------------------------------------------------


def _spec(app: Any) -> dict:
    from service.extensions import api

    with app.app_context():
        return api.spec.to_dict()


def _resolve(spec: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _integer_bodies(spec: dict, schema: dict, depth: int = 0) -> list[tuple[str, Any]]:
    """One body per integer field (nested objects and lists included): (field path, body)."""
    schema = _resolve(spec, schema)
    out: list[tuple[str, Any]] = []
    if depth > 3:
        return out
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("readOnly"):
            continue
        prop = _resolve(spec, prop)
        kind = prop.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            out.append((name, {name: BIG}))
        elif kind == "array":
            items = _resolve(spec, prop.get("items") or {})
            if items.get("type") == "integer":
                out.append((name, {name: [BIG]}))
            else:
                out += [(f"{name}.0.{p}", {name: [b]}) for p, b in _integer_bodies(spec, items, depth + 1)]
        elif kind == "object" or "properties" in prop:
            out += [(f"{name}.{p}", {name: b}) for p, b in _integer_bodies(spec, prop, depth + 1)]
    return out


def _operations(app: Any) -> list[tuple[str, str, dict]]:
    spec = _spec(app)
    out = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method.upper() in METHODS:
                url = re.sub(r"\{\w+\}", "1", path)  # ids that exist in the district (or 404)
                out.append((method.upper(), url, op))
    return out


HOSTILE_BODIES = {
    "nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, 400),
    "nested 100,000 deep in a field": ('{"title": ' + "[" * 100_000 + "]" * 100_000 + "}", 400),
    "an integer of 5,000 digits": ('{"period_id": ' + "7" * 5000 + "}", 400),
    "NaN": ('{"score": NaN}', 400),
    "a NUL character": ('{"name": "a\\u0000b", "title": "a\\u0000b"}', 422),
    "a lone surrogate": ('{"name": "\\ud800", "title": "\\udfff"}', 422),
    "a NUL in a key": ('{"a\\u0000": 1}', 422),
}


def test_hostile_json_bodies_are_refused_on_every_route(app: Any, district: District) -> None:
    client = app.test_client()
    operations = [(m, u, op) for m, u, op in _operations(app) if "requestBody" in op]
    assert len(operations) > 30
    # a bureau and a school role: bodies are read before any view looks at the role
    for role in ("admin", "admin_a"):
        headers = {**district.headers(role), "Content-Type": "application/json", "Accept-Language": "en"}
        for method, url, _op in operations:
            for label, (body, status) in HOSTILE_BODIES.items():
                resp = client.open(url, method=method, data=body, headers=headers)
                where = f"{role} {method} {url}: {label}"
                _assert_error_shape(resp, where)
                # a route may refuse the role or the id first (403/404); never anything else
                assert resp.status_code in (status, 403, 404, 405), (where, resp.get_json())


def test_the_refusals_say_what_is_wrong(app: Any, district: District) -> None:
    client = app.test_client()
    headers = {**district.headers("admin"), "Content-Type": "application/json", "Accept-Language": "en"}
    cases = [
        (HOSTILE_BODIES["nested 100,000 deep"][0], 400, "json", "nested more than"),
        (HOSTILE_BODIES["an integer of 5,000 digits"][0], 400, "json", "more than 20 digits"),
        ('{"name": "a\\u0000b"}', 422, "name", "NUL"),
        ('{"name": "ok", "code": "\\ud800"}', 422, "code", "surrogate"),
        (json.dumps({"name": "xx", "code": "C9", "supervisor_id": BIG}), 422, "supervisor_id", "between"),
    ]
    for body, status, field, needle in cases:
        resp = client.post("/api/v1/clusters", data=body, headers=headers)
        assert resp.status_code == status, resp.get_json()
        errors = _assert_error_shape(resp, body[:40])["errors"]
        assert any(needle in m for m in errors.get(field, [])), errors
    # Chinese by default
    resp = client.post("/api/v1/clusters", data='{"name": "a\\u0000b"}', headers=district.headers("admin") | {
        "Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 422 and "NUL" in resp.get_json()["errors"]["name"][0]
    assert re.search("[\u4e00-\u9fff]", resp.get_json()["errors"]["name"][0])


def test_integers_past_the_columns_are_422_in_bodies_and_query_strings(app: Any, district: District) -> None:
    spec = _spec(app)
    client = app.test_client()
    tried = 0
    for role in ("admin", "admin_a"):
        headers = {**district.headers(role), "Accept-Language": "en"}
        for method, url, op in _operations(app):
            for param in op.get("parameters", []):
                if param.get("in") != "query" or param.get("schema", {}).get("type") != "integer":
                    continue
                resp = client.open(url, method=method, query_string={param["name"]: BIG}, headers=headers)
                where = f"{role} {method} {url}?{param['name']}={BIG}"
                body = _assert_error_shape(resp, where)
                assert resp.status_code in (403, 404, 422), (where, body)
                if resp.status_code == 422:
                    assert param["name"] in body["errors"], (where, body)
                tried += 1
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            for field, payload in _integer_bodies(spec, schema):
                resp = client.open(url, method=method, json=payload, headers=headers)
                where = f"{role} {method} {url} {field}={BIG}"
                body = _assert_error_shape(resp, where)
                assert resp.status_code in (403, 404, 409, 422), (where, body)
                tried += 1
    assert tried > 60
    # the page of a list, far past its end, and past int4
    headers = district.headers("admin")
    assert client.get("/api/v1/periods?page=2147483647", headers=headers).status_code == 200
    resp = client.get(f"/api/v1/periods?page={BIG}", headers=headers)
    assert resp.status_code == 422 and "page" in resp.get_json()["errors"]
    resp = client.get("/api/v1/periods?page=" + "9" * 5000, headers=headers)
    assert resp.status_code == 422 and "page" in resp.get_json()["errors"]


def test_nul_in_a_query_string_or_a_form(app: Any, district: District) -> None:
    from tests.conftest import login

    client = app.test_client()
    resp = client.get("/api/v1/hazards?q=%00&status=open", headers=district.headers("admin_a"))
    body = _assert_error_shape(resp, "query NUL")
    assert resp.status_code == 422 and "q" in body["errors"]
    web = app.test_client()
    assert login(web, "admin_a").status_code == 302
    assert web.get("/hazards?q=a%00b").status_code == 400
    assert web.post("/login", data={"username": "admin\x00", "password": "x"}).status_code == 400


PAGE_FILTERS = [
    ("official", "/hazards", "school_id"),
    ("official", "/hazards", "page"),
    ("official", "/incidents", "school_id"),
    ("official", "/incidents", "page"),
    ("official", "/schools", "cluster_id"),
    ("official", "/boards/hazards", "cluster_id"),
    ("official", "/boards/hazards", "page"),
    ("official", "/boards/awaiting", "period_id"),
    ("admin", "/boards/unlock-requests", "cluster_id"),
    ("admin_a", "/reports", "period_id"),
    ("inspector", "/spot-inspections", "period_id"),
    ("inspector", "/spot-inspections", "school_id"),
]


@pytest.mark.parametrize("role,path,name", PAGE_FILTERS)
def test_page_filters_past_the_columns_are_ignored_not_a_500(
    app: Any, district: District, role: str, path: str, name: str
) -> None:
    """A page's id or page-number filter past int4 is read as no filter (the first page), as a word is."""
    from tests.conftest import login

    client = app.test_client()
    login(client, role)
    plain = client.get(path)
    assert plain.status_code == 200, (path, plain.status_code)
    for value in (BIG, 10**30, "abc"):
        resp = client.get(path, query_string={name: value})
        assert resp.status_code == 200, (path, name, value, resp.status_code)
