"""The monthly data-collection workbook of one school and month (``build_template``).

Sheets (all headers Chinese, row 1 locked, panes frozen under it):

- 说明: the bureau, school, month and the rubric versions the workbook was made for, and how to fill it.
- _meta (hidden): machine-readable ``key | value`` rows - template version, school code, period code,
  the rubric version ids; the upload recognises its own template (and the right school and month) by it.
- 食堂自查 / 安全检查: one row per (inspection 序号, rubric item). The month's self-inspections come
  first, one block each, filled in; then empty blocks (at least one, four in all when there are fewer)
  with every item that is entered (computed items are not). A block whose cells are all empty is
  ignored, so a school fills more inspections in the empty blocks, or copies a block with a new 序号.
  检查日期 and 检查人 are given on (at least) the first row of a block.
- 食堂月度数据: the canteen's facts in column B, filled in when entered; marked 不适用 without inputs for a
  school with no canteen.
- 人员考核: the school's active staff (姓名/岗位) with one column per dimension for the assessment group
  (required for an evaluated person), and optional 师生满意度 and 自评 columns, filled in with the
  month's evaluations as :mod:`service.excel.month` reads them, and last each person's 人员编号 (their
  id, locked): names repeat in real schools, so the upload matches rows by it. A row whose score cells
  are all empty is not evaluated.
- 隐患整改 / 事故事件: the month's hazards and incidents, then free rows for new ones, one per row.

The template is pre-filled with what the month already holds (:mod:`service.excel.month`), so a school
downloads it, changes a cell and uploads it; text from the database is written formula-safe
(:func:`service.excel.common.neutralise`), as in the exports.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from service.db import db
from service.excel import common as c
from service.excel import month as month_data
from service.hazards.models import HAZARD_SEVERITY_LABELS, Hazard
from service.incidents.models import INCIDENT_SEVERITY_LABELS, INCIDENT_TYPE_LABELS, Incident
from service.inspections.models import ITEM_OUTCOME_LABELS, CanteenMonthlyFacts, Inspection, InspectionKind
from service.org.models import Bureau, CanteenMode, School
from service.reports.models import MonthlyReport
from service.rubrics import operations as rubrics
from service.rubrics.models import ItemKind, RubricKind, RubricVersion
from service.staff.models import STAFF_ROLE_LABELS

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_FONT = Font(bold=True)
EDITABLE_ROWS = 300  # rows below the header left unlocked for input on the free-form sheets
UNLOCKED = Protection(locked=False)
LOCKED_FILL = PatternFill("solid", fgColor="EDEDED")  # cells written by the system, not for input


def _list_validation(ws: Worksheet, choices: list[str], ref: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
    dv.error = "请从下拉列表中选择"
    dv.errorTitle = "输入无效"
    dv.showErrorMessage = True
    ws.add_data_validation(dv)
    dv.add(ref)


def _sheet(wb: Workbook, title: str, headers: list[str] | tuple[str, ...], widths: list[int]) -> Worksheet:
    """A data sheet: locked bold header row, frozen panes, column widths; the rest is for input."""
    ws = wb.create_sheet(title)
    ws.append(list(headers))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[c.col(i)].width = width
        cell = ws.cell(row=1, column=i)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    # Sheet protection locks every cell by default; input cells are unlocked one by one. No password:
    # it guards against slips, not people. Rows may be inserted (to copy an inspection block).
    ws.protection.sheet = True
    ws.protection.insertRows = False
    ws.protection.deleteRows = False
    ws.protection.formatColumns = False
    return ws


def _unlock(ws: Worksheet, rows: range, columns: range) -> None:
    for r in rows:
        for col in columns:
            ws.cell(row=r, column=col).protection = UNLOCKED


def _versions() -> dict[RubricKind, RubricVersion | None]:
    return {kind: rubrics.current_version(kind) for kind in RubricKind}


def build_template(report: MonthlyReport) -> bytes:
    """The workbook for ``report``'s school and month, for the rubric versions published now,
    pre-filled with what the month already holds."""
    month = month_data.load(report)
    school = month.school
    bureau = db.session.scalars(select(Bureau).order_by(Bureau.id).limit(1)).one_or_none()
    period = report.period
    versions = _versions()
    has_canteen = school.canteen_mode is not CanteenMode.NONE

    wb = Workbook()
    info = wb.active
    info.title = c.SHEET_INFO
    _info_sheet(info, bureau, school, period.code, versions, has_canteen)

    meta = wb.create_sheet(c.SHEET_META)
    for key, value in (
        ("template_version", c.TEMPLATE_VERSION),
        ("school_code", school.code),
        ("period", period.code),
        *(
            (f"rubric_{kind.value}", versions[kind].id if versions[kind] is not None else "")
            for kind in RubricKind
        ),
    ):
        meta.append([key, value])
    meta.sheet_state = "hidden"
    meta.protection.sheet = True

    for kind, title in c.INSPECTION_SHEETS.items():
        version = versions[kind.rubric_kind]
        applies = has_canteen or kind is not InspectionKind.CANTEEN
        _inspection_sheet(wb, title, version if applies else None, month.inspections[kind])
    _facts_sheet(wb, has_canteen, month.facts)
    _staff_sheet(wb, month, versions[RubricKind.STAFF])
    _hazard_sheet(wb, month.hazards)
    _incident_sheet(wb, month.incidents)

    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _info_sheet(
    ws: Worksheet,
    bureau: Bureau | None,
    school: School,
    period_code: str,
    versions: dict[RubricKind, RubricVersion | None],
    has_canteen: bool,
) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 80
    ws.append([(bureau.name if bureau else "教育局") + " 学校后勤月度数据填报表"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    rows: list[tuple[str, Any]] = [
        ("学校代码", school.code),
        ("学校名称", school.name),
        ("填报月份", period_code),
    ]
    for kind in RubricKind:
        version = versions[kind]
        name = version.rubric.name if version is not None else kind.value
        rows.append((f"{name}版本", f"第{version.version}版" if version is not None else "未发布"))
    rows.append(("食堂", "有" if has_canteen else "无食堂（食堂相关工作表不适用）"))
    for row in rows:
        ws.append(list(row))
    ws.append([])
    notes = [
        "填写说明：",
        "1. 请勿修改表头、工作表名称和隐藏工作表；不要合并单元格，不要输入公式（以“=”开头）。",
        "2. 食堂自查/安全检查：每个“序号”为一次检查，已预置4次；不需要的检查整块留空即可。"
        "如需更多次，复制一整块并使用新的序号。每次检查在第一行填写检查日期和检查人，"
        "结果从下拉列表选择（合格/不合格/不适用），“次数”只用于不合格项（留空按1次计）。",
        "3. 食堂月度数据：在“数值”列填写整数（餐厨垃圾最多1位小数）。",
        "4. 人员考核：已列出本校在岗后勤人员；考核小组各维度必须填写，师生满意度和自评可选。"
        "整行留空表示本月暂不考核。同事互评请在系统中录入。最后一列“人员编号”由系统填写，"
        "用于区分同名人员，请勿修改；在表末新增的行可不填编号，按姓名识别（同名人员须使用已列出的行）。",
        "5. 隐患整改、事故事件：每行一条本月新发现的隐患或发生的事故。"
        "事故须在发生后2小时内通过系统上报，本表仅用于补录，补录时间即为上报时间。",
        "6. 本表下载时已填入系统中本月已录入的数据，可直接修改后上传。上传后系统先检查并列出将替换、"
        "新增或删除的记录，确认后才写入：有检查记录的工作表替换本月同类自查；填写了分数的人员替换其考核"
        "（同事互评保留）；食堂月度数据填写后替换。隐患按名称、位置和发现日期，事故按类型和发生时间识别："
        "已有的记录更新其他列，其余为新增；表中删去的隐患和事故不会从系统删除。",
    ]
    for note in notes:
        ws.append([note])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=False)
    ws.protection.sheet = True


def _inspection_sheet(
    wb: Workbook, title: str, version: RubricVersion | None, existing: list[Inspection]
) -> None:
    ws = _sheet(wb, title, c.INSPECTION_HEADERS, [6, 13, 12, 10, 60, 10, 8, 30])
    if version is None:
        ws.append(["不适用", "", "", "", "本校无食堂，本表不适用。"])
        return
    items = [item for item in version.all_items() if not item.computed]
    blocks = max(c.TEMPLATE_BLOCKS, len(existing) + 1)
    row = 2
    for n in range(1, blocks + 1):
        inspection = existing[n - 1] if n <= len(existing) else None
        # By item code: an inspection scored with an older version shows what the codes still share.
        results = {r.item.code: r for r in inspection.results} if inspection is not None else {}
        for i, item in enumerate(items):
            mark = {ItemKind.KEY: "※ ", ItemKind.VETO: "【否决】"}.get(item.kind, "")
            day = who = outcome = occurrences = note = None
            if inspection is not None and i == 0:
                day, who = inspection.inspected_on, c.neutralise(inspection.inspector_name)
            found = results.get(item.code)
            if found is not None:
                outcome = ITEM_OUTCOME_LABELS[found.result][0]
                occurrences = found.occurrences or None
                note = c.neutralise(found.note) or None
            ws.append([n, day, who, item.code, mark + item.text, outcome, occurrences, note])
            ws.cell(row=row, column=2).number_format = "yyyy-mm-dd"
            row += 1
    last = max(row - 1, 2)
    _unlock(ws, range(2, last + 1), range(1, 9))
    _unlock(ws, range(last + 1, last + 1 + EDITABLE_ROWS), range(1, 9))
    _list_validation(ws, c.RESULT_CHOICES, f"F2:F{last + EDITABLE_ROWS}")
    occ = DataValidation(type="whole", operator="between", formula1="0", formula2="1000", allow_blank=True)
    ws.add_data_validation(occ)
    occ.add(f"G2:G{last + EDITABLE_ROWS}")


def _number(value: Decimal) -> int | float:
    """A stored decimal as a spreadsheet number (an integer when it is whole)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _facts_sheet(wb: Workbook, has_canteen: bool, facts: CanteenMonthlyFacts | None) -> None:
    ws = _sheet(wb, c.SHEET_FACTS, c.FACTS_HEADERS, [20, 14, 30])
    for field, label, hint in c.FACT_ROWS:
        value: Any = None if has_canteen else "不适用"
        if has_canteen and facts is not None:
            value = _number(Decimal(getattr(facts, field)))
        ws.append([label, value, hint])
    if has_canteen:
        _unlock(ws, range(2, 2 + len(c.FACT_ROWS)), range(2, 3))


