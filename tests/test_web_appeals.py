"""Appeal pages (申诉): a school appeals a spot inspection within ten working days, a different inspector
decides it, the inspection's own inspector is refused (403 with the domain's reason), and nobody reaches
another cluster's appeals."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from service.appeals.models import InspectionAppeal
from service.db import db
from service.inspections.models import Inspection
from tenants import TenantScope, use_scope
from tests.browser_support import Month
from tests.conftest import District, login
from tests.review_support import add_inspector, spot


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def _appeal(app: Any, inspection_id: int) -> InspectionAppeal | None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.scalars(
            select(InspectionAppeal).where(InspectionAppeal.inspection_id == inspection_id)
        ).one_or_none()
        db.session.remove()
    return row


def _file(app: Any, district: District, month: Month) -> tuple[int, int]:
    """A spot inspection of A by ``inspector`` yesterday (Friday 20 November) and A's appeal of it."""
    inspection = spot(app.test_client(), district, month.period_id, date(2026, 11, 20), B2=2)
    resp = _client(app, "admin_a").post(
        f"/inspections/{inspection['id']}/appeal", data={"reason": "晨检记录当天已补录，督查时未查看"}
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    appeal_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    return inspection["id"], appeal_id


def test_school_appeals_within_ten_working_days(app: Any, district: District, month: Month) -> None:
    inspection = spot(app.test_client(), district, month.period_id, date(2026, 11, 20), B2=2)
    school = _client(app, "admin_a")
    listing = school.get("/appeals").get_data(as_text=True)
    assert f"/inspections/{inspection['id']}/appeal" in listing and "2026-12-04" in listing
    form = school.get(f"/inspections/{inspection['id']}/appeal")
    page = form.get_data(as_text=True)
    # Friday 20 November: the tenth working day after it is Friday 4 December
    assert form.status_code == 200 and "2026-12-04" in page and "B2" in page
    empty = school.post(f"/inspections/{inspection['id']}/appeal", data={"reason": ""})
    assert empty.status_code == 422
    assert re.search(r'data-error-for="reason">请填写理由（至少4个字）。<', empty.get_data(as_text=True))
    assert _appeal(app, inspection["id"]) is None

    filed = school.post(
        f"/inspections/{inspection['id']}/appeal",
        data={"reason": "晨检记录当天已补录"},
        follow_redirects=True,
    )
    assert filed.status_code == 200 and "待复核" in filed.get_data(as_text=True)
    assert _appeal(app, inspection["id"]).reason == "晨检记录当天已补录"
    # no decide buttons for the school
    assert 'data-action="uphold"' not in filed.get_data(as_text=True)


def test_filing_after_ten_working_days_is_refused(app: Any, district: District, month: Month) -> None:
    # Monday 2 November: the tenth working day after it was Monday 16 November; today is the 21st
    inspection = spot(app.test_client(), district, month.period_id, date(2026, 11, 2))
    school = _client(app, "admin_a")
    assert "alert-danger" in school.get(f"/inspections/{inspection['id']}/appeal").get_data(as_text=True)
    late = school.post(f"/inspections/{inspection['id']}/appeal", data={"reason": "我们不同意这次督查结果"})
    assert late.status_code == 422
    assert "已超过申诉期限：申诉须在督查后10个工作日内提出，最后期限为2026-11-16。" in late.get_data(
        as_text=True
    )
    assert "我们不同意这次督查结果" in late.get_data(as_text=True)  # the reason is kept
    assert _appeal(app, inspection["id"]) is None


def test_only_a_school_admin_files(app: Any, district: District, month: Month) -> None:
    inspection = spot(app.test_client(), district, month.period_id, date(2026, 11, 20))
    for username in ("inspector", "admin"):
        client = _client(app, username)
        assert client.get(f"/inspections/{inspection['id']}/appeal").status_code == 403
        assert (
            client.post(
                f"/inspections/{inspection['id']}/appeal", data={"reason": "冒名申诉理由"}
            ).status_code
            == 403
        )
    assert _appeal(app, inspection["id"]) is None


def test_the_inspections_own_inspector_cannot_decide(app: Any, district: District, month: Month) -> None:
    inspection_id, appeal_id = _file(app, district, month)
    own = _client(app, "inspector")
    page = own.get(f"/appeals/{appeal_id}").get_data(as_text=True)
    assert 'data-action="uphold"' not in page and 'data-testid="not-yours"' in page
    # not in their queue to decide; listed apart as an appeal against their own inspection
    queue = own.get("/appeals").get_data(as_text=True)
    to_decide = queue[queue.index('data-testid="appeal-queue"') : queue.index('data-testid="own-appeals"')]
    assert f'data-appeal-id="{appeal_id}"' not in to_decide
    assert f'data-appeal-id="{appeal_id}"' in queue[queue.index('data-testid="own-appeals"') :]
    forced = own.post(f"/appeals/{appeal_id}", data={"outcome": "upheld", "note": "我认为申诉成立"})
    assert forced.status_code == 403
    assert "您是该次督查的检查人，不能复核其申诉；须由其他督查员或教育局复核。" in forced.get_data(
        as_text=True
    )
    assert _appeal(app, inspection_id).state.value == "submitted"


def test_a_second_inspector_of_the_cluster_decides(app: Any, district: District, month: Month) -> None:
    inspection_id, appeal_id = _file(app, district, month)
    add_inspector(app, district, "inspector2", district.cluster_1)
    other = _client(app, "inspector2")
    queue = other.get("/appeals").get_data(as_text=True)
    assert f'data-appeal-id="{appeal_id}"' in queue and "甲小学" in queue
    assert f'data-appeal-id="{appeal_id}"' not in other.get("/appeals?show=decided").get_data(as_text=True)
    page = other.get(f"/appeals/{appeal_id}").get_data(as_text=True)
    assert 'data-action="uphold"' in page and 'data-action="dismiss"' in page
    assert "晨检记录当天已补录，督查时未查看" in page

    no_note = other.post(f"/appeals/{appeal_id}", data={"outcome": "upheld", "note": ""})
    assert no_note.status_code == 422
    assert re.search(r'data-error-for="note">请填写复核意见（至少4个字）。<', no_note.get_data(as_text=True))
    assert _appeal(app, inspection_id).state.value == "submitted"

    done = other.post(
        f"/appeals/{appeal_id}", data={"outcome": "upheld", "note": "核实晨检记录齐全"}, follow_redirects=True
    )
    assert done.status_code == 200 and "申诉成立" in done.get_data(as_text=True)
    assert _appeal(app, inspection_id).state.value == "upheld"
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert (
            db.session.scalars(select(Inspection.excluded).where(Inspection.id == inspection_id)).one()
            is True
        )
        db.session.remove()
    # decided: the buttons are gone, a second decision is the domain's 409
    assert 'data-action="uphold"' not in done.get_data(as_text=True)
    again = other.post(f"/appeals/{appeal_id}", data={"outcome": "rejected", "note": "再次复核驳回"})
    assert again.status_code == 409
    assert f'data-appeal-id="{appeal_id}"' in other.get("/appeals?show=decided").get_data(as_text=True)


def test_appeals_stay_inside_the_scope(app: Any, district: District, month: Month) -> None:
    _inspection_id, appeal_id = _file(app, district, month)
    add_inspector(app, district, "inspector_west", district.cluster_2)
    west = _client(app, "inspector_west")
    assert west.get(f"/appeals/{appeal_id}").status_code == 404
    assert (
        west.post(f"/appeals/{appeal_id}", data={"outcome": "upheld", "note": "越权裁决"}).status_code == 404
    )
    assert f'data-appeal-id="{appeal_id}"' not in west.get("/appeals").get_data(as_text=True)
    assert _client(app, "admin_b").get(f"/appeals/{appeal_id}").status_code == 404
    # the bureau sees every appeal
    assert f'data-appeal-id="{appeal_id}"' in _client(app, "admin").get("/appeals").get_data(as_text=True)
