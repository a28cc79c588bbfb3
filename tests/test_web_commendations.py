"""Commendations as the bureau runs a round (issue 11, part 7): only a term or year that has ended is
proposed (hand dates around the lock of its last month), bulk approval or rejection with one comment
through the same ``decide``, publication only from its confirmation page with the digest of what is
frozen, and the certificate progress line that polls while certificates are being issued.

The term is built by hand (tests/test_commendations.py: Term), so the candidates are known exactly.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.commendations import operations
from service.commendations.models import CommendationCandidate, CommendationRound, Decision
from service.core.errors import Conflict
from service.core.types import utcnow
from service.db import db
from service.periods.models import Period
from service.rankings.calendar import parse_target, term_target, year_target
from service.rankings.models import RankingKind, RankingSnapshot
from tenants import TenantScope, use_scope
from tests.conftest import District, login
from tests.test_commendations import BASE, KEY, _lines, _propose, _workflow_term, building

JULY_LOCKS = date(2025, 8, 16)  # the term's last month, July 2025: deadline 5 August + 10 days of grace


# --- ended: the day the last month locks ----------------------------------------------------------


def test_a_term_ends_when_its_last_month_locks(app: Any, district: District) -> None:
    _workflow_term(app, district)
    with app.app_context(), use_scope(TenantScope.bureau()):
        term = parse_target("term", KEY)
        assert operations.ends_on(term) == JULY_LOCKS
        assert operations.ends_on(year_target(2024)) == JULY_LOCKS  # the year ends with the same July
        assert not operations.has_ended(term, JULY_LOCKS - timedelta(days=1))
        assert operations.has_ended(term, JULY_LOCKS)
        # a month never opened ends on the day it would have locked with the defaults: 16 February
        assert operations.ends_on(term_target(2025, 1)) == date(2026, 2, 16)
        # the period's own settings count: a shorter grace period ends the term earlier
        july = db.session.scalars(select(Period).where(Period.year == 2025, Period.month == 7)).one()
        july.lock_days = 3
        db.session.flush()
        assert operations.ends_on(term) == date(2025, 8, 9)
        db.session.rollback()
        db.session.remove()


def test_proposing_before_the_end_is_refused_and_creates_nothing(app: Any, district: District) -> None:
    _workflow_term(app, district)
    with app.app_context(), use_scope(TenantScope.bureau()):
        with pytest.raises(Conflict) as refused:
            operations.propose("term", KEY, today=JULY_LOCKS - timedelta(days=1))
        assert refused.value.errors == {
            "key": [
                "2024—2025学年第二学期尚未结束：其最后一个月（2025-07）于 2025-08-16 锁定后方可提名表彰候选。"
            ]
        }
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(CommendationRound)) == 0
        row = operations.propose("term", KEY, today=JULY_LOCKS)  # the day it locks: ended
        assert row.as_of == date(2025, 7, 31)
        db.session.rollback()
        db.session.remove()


def test_the_api_the_cli_and_the_page_refuse_a_running_term_alike(
    app: Any, client: Any, district: District
) -> None:
    """On the suite's day (2026-11-21) term 1 of 2026/27 runs until January: refused everywhere."""
    running = "2026-2027-1"
    h = district.headers("admin")
    for url in (f"{BASE}/rounds?sync=1", f"{BASE}/rounds"):  # computed now, or queued for the worker
        resp = client.post(url, json={"kind": "term", "key": running}, headers=h)
        assert resp.status_code == 409, resp.get_json()
        assert "尚未结束" in resp.get_json()["errors"]["key"][0]
    year = client.post(f"{BASE}/rounds?sync=1", json={"kind": "year", "key": "2026-2027"}, headers=h)
    assert year.status_code == 409 and "2027-07" in year.get_json()["errors"]["key"][0]

    from service.commendations.cli import commendations_cli

    result = app.test_cli_runner().invoke(commendations_cli, ["propose", "term", running])
    assert result.exit_code == 1 and "key:" in result.output and "尚未结束" in result.output

    web = app.test_client()
    login(web, "admin")
    page = web.post("/commendations/propose", data={"kind": "term", "key": running})
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert 'data-error-for="key"' in text and "2027-01" in text and f'value="{running}"' in text
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count()).select_from(CommendationRound)) == 0
        db.session.remove()


