"""Preview pages of the bulletin and the report cards: the HTML exactly as the email shows it (its chart
images inlined), in the language chosen (``?lang=en``; the UI's language by default), with links to
the PDF and the workbook attached to the email.

* ``/bulletins/<kind>/<key>`` - bureau roles. The issued bulletin (its number and kept figures) or,
  before it is issued, a draft from the current ranking: a preview never issues (never takes a number).
* ``/schools/<id>/report-cards/<period>`` - bureau roles and the school's own admin. The card is built in
  the school's tenant scope (service/bulletins/report_card.py), so a bureau user previewing it sees
  exactly what the school receives. Another school's id is a plain 404 (the tenant wall), a role that
  may not see cards is 403.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from service.accounts.models import BUREAU_ROLES, Role
from service.bulletins import operations, render, workbooks
from service.bulletins.report_card import report_card_content
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.org.models import School
from service.rankings.calendar import parse_target
from service.web.views import bp

PDF_MIME = render.PDF
XLSX_MIME = render.XLSX


def _lang() -> str:
    wanted = request.args.get("lang")
    if wanted in render.LANGS:
        return wanted
    return "en" if str(get_locale() or "zh_CN").startswith("en") else "zh_CN"


def _bureau_only() -> None:
    if current_user.role not in BUREAU_ROLES:
        abort(403)


def _bulletin(kind: str, key: str) -> operations.Bulletin:
    _bureau_only()
    try:
        parse_target(kind, key)
        return operations.bulletin(kind, key)
    except (NotFound, DomainError):
        abort(404)


def _download(data: bytes, mimetype: str, filename: str) -> Any:
    from flask import Response
    from werkzeug.http import dump_options_header

    disposition = dump_options_header("attachment", {"filename*": f"UTF-8''{_quote(filename)}"})
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@bp.route("/bulletins/<kind>/<key>")
@login_required
def bulletin_preview(kind: str, key: str) -> Any:
    b = _bulletin(kind, key)
    lang = _lang()
    document = render.bulletin_document(b, lang)
    return render_template(
        "bulletins/preview.html",
        document=document,
        lang=lang,
        bulletin=b,
        pdf_url=("web.bulletin_pdf", {"kind": kind, "key": key, "lang": lang}),
        xlsx_url=("web.bulletin_xlsx", {"kind": kind, "key": key, "lang": lang}),
        here=("web.bulletin_preview", {"kind": kind, "key": key}),
    )


@bp.route("/bulletins/<kind>/<key>/bulletin.pdf")
@login_required
def bulletin_pdf(kind: str, key: str) -> Any:
    b = _bulletin(kind, key)
    document = render.bulletin_document(b, _lang())
    return _download(render.pdf(document), PDF_MIME, f"{document.filename}.pdf")


@bp.route("/bulletins/<kind>/<key>/bulletin.xlsx")
@login_required
def bulletin_xlsx(kind: str, key: str) -> Any:
    b = _bulletin(kind, key)
    lang = _lang()
    document = render.bulletin_document(b, lang)
    return _download(workbooks.bulletin_xlsx(b, lang), XLSX_MIME, f"{document.filename}.xlsx")


def _card(school_id: int, period: str) -> dict[str, Any]:
    try:
        school = get_or_404(School, school_id)  # another school (outside the scope) is a 404
    except NotFound:
        abort(404)
    own = current_user.role is Role.SCHOOL_ADMIN and current_user.school_id == school.id
    if current_user.role not in BUREAU_ROLES and not own:
        abort(403)
    try:
        return report_card_content(school.id, period)
    except (NotFound, DomainError):
        abort(404)


@bp.route("/schools/<int:school_id>/report-cards/<period>")
@login_required
def report_card_preview(school_id: int, period: str) -> Any:
    card = _card(school_id, period)
    lang = _lang()
    document = render.report_card_document(card, lang)
    return render_template(
        "bulletins/preview.html",
        document=document,
        lang=lang,
        card=card,
        pdf_url=("web.report_card_pdf", {"school_id": school_id, "period": period, "lang": lang}),
        xlsx_url=("web.report_card_xlsx", {"school_id": school_id, "period": period, "lang": lang}),
        here=("web.report_card_preview", {"school_id": school_id, "period": period}),
    )


@bp.route("/schools/<int:school_id>/report-cards/<period>/report-card.pdf")
@login_required
def report_card_pdf(school_id: int, period: str) -> Any:
    card = _card(school_id, period)
    document = render.report_card_document(card, _lang())
    return _download(render.pdf(document), PDF_MIME, f"{document.filename}.pdf")


@bp.route("/schools/<int:school_id>/report-cards/<period>/report-card.xlsx")
@login_required
def report_card_xlsx(school_id: int, period: str) -> Any:
    card = _card(school_id, period)
    lang = _lang()
    document = render.report_card_document(card, lang)
    return _download(workbooks.report_card_xlsx(card, lang), XLSX_MIME, f"{document.filename}.xlsx")
