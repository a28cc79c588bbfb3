"""Logging in and out, sessions, CSRF, rate limits, passwords and personal API tokens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, login, test_config

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- helpers ---------------------------------------------------------------------------------------


@contextmanager
def bureau_session(app: Any) -> Iterator[Any]:
    """The app's session in the bureau scope (users sit behind the tenant wall); commits on exit."""
    from service.db import db
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        yield db.session
        db.session.commit()


def set_active(app: Any, username: str, active: bool) -> None:
    from service.accounts.models import User

    with bureau_session(app) as s:
        s.scalars(select(User).where(User.username == username)).one().active = active


def token_row(app: Any, token_id: int) -> Any:
    from service.accounts.models import ApiToken

    with bureau_session(app) as s:
        row = s.scalars(select(ApiToken).where(ApiToken.id == token_id)).one()
        s.expunge(row)
    return row


def is_logged_in(client: Any) -> bool:
    resp = client.get("/")
    if resp.status_code == 302:
        assert urlsplit(resp.headers["Location"]).path == "/login"
        return False
    assert resp.status_code == 200
    return True


def csrf_token_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def session_cookie(client: Any) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie is not None else None


def translated(app: Any, msgid: str) -> str:
    """``msgid`` as the app renders it for a default (zh_CN) request."""
    from flask_babel import gettext

    with app.test_request_context("/"):
        return gettext(msgid)


@pytest.fixture
def csrf_app(database: Any) -> Any:
    from service import create_app

    return create_app(test_config(database, WTF_CSRF_ENABLED=True))


@pytest.fixture
def csrf_client(csrf_app: Any) -> Any:
    return csrf_app.test_client()


def csrf_login(client: Any, username: str, password: str = PASSWORD) -> Any:
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


# --- web login -------------------------------------------------------------------------------------


def test_login_with_right_password_shows_dashboard(client, district):
    resp = login(client, "admin_a")
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/"
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ADMIN_A" in html  # display name
    assert 'data-testid="whoami"' in html


def test_login_with_wrong_password_is_refused(app, client, district):
    resp = login(client, "admin_a", "not-the-password")
    assert resp.status_code == 401
    html = resp.get_data(as_text=True)
    assert translated(app, "Wrong username or password.") in html
    assert not is_logged_in(client)


def test_wrong_password_message_is_chinese_by_default(app, client, district):
    # Fails (not skips) when the compiled catalog is missing: the page would be in English.
    assert translated(app, "Wrong username or password.") == "用户名或密码错误。"
    html = login(client, "admin_a", "nope-nope-nope").get_data(as_text=True)
    assert "用户名或密码错误" in html


def test_inactive_user_cannot_log_in(app, client, district):
    set_active(app, "admin_a", False)
    resp = login(client, "admin_a")
    assert resp.status_code == 401
    assert not is_logged_in(client)


def test_unknown_user_cannot_log_in(client, district):
    resp = login(client, "nobody", PASSWORD)
    assert resp.status_code == 401
    assert not is_logged_in(client)


def test_login_without_credentials_is_refused(client, district):
    resp = client.post("/login", data={})
    assert resp.status_code == 401
    assert not is_logged_in(client)


def test_last_login_is_recorded(app, client, district):
    from service.accounts.models import User

    assert login(client, "official").status_code == 302
    with bureau_session(app) as s:
        user = s.scalars(select(User).where(User.username == "official")).one()
        assert user.last_login_at is not None


def test_logout_ends_the_session(client, district):
    login(client, "admin")
    assert is_logged_in(client)
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/login"
    resp = client.get("/")
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/login"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "https:/evil.example"])
def test_login_does_not_redirect_off_site(client, district, target):
    resp = client.post(
        "/login", query_string={"next": target}, data={"username": "admin", "password": PASSWORD}
    )
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path == "/"
    assert "evil" not in resp.headers["Location"]


def test_login_follows_a_local_next(client, district):
    resp = client.post(
        "/login", query_string={"next": "/schools"}, data={"username": "admin", "password": PASSWORD}
    )
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/schools"


