"""Reading a filled-in monthly workbook back (``check_upload``, ``apply_upload``): all or nothing.

Order of the checks, each stopping at the first failing level:

1. the file: not empty, not over ``EXCEL_MAX_BYTES`` (default 5 MB), named ``.xlsx`` (a macro-enabled
   ``.xlsm``/``.xltm`` is refused by its name AND by its content: a ``vbaProject`` part or a
   macro-enabled content type), a real zip that openpyxl can open, not a zip bomb (the sizes the zip
   declares - which bound what Python's zipfile will ever inflate - are capped per part and in all);
2. the template: the hidden ``_meta`` sheet names our template version, this report's school and
   month, and the rubric versions still published; every data sheet is present with its header row;
3. every cell: no formulas (a value starting with ``=`` is refused, never evaluated), no merged cells
   on a data sheet, numbers in number cells, dates in the month, values from the lists, staff names
   from the school's roster, a hazard or incident listed once. Problems are collected, with sheet,
   row and column. A text the template wrote formula-safe (a leading apostrophe before
   ``= + - @``, :func:`service.excel.common.neutralise`) is read back without the apostrophe.
   Leading and trailing white space is stripped from every text, and the formula check looks at the
   text as it would be stored: a cell ``" =1+1"`` or ``"\t=1+1"`` is refused as a formula exactly
   like ``"=1+1"`` (refused, not stripped into a stored ``=``); ``" +86 ..."``, ``" -"`` or
   ``" @..."`` are stored as ``"+86 ..."``, ``"-"``, ``"@..."`` - the same as without the white space:
   text, written formula-safe by every export;
4. the workbook holds data: one that fills in nothing (a template with only the instructions sheet
   changed) is refused, so an upload never "succeeds" having saved nothing.

One workbook cannot hold a web worker: the sheets are streamed (openpyxl read-only mode) and a sheet
with more than ``EXCEL_MAX_ROWS`` rows (default :data:`service.excel.common.DEFAULT_MAX_ROWS`) is
refused - by its declared dimension before it is parsed, otherwise when the stream reaches the row
past the cap - and the check stops at ``EXCEL_MAX_ERRORS`` problems (the first ones are answered).
A sheet whose XML is damaged is refused (422) with its name.

Then the workbook is compared with the month (:mod:`service.excel.plan`): what it would add, replace
or delete, per kind of record. Two phases, so that nothing is replaced unseen:

- :func:`check_upload` checks, plans, and *tries* the plan - every step through the areas' own
  operations (which validate and score again) inside a savepoint that is always rolled back - so the
  answer is either every error, by sheet/row/column, or exactly what a confirmation will write;
- :func:`apply_upload` checks and plans again, under a lock on the report row, and writes only when
  the plan is the one confirmed (:attr:`UploadResult.digest` binds the file, the month's data as it
  was, and the counts); a month that changed since the check answers 409 (:class:`PlanChanged`).
  Without a digest, a plan that replaces or deletes anything is refused with 409
  (:class:`ConfirmationNeeded`); pure additions (or no change) are written at once.

The web pages keep the checked file in a short-lived server-side record between the two phases
(:mod:`service.excel.staging`); the API's client sends the same file again with the digest.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.reader.excel import ExcelReader
from sqlalchemy import select

from service.core.errors import Conflict
from service.core.timeutil import SHANGHAI, now_shanghai, today_shanghai
from service.db import db
from service.evaluations.models import RaterGroup
from service.excel import common as c
from service.excel import month as month_data
from service.excel.plan import CellError, Context, Plan, build_plan, execute, summary
from service.inspections.models import InspectionKind, ItemOutcome
from service.inspections.schemas import MAX_OCCURRENCES
from service.org.models import CanteenMode, School
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable
from service.rubrics import operations as rubrics
from service.rubrics.models import RubricKind, RubricVersion
from service.staff.models import StaffMember

MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlam")
# Zip bombs: a 5 MB upload that declares more than this, in all or in one part, is refused. Generous
# for a template at the row cap (a sheet of 5,000 rows is about 1-3 MB of XML); the shared strings are
# read whole by openpyxl (the sheets are streamed), so their part is capped tighter.
MAX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_PART = 32 * 1024 * 1024
MAX_SHARED_STRINGS = 8 * 1024 * 1024
SCAN_CHUNK = 1024 * 1024
NEUTRALISED = ("=", "+", "-", "@")
MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
ROW_RE = re.compile(rb"<(?:\w+:)?row[\s>/]")


@dataclass
class UploadResult:
    """``file_errors`` (the file as a whole) or ``cell_errors``; otherwise the ``plan``."""

    sha256: str = ""
    file_errors: list[str] = field(default_factory=list)
    cell_errors: list[CellError] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.cell_errors and self.plan is not None

    @property
    def digest(self) -> str:
        assert self.plan is not None
        return self.plan.digest(self.sha256)

    def errors(self) -> dict[str, Any]:
        return {"file": self.file_errors, "cells": [e.as_dict() for e in self.cell_errors]}

    def as_dict(self) -> dict[str, Any]:
        """The plan as the API answers it (counts per kind and action, in words, and the digest)."""
        assert self.plan is not None
        return {"plan": self.plan.as_dict(), "summary": summary(self.plan), "digest": self.digest}


class PlanChanged(Conflict):
    """The month (or the file) is no longer what the confirmed plan was made from."""

    def __init__(self, result: UploadResult) -> None:
        super().__init__(
            {"confirm": [_("The month's data changed since the workbook was checked; upload it again.")]}
        )
        self.result = result


class ConfirmationNeeded(Conflict):
    """The upload would replace or delete records and was not confirmed."""

    def __init__(self, result: UploadResult) -> None:
        super().__init__(
            {"confirm": [_("The upload would replace records of the month; check the plan and confirm it.")]}
        )
        self.result = result


class _FileRefused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


class _TooManyErrors(Exception):
    """The check found more than ``EXCEL_MAX_ERRORS`` problems: it stops reading there."""


def _setting(name: str, default: int) -> int:
    if has_app_context():
        return int(current_app.config.get(name, default))
    return default


def max_bytes() -> int:
    return _setting("EXCEL_MAX_BYTES", c.DEFAULT_MAX_BYTES)


def max_rows() -> int:
    """Data rows per sheet (below the header row)."""
    return _setting("EXCEL_MAX_ROWS", c.DEFAULT_MAX_ROWS)


def max_errors() -> int:
    """Cell problems answered for one workbook."""
    return _setting("EXCEL_MAX_ERRORS", c.DEFAULT_MAX_ERRORS)


def _cap_errors(result: UploadResult) -> None:
    """At most :func:`max_errors` cell problems in the answer, and a line saying there are more."""
    limit = max_errors()
    if len(result.cell_errors) > limit:
        del result.cell_errors[limit:]
        result.file_errors.append(
            _(
                "The check stopped after %(n)s problems; the first %(n)s are listed. Correct them and "
                "upload the workbook again.",
                n=limit,
            )
        )


# --- entry point ---------------------------------------------------------------------------------------


def check_upload(report: MonthlyReport, data: bytes, *, filename: str) -> UploadResult:
    """Check the workbook and try its plan, writing nothing: the errors, or what it would do.

    Raises :class:`Conflict` (409) when the report cannot be changed.
    """
    result = _prepare(report, data, filename)
    if result.plan is not None and result.ok:
        savepoint = db.session.begin_nested()
        try:
            result.cell_errors = execute(result.plan)
        finally:
            savepoint.rollback()  # a trial: always undone (the callers roll the transaction back too)
        if result.cell_errors:
            _cap_errors(result)
    return result


def apply_upload(
    report: MonthlyReport, data: bytes, *, filename: str, confirm: str | bool = False
) -> UploadResult:
    """Check the workbook again and write all of its plan (in the caller's transaction) or nothing.

    ``confirm`` is the digest of the plan the user saw (refused with :class:`PlanChanged` unless it is
    still the plan), ``True`` for whatever the plan is, or ``False``: then only a plan that replaces
    and deletes nothing is written (:class:`ConfirmationNeeded` otherwise).
    """
    # One confirmation at a time per report: a second waits here, then sees the first one's rows.
    db.session.scalars(
        select(MonthlyReport)
        .where(MonthlyReport.id == report.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    result = _prepare(report, data, filename)
    if result.plan is None or not result.ok:
        return result
    if isinstance(confirm, str) and confirm != result.digest:
        raise PlanChanged(result)
    if confirm is False and result.plan.replaces:
        raise ConfirmationNeeded(result)
    savepoint = db.session.begin_nested()
    result.cell_errors = execute(result.plan)
    if result.cell_errors:
        savepoint.rollback()
        _cap_errors(result)
    else:
        savepoint.commit()
    return result


def _prepare(report: MonthlyReport, data: bytes, filename: str) -> UploadResult:
    """Levels 1-3, then the plan against the month as it is now."""
    today, now = today_shanghai(), now_shanghai()
    ensure_editable(report, today=today)
    result = UploadResult(sha256=hashlib.sha256(data or b"").hexdigest())
    book = None
    try:
        book, merges = _open(data, filename)
        school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
        versions, staff_ids = _check_meta(book, report, school)
        sheets = _check_sheets(book, versions, staff_ids=staff_ids)
        reader = _Reader(report, school, versions, today, merges, staff_ids=staff_ids)
        try:
            parsed = reader.read(sheets)
        except _TooManyErrors:
            result.cell_errors = reader.errors
            _cap_errors(result)
            return result
    except _FileRefused as refused:
        result.file_errors.append(refused.message)
        return result
    finally:
        if book is not None:
            book.close()
    if reader.errors:
        result.cell_errors = reader.errors
        return result
    if parsed.empty:
        result.file_errors.append(
            _(
                "The workbook holds no data: fill in at least one of the sheets %(sheets)s and upload "
                "it again.",
                sheets="、".join(c.DATA_SHEETS),
            )
        )
        return result
    month = month_data.load(report)
    result.plan = build_plan(Context(month, versions, today, now), parsed)
    return result


# --- level 1: the file ---------------------------------------------------------------------------------


def _open(data: bytes, filename: str) -> tuple[Any, dict[str, list[tuple[str, int]]]]:
    if not data:
        raise _FileRefused(_("The file is empty."))
    limit = max_bytes()
    if len(data) > limit:
        raise _FileRefused(_("The file is larger than %(mb)s MB.", mb=round(limit / 1024 / 1024, 1)))
    name = (filename or "").lower().strip()
    if name.endswith(MACRO_EXTENSIONS):
        raise _FileRefused(_("Macro-enabled workbooks (.xlsm) are not accepted; save the file as .xlsx."))
    if not name.endswith(".xlsx"):
        raise _FileRefused(_("Only Excel .xlsx files made from the downloaded template are accepted."))
    if not zipfile.is_zipfile(BytesIO(data)):
        raise _FileRefused(_("This is not an Excel .xlsx file (it may be damaged)."))
    archive = None
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
        _check_sizes(infos)
        names = {i.filename for i in infos}
        content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
        if any(n.lower().endswith("vbaproject.bin") for n in names) or b"macroEnabled" in content_types:
            raise _FileRefused(_("Macro-enabled workbooks (.xlsm) are not accepted; save the file as .xlsx."))
        merges: dict[str, list[tuple[str, int]]] = {}
        for title, path in _sheet_parts(data).items():
            rows, merges[title] = _scan_part(archive, path) if path in names else (0, [])
            if rows > max_rows() + 1:
                raise _too_many_rows(title)
        book = load_workbook(BytesIO(data), read_only=True, data_only=False)
    except _FileRefused:
        raise
    except Exception:  # zipfile and openpyxl raise many kinds of errors for damaged files
        raise _FileRefused(_("This is not an Excel .xlsx file (it may be damaged).")) from None
    finally:
        if archive is not None:
            archive.close()
    return book, merges


def _check_sizes(infos: list[zipfile.ZipInfo]) -> None:
    """What the parts declare, before anything is inflated: Python's zipfile never inflates a part
    past its declared size (and fails its CRC check if the data would go on), so this bounds it."""

    def too_large(limit: int) -> _FileRefused:
        return _FileRefused(
            _("The workbook is too large when unpacked (%(mb)s MB at most).", mb=limit // 1024 // 1024)
        )

    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
        raise too_large(MAX_UNCOMPRESSED)
    for info in infos:
        limit = MAX_SHARED_STRINGS if info.filename.lower().endswith("sharedstrings.xml") else MAX_PART
        if info.file_size > limit:
            raise too_large(limit)


def _sheet_parts(data: bytes) -> dict[str, str]:
    """Sheet title -> zip part, as openpyxl itself finds them (its workbook reader)."""
    reader = ExcelReader(BytesIO(data), read_only=True)
    try:
        reader.read_manifest()
        reader.read_workbook()
        return {sheet.name: str(rel.target).lstrip("/") for sheet, rel in reader.parser.find_sheets()}
    finally:
        reader.archive.close()


def _scan_part(archive: zipfile.ZipFile, path: str) -> tuple[int, list[tuple[str, int]]]:
    """One sheet part scanned as bytes, in chunks, before openpyxl parses it: its ``<row>`` elements
    (counted up to one past the row cap - openpyxl's read-only mode would otherwise parse a sheet that
    declares no dimension to its end just to open the workbook) and its merged ranges (which the
    read-only mode does not read; at most one more than the error cap)."""
    found: list[tuple[str, int]] = []
    rows = 0
    row_limit, merge_limit = max_rows() + 2, max_errors() + 1
    tail = b""
    with archive.open(path) as part:
        while rows < row_limit:
            chunk = part.read(SCAN_CHUNK)
            text = tail + chunk
            # Matches starting in the last 200 bytes wait for the next chunk (a tag may be cut in two).
            cut = len(text) if not chunk else max(0, len(text) - 200)
            rows += sum(1 for m in ROW_RE.finditer(text) if m.start() < cut)
            if len(found) < merge_limit:
                found += [(m[1].decode(), int(m[2])) for m in MERGE_RE.finditer(text) if m.start() < cut]
            tail = text[cut:]
            if not chunk:
                break
    return rows, found[:merge_limit]


def _stream(
    ws: Any, *, width: int | None = None, min_row: int = 1, max_row: int | None = None
) -> Iterator[tuple]:
    """The sheet's rows from ``min_row``, as openpyxl streams them (read-only mode: one row in memory),
    ``width`` values each. A sheet past :func:`max_rows` is refused - by its declared dimension before
    anything is parsed, else at the first row past the cap - and so is XML that cannot be parsed."""
    title = ws.title
    last = max_rows() + 1  # the header row and the data rows
    if (ws.max_row or 0) > last:
        raise _too_many_rows(title)
    # From here on the rows are counted as they come: openpyxl would otherwise stop at a declared
    # dimension that is too small (rows below it silently ignored) or pad up to one that is too large.
    ws.reset_dimensions()
    rows = ws.iter_rows(min_row=min_row, max_row=max_row, max_col=width, values_only=True)
    number = min_row
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception:  # a parse error of the XML, a bad cell reference, an unknown shared string
            raise _FileRefused(
                _("The sheet %(sheet)s is damaged and cannot be read; save the workbook again.", sheet=title)
            ) from None
        if number > last:
            raise _too_many_rows(title)
        yield row
        number += 1


def _too_many_rows(title: str) -> _FileRefused:
    return _FileRefused(
        _(
            "The sheet %(sheet)s has more than %(n)s rows below its header row, more than a workbook "
            "may hold; delete the rows that are not needed (empty rows at the end too) and upload it again.",
            sheet=title,
            n=max_rows(),
        )
    )


# --- level 2: the template ------------------------------------------------------------------------------


def _check_meta(
    book: Any, report: MonthlyReport, school: School
) -> tuple[dict[RubricKind, RubricVersion | None], bool]:
    """The rubric versions the workbook was made for, and whether its 人员考核 sheet carries 人员编号
    (the current template does; version 1 of the template is still read, by name)."""
    wrong = _("This is not the monthly template of this system; download the template and fill that in.")
    if c.SHEET_META not in book.sheetnames:
        raise _FileRefused(wrong)
    meta: dict[str, str] = {}
    for row in _stream(book[c.SHEET_META], width=2):
        if row and row[0] is not None:
            meta[str(row[0])] = "" if len(row) < 2 or row[1] is None else str(row[1])
    staff_ids = c.STAFF_ID_COLUMN.get(meta.get("template_version", ""))
    if staff_ids is None:
        raise _FileRefused(wrong)
    if meta.get("school_code") != school.code:
        raise _FileRefused(
            _(
                "This workbook is for school %(other)s, not for %(school)s.",
                other=meta.get("school_code", "?"),
                school=school.code,
            )
        )
    if meta.get("period") != report.period.code:
        raise _FileRefused(
            _(
                "This workbook is for the month %(other)s, not for %(month)s.",
                other=meta.get("period", "?"),
                month=report.period.code,
            )
        )
    versions: dict[RubricKind, RubricVersion | None] = {}
    for kind in RubricKind:
        current = rubrics.current_version(kind)
        if meta.get(f"rubric_{kind.value}", "") != (str(current.id) if current is not None else ""):
            raise _FileRefused(
                _("The bureau has published a new rubric since this template was made; download it again.")
            )
        versions[kind] = current
    return versions, staff_ids


def _check_sheets(
    book: Any, versions: dict[RubricKind, RubricVersion | None], *, staff_ids: bool
) -> dict[str, Any]:
    staff_version = versions[RubricKind.STAFF]
    staff_sections = list(staff_version.sections) if staff_version else []
    expected = {
        c.SHEET_CANTEEN: list(c.INSPECTION_HEADERS),
        c.SHEET_SAFETY: list(c.INSPECTION_HEADERS),
        c.SHEET_FACTS: list(c.FACTS_HEADERS),
        c.SHEET_STAFF: c.staff_headers(staff_sections, with_id=staff_ids),
        c.SHEET_HAZARDS: list(c.HAZARD_HEADERS),
        c.SHEET_INCIDENTS: list(c.INCIDENT_HEADERS),
    }
    sheets: dict[str, Any] = {}
    for title, headers in expected.items():
        if title not in book.sheetnames:
            raise _FileRefused(_("The sheet %(sheet)s is missing.", sheet=title))
        ws = book[title]
        first = next(_stream(ws, max_row=1), ())
        found = [("" if v is None else str(v)).strip() for v in first][: len(headers)]
        if found != headers:
            raise _FileRefused(_("The header row of sheet %(sheet)s was changed.", sheet=title))
        sheets[title] = ws
    return sheets


# --- level 3: every cell ----------------------------------------------------------------------------------


@dataclass
class _Block:
    number: int
    row: int  # first row, for messages
    inspected_on: date | None = None
    inspector_name: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    filled: bool = False


@dataclass
class Parsed:
    """The checked workbook: blocks, facts, evaluation rows, hazard and incident rows (with their row)."""

    inspections: dict[InspectionKind, list[_Block]] = field(default_factory=dict)
    facts: dict[str, Any] | None = None
    facts_row: int = 2
    evaluations: list[tuple[int, StaffMember, list[dict[str, Any]]]] = field(default_factory=list)
    hazards: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    incidents: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing filled in on any data sheet (the plan would touch no kind of record)."""
        return not (
            any(self.inspections.values())
            or self.facts is not None
            or self.evaluations
            or self.hazards
            or self.incidents
        )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _whole(value: Any) -> int | None:
    """A 人员编号 as a cell holds it (a number, or digits kept as text), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _Reader:
    def __init__(
        self,
        report: MonthlyReport,
        school: School,
        versions: dict[RubricKind, RubricVersion | None],
        today: date,
        merges: dict[str, list[tuple[str, int]]],
        *,
        staff_ids: bool = True,
    ) -> None:
        self.report = report
        self.staff_ids = staff_ids  # the 人员考核 sheet ends with a 人员编号 column
        self.school = school
        self.versions = versions
        self.today = today
        self.merges = merges
        period = report.period
        self.first_day = period.first_day
        self.last_day = date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])
        self.errors: list[CellError] = []
        self.max_errors = max_errors()
        self.sheet = ""

    def error(self, row: int, column: int | str, message: str) -> None:
        letter = column if isinstance(column, str) else c.col(column)
        self.errors.append(CellError(self.sheet, row, letter, message))
        if len(self.errors) > self.max_errors:  # one more than answered: there are more
            raise _TooManyErrors()

    def rows(self, ws: Any, width: int) -> Iterator[tuple[int, list[Any]]]:
        """Data rows (2..) of ``width`` values (columns past it are not read); formulas are refused
        here - a text whose first character after white space is ``=`` too (see the module's doc)."""
        for r, row in enumerate(_stream(ws, width=width, min_row=2), start=2):
            values = list(row) + [None] * max(0, width - len(row))
            for i, value in enumerate(values, start=1):
                formula = isinstance(value, str) and value.lstrip().startswith("=")
                # Anything but a plain value (an array formula, a rich-text object) is refused too.
                unusual = value is not None and not isinstance(
                    value, str | int | float | datetime | date | time
                )
                if formula or unusual:
                    self.error(r, i, _("Formulas are not accepted; enter the value itself."))
                    values[i - 1] = None
            if any(not _blank(v) for v in values):
                yield r, values[:width] if len(values) > width else values

    def read(self, sheets: dict[str, Any]) -> Parsed:
        plan = Parsed()
        for title in c.DATA_SHEETS:
            self.sheet = title
            for column, row in self.merges.get(title, []):
                self.error(row, column, _("Merged cells are not accepted; unmerge them."))
        for kind, title in c.INSPECTION_SHEETS.items():
            self.sheet = title
            plan.inspections[kind] = self.read_inspections(sheets[title], kind)
        self.sheet = c.SHEET_FACTS
        plan.facts = self.read_facts(sheets[c.SHEET_FACTS])
        self.sheet = c.SHEET_STAFF
        plan.evaluations = self.read_staff(sheets[c.SHEET_STAFF])
        self.sheet = c.SHEET_HAZARDS
        plan.hazards = self.read_hazards(sheets[c.SHEET_HAZARDS])
        self.sheet = c.SHEET_INCIDENTS
        plan.incidents = self.read_incidents(sheets[c.SHEET_INCIDENTS])
        return plan

    # value helpers -------------------------------------------------------------------------------

    def number(self, row: int, column: int, value: Any, *, places: int = 0, maximum: Any = None) -> Any:
        if isinstance(value, bool | str | datetime | date | time):
            self.error(row, column, _("Enter a number, not text."))
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.error(row, column, _("Enter a number, not text."))
            return None
        if amount < 0 or (maximum is not None and amount > Decimal(str(maximum))):
            if maximum is None:
                self.error(row, column, _("The number cannot be negative."))
            else:
                self.error(row, column, _("Enter a number between 0 and %(max)s.", max=maximum))
            return None
        if amount != amount.quantize(Decimal(1).scaleb(-places)):
            if places == 0:
                self.error(row, column, _("Enter a whole number."))
            else:
                self.error(row, column, _("Enter at most %(n)s decimals.", n=places))
            return None
        return int(amount) if places == 0 else amount.quantize(Decimal(1).scaleb(-places))

    def day(self, row: int, column: int, value: Any, *, in_month: bool = True) -> date | None:
        if isinstance(value, datetime):
            value = value.date()
        elif isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                value = None
        if not isinstance(value, date):
            self.error(row, column, _("Enter a date (for example 2026-11-03)."))
            return None
        if in_month and not (self.first_day <= value <= self.last_day):
            self.error(
                row, column, _("The date must fall in the month %(month)s.", month=self.report.period.code)
            )
            return None
        if in_month and value > self.today:
            self.error(row, column, _("The date cannot be in the future."))
            return None
        return value

    def choice(self, row: int, column: int, value: Any, choices: dict[str, Any], shown: list[str]) -> Any:
        key = str(value).strip()
        found = choices.get(key, choices.get(key.lower()))
        if found is None:
            self.error(row, column, _("Choose one of: %(choices)s.", choices="/".join(shown)))
        return found

    def text(self, row: int, column: int, value: Any, *, limit: int, required: bool = False) -> str:
        if _blank(value):
            if required:
                self.error(row, column, _("This cell is required."))
            return ""
        if isinstance(value, datetime | date | time):
            self.error(row, column, _("Enter text here, not a date."))
            return ""
        text = str(value).strip()
        if text[:1] == "'" and text[1:2] in NEUTRALISED:
            text = text[1:]  # written formula-safe by the template (common.neutralise): the text itself
        if len(text) > limit:
            self.error(row, column, _("At most %(n)s characters.", n=limit))
            return ""
        return text

    # sheets ----------------------------------------------------------------------------------------

    def read_inspections(self, ws: Any, kind: InspectionKind) -> list[_Block]:
        version = self.versions[kind.rubric_kind]
        applies = kind is not InspectionKind.CANTEEN or self.school.canteen_mode is not CanteenMode.NONE
        items = {i.code: i for i in version.all_items() if not i.computed} if version else {}
        blocks: dict[int, _Block] = {}
        for r, v in self.rows(ws, 8):
            number, day, who, code, _text, result, occ, note = v[:8]
            if not applies:
                if any(not _blank(x) for x in (day, who, result, occ, note)):
                    self.error(r, 1, _("This school has no canteen; leave this sheet empty."))
                continue
            if _blank(number):
                if any(not _blank(x) for x in (day, who, result, occ, note)):
                    self.error(r, 1, _("This cell is required."))
                continue
            n = self.number(r, 1, number, maximum=1000)
            if n is None:
                continue
            block = blocks.setdefault(n, _Block(n, r))
            if any(not _blank(x) for x in (day, who, result, occ, note)):
                block.filled = True
            block.items.append({"row": r, "day": day, "who": who, "code": code, "result": result,
                                "occ": occ, "note": note})  # fmt: skip
        out = []
        for block in blocks.values():
            if block.filled:
                self.check_block(block, items)
                out.append(block)
        return out

    def check_block(self, block: _Block, items: dict[str, Any]) -> None:
        rows = block.items
        block.items = []
        days = {(x["row"], x["day"]) for x in rows if not _blank(x["day"])}
        for r, value in sorted(days, key=lambda t: t[0]):
            day = self.day(r, 2, value)
            if day is not None and block.inspected_on is not None and day != block.inspected_on:
                self.error(r, 2, _("One inspection has one date; use a new 序号 for another inspection."))
            block.inspected_on = block.inspected_on or day
        if not days:
            self.error(block.row, 2, _("This cell is required."))
        names = [(x["row"], x["who"]) for x in rows if not _blank(x["who"])]
        for r, value in names:
            name = self.text(r, 3, value, limit=64)
            if name and block.inspector_name and name != block.inspector_name:
                self.error(
                    r, 3, _("One inspection has one inspector; use a new 序号 for another inspection.")
                )
            block.inspector_name = block.inspector_name or name
        if not names:
            self.error(block.row, 3, _("This cell is required."))
        seen: set[str] = set()
        for x in rows:
            r = x["row"]
            code = "" if _blank(x["code"]) else str(x["code"]).strip()
            item = items.get(code)
            if item is None:
                self.error(r, 4, _("Unknown item code %(code)s.", code=code or "-"))
                continue
            if code in seen:
                self.error(r, 4, _("Item %(code)s is listed twice in this inspection.", code=code))
                continue
            seen.add(code)
            if _blank(x["result"]):
                self.error(r, 6, _("This cell is required."))
                continue
            result = self.choice(r, 6, x["result"], c.RESULTS, c.RESULT_CHOICES)
            if result is None:
                continue
            if result is ItemOutcome.NA and not item.na_allowed:
                self.error(r, 6, _("This item cannot be marked not applicable."))
            occurrences = 0
            if not _blank(x["occ"]):
                occurrences = self.number(r, 7, x["occ"], maximum=MAX_OCCURRENCES) or 0
                if occurrences and result is not ItemOutcome.FAIL:
                    self.error(r, 7, _("Only a failed item has occurrences."))
            note = self.text(r, 8, x["note"], limit=500)
            block.items.append(
                {"item_id": item.id, "result": result, "occurrences": occurrences, "note": note}
            )
        missing = [code for code in items if code not in seen]
        if missing:
            self.error(block.row, 4, _("Results are missing for items: %(codes)s.", codes=", ".join(missing)))

    def read_facts(self, ws: Any) -> dict[str, Any] | None:
        has_canteen = self.school.canteen_mode is not CanteenMode.NONE
        values: dict[str, Any] = {}
        filled: list[int] = []
        rows = {r: v for r, v in self.rows(ws, 3)}
        for offset, (field_name, _label, _hint) in enumerate(c.FACT_ROWS):
            r = 2 + offset
            value = rows.get(r, [None, None, None])[1]
            if not has_canteen:
                if not _blank(value) and str(value).strip() != "不适用":
                    self.error(r, 2, _("This school has no canteen; leave this sheet empty."))
                continue
            if _blank(value):
                continue
            filled.append(r)
            if field_name == "food_waste_kg":
                values[field_name] = self.number(r, 2, value, places=1, maximum=Decimal("9999999.9"))
            else:
                values[field_name] = self.number(r, 2, value, maximum=1_000_000)
        if not filled:
            return None
        for offset, (field_name, _label, _hint) in enumerate(c.FACT_ROWS):
            if field_name not in values:
                self.error(2 + offset, 2, _("This cell is required."))
        if any(v is None for v in values.values()) or len(values) != len(c.FACT_ROWS):
            return None
        return values

    def read_staff(self, ws: Any) -> list[tuple[int, StaffMember, list[dict[str, Any]]]]:
        version = self.versions[RubricKind.STAFF]
        sections = list(version.sections) if version else []
        scores_end = 2 + len(sections) * len(c.STAFF_GROUPS)
        width = scores_end + (1 if self.staff_ids else 0)
        # This school's active staff only: a number or a name of anyone else matches nobody.
        roster = db.session.scalars(
            select(StaffMember).where(StaffMember.school_id == self.school.id, StaffMember.active.is_(True))
        ).all()
        by_id = {member.id: member for member in roster}
        by_name: dict[str, list[StaffMember]] = {}
        for member in roster:
            by_name.setdefault(member.name.strip(), []).append(member)
        out = []
        seen: set[int] = set()
        for r, v in self.rows(ws, width):
            scores_cells = v[2:scores_end]
            if all(_blank(x) for x in scores_cells):
                continue  # listed but not evaluated this month
            name = self.text(r, 1, v[0], limit=40, required=True)
            role = None
            if not _blank(v[1]):
                role = self.choice(r, 2, v[1], c.ROLES, c.ROLE_CHOICES)
            if self.staff_ids and not _blank(v[width - 1]):
                member = self.staff_by_number(r, width, v[width - 1], name, by_id)
            else:
                member = self.staff_by_name(r, name, role, by_name)
            if member is not None:
                if member.id in seen:
                    self.error(r, 1, _("%(name)s is listed twice.", name=name))
                    member = None
                elif member.hire_date > self.last_day:
                    self.error(r, 1, _("This staff member was hired after the month."))
                    member = None
                else:
                    seen.add(member.id)
            ratings = []
            for g, (group, group_label) in enumerate(c.STAFF_GROUPS):
                cells = v[2 + g * len(sections) : 2 + (g + 1) * len(sections)]
                if all(_blank(x) for x in cells) and group != RaterGroup.ASSESSMENT:
                    continue
                scores = {}
                for s, (section, value) in enumerate(zip(sections, cells, strict=True)):
                    column = 3 + g * len(sections) + s
                    if _blank(value):
                        if group == RaterGroup.ASSESSMENT:
                            self.error(r, column, _("This cell is required."))
                        continue
                    amount = self.number(
                        r, column, value, places=2, maximum=format(section.max_points.normalize(), "f")
                    )
                    if amount is not None:
                        scores[section.code] = amount
                rating: dict[str, Any] = {"rater_group": RaterGroup(group), "scores": scores}
                rating["rater_name"] = group_label if group != RaterGroup.SELF else ""
                ratings.append(rating)
            if member is not None:
                out.append((r, member, ratings))
        return out

    def staff_by_number(
        self, r: int, column: int, value: Any, name: str, by_id: dict[int, StaffMember]
    ) -> StaffMember | None:
        """The row's person by its 人员编号 - one of this school's active staff, or an error that says
        nothing about whom else the number might belong to."""
        number = _whole(value)
        member = by_id.get(number) if number is not None else None
        if member is None:
            self.error(
                r,
                column,
                _(
                    "%(number)s is not the 人员编号 of an active staff member of this school; keep the "
                    "number the template listed (leave it empty on a row you add).",
                    number=str(value).strip(),
                ),
            )
            return None
        if name and name != member.name.strip():
            self.error(
                r,
                1,
                _(
                    "The 人员编号 %(number)s belongs to %(member)s, not to %(name)s; keep each person's "
                    "row as the template listed it.",
                    number=number,
                    member=member.name,
                    name=name,
                ),
            )
            return None
        return member

    def staff_by_name(
        self, r: int, name: str, role: Any, by_name: dict[str, list[StaffMember]]
    ) -> StaffMember | None:
        """A row without 人员编号 (added by hand, or a workbook from before the column): by its name,
        and its 岗位 when several share the name. Several left: only the number can tell them apart."""
        matches = by_name.get(name, [])
        if role is not None and len(matches) > 1:
            matches = [m for m in matches if m.role == role]
        if name and not matches:
            self.error(
                r,
                1,
                _("%(name)s is not an active staff member of this school (see the roster).", name=name),
            )
        elif len(matches) > 1:
            self.error(
                r,
                1,
                _(
                    "Several staff members are called %(name)s; use the row the template lists for "
                    "each of them, with their 人员编号 (download the template again if it has no such "
                    "column).",
                    name=name,
                ),
            )
        elif matches:
            return matches[0]
        return None

    def read_hazards(self, ws: Any) -> list[tuple[int, dict[str, Any]]]:
        out = []
        for r, v in self.rows(ws, 7):
            title = self.text(r, 1, v[0], limit=200, required=True)
            location = self.text(r, 2, v[1], limit=200, required=True)
            severity = None
            if _blank(v[2]):
                self.error(r, 3, _("This cell is required."))
            else:
                severity = self.choice(r, 3, v[2], c.HAZARD_SEVERITIES, c.HAZARD_SEVERITY_CHOICES)
            person = self.text(r, 4, v[3], limit=40, required=True)
            found_on = (
                self.day(r, 5, v[4]) if not _blank(v[4]) else self.error(r, 5, _("This cell is required."))
            )
            deadline = (
                self.day(r, 6, v[5], in_month=False)
                if not _blank(v[5])
                else self.error(r, 6, _("This cell is required."))
            )
            if found_on and deadline and deadline < found_on:
                self.error(r, 6, _("The deadline cannot be before the day the hazard was found."))
            description = self.text(r, 7, v[6], limit=4000)
            out.append(
                (r, {"title": title, "location": location, "severity": severity, "responsible_person": person,
                     "found_on": found_on, "deadline": deadline, "description": description})
            )  # fmt: skip
        # 名称, 位置 and 发现日期 identify a hazard (service/excel/month.py): one row each.
        seen: set[tuple[Any, ...]] = set()
        for r, data in out:
            key = (data["title"], data["location"], data["found_on"])
            if all(key) and key in seen:
                self.error(r, 1, _("This hazard is listed twice (same 名称, 位置 and 发现日期)."))
            seen.add(key)
        return out

    def read_incidents(self, ws: Any) -> list[tuple[int, dict[str, Any]]]:
        out = []
        now = now_shanghai()
        for r, v in self.rows(ws, 5):
            kind = severity = None
            if _blank(v[0]):
                self.error(r, 1, _("This cell is required."))
            else:
                kind = self.choice(r, 1, v[0], c.INCIDENT_TYPES, c.INCIDENT_TYPE_CHOICES)
            occurred_at = None
            value = v[1]
            if isinstance(value, str):
                try:
                    value = datetime.fromisoformat(value.strip())
                except ValueError:
                    value = None
            if isinstance(value, date) and not isinstance(value, datetime):
                value = datetime.combine(value, time())
            if not isinstance(value, datetime):
                self.error(r, 2, _("Enter a date and time (for example 2026-11-03 09:30)."))
            else:
                occurred_at = value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value
                # Stored as UTC: SQLite (the embedded demo) keeps the wall time and reads it back as UTC.
                occurred_at = occurred_at.astimezone(UTC)
                if not (self.first_day <= occurred_at.astimezone(SHANGHAI).date() <= self.last_day):
                    self.error(
                        r, 2, _("The date must fall in the month %(month)s.", month=self.report.period.code)
                    )
                    occurred_at = None
                elif occurred_at > now:
                    self.error(r, 2, _("The time cannot be in the future."))
                    occurred_at = None
            if _blank(v[2]):
                self.error(r, 3, _("This cell is required."))
            else:
                severity = self.choice(r, 3, v[2], c.INCIDENT_SEVERITIES, c.INCIDENT_SEVERITY_CHOICES)
            at_fault = False
            if not _blank(v[3]):
                answer = self.choice(r, 4, v[3], {c.YES: True, c.NO: False, "yes": True, "no": False},
                                     [c.YES, c.NO])  # fmt: skip
                at_fault = bool(answer)
            description = self.text(r, 5, v[4], limit=4000)
            out.append(
                (r, {"type": kind, "occurred_at": occurred_at, "severity": severity,
                     "school_at_fault": at_fault, "description": description})
            )  # fmt: skip
        # 类型 and 发生时间 identify an incident (service/excel/month.py): one row each.
        seen: set[tuple[Any, ...]] = set()
        for r, data in out:
            key = (data["type"], data["occurred_at"])
            if all(key) and key in seen:
                self.error(r, 2, _("This incident is listed twice (same 类型 and 发生时间)."))
            seen.add(key)
        return out
