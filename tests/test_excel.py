"""Excel template, upload and exports (service/excel) on PostgreSQL.

The round trip fills the downloaded template with openpyxl as a school would, uploads it, and checks
that the API and the export show the same data; every malformed workbook is refused with a clear
message and writes nothing (the school's rows are counted before and after).
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.conftest import TODAY, District

pytestmark = pytest.mark.postgres


@pytest.fixture
def month(app: Any, district: District, pg: Any) -> dict:
    """Last month (Beijing time), open; A's draft report for it."""
    today = TODAY
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first.month == 8:  # August is not a reporting month
        first = first.replace(month=7)
    client = app.test_client()
    resp = client.post(
        "/api/v1/periods",
        json={"year": first.year, "month": first.month, "deadline": (today + timedelta(days=3)).isoformat()},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201, resp.get_json()
    period = resp.get_json()
    reports = {}
    for user in ("admin_a", "admin_b"):
        r = client.post("/api/v1/reports", json={"period_id": period["id"]}, headers=district.headers(user))
        assert r.status_code == 201
        reports[user] = r.get_json()["id"]
    return {"period": period, "first": first, "report_a": reports["admin_a"], "report_b": reports["admin_b"]}


def _template(client: Any, district: District, report_id: int, user: str = "admin_a") -> bytes:
    resp = client.get(f"/api/v1/reports/{report_id}/template.xlsx", headers=district.headers(user))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.data


def _upload(client: Any, district: District, report_id: int, data: bytes, name: str = "月报.xlsx") -> Any:
    return client.post(
        f"/api/v1/reports/{report_id}/upload",
        data={"file": (BytesIO(data), name)},
        headers={**district.headers("admin_a"), "Accept-Language": "en"},
        content_type="multipart/form-data",
    )


def _save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _fill(data: bytes, first: date, *, blocks: int = 1) -> Workbook:
    """Fill the template as a school would: inspections, facts, the cook's evaluation, a hazard, an incident."""
    wb = load_workbook(BytesIO(data))
    day = datetime(first.year, first.month, 3)
    for title in ("食堂自查", "安全检查"):
        ws = wb[title]
        for row in range(2, ws.max_row + 1):
            n = ws.cell(row=row, column=1).value
            if not isinstance(n, int) or n > blocks:
                continue
            if ws.cell(row=row, column=2).value is None and (
                row == 2 or ws.cell(row=row - 1, column=1).value != n
            ):
                ws.cell(row=row, column=2, value=day + timedelta(days=n))
                ws.cell(row=row, column=3, value="总务处王老师")
            ws.cell(row=row, column=6, value="合格")
        # the first block's second item fails twice
        ws.cell(row=3, column=6, value="不合格")
        ws.cell(row=3, column=7, value=2)
        ws.cell(
            row=3, column=8, value="=不是公式"
        )  # typed text, not a formula? no: a formula - replaced below
        ws.cell(row=3, column=8, value="记录缺失")
    facts = wb["食堂月度数据"]
    for row, value in zip(range(2, 8), (66, 20, 22, 60, 66, 120.5), strict=True):
        facts.cell(row=row, column=2, value=value)
    staff = wb["人员考核"]
    assert staff.cell(row=2, column=1).value  # the school's cook, pre-filled
    for col, value in zip(range(3, 8), (9, 18, 13.5, 40, 9), strict=True):  # assessment group
        staff.cell(row=2, column=col, value=value)
    for col, value in zip(range(13, 18), (10, 20, 15, 45, 10), strict=True):  # self rating
        staff.cell(row=2, column=col, value=value)
    hazard = ["灭火器过期", "食堂后厨", "一般", "李电工", day, day + timedelta(days=10), "两具灭火器过期"]
    for col, value in enumerate(hazard, start=1):
        wb["隐患整改"].cell(row=2, column=col, value=value)
    incident = ["人身伤害", day + timedelta(hours=10), "轻微", "否", "学生课间摔倒擦伤"]
    for col, value in enumerate(incident, start=1):
        wb["事故事件"].cell(row=2, column=col, value=value)
    return wb


COUNTED = ("inspections", "inspection_item_results", "canteen_monthly_facts", "evaluations", "evaluation_ratings",
           "hazards", "incidents")  # fmt: skip


def _counts(app: Any, pg: Any) -> dict[str, int]:
    from sqlalchemy import text

    with pg.admin_engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}


