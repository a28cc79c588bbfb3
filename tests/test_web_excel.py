"""The Excel pages of a school's month (service/excel/views.py): download the pre-filled workbook, upload
it, see the errors by sheet/row/column or what it would replace, and write it only when confirmed.

"Nothing written" is checked on every row of every table an upload writes, the audit trail included
(tests/excel_month.py: ``snapshot``); the staged file is checked in its own table.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from tests.conftest import District, evaluate_all_staff, login
from tests.excel_month import enter_month, snapshot

pytestmark = pytest.mark.postgres


@pytest.fixture
def period(app: Any, district: District) -> dict:
    """Last month, open (deadline in three days)."""
    from tests.conftest import TODAY

    first = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
    resp = app.test_client().post(
        "/api/v1/periods",
        json={"year": first.year, "month": first.month, "deadline": (TODAY + timedelta(days=3)).isoformat()},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.fixture
def entered(app: Any, district: District, period: dict) -> dict:
    return enter_month(app, district, period)


def _school_client(app: Any, user: str = "admin_a") -> Any:
    client = app.test_client()
    login(client, user)
    return client


def _template(client: Any, report_id: int) -> Any:
    resp = client.get(f"/reports/{report_id}/excel/template.xlsx")
    assert resp.status_code == 200
    return load_workbook(BytesIO(resp.data))


def _save(wb: Any) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(client: Any, report_id: int, data: bytes, name: str = "月报.xlsx") -> Any:
    return client.post(
        f"/reports/{report_id}/excel/upload",
        data={"file": (BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, page[:3000]
    return found.group(1)


def _staged(pg: Any) -> list[tuple]:
    with pg.admin_engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(text("SELECT school_id, report_id, user_id FROM excel_staged_uploads"))
        ]


def _changed_workbook(client: Any, report_id: int) -> bytes:
    """The pre-filled workbook with one cell changed: the second canteen inspection's first item fails 3 times."""
    wb = _template(client, report_id)
    ws = wb["食堂自查"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == 2)
    ws.cell(row=row, column=6, value="不合格")
    ws.cell(row=row, column=7, value=3)
    return _save(wb)


