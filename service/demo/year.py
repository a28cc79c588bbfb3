"""A year of monthly data for the demo district, entered through the same operations a user's requests call.

The issue asked for "a year of realistic monthly data: most schools on time, a few late or missing
months, some hazards overdue, one food incident, one school whose self-inspections run far above its
spot inspections". This module plays that year forward month by month, as the people involved would
have entered it, so every row passed the validation a real request passes (ensure_editable, the
submission checks, rubric item checks, hazard and incident rules):

* **The months** (:func:`demo_calendar`). The year is the eleven reporting months (twelve calendar
  months without August) that end with the newest month already *locked* on ``today`` - its deadline
  (the 5th) and the ten days of grace after it have passed - so every story of the year is complete
  whatever the day: every late report is in, every missing one is final, every report is reviewed.
  Between the 1st and the lock day of a month (the 16th) the month before is still being reported:
  it is played too, as the month *in progress*, the way the schools and inspectors would have it
  today - data entered, on-time reports submitted on the 1st-5th if that day has passed, reviewed a
  day or three later if that day has passed, the rest still drafts. It carries none of the stories.
  Today's month (not in August) is opened too, with nothing in it: the month a school admin trying
  the demo fills in.
* **Every school, every month** (as the school admin, in the school's tenant scope): 2-3 canteen
  self-inspections (2 in the short winter and summer months) for schools with a canteen, mostly 85-98
  with the everyday lapses - a few days of 晨检 not recorded, one dish not sampled (留样), the 明厨亮灶
  camera offline - and now and then a bad day around 80; 1-2 campus safety self-checks; the canteen's
  monthly facts; an evaluation of every active staff member (the assessment group, sometimes also a
  self rating and a colleague's, 80-98); then the monthly report is submitted in the first days of
  the next month and accepted by the cluster's inspector a day or three later (acting as that inspector).
* **Spot inspections** (督查, as the cluster inspector) in roughly one school-month in three, a little
  below the same school's self-inspections; a poor one leaves a rectification notice (隐患整改通知).
* **Late submissions**: S004 建设街小学 (three months), S011 育才小学 and S021 南岗村小学 (two months
  each) and S027 白沙镇中心小学 (the year's last month) submitted two to six days after the 5th -
  reviewed before the month locked.
* **Missing months**: S010 西苑小学 entered nothing for one month in the middle of the year and
  S029 白沙镇柳树村小学 nothing for the year's last month; both months are locked now.
* **Returned reports**: two reports are sent back once by the inspector and resubmitted.
* **Credibility**: S014 钢城路小学 rates its own canteen ~97 month after month, while the inspector's
  unannounced visits (five of them) find ~70: missing 晨检 days, unsampled dishes, storage on the
  floor, the camera off. Two of the notices issued there are still open and overdue at the year's end.
* **Hazards**: schools log some of the problems their safety checks find, inspectors issue notices
  after poor visits; most are closed before their deadline, some late, and some are still open past
  their deadline at the year's end (overdue). A fix that would fall after the last month played stays
  open: the current month has no period yet, so nothing can be dated into it.
* **Bands** (综合等级): most schools are graded A, but not all - an official comparing schools must see
  the spread. :data:`WEAK_SCHOOLS` do worse than the everyday, month after month: S002 青山区第一小学,
  S017 南湖小学 and S022 青山区第五初级中学 land in B (a few standing lapses: 晨检 days missed, stock on
  the floor, visitors not logged); S021 南岗村小学 and S030 石门九年一贯制学校 in C (more of them, a dish
  not sampled, extinguishers under pressure, makeshift wiring); S028 长岭镇杨家湾小学 in D: a very poor
  safety record - the east exit found locked on half its checks, no lightning test, wiring, cameras and
  night patrols neglected - whose hazards are logged often and mostly left open past their deadline.
  The school finds its standing problems on its own checks as the inspector does on his, so a weak
  school raises no credibility flag (that stays S014's story), and its staff are rated a little lower.
  The inspector keeps a close eye on them: they submit on the 1st and are reviewed the next day (a
  late month of S021's stays late), so whenever a month in progress ranks anybody it ranks them too.
* **Food incident**: in the seventh month S024 长岭镇初级中学 (a boarding school) reports a food
  poisoning after lunch - undercooked beans, the school at fault - within the hour; the veto follows
  from the incident rules automatically, and the inspector visits unannounced the next day. The cook
  on duty gets a personal veto (accident at fault), which keeps them off 优秀后勤人员 for 12 months.

Everything random comes from one ``random.Random(rng_seed)`` drawn in a fixed order, so a seed always
yields the same year for the same ``today`` (another day draws another year with the same stories). Dates are explicit (``today``/``now`` arguments of the
operations, inside the month they belong to); the real clock is never read.
"""

from __future__ import annotations

import calendar
import datetime
import random
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.models import User
from service.audit.trail import Actor, acting_as
from service.core.timeutil import SHANGHAI
from service.demo.seed import school_username
from service.evaluations import operations as evaluations
from service.evaluations.models import RaterGroup
from service.hazards import operations as hazards
from service.hazards.models import Hazard, HazardSeverity
from service.incidents import operations as incidents
from service.incidents.models import IncidentSeverity, IncidentType
from service.inspections import operations as inspections
from service.inspections.models import InspectionKind, InspectionMode, ItemOutcome
from service.org.models import CanteenMode, School, SchoolType
from service.periods.models import DEFAULT_LOCK_DAYS, Period, lock_date
from service.periods.operations import NON_REPORTING_MONTHS, default_deadline, ensure_period
from service.reports import operations as reports
from service.reports.models import MonthlyReport
from service.rubrics import operations as rubrics
from service.rubrics.models import RubricKind
from service.staff import vetoes as staff_vetoes
from service.staff.models import StaffMember, StaffRole, StaffVetoKind
from tenants import TenantScope, current_scope, use_scope

# --------------------------------------------------------------------------------------------------
# The stories (school codes of the demo district, see service/demo/seed.py)
# --------------------------------------------------------------------------------------------------