def test_template_layout(app: Any, district: District, month: dict) -> None:
    client = app.test_client()
    resp = client.get(
        f"/api/v1/reports/{month['report_a']}/template.xlsx", headers=district.headers("admin_a")
    )
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="houqin-SA-' in disposition and "filename*=UTF-8''" in disposition
    disposition.encode("ascii")  # the header itself is ASCII
    wb = load_workbook(BytesIO(resp.data))
    assert wb.sheetnames == [
        "说明",
        "_meta",
        "食堂自查",
        "安全检查",
        "食堂月度数据",
        "人员考核",
        "隐患整改",
        "事故事件",
    ]
    assert wb["_meta"].sheet_state == "hidden"
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(values_only=True)}
    assert meta["school_code"] == "SA" and meta["period"] == month["period"]["code"]
    ws = wb["食堂自查"]
    assert [c.value for c in ws[1]] == [
        "序号",
        "检查日期",
        "检查人",
        "条目编号",
        "检查内容",
        "结果",
        "次数",
        "备注",
    ]
    assert ws.freeze_panes == "A2" and ws.protection.sheet
    assert ws["A1"].protection.locked and not ws["F2"].protection.locked
    assert any(dv.formula1 == '"合格,不合格,不适用"' for dv in ws.data_validations.dataValidation)
    assert {c.value for c in ws["A"][1:]} >= {1, 2, 3, 4}
    staff = wb["人员考核"]
    assert staff["A2"].value == "张甲厨" and staff["B2"].value == "炊事员"
    assert staff["A3"].value is None  # only A's staff
    # bureau admin may download it; the official may not; a school without a canteen gets 不适用
    assert (
        client.get(
            f"/api/v1/reports/{month['report_a']}/template.xlsx", headers=district.headers("admin")
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/reports/{month['report_a']}/template.xlsx", headers=district.headers("official")
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/v1/reports/{month['report_b']}/template.xlsx", headers=district.headers("admin_a")
        ).status_code
        == 404
    )


