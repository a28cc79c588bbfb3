"""What a notice is before it is delivered: the rendered subject, bodies and attachments.

Renderers (``service/mail/kinds.py``) build an :class:`OutgoingMessage` from plain data; the delivery
machinery turns it into MIME with the standard library's ``email`` package and sends it (SMTP), writes it
as an ``.eml`` file (the embedded demo), or posts a summary to a group-robot webhook. A renderer never
sends anything and never knows the recipient's address: one message per (notice, recipient language).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attachment:
    filename: str  # shown to the recipient (may be Chinese)
    content: bytes
    mimetype: str  # e.g. "application/pdf"


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML body shows with ``<img src="cid:{cid}">`` (mail clients run no JavaScript)."""

    cid: str
    content: bytes
    mimetype: str = "image/png"


@dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    html: str
    text: str  # the plain-text alternative
    attachments: tuple[Attachment, ...] = ()
    images: tuple[InlineImage, ...] = ()
    link: str = ""  # where the full document is in the app (a webhook posts this)
    summary: str = ""  # a few lines in markdown for a group-robot webhook
    meta: dict[str, str] = field(default_factory=dict)  # e.g. {"snapshot_id": "12"}, kept on the run
