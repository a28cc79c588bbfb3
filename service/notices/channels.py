"""How a rendered notice leaves the building: SMTP, an ``.eml`` file (embedded mode), a group robot.

MIME is built by the standard library (``email.message.EmailMessage``): multipart/alternative (text,
then HTML with its inline images as multipart/related) plus the attachments, with RFC 2231 file names
so a Chinese PDF name survives. The render is stored once per language without ``To``/``Message-ID``;
each delivery adds its own, and the Message-ID is derived from the delivery's id, so every try of one
delivery carries the same one (see the README's guarantee).

Failures are sorted for the state machine: :class:`TemporaryFailure` (SMTP 4xx, connection refused or
dropped, a timeout, an HTTP 5xx) is retried with backoff; :class:`PermanentFailure` (SMTP 5xx, a
robot's refusal) is not.
"""

from __future__ import annotations

import json
import os
import smtplib
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.core.timeutil import utcnow
from service.mail.message import OutgoingMessage

MIME_POLICY = policy.SMTP  # CRLF line ends, headers encoded for the wire


class TemporaryFailure(Exception):
    """Worth another try later (the server or the network may recover)."""


class PermanentFailure(Exception):
    """Another try would fail the same way (the address or the message is refused)."""


@dataclass(frozen=True)
class Accepted:
    """What the receiving side said when it took the message (kept on the delivery)."""

    reply: str


# --- MIME -----------------------------------------------------------------------------------------------


def build_mime(message: OutgoingMessage, *, sender: str) -> bytes:
    """The message as MIME bytes, without ``To`` and ``Message-ID`` (added per delivery)."""
    mime = EmailMessage(policy=MIME_POLICY)
    mime["Subject"] = message.subject
    mime["From"] = sender
    mime.set_content(message.text, charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    if message.images:
        html_part = mime.get_payload()[-1]
        for image in message.images:
            maintype, _, subtype = image.mimetype.partition("/")
            html_part.add_related(image.content, maintype=maintype, subtype=subtype, cid=f"<{image.cid}>")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        mime.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return mime.as_bytes(policy=MIME_POLICY)


def message_id(delivery_id: int, sender: str) -> str:
    """The delivery's Message-ID: the same on every try, so a receiving server or mail client can
    recognise a second copy (the one window where one can arrive: see the README)."""
    domain = sender.rpartition("@")[2].strip("> ") or "houqin.localhost"
    return f"<houqin-notice-{delivery_id}@{domain}>"


def addressed(mime: bytes, *, to: str, name: str, msg_id: str) -> bytes:
    """The stored render with this delivery's ``To``, ``Message-ID`` and ``Date`` put in front.

    The render's bytes are not parsed and re-serialised (a report card with its PDF is ~250 KB): the
    three header lines are prepended, so every try of a delivery sends the stored message unchanged."""
    to_header = formataddr((name, to), charset="utf-8") if name else to
    head = f"To: {to_header}\r\nMessage-ID: {msg_id}\r\nDate: {format_datetime(utcnow())}\r\n"
    return head.encode("utf-8") + mime


# --- SMTP -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    server: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False
    sender: str = "houqin@localhost"
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Any) -> SmtpSettings:
        return cls(
            server=config.get("MAIL_SERVER", ""),
            port=int(config.get("MAIL_PORT", 25)),
            username=config.get("MAIL_USERNAME", ""),
            password=config.get("MAIL_PASSWORD", ""),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            sender=config.get("MAIL_DEFAULT_SENDER", "houqin@localhost"),
            timeout=float(config.get("MAIL_TIMEOUT", 30)),
        )


def _smtp_failure(code: int, text: Any) -> Exception:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = f"SMTP {code} {detail}".strip()
    return PermanentFailure(message) if 500 <= code < 600 else TemporaryFailure(message)


def send_smtp(msg: bytes, *, to: str, settings: SmtpSettings) -> Accepted:
    """One SMTP conversation for one recipient; :class:`Accepted` with the server's reply to DATA
    (``250 … queued as …``) once the server took the message."""
    try:
        with smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo_or_helo_if_needed()
            if settings.use_tls:
                smtp.starttls()
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password)
            return _transaction(smtp, msg, sender=settings.sender, to=to)
    except (PermanentFailure, TemporaryFailure):
        raise
    except smtplib.SMTPResponseException as exc:
        raise _smtp_failure(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _smtp_failure(code, text) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:  # refused, dropped, timed out
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc


def _transaction(smtp: smtplib.SMTP, msg: bytes, *, sender: str, to: str) -> Accepted:
    """MAIL, RCPT, DATA by hand (``sendmail`` hides the DATA reply, which names the server's queue id)."""
    from email.utils import parseaddr

    envelope_from = parseaddr(sender)[1] or sender
    utf8 = any(ord(ch) > 127 for ch in to + envelope_from)
    options = ["SMTPUTF8"] if utf8 and smtp.has_extn("smtputf8") else []
    code, text = smtp.mail(envelope_from, options)
    if code != 250:
        smtp.rset()
        raise _smtp_failure(code, text)
    code, text = smtp.rcpt(to)
    if code not in (250, 251):
        smtp.rset()
        raise _smtp_failure(code, text)
    code, text = smtp.data(msg)
    if code != 250:
        raise _smtp_failure(code, text)
    return Accepted(f"{code} {text.decode('utf-8', 'replace')}"[:500])


# --- the embedded mode: .eml files ------------------------------------------------------------------------


def write_eml(msg: bytes, *, directory: Path, delivery_id: int) -> Accepted:
    """Write the message as ``notice-<delivery id>.eml`` (a temporary file renamed into place, so the
    outbox page never lists half a message; a second try of the same delivery replaces the file)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"notice-{delivery_id:07d}.eml"
    fd, tmp = tempfile.mkstemp(prefix=".notice-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(msg)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Accepted(f"written {name}")


# --- group robots (企业微信 / 钉钉) ---------------------------------------------------------------------------


def robot_payload(url: str, *, title: str, markdown: str) -> dict[str, Any]:
    """The markdown message a group robot expects: DingTalk's has a title; WeCom's (the default) not."""
    host = urlsplit(url).hostname or ""
    if "dingtalk" in host:
        return {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
    return {"msgtype": "markdown", "markdown": {"content": markdown}}


def post_webhook(url: str, payload: dict[str, Any], *, timeout: float = 15.0) -> Accepted:
    """POST the robot message; both robots answer HTTP 200 with ``{"errcode": 0}`` when they took it."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read(4000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        failure = TemporaryFailure if exc.code >= 500 or exc.code == 429 else PermanentFailure
        raise failure(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and int(answer.get("errcode", 0) or 0) != 0:
        raise PermanentFailure(f"robot refused: {text[:300]}")
    return Accepted(f"HTTP 200 {text[:200]}")
