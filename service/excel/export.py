"""Exports: one school-month as entered, and a period's completeness for the bureau.

Every string written goes through :func:`common.neutralise`: a value starting with ``=``, ``+``,
``-`` or ``@`` gets a leading apostrophe inside the value, so no cell of an export is ever a formula
(formula/CSV injection through a school's free text).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from service.core.timeutil import local, today_shanghai
from service.db import db
from service.evaluations.models import RATER_GROUP_LABELS, Evaluation
from service.excel import common as c
from service.hazards.models import HAZARD_SEVERITY_LABELS, HAZARD_STATE_LABELS, Hazard
from service.incidents.models import INCIDENT_SEVERITY_LABELS, INCIDENT_TYPE_LABELS, Incident
from service.inspections import operations as inspections
from service.inspections import scoring
from service.inspections.models import (
    GRADE_LABELS,
    INSPECTION_KIND_LABELS,
    INSPECTION_MODE_LABELS,
    ITEM_OUTCOME_LABELS,
    Inspection,
)
from service.org.models import Cluster, School
from service.periods.models import Period
from service.reports import operations as reports
from service.reports.models import REPORT_STATE_LABELS, MonthlyReport
from service.reports.status import SCHOOL_MONTH_STATUS_LABELS, status_by_school
from service.staff.models import StaffMember

COMPLETENESS_LABELS = {"missing": "未提交", "draft": "草稿", "on_time": "按时", "late": "逾期"}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _sheet(wb: Workbook, title: str, headers: list[str], widths: list[int] | None = None) -> Worksheet:
    ws = wb.create_sheet(title)
    ws.append(headers)
    for i in range(1, len(headers) + 1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        ws.cell(row=1, column=i).fill = HEADER_FILL
        ws.column_dimensions[c.col(i)].width = widths[i - 1] if widths and i <= len(widths) else 14
    ws.freeze_panes = "A2"
    return ws


def _row(ws: Worksheet, values: list[Any]) -> None:
    ws.append([c.neutralise(v) for v in values])


def _save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _zh(labels: dict, value: Any) -> str:
    return labels[value][0] if value is not None else ""


def _time(value: Any) -> str:
    moment = local(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def export_report(report: MonthlyReport) -> bytes:
    """What the school-month holds: inspections (self and spot) with their scores and item results,
    canteen facts, evaluations, and the hazards and incidents of the month."""
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    period = report.period
    wb = Workbook()
    info = wb.active
    info.title = "概况"
    for key, value in (
        ("学校代码", school.code),
        ("学校名称", school.name),
        ("月份", period.code),
        ("月报状态", _zh(REPORT_STATE_LABELS, report.state)),
        ("提交时间", _time(report.submitted_at)),
    ):
        _row(info, [key, value])
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 30

    rows = db.session.scalars(
        inspections.list_inspections(period_id=period.id, school_id=school.id)
        .order_by(None)
        .order_by(Inspection.kind, Inspection.mode, Inspection.inspected_on, Inspection.id)
    ).all()
    summary = _sheet(
        wb,
        "检查",
        [
            "编号",
            "类别",
            "方式",
            "检查日期",
            "检查人",
            "得分",
            "等级",
            "关键项不合格",
            "否决项不合格",
            "备注",
        ],
        [8, 14, 8, 12, 12, 8, 8, 12, 12, 30],
    )
    details = _sheet(
        wb,
        "检查明细",
        ["检查编号", "条目编号", "检查内容", "结果", "次数", "扣分", "备注"],
        [10, 10, 60, 8, 8, 8, 30],
    )
    for inspection in rows:
        _row(
            summary,
            [
                inspection.id,
                _zh(INSPECTION_KIND_LABELS, inspection.kind),
                _zh(INSPECTION_MODE_LABELS, inspection.mode),
                inspection.inspected_on,
                inspection.inspector_name,
                float(inspection.score),
                _zh(GRADE_LABELS, inspection.grade),
                inspection.key_failed,
                inspection.veto_failed,
                inspection.notes,
            ],
        )
        summary.cell(row=summary.max_row, column=4).number_format = "yyyy-mm-dd"
        for result in inspections.load_results(inspection):
            deducted = scoring.item_deduction(result.item, scoring.Entry(result.result, result.occurrences))
            _row(
                details,
                [
                    inspection.id,
                    result.item.code,
                    result.item.text,
                    _zh(ITEM_OUTCOME_LABELS, result.result),
                    result.occurrences,
                    float(deducted),
                    result.note,
                ],
            )

    facts_ws = _sheet(wb, c.SHEET_FACTS, ["项目", "数值"], [20, 14])
    facts = inspections.get_facts(report)
    for field_name, field_label, _hint in c.FACT_ROWS:
        value = getattr(facts, field_name) if facts is not None else None
        _row(
            facts_ws,
            [field_label, float(value) if field_name == "food_waste_kg" and value is not None else value],
        )

    evaluations_ws = _sheet(
        wb, c.SHEET_STAFF, ["姓名", "得分", "维度得分", "评分组", "评分人", "评分"], [12, 8, 40, 12, 12, 40]
    )
    evaluated = db.session.scalars(
        select(Evaluation)
        .where(Evaluation.school_id == school.id, Evaluation.period_id == period.id)
        .order_by(Evaluation.staff_id)
    ).all()
    names = dict(
        db.session.execute(
            select(StaffMember.id, StaffMember.name).where(StaffMember.school_id == school.id)
        ).all()
    )
    for evaluation in evaluated:
        dims = ", ".join(f"{k}={v}" for k, v in evaluation.dimension_scores.items())
        for n, rating in enumerate(evaluation.ratings):
            _row(
                evaluations_ws,
                [
                    names.get(evaluation.staff_id, "") if n == 0 else "",
                    float(evaluation.score_shown) if n == 0 else None,  # shown: 2 decimals
                    dims if n == 0 else "",
                    _zh(RATER_GROUP_LABELS, rating.rater_group),
                    rating.rater_name,
                    ", ".join(f"{k}={v}" for k, v in rating.scores.items()),
                ],
            )

    hazards_ws = _sheet(
        wb,
        c.SHEET_HAZARDS,
        ["隐患名称", "位置", "等级", "责任人", "发现日期", "整改期限", "状态", "描述"],
        [24, 20, 10, 12, 12, 12, 10, 40],
    )
    for hazard in db.session.scalars(
        select(Hazard).where(Hazard.school_id == school.id, Hazard.period_id == period.id).order_by(Hazard.id)
    ):
        _row(
            hazards_ws,
            [
                hazard.title,
                hazard.location,
                _zh(HAZARD_SEVERITY_LABELS, hazard.severity),
                hazard.responsible_person,
                hazard.found_on.isoformat(),
                hazard.deadline.isoformat(),
                _zh(HAZARD_STATE_LABELS, hazard.state),
                hazard.description,
            ],
        )
    incidents_ws = _sheet(
        wb,
        c.SHEET_INCIDENTS,
        ["类型", "发生时间", "上报时间", "严重程度", "学校有责任", "描述"],
        [12, 18, 18, 12, 10, 50],
    )
    for incident in db.session.scalars(
        select(Incident)
        .where(Incident.school_id == school.id, Incident.period_id == period.id)
        .order_by(Incident.occurred_at, Incident.id)
    ):
        _row(
            incidents_ws,
            [
                _zh(INCIDENT_TYPE_LABELS, incident.type),
                _time(incident.occurred_at),
                _time(incident.reported_at),
                _zh(INCIDENT_SEVERITY_LABELS, incident.severity),
                c.YES if incident.school_at_fault else c.NO,
                incident.description,
            ],
        )
    return _save(wb)


def export_completeness(period: Period) -> bytes:
    """Every active school in the caller's scope with its report status for ``period`` (the last column:
    the status label of service/reports/status.py, never 缺报 before the lock)."""
    clusters = dict(db.session.execute(select(Cluster.id, Cluster.name)).all())
    wb = Workbook()
    ws = wb.active
    ws.title = "填报情况"
    headers = ["学校代码", "学校名称", "片区", "状态", "月报状态", "首次提交时间（北京时间）", "月度状况"]
    ws.append(headers)
    statuses = status_by_school(period, today=today_shanghai())
    for i, width in enumerate([12, 24, 14, 10, 12, 22, 12], start=1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        ws.cell(row=1, column=i).fill = HEADER_FILL
        ws.column_dimensions[c.col(i)].width = width
    ws.freeze_panes = "A2"
    for row in reports.completeness(period):
        _row(
            ws,
            [
                row.code,
                row.name,
                clusters.get(row.cluster_id, ""),
                COMPLETENESS_LABELS[row.status],
                _zh(REPORT_STATE_LABELS, row.state),
                _time(row.first_submitted_at),
                SCHOOL_MONTH_STATUS_LABELS[statuses[row.school_id]][0],
            ],
        )
    return _save(wb)
