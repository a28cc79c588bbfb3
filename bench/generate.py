"""Synthetic districts up to province scale, bulk-loaded with PostgreSQL COPY.

``python -m bench.generate --schools 10000 --months 1 --self-per-month 6`` drops and recreates the
scratch database (default ``houqin_bench``), builds the schema with the project's migrations, seeds
the default rubrics and a bureau admin through the ORM, and then loads the district with COPY:
clusters, schools (mixed types, ~15% without a canteen), staff, periods, monthly reports (mostly
accepted, some late, a few missing), inspections with a result row for every enterable rubric item,
evaluations and hazards (a few overdue).

Why COPY and not the ORM: the ORM path (tenant hooks, audit trail, row-by-row flushes) is built for a
request's worth of rows; a province month is millions of item rows. The rows are generated in one pass in school
order and streamed into one COPY-format file per table (never held in a list), then each file is
copied in dependency order in ONE transaction with every constraint and foreign key checked - a bug
in the generator fails the load instead of producing data the product could never hold.

The stored inspection results (``score``, ``key_failed``, ``veto_failed``, ``grade``,
``section_scores``) are computed with the product's own :func:`score_inspection` and
:func:`canteen_grade` on the generated item results, so an engine that rescores from the items must
agree with them. Deterministic for a given ``--seed`` and shape.

Volume: per school-month ``self_per_month`` self-inspections of each kind (canteen 26 items, only
with a canteen; safety 19 enterable items) and a spot inspection for ``spot_share`` of the schools.
At the defaults (2 of each, 30% spot) that is ~85 item rows per school-month, ~0.85M for 10,000
schools; ``--self-per-month 6`` (weekly-plus self-checks) gives ~242 per school-month, ~2.4M for
10,000 schools - the issue's "one month ≈ 2.5M item-level rows".
"""

from __future__ import annotations

import argparse
import calendar
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TextIO

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bench.common import DEFAULT_DATABASE, bench_app, database_name, maintenance_url, psycopg_url
from service.core.timeutil import SHANGHAI, today_shanghai
from service.inspections.models import ItemOutcome
from service.inspections.scoring import Entry, canteen_grade, score_inspection
from service.rubrics.models import ItemKind, Rubric, RubricKind, RubricSection, RubricVersion, VersionStatus

NON_REPORTING_MONTHS = frozenset({8})  # August (service.periods.operations)
DEADLINE_DAY = 5
LOCK_DAYS = 10
SCHOOLS_PER_CLUSTER = 30
ADMIN_USERNAME = "bench_admin"
ADMIN_PASSWORD = "bench-admin-password-1"

# Load order: every table after the tables it references.
TABLES: dict[str, tuple[str, ...]] = {
    "clusters": ("id", "code", "name", "supervisor_id"),
    "schools": (
        "id", "code", "name", "type", "enrollment", "staff_count", "boarding", "canteen_mode",
        "cluster_id", "principal_name", "contact_name", "contact_phone", "address", "active", "created_at",
    ),
    "staff_members": (
        "id", "school_id", "name", "gender", "role", "contract_type", "hire_date", "phone",
        "health_cert_no", "health_cert_expiry", "active", "created_at",
    ),
    "periods": ("id", "year", "month", "deadline", "lock_days", "created_at"),
    "monthly_reports": (
        "id", "school_id", "period_id", "state", "created_at", "first_submitted_at", "submitted_at",
        "late", "reviewed_by_id", "reviewed_at", "return_reason", "accepted_at",
    ),
    "report_transitions": (
        "id", "school_id", "report_id", "from_state", "to_state", "action", "actor_id", "at", "note",
    ),
    "canteen_monthly_facts": (
        "id", "school_id", "period_id", "report_id", "meals_served", "menu_compliant_days",
        "serving_days", "leader_accompanied_meals", "sampled_meals", "food_waste_kg", "updated_at",
    ),
    "inspections": (
        "id", "school_id", "kind", "mode", "rubric_version_id", "period_id", "report_id", "inspected_on",
        "inspector_name", "inspector_user_id", "unannounced", "notes", "score", "key_failed",
        "veto_failed", "grade", "section_scores", "created_at",
    ),
    "inspection_item_results": ("id", "inspection_id", "item_id", "result", "occurrences", "note", "school_id"),
    "evaluations": (
        "id", "school_id", "staff_id", "period_id", "report_id", "rubric_version_id", "score",
        "dimension_scores", "created_at",
    ),
    "hazards": (
        "id", "school_id", "title", "description", "location", "severity", "responsible_person",
        "found_on", "deadline", "state", "closing_note", "closed_on", "source_inspection_id",
        "period_id", "issued_by_bureau", "created_by_id", "created_at",
    ),
}  # fmt: skip

