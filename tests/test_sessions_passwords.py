"""Sessions end on the server, forwarded headers are believed only through trusted proxies, passwords
follow the rules, and one address cannot try a password on every account (issue 14, items 6-8)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests import services
from tests.conftest import NOW, PASSWORD, login, test_config

NEW_PASSWORD = "rain-over-the-canteen-7"


# --- helpers ---------------------------------------------------------------------------------------


def logged_in(client: Any, **kwargs: Any) -> bool:
    """Whether the client's cookie still opens the overview (else: sent to the login page)."""
    resp = client.get("/", **kwargs)
    if resp.status_code == 302:
        assert urlsplit(resp.headers["Location"]).path == "/login"
        return False
    assert resp.status_code == 200
    return True


def copy_of(app: Any, client: Any, *, remote_addr: str | None = None) -> Any:
    """Another browser holding a copy of ``client``'s session cookie (a stolen or copied cookie)."""
    other = app.test_client()
    if remote_addr:
        other.environ_base["REMOTE_ADDR"] = remote_addr
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def user_row(app: Any, username: str) -> Any:
    from service.accounts.models import User
    from service.db import db
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        db.session.expunge(user)
        db.session.remove()
    return user


def field_errors(resp: Any, field: str) -> list[str]:
    import re

    html = resp.get_data(as_text=True)
    return [m for m in re.findall(rf'data-error-for="{re.escape(field)}">([^<]+)<', html)]


@pytest.fixture
def clock() -> Iterator[Callable[[timedelta], None]]:
    """Move the application clock to NOW + delta; back to NOW afterwards."""
    from service.core.timeutil import set_clock

    set_clock(NOW)
    yield lambda delta: set_clock(NOW + delta)
    set_clock(NOW)


# --- sessions end on the server ----------------------------------------------------------------------


def test_a_copied_cookie_stops_working_when_its_session_logs_out(app, client, district):
    assert login(client, "admin_a").status_code == 302
    copy = copy_of(app, client)
    assert logged_in(copy)
    assert client.post("/logout").status_code == 302
    assert not logged_in(copy)  # the copy made before the logout is dead too
    assert not logged_in(client)


def test_logging_out_one_session_leaves_the_others(app, district):
    office, phone = app.test_client(), app.test_client()
    login(office, "admin_a")
    login(phone, "admin_a")
    office.post("/logout")
    assert not logged_in(office)
    assert logged_in(phone)


