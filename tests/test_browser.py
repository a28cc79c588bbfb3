"""The README's first command, as a person uses it: `houqin demo` serves the UI; log in per role in Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest

from tests import services
from tests.conftest import ROOT, TODAY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("demo")
    port = _free_port()
    log = tmp / "demo.log"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOUQIN_INSTANCE_DIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "demo", "--port", str(port), "--today", TODAY.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = (
        time.monotonic() + 420
    )  # the full demo builds in ~45 s; a loaded machine takes several times that
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the demo did not come up:\n" + log.read_text())
        time.sleep(0.5)
    yield {"url": url, "log": log}
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Any:
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        if services.IN_CI:
            pytest.fail("CI=true but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login(browser: Any, url: str, username: str) -> Any:
    page = browser.new_page()
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", "houqin-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_demo_prints_logins(demo_server: dict) -> None:
    out = demo_server["log"].read_text()
    assert "admin" in out and "inspector1" in out and "s001" in out and "houqin-demo" in out


@pytest.mark.parametrize(
    ("username", "role_label", "schools"),
    [("admin", "教育局管理员", 30), ("official", "教育局领导/科室人员", 30), ("s001", "学校后勤管理员", 1)],
)
def test_each_role_sees_who_they_are_and_their_schools(
    browser: Any, demo_server: dict, username: str, role_label: str, schools: int
) -> None:
    page = _login(browser, demo_server["url"], username)
    assert role_label in page.inner_text("[data-testid=role]")
    assert page.inner_text("[data-testid=school-count]").strip() == str(schools)
    page.close()


def test_inspector_sees_their_clusters_only(browser: Any, demo_server: dict) -> None:
    page = _login(browser, demo_server["url"], "inspector2")
    count = int(page.inner_text("[data-testid=school-count]"))
    assert 0 < count < 30
    assert "城南片区" in page.inner_text("[data-testid=scope]")
    page.close()


def test_school_admin_cannot_open_another_school(browser: Any, demo_server: dict) -> None:
    page = _login(browser, demo_server["url"], "s001")
    resp = page.goto(demo_server["url"] + "/schools/2")
    assert resp is not None and resp.status == 404
    page.close()


def test_wrong_password_and_english_switch(browser: Any, demo_server: dict) -> None:
    page = browser.new_page()
    page.goto(demo_server["url"] + "/login")
    assert "登录" in page.inner_text("h1")
    page.fill("#username", "admin")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text(".alert")
    page.click("text=English")
    assert page.inner_text("h1").strip() == "Log in"
    page.close()
