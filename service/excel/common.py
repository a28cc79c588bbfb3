"""What the template, the upload and the exports share: sheet names, column layouts, value lists.

The layout here IS the file format: the template writes it, the upload reads it back and refuses a
workbook whose sheets or header rows differ, so a change here needs a new :data:`TEMPLATE_VERSION`.
"""

from __future__ import annotations

from typing import Any

from openpyxl.utils import get_column_letter

from service.hazards.models import HAZARD_SEVERITY_LABELS, HazardSeverity
from service.incidents.models import (
    INCIDENT_SEVERITY_LABELS,
    INCIDENT_TYPE_LABELS,
    IncidentSeverity,
    IncidentType,
)
from service.inspections.models import ITEM_OUTCOME_LABELS, InspectionKind, ItemOutcome
from service.staff.models import STAFF_ROLE_LABELS, StaffRole

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Bumped whenever a sheet's layout changes; the upload accepts this version and those listed below.
TEMPLATE_VERSION = "houqin-monthly-2"
# Template versions the upload still reads, and whether their 人员考核 sheet carries each person's
# 人员编号 (version 1 had names only: its rows are matched by name, which fails for two people of the
# same name - the reason for version 2).
STAFF_ID_COLUMN = {"houqin-monthly-1": False, TEMPLATE_VERSION: True}
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# One workbook cannot occupy a worker: rows per sheet (below the header) and problems answered. The
# template's sheets have a few hundred rows (blocks of items, the roster, 300 free rows each).
DEFAULT_MAX_ROWS = 5000
DEFAULT_MAX_ERRORS = 200

SHEET_INFO = "说明"
SHEET_META = "_meta"
SHEET_CANTEEN = "食堂自查"
SHEET_SAFETY = "安全检查"
SHEET_FACTS = "食堂月度数据"
SHEET_STAFF = "人员考核"
SHEET_HAZARDS = "隐患整改"
SHEET_INCIDENTS = "事故事件"
DATA_SHEETS = (SHEET_CANTEEN, SHEET_SAFETY, SHEET_FACTS, SHEET_STAFF, SHEET_HAZARDS, SHEET_INCIDENTS)

INSPECTION_SHEETS = {InspectionKind.CANTEEN: SHEET_CANTEEN, InspectionKind.SAFETY: SHEET_SAFETY}
# Blocks pre-filled in the template; a school may copy a block with a new 序号 for more.
TEMPLATE_BLOCKS = 4

INSPECTION_HEADERS = ("序号", "检查日期", "检查人", "条目编号", "检查内容", "结果", "次数", "备注")
FACTS_HEADERS = ("项目", "数值", "说明")
# (field, label, hint) in row order, rows 2..7 of the facts sheet.
FACT_ROWS = (
    ("meals_served", "供餐餐次", "本月供餐的餐次数"),
    ("menu_compliant_days", "菜谱合规天数", "符合两荤两素一汤的天数"),
    ("serving_days", "供餐天数", "本月供餐天数"),
    ("leader_accompanied_meals", "领导陪餐餐次", "有校领导陪餐记录的餐次"),
    ("sampled_meals", "留样餐次", "按规定留样的餐次"),
    ("food_waste_kg", "餐厨垃圾(千克)", "最多1位小数"),
)
HAZARD_HEADERS = ("隐患名称", "位置", "等级", "责任人", "发现日期", "整改期限", "描述")
INCIDENT_HEADERS = ("类型", "发生时间", "严重程度", "学校有责任", "描述")
STAFF_FIXED_HEADERS = ("姓名", "岗位")
# The last column of 人员考核: the person's id in the system, written by the template and read back to
# tell apart staff who share a name (names repeat in real schools). Locked on the pre-filled rows.
STAFF_ID_HEADER = "人员编号(勿改)"
# Rater groups the workbook carries, in column order. Peer ratings name the rating colleague, so
# they are entered in the system, not in the workbook.
STAFF_GROUPS = (("assessment", "考核小组"), ("satisfaction", "师生满意度"), ("self", "自评"))

YES, NO = "是", "否"


def zh_labels(labels: dict[Any, tuple[str, str]]) -> list[str]:
    return [zh for zh, _en in labels.values()]


def reverse_labels(labels: dict[Any, tuple[str, str]]) -> dict[str, Any]:
    """Both labels and the raw value map to the enum member (a workbook may come back in English)."""
    out: dict[str, Any] = {}
    for value, (zh, en) in labels.items():
        out[zh] = value
        out[en.lower()] = value
        out[str(getattr(value, "value", value)).lower()] = value
    return out


RESULTS = reverse_labels(ITEM_OUTCOME_LABELS)
RESULT_CHOICES = [ITEM_OUTCOME_LABELS[o][0] for o in (ItemOutcome.PASS, ItemOutcome.FAIL, ItemOutcome.NA)]
ROLES = reverse_labels(STAFF_ROLE_LABELS)
ROLE_CHOICES = [STAFF_ROLE_LABELS[r][0] for r in StaffRole]
HAZARD_SEVERITIES = reverse_labels(HAZARD_SEVERITY_LABELS)
HAZARD_SEVERITY_CHOICES = [HAZARD_SEVERITY_LABELS[s][0] for s in HazardSeverity]
INCIDENT_TYPES = reverse_labels(INCIDENT_TYPE_LABELS)
INCIDENT_TYPE_CHOICES = [INCIDENT_TYPE_LABELS[t][0] for t in IncidentType]
INCIDENT_SEVERITIES = reverse_labels(INCIDENT_SEVERITY_LABELS)
INCIDENT_SEVERITY_CHOICES = [INCIDENT_SEVERITY_LABELS[s][0] for s in IncidentSeverity]


def staff_headers(sections: list[Any], *, with_id: bool = True) -> list[str]:
    """姓名, 岗位, then one column per (rater group, dimension) of the pinned staff rubric version, then
    (``with_id``, the current template) 人员编号. The id comes last so that every other column keeps the
    place it had in version 1 of the template."""
    headers = list(STAFF_FIXED_HEADERS)
    for _group, group_label in STAFF_GROUPS:
        for section in sections:
            headers.append(f"{group_label}-{section.name}({format(section.max_points.normalize(), 'f')})")
    if with_id:
        headers.append(STAFF_ID_HEADER)
    return headers


def col(index: int) -> str:
    """Column letter of a 1-based index."""
    return get_column_letter(index)


def neutralise(value: Any) -> Any:
    """A string that a spreadsheet would run as a formula gets a leading apostrophe (CSV/formula
    injection): the cell stays text when the file is opened."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
