"""Certificate PDFs (荣誉证书) of published awards: HTML template → WeasyPrint, Chinese fonts embedded.

The template (``templates/commendations/certificate.html``) sets ``font-family: "Noto Sans CJK SC"``
(and Noto Serif CJK SC for the title); with Debian's ``fonts-noto-cjk`` installed WeasyPrint embeds
subsets of those fonts, so the PDF prints the same on a machine without them.

All certificates of a round are laid out in one WeasyPrint document (one page each) and written out
page by page: the fonts are loaded and the layout engine started once per publication instead of once
per award, which matters for a district that commends hundreds of staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select

from service.commendations.models import CommendationCandidate, CommendationRound
from service.db import db
from service.incidents.vetoes import COMMENDATION_LABELS, Commendation
from service.org.models import Bureau
from service.rankings.calendar import parse_target

TEMPLATE = "commendations/certificate.html"
DEFAULT_ISSUER = "区教育局"

ACHIEVEMENTS = {
    Commendation.ADVANCED_UNIT: "管理规范、综合考评成绩突出",
    Commendation.TRUSTED_CANTEEN: "食堂管理规范、食品安全保障有力",
    Commendation.SAFE_CAMPUS: "校园安全管理扎实、隐患整改及时",
    Commendation.OUTSTANDING_STAFF: "爱岗敬业、工作成绩优秀",
}


def issuer_name() -> str:
    bureau = db.session.scalars(select(Bureau).order_by(Bureau.id).limit(1)).first()
    return bureau.name if bureau and bureau.name else DEFAULT_ISSUER


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def certificate_context(
    row: CommendationRound, cand: CommendationCandidate, *, issuer: str, published_on: date
) -> dict[str, Any]:
    recipient = cand.school.name
    if cand.staff is not None:
        recipient = f"{cand.school.name} {cand.staff.name} 同志"
    return {
        "recipient": recipient,
        "period_label": parse_target(row.kind.value, row.key).label[0],
        "achievement": ACHIEVEMENTS[cand.commendation],
        "award": COMMENDATION_LABELS[cand.commendation][0],
        "issuer": issuer,
        "issued_on": chinese_date(published_on),
        "number": cand.certificate_no or "",
    }


def certificate_html(context: dict[str, Any]) -> str:
    # The app's Jinja environment (autoescaping .html), without request context processors: this
    # also runs in Celery tasks and the CLI.
    return current_app.jinja_env.get_template(TEMPLATE).render(**context)


def render_certificates(
    row: CommendationRound, awards: Sequence[CommendationCandidate], *, published_on: date
) -> list[bytes]:
    """One PDF per award, in the order given."""
    if not awards:
        return []
    issuer = issuer_name()
    pages = [
        certificate_html(certificate_context(row, cand, issuer=issuer, published_on=published_on))
        for cand in awards
    ]
    return split_pdfs(pages)


def split_pdfs(pages: Sequence[str]) -> list[bytes]:
    """Lay the certificates out as one document and write each page as its own PDF.

    Each certificate is a complete HTML page; their bodies are joined with page breaks under the
    first one's head (they share the template, so the head is the same). If the layout does not give
    exactly one page per certificate, each is rendered on its own and must then fit on one sheet.
    """
    from weasyprint import HTML

    head = pages[0].split("<body>", 1)[0]
    bodies = [page.split("<body>", 1)[1].rsplit("</body>", 1)[0] for page in pages]
    joined = head + "<body>" + '<div style="break-after: page"></div>'.join(bodies) + "</body></html>"
    document = HTML(string=joined).render()
    if len(document.pages) == len(pages):
        return [document.copy([page]).write_pdf() for page in document.pages]
    out = []
    for page in pages:
        single = HTML(string=page).render()
        if len(single.pages) != 1:
            raise RuntimeError(f"a certificate was laid out on {len(single.pages)} pages")
        out.append(single.write_pdf())
    return out
