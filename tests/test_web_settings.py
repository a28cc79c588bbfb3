"""The settings pages (设置), part 1: who may see and change them, the rubric draft editor with
publishing after a diff, and the scoring and commendation rules (append-only versions with a diff).

Each form refuses exactly what the API refuses - the same messages, in Chinese, beside the fields,
the same status - and leaves nothing half-saved; each change leaves an audit entry with the values
before and after.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.conftest import District, login
from tests.forms_support import errors_for

READ_PAGES = (
    "/settings",
    "/settings/rubrics",
    "/settings/rubric-versions/1",
    "/settings/rubric-versions/1/publish",
    "/settings/rules",
    "/settings/rules/scoring",
    "/settings/rules/commendations",
    "/settings/periods",
    "/settings/users",
    "/settings/schools",
)


def _client(app: Any, username: str = "admin") -> Any:
    client = app.test_client()
    login(client, username)
    return client


def _bureau(app: Any) -> Any:
    """An app context in the bureau scope (reading back what a page wrote)."""
    from contextlib import ExitStack

    from tenants import TenantScope, use_scope

    stack = ExitStack()
    stack.enter_context(app.app_context())
    stack.enter_context(use_scope(TenantScope.bureau()))
    return stack


def _audit(app: Any, table: str, row_id: int | None = None) -> list[Any]:
    from service.audit.models import AuditEntry
    from service.db import db

    with _bureau(app):
        stmt = select(AuditEntry).where(AuditEntry.table_name == table).order_by(AuditEntry.id)
        if row_id is not None:
            stmt = stmt.where(AuditEntry.row_id == row_id)
        rows = list(db.session.scalars(stmt))
        db.session.remove()
    return rows


def _write_posts(district: District) -> list[tuple[str, dict[str, Any]]]:
    """One POST to every settings form, with a body that would be accepted from the bureau admin."""
    return [
        ("/settings/rubrics/1/draft", {"note": "x"}),
        ("/settings/rubric-versions/1", {"note": "x"}),
        ("/settings/rubric-versions/1/items/new", {"section_code": "A", "code": "A9", "text": "x"}),
        ("/settings/rubric-items/1/edit", {"section_code": "A", "code": "A1", "text": "x"}),
        ("/settings/rubric-items/1/delete", {}),
        ("/settings/rubric-items/1/move", {"direction": "down"}),
        ("/settings/rubric-versions/1/publish", {}),
        ("/settings/rules/scoring", dict(SCORING, confirm="1", base_version="0")),
        ("/settings/rules/commendations", {"near_miss_points": "5", "confirm": "1", "base_version": "0"}),
        ("/settings/periods", {"year": "2026", "month": "12"}),
        ("/settings/users/new", {"username": "x-user", "display_name": "X", "role": "bureau_official"}),
        (f"/settings/users/{district.admin_a.id}", {"display_name": "改名", "role": "school_admin"}),
        (f"/settings/users/{district.admin_a.id}/password", {"mode": "generate"}),
        (f"/settings/users/{district.admin_a.id}/active", {"active": "0"}),
        ("/settings/schools/new", {"code": "SX", "name": "新学校"}),
        (f"/settings/schools/{district.school_a.id}/edit", {"name": "改名小学"}),
        ("/settings/clusters/new", {"code": "C9", "name": "新片区"}),
        (f"/settings/clusters/{district.cluster_1.id}/edit", {"code": "C1", "name": "改名片区"}),
    ]


SCORING = {
    "area_weights.canteen": "40",
    "area_weights.safety": "40",
    "area_weights.staff": "20",
    "spot_weight_percent": "70",
    "late_deduction": "2",
    "credibility_gap": "15",
    "bands.A": "90",
    "bands.B": "75",
    "bands.C": "60",
    "max_missing_months.term": "1",
    "max_missing_months.year": "1",
    "sensitivity_shift": "10",
    "note": "",
}


# --- who ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin_a", "inspector"])
def test_school_admins_and_inspectors_are_refused(app: Any, district: District, username: str) -> None:
    client = _client(app, username)
    for path in READ_PAGES:
        assert client.get(path).status_code == 403, path
    for path, body in _write_posts(district):
        resp = client.post(path, data=body)
        # their own school's or cluster's rows are found, then refused; nothing else is reachable
        assert resp.status_code == 403, (path, resp.status_code)
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="settings-menu"' not in page


def test_officials_read_everything_and_change_nothing(app: Any, district: District) -> None:
    client = _client(app, "official")
    assert 'data-testid="settings-menu"' in client.get("/").get_data(as_text=True)
    for path in READ_PAGES:
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200, path
        assert "只读：只有教育局管理员可以修改设置。" in page, path
        assert _live_buttons(page) == [], path
    for path in ("/settings/users/new", "/settings/schools/new", "/settings/clusters/new"):
        assert client.get(path).status_code == 403, path
    before = _audit_count(app)
    for path, body in _write_posts(district):
        assert client.post(path, data=body).status_code == 403, path
    assert _audit_count(app) == before


def _live_buttons(page: str) -> list[str]:
    """Submit buttons of the page's POST forms that are not inside a disabled fieldset."""
    main = page.split("<main", 1)[1]
    main = re.sub(r"<fieldset disabled>.*?</fieldset>", "", main, flags=re.S)
    forms = re.findall(r'<form method="post".*?</form>', main, flags=re.S)
    return [f[:120] for f in forms if 'type="submit"' in f]


