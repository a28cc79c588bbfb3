"""Set-ups shared by the review-queue and appeal tests (test client and browser journeys): months that
were returned and resubmitted with changes, spot inspections, a second inspector of cluster 1.

Everything goes through the REST API as the people concerned would do it, so the audit trail and the
transition logs are the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from service.db import db
from service.rubrics.models import RubricKind
from tenants import TenantScope, use_scope
from tests.conftest import District, evaluate_all_staff

API = "/api/v1"


def items(app: Any, kind: RubricKind, **failed: int) -> list[dict[str, Any]]:
    """Every entered item of the published version passed, except ``failed`` (code → occurrences)."""
    from service.rubrics.operations import current_version

    with app.app_context(), use_scope(TenantScope.bureau()):
        version = current_version(kind)
        assert version is not None
        rows = [
            {
                "item_id": item.id,
                "result": "fail" if item.code in failed else "pass",
                "occurrences": failed.get(item.code, 0),
            }
            for item in version.all_items()
            if not item.computed
        ]
        db.session.remove()
    return rows


def add_inspector(app: Any, district: District, username: str, cluster: Any) -> int:
    """Another inspector of ``cluster`` who can log in (the conftest's password) and has an API token."""
    from service.accounts.models import Role, User
    from service.accounts.operations import issue_token
    from service.org.models import Cluster
    from tests.conftest import _password_hash

    with app.app_context(), use_scope(TenantScope.bureau()):
        user = User(
            username=username,
            display_name=username.upper(),
            role=Role.INSPECTOR,
            password_hash=_password_hash(),
        )
        user.clusters = [db.session.scalars(select(Cluster).where(Cluster.id == cluster.id)).one()]
        db.session.add(user)
        db.session.flush()
        _tok, raw = issue_token(user, "tests")
        db.session.commit()
        district.tokens[username] = raw
        user_id = user.id
        db.session.remove()
    return user_id


def spot(
    client: Any, district: District, period_id: int, day: date, *, by: str = "inspector", **failed: int
) -> dict[str, Any]:
    """A canteen spot inspection of school A on ``day`` by ``by``."""
    resp = client.post(
        f"{API}/inspections",
        json={
            "school_id": district.school_a.id,
            "kind": "canteen",
            "mode": "spot",
            "period_id": period_id,
            "inspected_on": day.isoformat(),
            "unannounced": True,
            "notes": "不打招呼督查",
            "items": items(client.application, RubricKind.CANTEEN, **failed),
        },
        headers=district.headers(by),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@dataclass
class Months:
    """School C submitted first; school A submitted, was returned, changed its month and resubmitted;
    school B (another cluster) submitted too."""

    period_id: int
    report_a: int
    report_b: int
    report_c: int
    canteen_a: int  # A's canteen self-inspection, changed after the return
    safety_a: int  # A's safety self-inspection, added after the return
    hazard_a: int  # A's hazard, added after the return
    reason: str


RETURN_REASON = "留样记录不全，请补充食堂自查"


def _ok(resp: Any, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def returned_and_resubmitted(app: Any, district: District, period_id: int) -> Months:
    client = app.test_client()
    d = district
    a, b = d.headers("admin_a"), d.headers("admin_b")
    for school in (d.school_a, d.school_b):
        evaluate_all_staff(app, school.id, period_id)
    report_a = _ok(client.post(f"{API}/reports", json={"period_id": period_id}, headers=a), 201)["id"]
    report_b = _ok(client.post(f"{API}/reports", json={"period_id": period_id}, headers=b), 201)["id"]
    admin = d.headers("admin")
    report_c = _ok(
        client.post(
            f"{API}/reports", json={"period_id": period_id, "school_id": d.school_c.id}, headers=admin
        ),
        201,
    )["id"]
    _submit_as_school(app, d.school_c.id, report_c)

    canteen = _ok(
        client.post(
            f"{API}/inspections",
            json={
                "kind": "canteen",
                "mode": "self",
                "period_id": period_id,
                "inspected_on": "2026-11-10",
                "inspector_name": "甲校总务处",
                "items": items(app, RubricKind.CANTEEN, B2=1),
            },
            headers=a,
        ),
        201,
    )
    _ok(client.post(f"{API}/reports/{report_a}/submit", headers=a))
    _ok(client.post(f"{API}/reports/{report_b}/submit", headers=b))
    _ok(
        client.post(
            f"{API}/reports/{report_a}/return", json={"reason": RETURN_REASON}, headers=d.headers("inspector")
        )
    )

    # after the return: the canteen self-inspection corrected, a safety check and a hazard added
    _ok(
        client.patch(
            f"{API}/inspections/{canteen['id']}",
            json={"items": items(app, RubricKind.CANTEEN), "notes": "补充留样记录后复查"},
            headers=a,
        )
    )
    safety = _ok(
        client.post(
            f"{API}/inspections",
            json={
                "kind": "safety",
                "mode": "self",
                "period_id": period_id,
                "inspected_on": "2026-11-12",
                "inspector_name": "甲校总务处",
                "items": items(app, RubricKind.SAFETY),
            },
            headers=a,
        ),
        201,
    )
    hazard = _ok(
        client.post(
            f"{API}/hazards",
            json={
                "title": "食堂后门灭火器过期",
                "location": "食堂后门",
                "severity": "medium",
                "responsible_person": "王电工",
                "found_on": "2026-11-12",
                "deadline": "2026-11-30",
            },
            headers=a,
        ),
        201,
    )
    _ok(client.post(f"{API}/reports/{report_a}/submit", headers=a))
    return Months(
        period_id, report_a, report_b, report_c, canteen["id"], safety["id"], hazard["id"], RETURN_REASON
    )


def _submit_as_school(app: Any, school_id: int, report_id: int) -> None:
    """Submit a report in the school's own scope (school C has no admin account in the district)."""
    from service.core.types import utcnow
    from service.reports import operations as reports
    from service.reports.models import MonthlyReport

    with app.app_context(), use_scope(TenantScope.school(school_id)):
        report = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == report_id)).one()
        reports.submit(report, now=utcnow())
        db.session.commit()
        db.session.remove()


def report_state(app: Any, report_id: int) -> str:
    from service.reports.models import MonthlyReport

    with app.app_context(), use_scope(TenantScope.bureau()):
        state = db.session.scalars(select(MonthlyReport.state).where(MonthlyReport.id == report_id)).one()
        db.session.remove()
    return state.value
