"""Reading the embedded mode's outbox (``instance/mail/*.eml``) for the 发件箱 page.

Only names the channel writes (``notice-<n>.eml``) are opened, so a crafted name never leaves the
directory. A message is parsed with the standard library; its HTML part is shown with each
``cid:`` image pointed at the page that serves that part, and every attachment can be downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

NAME = re.compile(r"^notice-\d{1,12}\.eml$")


@dataclass(frozen=True)
class Part:
    index: int
    filename: str
    mimetype: str
    size: int
    cid: str = ""


@dataclass
class Mail:
    name: str
    subject: str
    to: str
    sender: str
    date: datetime | None
    message_id: str
    html: str = ""
    text: str = ""
    parts: list[Part] = field(default_factory=list)

    @property
    def attachments(self) -> list[Part]:
        return [p for p in self.parts if p.filename]


def _parse(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy.default)  # type: ignore[return-value]


def _date(msg: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        return None


def _leaves(msg: EmailMessage) -> list[Part]:
    """The non-multipart parts that are not the text bodies, numbered in walk order."""
    out = []
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        filename = part.get_filename() or ""
        cid = str(part.get("Content-ID", "")).strip("<>")
        if not filename and not cid:
            continue
        out.append(
            Part(index, filename, part.get_content_type(), len(part.get_payload(decode=True) or b""), cid)
        )
    return out


def _summary(path: Path, msg: EmailMessage) -> Mail:
    return Mail(
        name=path.name,
        subject=str(msg["Subject"] or ""),
        to=str(msg["To"] or ""),
        sender=str(msg["From"] or ""),
        date=_date(msg),
        message_id=str(msg["Message-ID"] or ""),
    )


def list_messages(directory: Path, limit: int = 500) -> list[Mail]:
    """The newest messages first."""
    if not directory.is_dir():
        return []
    paths = sorted(
        (p for p in directory.iterdir() if NAME.match(p.name)), key=lambda p: p.stat().st_mtime, reverse=True
    )
    out = []
    for path in paths[:limit]:
        mail = _summary(path, _parse(path))
        mail.parts = _leaves(_parse(path))
        out.append(mail)
    return out


def open_message(directory: Path, name: str, part_url: Callable[[int], str]) -> Mail | None:
    """The message with its HTML (``cid:`` images pointed at ``part_url(index)``) and plain text."""
    if not NAME.match(name) or not (directory / name).is_file():
        return None
    path = directory / name
    msg = _parse(path)
    mail = _summary(path, msg)
    mail.parts = _leaves(msg)
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    mail.html = html.get_content() if html is not None else ""
    mail.text = text.get_content() if text is not None else ""
    for part in mail.parts:
        if part.cid:
            mail.html = mail.html.replace(f"cid:{part.cid}", part_url(part.index))
    return mail


def part_of(directory: Path, name: str, index: int) -> tuple[bytes, str, str] | None:
    """(bytes, MIME type, file name) of one part, or None."""
    if not NAME.match(name) or not (directory / name).is_file():
        return None
    for i, part in enumerate(_parse(directory / name).walk()):
        if i == index and not part.is_multipart():
            return part.get_payload(decode=True) or b"", part.get_content_type(), part.get_filename() or ""
    return None