SCHOOL_TYPES = (("primary", 50), ("junior", 25), ("senior", 10), ("nine_year", 10), ("complete", 5))
TYPE_NAMES = {"primary": "小学", "junior": "初级中学", "senior": "高级中学", "nine_year": "九年一贯制学校",
              "complete": "完全中学"}  # fmt: skip
CANTEEN_ROLES = (("cook", 30), ("storekeeper", 6), ("canteen_manager", 5))
OTHER_ROLES = (
    ("guard", 15), ("electrician", 8), ("cleaner", 18), ("dorm_supervisor", 5), ("boiler_operator", 2),
    ("school_doctor", 4), ("other", 7),
)  # fmt: skip
FOOD_ROLES = frozenset({"cook", "storekeeper", "canteen_manager"})
CONTRACTS = (("established", 35), ("contract", 35), ("temporary", 15), ("outsourced", 15))
SEVERITIES = (("low", 60), ("medium", 30), ("high", 9), ("critical", 1))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文海波斌宇浩然"
HAZARD_TITLES = (
    ("灭火器过期", "教学楼二层"), ("疏散通道堆放杂物", "宿舍楼一层"), ("应急照明损坏", "食堂后厨"),
    ("监控摄像头离线", "校门口"), ("栏杆松动", "操场看台"), ("临时拉线", "实验楼"),
    ("消防栓无水", "图书馆"), ("防雷检测报告过期", "综合楼"),
)  # fmt: skip
TWO_PLACES = Decimal("0.01")


# --- the shape of a district ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What to generate; every count is drawn from ``seed``, so one shape and seed give one district."""

    schools: int = 300
    months: int = 1
    end: tuple[int, int] | None = None  # (year, month) of the last period; default: last month
    seed: int = 1
    self_per_month: float = 2.0  # self-inspections of each kind per school-month (mean)
    spot_share: float = 0.3  # share of school-months with a spot inspection
    staff_per_school: int = 15  # mean; drawn from ±3

    def period_months(self) -> list[tuple[int, int]]:
        """``months`` consecutive reporting months ending at ``end`` (August skipped), oldest first."""
        year, month = self.end or _last_reporting_month(today_shanghai())
        if month in NON_REPORTING_MONTHS:
            raise SystemExit(f"{year}-{month:02d} is not a reporting month")
        months: list[tuple[int, int]] = []
        while len(months) < self.months:
            if month not in NON_REPORTING_MONTHS:
                months.append((year, month))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return months[::-1]


def _last_reporting_month(today: date) -> tuple[int, int]:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    if month in NON_REPORTING_MONTHS:
        month -= 1
    return year, month


# --- COPY-format files -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class TableFile:
    """Rows of one table streamed to a file in COPY text format, with the ids handed out so far."""

    def __init__(self, directory: Path, table: str) -> None:
        self.table = table
        self.columns = TABLES[table]
        self.path = directory / f"{table}.copy"
        self.fh: TextIO = self.path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self.rows = 0
        self.last_id = 0

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def row(self, *values: Any) -> None:
        self.fh.write("\t".join([_text(v) for v in values]) + "\n")
        self.rows += 1

    def raw(self, text: str, rows: int) -> None:
        """Pre-formatted lines (the hot path: item results)."""
        self.fh.write(text)
        self.rows += rows


# --- rubric versions as the generator needs them ---------------------------------------------------------