def test_password_is_stored_as_argon2id(app, client, district):
    from service.accounts.models import User
    from service.accounts.passwords import verify_password

    resp = client.post(
        "/api/v1/users",
        headers=district.headers("admin"),
        json={
            "username": "newofficial",
            "display_name": "新同事",
            "role": "bureau_official",
            "password": "a-long-secret-1",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    assert "password" not in resp.get_json()
    assert "password_hash" not in resp.get_json()
    with bureau_session(app) as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "newofficial")).one()
    assert stored.startswith("$argon2id$")
    assert "a-long-secret-1" not in stored
    assert verify_password(stored, "a-long-secret-1")
    # and the new account can log in with it - to choose its own password first
    resp = login(client, "newofficial", "a-long-secret-1")
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/account/password"


# --- session rotation and CSRF ---------------------------------------------------------------------


def test_session_is_rotated_at_login(csrf_app, csrf_client, district):
    page = csrf_client.get("/login").get_data(as_text=True)
    old_csrf = csrf_token_of(page)
    before = session_cookie(csrf_client)
    assert before is not None  # the CSRF token lives in the session
    with csrf_app.test_request_context():
        old_session = csrf_app.session_interface.get_signing_serializer(csrf_app).loads(before)
    resp = csrf_client.post(
        "/login", data={"username": "admin_a", "password": PASSWORD, "csrf_token": old_csrf}
    )
    assert resp.status_code == 302
    after = session_cookie(csrf_client)
    assert after is not None and after != before
    with csrf_app.test_request_context():
        new_session = csrf_app.session_interface.get_signing_serializer(csrf_app).loads(after)
    assert new_session.get("_user_id") is not None
    assert new_session.get("csrf_token") != old_session.get("csrf_token")


def test_csrf_token_from_before_login_is_dead_after_login(csrf_client, district):
    old_csrf = csrf_token_of(csrf_client.get("/login").get_data(as_text=True))
    resp = csrf_client.post(
        "/login", data={"username": "admin_a", "password": PASSWORD, "csrf_token": old_csrf}
    )
    assert resp.status_code == 302
    new_csrf = csrf_token_of(csrf_client.get("/").get_data(as_text=True))  # logout form
    assert new_csrf != old_csrf

    resp = csrf_client.post("/account/tokens", data={"name": "stale", "csrf_token": old_csrf})
    assert resp.status_code == 400
    resp = csrf_client.get("/api/v1/tokens")
    assert [t["name"] for t in resp.get_json()] == ["tests"]

    # the fresh token works
    resp = csrf_client.post("/account/tokens", data={"name": "fresh", "csrf_token": new_csrf})
    assert resp.status_code == 200
    assert 'data-testid="new-token"' in resp.get_data(as_text=True)


def test_login_without_csrf_token_is_rejected(csrf_client, district):
    csrf_client.get("/login")
    resp = csrf_client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    assert resp.status_code == 400
    assert not is_logged_in(csrf_client)


def test_login_with_csrf_token_works(csrf_client, district):
    assert csrf_login(csrf_client, "admin_a").status_code == 302
    assert is_logged_in(csrf_client)


def test_logout_needs_csrf_token(csrf_client, district):
    csrf_login(csrf_client, "admin_a")
    assert csrf_client.post("/logout").status_code == 400
    assert is_logged_in(csrf_client)


def test_bearer_api_post_needs_no_csrf_token(csrf_client, district):
    resp = csrf_client.post("/api/v1/tokens", headers=district.headers("admin_a"), json={"name": "ci"})
    assert resp.status_code == 201
    assert resp.get_json()["token"].startswith("hq_")


