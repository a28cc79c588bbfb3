"""How report cards are rendered by the hundred (docs/performance.md, notice delivery) without changing
what a reader gets: the PDF font stack (the common cut of Noto Sans CJK SC first, the full face behind
it for any other character, no serif face for the page numbers), the trend chart drawn on a kept
background (no trace of the previous card), and the published district context read once per issue."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from service.bulletins import charts, fonts, operations, render
from service.bulletins.report_card import report_card_content
from service.db import db
from service.org.models import School
from tenants import TenantScope, use_scope
from tests import bulletin_data
from tests.bulletin_data import Months
from tests.conftest import District

OCT = "2026-10"
RARE = "堃"  # in GBK, not in GB 2312: not in the common cut


@pytest.fixture
def months(app: Any, district: District) -> Months:
    return bulletin_data.build(app, district)


def _fonts(data: bytes) -> set[str]:
    return {
        str(font.get_object()["/BaseFont"]).split("+")[-1]
        for page in PdfReader(io.BytesIO(data)).pages
        for font in page["/Resources"]["/Font"].values()
    }


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "card.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def test_the_common_cut_leaves_out_rare_characters() -> None:
    points = set(fonts.charset())
    assert ord(RARE) not in points
    assert {ord(c) for c in "甲小学综合得分全区排名↑↓−×…—（）"} <= points
    assert len(points) > 7000


def test_report_card_pdf_draws_common_characters_from_the_cut_and_rare_ones_from_the_full_face(
    app: Any, months: Months, tmp_path: Path
) -> None:
    sa = months.schools["SA"]
    with app.app_context(), use_scope(TenantScope.bureau()):
        school = db.session.scalars(select(School).where(School.id == sa)).one()
        school.name = f"{RARE}山小学"
        db.session.commit()
        operations.issue("month", OCT)
        db.session.commit()
        db.session.remove()
    with app.app_context(), use_scope(TenantScope.school(sa)):
        document = render.report_card_document(report_card_content(sa, OCT), "zh_CN")
        data = render.pdf(document)
        db.session.remove()
    used = _fonts(data)
    # Every glyph from Noto Sans CJK SC: the cut for the common characters, the full face for 堃 (the
    # school's name is bold in the heading and regular in the ranking).
    assert {"Noto-Sans-CJK-SC-Common", "Noto-Sans-CJK-SC-Common-Bold"} <= used, used
    assert used & {"Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold"}, used
    assert not any("Serif" in f for f in used), used  # the page numbers too
    text = _pdf_text(data, tmp_path)
    assert f"{RARE}山小学" in text and "月度成绩单" in text


def test_without_the_cut_the_stylesheet_names_the_full_face(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fonts.common_faces.cache_clear()
    monkeypatch.setattr(fonts, "locate", lambda weight: None)  # as if fontconfig had no Noto CJK
    try:
        rules, family = fonts.stylesheet(str(tmp_path))
    finally:
        fonts.common_faces.cache_clear()
    assert rules == "" and family == '"Noto Sans CJK SC", sans-serif'


def test_the_cut_is_built_once_and_named_after_its_source(tmp_path: Path) -> None:
    fonts.common_faces.cache_clear()
    try:
        first = fonts.common_faces(str(tmp_path))
        fonts.common_faces.cache_clear()
        again = fonts.common_faces(str(tmp_path))
    finally:
        fonts.common_faces.cache_clear()
    assert set(first) == {400, 700} and first == again
    assert sorted(p.name.split("-")[5] for p in first.values()) == ["bold", "regular"]
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".otf"]) == 2
    rules, family = fonts.stylesheet(str(tmp_path))
    assert rules.count("@font-face") == 2 and family.startswith(
        '"Noto Sans CJK SC Common", "Noto Sans CJK SC"'
    )


def test_trend_chart_keeps_nothing_of_the_previous_card() -> None:
    keys = ["2026-05", "2026-06", "2026-07", "2026-09", "2026-10"]
    a = (keys, [95.7, 93.1, 94.3, 91.5, 91.5], [91.9, 91.3, 91.6, 91.1, 91.3])
    b = (keys, [None, 88.0, 97.2, None, 99.5], [91.9, None, 91.6, 91.1, 91.3])
    labels = {"title": "综合得分逐月", "mean_label": "全区平均"}
    first = charts.trend_chart(*a, score_label="甲小学", **labels)
    other = charts.trend_chart(*b, score_label="乙小学", **labels)
    charts.trend_chart.cache_clear()  # type: ignore[attr-defined]  # drawn again, not the kept PNG
    again = charts.trend_chart(*a, score_label="甲小学", **labels)
    charts._trend_background.cache_clear()
    charts.trend_chart.cache_clear()  # type: ignore[attr-defined]  # and the finished charts kept
    fresh = charts.trend_chart(*a, score_label="甲小学", **labels)  # on a background drawn anew
    assert first == again == fresh and other != first
    assert Image.open(io.BytesIO(first)).size == (640, 260)
    assert charts._families()[0].startswith("Noto Sans CJK")  # Chinese labels, not boxes


def test_published_context_is_the_issued_bulletins(app: Any, months: Months) -> None:
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert operations.published_context("month", OCT) is None
        october = operations.issue("month", OCT)
        september = operations.issue("month", "2026-09")
        db.session.commit()
        assert operations.published_context("month", OCT) == october.public_context
        assert operations.published_context("month", "2026-09") == september.public_context
        assert operations.published_context("month", OCT) is operations.published_context("month", OCT)
        assert operations.published_means([OCT, "2026-09", "2026-08"]) == {
            OCT: october.public_context["mean"],
            "2026-09": september.public_context["mean"],
        }
        db.session.remove()
