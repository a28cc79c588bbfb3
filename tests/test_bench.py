"""The benchmark at toy scale: the generator's rows are what it advertises, and the runner runs.

No timing assertions (figures belong in docs/performance.md). The district goes into its own scratch
database, dropped afterwards; the generator needs a role that bypasses RLS (the superuser).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload

from bench import generate, run
from bench.common import bench_app, psycopg_url
from tests import services

pytestmark = pytest.mark.postgres

SHAPE = generate.Shape(schools=6, months=2, end=(2025, 9), seed=7)  # Sep 2025 and Jul 2025 (no August)


@pytest.fixture(scope="module")
def bench_db() -> Iterator[tuple[str, generate.Summary]]:
    if not services.postgres_available():
        pytest.skip("PostgreSQL not reachable")
    url = (
        make_url(services.PG_ADMIN_URL)
        .set(database=f"houqin_bench_test_{os.getpid()}")
        .render_as_string(hide_password=False)
    )
    summary = generate.generate(url, SHAPE)
    yield url, summary
    generate.drop_database(url)


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(psycopg_url(url)) as conn:
        return conn.execute(sql).fetchall()


def test_generator_builds_the_advertised_district(bench_db: tuple[str, generate.Summary]) -> None:
    url, summary = bench_db
    assert summary.periods == [(2025, 7), (2025, 9)]
    assert _rows(url, "SELECT year, month, deadline FROM periods ORDER BY id") == [
        (2025, 7, date(2025, 8, 5)),
        (2025, 9, date(2025, 10, 5)),
    ]
    counts = {t: _rows(url, f"SELECT count(*) FROM {t}")[0][0] for t in summary.rows}
    assert counts == summary.rows  # what it prints is what it loaded
    assert counts["schools"] == 6 and counts["clusters"] == 1
    # ids continue after the loaded rows (the app can insert next to them)
    assert _rows(url, "SELECT nextval(pg_get_serial_sequence('inspections', 'id'))")[0][0] == (
        counts["inspections"] + 1
    )

    # every inspection has one result per enterable item of its rubric version, nothing else
    assert not _rows(
        url,
        """SELECT i.id FROM inspections i
           JOIN rubric_sections s ON s.version_id = i.rubric_version_id
           JOIN rubric_items ri ON ri.section_id = s.id AND NOT ri.computed
           LEFT JOIN inspection_item_results r
                  ON r.school_id = i.school_id AND r.inspection_id = i.id AND r.item_id = ri.id
           GROUP BY i.id HAVING count(r.id) <> count(*)
              OR count(*) <> (SELECT count(*) FROM inspection_item_results x
                              WHERE x.school_id = i.school_id AND x.inspection_id = i.id)""",
    )
    # canteen inspections only where there is a canteen; self-inspections belong to the month's report
    assert not _rows(
        url,
        "SELECT 1 FROM inspections i JOIN schools s ON s.id = i.school_id "
        "WHERE i.kind = 'canteen' AND s.canteen_mode = 'none'",
    )
    assert not _rows(
        url,
        "SELECT 1 FROM inspections i JOIN monthly_reports m ON m.school_id = i.school_id AND m.id = i.report_id "
        "WHERE i.mode = 'self' AND m.period_id <> i.period_id",
    )
    # an evaluation per active staff member hired by the month's end, for every report
    assert not _rows(
        url,
        """SELECT m.id FROM monthly_reports m JOIN periods p ON p.id = m.period_id
           JOIN staff_members st ON st.school_id = m.school_id AND st.active
                AND st.hire_date <= (make_date(p.year, p.month, 1) + interval '1 month - 1 day')
           LEFT JOIN evaluations e ON e.school_id = m.school_id AND e.staff_id = st.id AND e.period_id = m.period_id
           WHERE e.id IS NULL""",
    )
    staff_counts = _rows(url, "SELECT staff_count, (SELECT count(*) FROM staff_members x "
                         "WHERE x.school_id = s.id AND x.active) FROM schools s")  # fmt: skip
    assert all(a == b > 0 for a, b in staff_counts)


def test_stored_inspection_results_are_what_the_product_computes(
    bench_db: tuple[str, generate.Summary],
) -> None:
    from service.db import db
    from service.inspections.models import Inspection, InspectionKind
    from service.inspections.scoring import Entry, canteen_grade, score_inspection
    from service.rubrics.models import RubricSection, RubricVersion
    from tenants import TenantScope, use_scope

    url, _ = bench_db
    app = bench_app(url)
    with app.app_context(), use_scope(TenantScope.bureau()):
        inspections = db.session.scalars(
            select(Inspection).options(
                selectinload(Inspection.results),
                selectinload(Inspection.rubric_version)
                .selectinload(RubricVersion.sections)
                .selectinload(RubricSection.items),
            )
        ).all()
        assert len(inspections) > 20
        failed = 0
        for inspection in inspections:
            entries = {r.item_id: Entry(r.result, r.occurrences) for r in inspection.results}
            scored = score_inspection(inspection.rubric_version.sections, entries)
            assert inspection.score == scored.score
            assert (inspection.key_failed, inspection.veto_failed) == (scored.key_failed, scored.veto_failed)
            assert inspection.section_scores == scored.section_scores_json()
            expected_grade = (
                canteen_grade(scored, inspection.rubric_version.settings)
                if inspection.kind is InspectionKind.CANTEEN
                else None
            )
            assert inspection.grade == expected_grade
            failed += sum(1 for r in inspection.results if r.result.value == "fail")
        assert failed > 0  # not a district of perfect scores
        assert len({i.score for i in inspections}) > 5
        assert min(i.score for i in inspections) < Decimal(95)


def test_same_seed_same_district(tmp_path: Any) -> None:
    """Generation is a pure function of the shape and seed (the COPY files are byte-identical)."""
    from bench.generate import Generator, KindRubric, _kind_rubric
    from service.rubrics.defaults import DEFAULT_RUBRICS, build_version

    # The default rubrics in memory, with ids as a fresh database would give them (no database needed).
    rubrics: dict[str, KindRubric] = {}
    next_id = iter(range(1, 10_000))
    for spec in DEFAULT_RUBRICS:
        version = build_version(spec)
        version.id = next(next_id)
        for section in version.sections:
            for item in section.items:
                item.id = next(next_id)
        rubrics[spec.kind.value] = _kind_rubric(spec.kind.value, version)

    outputs = []
    for name in ("a", "b"):
        directory = tmp_path / name
        directory.mkdir()
        files = Generator(SHAPE, directory, rubrics, admin_id=1).run()
        outputs.append({t: f.path.read_bytes() for t, f in files.items()})
    assert outputs[0] == outputs[1]
    other = tmp_path / "c"
    other.mkdir()
    files = Generator(generate.Shape(**{**SHAPE.__dict__, "seed": 8}), other, rubrics, admin_id=1).run()
    assert files["inspection_item_results"].path.read_bytes() != outputs[0]["inspection_item_results"]


def test_runner_prints_times_ratios_and_no_mismatches(
    bench_db: tuple[str, generate.Summary], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = bench_db
    assert run.main(["--database", url, "--sample", "6", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for prefix in (
        "(i)   full period recompute",
        "(ii)  floor",
        "(iii) naive",
        "ratio (i)/(ii)",
        "ratio (iii)/(i)",
    ):
        assert prefix in out, out
    assert "period 2025-09" in out
    # the naive loop and the engine agree on every sampled school
    assert "naive vs engine: 6 sampled schools" in out
    assert ", 0 mismatches" in out, out