def test_page_offers_the_download_and_the_upload_to_the_school_admin_only(
    app: Any, district: District, entered: dict
) -> None:
    report_id = entered["report_id"]
    client = _school_client(app)
    workspace = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f"/reports/{report_id}/excel" in workspace and "Excel 填报" in workspace
    page = client.get(f"/reports/{report_id}/excel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "下载已预填的填报表" in html and 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html and 'name="csrf_token"' in html and "检查填报表" in html
    wb = _template(client, report_id)
    assert wb["食堂月度数据"]["B2"].value == 66  # pre-filled
    response = client.get(f"/reports/{report_id}/excel/template.xlsx")
    assert "attachment;" in response.headers["Content-Disposition"]
    for user in ("inspector", "admin", "official"):
        other = _school_client(app, user)
        assert other.get(f"/reports/{report_id}/excel").status_code == 403
        assert other.get(f"/reports/{report_id}/excel/template.xlsx").status_code == 403
        assert _upload(other, report_id, _save(wb)).status_code == 403
        assert other.post(f"/reports/{report_id}/excel/confirm", data={"token": "x"}).status_code == 403


def test_errors_are_listed_by_sheet_row_and_column_and_nothing_is_staged(
    app: Any, district: District, entered: dict, pg: Any
) -> None:
    client = _school_client(app)
    wb = _template(client, entered["report_id"])
    wb["食堂月度数据"]["B2"] = "六十六"
    wb["安全检查"]["F3"] = "还行"
    before = snapshot(pg)
    resp = _upload(client, entered["report_id"], _save(wb))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "填报表未导入，未写入任何数据" in html
    rows = re.findall(
        r'<tr data-testid="excel-error-row"><td[^>]*>([^<]*)</td><td[^>]*>(\d+)</td><td>(\w+)</td><td>([^<]*)</td>',
        html,
    )
    assert [(s, int(r), col) for s, r, col, _m in rows] == [("安全检查", 3, "F"), ("食堂月度数据", 2, "B")]
    assert "合格/不合格/不适用" in rows[0][3] and "数字" in rows[1][3]  # the reasons, in Chinese
    assert snapshot(pg) == before and _staged(pg) == []
    # a file that is no workbook at all, and no file
    resp = _upload(client, entered["report_id"], b"not a workbook", name="a.xlsx")
    assert resp.status_code == 422 and 'data-testid="excel-file-error"' in resp.get_data(as_text=True)
    resp = client.post(
        f"/reports/{entered['report_id']}/excel/upload", data={}, content_type="multipart/form-data"
    )
    assert resp.status_code == 422
    assert snapshot(pg) == before and _staged(pg) == []


def test_replacement_is_shown_then_written_only_when_confirmed(
    app: Any, district: District, entered: dict, pg: Any
) -> None:
    client = _school_client(app)
    report_id = entered["report_id"]
    before = snapshot(pg)
    resp = _upload(client, report_id, _changed_workbook(client, report_id))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "本次上传将替换1条食堂自查记录。" in html and "确认替换" in html and "取消" in html
    assert snapshot(pg) == before  # nothing written by the check
    assert _staged(pg) == [(district.school_a.id, report_id, district.admin_a.id)]
    token = _token(html)

    done = client.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/reports/{report_id}")
    workspace = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已从填报表导入：替换1条食堂自查记录。" in workspace
    after = snapshot(pg)
    assert after != before and _staged(pg) == []
    for table in ("canteen_monthly_facts", "evaluations", "evaluation_ratings", "hazards", "incidents"):
        assert after[table] == before[table], table
    detail = client.get(
        f"/api/v1/inspections/{entered['inspections'][1]}", headers=district.headers("admin_a")
    ).get_json()
    assert [(x["result"], x["occurrences"]) for x in detail["items"] if x["result"] == "fail"] == [
        ("fail", 3)
    ]

    # the same confirmation again (a double click, a second worker): refused, nothing written
    again = client.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert again.status_code == 409
    assert "已确认或已取消" in again.get_data(as_text=True)
    assert snapshot(pg) == after


def test_the_confirmation_may_reach_another_worker(
    app: Any, database: Any, district: District, entered: dict, pg: Any
) -> None:
    """The check and the confirmation share nothing but the database (and the signed session cookie):
    a second app instance - another gunicorn worker - confirms what the first one checked."""
    from service import create_app
    from tests.conftest import test_config

    client = _school_client(app)
    report_id = entered["report_id"]
    token = _token(_upload(client, report_id, _changed_workbook(client, report_id)).get_data(as_text=True))
    other = create_app(test_config(database)).test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    done = other.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    assert _staged(pg) == []


def test_cancel_writes_nothing_and_discards_the_file(
    app: Any, district: District, entered: dict, pg: Any
) -> None:
    client = _school_client(app)
    report_id = entered["report_id"]
    before = snapshot(pg)
    token = _token(_upload(client, report_id, _changed_workbook(client, report_id)).get_data(as_text=True))
    resp = client.post(
        f"/reports/{report_id}/excel/confirm",
        data={"token": token, "action": "cancel"},
        follow_redirects=True,
    )
    assert resp.status_code == 200 and "已取消上传，未写入任何数据" in resp.get_data(as_text=True)
    assert snapshot(pg) == before and _staged(pg) == []
    late = client.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert late.status_code == 409 and snapshot(pg) == before


def test_confirming_after_the_month_changed_is_refused(
    app: Any, district: District, entered: dict, pg: Any
) -> None:
    client = _school_client(app)
    report_id = entered["report_id"]
    token = _token(_upload(client, report_id, _changed_workbook(client, report_id)).get_data(as_text=True))
    resp = client.put(
        f"/api/v1/reports/{report_id}/canteen-facts",
        json={"meals_served": 70, "menu_compliant_days": 20, "serving_days": 22,
              "leader_accompanied_meals": 60, "sampled_meals": 66, "food_waste_kg": "120.5"},
        headers=district.headers("admin_a"),
    )  # fmt: skip
    assert resp.status_code == 200
    before = snapshot(pg)
    stale = client.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert stale.status_code == 409
    assert "检查填报表之后本月数据已有变动，请重新上传" in stale.get_data(as_text=True)
    assert snapshot(pg) == before and _staged(pg) == []  # nothing written; the stale file is gone


def test_unchanged_workbook_needs_no_confirmation(
    app: Any, district: District, entered: dict, pg: Any
) -> None:
    client = _school_client(app)
    report_id = entered["report_id"]
    before = snapshot(pg)
    data = client.get(f"/reports/{report_id}/excel/template.xlsx").data
    resp = _upload(client, report_id, data)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "填报表中的数据与系统中本月数据相同，无需导入" in html and 'name="token"' not in html
    assert snapshot(pg) == before and _staged(pg) == []


def test_a_staged_upload_belongs_to_its_user_report_and_time(
    app: Any, district: District, period: dict, entered: dict, pg: Any
) -> None:
    """Another admin of the same school cannot confirm it; it expires after 30 minutes; the purge of
    expired uploads stays inside the school."""
    from service.accounts.models import Role, User
    from service.db import db
    from tenants import TenantScope, use_scope
    from tests.conftest import _password_hash

    with app.app_context(), use_scope(TenantScope.bureau()):
        db.session.add(
            User(username="admin_a2", display_name="甲校副管理员", role=Role.SCHOOL_ADMIN,
                 password_hash=_password_hash(), school_id=district.school_a.id)
        )  # fmt: skip
        db.session.commit()
        db.session.remove()
    client = _school_client(app)
    report_id = entered["report_id"]
    before = snapshot(pg)
    token = _token(_upload(client, report_id, _changed_workbook(client, report_id)).get_data(as_text=True))
    colleague = _school_client(app, "admin_a2")
    resp = colleague.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert resp.status_code == 409 and snapshot(pg) == before
    assert len(_staged(pg)) == 1  # the colleague's refusal did not discard the owner's upload

    # school B's abandoned upload, long expired; A's next check purges A's expired rows only
    report_b = (
        app.test_client()
        .post("/api/v1/reports", json={"period_id": period["id"]}, headers=district.headers("admin_b"))
        .get_json()["id"]
    )
    client_b = _school_client(app, "admin_b")
    wb_b = _template(client_b, report_b)
    wb_b["食堂月度数据"]["B2"] = 10
    for row, value in zip(range(3, 8), (5, 5, 5, 5, 1), strict=True):
        wb_b["食堂月度数据"][f"B{row}"] = value
    assert 'name="token"' in _upload(client_b, report_b, _save(wb_b)).get_data(as_text=True)
    before = snapshot(pg)  # B's report is new
    with pg.admin_engine.begin() as conn:
        conn.execute(text("UPDATE excel_staged_uploads SET created_at = created_at - interval '31 minutes'"))
    expired = client.post(f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"})
    assert expired.status_code == 409 and "30 分钟" in expired.get_data(as_text=True)
    assert snapshot(pg) == before
    assert [s[0] for s in _staged(pg)] == [district.school_b.id]
    _upload(client, report_id, _changed_workbook(client, report_id))
    assert sorted(s[0] for s in _staged(pg)) == [district.school_a.id, district.school_b.id]


def test_a_submitted_month_is_read_only(
    app: Any, district: District, period: dict, entered: dict, pg: Any
) -> None:
    client = _school_client(app)
    report_id = entered["report_id"]
    data = _changed_workbook(client, report_id)
    token = _token(_upload(client, report_id, data).get_data(as_text=True))
    evaluate_all_staff(app, district.school_a.id, period["id"])  # 周同事, the peer, too
    assert client.post(f"/reports/{report_id}/action", data={"action": "submit"}).status_code == 302
    before = snapshot(pg)
    page = client.get(f"/reports/{report_id}/excel").get_data(as_text=True)
    assert 'data-testid="excel-readonly"' in page and 'data-testid="excel-upload-form"' not in page
    assert _upload(client, report_id, data).status_code == 409
    assert (
        client.post(
            f"/reports/{report_id}/excel/confirm", data={"token": token, "action": "confirm"}
        ).status_code
        == 409
    )
    assert snapshot(pg) == before


def test_size_limits(app: Any, district: District, entered: dict, pg: Any, monkeypatch: Any) -> None:
    client = _school_client(app)
    report_id = entered["report_id"]
    data = _changed_workbook(client, report_id)
    monkeypatch.setitem(app.config, "EXCEL_MAX_BYTES", len(data) - 1)
    resp = _upload(client, report_id, data)
    assert resp.status_code == 422 and "MB" in resp.get_data(as_text=True)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    assert _upload(client, report_id, data).status_code == 413
    assert _staged(pg) == []


# --- journey (b) of issue 10, in Chromium ------------------------------------------------------------------


def test_journey_month_through_the_prefilled_workbook(
    app: Any, browser: Any, live_server: str, district: District, month: Any, tmp_path: Any
) -> None:
    """The school admin downloads the pre-filled workbook, changes one cell, uploads it with a mistake,
    sees the error table, fixes it, drops the file on the form, confirms the replacement and submits."""
    import base64

    from tests.browser_support import PHONE, shot
    from tests.browser_support import login as browser_login

    entered = enter_month(app, district, {"id": month.period_id, "year": 2026, "month": 11})
    evaluate_all_staff(app, district.school_a.id, month.period_id)  # 周同事, added by enter_month
    report_id = entered["report_id"]
    page = browser_login(browser, live_server, "admin_a")
    page.goto(f"{live_server}/reports/{report_id}")
    page.click("[data-testid=excel-link]")
    page.wait_for_selector("[data-testid=excel-upload-form]")
    shot(page, "excel-page")
    with page.expect_download() as info:
        page.click("[data-testid=excel-download]")
    download = info.value
    assert download.suggested_filename.endswith("月报填报模板.xlsx")
    path = tmp_path / "template.xlsx"
    download.save_as(path)

    wb = load_workbook(path)
    ws = wb["食堂自查"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == 2)
    assert ws.cell(row=row, column=6).value == "不合格"  # pre-filled: the second inspection's first item
    ws.cell(row=row, column=7, value="三次")  # the one change, mistyped
    wrong = tmp_path / "wrong.xlsx"
    wb.save(wrong)
    page.set_input_files("#f-file", str(wrong))
    page.click("[data-testid=excel-check]")
    page.wait_for_selector("[data-testid=excel-errors]")
    errors = page.locator("[data-testid=excel-error-row]")
    assert errors.count() == 1
    assert errors.first.inner_text().split("\t")[:3] == ["食堂自查", str(row), "G"]
    shot(page, "excel-errors")
    _phone_shot(page, "excel-errors-phone")

    ws.cell(row=row, column=7, value=3)  # fixed
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    # dropped on the box this time (the Alpine.js enhancement of the same file input)
    encoded = base64.b64encode(fixed.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """(data) => { const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "fixed.xlsx", {type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}));
            return dt; }""",
        encoded,
    )
    page.dispatch_event("[data-testid=excel-drop]", "drop", {"dataTransfer": transfer})
    assert page.locator("#f-file").evaluate("input => input.files[0].name") == "fixed.xlsx"
    page.click("[data-testid=excel-check]")
    page.wait_for_selector("[data-testid=excel-summary]")
    assert page.inner_text("[data-testid=excel-summary]") == "本次上传将替换1条食堂自查记录。"
    assert page.locator("[data-testid=excel-confirm]").inner_text() == "确认替换"
    shot(page, "excel-confirm")
    _phone_shot(page, "excel-confirm-phone")

    page.click("[data-testid=excel-confirm]")
    page.wait_for_selector("[data-testid=report-state]")
    assert "已从填报表导入：替换1条食堂自查记录。" in page.content()
    shot(page, "excel-imported")
    page.click("[data-action=submit]")
    page.wait_for_load_state()
    assert "已提交" in page.inner_text("[data-testid=report-state]")
    page.context.close()

    # the page on a phone: one column, nothing wider than the screen
    phone = browser_login(browser, live_server, "admin_a", viewport=PHONE)
    phone.goto(f"{live_server}/reports/{report_id}/excel")
    shot(phone, "excel-phone-readonly")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.context.close()


def _phone_shot(page: Any, name: str) -> None:
    """The same page at 390×844: one column, tables scrolling inside their card, nothing wider."""
    from tests.browser_support import LAPTOP, PHONE, shot

    page.set_viewport_size(PHONE)
    shot(page, name)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(LAPTOP)
