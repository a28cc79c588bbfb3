"""The published list (表彰名单) as an xlsx workbook: the approved awards only, numbered.

Built from the candidates the caller may see (the tenant scope decides: the bureau gets the whole
district, a school its own awards). Every text cell goes through the Excel area's formula
neutralisation, since school and staff names are typed by people.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from service.commendations.models import CommendationCandidate, CommendationRound
from service.commendations.proposal import ONE, TWO, rounded
from service.core.timeutil import local
from service.excel.common import col, neutralise
from service.incidents.vetoes import COMMENDATION_LABELS
from service.rankings.calendar import parse_target
from service.staff.models import STAFF_ROLE_LABELS

HEADERS = ("序号", "证书编号", "表彰类别", "学校", "片区", "姓名", "岗位", "得分", "审定意见")
WIDTHS = (6, 24, 16, 22, 12, 12, 12, 10, 30)
HEADER_FILL = PatternFill("solid", fgColor="F8E1DF")


def published_workbook(row: CommendationRound, awards: Sequence[CommendationCandidate]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "表彰名单"
    label = parse_target(row.kind.value, row.key).label[0]
    published = local(row.published_at)
    ws.append([f"{label}后勤工作表彰名单"])
    ws.append([f"公布日期：{published:%Y-%m-%d}" if published else ""])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(HEADERS))
    for i, width in enumerate(WIDTHS, start=1):
        cell = ws.cell(row=3, column=i)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[col(i)].width = width
    ws.freeze_panes = "A4"
    for n, cand in enumerate(awards, start=1):
        staff = cand.staff
        ws.append(
            [
                neutralise(v)
                for v in (
                    n,
                    cand.certificate_no or "",
                    COMMENDATION_LABELS[cand.commendation][0],
                    cand.school.name,
                    cand.school.cluster.name if cand.school.cluster else "",
                    staff.name if staff else "",
                    STAFF_ROLE_LABELS[staff.role][0] if staff else "",
                    shown(cand),
                    cand.comment,
                )
            ]
        )
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def shown(cand: CommendationCandidate) -> Decimal | None:
    """The measure as shown: school means to 1 decimal (as the rules compared them), person means to 2
    (the rules compared the unrounded mean: formula 4 rounds a person score only for display)."""
    if cand.value is None:
        return None
    return rounded(Decimal(cand.value), TWO if cand.staff_id is not None else ONE)
