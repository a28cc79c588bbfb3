"""Staff who share a name in the monthly workbook: the template carries each person's 人员编号.

Real schools have two 王芳 who both clean. The 人员考核 sheet used to identify people by 姓名 (and
岗位), so the product's own pre-filled template was refused ("Several staff members are called …")
for such a school every month. The sheet now ends with each person's id, the upload matches rows by
it, and a name is only used where no number is given (a row added by hand, a workbook of template
version 1) - and must then be unambiguous.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from service.excel.common import STAFF_ID_HEADER
from tests.conftest import District
from tests.test_excel import _counts, _save, _template, _upload, month  # noqa: F401 - the fixture

pytestmark = pytest.mark.postgres

API = "/api/v1"
ID_COLUMN = 18  # 姓名, 岗位, 3 rater groups × 5 dimensions, then 人员编号: column R
ASSESSMENT = range(3, 8)


def _two_wang(client: Any, district: District) -> list[int]:
    """Two active cleaners called 王芳, hired the same day."""
    ids = []
    for _ in range(2):
        resp = client.post(
            f"{API}/staff",
            json={"name": "王芳", "role": "cleaner", "contract_type": "contract", "hire_date": "2023-09-01"},
            headers=district.headers("admin_a"),
        )
        assert resp.status_code == 201, resp.get_json()
        ids.append(resp.get_json()["id"])
    return ids


def _rate(ws: Any, row: int, scores: tuple[Any, ...]) -> None:
    for column, value in zip(ASSESSMENT, scores, strict=True):
        ws.cell(row=row, column=column, value=value)


def _cells(resp: Any) -> list[tuple[str, int, str, str]]:
    assert resp.status_code == 422, resp.get_json()
    return [(e["sheet"], e["row"], e["column"], e["message"]) for e in resp.get_json()["errors"]["cells"]]


def test_two_people_with_the_same_name_and_role_each_get_their_own_ratings(
    app: Any,
    district: District,
    month: dict,  # noqa: F811 - the fixture imported from test_excel
) -> None:
    client = app.test_client()
    wang = _two_wang(client, district)
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    ws = wb["人员考核"]
    assert ws.cell(row=1, column=ID_COLUMN).value == STAFF_ID_HEADER == "人员编号(勿改)"
    listed = [(ws.cell(row=r, column=1).value, ws.cell(row=r, column=ID_COLUMN).value) for r in (2, 3, 4)]
    assert listed == [("张甲厨", district.staff_a.id), ("王芳", wang[0]), ("王芳", wang[1])]
    # The listed numbers are locked (the sheet is protected); names, scores and new rows are not.
    assert ws.protection.sheet and ws.cell(row=3, column=ID_COLUMN).protection.locked
    assert not ws.cell(row=3, column=3).protection.locked
    assert not ws.cell(row=5, column=ID_COLUMN).protection.locked
    _rate(ws, 2, (9, 18, 13.5, 40, 9))
    _rate(ws, 3, (8, 16, 12, 36, 8))
    _rate(ws, 4, (5, 10, 8, 25, 6))
    data = _save(wb)

    resp = _upload(client, district, month["report_a"], data)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["saved"]["evaluations"]["added"] == 3
    evaluations = client.get(
        f"{API}/evaluations?period_id={month['period']['id']}", headers=district.headers("admin_a")
    ).get_json()
    scores = {e["staff_id"]: Decimal(e["score"]) for e in evaluations}
    assert scores == {district.staff_a.id: Decimal("89.5"), wang[0]: Decimal(80), wang[1]: Decimal(54)}

    # The next template lists each 王芳 with her own scores, and uploading it unchanged changes nothing.
    again = load_workbook(BytesIO(_template(client, district, month["report_a"])))["人员考核"]
    by_id = {row[ID_COLUMN - 1]: row[2:7] for row in again.iter_rows(min_row=2, max_row=4, values_only=True)}
    assert by_id[wang[0]] == (8, 16, 12, 36, 8) and by_id[wang[1]] == (5, 10, 8, 25, 6)
    resp = _upload(client, district, month["report_a"], _template(client, district, month["report_a"]))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["saved"]["evaluations"]["unchanged"] == 3


def test_numbers_that_are_not_this_schools_staff_are_refused_and_reveal_nothing(
    app: Any,
    district: District,
    month: dict,  # noqa: F811 - the fixture imported from test_excel
    pg: Any,
) -> None:
    client = app.test_client()
    wang = _two_wang(client, district)
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    ws = wb["人员考核"]
    for row in (2, 3, 4):
        _rate(ws, row, (9, 18, 13.5, 40, 9))
    ws.cell(row=2, column=ID_COLUMN, value=district.staff_b.id)  # school B's cook, 李乙厨
    ws.cell(row=3, column=ID_COLUMN, value=999999)  # nobody's
    ws.cell(row=4, column=1, value="张甲厨")  # 王芳's number under another name
    ws.cell(row=5, column=1, value="王芳")  # a row added by hand: which 王芳?
    ws.cell(row=5, column=2, value="保洁员")
    _rate(ws, 5, (9, 18, 13.5, 40, 9))
    before = _counts(app, pg)
    resp = _upload(client, district, month["report_a"], _save(wb))
    cells = _cells(resp)
    assert [(sheet, row, column) for sheet, row, column, _m in cells] == [
        ("人员考核", 2, "R"),
        ("人员考核", 3, "R"),
        ("人员考核", 4, "A"),
        ("人员考核", 5, "A"),
    ]
    other, unknown, mismatch, ambiguous = (message for *_where, message in cells)
    assert other == unknown.replace("999999", str(district.staff_b.id))  # the same words for both
    assert "not the 人员编号 of an active staff member of this school" in unknown
    assert "李乙厨" not in resp.get_data(as_text=True) and "乙小学" not in resp.get_data(as_text=True)
    assert f"人员编号 {wang[1]} belongs to 王芳, not to 张甲厨" in mismatch
    assert "Several staff members are called 王芳" in ambiguous and "人员编号" in ambiguous
    assert _counts(app, pg) == before

    zh = client.post(
        f"{API}/reports/{month['report_a']}/upload",
        data={"file": (BytesIO(_save(wb)), "月报.xlsx")},
        headers=district.headers("admin_a"),
        content_type="multipart/form-data",
    )
    messages = [m for *_where, m in _cells(zh)]
    assert "不是本校在岗人员的人员编号" in messages[1] and "人员编号" in messages[3]


def _version_1(data: bytes) -> Any:
    """The same workbook as template version 1 made it: no 人员编号 column."""
    wb = load_workbook(BytesIO(data))
    meta = wb["_meta"]
    for row in meta.iter_rows():
        if row[0].value == "template_version":
            row[1].value = "houqin-monthly-1"
    wb["人员考核"].delete_cols(ID_COLUMN)
    return wb


def test_a_workbook_without_numbers_is_read_by_unique_names(
    app: Any,
    district: District,
    month: dict,  # noqa: F811 - the fixture imported from test_excel
    pg: Any,
) -> None:
    client = app.test_client()
    _two_wang(client, district)
    wb = _version_1(_template(client, district, month["report_a"]))
    ws = wb["人员考核"]
    _rate(ws, 3, (9, 18, 13.5, 40, 9))  # a 王芳: ambiguous without her number
    before = _counts(app, pg)
    cells = _cells(_upload(client, district, month["report_a"], _save(wb)))
    assert [(s, r, c) for s, r, c, _m in cells] == [("人员考核", 3, "A")]
    assert (
        "Several staff members are called 王芳" in cells[0][3]
        and "download the template again" in cells[0][3]
    )
    assert _counts(app, pg) == before

    wb = _version_1(_template(client, district, month["report_a"]))
    _rate(wb["人员考核"], 2, (9, 18, 13.5, 40, 9))  # 张甲厨: the only one of that name
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["saved"]["evaluations"]["added"] == 1