def test_round_trip(app: Any, district: District, month: dict, pg: Any) -> None:
    client = app.test_client()
    wb = _fill(_template(client, district, month["report_a"]), month["first"], blocks=2)
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 200, resp.get_json()  # only additions: written without a confirmation
    saved = resp.get_json()["saved"]
    assert saved["canteen_inspections"]["added"] == 2 and saved["safety_inspections"]["added"] == 2
    assert saved["evaluations"]["added"] == 1 and saved["canteen_facts"]["added"] == 1
    assert saved["hazards"]["added"] == 1 and saved["incidents"]["added"] == 1
    assert not any(n["replaced"] or n["deleted"] for n in saved.values())
    assert "added 2 canteen self-inspection(s)" in resp.get_json()["summary"]

    h = district.headers("admin_a")
    listed = client.get(f"/api/v1/inspections?period_id={month['period']['id']}", headers=h).get_json()
    assert len(listed) == 4
    first_canteen = min(
        (i for i in listed if i["kind"] == "canteen"), key=lambda i: (i["inspected_on"], i["id"])
    )
    assert first_canteen["inspector_name"] == "总务处王老师" and first_canteen["mode"] == "self"
    detail = client.get(f"/api/v1/inspections/{first_canteen['id']}", headers=h).get_json()
    failed = [x for x in detail["items"] if x["result"] == "fail"]
    assert len(failed) == 1 and failed[0]["occurrences"] == 2 and failed[0]["note"] == "记录缺失"
    assert first_canteen["score"] != "100.0"
    facts = client.get(f"/api/v1/reports/{month['report_a']}/canteen-facts", headers=h).get_json()
    assert facts["meals_served"] == 66 and facts["food_waste_kg"] == "120.5"
    evaluations = client.get(f"/api/v1/evaluations?period_id={month['period']['id']}", headers=h).get_json()
    assert len(evaluations) == 1
    # assessment 50 and self 10: (9+18+13.5+40+9)=89.5 ×50 + 100 ×10, ÷60 = 91.25
    assert evaluations[0]["score"] == "91.25"

    before = _counts(app, pg)
    again = _upload(client, district, month["report_a"], _save(wb))  # the same workbook again
    assert again.status_code == 200, again.get_json()
    assert {k: v["unchanged"] for k, v in again.get_json()["saved"].items()} == {
        "canteen_inspections": 2, "safety_inspections": 2, "canteen_facts": 1, "evaluations": 1,
        "hazards": 1, "incidents": 1,
    }  # fmt: skip
    assert _counts(app, pg) == before  # nothing replaced, nothing duplicated

    export = client.get(f"/api/v1/reports/{month['report_a']}/export.xlsx", headers=h)
    assert export.status_code == 200
    out = load_workbook(BytesIO(export.data))
    rows = list(out["检查"].iter_rows(min_row=2, values_only=True))
    listed = client.get(f"/api/v1/inspections?period_id={month['period']['id']}", headers=h).get_json()
    assert sorted((r[0], f"{r[5]:.1f}") for r in rows) == sorted((i["id"], i["score"]) for i in listed)
    assert [r[1] for r in out["食堂月度数据"].iter_rows(min_row=2, values_only=True)] == [
        66,
        20,
        22,
        60,
        66,
        120.5,
    ]
    staff_rows = list(out["人员考核"].iter_rows(min_row=2, values_only=True))
    assert staff_rows[0][0] == "张甲厨" and staff_rows[0][1] == 91.25
    assert [r[0] for r in out["隐患整改"].iter_rows(min_row=2, values_only=True)] == ["灭火器过期"]
    assert [r[5] for r in out["事故事件"].iter_rows(min_row=2, values_only=True)] == ["学生课间摔倒擦伤"]
    # the inspector of A's cluster and the official see it too
    for user in ("inspector", "official", "admin"):
        r = client.get(f"/api/v1/reports/{month['report_a']}/export.xlsx", headers=district.headers(user))
        assert r.status_code == 200


def _malformed(kind: str, template: bytes, other: bytes, first: date) -> tuple[bytes, str]:
    """One broken workbook per kind, and the file name it is uploaded under."""
    if kind == "empty":
        return b"", "a.xlsx"
    if kind == "plain_text":
        return "姓名,分数\n张三,90\n".encode(), "a.xlsx"
    if kind == "garbage":
        return b"PK\x03\x04 this is not really a zip" + bytes(range(256)) * 4, "a.xlsx"
    if kind == "xlsm_name":
        return _save(_fill(template, first)), "a.xlsm"
    if kind == "xlsm_content":
        data = _save(_fill(template, first))
        buf = BytesIO()
        with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, src.read(item.filename))
            dst.writestr("xl/vbaProject.bin", b"\x00macro")
        return buf.getvalue(), "a.xlsx"
    if kind == "foreign":
        wb = Workbook()
        wb.active.append(["随便一个表"])
        return _save(wb), "a.xlsx"
    if kind == "wrong_school":
        return _save(_fill(other, first)), "a.xlsx"
    wb = _fill(template, first)
    if kind == "wrong_month":
        wb["_meta"]["B3"] = "2020-01"
    elif kind == "text_in_number":
        wb["食堂月度数据"]["B2"] = "六十六"
    elif kind == "unknown_staff":
        wb["人员考核"]["A2"] = "不存在的人"
    elif kind == "merged":
        wb["隐患整改"].merge_cells("A2:B2")
    elif kind == "formula":
        wb["食堂自查"]["G3"] = "=1+1"
    elif kind == "missing_sheet":
        del wb["事故事件"]
    elif kind == "date_outside_month":
        wb["安全检查"]["B2"] = datetime(2020, 1, 2)
    elif kind == "bad_result":
        wb["安全检查"]["F4"] = "还行"
    return _save(wb), "a.xlsx"


