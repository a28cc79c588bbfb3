"""Notice pages in the browser's terms (Flask test client): the schedule form's refusals beside each field
with nothing saved, pause and send now, resend to one recipient, the 发件箱 with a message opened and its
attachment downloaded, a user's own choices (mandatory ones locked), and who may see what."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from service.audit.models import AuditEntry
from service.db import db
from service.notices.models import DeliveryState, NoticeDelivery, NoticePreference, NoticeRun, NoticeSchedule
from service.periods.models import Period
from tenants import TenantScope, use_scope
from tests.conftest import District, login
from tests.notice_support import ADDRESSES, give_addresses, stand_in_renderer

FORM = {
    "name": "每月督查通报",
    "kind": "bulletin",
    "rule": "monthly",
    "day_of_month": "20",
    "at_time": "09:00",
    "audience": ["bureau_officials", "school_admins"],
}


@pytest.fixture
def outbox(app: Any, district: District, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Embedded mode (no MAIL_SERVER: .eml files), the stand-in bulletin, addresses, last month."""
    from service.mail import kinds

    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    monkeypatch.setitem(kinds._RENDERERS, "bulletin", stand_in_renderer)
    monkeypatch.delitem(kinds._PREPARERS, "bulletin", raising=False)  # no ranking to issue from
    give_addresses(app)
    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.add(Period(year=2026, month=10, deadline=date(2026, 11, 5)))
        db.session.commit()
        db.session.remove()
    return tmp_path


def _count(app: Any, model: Any) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        n = db.session.scalar(select(func.count()).select_from(model)) or 0
        db.session.remove()
    return n


def _schedule_id(app: Any) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        sid = db.session.scalars(select(NoticeSchedule.id)).one()
        db.session.remove()
    return sid


def test_schedule_form_refusals_beside_the_fields_nothing_saved(
    app: Any, client: Any, district: District
) -> None:
    login(client, "admin")
    resp = client.post(
        "/notices/schedules/new",
        data={
            "name": "周报",
            "kind": "hazard_digest",
            "rule": "weekly",
            "at_time": "25:00",
            "webhook_url": "ftp://x",
        },
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    for field in ("weekday", "at_time", "audience", "webhook_url"):
        assert f'data-error-for="{field}"' in page, field
    assert 'value="周报"' in page  # the input is kept
    assert _count(app, NoticeSchedule) == 0
    # a rule the kind cannot follow
    resp = client.post("/notices/schedules/new", data={**FORM, "rule": "event"})
    assert resp.status_code == 422 and 'data-error-for="rule"' in resp.get_data(as_text=True)
    assert _count(app, NoticeSchedule) == 0


def test_a_saved_schedule_is_listed_audited_and_editable(app: Any, client: Any, district: District) -> None:
    login(client, "admin")
    resp = client.post("/notices/schedules/new", data=FORM)
    assert resp.status_code == 302
    page = client.get("/notices/schedules").get_data(as_text=True)
    assert "每月督查通报" in page and "每月 20 日 09:00" in page
    sid = _schedule_id(app)
    resp = client.post(
        f"/notices/schedules/{sid}/edit", data={**FORM, "day_of_month": "22", "mandatory": "1"}
    )
    assert resp.status_code == 302
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.get(NoticeSchedule, sid)
        assert row.day_of_month == 22 and row.mandatory
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.table_name == "notice_schedules")
        ).all()
        assert [a.action.value for a in audit] == ["insert", "update"]
        assert audit[1].actor_name == "admin" and "day_of_month" in audit[1].changes
        db.session.remove()


@pytest.mark.parametrize("username", ["official", "inspector", "admin_a"])
def test_only_the_bureau_admin_manages_notices(client: Any, district: District, username: str) -> None:
    login(client, username)
    for path in ("/notices/schedules", "/notices/schedules/new", "/notices/failures", "/mail"):
        assert client.get(path).status_code == 403, path
    assert client.get("/account/notices").status_code == 200