@dataclass
class KindRubric:
    """The published version of one rubric kind, with a scoring cache keyed on the item outcomes."""

    kind: str
    version: RubricVersion
    items: list[tuple[int, ItemKind, bool]]  # (item id, kind, na allowed) of every enterable item
    cache: dict[tuple[tuple[str, int], ...], tuple[Decimal, int, int, str | None, str]] = field(
        default_factory=dict
    )

    def score(self, outcomes: Sequence[tuple[str, int]]) -> tuple[Decimal, int, int, str | None, str]:
        """Score, key failed, veto failed, grade and section JSON - from the product's own scoring."""
        key = tuple(outcomes)
        hit = self.cache.get(key)
        if hit is None:
            entries = {
                item_id: Entry(ItemOutcome(result), occurrences)
                for (item_id, _, _), (result, occurrences) in zip(self.items, outcomes, strict=True)
            }
            scored = score_inspection(self.version.sections, entries)
            grade = canteen_grade(scored, self.version.settings).value if self.kind == "canteen" else None
            section_json = json.dumps(scored.section_scores_json(), separators=(", ", ": "))
            hit = (scored.score, scored.key_failed, scored.veto_failed, grade, section_json)
            self.cache[key] = hit
        return hit


def _published_versions(session: Any) -> dict[RubricKind, RubricVersion]:
    stmt = (
        select(RubricVersion)
        .join(Rubric)
        .where(RubricVersion.status == VersionStatus.PUBLISHED)
        .options(
            selectinload(RubricVersion.rubric),
            selectinload(RubricVersion.sections).selectinload(RubricSection.items),
        )
    )
    return {v.rubric.kind: v for v in session.scalars(stmt)}


def _kind_rubric(kind: str, version: RubricVersion) -> KindRubric:
    items = [(i.id, i.kind, i.na_allowed) for i in version.all_items() if not i.computed]
    return KindRubric(kind, version, items)


# --- the generator --------------------------------------------------------------------------------------


@dataclass
class School:
    id: int
    code: str
    type: str
    canteen: bool
    fail_rate: float  # chance that a general item fails on a spot inspection
    leniency: float  # self-inspections see this share of the failures
    na_items: frozenset[int]
    contact: str
    staff: list[tuple[int, date, bool, float]] = field(default_factory=list)  # id, hired, active, base


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def _at(day: date, rng: random.Random, start_hour: int = 8, end_hour: int = 18) -> datetime:
    """A moment on ``day`` (Beijing working hours), stored as UTC."""
    seconds = rng.randrange(start_hour * 3600, end_hour * 3600)
    local = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(seconds=seconds)
    return local.astimezone(UTC)


def _count(rng: random.Random, mean: float) -> int:
    """A small count with the given mean: ⌊mean⌋ or ⌈mean⌉, ±1, never below 1."""
    whole = int(mean)
    n = whole + (1 if rng.random() < mean - whole else 0) + rng.choice((-1, 0, 1))
    return max(1, n)