CREDIBILITY_SCHOOL = "S014"  # 钢城路小学: self ~97, spot ~70
INCIDENT_SCHOOL = "S024"  # 长岭镇初级中学: one food poisoning, school at fault
INCIDENT_COOK_NOTE = "当班炊事员，午餐豆角未烧熟透"
INCIDENT_MONTH_INDEX = 6  # the seventh reporting month of the year
LATE_SCHOOLS = {"S004": 3, "S011": 2, "S021": 2, "S027": 1}  # code -> late months (S027: last month)
MISSING_SCHOOLS = {"S010": "middle", "S029": "last"}  # code -> which month it never submitted
RETURNED_REPORTS = 2
CREDIBILITY_SPOT_VISITS = 5
SPOT_SHARE = 1 / 3  # share of the other school-months with a spot inspection

# Days the schools are in session, by month (winter break from mid-January, national holiday in
# early October, summer from mid-July). Inspections fall on weekdays inside these windows.
SCHOOL_DAYS = {
    9: (1, 30),
    10: (8, 31),
    11: (1, 30),
    12: (1, 31),
    1: (2, 16),
    2: (23, 28),
    3: (1, 31),
    4: (1, 30),
    5: (6, 31),
    6: (1, 30),
    7: (1, 10),
}
SHORT_MONTHS = frozenset({1, 2, 7})  # fewer canteen self-inspections

# Everyday lapses: (rubric item code, note with {n} for the occurrences, occurrence range).
CANTEEN_LAPSES: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("B2", "晨检记录缺{n}天 / morning health check not recorded on {n} day(s)", (1, 3)),
    ("D3", "{n}样菜品未留样 / {n} dish(es) not sampled", (1, 1)),
    ("E3", "明厨亮灶摄像头离线 / open-kitchen camera offline", (1, 1)),
    ("A4", "日管控记录缺{n}天 / daily control log missing {n} day(s)", (1, 3)),
    ("F1", "负责人陪餐记录缺{n}餐 / leader's accompanied meals not recorded ({n})", (1, 4)),
    ("B3", "{n}名从业人员未戴工作帽 / {n} worker(s) without a cap", (1, 2)),
    ("C3", "库房{n}处物品未离地存放 / {n} spot(s) of stock on the storeroom floor", (1, 2)),
    ("F3", "本周食谱未公示 / this week's menu not posted", (1, 1)),
    ("C1", "{n}批次进货查验记录不全 / {n} delivery record(s) incomplete", (1, 2)),
)
# A bad day: pests or cross-contamination on top of the everyday lapses.
CANTEEN_BAD_LAPSES: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("E2", "后厨发现蟑螂痕迹 / traces of cockroaches in the kitchen", (1, 1)),
    ("D1", "生熟砧板混用 / raw and cooked chopping boards mixed", (1, 1)),
)
# What the inspector keeps finding at the credibility school (about 100 - 29 = 71).
CREDIBILITY_SPOT_LAPSES: tuple[tuple[str, str, int], ...] = (
    ("B2", "晨检记录缺3天 / morning health check not recorded on 3 days", 3),
    ("D3", "2样菜品未留样 / 2 dishes not sampled", 2),
    ("C3", "库房2处物品未离地存放 / stock on the storeroom floor in 2 places", 2),
    ("E3", "明厨亮灶摄像头关闭 / open-kitchen camera switched off", 1),
    ("A4", "日管控记录缺3天 / daily control log missing 3 days", 3),
    ("F1", "负责人陪餐记录缺4餐 / 4 accompanied meals not recorded", 4),
)
CREDIBILITY_SELF_LAPSES: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("A4", "日管控记录缺{n}天 / daily control log missing {n} day(s)", (1, 3)),
    ("F1", "负责人陪餐记录缺{n}餐 / leader's accompanied meals not recorded ({n})", (1, 3)),
    ("B3", "{n}名从业人员未戴工作帽 / {n} worker(s) without a cap", (1, 1)),
)
SAFETY_LAPSES: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("E1", "外来人员登记缺{n}人次 / {n} visitor(s) not registered", (1, 3)),
    ("E4", "夜间巡逻记录缺{n}天 / night patrol not recorded on {n} day(s)", (1, 3)),
    ("B3", "防火巡查记录缺{n}次 / fire patrol not recorded {n} time(s)", (1, 2)),
    ("B2", "{n}具灭火器压力不足 / {n} extinguisher(s) under pressure", (1, 2)),
    ("D3", "{n}处私拉电线 / {n} improvised wiring", (1, 1)),
    ("C3", "{n}处护栏松动 / {n} loose railing(s)", (1, 1)),
    ("C4", "篮球架底座锈蚀 / basketball stand base rusted", (1, 1)),
    ("E3", "{n}路监控故障 / {n} camera(s) out of order", (1, 2)),
    ("A2", "本月安全会议未记录 / this month's safety meeting not minuted", (1, 1)),
)
# Safety lapses a school may log as a hazard: item code -> (title, location, severity).
HAZARD_PRONE: dict[str, tuple[str, str, HazardSeverity]] = {
    "B1": ("安全出口上锁 / Emergency exit locked", "教学楼东侧安全出口", HazardSeverity.HIGH),
    "B2": ("灭火器压力不足，需更换 / Extinguishers under pressure", "教学楼各层", HazardSeverity.LOW),
    "D3": ("宿舍区私拉电线 / Improvised wiring in the dormitory", "学生宿舍楼", HazardSeverity.MEDIUM),
    "C3": ("走廊护栏松动 / Loose corridor railing", "教学楼二楼走廊", HazardSeverity.MEDIUM),
    "C4": ("篮球架底座锈蚀 / Rusted basketball stand", "操场", HazardSeverity.LOW),
}
SPOT_HAZARDS: tuple[tuple[str, str, HazardSeverity], ...] = (
    ("库房食品未离地离墙存放 / Food stored on the floor", "食堂库房", HazardSeverity.LOW),
    ("留样冰柜温度异常 / Sample fridge too warm", "食堂留样间", HazardSeverity.MEDIUM),
    ("后厨防蝇设施破损 / Fly screens in the kitchen torn", "食堂后厨", HazardSeverity.MEDIUM),
    ("消防通道堆放杂物 / Fire escape blocked by clutter", "教学楼东侧", HazardSeverity.HIGH),
)
HAZARD_SHARE = 0.2  # share of hazard-prone safety lapses the school logs as a hazard
HAZARD_FATES = (("on_time", 0.62), ("late", 0.16), ("open", 0.22))


