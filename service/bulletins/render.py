"""Bulletins and report cards as an HTML email, its plain-text part, an A4 PDF and an xlsx workbook.

One Jinja template per document (``templates/bulletins/``) gives both the email and the PDF: tables
with inline CSS (mail clients drop ``<style>`` blocks), chart images drawn on the server
(:mod:`service.bulletins.charts`) referenced as ``cid:`` in the email and as ``data:`` URIs in the PDF
and the browser preview. Everything is rendered in the recipient's language (Flask-Babel
``force_locale``; the figures carry both languages, :func:`service.bulletins.content.pair`), in the
app's Jinja environment without request context processors (this runs in Celery tasks and the CLI).

The PDF is the e-mail's HTML through WeasyPrint in Noto Sans CJK SC (Debian's ``fonts-noto-cjk``),
which embeds a subset of the font, as the commendation certificates do; a cut of the face to the
common characters comes first in the font stack (:mod:`service.bulletins.fonts`: the same outlines,
a quarter of the subsetting time, half the PDF). The workbook (openpyxl) holds the same tables, every
text cell neutralised against formula injection.
"""

from __future__ import annotations

import atexit
import base64
import html as html_lib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from service.bulletins import charts, fonts
from service.bulletins.operations import Bulletin
from service.core.timeutil import local, today_shanghai
from service.db import db
from service.mail.message import Attachment, InlineImage, OutgoingMessage
from service.org.models import Bureau

LANGS = ("zh_CN", "en")
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_ISSUER = ("区教育局", "District Education Bureau")

