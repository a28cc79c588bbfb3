"""The settings pages (设置), part 2: periods (open, move a deadline, refused once locked, lateness
re-judged), user accounts (create with a scope, change role and scope, reset a password, deactivate,
the last bureau admin stays) and schools and clusters (with a cluster's supervisor).

Same schemas and operations as the API: the refusals are the API's, beside the fields, and nothing
is half-saved; every change is in the audit trail with the values before and after.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tests.browser_support import Month
from tests.conftest import PASSWORD, District, evaluate_all_staff, login
from tests.forms_support import errors_for
from tests.test_web_settings import _audit, _bureau, _client


def _api(app: Any, district: District, path: str, user: str = "admin") -> Any:
    return app.test_client().get(path, headers=district.headers(user))


# --- periods -----------------------------------------------------------------------------------------


def test_open_a_month_and_its_refusals(app: Any, district: District, month: Month) -> None:
    client = _client(app)
    page = client.get("/settings/periods").get_data(as_text=True)
    assert 'data-testid="period-2026-11"' in page
    assert 'name="month" type="number" value="12"' in page  # the next month to open
    resp = client.post("/settings/periods", data={"year": "2026", "month": "8"})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "month") == ["8月为暑假，不是填报月份。"]
    resp = client.post("/settings/periods", data={"year": "2026", "month": "11"})
    assert errors_for(resp.get_data(as_text=True), "month") == ["该月份的填报周期已存在。"]
    resp = client.post("/settings/periods", data={"year": "2026", "month": "12", "deadline": "2026-12-20"})
    page = resp.get_data(as_text=True)
    assert errors_for(page, "deadline") == ["截止日期必须在该月结束之后。"] and 'value="2026-12-20"' in page
    resp = client.post("/settings/periods", data={"year": "", "month": "13"})
    page = resp.get_data(as_text=True)
    assert errors_for(page, "year") == ["此项为必填项。"] and errors_for(page, "month") == [
        "须在 1 到 12 之间。"
    ]
    assert [p["code"] for p in _api(app, district, "/api/v1/periods").get_json()] == ["2026-11"]

    resp = client.post("/settings/periods", data={"year": "2026", "month": "12", "lock_days": "5"})
    assert resp.status_code == 302
    (period,) = [p for p in _api(app, district, "/api/v1/periods").get_json() if p["code"] == "2026-12"]
    assert period["deadline"] == "2027-01-05" and period["lock_days"] == 5
    (entry,) = _audit(app, "periods", period["id"])
    assert entry.action.value == "insert" and entry.changes["deadline"] == [None, "2027-01-05"]


def _late_october(app: Any, client: Any, district: District) -> int:
    """October opened late (deadline 5 Nov, locks 6 Dec) and school A's report submitted today (late)."""
    resp = client.post(
        "/settings/periods", data={"year": "2026", "month": "10", "deadline": "2026-11-05", "lock_days": "30"}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    (period,) = [p for p in _api(app, district, "/api/v1/periods").get_json() if p["code"] == "2026-10"]
    headers = district.headers("admin_a")
    report = app.test_client().post("/api/v1/reports", json={"period_id": period["id"]}, headers=headers)
    evaluate_all_staff(app, district.school_a.id, period["id"])
    resp = app.test_client().post(f"/api/v1/reports/{report.get_json()['id']}/submit", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["late"] is True, resp.get_json()
    return period["id"]


def test_moving_a_deadline_rejudges_lateness(app: Any, district: District) -> None:
    client = _client(app)
    period_id = _late_october(app, client, district)
    page = client.get(f"/settings/periods/{period_id}").get_data(as_text=True)
    assert "已提交 1 份，其中 1 份逾期" in page
    resp = client.post(f"/settings/periods/{period_id}", data={"deadline": "2026-11-25", "lock_days": "30"})
    assert resp.status_code == 302
    page = client.get(f"/settings/periods/{period_id}").get_data(as_text=True)
    assert "已按新的截止日期重新判定是否逾期：已提交的 1 份月报中 0 份逾期（此前 1 份）。" in page
    reports = _api(app, district, f"/api/v1/reports?period_id={period_id}").get_json()
    assert [r["late"] for r in reports] == [False]
    changes = [e.changes for e in _audit(app, "periods", period_id) if e.action.value == "update"]
    assert changes == [{"deadline": ["2026-11-05", "2026-11-25"]}]
    late = [
        e.changes
        for e in _audit(app, "monthly_reports")
        if e.action.value == "update" and "late" in e.changes
    ]
    assert late[-1]["late"] == [True, False]

    resp = client.post(f"/settings/periods/{period_id}", data={"deadline": "2026-10-20", "lock_days": "-1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and errors_for(page, "lock_days") == ["须在 0 到 60 之间。"]
    resp = client.post(f"/settings/periods/{period_id}", data={"deadline": "2026-10-20", "lock_days": "30"})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "deadline") == ["截止日期必须在该月结束之后。"]
    assert _api(app, district, f"/api/v1/periods/{period_id}").get_json()["deadline"] == "2026-11-25"


def test_a_locked_month_keeps_its_deadline(app: Any, district: District) -> None:
    client = _client(app)
    resp = client.post("/settings/periods", data={"year": "2026", "month": "9", "deadline": "2026-10-05"})
    assert resp.status_code == 302
    (period,) = [p for p in _api(app, district, "/api/v1/periods").get_json() if p["code"] == "2026-09"]
    page = client.get(f"/settings/periods/{period['id']}").get_data(as_text=True)
    assert 'data-testid="locked-note"' in page and 'data-testid="period-form"' not in page
    resp = client.post(
        f"/settings/periods/{period['id']}", data={"deadline": "2026-10-30", "lock_days": "60"}
    )
    assert resp.status_code == 409
    assert "该填报周期已锁定，截止日期不能再修改。" in resp.get_data(as_text=True)
    assert _api(app, district, f"/api/v1/periods/{period['id']}").get_json()["deadline"] == "2026-10-05"


# --- users -------------------------------------------------------------------------------------------


def _user(app: Any, username: str) -> Any:
    from service.accounts.models import User
    from service.db import db

    with _bureau(app):
        user = db.session.scalars(select(User).where(User.username == username)).one_or_none()
        out = None
        if user is not None:
            out = {
                "id": user.id,
                "role": user.role.value,
                "school_id": user.school_id,
                "clusters": [c.code for c in user.clusters],
                "active": user.active,
                "hash": user.password_hash,
            }
        db.session.remove()
    return out


def test_create_an_inspector_with_a_cluster_and_a_generated_password(app: Any, district: District) -> None:
    client = _client(app)
    form = {
        "username": "zhao.jc",
        "display_name": "赵督查",
        "role": "inspector",
        "school_id": "",
        "cluster_ids": [str(district.cluster_2.id)],
        "email": "zhao@example.cn",
        "phone": "",
        "password": "",
    }
    resp = client.post("/settings/users/new", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    password = re.search(r'data-testid="password-value">([^<]+)<', page).group(1)
    assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", password)
    created = _user(app, "zhao.jc")
    assert (
        created["role"] == "inspector" and created["clusters"] == ["C2"] and password not in created["hash"]
    )
    # the account works, in its cluster's scope, once its holder has chosen their own password
    other = app.test_client()
    assert login(other, "zhao.jc", password).status_code == 302
    assert other.get("/schools").headers["Location"] == "/account/password"
    mine = {"current_password": password, "password": "zhao-chose-this-7", "repeat": "zhao-chose-this-7"}
    assert other.post("/account/password", data=mine).status_code == 302
    assert "乙小学" in other.get("/schools").get_data(as_text=True)
    assert "甲小学" not in other.get("/schools").get_data(as_text=True)
    insert, clusters, own = _audit(app, "users", created["id"])
    assert own.changes == {"password_hash": ["***", "***"], "must_change_password": [True, False]}
    assert own.actor_name == "zhao.jc"  # the holder chose their own password
    assert insert.action.value == "insert" and insert.changes["password_hash"] == [None, "***"]
    assert insert.changes["role"] == [None, "inspector"] and insert.actor_name == "admin"
    assert clusters.changes == {"cluster_ids": [[], [district.cluster_2.id]]}
    assert 'data-testid="user-zhao.jc"' in client.get("/settings/users?role=inspector").get_data(as_text=True)


def test_account_refusals_beside_the_fields(app: Any, district: District) -> None:
    client = _client(app)
    base = {
        "username": "new.user",
        "display_name": "新用户",
        "role": "school_admin",
        "password": "long-enough-1",
    }
    resp = client.post("/settings/users/new", data={**base, "school_id": ""})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "school_id") == ["学校后勤管理员必须隶属于一所学校。"]
    resp = client.post(
        "/settings/users/new", data={**base, "role": "inspector", "school_id": str(district.school_a.id)}
    )
    assert errors_for(resp.get_data(as_text=True), "school_id") == ["只有学校后勤管理员才隶属于学校。"]
    resp = client.post(
        "/settings/users/new", data={**base, "username": "admin_a", "school_id": str(district.school_a.id)}
    )
    assert errors_for(resp.get_data(as_text=True), "username") == ["该用户名已被使用。"]
    resp = client.post(
        "/settings/users/new",
        data={
            **base,
            "username": "a b",
            "password": "short",
            "email": "nope",
            "school_id": str(district.school_a.id),
        },
    )
    page = resp.get_data(as_text=True)
    assert errors_for(page, "username") == ["格式不正确。"]
    assert errors_for(page, "email") == ["不是有效的电子邮件地址。"]
    assert 'value="nope"' in page and "short" not in page  # input kept, the password never echoed
    resp = client.post(
        "/settings/users/new", data={**base, "school_id": str(district.school_a.id), "password": "short"}
    )
    assert errors_for(resp.get_data(as_text=True), "password") == ["至少需要 10 个字符。"]
    assert _user(app, "new.user") is None


def test_change_role_and_scope(app: Any, district: District) -> None:
    client = _client(app)
    path = f"/settings/users/{district.admin_a.id}"
    page = client.get(path).get_data(as_text=True)
    assert f'<option value="{district.school_a.id}" selected' in page
    form = {"display_name": "ADMIN_A", "email": "", "phone": "", "role": "inspector", "school_id": ""}
    resp = client.post(path, data={**form, "cluster_ids": [str(district.cluster_1.id)]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    changed = _user(app, "admin_a")
    assert changed["role"] == "inspector" and changed["school_id"] is None and changed["clusters"] == ["C1"]
    update = [e for e in _audit(app, "users", district.admin_a.id) if "role" in e.changes][-1]
    assert update.changes["role"] == ["school_admin", "inspector"]
    assert update.changes["school_id"] == [district.school_a.id, None]
    resp = client.post(path, data={**form, "role": "school_admin"})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "school_id") == ["学校后勤管理员必须隶属于一所学校。"]
    assert _user(app, "admin_a")["role"] == "inspector"


def test_reset_a_password(app: Any, district: District) -> None:
    client = _client(app)
    path = f"/settings/users/{district.admin_a.id}/password"
    resp = client.post(path, data={"mode": "generate"})
    password = re.search(r'data-testid="password-value">([^<]+)<', resp.get_data(as_text=True)).group(1)
    assert login(app.test_client(), "admin_a", PASSWORD).status_code == 401
    assert login(app.test_client(), "admin_a", password).status_code == 302
    resp = client.post(path, data={"mode": "set", "password": "short"})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "password") == ["至少需要 10 个字符。"]
    assert client.post(path, data={"mode": "set", "password": "chosen-pass-7"}).status_code == 302
    assert login(app.test_client(), "admin_a", "chosen-pass-7").status_code == 302
    resets = [e.changes for e in _audit(app, "users", district.admin_a.id) if "password_hash" in e.changes]
    # the first reset also asks the holder to choose their own password (they had not yet)
    assert resets[-2:] == [
        {"password_hash": ["***", "***"], "must_change_password": [False, True]},
        {"password_hash": ["***", "***"]},
    ]


def test_deactivated_accounts_lose_login_sessions_and_tokens(app: Any, district: District) -> None:
    client = _client(app)
    session = _client(app, "admin_a")
    assert session.get("/").status_code == 200
    assert _api(app, district, "/api/v1/me", "admin_a").status_code == 200
    resp = client.post(f"/settings/users/{district.admin_a.id}/active", data={"active": "0"})
    assert resp.status_code == 302
    assert _api(app, district, "/api/v1/me", "admin_a").status_code == 401
    assert session.get("/").status_code == 302  # the open session ends: back to the login page
    assert login(app.test_client(), "admin_a").status_code == 401
    assert "已停用" in client.get("/settings/users").get_data(as_text=True)
    assert (
        client.post(f"/settings/users/{district.admin_a.id}/active", data={"active": "1"}).status_code == 302
    )
    assert _api(app, district, "/api/v1/me", "admin_a").status_code == 200
    entries = _audit(app, "users", district.admin_a.id)
    changes = [e.changes for e in entries if e.action.value == "update" and "active" in e.changes]
    assert changes == [{"active": [True, False]}, {"active": [False, True]}]


def test_the_last_active_bureau_admin_stays(app: Any, district: District) -> None:
    client = _client(app)
    path = f"/settings/users/{district.admin.id}"
    resp = client.post(f"{path}/active", data={"active": "0"})
    assert resp.status_code == 409
    assert errors_for(resp.get_data(as_text=True), "active") == [
        "这是最后一个启用的教育局管理员，请先任命另一位。"
    ]
    form = {"display_name": "ADMIN", "role": "bureau_official", "school_id": ""}
    resp = client.post(path, data=form)
    assert resp.status_code == 409
    assert errors_for(resp.get_data(as_text=True), "role") == [
        "这是最后一个启用的教育局管理员，请先任命另一位。"
    ]
    api = app.test_client().patch(
        f"/api/v1/users/{district.admin.id}", json={"active": False}, headers=district.headers("admin")
    )
    assert api.status_code == 409
    assert _user(app, "admin")["active"] is True and _user(app, "admin")["role"] == "bureau_admin"
    # with a second admin, the first may step down
    promote = {"display_name": "OFFICIAL", "role": "bureau_admin", "school_id": ""}
    assert client.post(f"/settings/users/{district.official.id}", data=promote).status_code == 302
    assert client.post(path, data=form).status_code == 302
    assert _user(app, "admin")["role"] == "bureau_official"


# --- schools and clusters ----------------------------------------------------------------------------

SCHOOL = {
    "code": "SD",
    "name": "丁中学",
    "type": "junior",
    "cluster_id": "",
    "canteen_mode": "self_run",
    "enrollment": "900",
    "staff_count": "60",
    "principal_name": "丁校长",
    "contact_name": "",
    "contact_phone": "",
    "address": "",
    "active": "on",
}


def test_create_and_edit_a_school(app: Any, district: District) -> None:
    client = _client(app)
    form = {**SCHOOL, "cluster_id": str(district.cluster_2.id)}
    resp = client.post("/settings/schools/new", data={**form, "code": "SA", "enrollment": "-1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "enrollment") == ["须在 0 到 20000 之间。"]
    resp = client.post("/settings/schools/new", data={**form, "code": "SA"})
    assert errors_for(resp.get_data(as_text=True), "code") == ["该值已被其他学校使用。"]
    resp = client.post("/settings/schools/new", data={**form, "type": "", "cluster_id": ""})
    page = resp.get_data(as_text=True)
    assert errors_for(page, "type") == ["此项为必填项。"] and errors_for(page, "cluster_id") == [
        "此项为必填项。"
    ]
    assert "丁中学" not in _api(app, district, "/api/v1/schools").get_data(as_text=True)

    resp = client.post("/settings/schools/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    (school,) = [s for s in _api(app, district, "/api/v1/schools").get_json() if s["code"] == "SD"]
    assert school["cluster_id"] == district.cluster_2.id and school["enrollment"] == 900
    edit = f"/settings/schools/{school['id']}/edit"
    assert 'value="丁中学"' in client.get(edit).get_data(as_text=True)
    resp = client.post(edit, data={**form, "name": "", "boarding": "on"})
    assert resp.status_code == 422 and errors_for(resp.get_data(as_text=True), "name") == ["此项为必填项。"]
    resp = client.post(edit, data={**form, "name": "丁家坝中学", "boarding": "on"})
    assert resp.status_code == 302
    update = [e for e in _audit(app, "schools", school["id"]) if e.action.value == "update"][-1]
    assert update.changes == {"name": ["丁中学", "丁家坝中学"], "boarding": [False, True]}
    assert "丁家坝中学" in client.get("/settings/schools").get_data(as_text=True)


def test_clusters_and_their_supervisor(app: Any, district: District) -> None:
    client = _client(app)
    resp = client.post("/settings/clusters/new", data={"code": "C3", "name": "城", "supervisor_id": ""})
    assert resp.status_code == 422 and errors_for(resp.get_data(as_text=True), "name") == [
        "长度须在 2 到 80 之间。"
    ]
    resp = client.post("/settings/clusters/new", data={"code": "C1", "name": "城北片区", "supervisor_id": ""})
    assert resp.status_code == 422 and errors_for(resp.get_data(as_text=True), "code") == [
        "该值已被其他片区使用。"
    ]
    resp = client.post(
        "/settings/clusters/new",
        data={"code": "C3", "name": "城北片区", "supervisor_id": str(district.official.id)},
    )
    assert errors_for(resp.get_data(as_text=True), "supervisor_id") == ["督查负责人须为启用的督查员。"]
    resp = client.post(
        "/settings/clusters/new",
        data={"code": "C3", "name": "城北片区", "supervisor_id": str(district.inspector.id)},
    )
    assert resp.status_code == 302
    (cluster,) = [c for c in _api(app, district, "/api/v1/clusters").get_json() if c["code"] == "C3"]
    assert cluster["supervisor_id"] == district.inspector.id
    assert _user(app, "inspector")["clusters"] == ["C1", "C3"]  # given the cluster to inspect
    edit = f"/settings/clusters/{cluster['id']}/edit"
    assert (
        client.post(edit, data={"code": "C3", "name": "城北新片区", "supervisor_id": ""}).status_code == 302
    )
    update = [e for e in _audit(app, "clusters", cluster["id"]) if e.action.value == "update"][-1]
    assert update.changes == {
        "name": ["城北片区", "城北新片区"],
        "supervisor_id": [district.inspector.id, None],
    }
    page = client.get("/settings/schools").get_data(as_text=True)
    assert 'data-testid="cluster-C3"' in page and "城北新片区" in page


def test_cluster_api_shares_the_rules(app: Any, district: District) -> None:
    headers = district.headers("admin")
    resp = app.test_client().post("/api/v1/clusters", json={"code": "C2", "name": "重复"}, headers=headers)
    assert resp.status_code == 422 and resp.get_json()["errors"]["code"] == ["该值已被其他片区使用。"]
    resp = app.test_client().post(
        "/api/v1/clusters", json={"code": "C4", "name": "新片区"}, headers=district.headers("official")
    )
    assert resp.status_code == 403
    resp = app.test_client().patch(
        f"/api/v1/clusters/{district.cluster_2.id}",
        json={"supervisor_id": district.inspector.id},
        headers=headers,
    )
    assert resp.status_code == 200 and resp.get_json()["supervisor_name"] == "INSPECTOR"
