"""The school calendar of rankings: which months make a term (学期) and a school year (学年).

Term 1 = Sep–Jan (5 months), term 2 = Feb–Jul (6 months), year = Sep–Jul (11 months); August is not a
reporting month (rubrics.md formula 6). Keys are stable strings used in URLs and snapshots:
``2025-2026-1`` (term 1 of school year 2025/26), ``2025-2026-2``, ``2025-2026`` (the year), and
``2026-03`` for a month.

A term's *expected* months are its months for which the bureau has opened a period and whose deadline
has passed on the day the ranking is made (service/rankings/engine.py: periods_of): months before the
district started using Houqin, and the month still being reported, are not "missing" for anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from service.core.errors import DomainError
from service.rankings.models import RankingKind

TERM_1 = (9, 10, 11, 12, 1)
TERM_2 = (2, 3, 4, 5, 6, 7)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_TERM = re.compile(r"^(\d{4})-(\d{4})-([12])$")
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


@dataclass(frozen=True)
class RankingTarget:
    """What a snapshot ranks: a month, a term or a school year, and its calendar months."""

    kind: RankingKind
    key: str
    months: tuple[tuple[int, int], ...]  # (year, month), in calendar order

    @property
    def label(self) -> tuple[str, str]:
        if self.kind is RankingKind.MONTH:
            y, m = self.months[0]
            return f"{y}年{m}月", f"{y}-{m:02d}"
        start = int(self.key[:4])
        if self.kind is RankingKind.YEAR:
            return f"{start}—{start + 1}学年", f"School year {start}/{start + 1}"
        term = self.key[-1]
        zh_term = "第一学期" if term == "1" else "第二学期"
        return f"{start}—{start + 1}学年{zh_term}", f"{start}/{start + 1} term {term}"


def school_year_start(year: int, month: int) -> int:
    """The calendar year in which the school year containing ``year-month`` began (Sep)."""
    return year if month >= 9 else year - 1


def month_target(year: int, month: int) -> RankingTarget:
    return RankingTarget(RankingKind.MONTH, f"{year:04d}-{month:02d}", ((year, month),))


def term_target(start: int, term: int) -> RankingTarget:
    months = TERM_1 if term == 1 else TERM_2
    ym = tuple((start if m >= 9 else start + 1, m) for m in months)
    return RankingTarget(RankingKind.TERM, f"{start}-{start + 1}-{term}", ym)


def year_target(start: int) -> RankingTarget:
    ym = term_target(start, 1).months + term_target(start, 2).months
    return RankingTarget(RankingKind.YEAR, f"{start}-{start + 1}", ym)


def targets_containing(year: int, month: int) -> list[RankingTarget]:
    """The month itself, and (unless it is August) its term and its school year."""
    out = [month_target(year, month)]
    if month == 8:
        return out
    start = school_year_start(year, month)
    out.append(term_target(start, 1 if month in TERM_1 else 2))
    out.append(year_target(start))
    return out


def parse_target(kind: str, key: str) -> RankingTarget:
    """The target of ``kind``/``key`` as used in URLs and the CLI; a 422 naming the field otherwise."""
    try:
        kind_ = RankingKind(kind)
    except ValueError:
        raise DomainError(
            {"kind": [_("Must be one of: %(choices)s.", choices="month, term, year")]}
        ) from None
    if kind_ is RankingKind.MONTH and (m := _MONTH.match(key)) and 1 <= int(m[2]) <= 12:
        return month_target(int(m[1]), int(m[2]))
    if kind_ is RankingKind.TERM and (m := _TERM.match(key)) and int(m[2]) == int(m[1]) + 1:
        return term_target(int(m[1]), int(m[3]))
    if kind_ is RankingKind.YEAR and (m := _YEAR.match(key)) and int(m[2]) == int(m[1]) + 1:
        return year_target(int(m[1]))
    examples = {"month": "2026-03", "term": "2025-2026-1", "year": "2025-2026"}
    raise DomainError(
        {"key": [_("Not a valid %(kind)s key; for example %(example)s.", kind=kind, example=examples[kind_])]}
    )


def previous_target(target: RankingTarget) -> RankingTarget:
    """The period before: the previous reporting month (August skipped), term or school year."""
    if target.kind is RankingKind.MONTH:
        y, m = target.months[0]
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        if m == 8:
            m = 7
        return month_target(y, m)
    start = int(target.key[:4])
    if target.kind is RankingKind.YEAR:
        return year_target(start - 1)
    if target.key.endswith("-1"):
        return term_target(start - 1, 2)
    return term_target(start, 1)
