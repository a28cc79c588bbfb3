"""Hostile workbooks (issue 14): a workbook cannot hold a worker, and every refusal is a clear 422.

- rows per sheet are capped (a template-shaped workbook of 200,000 rows, made here with openpyxl's
  write-only mode, is refused at the cap with the sheet's name - and so is a sheet that merely
  declares that many rows, or that has few enough rows at a lower cap); problems per answer are
  capped (1,000 rows of 5 problems: the first 200 are answered); zip parts that unpack too large are
  refused; a sheet with damaged XML is refused with its name;
- a template with nothing filled in (only the instructions sheet changed) is refused: "no data";
- a text whose first character after white space is ``=`` is refused as a formula, like ``=...``;
  other leading white space is stripped, as for every text.
"""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests import test_excel
from tests.conftest import District
from tests.test_excel import _counts, _fill, _save, _template, _upload

pytestmark = pytest.mark.postgres

ROWS = 200_000
month = test_excel.month  # the fixture: last month, open; A's and B's draft reports


def _write_only_copy(template: bytes, extra_rows: int) -> bytes:
    """The template's sheets and values, re-written in write-only mode (rows streamed to the file,
    never held), with ``extra_rows`` hazard rows - one filled cell each, as in the reported upload."""
    source = load_workbook(BytesIO(template))
    out = Workbook(write_only=True)
    for ws in source.worksheets:
        copy = out.create_sheet(ws.title)
        copy.sheet_state = ws.sheet_state
        for row in ws.iter_rows(values_only=True):
            copy.append(row)
        if ws.title == "隐患整改":
            for n in range(extra_rows):
                copy.append((f"隐患{n}",))
    buf = BytesIO()
    out.save(buf)
    return buf.getvalue()