def _staff_sheet(wb: Workbook, month: month_data.MonthData, version: RubricVersion | None) -> None:
    """One row per active staff member; the last column is the person's 人员编号 (their id), which the
    upload matches rows by, so two people with the same name and 岗位 each keep their own ratings. It
    is locked and shaded on the listed rows; a row added below may leave it empty (matched by name)."""
    sections = list(version.sections) if version is not None else []
    headers = c.staff_headers(sections)
    id_column = len(headers)
    ws = _sheet(wb, c.SHEET_STAFF, headers, [12, 14] + [11] * (len(headers) - 3) + [16])
    for member in month.roster:
        row: list[Any] = [c.neutralise(member.name), STAFF_ROLE_LABELS[member.role][0]]
        evaluation = month.evaluations.get(member.id)
        groups = month_data.group_scores(evaluation) if evaluation is not None else {}
        for group in month_data.WORKBOOK_GROUPS:
            scores = groups.get(group, {})
            row += [_number(scores[s.code]) if s.code in scores else None for s in sections]
        row.append(member.id)
        ws.append(row)
        ws.cell(row=ws.max_row, column=id_column).fill = LOCKED_FILL
    listed = 1 + len(month.roster)
    last = listed + EDITABLE_ROWS
    _unlock(ws, range(2, listed + 1), range(1, id_column))  # the listed ids stay locked
    _unlock(ws, range(listed + 1, last + 1), range(1, id_column + 1))
    _list_validation(ws, c.ROLE_CHOICES, f"B2:B{last}")
    for i, section in enumerate(sections * len(c.STAFF_GROUPS)):
        column = c.col(3 + i)
        dv = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=format(section.max_points.normalize(), "f"),
            allow_blank=True,
        )
        ws.add_data_validation(dv)
        dv.add(f"{column}2:{column}{last}")