@dataclass(frozen=True)
class Weakness:
    """How a weak school does worse than the everyday (see "Bands" in the module docstring).

    ``canteen`` and ``safety`` are standing problems found on every check of that kind - by the school
    and by the inspector alike - on top of the everyday lapses; ``exit_blocked`` is the share of safety
    checks that find an evacuation exit locked (a key item); ``staff_offset`` lowers the staff's level.
    """

    band: str  # the band it is meant to land in, month after month and over the year
    canteen: tuple[tuple[str, str, tuple[int, int]], ...]
    safety: tuple[tuple[str, str, tuple[int, int]], ...]
    staff_offset: float
    exit_blocked: float = 0.0
    hazard_share: float = HAZARD_SHARE
    hazard_fates: tuple[tuple[str, float], ...] = HAZARD_FATES


_MORNING = "晨检记录缺{n}天 / morning health check not recorded on {n} day(s)"
_FLOOR = "库房{n}处物品未离地存放 / {n} spot(s) of stock on the storeroom floor"
_ACCOMPANY = "负责人陪餐记录缺{n}餐 / leader's accompanied meals not recorded ({n})"
_DAILY_LOG = "日管控记录缺{n}天 / daily control log missing {n} day(s)"
_CAMERA = "明厨亮灶摄像头离线 / open-kitchen camera offline"
_VISITORS = "外来人员登记缺{n}人次 / {n} visitor(s) not registered"
_PATROL = "夜间巡逻记录缺{n}天 / night patrol not recorded on {n} day(s)"
_EXTINGUISHERS = "{n}具灭火器压力不足 / {n} extinguisher(s) under pressure"
_CCTV = "{n}路监控故障 / {n} camera(s) out of order"
B_CANTEEN = (
    ("B2", _MORNING, (1, 3)),
    ("C3", _FLOOR, (1, 2)),
    ("F1", _ACCOMPANY, (2, 4)),
    ("A4", _DAILY_LOG, (1, 3)),
    ("E3", _CAMERA, (1, 1)),
)
B_SAFETY = (
    ("E1", _VISITORS, (2, 3)),
    ("E4", _PATROL, (2, 3)),
    ("B2", _EXTINGUISHERS, (1, 2)),
    ("E3", _CCTV, (1, 1)),
    ("A2", "本月安全会议未记录 / this month's safety meeting not minuted", (1, 1)),
)
C_CANTEEN = (
    *(("B2", _MORNING, (2, 4)), ("C3", _FLOOR, (2, 3)), ("F1", _ACCOMPANY, (4, 6))),
    *(("A4", _DAILY_LOG, (2, 4)), ("E3", _CAMERA, (1, 1))),
    ("D3", "{n}样菜品未留样 / {n} dish(es) not sampled", (1, 1)),
    ("C1", "{n}批次进货查验记录不全 / {n} delivery record(s) incomplete", (1, 2)),
    ("F3", "本周食谱未公示 / this week's menu not posted", (1, 1)),
    ("B3", "{n}名从业人员未戴工作帽 / {n} worker(s) without a cap", (1, 2)),
)
C_SAFETY = (
    *(("E1", _VISITORS, (3, 4)), ("E4", _PATROL, (3, 4)), ("B2", _EXTINGUISHERS, (2, 3))),
    ("E3", _CCTV, (1, 1)),
    ("B3", "防火巡查记录缺{n}次 / fire patrol not recorded {n} time(s)", (2, 3)),
    ("C3", "{n}处护栏松动 / {n} loose railing(s)", (1, 2)),
    ("D3", "{n}处私拉电线 / {n} improvised wiring", (1, 2)),
    ("C4", "篮球架底座锈蚀 / basketball stand base rusted", (1, 1)),
    ("A2", "本月安全会议未记录 / this month's safety meeting not minuted", (1, 1)),
    ("F2", "本月未开展安全教育 / no safety lesson this month", (1, 1)),
)
D_CANTEEN = (
    *(("B2", _MORNING, (3, 5)), ("C3", _FLOOR, (2, 4)), ("F1", _ACCOMPANY, (5, 8))),
    *(("A4", _DAILY_LOG, (3, 5)), ("E3", _CAMERA, (1, 1))),
    ("D3", "{n}样菜品未留样 / {n} dish(es) not sampled", (1, 2)),
    ("C1", "{n}批次进货查验记录不全 / {n} delivery record(s) incomplete", (2, 3)),
    ("F3", "本周食谱未公示 / this week's menu not posted", (1, 1)),
    ("B3", "{n}名从业人员未戴工作帽 / {n} worker(s) without a cap", (1, 3)),
    ("D5", "留样不足125克 / samples under 125 g", (1, 1)),
)
D_SAFETY = (
    *(("E1", _VISITORS, (4, 6)), ("E4", _PATROL, (4, 5)), ("B2", _EXTINGUISHERS, (3, 4))),
    ("B3", "防火巡查记录缺{n}次 / fire patrol not recorded {n} time(s)", (3, 5)),
    ("C3", "{n}处护栏松动 / {n} loose railing(s)", (2, 3)),
    ("D3", "{n}处私拉电线 / {n} improvised wiring", (2, 3)),
    ("D2", "防雷检测报告过期 / lightning-protection test report out of date", (1, 1)),
    ("E3", _CCTV, (1, 2)),
    ("A1", "{n}份安全责任书未签订 / {n} responsibility letter(s) not signed", (1, 2)),
    ("A2", "本月安全会议未记录 / this month's safety meeting not minuted", (1, 1)),
    ("F1", "本学期未开展疏散演练 / no evacuation drill this term", (1, 1)),
)
EXIT_BLOCKED = ("B1", "东侧安全出口上锁 / east emergency exit locked", (1, 1))
# Their standing safety problems recur on every check: logged as a hazard less often than a new one.
WEAK_SCHOOLS: dict[str, Weakness] = {
    "S002": Weakness("B", B_CANTEEN, B_SAFETY, staff_offset=0.04, hazard_share=0.08),
    "S017": Weakness("B", B_CANTEEN, B_SAFETY, staff_offset=0.04, hazard_share=0.08),
    "S022": Weakness("B", B_CANTEEN, B_SAFETY, staff_offset=0.04, hazard_share=0.08),
    "S021": Weakness("C", C_CANTEEN, C_SAFETY, staff_offset=0.07, hazard_share=0.06),
    "S030": Weakness("C", C_CANTEEN, C_SAFETY, staff_offset=0.07, hazard_share=0.06),
    "S028": Weakness(
        "D",
        D_CANTEEN,
        D_SAFETY,
        staff_offset=0.08,
        exit_blocked=0.5,
        hazard_share=0.12,
        hazard_fates=(("on_time", 0.25), ("late", 0.3), ("open", 0.45)),
    ),
}

