"""Notice delivery: each recipient exactly once, through a real SMTP server (aiosmtpd in a thread).

Eager tests (the jobs run in-process after each commit) prove the state machine: SMTP down then up,
permanent failures visible, the crash window between the server's acceptance and the commit (a second
copy with the same Message-ID - the README's guarantee), two beat ticks racing, reminders only to the
schools that have not submitted, both languages. One test kills a real Celery worker with SIGKILL in
the middle of a run and lets Redis redeliver its task to a second worker. The job-runs claim race is
here too (service/jobs: the same conditional claim).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from service.core import outbox
from service.core.errors import DomainError
from service.core.timeutil import set_clock, utcnow
from service.db import db, unit_of_work
from service.mail import kinds
from service.notices import channels, operations
from service.notices.models import DeliveryState, NoticeDelivery, NoticeRun, NoticeRunLog, RunState
from service.notices.schemas import ScheduleIn
from service.periods.models import Period
from tenants import TenantScope, use_scope
from tests import services
from tests.conftest import NOW, ROOT, District, test_config
from tests.notice_support import ADDRESSES, SmtpServer, give_addresses, smtp_server, stand_in_renderer

SH = ZoneInfo("Asia/Shanghai")
BULLETIN_AUDIENCE = ["bureau_admins", "bureau_officials", "school_admins", "inspectors"]
EVERYONE = set(ADDRESSES.values())


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[Any]:
    """Moves the application clock (the code under test reads it everywhere); restored afterwards."""
    yield lambda when: set_clock(when)
    set_clock(NOW)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery tests use a stand-in of the bulletin and report card renderers' shape (the real
    ones are tested in tests/test_bulletins.py and, delivered, below)."""
    monkeypatch.setitem(kinds._RENDERERS, "bulletin", stand_in_renderer)
    monkeypatch.setitem(kinds._RENDERERS, "report_card", stand_in_renderer)
    # ... and nothing to issue first (the real preparer issues the month's bulletin from its ranking)
    monkeypatch.delitem(kinds._PREPARERS, "bulletin", raising=False)
    monkeypatch.delitem(kinds._PREPARERS, "report_card", raising=False)


@pytest.fixture
def smtp(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with smtp_server() as server:
        for key, value in server.config().items():
            monkeypatch.setitem(app.config, key, value)
        yield server


@pytest.fixture
def mailed(app: Any, district: District, stand_in: None) -> District:
    """The district with addresses (the official reads English) and last month's period (2026-10)."""
    give_addresses(app)
    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.add(Period(year=2026, month=10, deadline=date(2026, 11, 5)))
        db.session.commit()
        db.session.remove()
    return district


def schedule(app: Any, **data: Any) -> int:
    body = {
        "name": "每月督查通报",
        "kind": "bulletin",
        "rule": "monthly",
        "day_of_month": 22,
        "at_time": "09:00",
        "audience": BULLETIN_AUDIENCE,
        **data,
    }
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = operations.create_schedule(ScheduleIn().load(body))
        db.session.commit()
        schedule_id = row.id
        db.session.remove()
    return schedule_id


def tick(app: Any) -> dict[str, int]:
    """One beat tick, as the task runs it (its own unit of work; the outbox sends after the commit)."""
    with unit_of_work() as session, app.app_context(), use_scope(TenantScope.bureau()):
        result = operations.tick()
        session.commit()
    return result


def deliveries(app: Any) -> list[NoticeDelivery]:
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = list(db.session.scalars(select(NoticeDelivery).order_by(NoticeDelivery.id)))
        db.session.remove()
    return rows


def runs(app: Any) -> list[NoticeRun]:
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = list(db.session.scalars(select(NoticeRun).order_by(NoticeRun.id)))
        db.session.remove()
    return rows


def at(day: str, hhmm: str = "09:05") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SH)


# --- MIME and channels -----------------------------------------------------------------------------------