def test_changing_ones_password_logs_out_the_other_sessions(app, district):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "admin_a")
    login(elsewhere, "admin_a")
    form = {"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    resp = here.post("/account/password", data=form)
    assert resp.status_code == 302
    assert "密码已修改" in here.get("/").get_data(as_text=True)
    assert logged_in(here)  # the session that changed it goes on
    assert not logged_in(elsewhere)
    assert login(app.test_client(), "admin_a", PASSWORD).status_code == 401
    assert login(app.test_client(), "admin_a", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("where", ["web", "api"])
def test_a_reset_by_the_bureau_ends_the_sessions_and_asks_for_an_own_password(app, district, where):
    school = app.test_client()
    login(school, "admin_a")
    assert logged_in(school)
    bureau = app.test_client()
    temporary = "bureau-chose-this-42"
    if where == "web":
        login(bureau, "admin")
        resp = bureau.post(
            f"/settings/users/{district.admin_a.id}/password", data={"mode": "set", "password": temporary}
        )
        assert resp.status_code == 302
    else:
        resp = bureau.patch(
            f"/api/v1/users/{district.admin_a.id}",
            headers=district.headers("admin"),
            json={"password": temporary},
        )
        assert resp.status_code == 200 and resp.get_json()["must_change_password"] is True
    assert not logged_in(school)  # the cookie from before the reset is dead

    # the new password logs in, but opens nothing but the change-password page
    fresh = app.test_client()
    resp = login(fresh, "admin_a", temporary)
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/password"
    assert fresh.get("/schools").headers["Location"] == "/account/password"
    page = fresh.get("/account/password").get_data(as_text=True)
    assert "请先设置您自己的密码：当前密码是管理员设置的。" in page
    refused = fresh.get("/api/v1/me")
    assert refused.status_code == 403
    assert refused.get_json()["errors"]["_request"] == ["请先设置您自己的密码：当前密码是管理员设置的。"]
    assert app.test_client().get("/api/v1/me", headers=district.headers("admin_a")).status_code == 403

    form = {"current_password": temporary, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    assert fresh.post("/account/password", data=form).status_code == 302
    assert fresh.get("/schools").status_code == 200
    assert app.test_client().get("/api/v1/me", headers=district.headers("admin_a")).status_code == 200
    assert not user_row(app, "admin_a").must_change_password


def test_a_bureau_admin_changing_their_own_password_is_no_reset(app, district):
    bureau = app.test_client()
    login(bureau, "admin")
    resp = bureau.post(
        f"/settings/users/{district.admin.id}/password", data={"mode": "set", "password": NEW_PASSWORD}
    )
    assert resp.status_code == 302
    assert logged_in(bureau)
    assert not user_row(app, "admin").must_change_password


def test_a_session_ends_after_two_idle_hours(app, client, district, clock):
    login(client, "admin_a")
    clock(timedelta(hours=1, minutes=50))
    assert logged_in(client)
    clock(timedelta(hours=3, minutes=45))  # 1 h 55 min after the last request
    assert logged_in(client)
    clock(timedelta(hours=5, minutes=50))  # 2 h 05 min after it
    assert not logged_in(client)


def test_a_session_ends_twelve_hours_after_the_login_however_busy(app, client, district, clock):
    login(client, "admin_a")
    for minutes in range(90, 12 * 60, 90):  # a request every 90 minutes all day
        clock(timedelta(minutes=minutes))
        assert logged_in(client), minutes
    clock(timedelta(hours=11, minutes=55))
    assert logged_in(client)
    clock(timedelta(hours=12, minutes=5))
    assert not logged_in(client)
    # logging in again starts a new session
    assert login(client, "admin_a").status_code == 302
    assert logged_in(client)


def test_the_lifetimes_are_settings(database, district, clock):
    from service import create_app

    app = create_app(test_config(database, SESSION_IDLE_MINUTES=10, SESSION_MAX_HOURS=1))
    client = app.test_client()
    login(client, "admin_a")
    clock(timedelta(minutes=11))
    assert not logged_in(client)


def test_a_remember_cookie_names_the_session_and_dies_with_it(app, client, district):
    """No page sets one today; if one were set it would carry the session's key, not the user id."""
    from flask_login.utils import encode_cookie

    login(client, "admin_a")
    with client.session_transaction() as sess:
        cookie_id = sess["_user_id"]
    assert cookie_id.startswith(f"{district.admin_a.id}:")
    with app.test_request_context():
        remembered = encode_cookie(cookie_id)
        forged = encode_cookie(str(district.admin_a.id))  # the old format: the user id alone
    browser = app.test_client()
    browser.set_cookie("remember_token", remembered)
    assert logged_in(browser)
    old = app.test_client()
    old.set_cookie("remember_token", forged)
    assert not logged_in(old)
    client.post("/logout")
    late = app.test_client()
    late.set_cookie("remember_token", remembered)
    assert not logged_in(late)


def test_a_cookie_from_before_server_side_sessions_is_refused(app, district):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(district.admin_a.id)  # what a cookie held before
        sess["_fresh"] = True
    assert not logged_in(client)


def test_sessions_store_only_a_digest_of_the_key(app, client, district):
    from service.accounts.models import UserSession
    from service.db import db
    from tenants import TenantScope, use_scope

    login(client, "admin_a")
    with client.session_transaction() as sess:
        key = sess["_user_id"].split(":", 1)[1]
    with app.app_context(), use_scope(TenantScope.bureau()):
        ids = db.session.scalars(select(UserSession.id)).all()
        db.session.remove()
    assert len(ids) == 1 and key not in ids[0] and len(ids[0]) == 64


# --- X-Forwarded-For is believed only through trusted proxies ---------------------------------------


def test_a_forged_forwarded_for_does_not_satisfy_the_session_binding(app, district):
    victim = app.test_client()
    victim.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    login(victim, "admin_a")
    thief = copy_of(app, victim, remote_addr="198.51.100.7")
    assert not logged_in(thief, headers={"X-Forwarded-For": "203.0.113.5"})
    assert logged_in(victim)  # the victim's own session goes on


def test_behind_one_trusted_proxy_the_client_is_the_address_the_proxy_saw(database, district):
    from service import create_app

    app = create_app(test_config(database, TRUSTED_PROXIES=1))
    victim = app.test_client()  # every request arrives from the proxy, 127.0.0.1
    victim.post(
        "/login",
        data={"username": "admin_a", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.5"},
    )
    assert logged_in(victim, headers={"X-Forwarded-For": "203.0.113.5"})
    thief = copy_of(app, victim)
    # the thief writes the victim's address; the proxy appends the thief's real one
    assert not logged_in(thief, headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7"})
    assert logged_in(victim, headers={"X-Forwarded-For": "203.0.113.5"})


# --- password rules ----------------------------------------------------------------------------------

COMMON = "这是最常见的密码之一（在末尾加数字或符号也不行），请换一个。"
GUESSABLE = "密码太容易被猜到（重复或连续的字符、键盘排列、日期、姓名或常见单词加数字）。请把几个互不相关的词语连在一起，或者加长密码。"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("12345678", "至少需要 10 个字符。"),
        ("password", "至少需要 10 个字符。"),
        ("1234567890", COMMON),
        ("password1234", COMMON),
        ("Password2024!", COMMON),
        ("qwertyuiop", COMMON),
        ("woaini1314520", COMMON),  # the kept Chinese list
        ("aaaaaaaaaaaa", GUESSABLE),
        ("zhang19850612", GUESSABLE),
        ("liu.fang-secret-9", "密码不能包含用户名。"),
        ("x" * 257, "最多 256 个字符。"),
    ],
)
def test_weak_passwords_are_refused_for_a_bureau_official_with_the_reason(
    client, district, password, message
):
    resp = client.post(
        "/api/v1/users",
        headers=district.headers("admin"),
        json={
            "username": "liu.fang",
            "display_name": "刘芳",
            "role": "bureau_official",
            "password": password,
        },
    )
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["password"] == [message]


def test_a_strong_password_is_accepted_and_must_be_replaced_at_the_first_login(app, client, district):
    resp = client.post(
        "/api/v1/users",
        headers=district.headers("admin"),
        json={
            "username": "liu.fang",
            "display_name": "刘芳",
            "role": "bureau_official",
            "password": "tea-kettle-harbour-3",
        },
    )
    assert resp.status_code == 201 and resp.get_json()["must_change_password"] is True


def test_the_change_password_page_names_each_mistake(app, client, district):
    login(client, "admin_a")
    resp = client.post(
        "/account/password", data={"current_password": "nope", "password": "12345678", "repeat": "x"}
    )
    assert resp.status_code == 422
    assert field_errors(resp, "current_password") == ["当前密码不正确。"]
    assert field_errors(resp, "password") == ["至少需要 10 个字符。"]
    resp = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": "typo"}
    )
    assert field_errors(resp, "repeat") == ["两次输入的新密码不一致。"]
    resp = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": PASSWORD, "repeat": PASSWORD}
    )
    assert field_errors(resp, "password") == ["新密码不能与当前密码相同。"]
    assert login(app.test_client(), "admin_a", PASSWORD).status_code == 302  # nothing changed


def test_demo_style_accounts_made_directly_need_no_change(client, district):
    """Accounts written without an administrator choosing for someone (the demo, the suite's district)
    are not asked to change: the demo's printed logins open the app at once."""
    resp = login(client, "admin_a")
    assert resp.headers["Location"] == "/"


# --- password spraying -------------------------------------------------------------------------------


@pytest.fixture
def limited_app(database: Any) -> Iterator[Any]:
    """The login limits as configured by default (RATELIMIT_ENABLED, in-memory storage)."""
    from service import create_app
    from service.extensions import limiter

    was_enabled = limiter.enabled
    app = create_app(test_config(database, RATELIMIT_ENABLED=True))
    try:
        yield app
    finally:
        limiter.enabled = was_enabled  # the limiter is a process-wide singleton


def test_one_password_on_25_usernames_from_one_address_is_throttled(limited_app, district):
    assert limited_app.config["LOGIN_ADDRESS_RATE_LIMIT"] == "20 per 10 minutes;100 per day"
    sprayer = limited_app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    # rotating a forged X-Forwarded-For changes nothing: the address is the socket's
    codes = [
        sprayer.post(
            "/login",
            data={"username": f"user{n:02d}", "password": "Summer2026!"},
            headers={"X-Forwarded-For": f"10.9.8.{n}"},
        ).status_code
        for n in range(25)
    ]
    assert codes == [401] * 20 + [429] * 5
    # a real account's right password from that address waits too; from another address it works
    assert login(sprayer, "admin_a").status_code == 429
    office = limited_app.test_client()
    office.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert login(office, "admin_a").status_code == 302


def test_successful_logins_do_not_count_against_an_address(limited_app, district):
    office = limited_app.test_client()
    for n in range(19):
        assert login(office, f"nobody{n}", "wrong-password-1").status_code == 401
    for username in ("admin", "official", "inspector", "admin_a", "admin_b"):
        assert login(limited_app.test_client(), username).status_code == 302  # same address, 127.0.0.1
    assert login(office, "nobody19", "wrong-password-1").status_code == 401  # the 20th failure
    assert login(office, "nobody20", "wrong-password-1").status_code == 429


SECOND_WORKER = """
import json, sys
from service import create_app
client = create_app(json.loads(sys.argv[1])).test_client()
print(client.post("/login", data={"username": "user-x", "password": "Summer2026!"}).status_code)
"""


@pytest.mark.redis
def test_the_spraying_limit_is_shared_by_every_worker_through_redis(database, district):
    """Failures counted by one process (a gunicorn worker) stop the next attempt at another one: the
    counters live in Redis. With per-process memory the second worker would still answer 401."""
    import json
    import subprocess
    import sys

    from service import create_app
    from service.extensions import limiter
    from tests.conftest import ROOT

    was_enabled = limiter.enabled
    config = test_config(
        database,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=services.REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"spray-test-{uuid.uuid4().hex}",
        LOGIN_ADDRESS_RATE_LIMIT="6 per 10 minutes",
    )
    try:
        worker = create_app(config).test_client()
        codes = [login(worker, f"user{n}", "Summer2026!").status_code for n in range(6)]
    finally:
        limiter.enabled = was_enabled
    assert codes == [401] * 6
    other = subprocess.run(
        [sys.executable, "-c", SECOND_WORKER, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip().splitlines()[-1] == "429"


# --- deployment ----------------------------------------------------------------------------------------


def test_compose_trusts_no_forwarded_header_by_default_and_gunicorn_checks_the_setting(monkeypatch):
    """docker-compose.yml publishes gunicorn directly: no proxy to believe unless the operator says so."""
    import runpy

    import yaml

    from tests.conftest import ROOT

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["environment"]["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-0}"
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TRUSTED_PROXIES", "-1")
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES"):
        conf["on_starting"](None)
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    conf["on_starting"](None)  # one proxy: fine