def test_pause_send_now_resend_and_the_outbox(app: Any, client: Any, outbox: Any) -> None:
    login(client, "admin")
    client.post("/notices/schedules/new", data=FORM)
    sid = _schedule_id(app)
    client.post(f"/notices/schedules/{sid}/action", data={"action": "pause"})
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.get(NoticeSchedule, sid).paused
        db.session.remove()
    resp = client.post(f"/notices/schedules/{sid}/action", data={"action": "send_now"}, follow_redirects=True)
    assert "1 份通知正在发送" in resp.get_data(as_text=True)  # send now works on a paused schedule too
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 3  # the official and both school admins (SC has no admin)
    # the same again: nothing new (the month's bulletin exists)
    resp = client.post(f"/notices/schedules/{sid}/action", data={"action": "send_now"}, follow_redirects=True)
    assert "今天的通知已发送" in resp.get_data(as_text=True)
    assert len(list(outbox.glob("*.eml"))) == 3

    # the run's page: every delivery sent; resend to one recipient
    with app.app_context(), use_scope(TenantScope.bureau()):
        run_id = db.session.scalars(select(NoticeRun.id)).one()
        first = db.session.scalars(
            select(NoticeDelivery).where(NoticeDelivery.address == ADDRESSES["admin_a"])
        ).one()
        db.session.remove()
    page = client.get(f"/notices/runs/{run_id}").get_data(as_text=True)
    assert page.count("已发送") >= 3 and ADDRESSES["admin_a"] in page
    resp = client.post(f"/notices/deliveries/{first.id}/resend", follow_redirects=True)
    assert f"正在向 {ADDRESSES['admin_a']} 重新发送" in resp.get_data(as_text=True)
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = db.session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.address == ADDRESSES["admin_a"])
            .order_by(NoticeDelivery.round)
        ).all()
        assert [(r.round, r.state) for r in rows] == [(0, DeliveryState.SENT), (1, DeliveryState.SENT)]
        db.session.remove()
    assert len(list(outbox.glob("*.eml"))) == 4

    # the outbox lists them; a message opens with its HTML, the inline chart and the PDF
    listing = client.get("/mail").get_data(as_text=True)
    assert listing.count("督查通报 2026-10") == 3 and "Bulletin 2026-10" in listing
    name = re.search(r'href="/mail/(notice-\d+\.eml)"', listing).group(1)
    page = client.get(f"/mail/{name}").get_data(as_text=True)
    assert 'data-testid="mail-html"' in page and "cid:" not in page
    image = re.search(r"/mail/notice-\d+\.eml/parts/(\d+)", page)
    assert image is not None
    pdf_link = re.search(r'href="(/mail/notice-\d+\.eml/parts/\d+)">[^<]*\.pdf', page)
    resp = client.get(pdf_link.group(1))
    assert resp.data == b"%PDF-1.4 stand-in" and "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    assert client.get("/mail/../secret_key").status_code == 404
    assert client.get("/mail/notice-9999999.eml").status_code == 404


def test_my_notices_opt_out_and_mandatory_locked(app: Any, client: Any, district: District) -> None:
    login(client, "admin")
    client.post("/notices/schedules/new", data=FORM)
    client.post(
        "/notices/schedules/new",
        data={
            **FORM,
            "name": "截止提醒",
            "kind": "deadline_reminder",
            "rule": "before_deadline",
            "days_before": "3,1",
            "mandatory": "1",
        },
    )
    client = app.test_client()
    login(client, "admin_a")
    page = client.get("/account/notices").get_data(as_text=True)
    assert "每月督查通报" in page and "月报截止提醒" in page and "教育局要求必收" in page
    assert "没有电子邮箱" in page  # the district's accounts have no address yet
    # turning the mandatory reminder off is refused (the page posts it as a hidden field)
    resp = client.post("/account/notices", data={})
    assert resp.status_code == 409 and "不能关闭" in resp.get_data(as_text=True)
    # turn the bulletin off, as the page posts it
    resp = client.post("/account/notices", data={"kind-deadline_reminder": "1"}, follow_redirects=True)
    assert resp.status_code == 200 and "您的选择已保存" in resp.get_data(as_text=True)
    with app.app_context(), use_scope(TenantScope.bureau()):
        prefs = {(p.kind, p.enabled) for p in db.session.scalars(select(NoticePreference))}
        db.session.remove()
    assert prefs == {("bulletin", False)}
    client.post("/account/notices", data={"kind-bulletin": "1", "kind-deadline_reminder": "1"})
    with app.app_context(), use_scope(TenantScope.bureau()):
        prefs = {(p.kind, p.enabled) for p in db.session.scalars(select(NoticePreference))}
        db.session.remove()
    assert prefs == {("bulletin", True)}