def test_mime_is_alternative_with_related_images_and_attachments() -> None:
    raw = channels.build_mime(stand_in_renderer({"period": "2026-10"}, "zh_CN"), sender="后勤 <h@x.example>")
    msg = channels.addressed(raw, to="a@x.example", name="王建国", msg_id="<m-1@x.example>")
    parsed = message_from_bytes(msg, policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, pdf, xlsx = parsed.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert 'src="cid:chart-1"' in html.get_content() and image["Content-ID"] == "<chart-1>"
    assert pdf.get_filename() == "通报-2026-10.pdf" and pdf.get_content() == b"%PDF-1.4 stand-in"
    assert xlsx.get_content_type().endswith("spreadsheetml.sheet")
    assert parsed["Subject"] == "督查通报 2026-10" and parsed["Message-ID"] == "<m-1@x.example>"
    assert "王建国" in str(parsed["To"])


# --- a whole run through SMTP ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_each_recipient_gets_the_bulletin_once_in_their_language(
    app: Any, mailed: District, smtp: SmtpServer, clock: Any
) -> None:
    schedule(app)
    clock(at("2026-11-22"))
    first = tick(app)
    assert first["runs_created"] == 1
    assert smtp.inbox.count() == Counter({a: 1 for a in EVERYONE})
    subjects = {m.rcpt: m.subject for m in smtp.inbox.messages}
    assert subjects[ADDRESSES["official"]] == "Bulletin 2026-10"  # the official reads English
    assert subjects[ADDRESSES["admin_a"]] == "督查通报 2026-10"
    # one Message-ID per delivery, and the server's queue id kept on the row
    rows = deliveries(app)
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert len({r.message_id for r in rows}) == len(rows)
    assert all(r.smtp_reply.startswith("250 ") for r in rows)
    [run] = runs(app)
    assert run.state is RunState.DONE and run.target_key == "2026-10" and run.meta == {"snapshot_id": "1"}
    # a later tick (beat again, the same day) creates nothing and sends nothing
    clock(at("2026-11-22", "09:40"))
    again = tick(app)
    assert again["runs_created"] == 0 and again["sends_queued"] == 0
    assert len(smtp.inbox.messages) == len(EVERYONE)


@pytest.mark.postgres
def test_smtp_down_then_up_each_recipient_exactly_once(
    app: Any, mailed: District, smtp: SmtpServer, clock: Any
) -> None:
    schedule(app)
    smtp.stop()  # connection refused
    clock(at("2026-11-22"))
    tick(app)
    rows = deliveries(app)
    assert {r.state for r in rows} == {DeliveryState.FAILED_TEMPORARY}
    assert all(r.attempts == 1 and "Connection" in r.last_error for r in rows)
    # down again at the next try (backoff 30 s)
    clock(at("2026-11-22", "09:06"))
    tick(app)
    assert {r.attempts for r in deliveries(app)} == {2}
    smtp.start()  # the server is back on the same port
    clock(at("2026-11-22", "09:08"))
    tick(app)
    assert smtp.inbox.count() == Counter({a: 1 for a in EVERYONE})
    assert {r.state for r in deliveries(app)} == {DeliveryState.SENT}
    assert runs(app)[0].state is RunState.DONE


@pytest.mark.postgres
def test_temporary_then_permanent_failures_are_visible(
    app: Any, client: Any, mailed: District, smtp: SmtpServer, clock: Any
) -> None:
    from tests.conftest import login

    smtp.inbox.reject.add(ADDRESSES["admin_b"])
    smtp.inbox.tempfail.add(ADDRESSES["admin_a"])
    schedule(app)
    clock(at("2026-11-22"))
    tick(app)
    state = {r.address: r.state for r in deliveries(app)}
    assert state[ADDRESSES["admin_b"]] is DeliveryState.FAILED_PERMANENT
    assert state[ADDRESSES["admin_a"]] is DeliveryState.FAILED_TEMPORARY
    assert runs(app)[0].state is RunState.RUNNING  # A's is still being retried
    smtp.inbox.tempfail.clear()
    clock(at("2026-11-22", "09:10"))
    tick(app)
    assert smtp.inbox.count()[ADDRESSES["admin_a"]] == 1
    [run] = runs(app)
    assert run.state is RunState.FAILED and run.error == "1 deliveries failed"
    # the bureau admin sees it: a line on the dashboard, the failures page names the address and the error
    login(client, "admin")
    assert "1" in client.get("/").get_data(as_text=True)
    page = client.get("/notices/failures").get_data(as_text=True)
    assert ADDRESSES["admin_b"] in page and "550 5.1.1" in page
    assert ADDRESSES["admin_a"] not in page  # sent on the second try


