"""The staff evaluation grid (后勤人员考核): columns from the staff rubric in force, the assessment
group's scores per person, all or nothing (one bad cell saves no row, and says so in its cell), the
other rater groups kept, progress n / m, read-only after submission, other schools' reports 404."""

from __future__ import annotations

from typing import Any

from tests.browser_support import Month
from tests.conftest import District, login
from tests.forms_support import SUBMITTED, errors_for, open_report, submit

DIMENSIONS = ("de", "neng", "qin", "ji", "lian")
REQUIRED = "此单元格必须填写。"


def _staff(app: Any, district: District, name: str, role: str = "guard") -> int:
    resp = app.test_client().post(
        "/api/v1/staff",
        json={"name": name, "role": role, "contract_type": "contract", "hire_date": "2020-09-01"},
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _evaluations(app: Any, district: District, month: Month) -> list[dict]:
    resp = app.test_client().get(
        "/api/v1/evaluations",
        query_string={"period_id": month.period_id},
        headers=district.headers("admin_a"),
    )
    return resp.get_json()


def _row(staff_id: int, *scores: str) -> dict[str, str]:
    return {f"row-{staff_id}-{code}": value for code, value in zip(DIMENSIONS, scores, strict=True)}


def _setup(app: Any, district: District, month: Month) -> tuple[int, list[int], Any]:
    report_id = open_report(app, district, month)
    people = [
        district.staff_a.id,
        _staff(app, district, "王门卫"),
        _staff(app, district, "赵保洁", "cleaner"),
    ]
    client = app.test_client()
    login(client, "admin_a")
    return report_id, people, client


def test_grid_columns_come_from_the_rubric(app: Any, district: District, month: Month) -> None:
    report_id, people, client = _setup(app, district, month)
    page = client.get(f"/reports/{report_id}/evaluations").get_data(as_text=True)
    for name, top in (("德", "10"), ("能", "20"), ("勤", "15"), ("绩", "45"), ("廉", "10")):
        assert name in page and f"0–{top}" in page
    assert "已考评 0 / 3 人" in page
    assert all(f'name="row-{p}-ji"' in page for p in people)
    assert "按列填充" in page and "考核小组" in page


def test_one_bad_cell_saves_no_row(app: Any, district: District, month: Month) -> None:
    report_id, (a, b, c), client = _setup(app, district, month)
    form = {
        **_row(a, "9", "18", "13.5", "40", "9"),
        **_row(b, "11", "18", "13", "40", "9.125"),  # 德 above 10, 廉 with 3 decimals
        **_row(c, "9", "", "13", "abc", "9"),  # 能 missing, 绩 not a number
    }
    resp = client.post(f"/reports/{report_id}/evaluations", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _evaluations(app, district, month) == []  # nothing saved, not even the good row
    assert errors_for(page, f"row-{b}-de") == ["须在 0 到 10 之间。"]
    assert errors_for(page, f"row-{b}-lian") == ["最多保留两位小数。"]
    assert errors_for(page, f"row-{c}-ji") == ["不是有效的数字。"]
    assert errors_for(page, f"row-{a}-de") == []
    assert "未保存任何数据" in page and "已考评 0 / 3 人" in page
    assert 'value="13.5"' in page and 'value="abc"' in page  # every input kept

    form[f"row-{b}-de"], form[f"row-{b}-lian"], form[f"row-{c}-ji"] = "10", "9.25", "41"
    resp = client.post(f"/reports/{report_id}/evaluations", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, f"row-{c}-neng") == [REQUIRED]
    assert _evaluations(app, district, month) == []


def test_grid_saves_every_row_and_shows_scores(app: Any, district: District, month: Month) -> None:
    report_id, (a, b, c), client = _setup(app, district, month)
    form = {
        **_row(a, "9", "18", "13.5", "40", "9"),
        **_row(b, "10", "20", "15", "45", "10"),
        **_row(c, "8", "17.25", "12", "38", "9"),
    }
    resp = client.post(f"/reports/{report_id}/evaluations", data=form)
    assert resp.status_code == 302
    saved = {e["staff_id"]: e for e in _evaluations(app, district, month)}
    assert saved[a]["score"] == "89.50" and saved[b]["score"] == "100.00" and saved[c]["score"] == "84.25"
    page = client.get(f"/reports/{report_id}/evaluations").get_data(as_text=True)
    assert "已考评 3 / 3 人" in page and "89.50" in page and "84.25" in page
    assert 'value="17.25"' in page

    # unchanged rows are not written again; a changed one is replaced
    form[f"row-{a}-ji"] = "44"
    assert client.post(f"/reports/{report_id}/evaluations", data=form).status_code == 302
    again = {e["staff_id"]: e for e in _evaluations(app, district, month)}
    assert again[a]["score"] == "93.50" and again[a]["ratings"][0]["id"] != saved[a]["ratings"][0]["id"]
    assert again[b]["ratings"] == saved[b]["ratings"]


def test_other_rater_groups_are_shown_and_kept(app: Any, district: District, month: Month) -> None:
    report_id, (a, b, c), client = _setup(app, district, month)
    scores = {"de": 10, "neng": 20, "qin": 15, "ji": 45, "lian": 10}
    resp = app.test_client().post(
        "/api/v1/evaluations",
        json={
            "staff_id": a,
            "period_id": month.period_id,
            "ratings": [
                {"rater_group": "assessment", "rater_name": "考核小组", "scores": scores},
                {"rater_group": "self", "scores": {k: v / 2 for k, v in scores.items()}},
            ],
        },
        headers=district.headers("admin_a"),
    )
    assert resp.status_code == 201, resp.get_json()
    page = client.get(f"/reports/{report_id}/evaluations").get_data(as_text=True)
    assert "自评" in page and "已考评 1 / 3 人" in page
    form = {
        **_row(a, "8", "16", "12", "36", "8"),
        **_row(b, "", "", "", "", ""),
        **_row(c, "", "", "", "", ""),
    }
    assert client.post(f"/reports/{report_id}/evaluations", data=form).status_code == 302
    (saved,) = _evaluations(app, district, month)
    groups = sorted(r["rater_group"] for r in saved["ratings"])
    assert groups == ["assessment", "self"]
    # dimension = (50 × assessment + 10 × self) ÷ 60: 德 (50×8 + 10×5) / 60 = 7.5 …, person = 75.00
    assert saved["score"] == "75.00"


def test_delete_while_draft_and_read_only_after_submission(
    app: Any, district: District, month: Month
) -> None:
    report_id, (a, b, c), client = _setup(app, district, month)
    form = {
        **_row(a, "9", "18", "13", "40", "9"),
        **_row(b, "", "", "", "", ""),
        **_row(c, "", "", "", "", ""),
    }
    client.post(f"/reports/{report_id}/evaluations", data=form)
    assert len(_evaluations(app, district, month)) == 1
    resp = client.post(f"/reports/{report_id}/evaluations", data={**form, "delete": str(a)})
    assert resp.status_code == 302 and _evaluations(app, district, month) == []

    submit(app, district, month, report_id)  # evaluates everyone and submits
    before = _evaluations(app, district, month)
    page = client.get(f"/reports/{report_id}/evaluations").get_data(as_text=True)
    assert SUBMITTED in page and 'name="row-' not in page and "已考评 3 / 3 人" in page
    resp = client.post(f"/reports/{report_id}/evaluations", data=_row(a, "1", "1", "1", "1", "1"))
    assert resp.status_code == 409 and SUBMITTED in resp.get_data(as_text=True)
    resp = client.post(f"/reports/{report_id}/evaluations", data={"delete": str(a)})
    assert resp.status_code == 409
    assert _evaluations(app, district, month) == before


def test_roles_and_other_schools(app: Any, district: District, month: Month) -> None:
    report_a = open_report(app, district, month)
    report_b = open_report(app, district, month, user="admin_b")
    client = app.test_client()
    login(client, "admin_a")
    assert client.get(f"/reports/{report_b}/evaluations").status_code == 404
    row_b = _row(district.staff_b.id, "9", "18", "13", "40", "9")
    assert client.post(f"/reports/{report_b}/evaluations", data=row_b).status_code == 404
    # B's staff member posted into A's grid is no row of it: nothing is written
    assert client.post(f"/reports/{report_a}/evaluations", data=row_b).status_code == 302
    inspector = app.test_client()
    login(inspector, "inspector")
    page = inspector.get(f"/reports/{report_a}/evaluations").get_data(as_text=True)
    assert "张甲厨" in page and 'name="row-' not in page
    row_a = _row(district.staff_a.id, "9", "18", "13", "40", "9")
    assert inspector.post(f"/reports/{report_a}/evaluations", data=row_a).status_code == 403
    assert _evaluations(app, district, month) == []
