"""Test helpers for notices: a real SMTP server (aiosmtpd) in a thread, a stand-in renderer, addresses.

The SMTP server records every message it accepted (recipient, Message-ID, subject, bytes). It can be
stopped and started on the same port (the server is "down": connection refused), answer 4xx or 5xx
to chosen recipients, and hold a recipient's RCPT until the test lets it go (a worker is then in the
middle of an SMTP conversation - the moment a test kills it).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

from service.mail.message import Attachment, InlineImage, OutgoingMessage

# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Received:
    rcpt: str
    message_id: str
    subject: str
    raw: bytes


@dataclass
class Inbox:
    """The handler: what was accepted, and how to misbehave."""

    messages: list[Received] = field(default_factory=list)
    tempfail: set[str] = field(default_factory=set)  # 451 at RCPT
    reject: set[str] = field(default_factory=set)  # 550 at RCPT
    hold: set[str] = field(default_factory=set)  # RCPT waits for `release`
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)  # set while a RCPT is held

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.hold:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "421 4.3.0 closing"  # the client is gone by then; nothing is delivered
        if address in self.tempfail:
            return "451 4.3.0 mailbox busy, try later"
        if address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        for rcpt in envelope.rcpt_tos:
            self.messages.append(
                Received(rcpt, str(msg["Message-ID"]), str(msg["Subject"]), envelope.content)
            )
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"

    def count(self) -> Counter:
        return Counter(m.rcpt for m in self.messages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self.inbox.release.set()
            self._controller.stop()
            self._controller = None

    def config(self) -> dict[str, Any]:
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_DEFAULT_SENDER": "后勤 <houqin@bureau.example>",
            "MAIL_TIMEOUT": 10,
        }


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stand_in_renderer(params: Mapping[str, Any], locale: str) -> OutgoingMessage:
    """A bulletin-shaped message (HTML with an inline chart, a PDF and an xlsx), without E1's renderer."""
    period = params.get("period", "")
    school = params.get("school_id", "")
    zh = locale != "en"
    subject = f"{'督查通报' if zh else 'Bulletin'} {period} {school}".strip()
    return OutgoingMessage(
        subject=subject,
        html=f'<h1>{subject}</h1><p><img src="cid:chart-1" alt="chart"></p>',
        text=subject,
        attachments=(
            Attachment(
                f"{'通报' if zh else 'bulletin'}-{period}.pdf", b"%PDF-1.4 stand-in", "application/pdf"
            ),
            Attachment(
                "ranking.xlsx",
                b"PK stand-in",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        ),
        images=(InlineImage("chart-1", PNG),),
        link="http://127.0.0.1:5000/bulletins/" + str(period),
        summary=f"**{subject}**",
        meta={"snapshot_id": "1"},
    )


ADDRESSES = {
    "admin": "admin@bureau.example",
    "official": "official@bureau.example",
    "inspector": "inspector@bureau.example",
    "admin_a": "admin_a@sa.example",
    "admin_b": "admin_b@sb.example",
}


def give_addresses(app: Any, *, english: tuple[str, ...] = ("official",)) -> None:
    """The district's users get e-mail addresses (the fixture has none); some read English."""
    from sqlalchemy import update

    from service.accounts.models import User
    from service.db import db
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        for username, address in ADDRESSES.items():
            db.session.execute(
                update(User)
                .where(User.username == username)
                .values(email=address, locale="en" if username in english else "zh_CN")
            )
        db.session.commit()
        db.session.remove()