@pytest.mark.postgres
def test_worker_dies_after_acceptance_before_commit_second_copy_has_the_same_message_id(
    app: Any, mailed: District, smtp: SmtpServer, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one window of the guarantee: the server took the message, the worker died before `sent`
    was committed. After the claim timeout the delivery is sent again - a second copy, with the same
    Message-ID (a mail client or server that dedupes on it shows one). Everyone else: exactly once.
    (The victim is the run's last recipient: in eager mode the "dying" send also ends the loop that
    hands out the sends after it, which a real broker would still hold.)"""
    victim = ADDRESSES["admin_b"]
    real = operations.mark_sent

    class WorkerDied(BaseException):
        pass

    def dies_for_victim(delivery_id: int, worker: str, accepted: Any) -> bool:
        row = db.session.scalars(select(NoticeDelivery).where(NoticeDelivery.id == delivery_id)).one()
        if row.address == victim and row.attempts == 1:
            raise WorkerDied()  # after the SMTP server's 250, before the UPDATE … SET state='sent'
        return real(delivery_id, worker, accepted)

    monkeypatch.setattr(operations, "mark_sent", dies_for_victim)
    monkeypatch.setitem(app.config, "CELERY_EAGER_PROPAGATES", False)
    schedule(app)
    clock(at("2026-11-22"))
    with pytest.raises(WorkerDied):
        tick(app)
    stuck = next(r for r in deliveries(app) if r.address == victim)
    assert stuck.state is DeliveryState.SENDING
    # before the claim timeout nobody touches it (the worker might still be alive)
    clock(at("2026-11-22", "09:07"))
    tick(app)
    assert next(r for r in deliveries(app) if r.address == victim).state is DeliveryState.SENDING
    clock(at("2026-11-22", "09:11"))  # NOTICE_CLAIM_TIMEOUT (300 s) has passed
    tick(app)
    copies = [m for m in smtp.inbox.messages if m.rcpt == victim]
    assert len(copies) == 2 and copies[0].message_id == copies[1].message_id
    others = Counter(m.rcpt for m in smtp.inbox.messages if m.rcpt != victim)
    assert others == Counter({a: 1 for a in EVERYONE - {victim}})
    assert {r.state for r in deliveries(app)} == {DeliveryState.SENT}


# --- beat: two ticks racing ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_ticks_racing_create_one_run_and_queue_it_once(
    app: Any, mailed: District, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def record(name: str, kwargs: dict) -> None:
        with lock:
            sent.append((name, kwargs))

    monkeypatch.setattr(outbox, "dispatch", record)
    schedule(app, kind="report_card")  # one run per school: three keys to race for
    clock(at("2026-11-22"))
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def beat() -> None:
        try:
            with unit_of_work() as session, app.app_context(), use_scope(TenantScope.bureau()):
                barrier.wait()
                created = operations.create_due_runs(utcnow())
                time.sleep(0.2)  # hold the transaction open: the other insert waits on the unique key
                session.commit()
                results.append(created)
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(len(r) for r in results) == [0, 3], results
    assert len(runs(app)) == 3
    executes = [kw["run_id"] for name, kw in sent if name == operations.EXECUTE_TASK]
    assert sorted(executes) == sorted(r.id for r in runs(app))  # each queued exactly once


# --- reminders: only the schools that have not submitted -------------------------------------------------


@pytest.mark.postgres
def test_reminders_go_only_to_schools_that_have_not_submitted(
    app: Any, mailed: District, month: Any, smtp: SmtpServer, clock: Any
) -> None:
    """2026-11 (deadline 5 Dec). SA submitted, SB has a draft, SC nothing: on T−3 (2 Dec) SB and SC are
    reminded (SC has no admin account, so its run sends nothing); SB submits on the 3rd; on T−1 only SC."""
    from service.reports.models import MonthlyReport, ReportState

    d = mailed
    with app.app_context(), use_scope(TenantScope.bureau()):
        period = db.session.scalars(select(Period).where(Period.year == 2026, Period.month == 11)).one()
        submitted = at("2026-11-30", "16:00")
        db.session.add_all(
            [
                MonthlyReport(
                    school_id=d.school_a.id,
                    period_id=period.id,
                    state=ReportState.SUBMITTED,
                    submitted_at=submitted,
                    first_submitted_at=submitted,
                ),
                MonthlyReport(school_id=d.school_b.id, period_id=period.id, state=ReportState.DRAFT),
            ]
        )
        db.session.commit()
        db.session.remove()
    schedule(
        app,
        name="截止提醒",
        kind="deadline_reminder",
        rule="before_deadline",
        days_before="3, 1",
        audience=["school_admins"],
    )
    clock(at("2026-12-02"))
    tick(app)
    keys = sorted(r.target_key for r in runs(app))
    assert keys == [f"2026-11/2026-12-02/s{d.school_b.id}", f"2026-11/2026-12-02/s{d.school_c.id}"]
    assert smtp.inbox.count() == Counter({ADDRESSES["admin_b"]: 1})
    [reminder] = smtp.inbox.messages
    assert "2026-12-05" in reminder.subject and "乙小学" in reminder.subject
    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.execute(
            update(MonthlyReport)
            .where(MonthlyReport.school_id == d.school_b.id)
            .values(state=ReportState.SUBMITTED, first_submitted_at=at("2026-12-03"))
        )
        db.session.commit()
        db.session.remove()
    clock(at("2026-12-04"))
    tick(app)
    new = sorted(r.target_key for r in runs(app) if "2026-12-04" in r.target_key)
    assert new == [f"2026-11/2026-12-04/s{d.school_c.id}"]
    assert smtp.inbox.count() == Counter({ADDRESSES["admin_b"]: 1})  # nothing more for B


# --- a returned report, right away -------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_returned_report_is_announced_at_once_in_the_schools_language(
    app: Any, mailed: District, month: Any, smtp: SmtpServer
) -> None:
    from service.reports import operations as reports
    from service.reports.models import MonthlyReport, ReportState

    d = mailed
    schedule(app, name="退回通知", kind="report_returned", rule="event", audience=["school_admins"])
    with app.app_context(), use_scope(TenantScope.bureau()):
        period = db.session.scalars(select(Period).where(Period.year == 2026, Period.month == 11)).one()
        report = MonthlyReport(school_id=d.school_a.id, period_id=period.id, state=ReportState.SUBMITTED)
        db.session.add(report)
        db.session.commit()
        report_id = report.id
        db.session.remove()
    with app.app_context(), use_scope(TenantScope.schools([d.school_a.id, d.school_c.id])):  # the inspector
        report = db.session.scalars(select(MonthlyReport).where(MonthlyReport.id == report_id)).one()
        reports.return_report(report, "食堂自查表缺第三周", now=utcnow())
        assert smtp.inbox.messages == []  # not before the commit
        db.session.commit()
        db.session.remove()
    assert smtp.inbox.count() == Counter({ADDRESSES["admin_a"]: 1})
    body = smtp.inbox.messages[0].raw.decode("utf-8", "replace")
    assert "退回" in smtp.inbox.messages[0].subject
    assert (
        "食堂自查表缺第三周"
        in message_from_bytes(smtp.inbox.messages[0].raw, policy=policy.default)
        .get_body(("plain",))
        .get_content()
    ), body


# --- templates in both languages -------------------------------------------------------------------------


@pytest.mark.postgres
def test_simple_notices_render_in_chinese_and_english(app: Any, mailed: District, month: Any) -> None:
    """Each simple notice in zh and en: the Chinese one carries no English sentence of the template
    (every string translated), the English one no Chinese UI words; the school's own names stay."""
    from service.hazards.models import Hazard, HazardSeverity
    from service.notices.render import render
    from service.reports.models import MonthlyReport, ReportState

    d = mailed
    with app.app_context(), use_scope(TenantScope.bureau()):
        period = db.session.scalars(select(Period).where(Period.year == 2026, Period.month == 11)).one()
        report = MonthlyReport(
            school_id=d.school_a.id, period_id=period.id, state=ReportState.RETURNED, return_reason="缺第三周"
        )
        hazard = Hazard(
            school_id=d.school_a.id,
            title="配电箱未上锁",
            location="食堂后门",
            severity=HazardSeverity.HIGH,
            responsible_person="电工老王",
            found_on=date(2026, 11, 1),
            deadline=date(2026, 11, 10),
        )
        db.session.add_all([report, hazard])
        db.session.commit()
        params = {
            "deadline_reminder": {"period": "2026-11", "school_id": d.school_a.id, "days_left": 3},
            "report_returned": {"report_id": report.id, "school_id": d.school_a.id},
            "hazard_digest": {"school_id": d.school_a.id, "as_of": "2026-11-21"},
            "certificate_expiry": {
                "school_id": d.school_a.id,
                "staff_id": d.staff_a.id,
                "expires_on": str(d.staff_a.health_cert_expiry),
            },
        }
        scope = TenantScope.school(d.school_a.id)
        for kind, p in params.items():
            zh = render(kind, p, "zh_CN", scope)
            en = render(kind, p, "en", scope)
            for message, other in ((zh.text, en.text), (zh.html, en.html)):
                assert message != other, kind
            english_words = ("Deadline", "Reason", "Days overdue", "Expires on", "Open in Houqin", "Sent by")
            assert not [w for w in english_words if w in zh.text + zh.html], kind
            assert not [
                w
                for w in ("截止日期", "退回原因", "逾期天数", "到期日", "后勤人员")
                if w in en.subject + en.text
            ], kind
            assert "甲小学" in zh.subject + zh.text  # data stays as entered
            assert zh.link.startswith("http://") and zh.link == en.link
        digest = render("hazard_digest", params["hazard_digest"], "zh_CN", scope)
        assert "配电箱未上锁" in digest.html and ">11<" in digest.html  # 11 days overdue on 21 Nov
        db.session.remove()


# --- preferences -------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_opted_out_users_are_skipped_unless_the_schedule_is_mandatory(
    app: Any, mailed: District, smtp: SmtpServer, clock: Any
) -> None:
    from service.accounts.models import User

    optional = schedule(app)
    with app.app_context(), use_scope(TenantScope.bureau()):
        official = db.session.scalars(select(User).where(User.username == "official")).one()
        assert [c.kind for c in operations.choices_for(official)] == ["bulletin"]
        operations.set_choices(official, {"bulletin": False})
        db.session.commit()
        db.session.remove()
    clock(at("2026-11-22"))
    tick(app)
    assert ADDRESSES["official"] not in smtp.inbox.count()
    # made mandatory: the same user receives it, and may no longer opt out
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.scalars(
            select(operations.NoticeSchedule).where(operations.NoticeSchedule.id == optional)
        ).one()
        row.mandatory = True
        db.session.execute(update(NoticeRun).values(state=RunState.QUEUED.value))
        db.session.execute(NoticeDelivery.__table__.delete())
        official = db.session.scalars(select(User).where(User.username == "official")).one()
        with pytest.raises(DomainError) as refused:
            operations.set_choices(official, {"bulletin": False})
        assert refused.value.status == 409
        db.session.commit()
        db.session.remove()
    clock(at("2026-11-22", "09:30"))
    with app.app_context(), use_scope(TenantScope.bureau()), unit_of_work():
        operations.execute_run(runs(app)[0].id)
    assert smtp.inbox.count()[ADDRESSES["official"]] == 1


