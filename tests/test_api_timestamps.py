"""Every timestamp the REST API writes carries its UTC offset: ISO 8601 in Beijing time, ``+08:00``.

SQLite (the demo) hands naive values back and PostgreSQL aware ones; both must come out the same way.
The walk calls every GET route of the OpenAPI document as the bureau admin on a district with a record
of every kind (the isolation matrix's school-B records, plus an accepted report and a filed appeal),
once on the suite's database (PostgreSQL when it runs) and once on a fresh SQLite file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from marshmallow import Schema, fields

import service
from service.core.timeutil import api_timestamp
from service.rubrics.models import RubricKind
from tests.conftest import Database, District, evaluate_all_staff, test_config
from tests.test_isolation_matrix import ID_PARAMS, OTHER_PARAMS
from tests.test_isolation_matrix import b_records as b_records  # the fixture: school B's records

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
WITH_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def _schema_classes() -> Iterator[type[Schema]]:
    for info in pkgutil.walk_packages(service.__path__, "service."):
        if info.name.startswith("service.demo"):
            continue
        module = importlib.import_module(info.name)
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Schema) and obj.__module__ == module.__name__:
                yield obj


def test_no_output_schema_uses_a_bare_datetime_field() -> None:
    """``fields.DateTime`` writes SQLite's naive values without an offset: outputs use ``Timestamp``."""
    bare = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in _schema_classes()
        for name, field in cls._declared_fields.items()
        if type(field) is fields.DateTime
    ]
    assert not bare, "use service.core.schemas.Timestamp for: " + ", ".join(bare)


def test_api_timestamp_is_beijing_time_with_its_offset() -> None:
    from datetime import UTC, datetime

    assert api_timestamp(datetime(2026, 11, 3, 7, 55)) == "2026-11-03T15:55:00+08:00"  # naive = UTC (SQLite)
    assert api_timestamp(datetime(2026, 11, 3, 7, 55, tzinfo=UTC)) == "2026-11-03T15:55:00+08:00"
    assert api_timestamp(None) is None


# --- the answers, on both databases ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from service import create_app, migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('timestamps') / 'houqin.sqlite'}"
    migrate.upgrade(url)
    return create_app(test_config(Database("sqlite", url, url, None)))


@pytest.fixture(params=["suite-database", "sqlite"])
def app(request: pytest.FixtureRequest, app: Any) -> Any:
    """The suite's app (PostgreSQL when it runs), then an app on a fresh SQLite file."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_app")
    return app


def _accepted_report_and_appeal(app: Any, d: District) -> None:
    """School A's month submitted and accepted (submitted_at, accepted_at, a ranking job) and a spot
    inspection of A appealed (filed_at), through the API as people do it."""
    client = app.test_client()
    period = client.post(
        "/api/v1/periods", json={"year": 2026, "month": 11}, headers=d.headers("admin")
    ).get_json()
    evaluate_all_staff(app, d.school_a.id, period["id"])
    report = client.post(
        "/api/v1/reports", json={"period_id": period["id"]}, headers=d.headers("admin_a")
    ).get_json()
    assert (
        client.post(f"/api/v1/reports/{report['id']}/submit", headers=d.headers("admin_a")).status_code == 200
    )
    assert (
        client.post(f"/api/v1/reports/{report['id']}/accept", headers=d.headers("admin")).status_code == 200
    )

    rows = _all_passed(app, RubricKind.SAFETY)
    spot = client.post(
        "/api/v1/inspections",
        json={
            "school_id": d.school_a.id,
            "kind": "safety",
            "mode": "spot",
            "period_id": period["id"],
            "inspected_on": date(2026, 11, 20).isoformat(),
            "items": rows,
        },
        headers=d.headers("inspector"),
    )
    assert spot.status_code == 201, spot.get_json()
    appeal = client.post(
        "/api/v1/appeals",
        json={"inspection_id": spot.get_json()["id"], "reason": "检查当天消防通道并未堵塞"},
        headers=d.headers("admin_a"),
    )
    assert appeal.status_code == 201, appeal.get_json()


def _all_passed(app: Any, kind: Any) -> list[dict[str, Any]]:
    from service.db import db
    from service.rubrics.operations import current_version
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(kind)
        rows = [{"item_id": i.id, "result": "pass"} for i in version.all_items() if not i.computed]
        db.session.remove()
    return rows


def _walk(node: Any, path: str, found: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _walk(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, f"{path}[]", found)
    elif isinstance(node, str) and DATETIME.match(node):
        found[path] = node


def test_every_api_timestamp_has_its_offset(app: Any, b_records: District) -> None:
    d = b_records
    _accepted_report_and_appeal(app, d)
    client = app.test_client()
    spec = client.get("/api/openapi.json").get_json()
    values = {**{k: f(d) for k, f in ID_PARAMS.items()}, **OTHER_PARAMS}
    found: dict[str, str] = {}
    answered = 0
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
        resp = client.get(url, query_string={"per_page": 500}, headers=d.headers("admin"))
        assert resp.status_code < 500, f"{url} → {resp.status_code}"
        if resp.is_json and resp.status_code == 200:
            answered += 1
            _walk(resp.get_json(), url, found)
    naive = {where: value for where, value in found.items() if not WITH_OFFSET.search(value)}
    assert not naive, f"timestamps without an offset: {naive}"
    other = {where: value for where, value in found.items() if not value.endswith("+08:00")}
    assert not other, f"timestamps not in Beijing time: {other}"
    # the walk saw the kinds of timestamp the issue names, so it is not passing on empty lists
    keys = {where.rsplit(".", 1)[-1] for where in found}
    assert {
        "accepted_at",
        "submitted_at",
        "filed_at",
        "occurred_at",
        "created_at",
        "at",
        "computed_at",
    } <= keys
    assert answered > 30