def test_ended_terms_and_years_newest_first(app: Any, district: District) -> None:
    """The rounds page (and the demo) offer the terms and years that have ended and have a ranking."""
    _workflow_term(app, district)  # term 2 of 2024/25
    with building(app) as session:
        for kind, key in ((RankingKind.YEAR, "2024-2025"), (RankingKind.TERM, "2025-2026-1")):
            session.add(
                RankingSnapshot(
                    kind=kind,
                    key=key,
                    period_ids=[],
                    basis={},
                    input_hash=key.ljust(64, "i"),
                    payload_hash=key.ljust(64, "p"),
                    summary={},
                )
            )
    with app.app_context(), use_scope(TenantScope.bureau()):
        keys = [(t.kind.value, t.key) for t in operations.ended_targets(date(2026, 2, 15))]
        assert keys == [("year", "2024-2025"), ("term", KEY)]  # term 1 of 2025/26 locks on 16 Feb
        keys = [(t.kind.value, t.key) for t in operations.ended_targets(date(2026, 2, 16))]
        assert keys == [("term", "2025-2026-1"), ("year", "2024-2025"), ("term", KEY)]
        db.session.remove()
    web = app.test_client()
    login(web, "admin")
    page = web.get("/commendations").get_data(as_text=True)
    assert 'data-testid="ended"' in page and "2024—2025学年" in page
    assert 'name="key" required value="2025-2026-1"' in page  # the form starts on the newest ended one


# --- bulk decisions ---------------------------------------------------------------------------------


def _qualifying(app: Any, rid: int) -> dict[tuple[str, int], int]:
    return {k[:2]: v["id"] for k, v in _lines(app, rid).items() if v["qualifies"]}


def _near_miss(app: Any, rid: int) -> int:
    return next(v["id"] for v in _lines(app, rid).values() if not v["qualifies"])