RETURN_REASON = "食堂晨检记录缺少第三周，请补充后重新提交 / The third week of morning checks is missing"
INCIDENT_DESCRIPTION = (
    "午餐后23名学生出现呕吐、腹泻症状，送镇卫生院治疗，无重症。疾控中心检测认定为四季豆未烧熟所致。"
    " / After lunch 23 pupils vomited or had diarrhoea and were treated at the town clinic, none "
    "seriously; the CDC traced it to undercooked green beans."
)

# Staff dimensions: code -> the points the rubric gives it.
DIMENSIONS = {"de": 10, "neng": 20, "qin": 15, "ji": 45, "lian": 10}


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


@dataclass
class YearSummary:
    """What the seeded year contains, for the command line and the tests."""

    months: list[str] = field(default_factory=list)  # the year: eleven locked months, oldest first
    reports_accepted: int = 0  # of the year's months
    in_progress: str = ""  # the month still being reported (code), or "" when there is none
    current: str = ""  # today's month, opened for entry with nothing in it ("" in August)
    in_progress_submitted: int = 0  # its reports submitted by today (accepted ones included)
    in_progress_accepted: int = 0
    reports_open: int = 0  # drafts or submitted ones whose next step would fall on or after today
    returned: list[tuple[str, str]] = field(default_factory=list)  # (school code, period)
    late: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    self_inspections: int = 0
    spot_inspections: int = 0
    evaluations: int = 0
    hazards: int = 0
    hazards_closed_on_time: int = 0
    hazards_closed_late: int = 0
    hazards_overdue: int = 0  # open past their deadline at the year's end
    incident_school: tuple[str, str] = ("", "")  # (code, name)
    incident_period: str = ""
    credibility_school: tuple[str, str] = ("", "")
    credibility_self_avg: Decimal = Decimal(0)
    credibility_spot_avg: Decimal = Decimal(0)
    names: dict[str, str] = field(default_factory=dict)


