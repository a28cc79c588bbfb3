"""The inspection form in the browser's test client: the school's self-inspection (自查) and the
inspector's spot inspection (督查), on the rubric in force, through the API's schema and operations.

What a user notices: the rubric's sections and items in Chinese with key/veto items marked; errors
beside the item or field they are about, with the input kept and nothing saved; the live score is the
score the saved inspection gets; a submitted month is read-only; another school's ids are a 404 and a
school admin cannot open the spot form; a spot inspection shows its discrepancy with the school's
self-inspections.

Default canteen rubric (rubrics.md): B1 ※ health certificate −5 per person, A2 licence displayed −2,
E3 camera −2, F4 contracting (may be 不适用), C5 veto (0 points).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from service.db import db
from service.inspections.models import Grade, Inspection
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from tenants import TenantScope, use_scope
from tests.browser_support import Month
from tests.conftest import District, evaluate_all_staff, login

DAY = "2026-11-20"  # in the suite's month (TODAY is 2026-11-21)


# --- helpers -------------------------------------------------------------------------------------------


def _ids(app: Any, kind: RubricKind = RubricKind.CANTEEN) -> dict[str, int]:
    with app.app_context(), use_scope(TenantScope.bureau()):
        ids = {i.code: i.id for i in current_version(kind).all_items() if not i.computed}
        db.session.remove()
    return ids


def _form(ids: dict[str, int], *, date: str = DAY, name: str = "邵淑芬", **found: Any) -> dict[str, str]:
    """Every item 符合 except ``found``: code → "fail" | ("fail", times) | "na" | "" (not judged)."""
    data = {"inspected_on": date, "inspector_name": name, "notes": ""}
    for code, item_id in ids.items():
        outcome = found.get(code, "pass")
        result, times = (outcome, "") if isinstance(outcome, str) else (outcome[0], str(outcome[1]))
        if result:
            data[f"item-{item_id}-result"] = result
        data[f"item-{item_id}-occurrences"] = times
        data[f"item-{item_id}-note"] = ""
    return data


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def _report(app: Any, month: Month, username: str = "admin_a") -> tuple[Any, int]:
    client = _client(app, username)
    resp = client.post(f"/periods/{month.period_id}/open-report")
    assert resp.status_code == 302
    return client, int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def _count(app: Any) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        n = db.session.scalar(select(func.count()).select_from(Inspection))
        db.session.remove()
    return n


def _only(app: Any) -> Inspection:
    with app.app_context(), use_scope(TenantScope.bureau()):
        [row] = db.session.scalars(select(Inspection)).all()
        db.session.expunge(row)
        db.session.remove()
    return row


def _error_for(page: str, name: str) -> str:
    found = re.findall(rf'data-error-for="{re.escape(name)}">([^<]*)<', page)
    assert found, f"no error beside {name}"
    return " ".join(found)


def _live_score(page: str) -> str:
    return re.search(r'data-testid="live-score">([^<]*)<', page).group(1).strip()


# --- the form -------------------------------------------------------------------------------------------


def test_form_renders_the_rubric_in_chinese(app: Any, district: District, month: Month) -> None:
    client, report_id = _report(app, month)
    resp = client.get(f"/reports/{report_id}/inspections/new?kind=canteen")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for text in (
        "食堂检查",
        "自查",
        "证照与管理",
        "食品经营许可证合法有效",
        "陪餐与监督",
        "符合",
        "不符合",
        "不适用",
    ):
        assert text in page, text
    assert "※ 关键项" in page and "否决项" in page
    assert page.count('value="na"') == 1  # only F4 (承包经营合规) may be 不适用
    assert 'value="ADMIN_A"' in page  # the inspector's name is prefilled with the user's
    assert 'hx-post="/inspections/preview"' in page and 'hx-trigger="change"' in page
    assert "每天扣1分（最多扣5分）" in page  # A4: what a failure costs, as the rubric says it

    safety = client.get(f"/reports/{report_id}/inspections/new?kind=safety").get_data(as_text=True)
    assert "消防" in safety and "由系统月末计算" in safety  # G1 (overdue hazards) is computed, not entered
    ids = _ids(app, RubricKind.SAFETY)
    assert f"item-{ids['B1']}-result" in safety


def test_failed_key_item_caps_the_grade(app: Any, district: District, month: Month) -> None:
    client, report_id = _report(app, month)
    ids = _ids(app)
    resp = client.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids, B1="fail"))
    assert resp.status_code == 302 and resp.headers["Location"] == f"/reports/{report_id}"
    saved = _only(app)
    # 95.0 would be grade A, but a failed ※ item caps it at B.
    assert (str(saved.score), saved.grade, saved.key_failed) == ("95.0", Grade.B, 1)
    detail = client.get(f"/inspections/{saved.id}").get_data(as_text=True)
    assert "95.0" in detail and "B级" in detail and "table-danger item-fail" in detail


def test_not_applicable_where_not_allowed_is_refused_beside_the_item(
    app: Any, district: District, month: Month
) -> None:
    client, report_id = _report(app, month)
    ids = _ids(app)
    data = _form(ids, A2="na", E3=("fail", 2))
    data[f"item-{ids['E3']}-note"] = "摄像头离线两天"
    resp = client.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "A2" in _error_for(page, f"item-{ids['A2']}-result") and "不适用" in page
    assert 'data-testid="form-errors"' in page  # summarised on top too
    # the input is kept: the failure, its count and note, the header
    assert f'id="item-{ids["E3"]}-fail" value="fail" autocomplete="off" checked' in page
    assert 'value="摄像头离线两天"' in page and 'value="2"' in page and f'value="{DAY}"' in page
    assert _count(app) == 0


def test_missing_date_and_unjudged_item_are_refused_beside_them(
    app: Any, district: District, month: Month
) -> None:
    client, report_id = _report(app, month)
    ids = _ids(app)
    resp = client.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids, date="", D1=""))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "必填" in _error_for(page, "inspected_on")
    assert "必填" in _error_for(page, f"item-{ids['D1']}-result")  # not judged is not silently 符合
    assert "D1：此项为必填项。" in page and "检查日期：此项为必填项。" in page  # the summary says what about
    assert _count(app) == 0

    future = client.post(
        f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids, date="2026-11-25")
    )
    assert future.status_code == 422 and "晚于今天" in _error_for(
        future.get_data(as_text=True), "inspected_on"
    )
    assert _count(app) == 0


def test_live_score_is_the_score_the_inspection_gets(app: Any, district: District, month: Month) -> None:
    client, report_id = _report(app, month)
    ids = _ids(app)
    with app.app_context(), use_scope(TenantScope.bureau()):
        version_id = current_version(RubricKind.CANTEEN).id
        db.session.remove()
    data = _form(ids, B1=("fail", 2), E3="fail", F4="na", A4=("fail", 9))
    preview = client.post("/inspections/preview", data={**data, "rubric_version_id": version_id})
    fragment = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<html" not in fragment
    shown = _live_score(fragment)
    assert "未定级" not in fragment and "B级" in fragment

    # half-way: items not judged yet deduct nothing and are counted
    partial = {k: v for k, v in data.items() if not k.endswith("-result") or k == f"item-{ids['B1']}-result"}
    half = client.post("/inspections/preview", data={**partial, "rubric_version_id": version_id})
    assert "共26项，还有25项未评" in half.get_data(as_text=True)

    client.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=data)
    saved = _only(app)
    # B1 −10, E3 −2, A4 −5 (capped at 5), F4 not applicable: 78 of 95 possible points → 82.1
    assert shown == str(saved.score) == "82.1"


def test_read_only_after_submit(app: Any, district: District, month: Month) -> None:
    client, report_id = _report(app, month)
    ids = _ids(app)
    client.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids, E3="fail"))
    saved = _only(app)
    edit = client.get(f"/inspections/{saved.id}/edit")
    assert edit.status_code == 200 and f"item-{ids['E3']}-fail" in edit.get_data(as_text=True)

    evaluate_all_staff(app, district.school_a.id, month.period_id)
    assert client.post(f"/reports/{report_id}/action", data={"action": "submit"}).status_code == 302

    detail = client.get(f"/inspections/{saved.id}").get_data(as_text=True)
    assert 'data-testid="edit"' not in detail and "已提交" in detail
    closed = client.get(f"/inspections/{saved.id}/edit")
    assert closed.status_code == 409 and 'data-testid="inspection-form"' not in closed.get_data(as_text=True)
    refused = client.post(f"/inspections/{saved.id}/edit", data=_form(ids))
    assert refused.status_code == 409 and "已提交" in refused.get_data(as_text=True)
    deleted = client.post(f"/inspections/{saved.id}/delete", follow_redirects=True)
    assert "已提交" in deleted.get_data(as_text=True)
    new = client.get(f"/reports/{report_id}/inspections/new?kind=safety")
    assert new.status_code == 409 and "已提交" in new.get_data(as_text=True)
    assert _count(app) == 1 and _only(app).score == saved.score


def test_edit_and_delete_while_draft(app: Any, district: District, month: Month) -> None:
    client, report_id = _report(app, month)
    ids = _ids(app)
    client.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids, E3="fail"))
    saved = _only(app)
    changed = client.post(f"/inspections/{saved.id}/edit", data=_form(ids, E3="pass", A2="fail"))
    assert changed.status_code == 302
    assert str(_only(app).score) == "98.0"
    cleared = client.post(f"/inspections/{saved.id}/edit", data=_form(ids, name=""))
    assert cleared.status_code == 422 and _error_for(cleared.get_data(as_text=True), "inspector_name")
    assert client.post(f"/inspections/{saved.id}/delete").status_code == 302
    assert _count(app) == 0


# --- who may do what ---------------------------------------------------------------------------------------


def test_school_b_ids_are_not_found(app: Any, district: District, month: Month) -> None:
    client_b, report_b = _report(app, month, "admin_b")
    ids = _ids(app)
    client_b.post(f"/reports/{report_b}/inspections/new?kind=canteen", data=_form(ids))
    inspection_b = _only(app).id
    a = _client(app, "admin_a")
    assert a.get(f"/reports/{report_b}/inspections/new").status_code == 404
    assert a.post(f"/reports/{report_b}/inspections/new", data=_form(ids)).status_code == 404
    for path in (f"/inspections/{inspection_b}", f"/inspections/{inspection_b}/edit"):
        assert a.get(path).status_code == 404
    assert a.post(f"/inspections/{inspection_b}/edit", data=_form(ids, A2="fail")).status_code == 404
    assert a.post(f"/inspections/{inspection_b}/delete").status_code == 404
    inspector = _client(app, "inspector")  # cluster 1: A and C, not B
    spot_b = f"/schools/{district.school_b.id}/periods/{month.period_id}/spot-inspections/new"
    assert inspector.get(spot_b).status_code == 404
    assert inspector.post(spot_b, data=_form(ids)).status_code == 404
    assert inspector.get(f"/inspections/{inspection_b}").status_code == 404
    assert _count(app) == 1 and str(_only(app).score) == "100.0"


def test_school_admin_cannot_open_the_spot_form(app: Any, district: District, month: Month) -> None:
    spot_a = f"/schools/{district.school_a.id}/periods/{month.period_id}/spot-inspections/new"
    a = _client(app, "admin_a")
    assert a.get(spot_a).status_code == 403
    assert a.post(spot_a, data=_form(_ids(app))).status_code == 403
    assert a.get("/spot-inspections").status_code == 403
    assert _client(app, "official").get(spot_a).status_code == 403
    # and an inspector cannot record the school's own self-inspection
    _client_a, report_id = _report(app, month)
    assert _client(app, "inspector").get(f"/reports/{report_id}/inspections/new").status_code == 403
    assert _count(app) == 0


# --- spot inspections ----------------------------------------------------------------------------------------


def test_spot_inspection_shows_its_discrepancy(app: Any, district: District, month: Month) -> None:
    school, report_id = _report(app, month)
    ids = _ids(app)
    school.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids))  # 100.0
    school.post(f"/reports/{report_id}/inspections/new?kind=canteen", data=_form(ids, E3="fail"))  # 98.0

    inspector = _client(app, "inspector")
    listing = inspector.get(f"/spot-inspections?period_id={month.period_id}").get_data(as_text=True)
    assert "甲小学" in listing and "丙小学" in listing and "乙小学" not in listing
    spot_url = f"/schools/{district.school_a.id}/periods/{month.period_id}/spot-inspections/new?kind=canteen"
    assert spot_url.replace("&", "&amp;") in listing or spot_url in listing
    form = inspector.get(spot_url).get_data(as_text=True)
    assert "督查" in form and 'name="unannounced"' in form and 'value="INSPECTOR"' in form

    data = _form(ids, name="", B1=("fail", 2), C4="fail", E3="fail")
    data[f"item-{ids['C4']}-note"] = "冷库发现过期牛奶"
    data["unannounced"] = "1"
    resp = inspector.post(spot_url, data=data)
    assert resp.status_code == 302
    spot = _only_spot(app)
    assert (str(spot.score), spot.grade, spot.key_failed, spot.inspector_name) == (
        "78.0",
        Grade.UNGRADED,
        2,
        "INSPECTOR",
    )
    page = inspector.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="discrepancy"' in page
    assert re.search(r'data-testid="self-mean">99.0', page)  # (100 + 98) / 2
    assert re.search(r'data-testid="gap">21.0', page)  # 99 − 78 > 15
    assert 'data-testid="credibility-flag"' in page
    missed = re.search(r'data-testid="missed-items">(.*?)</ul>', page, re.S).group(1)
    assert "B1" in missed and "C4" in missed and "冷库发现过期牛奶" in missed
    assert "E3" not in missed  # the school found the camera offline once itself
    assert "被检查单位负责人签字" in page and "督查员签字" in page and 'data-testid="print"' in page

    # the school sees the record, but cannot change it
    seen = school.get(f"/inspections/{spot.id}").get_data(as_text=True)
    assert "78.0" in seen and 'data-testid="edit"' not in seen
    assert school.post(f"/inspections/{spot.id}/edit", data=_form(ids)).status_code == 403
    assert school.post(f"/inspections/{spot.id}/delete").status_code == 403

    # the inspector corrects it; the bureau admin may too (the API's rule)
    fixed = inspector.post(f"/inspections/{spot.id}/edit", data={**_form(ids, E3="fail"), "unannounced": "1"})
    assert fixed.status_code == 302 and str(_only_spot(app).score) == "98.0"
    assert _client(app, "admin").get(f"/inspections/{spot.id}/edit").status_code == 200


def test_spot_inspection_of_a_school_without_canteen(app: Any, district: District, month: Month) -> None:
    inspector = _client(app, "inspector")
    listing = inspector.get(f"/spot-inspections?period_id={month.period_id}&school_id={district.school_c.id}")
    page = listing.get_data(as_text=True)
    assert "丙小学" in page and "甲小学" not in page
    assert 'data-testid="new-spot-canteen"' not in page and 'data-testid="new-spot-safety"' in page
    base = f"/schools/{district.school_c.id}/periods/{month.period_id}/spot-inspections/new"
    refused = inspector.post(base + "?kind=canteen", data=_form(_ids(app)))
    assert refused.status_code == 422 and "没有食堂" in refused.get_data(as_text=True)
    ok = inspector.post(base + "?kind=safety", data=_form(_ids(app, RubricKind.SAFETY)))
    assert ok.status_code == 302
    page = inspector.get(ok.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="discrepancy"' in page and "尚未" in page  # no self-inspection yet


def _only_spot(app: Any) -> Inspection:
    with app.app_context(), use_scope(TenantScope.bureau()):
        [row] = db.session.scalars(select(Inspection).where(Inspection.mode == "spot")).all()
        db.session.expunge(row)
        db.session.remove()
    return row
