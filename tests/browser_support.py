"""Playwright journeys on a served app: Debian's chromium (never a downloaded browser) against the test
PostgreSQL database, CSRF on, jobs eager - the pages as a person uses them.

Fixtures (registered for every test by tests/conftest.py's ``pytest_plugins``: ``live_server``,
``browser``, ``month``) and helpers to import (``login``, ``shot``, ``PHONE``). Screenshots go to
``build/screenshots/<name>.png`` (not committed); the journeys save one per key page so a person can
look at them (``docs/screenshots.md`` lists what was looked at).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests import services
from tests.conftest import PASSWORD, ROOT, TODAY, District, test_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--lang=zh-CN",  # the browser's own widgets (a file input's 选择文件) in Chinese, as a Chinese user has them
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "build" / "screenshots"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def live_server(database: Any) -> Iterator[str]:
    """The app on a free local port in a thread of this process (same database and clock), CSRF on."""
    from service import create_app

    app = create_app(test_config(database, WTF_CSRF_ENABLED=True))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        if services.IN_CI:
            pytest.fail("CI=true but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def login(browser: Any, base_url: str, username: str, *, viewport: dict[str, int] | None = None) -> Any:
    """A fresh browser context logged in as ``username`` (the conftest's password); returns its page."""
    context = browser.new_context(viewport=viewport or LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]
    return page


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as build/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@dataclass
class Month:
    """The month a journey works on: the suite's month (TODAY is 2026-11-21, the deadline 2026-12-05)."""

    period_id: int
    code: str
    deadline: date


@pytest.fixture
def month(app: Any, district: District) -> Month:
    """An open period for TODAY's month (deadline the 5th of the next), as the bureau opens it."""
    from service.db import db
    from service.periods import operations as periods
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        period = periods.create_period({"year": TODAY.year, "month": TODAY.month})
        db.session.commit()
        out = Month(period.id, period.code, period.deadline)
        db.session.remove()
    return out