def format_year_summary(summary: YearSummary) -> str:
    """A few lines on the seeded year, Chinese first and English second."""

    def schools(rows: list[tuple[str, str]]) -> str:
        return "，".join(f"{code} {summary.names[code]}（{period}）" for code, period in rows) or "—"

    first, last = summary.months[0], summary.months[-1]
    code, name = summary.credibility_school
    inc_code, inc_name = summary.incident_school
    lines = [
        f"演示数据 Demo year: {len(summary.months)}个月 months ({first} … {last}，八月不报送 / no August)",
        f"  月报已审核通过 Reports accepted: {summary.reports_accepted}",
        f"  逾期报送 Late: {len(summary.late)} — {schools(summary.late)}",
        f"  未报送 Missing: {len(summary.missing)} — {schools(summary.missing)}",
        f"  退回后重报 Returned and resubmitted: {len(summary.returned)} — {schools(summary.returned)}",
        f"  自查 Self-inspections: {summary.self_inspections}，督查 spot inspections: "
        f"{summary.spot_inspections}，人员考评 staff evaluations: {summary.evaluations}",
        f"  隐患 Hazards: {summary.hazards}（按期销号 closed on time {summary.hazards_closed_on_time}，"
        f"逾期销号 closed late {summary.hazards_closed_late}，年末逾期未整改 overdue at year end "
        f"{summary.hazards_overdue}）",
        f"  食物中毒事故 Food incident: {inc_code} {inc_name}（{summary.incident_period}，学校有责，"
        f"一票否决 / school at fault, vetoed）",
        f"  自查可信度 Credibility: {code} {name} 自查均分 self avg {summary.credibility_self_avg}，"
        f"督查均分 spot avg {summary.credibility_spot_avg}",
    ]
    if summary.current:
        lines.append(f"  本月 This month: {summary.current} 已开放填报 / open for entry")
    if summary.in_progress:
        drafts = len(summary.names) - summary.in_progress_submitted
        lines.append(
            f"  本月报送中 In progress: {summary.in_progress}（已提交 submitted {summary.in_progress_submitted}，"
            f"其中已审核 accepted {summary.in_progress_accepted}，草稿 drafts {drafts}）"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def reporting_months(last: tuple[int, int]) -> list[tuple[int, int]]:
    """The reporting months of the twelve calendar months ending with ``last``, oldest first (eleven:
    every such stretch holds one August, which is not a reporting month)."""
    months: list[tuple[int, int]] = []
    year, month = last
    for _ in range(12):
        if month not in NON_REPORTING_MONTHS:
            months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def _previous_reporting_month(year: int, month: int) -> tuple[int, int]:
    while True:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        if month not in NON_REPORTING_MONTHS:
            return year, month


def _default_lock_date(year: int, month: int) -> datetime.date:
    return lock_date(default_deadline(year, month), DEFAULT_LOCK_DAYS)


@dataclass(frozen=True)
class DemoCalendar:
    """The months the demo plays as of ``today`` (see the module docstring, "The months")."""

    year: list[tuple[int, int]]  # eleven reporting months, oldest first, the last one locked by today
    in_progress: tuple[int, int] | None  # the next reporting month: ended, not locked yet
    current: tuple[int, int] | None = None  # today's month, open for entry (None in August)


def demo_calendar(today: datetime.date) -> DemoCalendar:
    """The year ends with the newest reporting month locked on ``today`` (periods with the default
    deadline and lock delay: month m locks on the 16th of m + 1); the reporting month after it is in
    progress when it has ended before ``today``."""
    last = _previous_reporting_month(today.year, today.month)
    in_progress: tuple[int, int] | None = None
    if _default_lock_date(*last) > today:
        in_progress = last
        last = _previous_reporting_month(*last)
    current = None if today.month in NON_REPORTING_MONTHS else (today.year, today.month)
    return DemoCalendar(reporting_months(last), in_progress, current)


def _last_day(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _school_days(year: int, month: int) -> list[datetime.date]:
    lo, hi = SCHOOL_DAYS[month]
    hi = min(hi, calendar.monthrange(year, month)[1])
    days = [datetime.date(year, month, d) for d in range(lo, hi + 1)]
    return [d for d in days if d.weekday() < 5] or days


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@contextmanager
def _as(user: User, school: School) -> Iterator[None]:
    """Act as ``user`` inside ``school``'s tenant scope, as a request of theirs would."""
    with use_scope(TenantScope.school(school.id)), acting_as(Actor(user.id, user.username)):
        yield


def _lapse_rows(
    rng: random.Random, pool: tuple[tuple[str, str, tuple[int, int]], ...], count: int
) -> dict[str, tuple[int, str]]:
    chosen: dict[str, tuple[int, str]] = {}
    for code, note, (lo, hi) in rng.sample(pool, min(count, len(pool))):
        n = rng.randint(lo, hi)
        chosen[code] = (n, note.format(n=n))
    return chosen


class _Rubric:
    """The entered items of a published rubric, to build complete item lists from a few lapses."""

    def __init__(self, kind: RubricKind) -> None:
        version = rubrics.current_version(kind)
        if version is None:
            raise RuntimeError(f"no published {kind} rubric; seed the district first")
        self.items = [item for item in version.all_items() if not item.computed]

    def results(
        self, lapses: dict[str, tuple[int, str]], na: frozenset[str] | set[str] = frozenset()
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for item in self.items:
            if item.code in lapses:
                n, note = lapses[item.code]
                rows.append({"item_id": item.id, "result": ItemOutcome.FAIL, "occurrences": n, "note": note})
            elif item.code in na and item.na_allowed:
                rows.append({"item_id": item.id, "result": ItemOutcome.NA})
            else:
                rows.append({"item_id": item.id, "result": ItemOutcome.PASS})
        return rows


@dataclass
class _PendingClose:
    hazard_id: int
    school_id: int
    closed_on: datetime.date
    late: bool


# --------------------------------------------------------------------------------------------------
# The year
# --------------------------------------------------------------------------------------------------


class _Year:
    def __init__(self, session: Session, today: datetime.date, rng: random.Random) -> None:
        self.session = session
        self.today = today
        self.rng = rng
        self.summary = YearSummary()
        self.canteen_rubric = _Rubric(RubricKind.CANTEEN)
        self.safety_rubric = _Rubric(RubricKind.SAFETY)
        self.schools = list(
            session.scalars(select(School).where(School.active.is_(True)).order_by(School.code))
        )
        self.summary.names = {s.code: s.name for s in self.schools}
        users = {u.username: u for u in session.scalars(select(User))}
        self.admins = {s.code: users[school_username(s.code)] for s in self.schools}
        self.staff: dict[int, list[StaffMember]] = defaultdict(list)
        for member in session.scalars(
            select(StaffMember).where(StaffMember.active.is_(True)).order_by(StaffMember.id)
        ):
            self.staff[member.school_id].append(member)
        # Each person has a steady level (share of the points) that varies a little month to month.
        self.level = {m.id: rng.uniform(0.83, 0.95) for members in self.staff.values() for m in members}
        self.weak = {s.id: WEAK_SCHOOLS[s.code] for s in self.schools if s.code in WEAK_SCHOOLS}
        for school_id, weakness in self.weak.items():
            for member in self.staff[school_id]:
                self.level[member.id] -= weakness.staff_offset
        self.pending: list[_PendingClose] = []
        self.cred_self: list[Decimal] = []
        self.cred_spot: list[Decimal] = []

    # --- plan -----------------------------------------------------------------------------------

    def plan(self, n: int, played: int) -> None:
        """Decide up front which school-months carry the late, missing, returned and spot stories.

        ``n`` months of the year carry the stories; of the ``played`` months (the year and the month
        in progress, if any), every one may see spot inspections.
        """
        rng = self.rng
        last = n - 1
        self.late_months: dict[str, set[int]] = {}
        for code, count in LATE_SCHOOLS.items():
            if count == 1:
                self.late_months[code] = {last}
            else:
                self.late_months[code] = set(rng.sample(range(n), count))
        self.missing_month = {
            code: (last if which == "last" else n // 2) for code, which in MISSING_SCHOOLS.items()
        }
        codes = [s.code for s in self.schools]
        story = {CREDIBILITY_SCHOOL, INCIDENT_SCHOOL, *LATE_SCHOOLS, *MISSING_SCHOOLS}
        plain = [c for c in codes if c not in story]
        self.returned = {(code, rng.randrange(n - 1)) for code in rng.sample(plain, RETURNED_REPORTS)}
        self.spot: set[tuple[str, int]] = set()
        for code in codes:
            if code == CREDIBILITY_SCHOOL:
                self.spot |= {(code, i) for i in rng.sample(range(n), CREDIBILITY_SPOT_VISITS)}
            else:
                self.spot |= {(code, i) for i in range(played) if rng.random() < SPOT_SHARE}
        self.spot.add((INCIDENT_SCHOOL, INCIDENT_MONTH_INDEX))

    # --- one school-month ---------------------------------------------------------------------------

    def school_month(self, school: School, period: Period, index: int) -> None:
        code = school.code
        admin = self.admins[code]
        days = _school_days(period.year, period.month)
        missing = self.missing_month.get(code) == index
        if missing:
            self.summary.missing.append((code, period.code))
        else:
            with _as(admin, school):
                self._self_inspections(school, period, days)
                if code == INCIDENT_SCHOOL and index == INCIDENT_MONTH_INDEX:
                    self._incident(school, period, days)
                self._facts(school, period, days)
                self._evaluations(school, period)
        if (code, index) in self.spot:
            self._spot(school, period, days, index)
        self._run_closings(school, _last_day(period.year, period.month))
        if not missing:
            self._submit_and_accept(school, period, index)

    def _self_inspections(self, school: School, period: Period, days: list[datetime.date]) -> None:
        rng = self.rng
        admin = self.admins[school.code]
        if school.has_canteen:
            count = 2 if period.month in SHORT_MONTHS else rng.choice((2, 3, 3))
            for day in sorted(rng.sample(days, min(count, len(days)))):
                if school.code == CREDIBILITY_SCHOOL:
                    lapses = _lapse_rows(rng, CREDIBILITY_SELF_LAPSES, rng.choice((1, 1, 2)))
                elif rng.random() < 0.06:  # a bad day
                    lapses = _lapse_rows(rng, CANTEEN_LAPSES, 3) | _lapse_rows(rng, CANTEEN_BAD_LAPSES, 1)
                else:
                    lapses = _lapse_rows(rng, CANTEEN_LAPSES, rng.choice((1, 1, 2, 2, 3)))
                lapses |= self._standing(school, InspectionKind.CANTEEN)
                inspection = self._inspect(
                    school,
                    period,
                    InspectionKind.CANTEEN,
                    InspectionMode.SELF,
                    day,
                    lapses,
                    inspector=admin.display_name,
                )
                if school.code == CREDIBILITY_SCHOOL:
                    self.cred_self.append(inspection.score)
        for day in sorted(rng.sample(days, min(rng.choice((1, 1, 2)), len(days)))):
            lapses = _lapse_rows(rng, SAFETY_LAPSES, rng.choice((0, 1, 1, 2)))
            lapses |= self._standing(school, InspectionKind.SAFETY)
            inspection = self._inspect(
                school,
                period,
                InspectionKind.SAFETY,
                InspectionMode.SELF,
                day,
                lapses,
                inspector=admin.display_name,
            )
            weakness = self.weak.get(school.id)
            share = weakness.hazard_share if weakness else HAZARD_SHARE
            for item_code in lapses:
                if item_code in HAZARD_PRONE and rng.random() < share:
                    title, location, severity = HAZARD_PRONE[item_code]
                    self._hazard(school, day, title, location, severity, inspection.id, by_bureau=False)

    def _standing(self, school: School, kind: InspectionKind) -> dict[str, tuple[int, str]]:
        """A weak school's standing problems of ``kind``, as found on one check (none for the others)."""
        weakness = self.weak.get(school.id)
        if weakness is None:
            return {}
        if kind is InspectionKind.CANTEEN:
            return _lapse_rows(self.rng, weakness.canteen, len(weakness.canteen))
        found = _lapse_rows(self.rng, weakness.safety, len(weakness.safety))
        if self.rng.random() < weakness.exit_blocked:
            found |= _lapse_rows(self.rng, (EXIT_BLOCKED,), 1)
        return found

    def _inspect(
        self,
        school: School,
        period: Period,
        kind: InspectionKind,
        mode: InspectionMode,
        day: datetime.date,
        lapses: dict[str, tuple[int, str]],
        *,
        inspector: str,
        user: User | None = None,
        unannounced: bool = False,
        notes: str = "",
    ) -> Any:
        if kind is InspectionKind.CANTEEN:
            na = {"F4"} if school.canteen_mode is CanteenMode.SELF_RUN else set()
            items = self.canteen_rubric.results(lapses, na)
        else:
            na = set()
            if school.type not in (SchoolType.SENIOR, SchoolType.COMPLETE):
                na.add("D1")  # no lift
            if not school.has_canteen:
                na.add("D4")  # no gas
            items = self.safety_rubric.results(lapses, na)
        data = {
            "kind": kind,
            "mode": mode,
            "inspected_on": day,
            "inspector_name": inspector,
            "unannounced": unannounced,
            "notes": notes,
            "items": items,
        }
        inspection = inspections.create_inspection(period, school, data, user=user, today=day)
        if mode is InspectionMode.SELF:
            self.summary.self_inspections += 1
        else:
            self.summary.spot_inspections += 1
        return inspection

    def _facts(self, school: School, period: Period, days: list[datetime.date]) -> None:
        if not school.has_canteen:
            return
        rng = self.rng
        report = reports.open_report(period, school_id=school.id)
        serving = len(days)
        meals = serving * (3 if school.boarding else 1)
        inspections.put_facts(
            report,
            {
                "serving_days": serving,
                "meals_served": meals,
                "menu_compliant_days": max(0, serving - rng.choice((0, 0, 0, 1, 2))),
                "leader_accompanied_meals": max(0, serving - rng.choice((0, 0, 1, 2, 3))),
                "sampled_meals": meals - rng.choice((0, 0, 0, 0, 1)),
                "food_waste_kg": Decimal(round(school.enrollment * serving * rng.uniform(0.012, 0.03), 1)),
            },
            today=_last_day(period.year, period.month),
        )

    def _evaluations(self, school: School, period: Period) -> None:
        rng = self.rng
        last_day = _last_day(period.year, period.month)
        roster = [m for m in self.staff[school.id] if m.hire_date <= last_day]
        with_self = rng.random() < 0.25  # some months the school also collects self and peer ratings
        for member in roster:
            level = self.level[member.id] + rng.uniform(-0.03, 0.03)
            ratings: list[dict[str, Any]] = [
                {
                    "rater_group": RaterGroup.ASSESSMENT,
                    "rater_name": f"考核小组（{school.principal_name}）",
                    "scores": self._scores(level),
                }
            ]
            if with_self:
                ratings.append({"rater_group": RaterGroup.SELF, "scores": self._scores(level + 0.03)})
                colleagues = [m for m in roster if m.id != member.id]
                if colleagues:
                    peer = rng.choice(colleagues)
                    ratings.append(
                        {
                            "rater_group": RaterGroup.PEER,
                            "rater_staff_id": peer.id,
                            "scores": self._scores(level),
                        }
                    )
            evaluations.create_evaluation(member, period, ratings, today=last_day)
            self.summary.evaluations += 1

    def _scores(self, level: float) -> dict[str, str]:
        out: dict[str, str] = {}
        for code, points in DIMENSIONS.items():
            share = min(0.99, max(0.78, level + self.rng.uniform(-0.04, 0.04)))
            out[code] = str((Decimal(points * share * 2).quantize(Decimal(1)) / 2).quantize(Decimal("0.1")))
        return out

    def _spot(self, school: School, period: Period, days: list[datetime.date], index: int) -> None:
        rng = self.rng
        inspector = school.cluster.supervisor
        assert inspector is not None
        with _as(inspector, school):
            if school.code == INCIDENT_SCHOOL and index == INCIDENT_MONTH_INDEX:
                day = self.incident_day + datetime.timedelta(days=1)
                lapses = {
                    "D2": (1, "涉事四季豆未烧熟 / the green beans were undercooked"),
                    "B2": (2, "晨检记录缺2天 / morning check not recorded on 2 days"),
                }
                notes = "食物中毒事故次日督查 / visit the day after the food poisoning"
            elif school.code == CREDIBILITY_SCHOOL:
                day = rng.choice(days)
                lapses = {c: (n, note) for c, note, n in CREDIBILITY_SPOT_LAPSES}
                lapses |= _lapse_rows(
                    rng,
                    (
                        ("B3", "{n}名从业人员未戴工作帽 / {n} without a cap", (1, 2)),
                        ("F3", "本周食谱未公示 / menu not posted", (1, 1)),
                    ),
                    rng.choice((0, 1)),
                )
                notes = "不打招呼督查 / unannounced visit"
            else:
                day = rng.choice(days)
                lapses = _lapse_rows(
                    rng, CANTEEN_LAPSES if school.has_canteen else SAFETY_LAPSES, rng.choice((1, 2, 2, 3, 4))
                )
                notes = ""
            kind = InspectionKind.CANTEEN if school.has_canteen else InspectionKind.SAFETY
            if school.code != INCIDENT_SCHOOL or index != INCIDENT_MONTH_INDEX:
                lapses |= self._standing(school, kind)  # the inspector finds what the school finds
            inspection = self._inspect(
                school,
                period,
                kind,
                InspectionMode.SPOT,
                day,
                lapses,
                inspector=inspector.display_name,
                user=inspector,
                unannounced=rng.random() < 0.6 or school.code == CREDIBILITY_SCHOOL,
                notes=notes,
            )
            if school.code == CREDIBILITY_SCHOOL:
                self.cred_spot.append(inspection.score)
            if inspection.score < 85 and (school.code == CREDIBILITY_SCHOOL or rng.random() < 0.5):
                title, location, severity = rng.choice(SPOT_HAZARDS)
                # The credibility school lets its notices run over (its two last ones stay open).
                fate = "open" if school.code == CREDIBILITY_SCHOOL and len(self.cred_spot) in (3, 4) else None
                self._hazard(school, day, title, location, severity, inspection.id, by_bureau=True, fate=fate)

    def _incident(self, school: School, period: Period, days: list[datetime.date]) -> None:
        day = days[len(days) // 2]
        self.incident_day = day
        occurred = _at(day, 13, 10)
        incidents.create_incident(
            {
                "type": IncidentType.FOOD_POISONING,
                "occurred_at": occurred,
                "severity": IncidentSeverity.SERIOUS,
                "school_at_fault": True,
                "description": INCIDENT_DESCRIPTION,
            },
            now=occurred + datetime.timedelta(minutes=45),
            today=day,
            by_bureau=False,
        )
        # The cook on duty who served the undercooked beans: a personal veto (优秀后勤人员).
        cook = self.session.scalars(
            select(StaffMember)
            .where(
                StaffMember.school_id == school.id,
                StaffMember.role == StaffRole.COOK,
                StaffMember.active.is_(True),
                StaffMember.hire_date <= day,
            )
            .order_by(StaffMember.id)
        ).first()
        if cook is not None:
            staff_vetoes.record(
                cook,
                {"kind": StaffVetoKind.ACCIDENT_AT_FAULT, "occurred_on": day, "note": INCIDENT_COOK_NOTE},
                user=None,
                by_bureau=False,  # the school records it, as it reported the incident
                today=day,
            )
        self.summary.incident_school = (school.code, school.name)
        self.summary.incident_period = period.code

    # --- hazards --------------------------------------------------------------------------------------

    def _hazard(
        self,
        school: School,
        found_on: datetime.date,
        title: str,
        location: str,
        severity: HazardSeverity,
        inspection_id: int,
        *,
        by_bureau: bool,
        fate: str | None = None,
    ) -> None:
        rng = self.rng
        days = rng.choice((7, 14, 14, 30)) if severity is not HazardSeverity.HIGH else 7
        deadline = found_on + datetime.timedelta(days=days)
        hazard = hazards.create_hazard(
            {
                "school_id": school.id,
                "title": title,
                "location": location,
                "severity": severity,
                "responsible_person": school.contact_name,
                "found_on": found_on,
                "deadline": deadline,
                "source_inspection_id": inspection_id,
                "description": "",
            },
            today=found_on,
            by_bureau=by_bureau,
        )
        self.summary.hazards += 1
        admin = self.admins[school.code]
        with _as(admin, school):
            hazards.start(hazard, now=_at(found_on + datetime.timedelta(days=1), 9))
        if fate is None:
            weakness = self.weak.get(school.id)
            fates = weakness.hazard_fates if weakness else HAZARD_FATES
            fate = rng.choices([f for f, _ in fates], weights=[w for _, w in fates])[0]
        if fate == "open":
            return
        if fate == "on_time":
            closed_on = found_on + datetime.timedelta(days=rng.randint(2, days))
        else:
            closed_on = deadline + datetime.timedelta(days=rng.randint(3, 20))
        self.pending.append(_PendingClose(hazard.id, school.id, closed_on, fate == "late"))

    def _run_closings(self, school: School, up_to: datetime.date) -> None:
        """Close the school's hazards fixed by ``up_to`` (before its report of the month is submitted)."""
        due = [p for p in self.pending if p.school_id == school.id and p.closed_on <= up_to]
        if not due:
            return
        admin = self.admins[school.code]
        with _as(admin, school):
            for p in due:
                hazard = self.session.scalars(
                    select(Hazard).where(Hazard.school_id == school.id, Hazard.id == p.hazard_id)
                ).one()
                hazards.close(
                    hazard,
                    "已整改完毕，附整改前后照片 / fixed, photos before and after attached",
                    p.closed_on,
                    today=p.closed_on,
                    now=_at(p.closed_on, 16),
                    by_bureau=False,
                )
                self.pending.remove(p)

    # --- the report -----------------------------------------------------------------------------------

    def _submit_and_accept(self, school: School, period: Period, index: int) -> None:
        rng, code = self.rng, school.code
        year, month = _next_month(period.year, period.month)
        in_progress = index >= len(self.summary.months)
        if index in self.late_months.get(code, set()):
            # Late by two to six days: reviewed (at most three days later) before the month locks.
            late_by = rng.randint(2, max(2, period.lock_days - 4))
            submit_day = period.deadline + datetime.timedelta(days=late_by)
        else:
            submit_day = datetime.date(year, month, rng.randint(1, period.deadline.day))
            if school.id in self.weak:  # watched closely: submitted on the 1st, reviewed the next day
                submit_day = datetime.date(year, month, 1)
        if submit_day >= self.today:
            self.summary.reports_open += 1  # the school is still working on it
            return
        report = reports.open_report(period, school_id=school.id)
        with _as(self.admins[code], school):
            reports.submit(report, now=_at(submit_day, rng.randint(9, 17), rng.randrange(60)))
        if report.late:
            self.summary.late.append((code, period.code))
        if in_progress:
            self.summary.in_progress_submitted += 1
        inspector = school.cluster.supervisor
        assert inspector is not None
        review_day = submit_day + datetime.timedelta(days=rng.randint(1, 3))
        if school.id in self.weak and index not in self.late_months.get(code, set()):
            review_day = submit_day + datetime.timedelta(days=1)
        if (code, index) in self.returned and review_day + datetime.timedelta(days=2) < self.today:
            with _as(inspector, school):
                reports.return_report(report, RETURN_REASON, now=_at(review_day, 10))
            with _as(self.admins[code], school):
                reports.submit(report, now=_at(review_day + datetime.timedelta(days=1), 15))
            self.summary.returned.append((code, period.code))
            review_day += datetime.timedelta(days=2)
        if review_day >= self.today:
            self.summary.reports_open += 1  # waiting for the inspector
            return
        with _as(inspector, school):
            reports.accept(report, now=_at(review_day, rng.randint(9, 17), rng.randrange(60)))
        if in_progress:
            self.summary.in_progress_accepted += 1
        else:
            self.summary.reports_accepted += 1

    # --- the whole year -------------------------------------------------------------------------------

    def run(self) -> YearSummary:
        calendar_ = demo_calendar(self.today)
        periods = [ensure_period(year, month) for year, month in calendar_.year]
        self.summary.months = [p.code for p in periods]
        played = list(periods)
        if calendar_.in_progress is not None:
            played.append(ensure_period(*calendar_.in_progress))
            self.summary.in_progress = played[-1].code
        self.plan(len(periods), len(played))
        for index, period in enumerate(played):
            for school in self.schools:
                self.school_month(school, period, index)
        if calendar_.current is not None:
            # Today's month is open for entry, nothing in it yet: what a school admin fills in the demo.
            self.summary.current = ensure_period(*calendar_.current).code
        year_end = _last_day(*calendar_.year[-1])
        self.summary.hazards_overdue = len(
            list(self.session.scalars(hazards.list_hazards(as_of=year_end, overdue=True)))
        )
        closed = list(self.session.scalars(select(Hazard).where(Hazard.closed_on.is_not(None))))
        self.summary.hazards_closed_on_time = sum(1 for h in closed if h.closed_on <= h.deadline)
        self.summary.hazards_closed_late = len(closed) - self.summary.hazards_closed_on_time
        self.summary.credibility_school = (CREDIBILITY_SCHOOL, self.summary.names[CREDIBILITY_SCHOOL])
        self.summary.credibility_self_avg = _mean(self.cred_self)
        self.summary.credibility_spot_avg = _mean(self.cred_spot)
        return self.summary


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.1")) if values else Decimal(0)


def seed_demo_year(session: Session, *, today: datetime.date, rng_seed: int = 2026) -> YearSummary:
    """Play the demo district's year (and the month in progress) forward; return what was seeded.

    Must run inside ``use_scope(TenantScope.bureau())`` after :func:`service.demo.seed.seed_demo_district`
    (it narrows the scope to one school for each school's writes); adds and flushes, never commits.
    """
    if not current_scope().is_bureau:
        raise RuntimeError("seed the demo year inside use_scope(TenantScope.bureau())")
    if session.scalar(select(MonthlyReport.id).limit(1)) is not None:
        raise RuntimeError("the demo year can only be seeded once, into a freshly seeded district")
    return _Year(session, today, random.Random(rng_seed)).run()