# --- the group robot -------------------------------------------------------------------------------------


class _Robot(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Robot.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.postgres
def test_group_robot_gets_markdown_with_the_link(
    app: Any, mailed: District, smtp: SmtpServer, clock: Any
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Robot.received = []
    try:
        url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=k"
        schedule(app, webhook_url=url, audience=["bureau_admins"])
        clock(at("2026-11-22"))
        tick(app)
    finally:
        server.shutdown()
    [payload] = _Robot.received
    assert payload["msgtype"] == "markdown"
    assert "督查通报 2026-10" in payload["markdown"]["content"]
    assert "http://127.0.0.1:5000/bulletins/2026-10" in payload["markdown"]["content"]
    assert {(r.channel.value, r.state) for r in deliveries(app)} == {
        ("email", DeliveryState.SENT),
        ("webhook", DeliveryState.SENT),
    }
    assert channels.robot_payload("https://oapi.dingtalk.com/robot/send?x=1", title="t", markdown="m") == {
        "msgtype": "markdown",
        "markdown": {"title": "t", "text": "m"},
    }


# --- the embedded mode: .eml files -------------------------------------------------------------------------


@pytest.mark.postgres
def test_without_a_mail_server_messages_are_eml_files(
    app: Any, mailed: District, clock: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    schedule(app)
    clock(at("2026-11-22"))
    tick(app)
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == len(EVERYONE)
    tos = {
        message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec for f in files
    }
    assert tos == EVERYONE
    assert {r.state for r in deliveries(app)} == {DeliveryState.SENT}


# --- job runs: the same conditional claim -----------------------------------------------------------------


@pytest.mark.postgres
def test_job_run_claim_two_concurrent_deliveries_one_runs(app: Any, district: District) -> None:
    from service.jobs.models import JobRun
    from service.jobs.models import RunState as JobState
    from service.jobs.operations import AlreadyClaimed, track

    key = f"race-{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(2)
    ran: list[str] = []
    lost: list[AlreadyClaimed] = []

    def attempt(name: str) -> None:
        with unit_of_work(), app.app_context(), use_scope(TenantScope.bureau()):
            barrier.wait()
            try:
                with track(key, "race", {}):
                    ran.append(name)
                    time.sleep(0.3)  # the winner is still running when the loser looks
            except AlreadyClaimed as exc:
                lost.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ran) == 1 and len(lost) == 1
    assert lost[0].state in ("running", "succeeded")
    with app.app_context(), use_scope(TenantScope.bureau()):
        [row] = db.session.scalars(select(JobRun).where(JobRun.run_key == key)).all()
        assert row.state is JobState.SUCCEEDED and row.attempts == 1
        # a message redelivered after success does nothing at all
        with pytest.raises(AlreadyClaimed) as after, track(key, "race", {}):
            pytest.fail("ran again after success")
        assert after.value.retry_after is None
        # an attempt whose worker died long ago (lease expired) is taken over
        db.session.execute(
            update(JobRun)
            .where(JobRun.id == row.id)
            .values(state="running", started_at=utcnow() - timedelta(hours=2))
        )
        db.session.commit()
        with track(key, "race", {}) as progress:
            progress.result = {"again": True}
        db.session.commit()
        db.session.expire_all()
        row = db.session.scalars(select(JobRun).where(JobRun.run_key == key)).one()
        assert row.state is JobState.SUCCEEDED and row.attempts == 2 and row.result == {"again": True}
        db.session.remove()


# --- a real worker killed with SIGKILL mid-run ------------------------------------------------------------


def _process_env(tmp_path: Any, database: Any, queue: str, smtp: SmtpServer, now: datetime) -> dict[str, str]:
    """The environment of a worker or beat process of these tests: its own queue and unacked keys."""
    return {
        **os.environ,
        "DATABASE_URL": database.app_url,
        "MIGRATION_DATABASE_URL": database.owner_url,
        "REDIS_URL": services.REDIS_URL,
        "CELERY_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": "3",  # redelivery after 3 s instead of 2 h
        "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(
            {
                "unacked_key": f"{queue}-unacked",
                "unacked_index_key": f"{queue}-unacked-index",
                "unacked_mutex_key": f"{queue}-unacked-mutex",
            }
        ),
        "NOTICE_CLAIM_TIMEOUT": "4",
        "HOUQIN_INSTANCE_DIR": str(tmp_path),
        "HOUQIN_NOW": now.isoformat(),
        "SECRET_KEY": "worker-test-0123456789-abcdefghijklmnop",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_DEFAULT_SENDER": "houqin@bureau.example",
    }


def _start_process(args: list[str], env: dict[str, str], log: Any, ready: str) -> Any:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks.celery_app", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches the pool child too
    )
    deadline = time.monotonic() + 60
    while ready not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"celery {args[0]} did not start:\n" + log.read_text())
        time.sleep(0.2)
    return proc


