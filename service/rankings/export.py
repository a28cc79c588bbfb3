"""A ranking as an xlsx workbook: the rows the ranking page shows (same filters, sort and scope), with a
title naming the period, the date exported and the rules version - the sheet the bureau used to build
by hand for its monthly bulletin (通报).

Every string goes through :func:`service.excel.common.neutralise` (no cell of an export is ever a
formula); numbers are written as numbers with one decimal shown, so the sheet still sorts and sums.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from service.excel.common import col, neutralise

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
# (column title, entry key, width); numbers in the keys of NUMBERS are written as numbers.
COLUMNS = (
    ("排名", "rank_overall", 6),
    ("变化", "movement", 6),
    ("学校代码", "school_code", 10),
    ("学校名称", "school_name", 24),
    ("片区", "cluster_name", 12),
    ("同类组", "peer_group_label", 16),
    ("综合得分", "score", 10),
    ("等级", "band", 6),
    ("同类排名", "rank_peer", 8),
    ("片区排名", "rank_cluster", 8),
    ("食堂", "canteen_mean", 8),
    ("安全", "safety_mean", 8),
    ("人员", "staff_mean", 8),
    ("督查均分", "spot_mean", 8),
    ("状态", "status_label", 10),
    ("迟报月数", "late_months", 8),
    ("一票否决", "vetoed", 8),
    ("可信度预警", "credibility_flags", 10),
)
DECIMALS = frozenset({"score", "canteen_mean", "safety_mean", "staff_mean", "spot_mean"})


def _value(key: str, entry: dict[str, Any]) -> Any:
    value = entry.get(key)
    if value is None:
        return None
    if key in DECIMALS:
        return float(Decimal(str(value)))
    if key == "vetoed":
        return "是" if value else ""
    if key == "credibility_flags":
        return value or None
    return neutralise(value)


def ranking_workbook(
    header: dict[str, Any],
    entries: list[dict[str, Any]],
    *,
    printed_on: date,
    cluster: str | None = None,
    peer_group: str | None = None,
) -> bytes:
    """The workbook: a title row (period, filters), a line with the date and the rules version, then the
    table (frozen header, one row per entry in the order given)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "排名"
    filters = "，".join(f for f in (cluster, peer_group) if f)
    ws.append([neutralise(f"{header['label_zh']} 学校后勤综合排名" + (f"（{filters}）" if filters else ""))])
    ws.append(
        [
            neutralise(
                f"导出日期 {printed_on.isoformat()} · 评分规则第 {header['basis'].get('rules_version', '')} 版"
                f" · 计算月份 {'、'.join(header['periods'])}"
            )
        ]
    )
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([title for title, _key, _width in COLUMNS])
    for i, (_title, _key, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=3, column=i)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[col(i)].width = width
    for entry in entries:
        ws.append([_value(key, entry) for _title, key, _width in COLUMNS])
    for i, (_title, key, _width) in enumerate(COLUMNS, start=1):
        if key in DECIMALS:
            for row in range(4, ws.max_row + 1):
                ws.cell(row=row, column=i).number_format = "0.0"
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