# Inline styles (mail clients keep style attributes, not <style> blocks).
S = {
    "body": "margin:0;padding:0;background:#f4f6f8;color:#263238;"
    "font-family:'PingFang SC','Microsoft YaHei','Noto Sans CJK SC','Helvetica Neue',Arial,sans-serif;"
    "font-size:14px;line-height:1.6",
    "sheet": "max-width:760px;margin:0 auto;background:#ffffff;padding:20px",
    "issuer": "text-align:center;color:#c62828;font-size:26px;font-weight:700;margin:0",
    "spaced": "letter-spacing:4px",
    "title": "text-align:center;color:#c62828;font-size:20px;font-weight:700;margin:4px 0 0",
    "number": "text-align:center;color:#37474f;font-size:14px;margin:6px 0 0",
    "rule": "border:0;border-top:2px solid #c62828;margin:10px 0 16px",
    "h2": "font-size:16px;color:#1b5e20;margin:22px 0 8px;padding-bottom:3px;border-bottom:1px solid #c8e6c9",
    "h3": "font-size:14px;color:#37474f;margin:14px 0 6px",
    "p": "margin:6px 0",
    "muted": "color:#607d8b;font-size:12px",
    "table": "border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px",
    "th": "border:1px solid #cfd8dc;background:#eceff1;padding:4px 6px;text-align:left;font-weight:600",
    "thr": "border:1px solid #cfd8dc;background:#eceff1;padding:4px 6px;text-align:right;font-weight:600",
    "td": "border:1px solid #cfd8dc;padding:4px 6px;vertical-align:top",
    "tdr": "border:1px solid #cfd8dc;padding:4px 6px;text-align:right;white-space:nowrap;vertical-align:top",
    "tdn": "border:1px solid #cfd8dc;padding:4px 6px;white-space:nowrap;vertical-align:top",
    "low": "color:#c62828;font-weight:600",
    "own": "background:#fff8e1",
    "up": "color:#2e7d32;white-space:nowrap",
    "down": "color:#c62828;white-space:nowrap",
    "flag": "white-space:nowrap;display:inline-block;padding:0 5px;border-radius:3px;background:#ffebee;color:#b71c1c;font-size:12px",
    "ok": "display:inline-block;padding:0 5px;border-radius:3px;background:#e8f5e9;color:#1b5e20;font-size:12px",
    "big": "font-size:34px;font-weight:700;color:#1b5e20;line-height:1.1",
    "img": "display:block;max-width:100%;height:auto;border:0",
    "footer": "color:#78909c;font-size:12px;margin-top:24px;border-top:1px solid #eceff1;padding-top:8px",
}
BAND_STYLE = {
    "A": "background:#e8f5e9;color:#1b5e20",
    "B": "background:#f1f8e9;color:#33691e",
    "C": "background:#fff8e1;color:#8d6e00",
    "D": "background:#ffebee;color:#b71c1c",
}
# ``%(family)s``: service/bulletins/fonts.py. The page margin boxes (the page number) do not inherit from
# <body>: without the @page family they were drawn in the default serif face, a third font in every PDF.
PDF_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm; font-family: %(family)s;
  @bottom-center { content: counter(page); font-size: 9pt; color: #78909c; } }
body { font-family: %(family)s !important; background: #ffffff !important; font-size: 10pt; }
table { page-break-inside: auto; } tr { page-break-inside: avoid; } thead { display: table-header-group; }
h2 { page-break-after: avoid; }
"""


@dataclass
class Document:
    """A rendered document in one language: what the email, the preview and the attachments need."""

    subject: str
    title: str
    html: str  # the email: images as cid:
    text: str
    images: dict[str, bytes]  # cid -> PNG
    filename: str  # attachment name without extension
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    lang: str = "zh_CN"

    def inline_html(self) -> str:
        """The email HTML with its images as data: URIs (the browser preview, the PDF)."""
        html = self.html
        for cid, png in self.images.items():
            html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(png).decode())
        return html

    def body(self) -> Markup:
        """What is between <body> and </body> of :meth:`inline_html` (the preview page embeds it)."""
        html = self.inline_html()
        start = html.find(">", html.find("<body")) + 1
        return Markup(html[start : html.rfind("</body>")])


# --- helpers the templates use -------------------------------------------------------------------------


def _picker(lang: str) -> Callable[[Any], str]:
    def t(value: Any) -> str:
        if isinstance(value, dict):
            return value.get("en" if lang == "en" else "zh") or value.get("zh") or ""
        return "" if value is None else str(value)

    return t


def format_date(value: str | date | None, lang: str) -> str:
    if not value:
        return "—"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    if lang == "en":
        return day.strftime("%-d %b %Y")
    return f"{day.year}年{day.month}月{day.day}日"


def movement(value: int | None, previous: int | None = None) -> Markup:
    if value is None:
        return Markup("—")
    if value > 0:
        return Markup('<span style="{}">↑{}</span>').format(S["up"], value)
    if value < 0:
        return Markup('<span style="{}">↓{}</span>').format(S["down"], -value)
    return Markup("=")


def movement_text(value: int | None) -> str:
    if value is None:
        return "—"
    return f"↑{value}" if value > 0 else f"↓{-value}" if value < 0 else "="


def issuer(lang: str) -> str:
    bureau = db.session.scalars(select(Bureau).order_by(Bureau.id).limit(1)).first()
    zh = bureau.name if bureau and bureau.name else DEFAULT_ISSUER[0]
    en = bureau.name_en if bureau and bureau.name_en else DEFAULT_ISSUER[1]
    return en if lang == "en" else zh


def _render(template: str, lang: str, **context: Any) -> str:
    t = _picker(lang)
    env = current_app.jinja_env
    return env.get_template(template).render(
        S=S,
        BAND_STYLE=BAND_STYLE,
        t=t,
        lang=lang,
        fdate=lambda v: format_date(v, lang),
        mv=movement,
        **context,
    )


# --- the bulletin --------------------------------------------------------------------------------------


def number_label(b: Bulletin) -> str:
    if b.number is None:
        return _("Draft (not yet numbered)")
    year, number = b.number
    return _("%(year)s, No. %(number)s", year=year, number=number)


def _issued_on(b: Bulletin) -> date:
    if b.issue is not None and b.issue.created_at is not None:
        return local(b.issue.created_at).date()
    return today_shanghai()


def bulletin_document(b: Bulletin, lang: str, *, link: str = "") -> Document:
    """The bulletin in ``lang`` (``zh_CN`` or ``en``)."""
    lang = lang if lang in LANGS else "zh_CN"
    c = b.content
    t = _picker(lang)
    with force_locale(lang):
        name = issuer(lang)
        period = t(c["label"])
        if b.number is None:
            subject = _("%(issuer)s inspection bulletin (draft): %(period)s", issuer=name, period=period)
        else:
            year, number = b.number
            subject = _(
                "%(issuer)s inspection bulletin %(year)s No. %(number)s: %(period)s",
                issuer=name,
                year=year,
                number=number,
                period=period,
            )
        summary = c["summary"]
        chart = charts.band_chart(
            summary["bands"],
            summary["previous_bands"],
            title=_("Schools by band"),
            this_label=period,
            previous_label=t(c["previous"]["label"]) if c.get("previous") else "",
            y_label=_("Schools"),
        )
        images = {"bands": chart}
        context = {
            "c": c,
            "b": b,
            "link": link,
            "summary": summary_sentence(c, lang),
            "doc": {
                "issuer": name,
                "title": _("Inspection bulletin"),
                "number": number_label(b),
                "issued_on": format_date(_issued_on(b), lang),
                "period": period,
                "draft": b.number is None,
            },
        }
        html = _render("bulletins/bulletin.html", lang, img=lambda cid: f"cid:{cid}", pdf=False, **context)
        text = bulletin_text(b, lang, name)
    stem = f"{name} {context['doc']['title']} {c['key']} {context['doc']['number']}"
    return Document(subject, subject, html, text, images, stem, "bulletins/bulletin.html", context, lang)


def bulletin_text(b: Bulletin, lang: str, name: str) -> str:
    """The plain-text part: the summary and the top of the ranking (the PDF has the rest)."""
    with force_locale(lang):
        return _bulletin_text(b, lang, name)


def _bulletin_text(b: Bulletin, lang: str, name: str) -> str:
    c, t = b.content, _picker(lang)
    s = c["summary"]
    lines = [
        f"{name} · {_('Inspection bulletin')} · {number_label(b)}",
        t(c["label"]),
        "",
        summary_sentence(c, lang),
        "",
        _("Ranking"),
    ]
    for r in c["ranking"]:
        if r["rank"] is None:
            continue
        lines.append(
            f"{r['rank']:>3}  {movement_text(r['movement']):>4}  {r['name']}  {r['score']}  {r['band']}"
        )
    if s["counts"].get("missing"):
        lines.append(_("Not ranked (missing): %(n)s", n=s["counts"]["missing"]))
    lines += ["", _("The full bulletin is attached as a PDF and a workbook.")]
    return "\n".join(lines)


def summary_sentence(c: dict[str, Any], lang: str) -> str:
    """The summary paragraph (总体情况) in one language."""
    s = c["summary"]
    sub = s["submissions"]
    with force_locale(lang):
        parts = [
            _(
                "%(total)s monthly reports were due: %(on_time)s submitted on time, %(late)s late, "
                "%(missing)s not submitted.",
                total=sub["total"],
                on_time=sub["on_time"],
                late=sub["late"],
                missing=sub["missing"] + sub["draft"],
            ),
            _(
                "%(ranked)s of %(schools)s schools are ranked; the district mean composite is %(mean)s.",
                ranked=s["counts"].get("ranked", 0),
                schools=s["schools"],
                mean=s["mean"] or "—",
            ),
        ]
        if s.get("mean_change") is not None:
            change = s["mean_change"]
            if change.startswith("-"):
                parts.append(
                    _("That is %(points)s points lower than the previous period.", points=change[1:])
                )
            elif change.strip("0.") == "":
                parts.append(_("That is the same as the previous period."))
            else:
                parts.append(_("That is %(points)s points higher than the previous period.", points=change))
        bands = s["bands"]
        parts.append(
            _(
                "Bands: A %(a)s, B %(b)s, C %(c)s, D %(d)s.",
                a=bands.get("A", 0),
                b=bands.get("B", 0),
                c=bands.get("C", 0),
                d=bands.get("D", 0),
            )
        )
        if s.get("vetoed"):
            parts.append(_("Schools under a veto: %(n)s.", n=s["vetoed"]))
    sep = "" if lang != "en" else " "
    return sep.join(parts)


# --- the report card -----------------------------------------------------------------------------------


def report_card_document(card: dict[str, Any], lang: str, *, link: str = "") -> Document:
    lang = lang if lang in LANGS else "zh_CN"
    t = _picker(lang)
    with force_locale(lang):
        name = issuer(lang)
        period = t(card["label"])
        school = card["school"]["name"]
        subject = _("Monthly report card of %(school)s: %(period)s", school=school, period=period)
        trend = card["trend"]
        images = {}
        if trend:
            images["trend"] = charts.trend_chart(
                [p["key"] for p in trend],
                [float(p["score"]) if p["score"] else None for p in trend],
                [float(p["district_mean"]) if p["district_mean"] else None for p in trend],
                title=_("Composite score, month by month"),
                score_label=school,
                mean_label=_("District mean"),
            )
        context = {
            "card": card,
            "link": link,
            "doc": {
                "issuer": name,
                "title": _("Monthly report card"),
                "period": period,
                "issued_on": format_date(today_shanghai(), lang),
            },
        }
        html = _render("bulletins/report_card.html", lang, img=lambda cid: f"cid:{cid}", pdf=False, **context)
        text = report_card_text(card, lang)
    stem = f"{school}-{card['key']}"
    return Document(subject, subject, html, text, images, stem, "bulletins/report_card.html", context, lang)


def report_card_text(card: dict[str, Any], lang: str) -> str:
    """The plain-text part: the school's own figures (the district ranking is in the HTML and PDF)."""
    with force_locale(lang):
        return _report_card_text(card, lang)


def _report_card_text(card: dict[str, Any], lang: str) -> str:
    t = _picker(lang)
    r = card["rank"]
    lines = [f"{card['school']['name']} · {_('Monthly report card')} · {t(card['label'])}", ""]
    if card["score"] is None:
        lines.append(_("Not ranked this month: the report has not been accepted."))
    else:
        lines.append(_("Composite %(score)s (band %(band)s)", score=card["score"], band=card["band"]))
        lines.append(
            _(
                "Rank %(rank)s of %(of)s, movement %(move)s",
                rank=r["overall"],
                of=r["overall_of"],
                move=movement_text(r["movement"]),
            )
        )
    lines.append(_("Items where points were lost: %(n)s", n=len(card["lost_points"])))
    lines.append(_("Open rectification notices: %(n)s", n=len(card["hazards"])))
    lines.append(
        _(
            "Report for %(period)s due by %(deadline)s",
            period=t(card["next_deadline"]["label"]),
            deadline=format_date(card["next_deadline"]["deadline"], lang),
        )
    )
    lines += ["", _("The full report card is attached as a PDF and a workbook.")]
    return "\n".join(lines)


# --- PDF and workbook ----------------------------------------------------------------------------------


def pdf(document: Document) -> bytes:
    """The document as an A4 PDF with the Chinese font embedded (WeasyPrint).

    The e-mail's HTML with its images inline, not a second rendering of the template (the two only
    differed in how the images are referenced)."""
    from weasyprint import CSS, HTML

    setup = _pdf_setup()
    html, classes = classed(document.inline_html())
    return HTML(string=html).write_pdf(
        stylesheets=[setup.css, CSS(string=classes)], font_config=setup.font_config
    )


@dataclass
class _PdfSetup:
    font_config: Any
    css: Any


_PDF_SETUPS: dict[tuple[int, int, str], _PdfSetup] = {}  # (process, thread, instance folder)


def _pdf_setup() -> _PdfSetup:
    """WeasyPrint's font configuration and the parsed PDF stylesheet, once per thread and instance
    folder (not per document: each new FontConfiguration starts fontconfig and Pango's font cache
    afresh and loads the 20 MB CJK font file again). Per thread because Pango's font map is not
    meant to be shared between threads (the web app renders previews in several)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    directory = str(Path(current_app.instance_path) / "fonts")
    key = (os.getpid(), threading.get_ident(), directory)
    setup = _PDF_SETUPS.get(key)
    if setup is None:
        font_faces, family = fonts.stylesheet(directory)
        font_config = FontConfiguration()
        fonts.keep_copies_under(font_config, Path(directory) / "copies")
        css = CSS(string=font_faces + PDF_CSS % {"family": family}, font_config=font_config)
        setup = _PDF_SETUPS[key] = _PdfSetup(font_config, css)
    return setup


def preload(app: Any) -> None:
    """What a worker can do once before it forks its pool processes, so that they (and each one that
    replaces them) start with it instead of paying it on their first card: import WeasyPrint, find
    the CJK fonts (matplotlib's and the PDF's, cutting the common face if the instance folder has no
    cut yet) and compile the document templates. Nothing here holds fontconfig or Pango state: each
    process makes its own font configuration (:func:`_pdf_setup`)."""
    import weasyprint  # noqa: F401 - the import itself is the point

    charts.preload()
    fonts.common_faces(str(Path(app.instance_path) / "fonts"))
    for template in ("bulletins/report_card.html", "bulletins/bulletin.html"):
        app.jinja_env.get_template(template)


def release_pdf_setups() -> None:
    """Drop the kept font configurations while the interpreter still runs: each removes the temporary
    folder WeasyPrint copied the ``@font-face`` files to (at interpreter exit its own clean-up fails,
    and a Celery pool process ends with ``os._exit``: tasks/celery_app.py calls this before). Only
    this process's: one inherited through a fork is its parent's folder."""
    for key in [k for k in _PDF_SETUPS if k[0] == os.getpid()]:
        del _PDF_SETUPS[key]


atexit.register(release_pdf_setups)


_STYLE_ATTR = re.compile(r' style="([^"]*)"')


def classed(html: str) -> tuple[str, str]:
    """The email's inline styles as classes of one stylesheet, for WeasyPrint.

    The email needs ``style`` attributes (mail clients drop ``<style>``), but WeasyPrint parses every
    attribute on its own: a card has a few hundred cells and a few dozen distinct styles, and parsing
    them once instead of per cell takes most of the CSS time out of a PDF. Same rules, same look.
    """
    names: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        style = html_lib.unescape(match.group(1))  # Jinja escaped the quotes around font names
        name = names.setdefault(style, f"s{len(names)}")
        return f' class="{name}"'

    out = _STYLE_ATTR.sub(replace, html)
    sheet = "\n".join(f".{name} {{ {style} }}" for style, name in names.items())
    return out, sheet


def message(
    document: Document, *, xlsx: bytes, link: str = "", meta: dict[str, str] | None = None
) -> OutgoingMessage:
    """The email: HTML with inline chart images, the text part, the PDF and the workbook attached."""
    return OutgoingMessage(
        subject=document.subject,
        html=document.html,
        text=document.text,
        attachments=(
            Attachment(f"{document.filename}.pdf", pdf(document), PDF),
            Attachment(f"{document.filename}.xlsx", xlsx, XLSX),
        ),
        images=tuple(InlineImage(cid, png) for cid, png in document.images.items()),
        link=link,
        summary=document.text.split("\n\n")[0]
        + "\n\n"
        + (document.text.split("\n\n")[1] if "\n\n" in document.text else ""),
        meta=meta or {},
    )


def workbook_bytes(build: Callable[[Any], None]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    build(wb)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
