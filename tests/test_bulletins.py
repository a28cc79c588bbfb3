"""Bulletins (督查通报) and report cards: figures equal the ranking snapshot's, numbers assigned once,
no other school's non-public data on a report card, both languages, PDF font and text, workbooks,
the renderers of the mail kinds, the preview pages and ``houqin bulletin``."""

from __future__ import annotations

import io
import re
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from service.bulletins import operations, render, workbooks
from service.bulletins.models import BulletinIssue
from service.bulletins.report_card import report_card_content
from service.db import db
from service.mail.kinds import renderer_for
from service.org.models import School
from service.rankings.engine import entry_rows
from service.rankings.models import RankingKind, RankingSnapshot
from service.rankings.operations import current_snapshot
from tenants import TenantScope, use_scope
from tests import bulletin_data
from tests.bulletin_data import PRIVATE, Months
from tests.conftest import District, login

OCT = "2026-10"


@pytest.fixture
def months(app: Any, district: District) -> Months:
    return bulletin_data.build(app, district)


def _bureau(app: Any) -> Any:
    ctx = app.app_context()
    ctx.push()
    token = use_scope(TenantScope.bureau())
    token.__enter__()
    return ctx, token


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def _xlsx_text(data: bytes) -> dict[str, str]:
    wb = load_workbook(io.BytesIO(data))
    return {
        ws.title: "\n".join(
            " ".join("" if v is None else str(v) for v in row) for row in ws.iter_rows(values_only=True)
        )
        for ws in wb.worksheets
    }


# --- figures ---------------------------------------------------------------------------------------------


