"""The commendation rules (rubrics.md "Default commendations"): who qualifies, who nearly did, and why.

Pure functions over facts gathered by :mod:`service.commendations.operations` (ranking entries of the
term or year, vetoes in force, spot canteen grades, overdue hazards, staff evaluations) and the
bureau's rule settings. Every rule returns :class:`Proposal` rows made of :class:`Check` results, so a
reviewer reads for each candidate which conditions held and which did not, with the value and the
threshold - the same text in Chinese and English.

How the numbers are compared: an area mean is compared *as it is shown* - rounded to 1 decimal, half
up - so a canteen shown as "95.0" never fails "≥ 95". A person mean is not: formula 4 keeps person
scores unrounded and rounds only for display, so the 优秀后勤人员 threshold compares the mean of the
person's stored (exact to 10 decimals) monthly scores - 94.995 is below 95 although it is shown as
95.00 - and the quotas order people by that unrounded mean. Where the 2-decimal display would
contradict the check, the check's text shows the unrounded mean instead (:func:`mean_text`).

Who is stored: everybody who qualifies, and the near misses - those within ``near_miss_points`` of a
threshold, those who met the thresholds but were barred (veto, spot grade, overdue hazard, data, term
in post, health certificate) and those cut by a quota. Schools and people far from every threshold
are not stored.

先进单位 (advanced unit): the quota of a peer group is ``ceil(share% × ranked schools of the group)``,
at least 1 (a share of 0 disables the award). A school is inside the top share when its peer rank is
within the quota, so a tie at the boundary includes every tied school (competition ranking gives them
the same rank). Ranks are those of the snapshot: a vetoed or incomplete school keeps its rank (vetoes
never change scores or ranks), so its place is not passed down to the next school.

优秀后勤人员 (outstanding staff): personal conditions first (person mean, months in post, still in
post, no personal veto in force - accident at fault, discipline, kickback, unexcused absence, recorded
in ``service/staff/vetoes.py`` - the school not barred, a food handler's health certificate valid on
every month worked); then
the school quota ``floor(evaluated staff of the school / staff_per_award)`` and after it the district
quota ``floor(district_share% × evaluated staff of the district)``, best person means first. Both
quotas are hard caps ("at most"). **Ties at a quota boundary**: equal person means are ordered by
longer service (earlier hire date); people still equal on both at the boundary are all left out, so
a quota is never exceeded and nobody is picked arbitrarily - they are stored as near misses saying so,
and the bureau may widen the quota in the rules and propose again.

The health certificate: the staff roster keeps only the current certificate's expiry, so a food
handler fails when that expiry (or no certificate at all) lies before the last day of the last month
they were evaluated in the period; a lapse that was renewed before the proposal cannot be seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from service.incidents.vetoes import Commendation
from service.org.models import SCHOOL_TYPE_LABELS, SchoolType
from service.rankings.models import EntryStatus
from service.staff.models import STAFF_ROLE_LABELS, StaffRole

ONE = Decimal("0.1")
TWO = Decimal("0.01")


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One condition of a rule for one candidate: held or not, in both languages."""

    code: str
    ok: bool
    zh: str
    en: str
    value: str | None = None
    threshold: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "ok": self.ok,
            "zh": self.zh,
            "en": self.en,
            "value": self.value,
            "threshold": self.threshold,
        }


@dataclass
class Proposal:
    """A candidate line: a commendation for a school (``staff_id`` None) or for one staff member."""

    commendation: Commendation
    school_id: int
    staff_id: int | None
    value: Decimal | None
    checks: list[Check] = field(default_factory=list)
    position: int = 0

    @property
    def qualifies(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def subject(self) -> str:
        return "school" if self.staff_id is None else f"staff:{self.staff_id}"

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.commendation.value, self.school_id, self.subject)

    def reasons(self) -> list[dict[str, Any]]:
        """Failed checks first (why not), then those that held (why)."""
        return [c.as_json() for c in sorted(self.checks, key=lambda c: c.ok)]


