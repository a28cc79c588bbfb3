"""REST endpoints for the Excel template, its upload, and the xlsx exports (``/api/v1``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Response, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.errors import DomainError
from service.core.lookup import get_or_404
from service.db import db
from service.excel import common as c
from service.excel.export import export_completeness, export_report
from service.excel.template import build_template
from service.excel.upload import import_workbook
from service.org.models import School
from service.periods.models import Period
from service.reports.models import MonthlyReport

blp = Blueprint("excel", __name__, url_prefix="/api/v1", description="Excel 模板、上传与导出 Excel")

BUREAU_READERS = (Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL, Role.INSPECTOR)


def _attachment(data: bytes, ascii_name: str, utf8_name: str) -> Response:
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


@blp.route("/reports/<int:report_id>/template.xlsx")
class ReportTemplate(MethodView):
    @blp.doc(responses={"200": {"description": "the workbook (xlsx)"}})
    def get(self, report_id: int) -> Any:
        """The monthly data-collection workbook of the report's school and month (school or bureau admin)."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)
        school = _school(report)
        code = report.period.code
        return _attachment(
            build_template(report),
            f"houqin-{school.code}-{code}-template.xlsx",
            f"{school.name}-{code}-月报填报模板.xlsx",
        )


@blp.route("/reports/<int:report_id>/upload")
class ReportUpload(MethodView):
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
            "422": {"description": '{"errors": {"file": [...], "cells": [{sheet,row,column,message}]}}'}
        },
    )
    def post(self, report_id: int) -> Any:
        """Upload the filled-in template (school admin): everything is saved, or nothing (422 with errors)."""
        report = get_or_404(MonthlyReport, report_id)
        ensure_role(Role.SCHOOL_ADMIN)
        upload = request.files.get("file")
        if upload is None:
            raise DomainError({"file": [_("Choose a file to upload.")], "cells": []})  # type: ignore[dict-item]
        result = import_workbook(report, upload.read(), filename=upload.filename or "")
        if not result.ok:
            db.session.rollback()
            raise DomainError(result.errors())
        db.session.commit()
        return {"report_id": report.id, "saved": result.saved}


@blp.route("/reports/<int:report_id>/export.xlsx")
class ReportExport(MethodView):
    @blp.doc(responses={"200": {"description": "the workbook (xlsx)"}})
    def get(self, report_id: int) -> Any:
        """What the school-month holds, as xlsx (everyone who may see the report)."""
        report = get_or_404(MonthlyReport, report_id)
        school = _school(report)
        code = report.period.code
        return _attachment(
            export_report(report), f"houqin-{school.code}-{code}.xlsx", f"{school.name}-{code}-月报数据.xlsx"
        )


@blp.route("/periods/<int:period_id>/completeness.xlsx")
class CompletenessExport(MethodView):
    @blp.doc(responses={"200": {"description": "the workbook (xlsx)"}})
    def get(self, period_id: int) -> Any:
        """Which schools in scope submitted the period's report, as xlsx (bureau roles, inspectors)."""
        period = get_or_404(Period, period_id)
        ensure_role(*BUREAU_READERS)
        return _attachment(
            export_completeness(period),
            f"houqin-completeness-{period.code}.xlsx",
            f"{period.code}-月报填报情况.xlsx",
        )