def _audit_count(app: Any) -> int:
    from sqlalchemy import func

    from service.audit.models import AuditEntry
    from service.db import db

    with _bureau(app):
        n = db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        db.session.remove()
    return n


# --- rubrics -----------------------------------------------------------------------------------------


def _draft(app: Any, client: Any, rubric_id: int = 1) -> int:
    resp = client.post(f"/settings/rubrics/{rubric_id}/draft", data={"note": "调整留样扣分"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[-1])


def _item(app: Any, version_id: int, code: str) -> Any:
    from service.db import db
    from service.rubrics.operations import get_version

    with _bureau(app):
        version = get_version(version_id)
        item = next(i for i in version.all_items() if i.code == code)
        out = {"id": item.id, "section": item.section.code, "deduction": item.deduction, "text": item.text}
        out["order"] = [i.code for i in item.section.items]
        db.session.remove()
    return out


def _edited(client: Any, item_id: int, **changes: str) -> MultiDict:
    """The item's edit form as the browser posts it, with ``changes``."""
    page = client.get(f"/settings/rubric-items/{item_id}/edit").get_data(as_text=True)
    form = MultiDict(_form_values(page, "item-form"))
    for key, value in changes.items():
        form[key] = value
    return form


def test_draft_editor_and_publish_with_the_diff(app: Any, district: District) -> None:
    client = _client(app)
    assert 'data-testid="new-draft"' in client.get("/settings/rubrics").get_data(as_text=True)
    version_id = _draft(app, client)
    # one draft at a time: the API's 409, on the page
    resp = client.post("/settings/rubrics/1/draft", data={})
    assert resp.status_code == 409 and "该评分细则已有草稿（第 2 版）" in resp.get_data(as_text=True)

    d1 = _item(app, version_id, "D1")
    resp = client.post(
        f"/settings/rubric-items/{d1['id']}/edit", data=_edited(client, d1["id"], deduction="8", cap="10")
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    resp = client.post(
        f"/settings/rubric-versions/{version_id}/items/new",
        data={
            "section_code": "F",
            "code": "F9",
            "text": "家长委员会每月参与陪餐",
            "kind": "key",
            "deduction": "2",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    e3 = _item(app, version_id, "E3")
    assert client.post(f"/settings/rubric-items/{e3['id']}/delete").status_code == 302
    a2 = _item(app, version_id, "A2")
    assert client.post(f"/settings/rubric-items/{a2['id']}/move", data={"direction": "up"}).status_code == 302
    assert _item(app, version_id, "A1")["order"][:2] == ["A2", "A1"]

    page = client.get(f"/settings/rubric-versions/{version_id}/publish").get_data(as_text=True)
    entries = re.findall(r'data-testid="diff-item" data-code="(\w+)" data-status="(\w+)"', page)
    assert sorted(entries) == [("D1", "changed"), ("E3", "removed"), ("F9", "added")]
    d1_row = page.split('data-code="D1"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'data-field="(\w+)"', d1_row) == ["deduction", "cap"]
    assert (
        '<del class="text-danger" data-old>5</del> → <strong class="text-success" data-new>8</strong>'
        in d1_row
    )
    assert 'data-testid="diff-section" data-code="A" data-status="changed"' in page  # the order of A
    digest = re.search(r'name="digest" value="(\w+)"', page).group(1)

    resp = client.post(f"/settings/rubric-versions/{version_id}/publish", data={"digest": digest})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    listing = client.get("/settings/rubrics").get_data(as_text=True)
    assert "第 2 版" in listing and "已停用" in listing
    api = client.get("/api/v1/rubrics", headers=district.headers("admin")).get_json()
    assert api[0]["current_version"] == 2 and api[0]["draft_version_id"] is None
    (update,) = [e for e in _audit(app, "rubric_items", d1["id"]) if e.action.value == "update"]
    assert update.changes == {"deduction": ["5.00", "8.00"], "cap": [None, "10.00"]}
    assert update.actor_name == "admin"
    published = [e for e in _audit(app, "rubric_versions", version_id) if e.action.value == "update"]
    assert published[-1].changes["status"] == ["draft", "published"]


def test_item_refusals_are_beside_the_fields_and_nothing_is_saved(app: Any, district: District) -> None:
    client = _client(app)
    version_id = _draft(app, client)
    new = f"/settings/rubric-versions/{version_id}/items/new"
    resp = client.post(new, data={"section_code": "A", "code": "", "text": "", "deduction": "3", "cap": "1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "code") == ["此项为必填项。"] and errors_for(page, "text") == ["此项为必填项。"]
    assert 'value="3"' in page  # the input is kept
    resp = client.post(
        new, data={"section_code": "A", "code": "A9", "text": "新项目", "deduction": "3", "cap": "1"}
    )
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "cap") == ["扣分上限不能小于每次扣分。"]
    resp = client.post(new, data={"section_code": "A", "code": "B1", "text": "重复编号", "deduction": "1"})
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "code") == ["本版本中已有其他评分项使用该编号。"]
    resp = client.post(new, data={"section_code": "A", "code": "A9", "text": "x", "deduction": "abc"})
    assert errors_for(resp.get_data(as_text=True), "deduction") == ["不是有效的数字。"]
    api = client.get(f"/api/v1/rubric-versions/{version_id}", headers=district.headers("admin")).get_json()
    codes = [i["code"] for s in api["sections"] for i in s["items"]]
    assert "A9" not in codes and codes.count("B1") == 1

    # sections: the schema's error beside the section's points, the domain's on top
    sections = {
        "note": "",
        "section-0-code": "A",
        "section-0-name": "证照与管理",
        "section-0-max_points": "-1",
    }
    resp = client.post(f"/settings/rubric-versions/{version_id}", data=sections)
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "section-0-max_points") == ["须在 0 到 100 之间。"]


def test_a_published_version_never_changes(app: Any, district: District) -> None:
    client = _client(app)
    resp = client.get("/settings/rubric-items/1/edit")
    assert resp.status_code == 409 and "已发布的版本不可修改，请新建版本" in resp.get_data(as_text=True)
    resp = client.post(
        "/settings/rubric-items/1/edit",
        data={"section_code": "A", "code": "A1", "text": "x", "deduction": "9"},
    )
    assert resp.status_code == 409
    assert client.post("/settings/rubric-items/1/delete").status_code == 409
    assert _item(app, 1, "A1")["deduction"] != 9
    assert [e for e in _audit(app, "rubric_items", 1) if e.action.value != "insert"] == []


def test_publishing_is_refused_until_the_points_add_up(app: Any, district: District) -> None:
    client = _client(app)
    version_id = _draft(app, client)
    data = {"note": "", "section-0-code": "A", "section-0-name": "证照与管理", "section-0-max_points": "12"}
    assert client.post(f"/settings/rubric-versions/{version_id}", data=data).status_code == 302
    page = client.get(f"/settings/rubric-versions/{version_id}/publish").get_data(as_text=True)
    assert (
        "各部分分值合计必须为 100 分（当前为 102.00 分）。" in page
        and 'data-testid="confirm-publish" disabled' in page
    )
    digest = re.search(r'name="digest" value="(\w+)"', page).group(1)
    resp = client.post(f"/settings/rubric-versions/{version_id}/publish", data={"digest": digest})
    assert resp.status_code == 422 and "各部分分值合计必须为 100 分（当前为 102.00 分）。" in resp.get_data(
        as_text=True
    )
    # a confirmation of an older state of the draft is shown again, not published
    resp = client.post(f"/settings/rubric-versions/{version_id}/publish", data={"digest": "stale"})
    assert resp.status_code == 409 and "草稿在此页显示后已被修改" in resp.get_data(as_text=True)
    api = client.get(f"/api/v1/rubric-versions/{version_id}", headers=district.headers("admin")).get_json()
    assert api["status"] == "draft"


# --- rules -------------------------------------------------------------------------------------------


def _rule_versions(app: Any, kind: str) -> list[Any]:
    from service.db import db
    from service.rules.models import RuleKind, RuleSet

    with _bureau(app):
        rows = [
            (r.version, r.settings, r.note)
            for r in db.session.scalars(select(RuleSet).where(RuleSet.kind == RuleKind(kind)))
        ]
        db.session.remove()
    return rows


def test_scoring_rules_are_confirmed_with_the_diff_then_saved(app: Any, district: District) -> None:
    client = _client(app)
    page = client.get("/settings/rules/scoring").get_data(as_text=True)
    assert 'name="area_weights.canteen"' in page and 'value="40"' in page
    form = {**SCORING, "area_weights.canteen": "50", "note": "食堂权重上调"}
    resp = client.post("/settings/rules/scoring", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-testid="rules-diff"' in page
    assert re.findall(r'data-key="([\w.]+)"', page) == ["area_weights.canteen"]
    assert "食堂领域权重" in page and '<del class="text-danger" data-old>40</del>' in page
    assert _rule_versions(app, "scoring") == []  # nothing saved before the confirmation
    hidden = dict(re.findall(r'<input type="hidden" name="([\w.]+)" value="([^"]*)">', page))
    assert hidden["base_version"] == "0" and hidden["confirm"] == "1"
    resp = client.post("/settings/rules/scoring", data=hidden)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    ((version, settings, note),) = _rule_versions(app, "scoring")
    assert version == 1 and settings["area_weights"]["canteen"] == "50" and note == "食堂权重上调"
    api = client.get("/api/v1/rules/scoring", headers=district.headers("official")).get_json()
    assert api["version"] == 1 and api["settings"]["area_weights"]["canteen"] == "50"
    listing = client.get("/settings/rules").get_data(as_text=True)
    assert 'data-version="1"' in listing and "食堂权重上调" in listing
    (entry,) = _audit(app, "rule_sets")
    assert entry.action.value == "insert" and entry.changes["version"] == [None, 1]
    # the same confirmation again: version 1 is in force now, so it is shown again (409), not saved
    resp = client.post("/settings/rules/scoring", data=hidden)
    assert resp.status_code == 409 and "已另存了新版本" in resp.get_data(as_text=True)
    assert len(_rule_versions(app, "scoring")) == 1


def test_scoring_rules_refusals(app: Any, district: District) -> None:
    client = _client(app)
    bad = {**SCORING, "bands.A": "70", "area_weights.safety": "abc", "max_missing_months.term": "x"}
    resp = client.post("/settings/rules/scoring", data={**bad, "confirm": "1", "base_version": "0"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert errors_for(page, "area_weights.safety") == ["不是有效的数字。"]
    assert errors_for(page, "max_missing_months.term") == ["不是有效的整数。"]
    resp = client.post("/settings/rules/scoring", data={**SCORING, "bands.A": "70"})
    assert errors_for(resp.get_data(as_text=True), "bands") == ["等级分数线须递减：A 高于 B，B 高于 C。"]
    zero = {**SCORING, "area_weights.canteen": "0", "area_weights.safety": "0", "area_weights.staff": "0"}
    resp = client.post("/settings/rules/scoring", data=zero)
    assert errors_for(resp.get_data(as_text=True), "area_weights") == ["各领域权重之和必须大于 0。"]
    resp = client.post("/settings/rules/scoring", data={**SCORING, "late_deduction": ""})
    assert errors_for(resp.get_data(as_text=True), "late_deduction") == ["此项为必填项。"]
    assert _rule_versions(app, "scoring") == []


def test_commendation_rules(app: Any, district: District) -> None:
    client = _client(app)
    page = client.get("/settings/rules/commendations").get_data(as_text=True)
    form = _form_values(page, "commendation-rules-form")
    assert form["trusted_canteen.min_canteen_mean"] == ["95"]
    changed = MultiDict({**form, "trusted_canteen.min_canteen_mean": ["92"]})
    changed.setlist(
        "safe_campus.veto_rules", [v for v in form["safe_campus.veto_rules"] if v != "major_fire"]
    )
    resp = client.post("/settings/rules/commendations", data=changed)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert re.findall(r'data-key="([\w.]+)"', page) == [
        "trusted_canteen.min_canteen_mean",
        "safe_campus.veto_rules",
    ]
    assert "放心食堂 · 食堂平均分不低于" in page
    hidden = MultiDict(_hidden(page))
    assert client.post("/settings/rules/commendations", data=hidden).status_code == 302
    api = client.get("/api/v1/commendations/rules", headers=district.headers("admin")).get_json()
    assert api["version"] == 1 and api["settings"]["trusted_canteen"]["min_canteen_mean"] == "92"
    assert "major_fire" not in api["settings"]["safe_campus"]["veto_rules"]

    bad = MultiDict({**form, "trusted_canteen.min_canteen_mean": ["120"]})
    resp = client.post("/settings/rules/commendations", data=bad)
    assert resp.status_code == 422
    assert errors_for(resp.get_data(as_text=True), "trusted_canteen.min_canteen_mean") == [
        "须在 0 到 100 之间。"
    ]
    assert len(_rule_versions(app, "commendations")) == 1


def _form_values(page: str, testid: str) -> dict[str, list[str]]:
    """The values a browser would post from the form ``testid`` (text inputs, selects, ticked boxes)."""
    form = page.split(f'data-testid="{testid}"', 1)[1].split("</form>", 1)[0]
    values: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        kind = re.search(r'type="(\w+)"', tag)
        if kind and kind.group(1) == "checkbox" and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values.setdefault(name.group(1), []).append(html.unescape(value.group(1)) if value else "on")
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[name] = [html.unescape(body)]
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = [chosen.group(1) if chosen else ""]
    return values


def _hidden(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([\w.]+)" value="([^"]*)">', page)