# --- facts (gathered by operations) ------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """A veto in force on the judging day that bars a commendation under the current settings."""

    rule: str
    reason: str  # zh, as recorded on the veto (names the incident or the failed item)
    reason_en: str  # the rule's English label
    ends_on: date


@dataclass(frozen=True)
class EntryFacts:
    """The ranking entry fields the rules read (a RankingEntry satisfies this)."""

    school_id: int
    status: EntryStatus
    score: Decimal | None
    months_expected: int
    months_counted: int
    canteen_applies: bool
    canteen_mean: Decimal | None
    safety_mean: Decimal | None
    school_type: str
    peer_group: str
    rank_peer: int | None


@dataclass(frozen=True)
class SpotFacts:
    total: int  # spot canteen inspections in the period, not set aside by an appeal
    graded: int  # of them, graded at least as required


@dataclass(frozen=True)
class PersonFacts:
    staff_id: int
    school_id: int
    name: str
    role: StaffRole
    hire_date: date
    active: bool
    food_handler: bool
    cert_expiry: date | None
    scores: tuple[Decimal, ...]  # counted evaluations of the period (accepted reports), as stored: unrounded
    last_worked: date  # last day of the latest month of the period with an evaluation
    # Personal vetoes in force on the judging day: (kind zh, kind en, day it happened), oldest first.
    vetoes: tuple[tuple[str, str, date], ...] = ()


# --- helpers ----------------------------------------------------------------------------------------