def _start_worker(
    tmp_path: Any, database: Any, queue: str, smtp: SmtpServer, now: datetime, name: str, concurrency: int = 1
) -> Any:
    log = tmp_path / f"{name}.log"
    args = ["worker", "-c", str(concurrency), "-l", "info", "--without-gossip", "--without-mingle"]
    args += ["--without-heartbeat", "-n", f"{name}-{queue}@%h"]
    proc = _start_process(args, _process_env(tmp_path, database, queue, smtp, now), log, "ready")
    return proc, log


def _stop(proc: Any) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _unfinished_tasks(log: str) -> list[str]:

    received = re.findall(r"Task \S+\[([0-9a-f-]+)\] received", log)
    return [t for t in received if f"[{t}] succeeded" not in log]


def _wait(condition: Any, what: str, logs: list[Any], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n" + "\n".join(p.read_text()[-3000:] for p in logs))
        time.sleep(0.2)


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.redis
def test_worker_killed_mid_run_every_recipient_exactly_once(
    database: Any, app: Any, mailed: District, tmp_path: Any, clock: Any
) -> None:
    """A worker is SIGKILLed while it holds one delivery (its SMTP conversation is stuck at RCPT, before
    anything was accepted). Redis redelivers its unacknowledged task to a second worker, which finds the
    delivery claimed and does nothing; the tick takes the dead claim back after NOTICE_CLAIM_TIMEOUT
    and the delivery is sent. Every recipient: exactly one message."""
    from service.staff.operations import recompute_certificate_warnings

    queue = f"houqin-notices-{uuid.uuid4().hex[:8]}"
    victim = ADDRESSES["admin_a"]
    # A kind the worker process renders itself (the stand-in bulletin lives in this process only): the
    # expiry warning of staff_a's certificate, to everyone concerned with school A.
    expected = EVERYONE - {ADDRESSES["admin_b"]}
    with app.app_context(), use_scope(TenantScope.bureau()):
        recompute_certificate_warnings()
        db.session.commit()
        db.session.remove()
    with smtp_server() as smtp:
        smtp.inbox.hold.add(victim)
        sender = test_config(
            database,
            CELERY_ALWAYS_EAGER=False,
            CELERY_BROKER_URL=services.REDIS_URL,
            CELERY_RESULT_BACKEND=None,
            CELERY_QUEUE=queue,
            CELERY_VISIBILITY_TIMEOUT=3,
        )
        from service import create_app

        producer = create_app(sender)
        t0 = at("2026-11-22", "09:00")
        clock(t0)
        schedule_id = schedule(
            producer, name="健康证", kind="certificate_expiry", rule="daily", day_of_month=None
        )
        first, log1 = _start_worker(tmp_path, database, queue, smtp, t0 + timedelta(minutes=1), "w1")
        try:
            with producer.app_context(), use_scope(TenantScope.bureau()):
                row = db.session.scalars(
                    select(operations.NoticeSchedule).where(operations.NoticeSchedule.id == schedule_id)
                ).one()
                assert operations.send_now(row, utcnow()) == (1, 0)
                db.session.commit()  # the outbox sends execute_run to the worker's queue
                db.session.remove()
            _wait(smtp.inbox.holding.is_set, "the worker to reach the held recipient", [log1])
            before = Counter(m.rcpt for m in smtp.inbox.messages)
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        smtp.inbox.hold.clear()
        smtp.inbox.release.set()
        stuck = next(r for r in deliveries(app) if r.address == victim)
        assert stuck.state is DeliveryState.SENDING  # claimed by the dead worker, never accepted
        assert sum(before.values()) < len(expected)
        time.sleep(3.5)  # past the visibility timeout: the next worker restores the unacked message
        second, log2 = _start_worker(tmp_path, database, queue, smtp, t0 + timedelta(minutes=3), "w2")
        try:
            celery = producer.extensions["celery"]

            def all_sent() -> bool:
                return {r.state for r in deliveries(app)} == {DeliveryState.SENT}

            def beat_and_check() -> bool:
                # beat: every second here (every 2 minutes in production)
                celery.send_task(
                    operations.TICK_TASK, kwargs={"scope": TenantScope.bureau().to_json()}, queue=queue
                )
                time.sleep(1)
                return all_sent()

            _wait(beat_and_check, "every delivery to be sent", [log1, log2])
            assert smtp.inbox.count() == Counter({a: 1 for a in expected})
            [run] = runs(app)
            assert run.state is RunState.DONE
            with app.app_context(), use_scope(TenantScope.bureau()):
                moves = [
                    (r.from_state, r.to_state)
                    for r in db.session.scalars(
                        select(NoticeRunLog).where(NoticeRunLog.run_id == run.id).order_by(NoticeRunLog.id)
                    )
                ]
                db.session.remove()
            assert moves[0] == ("", "queued") and moves[-1] == ("running", "done")
            # the task the killed worker was running came back to the second worker, which found the
            # delivery claimed and did nothing (claimed False), before the tick took the claim back
            unfinished = _unfinished_tasks(log1.read_text())
            assert len(unfinished) == 1 and unfinished[0] in log2.read_text()
        finally:
            _stop(second)
        app.extensions["celery"].set_current()


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.redis
def test_two_beat_processes_make_one_run_and_one_message_each(
    database: Any, app: Any, mailed: District, tmp_path: Any, clock: Any
) -> None:
    """Two real ``celery beat`` processes (a second one started by mistake, each with its own schedule
    file and pid file) send the notices tick every second to a worker with two processes, so ticks run
    side by side: one run for the day's schedule, and each recipient gets exactly one message."""
    from service.staff.operations import recompute_certificate_warnings

    queue = f"houqin-beats-{uuid.uuid4().hex[:8]}"
    expected = EVERYONE - {ADDRESSES["admin_b"]}  # the certificate warning about school A's staff
    with app.app_context(), use_scope(TenantScope.bureau()):
        recompute_certificate_warnings()
        db.session.commit()
        db.session.remove()
    clock(at("2026-11-22", "08:55"))
    schedule(app, name="健康证", kind="certificate_expiry", rule="daily", day_of_month=None)
    with smtp_server() as smtp:
        started = at("2026-11-22", "09:01")  # past the schedule's 09:00
        worker, worker_log = _start_worker(tmp_path, database, queue, smtp, started, "w", concurrency=2)
        beats: list[Any] = []
        logs = [worker_log]
        try:
            for name in ("beat1", "beat2"):
                env = {**_process_env(tmp_path, database, queue, smtp, started), "NOTICES_TICK_SECONDS": "1"}
                log = tmp_path / f"{name}.log"
                args = ["beat", "-l", "info", "-s", str(tmp_path / f"{name}-schedule")]
                args += ["--pidfile", str(tmp_path / f"{name}.pid")]
                beats.append(_start_process(args, env, log, "beat: Starting"))
                logs.append(log)

            def ticks_ran() -> int:
                return len(
                    re.findall(
                        rf"{re.escape(operations.TICK_TASK)}\[[^\]]+\] succeeded", worker_log.read_text()
                    )
                )

            def both_beats_ticked() -> bool:
                sent = [log.read_text().count("Sending due task notices-tick") for log in logs[1:]]
                return min(sent) >= 3 and ticks_ran() >= 6

            _wait(both_beats_ticked, "both beats to send the tick three times", logs, timeout=60)
            _wait(lambda: {r.state for r in deliveries(app)} == {DeliveryState.SENT}, "the deliveries", logs)
            for beat in beats:
                _stop(beat)
            time.sleep(1.5)  # the last ticks finish
            assert len(runs(app)) == 1
            assert smtp.inbox.count() == Counter({a: 1 for a in expected})
        finally:
            for proc in [*beats, worker]:
                if proc.poll() is None:
                    _stop(proc)
        app.extensions["celery"].set_current()


def test_compose_sends_the_mail_to_mailpit() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        assert env["MAIL_SERVER"] == "mailpit" and str(env["MAIL_PORT"]) == "1025", name
        assert env["PUBLIC_URL"]
    assert "1025:1025" in compose["services"]["mailpit"]["ports"]