@pytest.mark.parametrize(
    "kind,where,needle",
    [
        ("empty", "file", "empty"),
        ("garbage", "file", "not an Excel"),
        ("plain_text", "file", "not an Excel"),
        ("xlsm_name", "file", "Macro"),
        ("xlsm_content", "file", "Macro"),
        ("foreign", "file", "not the monthly template"),
        ("wrong_school", "file", "for school SB"),
        ("wrong_month", "file", "for the month 2020-01"),
        ("missing_sheet", "file", "事故事件"),
        ("text_in_number", ("食堂月度数据", 2, "B"), "number"),
        ("unknown_staff", ("人员考核", 2, "A"), "不存在的人"),
        ("merged", ("隐患整改", 2, "A"), "Merged"),
        ("formula", ("食堂自查", 3, "G"), "Formula"),
        ("date_outside_month", ("安全检查", 2, "B"), "month"),
        ("bad_result", ("安全检查", 4, "F"), "合格/不合格/不适用"),
    ],
)
def test_malformed_workbooks_write_nothing(
    app: Any, district: District, month: dict, pg: Any, kind: str, where: Any, needle: str
) -> None:
    client = app.test_client()
    template = _template(client, district, month["report_a"])
    other = _template(client, district, month["report_b"], user="admin_b")
    data, name = _malformed(kind, template, other, month["first"])
    before = _counts(app, pg)
    resp = client.post(
        f"/api/v1/reports/{month['report_a']}/upload",
        data={"file": (BytesIO(data), name)},
        headers={**district.headers("admin_a"), "Accept-Language": "en"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]
    if where == "file":
        assert any(needle in m for m in errors["file"]), errors
        assert errors["cells"] == []
    else:
        sheet, row, column = where
        hits = [e for e in errors["cells"] if (e["sheet"], e["row"], e["column"]) == (sheet, row, column)]
        assert hits and any(needle in e["message"] for e in hits), errors
    assert _counts(app, pg) == before


def test_oversize_file_and_request(
    app: Any, district: District, month: dict, pg: Any, monkeypatch: Any
) -> None:
    client = app.test_client()
    data = _save(_fill(_template(client, district, month["report_a"]), month["first"]))
    before = _counts(app, pg)
    monkeypatch.setitem(app.config, "EXCEL_MAX_BYTES", len(data) - 1)
    resp = _upload(client, district, month["report_a"], data)
    assert resp.status_code == 422
    assert "larger than" in resp.get_json()["errors"]["file"][0]
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    resp = _upload(client, district, month["report_a"], data)
    assert resp.status_code == 413 and resp.is_json
    assert _counts(app, pg) == before


def test_block_errors_from_the_operations_roll_back(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    """A problem only the operations see (a failed item with no occurrences is fine; an inspection with
    every item 不适用 is not) undoes the whole upload, including the sheets before it."""
    client = app.test_client()
    wb = _fill(_template(client, district, month["report_a"]), month["first"])
    ws = wb["安全检查"]
    for row in range(2, ws.max_row + 1):
        if ws.cell(row=row, column=1).value == 1:
            ws.cell(row=row, column=6, value="不适用")
            ws.cell(row=row, column=7, value=None)
    before = _counts(app, pg)
    resp = _upload(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["cells"]
    assert _counts(app, pg) == before


def test_upload_after_submission_is_409(app: Any, district: District, month: dict, pg: Any) -> None:
    from tests.conftest import evaluate_all_staff

    client = app.test_client()
    data = _save(_fill(_template(client, district, month["report_a"]), month["first"]))
    evaluate_all_staff(app, district.school_a.id, month["period"]["id"])
    assert (
        client.post(
            f"/api/v1/reports/{month['report_a']}/submit", headers=district.headers("admin_a")
        ).status_code
        == 200
    )
    before = _counts(app, pg)
    resp = _upload(client, district, month["report_a"], data)
    assert resp.status_code == 409
    assert _counts(app, pg) == before
    # only school admins upload
    resp = client.post(
        f"/api/v1/reports/{month['report_a']}/upload",
        data={"file": (BytesIO(data), "a.xlsx")},
        headers=district.headers("admin"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403


def test_exports_neutralise_formulas(app: Any, district: District, month: dict, pg: Any) -> None:
    client = app.test_client()
    h = district.headers("admin_a")
    resp = client.post(
        "/api/v1/hazards",
        json={
            "title": '=HYPERLINK("http://evil","x")',
            "location": "+1+1",
            "severity": "low",
            "responsible_person": "@SUM(A1)",
            "found_on": month["first"].replace(day=2).isoformat(),
            "deadline": month["first"].replace(day=20).isoformat(),
            "description": "-2+3",
        },
        headers=h,
    )
    assert resp.status_code == 201, resp.get_json()
    export = client.get(f"/api/v1/reports/{month['report_a']}/export.xlsx", headers=h)
    ws = load_workbook(BytesIO(export.data))["隐患整改"]
    cells = [ws.cell(row=2, column=i) for i in (1, 2, 4, 8)]
    assert [c.value for c in cells] == ['\'=HYPERLINK("http://evil","x")', "'+1+1", "'@SUM(A1)", "'-2+3"]
    assert all(c.data_type == "s" for c in cells)


def test_completeness_export(app: Any, district: District, month: dict, pg: Any) -> None:
    from tests.conftest import evaluate_all_staff

    client = app.test_client()
    evaluate_all_staff(app, district.school_a.id, month["period"]["id"])
    assert (
        client.post(
            f"/api/v1/reports/{month['report_a']}/submit", headers=district.headers("admin_a")
        ).status_code
        == 200
    )
    url = f"/api/v1/periods/{month['period']['id']}/completeness.xlsx"
    resp = client.get(url, headers=district.headers("official"))
    assert resp.status_code == 200
    rows = list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("学校代码", "学校名称", "片区", "状态")
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["SA"][2] == "城东片区" and by_code["SA"][3] == "按时"
    assert by_code["SA"][5] and by_code["SA"][5].startswith(str(TODAY.year))
    assert by_code["SB"][3] == "草稿" and by_code["SC"][3] == "未提交"
    # the inspector sees the schools of the cluster only; school admins are refused
    resp = client.get(url, headers=district.headers("inspector"))
    codes = {r[0] for r in list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))[1:]}
    assert codes == {"SA", "SC"}
    assert client.get(url, headers=district.headers("admin_a")).status_code == 403


def test_school_without_canteen(app: Any, district: District, month: dict) -> None:
    """School C has no canteen: its canteen sheets are marked 不适用 and take no input."""
    client = app.test_client()
    resp = client.post(
        "/api/v1/reports",
        json={"period_id": month["period"]["id"], "school_id": district.school_c.id},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201
    wb = load_workbook(BytesIO(_template(client, district, resp.get_json()["id"], user="admin")))
    assert wb["食堂自查"]["A2"].value == "不适用" and wb["食堂自查"]["D2"].value is None
    assert [r[1] for r in wb["食堂月度数据"].iter_rows(min_row=2, values_only=True)] == ["不适用"] * 6
    assert wb["安全检查"]["D2"].value  # the safety rubric applies


# --- the pre-filled template and the two-phase upload ----------------------------------------------------


def _dry_run(client: Any, district: District, report_id: int, data: bytes) -> Any:
    return client.post(
        f"/api/v1/reports/{report_id}/upload?dry_run=true",
        data={"file": (BytesIO(data), "月报.xlsx")},
        headers={**district.headers("admin_a"), "Accept-Language": "en"},
        content_type="multipart/form-data",
    )


def _confirm(client: Any, district: District, report_id: int, data: bytes, digest: str) -> Any:
    return client.post(
        f"/api/v1/reports/{report_id}/upload?confirm={digest}",
        data={"file": (BytesIO(data), "月报.xlsx")},
        headers={**district.headers("admin_a"), "Accept-Language": "en"},
        content_type="multipart/form-data",
    )


def _rows(ws: Any, first: int = 2) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=first, values_only=True) if any(v is not None for v in r)]


def test_template_is_prefilled_with_the_month(app: Any, district: District, month: dict, pg: Any) -> None:
    """What the operations entered is in the template, as the upload reads it."""
    from tests.excel_month import enter_month

    entered = enter_month(app, district, month["period"])
    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    canteen = _rows(wb["食堂自查"])
    firsts = [r for r in canteen if r[1] is not None]  # the first row of each filled block
    assert [(r[0], r[1].date().isoformat(), r[2]) for r in firsts] == [
        (1, f"{month['first'].isoformat()[:8]}03", "总务处王老师"),
        (2, f"{month['first'].isoformat()[:8]}10", "总务处王老师"),
    ]
    block1 = [r for r in canteen if r[0] == 1]
    assert [r[5] for r in block1].count("不合格") == 1 and all(r[5] for r in block1)
    failed = next(r for r in block1 if r[5] == "不合格")
    assert failed[6] == 2 and failed[7] == "'=留样记录缺失"  # formula-safe, as in the exports
    assert {r[0] for r in canteen} == {1, 2, 3, 4}  # two empty blocks for more inspections
    assert all(r[5] is None for r in canteen if r[0] in (3, 4))
    assert [r[1] for r in _rows(wb["食堂月度数据"])] == [66, 20, 22, 60, 66, 120.5]
    staff = {r[0]: r for r in _rows(wb["人员考核"])}
    # 考核小组: the mean of 王校长 and 赵主任; 师生满意度 and 自评 as entered; the peer is not in the workbook
    assert staff["张甲厨"][2:7] == (8.5, 17, 13.5, 40.5, 9.5)
    assert staff["张甲厨"][7:12] == (7, 15, 12, 38, 8) and staff["张甲厨"][12:17] == (10, 20, 15, 45, 10)
    assert staff["周同事"][2:17] == (None,) * 15 and staff["周同事"][17] == entered["peer_id"]  # its 人员编号
    hazard = _rows(wb["隐患整改"])
    assert [r[:4] for r in hazard] == [("灭火器过期", "食堂后厨", "一般", "李电工")]
    incident = _rows(wb["事故事件"])
    assert incident[0][0] == "人身伤害" and incident[0][1].hour == 10 and incident[0][1].minute == 30
    assert incident[0][2:] == ("轻微", "否", "学生课间摔倒擦伤")
    assert entered["hazard_id"] and entered["incident_id"]


def test_unchanged_prefilled_template_changes_nothing(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    from tests.excel_month import enter_month, snapshot

    enter_month(app, district, month["period"])
    client = app.test_client()
    data = _template(client, district, month["report_a"])
    before = snapshot(pg)
    plan = _dry_run(client, district, month["report_a"], data)
    assert plan.status_code == 200, plan.get_json()
    body = plan.get_json()
    assert body["dry_run"] is True and len(body["digest"]) == 64
    assert body["plan"] == {
        "canteen_inspections": {"added": 0, "replaced": 0, "deleted": 0, "unchanged": 2},
        "safety_inspections": {"added": 0, "replaced": 0, "deleted": 0, "unchanged": 1},
        "canteen_facts": {"added": 0, "replaced": 0, "deleted": 0, "unchanged": 1},
        "evaluations": {"added": 0, "replaced": 0, "deleted": 0, "unchanged": 1},
        "hazards": {"added": 0, "replaced": 0, "deleted": 0, "unchanged": 1},
        "incidents": {"added": 0, "replaced": 0, "deleted": 0, "unchanged": 1},
    }
    assert "nothing changes" in body["summary"]
    # the same file saved by a spreadsheet program (openpyxl here) and uploaded: still nothing
    resaved = _save(load_workbook(BytesIO(data)))
    resp = _upload(client, district, month["report_a"], resaved)
    assert resp.status_code == 200, resp.get_json()
    assert snapshot(pg) == before  # every row and the audit trail as they were


def test_replacing_upload_needs_confirmation(app: Any, district: District, month: dict, pg: Any) -> None:
    """One changed cell: refused with the plan until confirmed; the confirmed upload corrects the
    inspection in place (same id, its notes kept) and writes nothing else."""
    from tests.excel_month import enter_month, snapshot

    entered = enter_month(app, district, month["period"])
    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    ws = wb["食堂自查"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == 2)
    ws.cell(row=row, column=6, value="不合格")  # block 2's first item: still failed, now 3 times
    ws.cell(row=row, column=7, value=3)
    data = _save(wb)
    before = snapshot(pg)

    refused = _upload(client, district, month["report_a"], data)
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["errors"]["confirm"] and body["plan"]["canteen_inspections"]["replaced"] == 1
    assert body["summary"] == "The upload will replace 1 canteen self-inspection(s)."
    assert snapshot(pg) == before

    dry = _dry_run(client, district, month["report_a"], data).get_json()
    assert dry["digest"] == body["digest"] and dry["plan"] == body["plan"]
    assert _confirm(client, district, month["report_a"], data, "0" * 64).status_code == 409
    assert snapshot(pg) == before

    done = _confirm(client, district, month["report_a"], data, dry["digest"])
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["saved"]["canteen_inspections"] == {
        "added": 0, "replaced": 1, "deleted": 0, "unchanged": 1,
    }  # fmt: skip
    h = district.headers("admin_a")
    second = client.get(f"/api/v1/inspections/{entered['inspections'][1]}", headers=h).get_json()
    assert [(x["result"], x["occurrences"]) for x in second["items"] if x["result"] == "fail"] == [
        ("fail", 3)
    ]
    after = snapshot(pg)
    for table in ("canteen_monthly_facts", "evaluations", "evaluation_ratings", "hazards", "incidents"):
        assert after[table] == before[table], table
    first = client.get(f"/api/v1/inspections/{entered['inspections'][0]}", headers=h).get_json()
    assert first["notes"] == "第一次自查"
    notes = client.get(f"/api/v1/inspections/{entered['inspections'][1]}", headers=h).get_json()["notes"]
    assert notes == ""  # kept as it was (the workbook has no inspection notes)


def test_confirming_after_the_month_changed_is_refused(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    from tests.excel_month import enter_month, snapshot

    entered = enter_month(app, district, month["period"])
    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    wb["食堂月度数据"]["B2"] = 70
    data = _save(wb)
    dry = _dry_run(client, district, month["report_a"], data).get_json()
    assert dry["plan"]["canteen_facts"]["replaced"] == 1
    # meanwhile someone corrects the hazard through the API
    h = district.headers("admin_a")
    resp = client.patch(
        f"/api/v1/hazards/{entered['hazard_id']}", json={"responsible_person": "王电工"}, headers=h
    )
    assert resp.status_code == 200
    before = snapshot(pg)
    stale = _confirm(client, district, month["report_a"], data, dry["digest"])
    assert stale.status_code == 409, stale.get_json()
    assert "changed since" in stale.get_json()["errors"]["confirm"][0]
    # the new plan: the workbook would now also put the old responsible person back
    assert stale.get_json()["plan"]["hazards"]["replaced"] == 1
    assert snapshot(pg) == before
    # confirm=true writes whatever the plan is now
    forced = client.post(
        f"/api/v1/reports/{month['report_a']}/upload?confirm=true",
        data={"file": (BytesIO(data), "月报.xlsx")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert forced.status_code == 200, forced.get_json()
    hazard = client.get(f"/api/v1/hazards/{entered['hazard_id']}", headers=h).get_json()
    assert hazard["responsible_person"] == "李电工"


def test_an_evaluation_row_replaces_only_the_groups_it_changes(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    """Changing the self rating keeps both assessment raters and the peer; the score follows."""
    from tests.excel_month import enter_month

    entered = enter_month(app, district, month["period"])
    client = app.test_client()
    h = district.headers("admin_a")
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    staff = wb["人员考核"]
    assert staff["A2"].value == "张甲厨"
    staff["M2"] = 8  # 自评-德: 10 → 8
    resp = client.post(
        f"/api/v1/reports/{month['report_a']}/upload?confirm=true",
        data={"file": (BytesIO(_save(wb)), "月报.xlsx")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["saved"]["evaluations"]["replaced"] == 1
    ratings = client.get(f"/api/v1/evaluations/{entered['evaluation_id']}", headers=h).get_json()["ratings"]
    by_group = sorted((r["rater_group"], r["rater_name"], r["scores"]["de"]) for r in ratings)
    assert by_group == [
        ("assessment", "王校长", "8.00"),
        ("assessment", "赵主任", "9.00"),
        ("peer", "周同事", "9.00"),
        ("satisfaction", "教师代表", "7.00"),
        ("self", "张甲厨", "8.00"),
    ]


def test_changed_hazard_and_incident_rows_correct_them(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    from tests.excel_month import enter_month

    entered = enter_month(app, district, month["period"])
    client = app.test_client()
    h = district.headers("admin_a")
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    wb["隐患整改"]["F2"] = datetime(month["first"].year, month["first"].month, 20)  # a later deadline
    wb["事故事件"]["E2"] = "学生课间摔倒擦伤，已送校医室"
    wb["隐患整改"]["A3"] = "楼梯扶手松动"  # and a new hazard
    for col, value in zip("BCDEF", ("教学楼二楼", "较大", "张木工", wb["隐患整改"]["E2"].value,
                                   wb["隐患整改"]["E2"].value), strict=True):  # fmt: skip
        wb["隐患整改"][f"{col}3"] = value
    data = _save(wb)
    dry = _dry_run(client, district, month["report_a"], data).get_json()
    assert dry["plan"]["hazards"] == {"added": 1, "replaced": 1, "deleted": 0, "unchanged": 0}
    assert dry["plan"]["incidents"] == {"added": 0, "replaced": 1, "deleted": 0, "unchanged": 0}
    assert _confirm(client, district, month["report_a"], data, dry["digest"]).status_code == 200
    hazard = client.get(f"/api/v1/hazards/{entered['hazard_id']}", headers=h).get_json()
    assert hazard["deadline"].endswith("-20") and hazard["title"] == "灭火器过期"
    incident = client.get(f"/api/v1/incidents/{entered['incident_id']}", headers=h).get_json()
    assert incident["description"] == "学生课间摔倒擦伤，已送校医室"
    listed = client.get(f"/api/v1/hazards?period_id={month['period']['id']}", headers=h).get_json()
    assert sorted(x["title"] for x in listed) == ["楼梯扶手松动", "灭火器过期"]


def test_a_row_listed_twice_and_refusals_of_the_operations_are_errors_of_the_check(
    app: Any, district: District, month: dict, pg: Any
) -> None:
    """The dry run tries the plan through the operations: what they would refuse is reported then."""
    from tests.excel_month import enter_month, snapshot

    enter_month(app, district, month["period"])
    client = app.test_client()
    wb = load_workbook(BytesIO(_template(client, district, month["report_a"])))
    for col in "ABCDEFG":
        wb["隐患整改"][f"{col}3"] = wb["隐患整改"][f"{col}2"].value
    wb["食堂月度数据"]["B5"] = 99  # 陪餐 99 of 66 meals: put_facts refuses it
    before = snapshot(pg)
    resp = _dry_run(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 422
    cells = resp.get_json()["errors"]["cells"]
    assert any(
        (e["sheet"], e["row"], e["column"]) == ("隐患整改", 3, "A") and "twice" in e["message"] for e in cells
    )
    wb["隐患整改"].delete_rows(3)
    resp = _dry_run(client, district, month["report_a"], _save(wb))
    assert resp.status_code == 422
    cells = resp.get_json()["errors"]["cells"]
    assert [(e["sheet"], e["row"], e["column"]) for e in cells] == [("食堂月度数据", 5, "B")]
    assert "more than the meals served" in cells[0]["message"]
    assert snapshot(pg) == before