def test_decide_many_decides_each_through_decide_and_lists_the_refused(app: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    ids = list(_qualifying(app, rid).values())
    near = _near_miss(app, rid)
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.get(CommendationRound, rid)
        cands = [db.session.get(CommendationCandidate, i) for i in [*ids, near]]
        blank = operations.decide_many(row, cands, Decision.REJECTED, "  ", user=None, now=utcnow())
        assert blank.decided == [] and len(blank.refused) == len(cands)
        assert {tuple(errors) for _c, errors in blank.refused} == {("comment",), ("decision",)}
        done = operations.decide_many(
            row, cands, Decision.APPROVED, "材料齐全", user=district.admin, now=utcnow()
        )
        assert [c.id for c in done.decided] == ids
        assert [(c.id, list(e)) for c, e in done.refused] == [(near, ["decision"])]
        assert {(c.decision, c.comment, c.decided_by_id) for c in done.decided} == {
            (Decision.APPROVED, "材料齐全", district.admin.id)
        }
        other = operations.open_round("year", "2024-2025")
        moved = operations.decide_many(
            other, cands[:1], Decision.REJECTED, "不属于本轮", user=None, now=utcnow()
        )
        assert moved.decided == [] and list(moved.refused[0][1]) == ["candidate_ids"]
        db.session.commit()
        db.session.remove()
    assert {v["decision"] for k, v in _lines(app, rid).items() if v["qualifies"]} == {"approved"}


def test_bulk_form_applies_one_comment_and_shows_refusals_beside_rows(app: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    ids = _qualifying(app, rid)
    near = _near_miss(app, rid)
    web = app.test_client()
    login(web, "admin")
    page = web.get(f"/commendations/{rid}").get_data(as_text=True)
    assert 'id="bulk"' in page and page.count('form="bulk" name="candidate_id"') == len(ids)

    chosen = [str(i) for i in ids.values()]
    blank = web.post(f"/commendations/{rid}/decisions", data={"candidate_id": chosen, "decision": "rejected"})
    assert blank.status_code == 422
    text = blank.get_data(as_text=True)
    assert 'data-error-for="comment"' in text and "不批准候选时请填写理由。" in text
    assert text.count("checked") >= len(chosen)  # the ticks are kept
    assert {v["decision"] for v in _lines(app, rid).values()} == {"pending"}  # nothing half-saved

    none = web.post(f"/commendations/{rid}/decisions", data={"decision": "approved"})
    assert none.status_code == 422 and "请先勾选要审定的候选。" in none.get_data(as_text=True)

    mixed = web.post(
        f"/commendations/{rid}/decisions?all=1",
        data={"candidate_id": [*chosen, str(near)], "decision": "approved", "comment": "同意", "all": "1"},
    )
    assert mixed.status_code == 200  # some decided: the page lists the one refused
    text = mixed.get_data(as_text=True)
    assert f'data-refused="{near}"' in text and "只有符合条件的候选才能批准或不批准。" in text
    assert f"批准：{len(ids)} 个候选。" in text
    lines = _lines(app, rid)
    assert {(v["decision"]) for v in lines.values() if v["qualifies"]} == {"approved"}
    assert lines[next(k for k, v in lines.items() if v["id"] == near)]["decision"] == "pending"

    ok = web.post(
        f"/commendations/{rid}/decisions",
        data={"candidate_id": chosen[:1], "decision": "rejected", "comment": "名额另议"},
    )
    assert ok.status_code == 303


def test_who_may_decide_in_bulk(app: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    chosen = [str(i) for i in _qualifying(app, rid).values()]
    for username, status in (("official", 403), ("inspector", 403), ("admin_a", 404)):
        web = app.test_client()
        login(web, username)
        resp = web.post(
            f"/commendations/{rid}/decisions", data={"candidate_id": chosen, "decision": "approved"}
        )
        assert resp.status_code == status, username
    official = app.test_client()
    login(official, "official")
    page = official.get(f"/commendations/{rid}").get_data(as_text=True)
    assert 'id="bulk"' not in page and 'name="candidate_id"' not in page  # officials read only
    assert {v["decision"] for v in _lines(app, rid).values()} == {"pending"}


def test_bulk_decisions_through_the_api(app: Any, client: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    ids = list(_qualifying(app, rid).values())
    near = _near_miss(app, rid)
    h = district.headers("admin")
    url = f"{BASE}/rounds/{rid}/decisions"
    resp = client.post(
        url, json={"candidate_ids": [*ids, near], "decision": "approved", "comment": "同意"}, headers=h
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert sorted(c["id"] for c in body["decided"]) == sorted(ids)
    assert body["refused"] == [
        {"candidate_id": near, "errors": {"decision": ["只有符合条件的候选才能批准或不批准。"]}}
    ]
    assert client.post(url, json={"candidate_ids": [], "decision": "approved"}, headers=h).status_code == 422
    assert (
        client.post(
            url, json={"candidate_ids": ids, "decision": "approved"}, headers=district.headers("official")
        ).status_code
        == 403
    )


# --- publishing needs its confirmation --------------------------------------------------------------


def test_publish_needs_the_digest_of_the_list_shown(app: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    ids = list(_qualifying(app, rid).values())
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.get(CommendationRound, rid)
        cands = [db.session.get(CommendationCandidate, i) for i in ids]
        operations.decide_many(row, cands, Decision.APPROVED, "", user=None, now=utcnow())
        preview = operations.publication_preview(row)
        assert preview.pending == 0 and preview.total_awards == len(ids) == 4
        assert {c.value: n for c, n in preview.counts.items()} == {
            "advanced_unit": (2, 0),
            "trusted_canteen": (1, 0),
            "safe_campus": (1, 0),
            "outstanding_staff": (0, 0),
        }
        for confirm in ("", "0" * 64):
            with pytest.raises(Conflict) as refused:
                operations.publish(row, user=None, now=utcnow(), confirm=confirm)
            assert list(refused.value.errors) == ["confirm"]
        # a decision changed after the list was shown: the old confirmation no longer publishes
        operations.decide(cands[0], Decision.REJECTED, "名额另议", user=None, now=utcnow())
        with pytest.raises(Conflict):
            operations.publish(row, user=None, now=utcnow(), confirm=preview.digest)
        fresh = operations.publication_preview(row)
        assert fresh.digest != preview.digest and fresh.total_awards == 3
        operations.publish(row, user=None, now=utcnow(), confirm=fresh.digest)
        assert row.is_published
        db.session.rollback()
        db.session.remove()


def _approve_all(app: Any, rid: int) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = db.session.get(CommendationRound, rid)
        cands = [db.session.get(CommendationCandidate, i) for i in _qualifying(app, rid).values()]
        operations.decide_many(row, cands, Decision.APPROVED, "", user=None, now=utcnow())
        db.session.commit()
        db.session.remove()


def test_the_confirmation_page_shows_what_is_frozen_and_is_the_only_way_to_publish(
    app: Any, district: District
) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    web = app.test_client()
    login(web, "admin")
    # with candidates still pending the page says so and offers no publish button
    pending = web.get(f"/commendations/{rid}/publish").get_data(as_text=True)
    assert 'data-testid="pending"' in pending and 'data-testid="confirm-publish"' not in pending
    _approve_all(app, rid)
    round_page = web.get(f"/commendations/{rid}").get_data(as_text=True)
    assert f'href="/commendations/{rid}/publish" data-testid="publish"' in round_page  # a link, not a POST

    page = web.get(f"/commendations/{rid}/publish")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "公布后不能撤销。" in text and "确认公布这 4 项表彰" in text
    assert 'data-testid="total-awards">4<' in text
    assert "甲小学" in text and "乙小学" in text and "丙小学" in text
    digest = text.split('name="confirm" value="', 1)[1].split('"', 1)[0]

    unconfirmed = web.post(f"/commendations/{rid}/publish", data={})
    assert unconfirmed.status_code == 409
    assert "公布前须确认" in unconfirmed.get_data(as_text=True)
    for username in ("official", "inspector"):
        other = app.test_client()
        login(other, username)
        assert other.get(f"/commendations/{rid}/publish").status_code == 403
        assert other.post(f"/commendations/{rid}/publish", data={"confirm": digest}).status_code == 403
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert not db.session.get(CommendationRound, rid).is_published
        db.session.remove()

    done = web.post(f"/commendations/{rid}/publish", data={"confirm": digest})
    assert done.status_code == 303
    after = web.get(done.headers["Location"]).get_data(as_text=True)
    assert "已公布" in after and f"{KEY}-XJDW-001" in after
    again = web.get(f"/commendations/{rid}/publish")  # nothing left to confirm
    assert again.status_code == 303


def test_certificate_progress_polls_until_every_certificate_is_issued(
    app: Any, client: Any, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.core import outbox

    _workflow_term(app, district)
    rid = _propose(app)
    _approve_all(app, rid)
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "dispatch", lambda name, kwargs: sent.append((name, kwargs)))
    web = app.test_client()
    login(web, "admin")
    digest = (
        web.get(f"/commendations/{rid}/publish")
        .get_data(as_text=True)
        .split('name="confirm" value="', 1)[1][:64]
    )
    assert web.post(f"/commendations/{rid}/publish", data={"confirm": digest}).status_code == 303

    fragment = web.get(f"/commendations/{rid}/certificates").get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in fragment and "已生成 0 / 4 份" in fragment
    assert 'aria-valuenow="0"' in fragment
    assert 'hx-get="/commendations/' in web.get(f"/commendations/{rid}").get_data(as_text=True)

    task = app.extensions["celery"].tasks["tasks.commendations.issue_certificates"]
    task.apply(kwargs=sent[0][1]).get()
    done = web.get(f"/commendations/{rid}/certificates").get_data(as_text=True)
    assert "hx-trigger" not in done and "4 份已全部生成" in done  # the polling stops

    school = app.test_client()
    login(school, "admin_a")
    mine = school.get(f"/commendations/{rid}/certificates")
    assert mine.status_code == 200 and "2 份已全部生成" in mine.get_data(as_text=True)  # A's own two
    official = app.test_client()
    login(official, "official")
    assert official.get(f"/commendations/{rid}/certificates").status_code == 200
