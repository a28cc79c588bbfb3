"""Web pages of the monthly workbook (Excel 填报) on a school's report: download the template pre-filled
with the month, upload it, see every error by sheet / row / column, or what it would replace - and
write it only when the school admin confirms.

The same domain functions as the API (:func:`check_upload`, :func:`apply_upload`); between the check
and the confirmation the file waits in :mod:`service.excel.staging` (any worker may answer the
confirmation), and the confirmation writes only the plan that was shown (its digest), refusing with
409 when the month changed in between. School admins only (others 403); another school's report is
a plain 404 (the tenant wall).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.errors import DomainError, NotFound
from service.core.lookup import get_or_404
from service.core.timeutil import today_shanghai, utcnow
from service.db import db
from service.excel import common as c
from service.excel import staging
from service.excel.api import template_response
from service.excel.plan import KINDS, Plan, done_summary, summary
from service.excel.upload import UploadResult, apply_upload, check_upload, max_bytes
from service.org.models import School
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable
from service.web.views import bp

SHEET_ORDER = {title: n for n, title in enumerate(c.DATA_SHEETS)}


def kind_titles() -> dict[str, str]:
    return {
        "canteen_inspections": _("Canteen self-inspections"),
        "safety_inspections": _("Safety self-inspections"),
        "canteen_facts": _("Canteen facts"),
        "evaluations": _("Staff evaluations"),
        "hazards": _("Hazards"),
        "incidents": _("Incidents"),
    }


def _report(report_id: int) -> MonthlyReport:
    """The report (404 outside the tenant wall), for a school admin only (403)."""
    try:
        report = get_or_404(MonthlyReport, report_id)
    except NotFound:
        abort(404)
    if current_user.role is not Role.SCHOOL_ADMIN:
        abort(403)
    return report


def _refusal(report: MonthlyReport) -> list[str]:
    """Why the report's data cannot change now (submitted, locked), or nothing."""
    try:
        ensure_editable(report, today=today_shanghai())
    except DomainError as exc:
        return _messages(exc)
    return []


def _page(
    report: MonthlyReport,
    *,
    status: int = 200,
    result: UploadResult | None = None,
    messages: list[str] | None = None,
    notice: str = "",
) -> Any:
    """The download and upload page, with the errors of a refused workbook when there are some."""
    refusal = _refusal(report)  # shown in place of the upload form; not twice
    cells = sorted(
        result.cell_errors if result else [],
        key=lambda e: (SHEET_ORDER.get(e.sheet, 99), e.row, len(e.column), e.column),
    )
    return (
        render_template(
            "excel/upload.html",
            report=report,
            school=_school(report),
            refusal=refusal,
            file_errors=result.file_errors if result else [],
            cell_errors=cells,
            messages=[m for m in messages or [] if m not in refusal],
            notice=notice,
            max_mb=round(max_bytes() / 1024 / 1024, 1),
        ),
        status,
    )


def _school(report: MonthlyReport) -> School:
    return db.session.scalars(select(School).where(School.id == report.school_id)).one()


def _messages(exc: DomainError) -> list[str]:
    return [str(m) for messages in exc.errors.values() for m in messages]


@bp.route("/reports/<int:report_id>/excel")
@login_required
def report_excel(report_id: int) -> Any:
    return _page(_report(report_id))


@bp.route("/reports/<int:report_id>/excel/template.xlsx")
@login_required
def report_excel_template(report_id: int) -> Any:
    """The month's workbook, pre-filled with what is already entered."""
    return template_response(_report(report_id))


@bp.route("/reports/<int:report_id>/excel/upload", methods=["POST"])
@login_required
def report_excel_upload(report_id: int) -> Any:
    """Check the workbook: the errors, or what it would change (kept for the confirmation)."""
    report = _report(report_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(report, status=422, messages=[_("Choose a file to upload.")])
    data, filename = upload.read(), upload.filename
    try:
        result = check_upload(report, data, filename=filename)
    except DomainError as exc:  # the report cannot change (409)
        db.session.rollback()
        return _page(report, status=exc.status, messages=_messages(exc))
    db.session.rollback()  # the check's trial leaves nothing behind
    if not result.ok or result.plan is None:
        return _page(report, status=422, result=result)
    if not result.plan.changes:
        return _page(report, notice=summary(result.plan))
    token = staging.stage(report, current_user, data, filename, sha256=result.sha256, digest=result.digest)
    db.session.commit()
    return render_template(
        "excel/confirm.html",
        report=report,
        school=_school(report),
        plan=result.plan,
        summary=summary(result.plan),
        rows=_rows(result.plan),
        token=token,
        filename=filename,
        expires=utcnow() + staging.TTL - timedelta(seconds=1),
    )


def _rows(plan: Plan) -> list[tuple[str, Any]]:
    titles = kind_titles()
    return [(titles[kind], plan.counts[kind]) for kind in KINDS]


@bp.route("/reports/<int:report_id>/excel/confirm", methods=["POST"])
@login_required
def report_excel_confirm(report_id: int) -> Any:
    """Write the checked workbook (exactly the plan shown), or cancel it; either way the file goes."""
    report = _report(report_id)
    token = request.form.get("token", "")
    if request.form.get("action") == "cancel":
        staging.discard(report, current_user, token)
        db.session.commit()
        flash(_("The upload was cancelled; nothing was written."), "info")
        return redirect(url_for("web.report_excel", report_id=report.id))
    try:
        staged = staging.claim(report, current_user, token)
        result = apply_upload(report, staged.data, filename=staged.filename, confirm=staged.digest)
    except DomainError as exc:  # gone or expired, the month changed since the check, report not editable
        return _refused(report, token, status=exc.status, messages=_messages(exc))
    if not result.ok or result.plan is None:
        return _refused(report, token, status=422, result=result)
    staging.discard(report, current_user, token)
    db.session.commit()
    flash(done_summary(result.plan), "success")
    return redirect(url_for("web.report_detail", report_id=report.id))


def _refused(report: MonthlyReport, token: str, *, status: int, **page: Any) -> Any:
    """Nothing of the upload is written; its file is discarded (upload it again)."""
    db.session.rollback()
    staging.discard(report, current_user, token)
    db.session.commit()
    return _page(report, status=status, **page)