class Generator:
    def __init__(self, shape: Shape, directory: Path, rubrics: dict[str, KindRubric], admin_id: int) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.rubrics = rubrics
        self.admin_id = admin_id
        self.files = {table: TableFile(directory, table) for table in TABLES}
        self.months = shape.period_months()
        last_year, last_month = self.months[-1]
        self.as_of = date(last_year, last_month, calendar.monthrange(last_year, last_month)[1]) + timedelta(
            days=15
        )  # the day the district is "looked at": after the last deadline, before its lock
        self.created = datetime(*self.months[0], 1, tzinfo=UTC) - timedelta(days=60)
        self.staff_dims = [(s.code, Decimal(s.max_points)) for s in rubrics["staff"].version.sections]
        self._item_prefix: dict[str, list[str]] = {}

    # the order below is the load order's: a file may only name ids handed out before it
    def run(self) -> dict[str, TableFile]:
        clusters = self._clusters()
        periods = self._periods()
        for number in range(1, self.shape.schools + 1):
            school = self._school(number, clusters)
            self._staff(school)
            for period_id, (year, month) in periods:
                self._school_month(school, period_id, year, month)
        for f in self.files.values():
            f.fh.close()
        return self.files

    def _clusters(self) -> list[int]:
        out = self.files["clusters"]
        ids = []
        for n in range(1, -(-self.shape.schools // SCHOOLS_PER_CLUSTER) + 1):
            cid = out.new_id()
            out.row(cid, f"P{n:04d}", f"基准片区{n:04d}", None)
            ids.append(cid)
        return ids

    def _periods(self) -> list[tuple[int, tuple[int, int]]]:
        out = self.files["periods"]
        result = []
        for year, month in self.months:
            pid = out.new_id()
            deadline = date(year + (month == 12), month % 12 + 1, DEADLINE_DAY)
            out.row(pid, year, month, deadline, LOCK_DAYS, self.created)
            result.append((pid, (year, month)))
        return result

    def _school(self, number: int, clusters: list[int]) -> School:
        rng = self.rng
        out = self.files["schools"]
        sid = out.new_id()
        kind = _weighted(rng, SCHOOL_TYPES)
        canteen_mode = "none" if rng.random() < 0.15 else ("self_run" if rng.random() < 0.7 else "contracted")
        fail_rate = rng.betavariate(2, 14)
        leniency = rng.uniform(0.4, 0.9) if rng.random() < 0.85 else rng.uniform(0.0, 0.2)
        na_items = frozenset(
            item_id
            for rubric in self.rubrics.values()
            for item_id, _, na_allowed in rubric.items
            if na_allowed and rng.random() < 0.35
        )
        contact = _name(rng)
        school = School(
            sid, f"B{number:05d}", kind, canteen_mode != "none", fail_rate, leniency, na_items, contact
        )
        out.row(
            sid,
            school.code,
            f"基准{TYPE_NAMES[kind]}{number:05d}",
            kind,
            rng.randint(150, 3000),
            0,  # staff_count is corrected after the staff are drawn (see _staff)
            rng.random() < (0.6 if kind in ("senior", "complete") else 0.15),
            canteen_mode,
            clusters[(number - 1) * len(clusters) // self.shape.schools],
            _name(rng),
            contact,
            _phone(rng),
            f"基准区第{number}路{rng.randint(1, 300)}号",
            True,
            self.created,
        )
        return school

    def _staff(self, school: School) -> None:
        rng = self.rng
        out = self.files["staff_members"]
        first_period = date(*self.months[0], 1)
        roles = (*CANTEEN_ROLES, *OTHER_ROLES) if school.canteen else OTHER_ROLES
        n = rng.randint(max(1, self.shape.staff_per_school - 3), self.shape.staff_per_school + 3)
        for _ in range(n):
            staff_id = out.new_id()
            role = _weighted(rng, roles)
            if rng.random() < 0.04:  # hired during the generated months: evaluated from the hire month on
                hired = first_period + timedelta(
                    days=rng.randrange(max(1, (self.as_of - first_period).days - 20))
                )
            else:
                hired = date(2000, 1, 1) + timedelta(
                    days=rng.randrange((first_period - date(2000, 1, 1)).days)
                )
            active = rng.random() < 0.96
            food = role in FOOD_ROLES
            out.row(
                staff_id,
                school.id,
                _name(rng),
                rng.choice("MF"),
                role,
                _weighted(rng, CONTRACTS),
                hired,
                _phone(rng),
                f"JK{rng.randrange(10**8):08d}" if food else "",
                self.as_of + timedelta(days=rng.randint(-60, 400)) if food else None,
                active,
                self.created,
            )
            school.staff.append((staff_id, hired, active, min(99.0, max(55.0, rng.gauss(84, 6)))))

    def _school_month(self, school: School, period_id: int, year: int, month: int) -> None:
        rng = self.rng
        last_day = calendar.monthrange(year, month)[1]
        month_end = date(year, month, last_day)
        deadline = date(year + (month == 12), month % 12 + 1, DEADLINE_DAY)
        roll = rng.random()
        state = (
            None
            if roll < 0.04
            else "draft"
            if roll < 0.055
            else "returned"
            if roll < 0.07
            else "submitted"
            if roll < 0.10
            else "accepted"
        )
        report_id = None
        if state is not None:
            report_id = self._report(school, period_id, state, month_end, deadline)
            if school.canteen:
                self._facts(school, period_id, report_id, last_day)
            for kind in ("canteen", "safety") if school.canteen else ("safety",):
                for _ in range(_count(rng, self.shape.self_per_month)):
                    day = date(year, month, rng.randint(1, last_day))
                    self._inspection(school, kind, "self", period_id, report_id, day)
            self._evaluations(school, period_id, report_id, month_end)
        if rng.random() < self.shape.spot_share:
            kind = "canteen" if school.canteen and rng.random() < 0.5 else "safety"
            day = date(year, month, rng.randint(1, last_day))
            self._inspection(school, kind, "spot", period_id, None, day)
        self._hazards(school, period_id, year, month, last_day)

    def _report(self, school: School, period_id: int, state: str, month_end: date, deadline: date) -> int:
        rng = self.rng
        reports, log = self.files["monthly_reports"], self.files["report_transitions"]
        rid = reports.new_id()
        created = _at(month_end - timedelta(days=rng.randint(3, 10)), rng)
        first_submitted = submitted = reviewed = accepted = None
        late = False
        reason = ""
        if state != "draft":
            late = rng.random() < 0.08
            day = (
                deadline + timedelta(days=rng.randint(1, 8))
                if late
                else month_end + timedelta(days=rng.randint(-2, 5))
            )
            first_submitted = submitted = _at(day, rng)
            log.row(log.new_id(), school.id, rid, "draft", "submitted", "submit", None, submitted, "")
        if state in ("accepted", "returned"):
            reviewed = submitted + timedelta(hours=rng.randint(1, 72))  # type: ignore[operator]
            if state == "accepted":
                accepted = reviewed
                log.row(
                    log.new_id(),
                    school.id,
                    rid,
                    "submitted",
                    "accepted",
                    "accept",
                    self.admin_id,
                    reviewed,
                    "",
                )
            else:
                reason = "数据不完整，请补充后重新提交"
                log.row(
                    log.new_id(),
                    school.id,
                    rid,
                    "submitted",
                    "returned",
                    "return",
                    self.admin_id,
                    reviewed,
                    reason,
                )
        reports.row(
            rid,
            school.id,
            period_id,
            state,
            created,
            first_submitted,
            submitted,
            late,
            self.admin_id if reviewed else None,
            reviewed,
            reason,
            accepted,
        )
        return rid

    def _facts(self, school: School, period_id: int, report_id: int, last_day: int) -> None:
        rng = self.rng
        out = self.files["canteen_monthly_facts"]
        serving_days = rng.randint(16, min(23, last_day))
        meals = serving_days * rng.choice((2, 3))
        out.row(
            out.new_id(),
            school.id,
            period_id,
            report_id,
            meals,
            rng.randint(serving_days - 3, serving_days),
            serving_days,
            rng.randint(meals * 8 // 10, meals),
            rng.randint(meals * 9 // 10, meals),
            Decimal(rng.randint(500, 9000)) / 10,
            self.created,
        )

    def _inspection(
        self, school: School, kind: str, mode: str, period_id: int, report_id: int | None, day: date
    ) -> None:
        rng = self.rng
        rubric = self.rubrics[kind]
        spot = mode == "spot"
        general = school.fail_rate if spot else school.fail_rate * school.leniency
        outcomes: list[tuple[str, int]] = []
        for item_id, item_kind, _ in rubric.items:
            if item_id in school.na_items:
                outcomes.append(("na", 0))
                continue
            # Veto items never fail here: a failed veto item also records a veto (incidents), which the
            # generator does not write; the ranking scores never depend on vetoes.
            p = 0.0 if item_kind is ItemKind.VETO else general * (0.25 if item_kind is ItemKind.KEY else 1.0)
            if rng.random() < p:
                occurrences = 1
                while occurrences < 6 and rng.random() < 0.35:
                    occurrences += 1
                outcomes.append(("fail", occurrences))
            else:
                outcomes.append(("pass", 0))
        score, key_failed, veto_failed, grade, sections = rubric.score(outcomes)
        inspections = self.files["inspections"]
        iid = inspections.new_id()
        inspections.row(
            iid,
            school.id,
            kind,
            mode,
            rubric.version.id,
            period_id,
            report_id,
            day,
            f"督查员{rng.randint(1, 40):02d}" if spot else school.contact,
            None,
            spot,
            "",
            score,
            key_failed,
            veto_failed,
            grade,
            sections,
            _at(day, rng),
        )
        results = self.files["inspection_item_results"]
        prefixes = self._item_prefix.get(kind)
        if prefixes is None:
            prefixes = self._item_prefix[kind] = [f"\t{item_id}\t" for item_id, _, _ in rubric.items]
        tail = f"\t\t{school.id}\n"
        first = results.last_id + 1
        head = f"\t{iid}"
        lines = [
            f"{first + n}{head}{prefix}{result}\t{occurrences}{tail}"
            for n, (prefix, (result, occurrences)) in enumerate(zip(prefixes, outcomes, strict=True))
        ]
        results.last_id += len(lines)
        results.raw("".join(lines), len(lines))

    def _evaluations(self, school: School, period_id: int, report_id: int, month_end: date) -> None:
        rng = self.rng
        out = self.files["evaluations"]
        staff_version = self.rubrics["staff"].version.id
        for staff_id, hired, active, base in school.staff:
            if not active or hired > month_end:
                continue
            score = Decimal(str(min(100.0, max(0.0, rng.gauss(base, 2))))).quantize(TWO_PLACES, ROUND_HALF_UP)
            dims = {
                code: (points * score / 100).quantize(TWO_PLACES, ROUND_HALF_UP)
                for code, points in self.staff_dims
            }
            last = self.staff_dims[-1][0]
            dims[last] += score - sum(dims.values(), Decimal(0))  # the dimensions add up to the score
            out.row(
                out.new_id(),
                school.id,
                staff_id,
                period_id,
                report_id,
                staff_version,
                score,
                json.dumps({k: str(v) for k, v in dims.items()}),
                _at(month_end, rng),
            )

    def _hazards(self, school: School, period_id: int, year: int, month: int, last_day: int) -> None:
        rng = self.rng
        out = self.files["hazards"]
        roll = rng.random()
        n = 0 if roll < 0.55 else 1 if roll < 0.85 else 2 if roll < 0.97 else 3
        for _ in range(n):
            found = date(year, month, rng.randint(1, last_day))
            deadline = found + timedelta(days=rng.randint(7, 30))
            fate = rng.random()
            closed_on: date | None
            if fate < 0.70:
                closed_on = found + timedelta(days=rng.randint(0, (deadline - found).days))
            elif fate < 0.85:
                closed_on = deadline + timedelta(days=rng.randint(1, 25))
            else:
                closed_on = None
            if closed_on is not None and closed_on > self.as_of:
                closed_on = None
            state = "closed" if closed_on else ("rectifying" if rng.random() < 0.7 else "open")
            title, location = rng.choice(HAZARD_TITLES)
            out.row(
                out.new_id(),
                school.id,
                title,
                "",
                location,
                _weighted(rng, SEVERITIES),
                _name(rng),
                found,
                deadline,
                state,
                "已整改" if closed_on else "",
                closed_on,
                None,
                period_id,
                False,
                None,
                _at(found, rng),
            )


# --- database set-up and load ----------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(psycopg_url(maintenance_url(url)), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(psycopg_url(maintenance_url(url)), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str) -> tuple[int, dict[str, KindRubric]]:
    """Bureau, a bureau admin and the default rubrics, through the ORM (audited like any setup)."""
    from service.accounts.models import Role, User
    from service.accounts.passwords import hash_password
    from service.db import db
    from service.org.models import Bureau
    from service.rubrics.defaults import seed_default_rubrics
    from tenants import TenantScope, use_scope

    app = bench_app(url)
    with app.app_context(), use_scope(TenantScope.bureau()):
        session = db.session
        session.add(Bureau(name="基准测试教育局", name_en="Benchmark bureau", region_code="990000"))
        admin = User(
            username=ADMIN_USERNAME,
            display_name="基准管理员",
            role=Role.BUREAU_ADMIN,
            password_hash=hash_password(ADMIN_PASSWORD),
        )
        session.add(admin)
        session.flush()
        seed_default_rubrics(session, published_by=admin)
        session.commit()
        versions = _published_versions(session)
        rubrics = {kind.value: _kind_rubric(kind.value, version) for kind, version in versions.items()}
        admin_id = admin.id
    return admin_id, rubrics


def _load(url: str, files: dict[str, TableFile]) -> dict[str, float]:
    """COPY every file in dependency order in one transaction (constraints checked), then set sequences."""
    seconds: dict[str, float] = {}
    with psycopg.connect(psycopg_url(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        with conn.cursor() as cur:
            for table, f in files.items():
                started = time.perf_counter()
                columns = ", ".join(f.columns)
                with f.path.open("rb") as fh, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
                if f.last_id:
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", (f.last_id,))
                seconds[table] = time.perf_counter() - started
            # staff_count: the active staff each school was given
            cur.execute(
                "UPDATE schools SET staff_count = s.n FROM (SELECT school_id, count(*) AS n FROM staff_members "
                "WHERE active GROUP BY school_id) s WHERE s.school_id = schools.id"
            )
        conn.commit()
    started = time.perf_counter()
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    seconds["vacuum analyze"] = time.perf_counter() - started
    return seconds


@dataclass
class Summary:
    database: str
    shape: Shape
    rows: dict[str, int]
    periods: list[tuple[int, int]]
    seconds: dict[str, float]

    def lines(self) -> Iterable[str]:
        s = self.shape
        yield (
            f"district: {s.schools} schools x {s.months} month(s) {self.periods[0][0]}-{self.periods[0][1]:02d}"
            f"..{self.periods[-1][0]}-{self.periods[-1][1]:02d}, seed {s.seed}, "
            f"self-inspections {s.self_per_month:g}/kind/month, spot share {s.spot_share:g}"
        )
        for table, n in self.rows.items():
            yield f"  {table:<26} {n:>12,}"
        for step, sec in self.seconds.items():
            yield f"  time {step:<21} {sec:>10.1f} s"


def generate(
    url: str = DEFAULT_DATABASE,
    shape: Shape | None = None,
    *,
    echo: bool = False,
    app_role: str | None = None,
) -> Summary:
    """Drop and recreate the database at ``url`` and fill it with the district ``shape`` describes.

    ``app_role``: also create that login role if missing (not superuser, no BYPASSRLS, as in production)
    and let the migrations grant it data access, so the runner can be pointed at it to time the engine
    with row-level security enforced.
    """
    from service import migrate

    shape = shape or Shape()
    say = print if echo else (lambda *a, **k: None)
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    recreate_database(url)
    if app_role:
        from tenants import rls

        with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
            for statement in rls.create_app_role_sql(app_role):
                conn.execute(statement)
    migrate.upgrade(psycopg_url(url), app_role=app_role or "houqin_app")
    seconds["schema (migrations)"] = time.perf_counter() - started
    mark = time.perf_counter()
    admin_id, rubrics = _seed(url)
    seconds["seed (ORM)"] = time.perf_counter() - mark
    say(f"schema and seed ready in {time.perf_counter() - started:.1f} s; generating ...", flush=True)

    with tempfile.TemporaryDirectory(prefix="houqin-bench-") as tmp:
        mark = time.perf_counter()
        generator = Generator(shape, Path(tmp), rubrics, admin_id)
        files = generator.run()
        seconds["generate (Python)"] = time.perf_counter() - mark
        say(f"generated in {seconds['generate (Python)']:.1f} s; loading with COPY ...", flush=True)
        mark = time.perf_counter()
        per_table = _load(url, files)
        seconds["load (COPY, checked)"] = time.perf_counter() - mark - per_table["vacuum analyze"]
        seconds["vacuum analyze"] = per_table["vacuum analyze"]
    seconds["total"] = time.perf_counter() - started
    return Summary(
        database=database_name(url),
        shape=shape,
        rows={table: f.rows for table, f in files.items()},
        periods=generator.months,
        seconds=seconds,
    )


def _month(value: str) -> tuple[int, int]:
    year, month = value.split("-")
    return int(year), int(month)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"scratch database URL ({DEFAULT_DATABASE})"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", type=_month, default=None, help="last month YYYY-MM (default: last month)")
    parser.add_argument("--self-per-month", type=float, default=2.0, help="self-inspections per kind (mean)")
    parser.add_argument("--spot-share", type=float, default=0.3)
    parser.add_argument("--staff", type=int, default=15, help="staff per school (mean)")
    parser.add_argument(
        "--app-role", default=None, help="create this non-superuser role and grant it access (RLS timings)"
    )
    args = parser.parse_args(argv)
    if args.schools < 1 or args.months < 1 or args.self_per_month < 1 or not 0 <= args.spot_share <= 1:
        parser.error("need at least 1 school, 1 month, 1 self-inspection; spot share within 0..1")
    shape = Shape(
        schools=args.schools,
        months=args.months,
        end=args.end,
        seed=args.seed,
        self_per_month=args.self_per_month,
        spot_share=args.spot_share,
        staff_per_school=args.staff,
    )
    summary = generate(args.database, shape, echo=True, app_role=args.app_role)
    print(f"database {summary.database}:")
    for line in summary.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