def test_cookie_api_post_needs_csrf_header(csrf_client, district):
    csrf_login(csrf_client, "admin_a")
    resp = csrf_client.post("/api/v1/tokens", json={"name": "no-header"})
    assert resp.status_code == 400
    assert "errors" in resp.get_json()

    token = csrf_token_of(csrf_client.get("/account/tokens").get_data(as_text=True))
    resp = csrf_client.post("/api/v1/tokens", json={"name": "with-header"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 201
    names = [t["name"] for t in csrf_client.get("/api/v1/tokens").get_json()]
    assert "with-header" in names
    assert "no-header" not in names


# --- rate limit ------------------------------------------------------------------------------------


@pytest.fixture
def limited_client(database: Any) -> Iterator[Any]:
    from service import create_app
    from service.extensions import limiter

    was_enabled = limiter.enabled
    app = create_app(test_config(database, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute"))
    try:
        yield app.test_client()
    finally:
        # The limiter is a process-wide singleton: do not leave it switched on for the other apps.
        limiter.enabled = was_enabled


def test_login_attempts_are_rate_limited_per_username(limited_client, district):
    for _ in range(3):
        assert login(limited_client, "admin_a", "wrong-password").status_code == 401
    assert login(limited_client, "admin_a", "wrong-password").status_code == 429
    # even the right password is refused while limited
    assert login(limited_client, "admin_a").status_code == 429
    assert not is_logged_in(limited_client)
    # another username from the same address is not affected
    assert login(limited_client, "admin_b", "wrong-password").status_code == 401


def test_username_case_and_spaces_do_not_evade_the_limit(limited_client, district):
    for name in ("admin_a", "ADMIN_A", " admin_a "):
        assert login(limited_client, name, "wrong-password").status_code == 401
    assert login(limited_client, "Admin_A", "wrong-password").status_code == 429


# --- personal API tokens ---------------------------------------------------------------------------


def test_create_token_shows_it_once(app, client, district):
    resp = client.post("/api/v1/tokens", headers=district.headers("admin_a"), json={"name": "脚本"})
    assert resp.status_code == 201
    body = resp.get_json()
    raw = body["token"]
    assert raw.startswith("hq_") and len(raw) > 30
    assert body["name"] == "脚本"
    assert raw.startswith(body["prefix"])

    listing = client.get("/api/v1/tokens", headers=district.headers("admin_a"))
    assert listing.status_code == 200
    assert raw not in listing.get_data(as_text=True)
    rows = {t["id"]: t for t in listing.get_json()}
    assert set(rows) >= {body["id"]}
    assert "token" not in rows[body["id"]]
    assert rows[body["id"]]["prefix"] == body["prefix"]

    stored = token_row(app, body["id"])
    assert stored.token_hash != raw
    assert re.fullmatch(r"[0-9a-f]{64}", stored.token_hash)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()


def test_token_list_shows_only_own_tokens(client, district):
    listing = client.get("/api/v1/tokens", headers=district.headers("admin_a")).get_json()
    assert district.token_b_id not in [t["id"] for t in listing]
    assert len(listing) == 1


def test_token_name_is_required(client, district):
    resp = client.post("/api/v1/tokens", headers=district.headers("admin_a"), json={})
    assert resp.status_code == 422
    assert "name" in resp.get_json()["errors"]


def test_token_authenticates_and_records_use(app, client, district):
    created = client.post(
        "/api/v1/tokens", headers=district.headers("inspector"), json={"name": "t"}
    ).get_json()
    assert token_row(app, created["id"]).last_used_at is None
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert resp.status_code == 200
    assert resp.get_json()["username"] == "inspector"
    assert token_row(app, created["id"]).last_used_at is not None


def test_revoked_token_stops_working(app, client, district):
    created = client.post(
        "/api/v1/tokens", headers=district.headers("admin_a"), json={"name": "t"}
    ).get_json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    resp = client.delete(f"/api/v1/tokens/{created['id']}", headers=district.headers("admin_a"))
    assert resp.status_code == 204
    resp = client.get("/api/v1/me", headers=auth)
    assert resp.status_code == 401
    assert "errors" in resp.get_json()
    assert token_row(app, created["id"]).revoked_at is not None
    # the other token of the same user still works
    assert client.get("/api/v1/me", headers=district.headers("admin_a")).status_code == 200


def test_revoking_someone_elses_token_is_not_found(app, client, district):
    resp = client.delete(f"/api/v1/tokens/{district.token_b_id}", headers=district.headers("admin_a"))
    assert resp.status_code == 404
    assert token_row(app, district.token_b_id).revoked_at is None
    assert client.get("/api/v1/me", headers=district.headers("admin_b")).status_code == 200


@pytest.mark.parametrize("value", ["garbage", "hq_not-a-real-token", ""])
def test_bad_token_is_401_json(client, district, value):
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
    assert resp.status_code == 401
    assert resp.is_json
    assert resp.get_json()["errors"]


def test_api_without_credentials_is_401_json(client, district):
    resp = client.get("/api/v1/schools")
    assert resp.status_code == 401
    assert resp.get_json()["errors"]


def test_api_401_has_www_authenticate(client, district):
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"})
    assert resp.status_code == 401
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_deactivated_users_token_is_refused(app, client, district):
    assert client.get("/api/v1/me", headers=district.headers("admin_b")).status_code == 200
    set_active(app, "admin_b", False)
    resp = client.get("/api/v1/me", headers=district.headers("admin_b"))
    assert resp.status_code == 401
    assert "errors" in resp.get_json()


def test_deactivated_user_loses_web_session(app, client, district):
    login(client, "admin_b")
    assert is_logged_in(client)
    set_active(app, "admin_b", False)
    assert not is_logged_in(client)


def test_tokens_web_page_creates_and_revokes(app, client, district):
    api = app.test_client()  # no session cookie: the token alone authenticates
    login(client, "admin_a")
    assert client.get("/account/tokens").status_code == 200
    resp = client.post("/account/tokens", data={"name": "网页令牌"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    match = re.search(r'data-testid="new-token">(hq_[^<]+)<', html)
    assert match
    raw = match.group(1)
    auth = {"Authorization": f"Bearer {raw}"}
    assert api.get("/api/v1/me", headers=auth).get_json()["username"] == "admin_a"

    # shown once only
    again = client.get("/account/tokens").get_data(as_text=True)
    assert raw not in again
    assert "网页令牌" in again

    token_id = next(
        t["id"] for t in api.get("/api/v1/tokens", headers=auth).get_json() if t["name"] == "网页令牌"
    )
    resp = client.post(f"/account/tokens/{token_id}/revoke")
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/account/tokens"
    assert api.get("/api/v1/me", headers=auth).status_code == 401


def test_tokens_web_page_cannot_revoke_others_token(client, district):
    login(client, "admin_a")
    assert client.post(f"/account/tokens/{district.token_b_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=district.headers("admin_b")).status_code == 200


# --- the scope comes from the user -----------------------------------------------------------------


def test_school_admin_scope_is_their_school(client, district):
    resp = client.get(
        "/api/v1/me",
        headers={**district.headers("admin_a"), "X-School-Id": str(district.school_b.id)},
        query_string={"school_id": district.school_b.id},
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["username"] == "admin_a"
    assert body["role"] == "school_admin"
    assert body["scope"] == {"kind": "schools", "school_ids": [district.school_a.id]}


def test_inspector_scope_is_their_clusters_schools(client, district):
    body = client.get("/api/v1/me", headers=district.headers("inspector")).get_json()
    assert body["scope"]["kind"] == "schools"
    assert sorted(body["scope"]["school_ids"]) == sorted([district.school_a.id, district.school_c.id])
    assert district.school_b.id not in body["scope"]["school_ids"]
    assert body["cluster_ids"] == [district.cluster_1.id]


@pytest.mark.parametrize("username", ["admin", "official"])
def test_bureau_users_have_bureau_scope(client, district, username):
    body = client.get("/api/v1/me", headers=district.headers(username)).get_json()
    assert body["scope"]["kind"] == "bureau"


def test_web_session_scope_matches_token_scope(client, district):
    login(client, "admin_a")
    body = client.get("/api/v1/me").get_json()
    assert body["scope"] == {"kind": "schools", "school_ids": [district.school_a.id]}


def test_bogus_bearer_header_does_not_bypass_csrf_for_cookie_session(csrf_client, district):
    csrf_login(csrf_client, "admin_a")
    resp = csrf_client.post(
        "/api/v1/tokens", json={"name": "sneaky"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert resp.status_code == 401  # the bearer header decides: a bad token is unauthenticated
    names = [t["name"] for t in csrf_client.get("/api/v1/tokens").get_json()]
    assert "sneaky" not in names


def test_bearer_header_alone_decides_authentication(client, district):
    login(client, "admin_a")
    assert client.get("/api/v1/me").status_code == 200
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer hq_revoked-or-made-up"})
    assert resp.status_code == 401
    resp = client.get("/api/v1/me", headers=district.headers("admin_b"))
    assert resp.get_json()["username"] == "admin_b"