def test_bulletin_figures_equal_the_ranking_snapshot(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        snapshot = current_snapshot(RankingKind.MONTH, OCT)
        b = operations.bulletin("month", OCT)
        c = b.content
        assert b.issue is None  # a preview never issues
        assert c["snapshot"] == {
            "id": snapshot.id,
            "payload_hash": snapshot.payload_hash,
            "input_hash": snapshot.input_hash,
            "created_at": c["snapshot"]["created_at"],
        }
        rows = {r["school_id"]: r for r in entry_rows(snapshot.id)}
        assert len(c["ranking"]) == len(rows) == 4
        for line in c["ranking"]:
            e = rows[line["school_id"]]
            assert (line["score"], line["band"], line["status"]) == (e["score"], e["band"], e["status"])
            assert (line["rank"], line["rank_peer"], line["rank_cluster"]) == (
                e["rank_overall"],
                e["rank_peer"],
                e["rank_cluster"],
            )
            assert (line["movement"], line["previous_rank"], line["vetoed"]) == (
                e["movement"],
                e["previous_rank"],
                e["vetoed"],
            )
        # ranked first, in rank order; the missing school (SC in October) last
        ranks = [r["rank"] for r in c["ranking"]]
        assert ranks[:3] == sorted(ranks[:3]) and ranks[3] is None and c["ranking"][3]["code"] == "SC"
        s = c["summary"]
        assert (
            s["counts"]
            == {"ranked": 3, "insufficient": 0, "missing": 1}
            == {k: snapshot.summary["counts"][k] for k in s["counts"]}
        )
        scores = [Decimal(e["score"]) for e in rows.values() if e["score"] is not None]
        assert s["mean"] == str((sum(scores) / len(scores)).quantize(Decimal("0.1"), ROUND_HALF_UP))
        assert sum(s["bands"].values()) == 3
        for band, n in s["bands"].items():
            assert n == sum(1 for e in rows.values() if e["band"] == band)
        # previous period: the snapshot the ranking names
        assert c["previous"]["id"] == snapshot.previous_id and c["previous"]["key"] == "2026-09"
        prev = [Decimal(e["score"]) for e in entry_rows(snapshot.previous_id) if e["score"]]
        prev_mean = (sum(prev) / len(prev)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        assert s["previous_mean"] == str(prev_mean)
        assert Decimal(s["mean_change"]) == Decimal(s["mean"]) - prev_mean
        # submissions: SA, SD on time, SB late, SC nothing
        assert s["submissions"] == {"on_time": 2, "late": 1, "draft": 0, "missing": 1, "total": 4}
        # peer groups: primary with canteen (SA, SB), primary without (SC), junior with canteen (SD)
        groups = {g["peer_group"]: [x["code"] for x in g["schools"]] for g in c["peer_groups"]}
        assert groups == {
            "junior:canteen": ["SD"],
            "primary:canteen": ["SA", "SB"],
            "primary:no_canteen": ["SC"],
        }


def test_problems_hazards_vetoes_canteen_and_deadline(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        c = operations.bulletin("month", OCT).content
    problems = {(p["rubric"], p["code"]): p for p in c["problems"]}
    # A4 (daily log) failed at SA (self ×1, spot ×1) and SB (self): the most widespread item, first
    first = c["problems"][0]
    assert (first["rubric"], first["code"], first["school_count"], first["failures"]) == (
        "canteen",
        "A4",
        2,
        3,
    )
    assert [s["name"] for s in first["schools"]] == ["甲小学", "乙小学"]
    assert problems[("canteen", "D3")]["schools"] == [{"name": "甲小学", "failures": 1}]
    assert problems[("safety", "B3")]["schools"] == [{"name": "乙小学", "failures": 1}]
    # overdue at the period's end (31 Oct): SB's notice (deadline 10 Sep: 51 days), SC's (20 Oct: 11)
    overdue = {
        h["code"]: [(x["title"], x["days_overdue"]) for x in h["hazards"]] for h in c["overdue_hazards"]
    }
    assert overdue == {"SB": [("乙校配电箱未上锁", 51)], "SC": [("丙校围墙裂缝", 11)]}
    assert [i["code"] for i in c["incidents"]] == ["SB"]
    assert "乙校学生受伤经过" not in str(c)  # an incident's description is never published
    assert {v["code"] for v in c["vetoes"]} == {"SB"}
    canteen = {s["code"]: s for s in c["canteen"]["schools"]}
    assert canteen["SB"]["accompany_rate"] == "50.0" and canteen["SA"]["menu_rate"] == "90.0"
    assert c["canteen"]["schools"][0]["code"] == "SB"  # the weakest 陪餐 first
    assert c["canteen"]["menu_rate"] == "90.0"
    assert c["next_deadline"] == {
        "period": "2026-11",
        "label": {"zh": "2026年11月", "en": "2026-11"},
        "deadline": "2026-12-05",
        "opened": False,
    }
    # praise: a vetoed school (SB) is not praised
    assert "SB" not in {r["code"] for r in c["praise"]["top"] + c["praise"]["improved"]}


def test_number_is_assigned_once_and_the_issued_bulletin_keeps_its_figures(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        first = operations.issue("month", OCT)
        db.session.commit()
        assert (first.year, first.number) == (2026, 1)
        snapshot = current_snapshot(RankingKind.MONTH, OCT)
        assert (first.snapshot_id, first.payload_hash) == (snapshot.id, snapshot.payload_hash)
        assert first.content_hash == operations.digest(first.content)
        html = render.bulletin_document(operations.bulletin("month", OCT), "zh_CN").html
        assert "2026年第1期" in html
        again = operations.issue("month", OCT)
        assert again.id == first.id and again.number == 1
        second = operations.issue("month", "2026-09")
        db.session.commit()
        assert second.number == 2
        assert db.session.scalar(select(func.count()).select_from(BulletinIssue)) == 2
        # the ranking moves on (SB's October report reopened → a new snapshot): the bulletin does not
        from service.rankings.jobs import recompute_period
        from service.reports.models import MonthlyReport, ReportState

        report = db.session.scalars(
            select(MonthlyReport).where(
                MonthlyReport.school_id == months.schools["SB"], MonthlyReport.period_id == months.oct
            )
        ).one()
        report.state = ReportState.RETURNED
        db.session.flush()
        recompute_period(months.oct, today=bulletin_data.TODAY)
        db.session.commit()
        assert current_snapshot(RankingKind.MONTH, OCT).id != first.snapshot_id
        kept = operations.bulletin("month", OCT)
        assert kept.superseded and kept.issue.id == first.id
        assert render.bulletin_document(kept, "zh_CN").html == html  # the same document
        assert operations.issue("month", OCT).number == 1
        db.session.remove()


def test_concurrent_issue_is_serialised_on_postgres(app: Any, months: Months, pg: Any) -> None:
    """Two sessions issue the same month at once: one number, one row (advisory lock + re-read)."""
    import threading

    results: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        with app.app_context(), use_scope(TenantScope.bureau()):
            barrier.wait()
            row = operations.issue("month", OCT)
            results.append(row.number)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [1, 1]
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count()).select_from(BulletinIssue)) == 1
        db.session.remove()


# --- report cards ----------------------------------------------------------------------------------------

PUBLIC_TABLE = re.compile(r"<table[^>]*data-public-ranking[^>]*>.*?</table>", re.S)


def _code_in(code: str, text: str) -> bool:
    text = re.sub(r'style="[^"]*"', "", text)  # font names ("PingFang SC") are not school SC's code
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])", text) is not None