def _hazard_sheet(wb: Workbook, hazards: list[Hazard]) -> None:
    ws = _sheet(wb, c.SHEET_HAZARDS, c.HAZARD_HEADERS, [24, 20, 10, 12, 13, 13, 40])
    for h in hazards:
        ws.append(
            [c.neutralise(h.title), c.neutralise(h.location), HAZARD_SEVERITY_LABELS[h.severity][0],
             c.neutralise(h.responsible_person), h.found_on, h.deadline, c.neutralise(h.description) or None]
        )  # fmt: skip
    last = 1 + len(hazards) + EDITABLE_ROWS
    _unlock(ws, range(2, last + 1), range(1, len(c.HAZARD_HEADERS) + 1))
    _list_validation(ws, c.HAZARD_SEVERITY_CHOICES, f"C2:C{last}")
    for column in ("E", "F"):
        for r in range(2, last + 1):
            ws[f"{column}{r}"].number_format = "yyyy-mm-dd"


def _incident_sheet(wb: Workbook, incidents: list[Incident]) -> None:
    ws = _sheet(wb, c.SHEET_INCIDENTS, c.INCIDENT_HEADERS, [12, 18, 14, 12, 50])
    for i in incidents:
        ws.append(
            [INCIDENT_TYPE_LABELS[i.type][0], month_data.local_naive(i.occurred_at),
             INCIDENT_SEVERITY_LABELS[i.severity][0], c.YES if i.school_at_fault else c.NO,
             c.neutralise(i.description) or None]
        )  # fmt: skip
    last = 1 + len(incidents) + EDITABLE_ROWS
    _unlock(ws, range(2, last + 1), range(1, len(c.INCIDENT_HEADERS) + 1))
    _list_validation(ws, c.INCIDENT_TYPE_CHOICES, f"A2:A{last}")
    _list_validation(ws, c.INCIDENT_SEVERITY_CHOICES, f"C2:C{last}")
    _list_validation(ws, [c.YES, c.NO], f"D2:D{last}")
    for r in range(2, last + 1):
        ws[f"B{r}"].number_format = "yyyy-mm-dd hh:mm"
