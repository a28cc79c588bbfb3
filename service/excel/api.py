"""REST endpoints for the Excel template, its upload, and the xlsx exports (``/api/v1``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.errors import DomainError, error_response
from service.core.lookup import get_or_404
from service.db import db
from service.excel import common as c
from service.excel.export import export_completeness, export_report
from service.excel.plan import done_summary
from service.excel.template import build_template
from service.excel.upload import ConfirmationNeeded, PlanChanged, apply_upload, check_upload
from service.org.models import School
from service.periods.models import Period
from service.reports.models import MonthlyReport

blp = Blueprint("excel", __name__, url_prefix="/api/v1", description="Excel 模板、上传与导出 Excel")

BUREAU_READERS = (Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL, Role.INSPECTOR)


def attachment(data: bytes, ascii_name: str, utf8_name: str) -> Response:
    """An xlsx download: an ASCII-only ``filename`` for old clients and the real name in ``filename*``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name)
    resp = Response(data, mimetype=c.XLSX_MIMETYPE)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _school(report: MonthlyReport) -> School:
    return db.session.scalars(select(School).where(School.id == report.school_id)).one()


def template_response(report: MonthlyReport) -> Response:
    """The month's workbook, pre-filled, as a download (the API and the upload page send the same)."""
    school = _school(report)
    code = report.period.code
    return attachment(
        build_template(report),
        f"houqin-{school.code}-{code}-template.xlsx",
        f"{school.name}-{code}-月报填报模板.xlsx",
    )


@blp.route("/reports/<int:report_id>/template.xlsx")
class ReportTemplate(MethodView):
    @blp.doc(responses={"200": {"description": "the workbook (xlsx)"}})
    def get(self, report_id: int) -> Any:
        """The monthly data-collection workbook of the report's school and month (school or bureau admin).

        Pre-filled with what the month already holds (self-inspections with their item results, canteen
        facts, the staff evaluations' ratings, the month's hazards and incidents), so a school can
        change a cell and upload it again."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)
        return template_response(report)


class UploadArgs(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "check and plan only: nothing is written; answers the plan and its digest"},
    )
    confirm = fields.String(
        load_default=None,
        metadata={
            "description": "the digest of a plan (from a dry run or a 409): write only if the month and the "
            "file are still what that plan was made from (409 otherwise); `true`: write whatever the plan is"
        },
    )


PLAN_DOC = (
    '`{"plan": {kind: {"added", "replaced", "deleted", "unchanged"}}, "summary": "...", "digest": "..."}` '
    "for the kinds canteen_inspections, safety_inspections (self-inspections only), canteen_facts, "
    "evaluations, hazards, incidents"
)


@blp.route("/reports/<int:report_id>/upload")
class ReportUpload(MethodView):
    @blp.arguments(UploadArgs, location="query")
    @blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            }
        },
        responses={
            "200": {
                "description": "dry run: " + PLAN_DOC + '; written: `{"saved": {...}, "summary": "..."}`'
            },
            "409": {
                "description": "the report cannot be changed; or the upload would replace or delete records "
                "and was not confirmed; or the month changed since the confirmed plan. The body carries "
                "the current " + PLAN_DOC
            },
            "422": {"description": '{"errors": {"file": [...], "cells": [{sheet,row,column,message}]}}'},
        },
    )
    def post(self, args: dict[str, Any], report_id: int) -> Any:
        """Upload the filled-in template (school admin): checked, planned, then written all or nothing.

        Two phases, so that nothing is replaced unseen. `?dry_run=true` checks the workbook and answers
        what it would add, replace or delete in the month (the plan) with its `digest`; nothing is
        written. Without `confirm`, a workbook that only adds records (or changes nothing) is written at
        once, and one that would replace or delete anything is refused with 409 and the plan. Send the
        same file again with `?confirm=<digest>` to write exactly that plan: if the month's data changed
        in between, the answer is 409 with the new plan. Errors (422) are listed by sheet, row and
        column; then nothing is written."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.SCHOOL_ADMIN)
        upload = request.files.get("file")
        if upload is None:
            raise DomainError({"file": [_("Choose a file to upload.")], "cells": []})  # type: ignore[dict-item]
        data, filename = upload.read(), upload.filename or ""
        if args["dry_run"]:
            result = check_upload(report, data, filename=filename)
            db.session.rollback()  # the check's trial leaves nothing behind
            if not result.ok:
                raise DomainError(result.errors())
            return {"report_id": report_id, "dry_run": True, **result.as_dict()}
        confirm = args["confirm"]
        try:
            result = apply_upload(
                report,
                data,
                filename=filename,
                confirm=True if (confirm or "").lower() == "true" else confirm or False,
            )
        except (ConfirmationNeeded, PlanChanged) as refusal:
            db.session.rollback()
            return _conflict_with_plan(refusal)
        if not result.ok:
            db.session.rollback()
            raise DomainError(result.errors())
        db.session.commit()
        assert result.plan is not None
        return {"report_id": report_id, "saved": result.plan.as_dict(), "summary": done_summary(result.plan)}


def _conflict_with_plan(refusal: ConfirmationNeeded | PlanChanged) -> Response:
    """409 in the API's error shape, with the plan as it is now (to confirm with its digest)."""
    body = error_response(409, refusal.errors).get_json()
    resp = jsonify({**body, **refusal.result.as_dict()})
    resp.status_code = 409
    return resp


@blp.route("/reports/<int:report_id>/export.xlsx")
class ReportExport(MethodView):
    @blp.doc(responses={"200": {"description": "the workbook (xlsx)"}})
    def get(self, report_id: int) -> Any:
        """What the school-month holds, as xlsx (everyone who may see the report)."""
        report = get_or_404(MonthlyReport, report_id)
        school = _school(report)
        code = report.period.code
        return attachment(
            export_report(report), f"houqin-{school.code}-{code}.xlsx", f"{school.name}-{code}-月报数据.xlsx"
        )


@blp.route("/periods/<int:period_id>/completeness.xlsx")
class CompletenessExport(MethodView):
    @blp.doc(responses={"200": {"description": "the workbook (xlsx)"}})
    def get(self, period_id: int) -> Any:
        """Which schools in scope submitted the period's report, as xlsx (bureau roles, inspectors)."""
        period = get_or_404(Period, period_id)
        ensure_role(*BUREAU_READERS)
        return attachment(
            export_completeness(period),
            f"houqin-completeness-{period.code}.xlsx",
            f"{period.code}-月报填报情况.xlsx",
        )