def test_200000_rows_are_refused_at_the_row_cap(app: Any, district: District, month: dict, pg: Any) -> None:
    """The reported upload: 200,000 hazard rows with a title only (5 problems each, a million in all).
    Refused at the row cap with the sheet and the limit, before openpyxl parses the sheet."""
    client = app.test_client()
    template = _template(client, district, month["report_a"])
    data = _write_only_copy(template, ROWS)
    assert len(data) < 5 * 1024 * 1024  # inside the upload limit: the caps below are what stop it
    with zipfile.ZipFile(BytesIO(data)) as archive:  # write-only mode declares no dimension
        assert b"<dimension" not in archive.read("xl/worksheets/sheet7.xml")[:2000]
    before = _counts(app, pg)
    resp = _upload(client, district, month["report_a"], data)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    errors = resp.get_json()["errors"]
    assert errors["cells"] == [] and len(errors["file"]) == 1
    assert "隐患整改" in errors["file"][0] and "more than 5000 rows" in errors["file"][0]
    assert len(resp.data) < 2000  # one message, not 129 MB of JSON
    resp = client.post(  # Chinese by default
        f"/api/v1/reports/{month['report_a']}/upload",
        data={"file": (BytesIO(data), "月报.xlsx")},
        headers=district.headers("admin_a"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    message = resp.get_json()["errors"]["file"][0]
    assert "隐患整改" in message and "5000" in message and "行" in message
    assert _counts(app, pg) == before


def test_a_sheet_declaring_more_rows_than_the_cap_is_refused_before_it_is_read(
    app: Any, district: District, month: dict, pg: Any, monkeypatch: Any
) -> None:
    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    wb["事故事件"].cell(row=ROWS + 1, column=1, value="x")  # <dimension ref="A1:E200001"/>
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 422
    assert "事故事件" in resp.get_json()["errors"]["file"][0]
    # the cap is a setting; at a lower cap an ordinary filled workbook is refused the same way
    monkeypatch.setitem(app.config, "EXCEL_MAX_ROWS", 5)
    data = _save(_fill(_template(client, district, month["report_a"]), month["first"]))
    resp = _upload(client, district, month["report_a"], data)
    assert resp.status_code == 422
    assert "more than 5 rows" in resp.get_json()["errors"]["file"][0]


def test_problems_per_answer_are_capped(app: Any, district: District, month: dict, pg: Any) -> None:
    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    ws = wb["隐患整改"]
    for row in range(2, 1002):  # 1,000 hazards with only a title: 5 problems each
        ws.cell(row=row, column=1, value=f"隐患{row}")
    before = _counts(app, pg)
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert len(errors["cells"]) == 200
    assert errors["cells"][0] == {
        "sheet": "隐患整改",
        "row": 2,
        "column": "B",
        "message": "This cell is required.",
    }
    assert any("stopped after 200 problems" in m for m in errors["file"])
    assert _counts(app, pg) == before


def _rewrite(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """The zip with some parts replaced (or added); ``None`` keeps a part as it is."""
    buf = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, change.pop(item.filename, None) or src.read(item.filename))
        for name, content in change.items():
            dst.writestr(name, content or b"")
    return buf.getvalue()


def test_parts_that_unpack_too_large_are_refused(app: Any, district: District, month: dict, pg: Any) -> None:
    client = app.test_client()
    data = _save(_fill(_template(client, district, month["report_a"]), month["first"]))
    # 40 MB of zeros in one part (about 40 KB zipped); shared strings (read whole by openpyxl, so
    # capped tighter) of 9 MB
    bomb = _rewrite(data, {"xl/media/zeros.bin": b"\0" * (40 * 1024 * 1024)})
    padded = _rewrite(data, {"xl/sharedStrings.xml": b"<sst>" + b" " * (9 * 1024 * 1024) + b"</sst>"})
    for upload in (bomb, padded):
        assert len(upload) < 1024 * 1024
        resp = _upload(client, district, month["report_a"], upload)
        assert resp.status_code == 422
        assert "too large when unpacked" in resp.get_json()["errors"]["file"][0]


@pytest.mark.parametrize(
    "damage",
    [
        b'<row r="900"><c r="A900" t="inlineStr"><is><t>x</t></is></row>',  # tags not closed in order
        b'<row r="900"><c r="A900" t="inlineStr"><is><t>&#0;</t></is></c></row>',  # NUL: not XML
        b'<row r="900"><c r="A900" t="inlineStr"><is><t>&#xD800;</t></is></c></row>',  # a surrogate
        b'<row r="900"><c r="A900" t="s"><v>999999</v></c></row>',  # no such shared string
    ],
)
def test_a_sheet_with_damaged_xml_is_a_422_naming_it(
    app: Any, district: District, month: dict, pg: Any, damage: bytes
) -> None:
    client = app.test_client()
    data = _save(_fill(_template(client, district, month["report_a"]), month["first"]))
    with zipfile.ZipFile(BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet7.xml")  # 隐患整改, the seventh sheet
    assert b"</sheetData>" in sheet
    broken = _rewrite(
        data, {"xl/worksheets/sheet7.xml": sheet.replace(b"</sheetData>", damage + b"</sheetData>")}
    )
    before = _counts(app, pg)
    resp = _upload(client, district, month["report_a"], broken)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    errors = resp.get_json()["errors"]
    assert errors["file"] and "隐患整改" in errors["file"][0] and "damaged" in errors["file"][0], errors
    assert _counts(app, pg) == before


# --- a workbook with nothing filled in; white space before = + - @ ------------------------------------


def test_a_template_with_nothing_filled_in_is_refused(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    from tests.conftest import login

    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    wb["说明"]["A1"] = "我们改了说明页"
    data = _save(wb)
    before = _counts(app, pg)
    for dry_run in ("", "?dry_run=true"):
        resp = client.post(
            f"/api/v1/reports/{month['report_a']}/upload{dry_run}",
            data={"file": (BytesIO(data), "月报.xlsx")},
            headers=district.headers("admin_a"),
            content_type="multipart/form-data",
        )
        assert resp.status_code == 422, resp.get_json()
        message = resp.get_json()["errors"]["file"][0]
        assert "没有" in message and "隐患整改" in message, message  # Chinese by default
    resp = _upload(client, district, month["report_a"], data)
    assert "holds no data" in resp.get_json()["errors"]["file"][0]
    # the page says the same, with 422
    web = app.test_client()
    login(web, "admin_a")
    page = web.post(
        f"/reports/{month['report_a']}/excel/upload",
        data={"file": (BytesIO(data), "月报.xlsx")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    assert _counts(app, pg) == before


def test_white_space_before_a_formula(app: Any, district: District, month: dict, pg: Any) -> None:
    client = app.test_client()
    template = _template(client, district, month["report_a"])
    wb = _fill(template, month["first"])
    wb["食堂自查"]["H3"] = " =1+1"
    wb["安全检查"]["H3"] = '\t=HYPERLINK("http://evil","x")'
    wb["隐患整改"]["G2"] = "\u3000=cmd|' /C calc'!A0"  # an ideographic space is white space too
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 422
    cells = {(e["sheet"], e["row"], e["column"]): e["message"] for e in resp.get_json()["errors"]["cells"]}
    for where in (("食堂自查", 3, "H"), ("安全检查", 3, "H"), ("隐患整改", 2, "G")):
        assert "Formula" in cells.get(where, ""), (where, cells)
    # + - @ after white space: the text, stripped as every text is (the exports neutralise it)
    wb = _fill(template, month["first"])
    wb["隐患整改"]["G2"] = "  +86 138 0000 0000"
    wb["事故事件"]["E2"] = "\t-"
    wb["隐患整改"]["D2"] = " @李电工"
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 200, resp.get_json()
    h = district.headers("admin_a")
    hazard = client.get(f"/api/v1/hazards?period_id={month['period']['id']}", headers=h).get_json()[0]
    assert (hazard["description"], hazard["responsible_person"]) == ("+86 138 0000 0000", "@李电工")
    incident = client.get(f"/api/v1/incidents?period_id={month['period']['id']}", headers=h).get_json()[0]
    assert incident["description"] == "-"
    export = load_workbook(
        BytesIO(client.get(f"/api/v1/reports/{month['report_a']}/export.xlsx", headers=h).data)
    )
    row = next(export["隐患整改"].iter_rows(min_row=2, values_only=True))
    assert "'+86 138 0000 0000" in row and "'@李电工" in row
    assert not any(isinstance(v, str) and re.match(r"\s*[=+\-@]", v) for v in row)
