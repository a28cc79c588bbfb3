"""The Celery app of the mail benchmark's workers: the production app, plus a stand-in report card.

``celery -A bench.mail_worker worker`` runs the real notice tasks (``tasks/notices.py``). When the build
has no ``report_card`` renderer (the bulletins area registers it), :func:`stand_in_report_card` takes
its place: of similar weight - an HTML e-mail with a table and an inline chart image, an A4 PDF page
rendered by WeasyPrint with the Chinese font embedded, and an xlsx - so the figures measure the
delivery machinery around a realistic render.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping
from typing import Any

from tasks.celery_app import celery, flask_app  # noqa: F401 - the worker's app

STAND_IN = False


def _png(width: int = 240, height: int = 120) -> bytes:
    """A bar-chart-like PNG without any imaging library (mail clients run no JavaScript)."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            bar = (x // 30) % 2 == 0 and y > height - (x % 97 + 20)
            row += bytes((25, 135, 84) if bar else (255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


CHART = _png()


def stand_in_report_card(params: Mapping[str, Any], locale: str) -> Any:
    from openpyxl import Workbook
    from sqlalchemy import select
    from weasyprint import HTML

    from service.db import db
    from service.mail.message import Attachment, InlineImage, OutgoingMessage
    from service.org.models import School

    school = db.session.scalars(select(School).where(School.id == int(params["school_id"]))).one()
    period = params["period"]
    rows = "".join(
        f"<tr><td>{code}</td><td>{name}</td><td style='text-align:right'>{score}</td></tr>"
        for code, name, score in [
            ("A", "食堂管理 Canteen", "92.5"),
            ("B", "安全管理 Safety", "88.0"),
            ("C", "后勤人员 Staff", "90.3"),
            ("D", "隐患整改 Hazards", "95.0"),
        ]
        * 4
    )
    html = (
        f"<html><body style='font-family:\"Noto Sans CJK SC\",sans-serif'><h1>{school.name} {period} 月度成绩单</h1>"
        f"<p>综合得分 89.6 · 全区排名 12/300 · 片区排名 3/25</p><img src='cid:chart'>"
        f"<table border='1' cellpadding='4' style='border-collapse:collapse'>{rows}</table></body></html>"
    )
    pdf = HTML(string=html.replace("cid:chart", "data:image/png;base64," + _b64(CHART))).write_pdf(
        font_config=_fonts()
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["项目", "得分"])
    for i in range(16):
        sheet.append([f"项目{i}", 90 - i * 0.5])
    buffer = io.BytesIO()
    book.save(buffer)
    return OutgoingMessage(
        subject=f"{school.name} {period} 月度成绩单",
        html=html,
        text=f"{school.name} {period} 综合得分 89.6",
        attachments=(
            Attachment(f"{school.code}-{period}-成绩单.pdf", pdf, "application/pdf"),
            Attachment(
                f"{school.code}-{period}.xlsx",
                buffer.getvalue(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        ),
        images=(InlineImage("chart", CHART),),
    )


_FONTS: list[Any] = []


def _fonts() -> Any:
    """One FontConfiguration per process: fontconfig's font set is built once, not per card."""
    if not _FONTS:
        from weasyprint.text.fonts import FontConfiguration

        _FONTS.append(FontConfiguration())
    return _FONTS[0]


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def install() -> bool:
    """Register the stand-in unless the build has a real report card renderer; True if it did."""
    from service.mail.kinds import register, renderer_for

    try:
        renderer_for("report_card")
    except LookupError:
        register("report_card", stand_in_report_card)
        return True
    return False


STAND_IN = install()