def rounded(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def fmt(value: Decimal | None, places: Decimal = ONE) -> str | None:
    return None if value is None else str(rounded(Decimal(value), places))


def num(value: Any) -> Decimal:
    """A setting as an exact decimal (settings keep decimals as strings)."""
    return Decimal(str(value))


def plain(value: Decimal) -> str:
    """A threshold without trailing zeros: 95, 10, 2.5."""
    return format(value.normalize(), "f")


def peer_group_label(entry: EntryFacts) -> tuple[str, str]:
    try:
        zh, en = SCHOOL_TYPE_LABELS[SchoolType(entry.school_type)]
    except ValueError:
        zh = en = entry.school_type
    if entry.canteen_applies:
        return f"{zh}·有食堂", f"{en}, with canteen"
    return f"{zh}·无食堂", f"{en}, no canteen"


def veto_check(bars: Sequence[Bar]) -> Check:
    if not bars:
        return Check("no_veto", True, "无一票否决事项", "No veto in force")
    zh = "；".join(f"{b.reason}（至 {b.ends_on.isoformat()} 前）" for b in bars)
    en = "; ".join(f"{b.reason_en} (until {b.ends_on.isoformat()})" for b in bars)
    return Check("no_veto", False, f"一票否决：{zh}", f"Barred by a veto: {en}", value=str(len(bars)))


def _near(value: Decimal, threshold: Decimal, near: Decimal) -> bool:
    return value >= threshold - near


def _mean_check(code: str, zh_name: str, en_name: str, mean: Decimal, minimum: Decimal) -> Check:
    shown = rounded(mean, ONE)
    ok = shown >= minimum
    sign = "≥" if ok else "<"
    return Check(
        code,
        ok,
        f"{zh_name} {shown} {sign} {plain(minimum)}",
        f"{en_name} {shown} {sign} {plain(minimum)}",
        value=str(shown),
        threshold=plain(minimum),
    )


def _positions(proposals: list[Proposal], key: Callable[[Proposal], Any]) -> list[Proposal]:
    proposals.sort(key=key)
    for i, p in enumerate(proposals, start=1):
        p.position = i
    return proposals


# --- 先进单位 ---------------------------------------------------------------------------------------


def advanced_unit(
    entries: Iterable[EntryFacts],
    bars: Mapping[int, Sequence[Bar]],
    settings: Mapping[str, Any],
    near: Decimal,
) -> list[Proposal]:
    entries = list(entries)
    share = num(settings["peer_group_share_percent"])
    require_complete = bool(settings.get("require_complete_data", True))
    ranked = [e for e in entries if e.status is EntryStatus.RANKED and e.rank_peer is not None]
    group_size: dict[str, int] = defaultdict(int)
    for e in ranked:
        group_size[e.peer_group] += 1
    quota: dict[str, int] = {}
    for group, n in group_size.items():
        q = int((share * n / 100).to_integral_value(rounding=ROUND_CEILING))
        quota[group] = max(1, q) if share > 0 else 0
    # The lowest score inside each group's cut: schools within ``near`` of it are near misses.
    boundary: dict[str, Decimal] = {}
    for e in ranked:
        if e.score is not None and e.rank_peer is not None and e.rank_peer <= quota[e.peer_group]:
            boundary[e.peer_group] = min(boundary.get(e.peer_group, e.score), e.score)

    out = []
    for e in entries:
        if e.score is None:
            continue
        is_ranked = e.status is EntryStatus.RANKED and e.rank_peer is not None
        q = quota.get(e.peer_group, 0)
        in_cut = is_ranked and q > 0 and e.rank_peer is not None and e.rank_peer <= q
        edge = boundary.get(e.peer_group)
        if not in_cut and (edge is None or not _near(e.score, edge, near)):
            continue
        group_zh, group_en = peer_group_label(e)
        n = group_size.get(e.peer_group, 0)
        checks = [
            Check(
                "ranked",
                is_ranked,
                "已排名（数据充足）" if is_ranked else "数据不足，未排名",
                "Ranked (enough data)" if is_ranked else "Not ranked: data insufficient",
                value=e.status.value,
            )
        ]
        if require_complete:
            complete = e.months_counted == e.months_expected
            counts = f"{e.months_counted}/{e.months_expected}"
            checks.append(
                Check(
                    "complete_data",
                    complete,
                    f"数据完整：{counts} 个月" if complete else f"数据不完整：仅 {counts} 个月有数据",
                    f"Data complete: {counts} months" if complete else f"Data incomplete: {counts} months",
                    value=counts,
                    threshold=str(e.months_expected),
                )
            )
        share_text = plain(share)
        if is_ranked:
            rank_zh = f"同类学校（{group_zh}，{n} 所）中排名第 {e.rank_peer}"
            rank_en = f"Rank {e.rank_peer} of {n} in the peer group ({group_en})"
        else:
            rank_zh, rank_en = f"同类学校（{group_zh}）中未排名", f"Not ranked in the peer group ({group_en})"
        checks.append(
            Check(
                "peer_group_share",
                in_cut,
                f"{rank_zh}，{'在' if in_cut else '未进入'}前 {share_text}%（前 {q} 名）",
                f"{rank_en}, {'within' if in_cut else 'outside'} the top {share_text}% (top {q})",
                value=str(e.rank_peer) if e.rank_peer is not None else None,
                threshold=str(q),
            )
        )
        checks.append(veto_check(bars.get(e.school_id, ())))
        checks.insert(
            0,
            Check(
                "score",
                True,
                f"综合得分 {fmt(e.score)}",
                f"Composite score {fmt(e.score)}",
                value=fmt(e.score),
            ),
        )
        out.append(Proposal(Commendation.ADVANCED_UNIT, e.school_id, None, e.score, checks))
    return _positions(out, lambda p: (-(p.value or 0), p.school_id))


# --- 放心食堂 ---------------------------------------------------------------------------------------


def trusted_canteen(
    entries: Iterable[EntryFacts],
    spots: Mapping[int, SpotFacts],
    bars: Mapping[int, Sequence[Bar]],
    settings: Mapping[str, Any],
    near: Decimal,
) -> list[Proposal]:
    minimum = num(settings["min_canteen_mean"])
    grade = str(settings.get("spot_grade", "A"))
    min_spots = int(settings.get("min_spot_inspections", 1))
    out = []
    for e in entries:
        if not e.canteen_applies or e.canteen_mean is None:
            continue
        if not _near(rounded(e.canteen_mean, ONE), minimum, near):
            continue
        spot = spots.get(e.school_id, SpotFacts(0, 0))
        below = spot.total - spot.graded
        enough = spot.total >= min_spots
        spot_ok = enough and below == 0
        if not enough:
            zh = f"督查 {spot.total} 次，少于要求的 {min_spots} 次"
            en = f"{spot.total} spot inspection(s), fewer than the required {min_spots}"
        elif below:
            zh = f"督查 {spot.total} 次，其中 {below} 次未达 {grade} 级"
            en = f"{below} of {spot.total} spot inspection(s) below grade {grade}"
        else:
            zh = f"督查 {spot.total} 次，均为 {grade} 级"
            en = f"All {spot.total} spot inspection(s) graded {grade}"
        checks = [
            _mean_check("canteen_mean", "食堂平均分", "Canteen mean", e.canteen_mean, minimum),
            Check(
                "spot_grades",
                spot_ok,
                zh,
                en,
                value=f"{spot.graded}/{spot.total}",
                threshold=f"{grade}≥{min_spots}",
            ),
            veto_check(bars.get(e.school_id, ())),
        ]
        out.append(Proposal(Commendation.TRUSTED_CANTEEN, e.school_id, None, e.canteen_mean, checks))
    return _positions(out, lambda p: (-(p.value or 0), p.school_id))


# --- 平安校园 ---------------------------------------------------------------------------------------


def safe_campus(
    entries: Iterable[EntryFacts],
    overdue: Mapping[int, int],
    bars: Mapping[int, Sequence[Bar]],
    settings: Mapping[str, Any],
    near: Decimal,
    as_of: date,
) -> list[Proposal]:
    minimum = num(settings["min_safety_mean"])
    check_hazards = bool(settings.get("no_overdue_hazard_at_end", True))
    out = []
    for e in entries:
        if e.safety_mean is None or not _near(rounded(e.safety_mean, ONE), minimum, near):
            continue
        checks = [_mean_check("safety_mean", "安全平均分", "Safety mean", e.safety_mean, minimum)]
        if check_hazards:
            n = overdue.get(e.school_id, 0)
            day = as_of.isoformat()
            checks.append(
                Check(
                    "no_overdue_hazard",
                    n == 0,
                    f"{day} 无逾期未整改隐患" if n == 0 else f"{day} 有 {n} 项隐患逾期未整改",
                    f"No overdue hazard on {day}" if n == 0 else f"{n} overdue hazard(s) on {day}",
                    value=str(n),
                    threshold="0",
                )
            )
        checks.append(veto_check(bars.get(e.school_id, ())))
        out.append(Proposal(Commendation.SAFE_CAMPUS, e.school_id, None, e.safety_mean, checks))
    return _positions(out, lambda p: (-(p.value or 0), p.school_id))


# --- 优秀后勤人员 -----------------------------------------------------------------------------------


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (2025-03-15 → 2025-09-14 is 5, → 2025-09-15 is 6)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def person_mean(person: PersonFacts) -> Decimal:
    """The person's term or year score: the mean of their monthly person scores, unrounded (formula 4
    rounds only for display; 28 significant digits when the mean is not a finite decimal)."""
    return sum(person.scores, Decimal(0)) / len(person.scores)


def mean_text(mean: Decimal, minimum: Decimal) -> str:
    """A person mean as a check shows it: 2 decimals, half up - unless those would contradict the
    comparison with ``minimum`` (94.995 is shown as 95.00 but is below 95); then with as many more
    decimals (6, then 10) as it takes not to, trailing zeros dropped."""
    ok = mean >= minimum
    shown = rounded(mean, TWO)
    if (shown >= minimum) == ok:
        return str(shown)
    for places in (Decimal("1e-6"), Decimal("1e-10")):
        finer = rounded(mean, places)
        if (finer >= minimum) == ok:
            return plain(finer)
    return plain(mean)


def _personal_checks(
    person: PersonFacts,
    mean: Decimal,
    bars: Sequence[Bar],
    settings: Mapping[str, Any],
    as_of: date,
) -> list[Check]:
    minimum = num(settings["min_score"])
    min_months = int(settings.get("min_months_in_post", 6))
    ok = mean >= minimum  # unrounded: formula 4
    sign = "≥" if ok else "<"
    text = mean_text(mean, minimum)
    checks = [
        Check(
            "person_mean",
            ok,
            f"考核平均分 {text} {sign} {plain(minimum)}（{len(person.scores)} 个月）",
            f"Evaluation mean {text} {sign} {plain(minimum)} ({len(person.scores)} month(s))",
            value=text,
            threshold=plain(minimum),
        )
    ]
    months = months_between(person.hire_date, as_of)
    in_post = months >= min_months
    checks.append(
        Check(
            "months_in_post",
            in_post,
            f"截至 {as_of.isoformat()} 在岗 {months} 个月" + ("" if in_post else f"，不足 {min_months} 个月"),
            f"{months} month(s) in post on {as_of.isoformat()}"
            + ("" if in_post else f", fewer than {min_months}"),
            value=str(months),
            threshold=str(min_months),
        )
    )
    if not person.active:
        checks.append(Check("in_post", False, "已不在岗", "No longer in post"))
    if person.food_handler:
        role_zh, role_en = STAFF_ROLE_LABELS[person.role]
        worked = person.last_worked.isoformat()
        expiry = person.cert_expiry
        if expiry is None:
            checks.append(
                Check(
                    "health_certificate",
                    False,
                    f"{role_zh}无健康证记录",
                    f"{role_en} without a health certificate on file",
                    threshold=worked,
                )
            )
        else:
            valid = expiry >= person.last_worked
            checks.append(
                Check(
                    "health_certificate",
                    valid,
                    f"健康证有效期至 {expiry.isoformat()}"
                    + ("" if valid else f"，过期后仍在岗（考核至 {worked}）"),
                    f"Health certificate valid until {expiry.isoformat()}"
                    + ("" if valid else f", worked after it expired (evaluated until {worked})"),
                    value=expiry.isoformat(),
                    threshold=worked,
                )
            )
    if person.vetoes:
        zh = "；".join(f"{kind_zh}（{day.isoformat()}）" for kind_zh, _en, day in person.vetoes)
        en = "; ".join(f"{kind_en} ({day.isoformat()})" for _zh, kind_en, day in person.vetoes)
        checks.append(Check("staff_veto", False, f"个人否决事项：{zh}", f"Personal veto: {en}"))
    else:
        checks.append(Check("staff_veto", True, "无个人否决事项", "No personal veto"))
    checks.append(veto_check(bars))
    return checks


def _cap(ordered: list[PersonFacts], quota: int, key: Callable[[PersonFacts], Any]) -> tuple[set, set]:
    """(within the quota, tied out at its boundary) - see the module docstring for the tie rule."""
    if quota <= 0:
        return set(), set()
    if len(ordered) <= quota:
        return {p.staff_id for p in ordered}, set()
    edge = key(ordered[quota - 1])
    if edge != key(ordered[quota]):
        return {p.staff_id for p in ordered[:quota]}, set()
    inside = {p.staff_id for p in ordered if key(p) < edge}
    tied = {p.staff_id for p in ordered if key(p) == edge}
    return inside, tied


def outstanding_staff(
    persons: Iterable[PersonFacts],
    bars: Mapping[int, Sequence[Bar]],
    settings: Mapping[str, Any],
    near: Decimal,
    as_of: date,
) -> list[Proposal]:
    persons = [p for p in persons if p.scores]
    minimum = num(settings["min_score"])
    per_award = max(int(settings.get("staff_per_award", 10)), 1)
    share = num(settings["district_share_percent"])
    means = {p.staff_id: person_mean(p) for p in persons}

    def key(p: PersonFacts) -> tuple[Decimal, date]:
        return (-means[p.staff_id], p.hire_date)

    evaluated: dict[int, int] = defaultdict(int)
    for p in persons:
        evaluated[p.school_id] += 1
    district_quota = int((share * len(persons) / 100).to_integral_value(rounding=ROUND_FLOOR))

    personal = {
        p.staff_id: _personal_checks(p, means[p.staff_id], bars.get(p.school_id, ()), settings, as_of)
        for p in persons
    }
    eligible = [p for p in persons if all(c.ok for c in personal[p.staff_id])]
    eligible_ids = {p.staff_id for p in eligible}

    # School quotas, then the district quota over those within their school's.
    school_in: set[int] = set()
    school_tied: set[int] = set()
    by_school: dict[int, list[PersonFacts]] = defaultdict(list)
    for p in eligible:
        by_school[p.school_id].append(p)
    for school_id, members in by_school.items():
        members.sort(key=key)
        inside, tied = _cap(members, evaluated[school_id] // per_award, key)
        school_in |= inside
        school_tied |= tied
    finalists = sorted((p for p in eligible if p.staff_id in school_in), key=key)
    district_in, district_tied = _cap(finalists, district_quota, key)

    out = []
    for p in persons:
        mean = means[p.staff_id]
        if not _near(mean, minimum, near):
            continue
        checks = list(personal[p.staff_id])
        if p.staff_id in eligible_ids:
            checks.append(_school_quota_check(p, evaluated[p.school_id], per_award, school_in, school_tied))
            if p.staff_id in school_in:
                checks.append(
                    _district_quota_check(p, len(persons), share, district_quota, district_in, district_tied)
                )
        out.append(Proposal(Commendation.OUTSTANDING_STAFF, p.school_id, p.staff_id, mean, checks))
    order = {p.staff_id: key(p) for p in persons}
    return _positions(out, lambda pr: (order[pr.staff_id], pr.staff_id))


def _school_quota_check(p: PersonFacts, n: int, per_award: int, inside: set[int], tied: set[int]) -> Check:
    quota = n // per_award
    threshold = str(quota)
    if quota == 0:
        return Check(
            "school_quota",
            False,
            f"本校参评后勤人员 {n} 人，不足 {per_award} 人，无评选名额",
            f"The school has {n} evaluated staff, fewer than {per_award}: no place to award",
            value=str(n),
            threshold=threshold,
        )
    if p.staff_id in inside:
        return Check(
            "school_quota",
            True,
            f"在本校名额之内（{n} 人参评，每 {per_award} 人 1 名，共 {quota} 名）",
            f"Within the school's quota ({n} evaluated, 1 per {per_award}: {quota})",
            value=str(n),
            threshold=threshold,
        )
    if p.staff_id in tied:
        return Check(
            "school_quota",
            False,
            f"与他人同分且任职时间相同，处于本校名额（{quota} 名）边界，均未入选",
            f"Tied on mean and service at the boundary of the school's quota ({quota}): none of the tied chosen",
            value=str(n),
            threshold=threshold,
        )
    return Check(
        "school_quota",
        False,
        f"超出本校名额（{n} 人参评，每 {per_award} 人 1 名，共 {quota} 名）",
        f"Beyond the school's quota ({n} evaluated, 1 per {per_award}: {quota})",
        value=str(n),
        threshold=threshold,
    )


def _district_quota_check(
    p: PersonFacts, total: int, share: Decimal, quota: int, inside: set[int], tied: set[int]
) -> Check:
    share_text = plain(share)
    base_zh = f"全区参评 {total} 人，名额 {share_text}% 即 {quota} 名"
    base_en = f"{total} evaluated in the district, {share_text}%: {quota} place(s)"
    if p.staff_id in inside:
        return Check(
            "district_quota",
            True,
            f"在全区名额之内（{base_zh}）",
            f"Within the district quota ({base_en})",
            value=str(total),
            threshold=str(quota),
        )
    if p.staff_id in tied:
        return Check(
            "district_quota",
            False,
            f"与他人同分且任职时间相同，处于全区名额边界，均未入选（{base_zh}）",
            f"Tied on mean and service at the boundary of the district quota ({base_en})",
            value=str(total),
            threshold=str(quota),
        )
    return Check(
        "district_quota",
        False,
        f"超出全区名额（{base_zh}）",
        f"Beyond the district quota ({base_en})",
        value=str(total),
        threshold=str(quota),
    )