def test_report_card_shows_no_other_schools_non_public_data(app: Any, months: Months, tmp_path: Path) -> None:
    """Every school's card (HTML, text, PDF, workbook) against every other school: its code never, its
    name only in the published ranking, its staff, hazards, incidents and notes never."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        operations.issue("month", OCT)
        db.session.commit()
        schools = {s.code: s.name for s in db.session.scalars(select(School))}
        db.session.remove()
    checked = 0
    for code, school_id in months.schools.items():
        with app.app_context(), use_scope(TenantScope.school(school_id)):
            card = report_card_content(school_id, OCT)
            doc = render.report_card_document(card, "zh_CN")
            pdf_text = _pdf_text(render.pdf(doc), tmp_path)
            sheets = _xlsx_text(workbooks.report_card_xlsx(card, "zh_CN"))
            db.session.remove()
        assert card["school"]["name"] == schools[code]
        assert card["district"] is not None and card["district"]["ranked"] == 3
        outside_ranking = PUBLIC_TABLE.sub("", doc.html)
        assert outside_ranking != doc.html  # the published ranking is there
        private_sheets = "\n".join(v for k, v in sheets.items() if k != "全区排名")
        everywhere = "\n".join([doc.html, doc.text, doc.subject, pdf_text, *sheets.values()])
        for other, name in schools.items():
            if other == code:
                continue
            for text in (doc.html, doc.text, doc.subject, pdf_text, *sheets.values()):
                assert not _code_in(other, text), (code, other)
            assert name not in outside_ranking and name not in doc.text and name not in private_sheets, (
                code,
                other,
            )
            for marker in PRIVATE[other]:
                assert marker not in everywhere, (code, other, marker)
            checked += 1
        own = PRIVATE[code]
        assert own[0] not in everywhere  # staff names are never on a card (only the count and mean)
    assert checked == 12


def test_report_card_figures_are_the_schools_own(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        operations.issue("month", OCT)
        db.session.commit()
        snapshot = current_snapshot(RankingKind.MONTH, OCT)
        rows = {r["school_id"]: r for r in entry_rows(snapshot.id)}
        sa = months.schools["SA"]
        card = report_card_content(sa, OCT)
        db.session.remove()
    e = rows[sa]
    assert (card["score"], card["band"]) == (e["score"], e["band"])
    assert (card["rank"]["overall"], card["rank"]["peer"], card["rank"]["cluster"]) == (
        e["rank_overall"],
        e["rank_peer"],
        e["rank_cluster"],
    )
    assert card["rank"]["overall_of"] == 3 and card["rank"]["peer_of"] == 2
    assert card["staff"] == {"count": 1, "mean": "91.50"}
    lost = {p["code"]: p for p in card["lost_points"]}
    assert (lost["A4"]["points_off"], lost["A4"]["occurrences"], lost["D3"]["points_off"]) == ("3", 3, "5")
    assert [f["count"] for f in lost["A4"]["found_in"]] == [1, 1]  # one self-inspection, one spot inspection
    assert [h["title"] for h in card["hazards"]] == ["甲校后厨排风扇损坏"]
    assert card["snapshot"] == {"id": snapshot.id, "payload_hash": snapshot.payload_hash}
    own = [r for r in card["district"]["rows"] if r["own"]]
    assert len(own) == 1 and own[0]["name"] == "甲小学"


def test_report_card_without_a_published_bulletin_has_no_district_context(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.school(months.schools["SB"])):
        card = report_card_content(months.schools["SB"], OCT)
        html = render.report_card_document(card, "zh_CN").html
        db.session.remove()
    assert card["district"] is None
    assert "本月全区排名尚未公布" in html and "甲小学" not in html


# --- languages, PDF, workbook ------------------------------------------------------------------------------


def test_both_languages_render_without_the_other_languages_words(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        operations.issue("month", OCT)
        b = operations.bulletin("month", OCT)
        zh, en = render.bulletin_document(b, "zh_CN"), render.bulletin_document(b, "en")
        card = report_card_content(months.schools["SA"], OCT)
        card_zh, card_en = render.report_card_document(card, "zh_CN"), render.report_card_document(card, "en")
        db.session.rollback()
        db.session.remove()
    for heading in (
        "一、总体情况",
        "二、排名情况",
        "三、表扬",
        "四、存在问题",
        "五、逾期未整改隐患",
        "七、食堂管理",
    ):
        assert heading in zh.html and heading not in en.html
    for heading in ("1. Overview", "2. Ranking", "4. Problems found", "7. Canteens", "8. Next month"):
        assert heading in en.html and heading not in zh.html
    assert "2026年第1期" in zh.subject and "No. 1" in en.subject
    assert "Daily control log" in en.html and "日管控记录完整" in zh.html  # rubric items in their language
    assert "一、本月成绩" in card_zh.html and "1. This month" in card_en.html
    assert "Where points were lost" not in card_zh.html and "扣分项目" not in card_en.html
    # no English UI sentence left in the Chinese email (every msgid of these templates is translated)
    english_words = re.findall(r">([^<>{}]*[A-Za-z]{4,}[^<>{}]*)<", zh.html + card_zh.html)
    allowed = re.compile(r"^[\sA-Z0-9#.,:()/\-–—]*$|^https?://")
    assert [w for w in english_words if not allowed.match(w.strip())] == []


def test_pdf_embeds_the_chinese_font_and_reads_back(app: Any, months: Months, tmp_path: Path) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        operations.issue("month", OCT)
        b = operations.bulletin("month", OCT)
        doc = render.bulletin_document(b, "zh_CN")
        data = render.pdf(doc)
        db.session.rollback()
        db.session.remove()
    assert data.startswith(b"%PDF-")
    fonts = _fonts(data)
    assert any("Noto" in f and "CJK" in f for f in fonts), fonts
    text = re.sub(r"\s+", "", _pdf_text(data, tmp_path))
    assert "督查通报" in text and "2026年第1期" in text and "青山区" not in text  # the district's own name
    assert "区教育局" in text and "存在问题" in text and "甲小学" in text
    assert len(PdfReader(io.BytesIO(data)).pages) >= 2
    assert PdfReader(io.BytesIO(data)).pages[0].mediabox.height == pytest.approx(841.89, abs=1)  # A4


def test_xlsx_has_the_ranking(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        b = operations.bulletin("month", OCT)
        data = workbooks.bulletin_xlsx(b, "zh_CN")
        snapshot = current_snapshot(RankingKind.MONTH, OCT)
        rows = {r["school_id"]: r for r in entry_rows(snapshot.id)}
        db.session.remove()
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:3] == ["通报", "排名", "存在问题"]
    ws = wb["排名"]
    header = [c.value for c in ws[1]]
    assert (
        header[:8] == ["排名", "升降", "代码", "学校", "片区", "同类组", "综合得分", "等级"]
        or header[0] == "排名"
    )
    lines = {r[2]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(lines) == {"SA", "SB", "SC", "SD"}
    for code, school_id in months.schools.items():
        e = rows[school_id]
        assert lines[code][0] == e["rank_overall"]
        assert lines[code][6] == (float(e["score"]) if e["score"] else None)
        assert lines[code][7] == e["band"]


# --- the renderers of the mail kinds --------------------------------------------------------------------


def test_renderers_are_registered_and_build_the_whole_message(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        message = renderer_for("bulletin")({"period": OCT}, "zh_CN")
        db.session.commit()
        issue = operations.issued("month", OCT)
        assert message.meta["snapshot_id"] == str(issue.snapshot_id)
        assert message.meta["payload_hash"] == issue.payload_hash and message.meta["number"] == "2026-1"
        assert [a.mimetype for a in message.attachments] == [render.PDF, render.XLSX]
        assert (
            message.attachments[0].filename.endswith(".pdf") and "区教育局" in message.attachments[0].filename
        )
        assert [i.cid for i in message.images] == ["bands"] and 'src="cid:bands"' in message.html
        assert message.images[0].content.startswith(b"\x89PNG")
        assert "2026年第1期" in message.subject and message.text and message.summary
        english = renderer_for("bulletin")({"period": OCT}, "en")
        assert english.meta["number"] == "2026-1" and "No. 1" in english.subject  # same issue, other language
        db.session.remove()
    sa = months.schools["SA"]
    with app.app_context(), use_scope(TenantScope.school(sa)):
        card = renderer_for("report_card")({"school_id": sa, "period": OCT}, "en")
        db.session.remove()
    assert card.meta["school_id"] == str(sa) and "cid:trend" in card.html
    assert len(card.attachments) == 2
    # a bulletin outside the bureau scope would leave schools out: refused
    with app.app_context(), use_scope(TenantScope.school(sa)), pytest.raises(PermissionError):
        renderer_for("bulletin")({"period": OCT}, "zh_CN")
    # a card for a school outside the caller's scope is not found
    from service.core.errors import NotFound

    with app.app_context(), use_scope(TenantScope.school(sa)), pytest.raises(NotFound):
        renderer_for("report_card")({"school_id": months.schools["SB"], "period": OCT}, "zh_CN")


def test_term_bulletin_from_the_term_snapshot(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        snapshot = db.session.scalars(
            select(RankingSnapshot)
            .where(RankingSnapshot.kind == RankingKind.TERM)
            .order_by(RankingSnapshot.id.desc())
        ).first()
        b = operations.bulletin("term", snapshot.key)
        html = render.bulletin_document(b, "zh_CN").html
        db.session.remove()
    assert b.content["snapshot"]["id"] == snapshot.id and b.content["periods"] == ["2026-09", "2026-10"]
    assert "2026—2027学年第一学期" in html
    assert b.content["summary"]["submissions"]["total"] == 8


# --- pages and CLI -------------------------------------------------------------------------------------------


def test_preview_pages_roles_and_downloads(app: Any, client: Any, months: Months, district: District) -> None:
    login(client, "official")
    page = client.get(f"/bulletins/month/{OCT}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "督查通报" in body and "草稿" in body and "data:image/png;base64," in body
    assert client.get(f"/bulletins/month/{OCT}?lang=en").get_data(as_text=True).count("Problems found") >= 1
    pdf = client.get(f"/bulletins/month/{OCT}/bulletin.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF")
    xlsx = client.get(f"/bulletins/month/{OCT}/bulletin.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype == render.XLSX
    assert client.get("/bulletins/month/2030-01").status_code == 404
    assert client.get("/bulletins/month/garbage").status_code == 404
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalar(select(func.count()).select_from(BulletinIssue)) == 0  # previews never issue
        db.session.remove()
    card_url = f"/schools/{district.school_a.id}/report-cards/{OCT}"
    assert client.get(card_url).status_code == 200
    for who, status in (("admin_a", 200), ("admin_b", 404), ("inspector", 403)):
        other = app.test_client()
        login(other, who)
        assert other.get(card_url).status_code == status, who
        assert other.get(card_url + "/report-card.pdf").status_code == status, who
        assert other.get(f"/bulletins/month/{OCT}").status_code == 403, who
    school = app.test_client()
    login(school, "admin_a")
    assert school.get(card_url + "/report-card.xlsx").mimetype == render.XLSX
    assert school.get(f"/schools/{district.school_a.id}/report-cards/2030-01").status_code == 404


def test_cli_preview_writes_html_pdf_xlsx_and_prints_a_summary(
    app: Any, months: Months, tmp_path: Path
) -> None:
    from service.cli import cli

    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["bulletin", "preview", OCT, "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "应报月报4份" in result.output and "甲小学" in result.output
    names = sorted(p.suffix for p in (tmp_path / "b").iterdir())
    assert names == [".html", ".pdf", ".xlsx"]
    card = runner.invoke(
        cli, ["bulletin", "preview", OCT, "--school", "SB", "--lang", "en", "--out", str(tmp_path / "c")]
    )
    assert card.exit_code == 0, card.output
    assert "Composite" in card.output
    issued = runner.invoke(cli, ["bulletin", "issue", OCT])
    assert issued.exit_code == 0 and "2026年第1期" in issued.output
    assert runner.invoke(cli, ["bulletin", "issue", OCT]).output == issued.output
    missing = runner.invoke(cli, ["bulletin", "preview", "2030-01"])
    assert missing.exit_code != 0
