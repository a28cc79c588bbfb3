"""Seed an empty database with a synthetic demo district: bureau, rubrics, clusters, 30 schools, staff, logins.

Why it looks the way it does:

* The shape follows the domain brief (``/work/shared/domain.md``): a bureau, four 片区 each visited by a
  bureau supervisor, a mix of urban and rural schools where rural and senior schools board, and
  logistics rosters whose food handlers need a health certificate (健康证).
* A handful of certificates are deliberately expiring, expired or missing, so the warning list, the
  dashboards and the inspectors' views have something to show on day one.
* Everything is drawn from one ``random.Random(rng_seed)`` in a fixed order, so the same seed always
  yields the same district (only timestamps and the salted password hash differ between runs).
* The caller owns the transaction and the tenant scope: this module only adds and flushes, and must run
  inside ``use_scope(TenantScope.bureau())`` because creating schools is bureau-only work.
"""

from __future__ import annotations

import datetime
import random
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import ROLE_LABELS, Role, User
from service.accounts.passwords import hash_password
from service.org.models import (
    CANTEEN_MODE_LABELS,
    SCHOOL_TYPE_LABELS,
    Bureau,
    CanteenMode,
    Cluster,
    School,
    SchoolType,
)
from service.rubrics.defaults import seed_default_rubrics
from service.staff.models import FOOD_HANDLING_ROLES, ContractType, StaffMember, StaffRole
from tenants import MissingTenantScope, current_scope

DEMO_PASSWORD = "houqin-demo"
EMAIL_DOMAIN = "demo.houqin.local"

# Roster size limits: a village school runs on a handful of people, a boarding senior school on many more;
# the demo keeps the largest roster readable on one screen.
MIN_ROSTER = 4
MAX_ROSTER = 25

# How many certificate problems to plant among the food handlers (each in a different school).
EXPIRING_CERTS = 8  # expire within 30 days of ``today``
EXPIRED_CERTS = 5
MISSING_CERTS = 3
NEW_HIRES = 6  # hired less than six months before ``today``


# --------------------------------------------------------------------------------------------------
# Static description of the district
# --------------------------------------------------------------------------------------------------

BUREAU_NAME = "青山区教育局"
BUREAU_NAME_EN = "Qingshan District Education Bureau"
# A well-formed but deliberately fictitious administrative division code (99xxxx is not assigned),
# so the demo district is never mistaken for a real one.
BUREAU_REGION_CODE = "990102"


class _ClusterSpec(NamedTuple):
    code: str
    name: str


CLUSTERS: tuple[_ClusterSpec, ...] = (
    _ClusterSpec("C01", "城东片区"),
    _ClusterSpec("C02", "城西片区"),
    _ClusterSpec("C03", "城南片区"),
    _ClusterSpec("C04", "北部乡镇片区"),
)


class _BureauPerson(NamedTuple):
    username: str
    display_name: str
    role: Role
    clusters: tuple[str, ...] = ()


# Three inspectors for four clusters: the two compact urban clusters share one supervisor, as a bureau
# short of staff would arrange it; the rural cluster, with the longest drives, gets its own.
BUREAU_PEOPLE: tuple[_BureauPerson, ...] = (
    _BureauPerson("admin", "王建国", Role.BUREAU_ADMIN),
    _BureauPerson("official", "陈慧敏", Role.BUREAU_OFFICIAL),
    _BureauPerson("inspector1", "赵德福", Role.INSPECTOR, ("C01", "C02")),
    _BureauPerson("inspector2", "孙丽萍", Role.INSPECTOR, ("C03",)),
    _BureauPerson("inspector3", "马永强", Role.INSPECTOR, ("C04",)),
)


class _SchoolSpec(NamedTuple):
    name: str
    type: SchoolType
    cluster: str
    setting: str  # "urban", "town" (镇) or "village" (村)
    canteen: CanteenMode
    boarding: bool
    enrollment: tuple[int, int]  # range the seed draws from
    address: str


_P, _J, _S, _N, _C = (
    SchoolType.PRIMARY,
    SchoolType.JUNIOR,
    SchoolType.SENIOR,
    SchoolType.NINE_YEAR,
    SchoolType.COMPLETE,
)
_SELF, _CONTRACT, _NONE = CanteenMode.SELF_RUN, CanteenMode.CONTRACTED, CanteenMode.NONE

# Codes are assigned in this order: S001, S002, ...
SCHOOLS: tuple[_SchoolSpec, ...] = (
    # 城东片区: the old town centre
    _SchoolSpec("青山区实验小学", _P, "C01", "urban", _SELF, False, (2100, 2500), "青山区人民路88号"),
    _SchoolSpec("青山区第一小学", _P, "C01", "urban", _SELF, False, (1600, 2000), "青山区和平街12号"),
    _SchoolSpec("东湖路小学", _P, "C01", "urban", _NONE, False, (650, 950), "青山区东湖路45号"),
    _SchoolSpec("建设街小学", _P, "C01", "urban", _CONTRACT, False, (1200, 1500), "青山区建设街201号"),
    _SchoolSpec("青山区第二初级中学", _J, "C01", "urban", _SELF, False, (1500, 1900), "青山区解放大道156号"),
    _SchoolSpec("青山区第一中学", _S, "C01", "urban", _SELF, True, (3000, 3500), "青山区学府路1号"),
    _SchoolSpec("青山区实验中学", _C, "C01", "urban", _SELF, True, (2400, 3000), "青山区文昌路66号"),
    _SchoolSpec("红旗路小学", _P, "C01", "urban", _CONTRACT, False, (1250, 1550), "青山区红旗路33号"),
    # 城西片区: the steelworks district and newer housing estates
    _SchoolSpec("青山区第二小学", _P, "C02", "urban", _SELF, False, (1900, 2300), "青山区钢都大街18号"),
    _SchoolSpec("西苑小学", _P, "C02", "urban", _NONE, False, (700, 900), "青山区西苑小区内"),
    _SchoolSpec("育才小学", _P, "C02", "urban", _CONTRACT, False, (1400, 1700), "青山区育才路9号"),
    _SchoolSpec("青山区第三初级中学", _J, "C02", "urban", _SELF, False, (1300, 1600), "青山区冶金路77号"),
    _SchoolSpec("青山区第二中学", _S, "C02", "urban", _SELF, True, (2500, 3000), "青山区西环路300号"),
    _SchoolSpec("钢城路小学", _P, "C02", "urban", _SELF, False, (1200, 1400), "青山区钢城路52号"),
    _SchoolSpec("西城实验小学", _P, "C02", "urban", _SELF, False, (1700, 2100), "青山区西城大道128号"),
    # 城南片区: the urban fringe, where the city meets the villages
    _SchoolSpec("城南小学", _P, "C03", "urban", _SELF, False, (1350, 1600), "青山区南环路21号"),
    _SchoolSpec("南湖小学", _P, "C03", "urban", _CONTRACT, False, (1200, 1450), "青山区南湖路17号"),
    _SchoolSpec("青山区第四初级中学", _J, "C03", "urban", _SELF, False, (1400, 1700), "青山区南新街88号"),
    _SchoolSpec("青山区第三中学", _S, "C03", "urban", _SELF, True, (2000, 2500), "青山区南郊路500号"),
    _SchoolSpec(
        "南山九年一贯制学校", _N, "C03", "town", _SELF, True, (1000, 1300), "青山区南山街道南山路6号"
    ),
    _SchoolSpec("南岗村小学", _P, "C03", "village", _SELF, False, (280, 380), "青山区南山街道南岗村"),
    _SchoolSpec("青山区第五初级中学", _J, "C03", "urban", _SELF, False, (1200, 1450), "青山区桥南路40号"),
    # 北部乡镇片区: two towns and their villages
    _SchoolSpec("长岭镇中心小学", _P, "C04", "town", _SELF, True, (590, 660), "青山区长岭镇镇府街3号"),
    _SchoolSpec("长岭镇初级中学", _J, "C04", "town", _SELF, True, (850, 1100), "青山区长岭镇长兴路15号"),
    _SchoolSpec("北关九年一贯制学校", _N, "C04", "town", _SELF, True, (750, 950), "青山区北关镇北关街26号"),
    _SchoolSpec("白沙镇中学", _C, "C04", "town", _SELF, True, (1700, 2100), "青山区白沙镇学院路2号"),
    _SchoolSpec("白沙镇中心小学", _P, "C04", "town", _SELF, True, (580, 680), "青山区白沙镇白沙街19号"),
    _SchoolSpec("长岭镇杨家湾小学", _P, "C04", "village", _SELF, True, (220, 400), "青山区长岭镇杨家湾村"),
    _SchoolSpec("白沙镇柳树村小学", _P, "C04", "village", _SELF, False, (150, 230), "青山区白沙镇柳树村"),
    _SchoolSpec("石门九年一贯制学校", _N, "C04", "town", _CONTRACT, True, (650, 850), "青山区石门乡石门村"),
)

# Which schools the login table points at, besides the bureau people.
EXAMPLE_SCHOOL_CODES = ("S001", "S023")  # the no-canteen school is added automatically

# The compact demo (``compact=True``; the test that builds the demo on many dates): the schools of the
# login table and of every story of service/demo/year.py (the bands: S002 B, S021 C, S028 D), a few more
# so that each peer group has some competition, and rosters of at most COMPACT_ROSTER people. Same stories, a third of the rows.
COMPACT_SCHOOL_CODES = frozenset(
    {
        "S001",
        "S002",
        "S003",
        "S004",
        "S005",
        "S010",
        "S011",
        "S014",
        "S021",
        "S023",
        "S024",
        "S025",
        "S027",
        "S028",
        "S029",
    }
)
COMPACT_ROSTER = 10


# --------------------------------------------------------------------------------------------------
# People: names, phones
# --------------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated list; long name lists read better as prose than as quoted strings."""
    return tuple(text.split())


# Common surnames, roughly in order of frequency; repeated ones are drawn more often.
SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶"
    "黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Given names as adults born between the 1960s and the 1990s carry them: curated rather than combined
# character by character, which yields pairs nobody would be named.
GIVEN_MALE = _words(
    "建国 国强 志强 建华 伟 明 海涛 立新 永刚 俊杰 文斌 国庆 红军 卫东 建军 德明 振华 海波 晓东 春生 "
    "金龙 光明 宏伟 志刚 勇 军 磊 斌 涛 峰 鹏 超 浩 宇 俊 辉 林 东升 长青 福生 进 学军 新民 利民 永福 "
    "少华 志勇 建平 德福 家俊 文杰 春雷 国平 成 刚 亮 小军 海军 保国"
)
GIVEN_FEMALE = _words(
    "秀英 桂兰 玉兰 淑珍 丽华 秀兰 桂英 红梅 美玲 春梅 丽娟 海燕 晓燕 静 芳 娟 敏 丽 艳 霞 燕 玲 婷 娜 "
    "慧 雪梅 小红 凤英 秀珍 金凤 玉梅 淑芬 丽萍 晓丽 雅琴 文静 丹 颖 琳 莉 萍 红 英 兰 琴 慧敏 晓红 "
    "春燕 玉芳 建英 彩霞 翠兰 婷婷 丽君"
)

# Mobile prefixes of the three carriers.
PHONE_PREFIXES = tuple(f"1{n}" for n in (30, 31, 32, 33, 35, 36, 37, 38, 39, 50, 51, 52, 53, 55, 56, 58, 59))
PHONE_PREFIXES += ("177", "180", "182", "186", "187", "188", "189", "199")


def _person_name(rng: random.Random, male: bool, taken: set[str]) -> str:
    """A surname plus a one- or two-character given name, not yet in ``taken`` (which it extends)."""
    given_names = GIVEN_MALE if male else GIVEN_FEMALE
    while True:
        name = rng.choice(SURNAMES) + rng.choice(given_names)
        if name not in taken:
            taken.add(name)
            return name


def _phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# --------------------------------------------------------------------------------------------------
# Rosters
# --------------------------------------------------------------------------------------------------

# Share of men per role, as one sees on real rosters (guards and boiler men, women cleaners).
MALE_SHARE = {
    StaffRole.CANTEEN_MANAGER: 0.6,
    StaffRole.STOREKEEPER: 0.5,
    StaffRole.COOK: 0.45,
    StaffRole.GUARD: 0.95,
    StaffRole.ELECTRICIAN: 1.0,
    StaffRole.DORM_SUPERVISOR: 0.4,
    StaffRole.BOILER_OPERATOR: 0.95,
    StaffRole.CLEANER: 0.15,
    StaffRole.SCHOOL_DOCTOR: 0.35,
    StaffRole.OTHER: 0.7,
}

_CONTRACT_TYPES = (
    ContractType.ESTABLISHED,
    ContractType.CONTRACT,
    ContractType.TEMPORARY,
    ContractType.OUTSOURCED,
)
# Weights over _CONTRACT_TYPES: established posts for the long-serving core, security companies for
# guards, labour dispatch for cleaners, contracts and temporary hires for the canteen.
CONTRACT_WEIGHTS = {
    StaffRole.CANTEEN_MANAGER: (6, 3, 0, 0),
    StaffRole.STOREKEEPER: (4, 5, 1, 0),
    StaffRole.COOK: (1, 5, 3, 1),
    StaffRole.GUARD: (0, 2, 1, 5),
    StaffRole.ELECTRICIAN: (4, 5, 1, 0),
    StaffRole.DORM_SUPERVISOR: (1, 5, 4, 0),
    StaffRole.BOILER_OPERATOR: (1, 6, 3, 0),
    StaffRole.CLEANER: (0, 2, 3, 5),
    StaffRole.SCHOOL_DOCTOR: (8, 2, 0, 0),
    StaffRole.OTHER: (1, 4, 4, 1),
}

# Chance that someone outside the canteen keeps a health certificate on file anyway.
NON_FOOD_CERT_SHARE = {
    StaffRole.SCHOOL_DOCTOR: 1.0,
    StaffRole.DORM_SUPERVISOR: 0.6,
    StaffRole.CLEANER: 0.4,
    StaffRole.GUARD: 0.2,
}


def _roster_roles(spec: _SchoolSpec, enrollment: int, max_roster: int = MAX_ROSTER) -> list[StaffRole]:
    """The roles on a school's logistics roster, sized by enrollment, canteen and boarding; at most
    ``max_roster`` people (the canteen and the gate are staffed first)."""
    counts: dict[StaffRole, int] = dict.fromkeys(StaffRole, 0)
    if spec.canteen is not CanteenMode.NONE:
        # Boarding schools cook three meals a day, day schools only lunch.
        counts[StaffRole.COOK] = max(1, min(10, enrollment // 220 + (2 if spec.boarding else 0)))
        counts[StaffRole.STOREKEEPER] = 2 if enrollment >= 2500 else 1
        counts[StaffRole.CANTEEN_MANAGER] = 1 if enrollment >= 500 or spec.boarding else 0
    counts[StaffRole.GUARD] = min(
        4, (1 if enrollment < 400 else 2) + int(spec.boarding) + int(enrollment >= 2000)
    )
    counts[StaffRole.ELECTRICIAN] = 2 if enrollment >= 2000 else 1
    counts[StaffRole.CLEANER] = min(4, 1 + enrollment // 800)
    if spec.boarding:
        counts[StaffRole.DORM_SUPERVISOR] = min(4, 1 + enrollment // 900)
        counts[StaffRole.BOILER_OPERATOR] = 2 if enrollment >= 2500 else 1
    if enrollment >= 1500 or (spec.boarding and enrollment >= 600):
        counts[StaffRole.SCHOOL_DOCTOR] = 1
    if enrollment >= 1800:
        counts[StaffRole.OTHER] = 1  # a groundskeeper or handyman

    # Trim the biggest rosters to MAX_ROSTER, giving up the least essential posts first.
    for role, floor in (
        (StaffRole.OTHER, 0),
        (StaffRole.CLEANER, 2),
        (StaffRole.GUARD, 3),
        (StaffRole.COOK, 4),
    ):
        while sum(counts.values()) > MAX_ROSTER and counts[role] > floor:
            counts[role] -= 1

    order = (
        StaffRole.CANTEEN_MANAGER,
        StaffRole.STOREKEEPER,
        StaffRole.COOK,
        StaffRole.GUARD,
        StaffRole.ELECTRICIAN,
        StaffRole.DORM_SUPERVISOR,
        StaffRole.BOILER_OPERATOR,
        StaffRole.CLEANER,
        StaffRole.SCHOOL_DOCTOR,
        StaffRole.OTHER,
    )
    roles = [role for role in order for _ in range(counts[role])][:max_roster]
    assert MIN_ROSTER <= len(roles) <= MAX_ROSTER, (spec.name, len(roles))
    return roles


class _CertNumbers:
    """Hands out unique certificate numbers of the form ``JK<issue year><6 digits>``."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def issue(self, expiry: datetime.date) -> str:
        # Certificates are valid for one year, so the number carries the year it was issued.
        year = (expiry - datetime.timedelta(days=365)).year
        while True:
            number = f"JK{year}{self._rng.randrange(10**6):06d}"
            if number not in self._used:
                self._used.add(number)
                return number


def _build_staff(
    rng: random.Random,
    school: School,
    roles: list[StaffRole],
    today: datetime.date,
    certs: _CertNumbers,
) -> list[StaffMember]:
    taken: set[str] = set()
    staff: list[StaffMember] = []
    for role in roles:
        male = rng.random() < MALE_SHARE[role]
        if role in FOOD_HANDLING_ROLES and school.canteen_mode is CanteenMode.CONTRACTED:
            contract = ContractType.OUTSOURCED  # the caterer's employees
        else:
            contract = rng.choices(_CONTRACT_TYPES, weights=CONTRACT_WEIGHTS[role])[0]
        if contract is ContractType.ESTABLISHED:
            years_back = (3, 20)
        elif contract is ContractType.TEMPORARY:
            years_back = (1, 5)
        else:
            years_back = (1, 15)
        hire_date = today - datetime.timedelta(days=rng.randint(years_back[0] * 365, years_back[1] * 365))
        member = StaffMember(
            school_id=school.id,
            name=_person_name(rng, male, taken),
            gender="男" if male else "女",
            role=role,
            contract_type=contract,
            hire_date=hire_date,
            phone=_phone(rng),
        )
        # Valid certificates expire two to eleven months out; the planted problems come later.
        if role in FOOD_HANDLING_ROLES or rng.random() < NON_FOOD_CERT_SHARE.get(role, 0.1):
            expiry = today + datetime.timedelta(days=rng.randint(61, 334))
            member.health_cert_expiry = expiry
            member.health_cert_no = certs.issue(expiry)
        staff.append(member)
    return staff


def _plant_certificate_problems(
    rng: random.Random,
    rosters: dict[str, list[StaffMember]],
    today: datetime.date,
    certs: _CertNumbers,
) -> None:
    """Make some food handlers' certificates expiring, expired or missing - one problem per school.

    ``S001`` always gets an expiring one, so the first example school login shows a warning.
    """
    with_canteen = [
        code for code, staff in rosters.items() if any(m.role in FOOD_HANDLING_ROLES for m in staff)
    ]
    others = [code for code in with_canteen if code != "S001"]
    total = EXPIRING_CERTS + EXPIRED_CERTS + MISSING_CERTS
    # One school each (the compact district has fewer schools than problems: some go unplanted).
    schools = ["S001", *rng.sample(others, min(total - 1, len(others)))]
    kinds = ["expired"] * EXPIRED_CERTS + ["missing"] * MISSING_CERTS + ["expiring"] * (EXPIRING_CERTS - 1)
    rng.shuffle(kinds)
    kinds = ["expiring", *kinds[: len(schools) - 1]]

    for code, kind in zip(schools, kinds, strict=True):
        handlers = [m for m in rosters[code] if m.role in FOOD_HANDLING_ROLES]
        # Cooks turn over most, so they are the likeliest to have let a certificate lapse.
        cooks = [m for m in handlers if m.role is StaffRole.COOK]
        member = rng.choice(cooks or handlers)
        if kind == "missing":
            member.health_cert_no = ""
            member.health_cert_expiry = None
            continue
        if kind == "expiring":
            expiry = today + datetime.timedelta(days=rng.randint(3, 28))
        else:
            expiry = today - datetime.timedelta(days=rng.randint(4, 90))
        member.health_cert_expiry = expiry
        member.health_cert_no = certs.issue(expiry)


def _mark_new_hires(rng: random.Random, rosters: dict[str, list[StaffMember]], today: datetime.date) -> None:
    """A few people joined this term: hired between ten days and six months ago."""
    everyone = [m for staff in rosters.values() for m in staff]
    for member in rng.sample(everyone, NEW_HIRES):
        member.hire_date = today - datetime.timedelta(days=rng.randint(10, 170))


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


class LoginRow(NamedTuple):
    """One line of the demo-login table: who to log in as and what that account sees."""

    role: Role
    username: str
    display: str
    what_they_see: str


@dataclass
class DemoLogins:
    """The accounts worth trying after seeding; every account uses :data:`DEMO_PASSWORD`."""

    rows: list[LoginRow] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    school_codes: list[str] = field(default_factory=list)


def _width(text: str) -> int:
    """Terminal width of ``text``: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_logins(logins: DemoLogins) -> str:
    """A table of the demo logins for the command line, Chinese first and English second."""
    headers = ("角色 Role", "用户名 Username", "姓名 Name", "可见范围 What they see")
    rows = [
        (
            f"{ROLE_LABELS[row.role][0]} {ROLE_LABELS[row.role][1]}",
            row.username,
            row.display,
            row.what_they_see,
        )
        for row in logins.rows
    ]
    widths = [max(_width(r[i]) for r in (headers, *rows)) for i in range(3)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(_pad(cell, w) for cell, w in zip(cells[:3], widths, strict=True)) + "  " + cells[3]

    codes = logins.school_codes
    first, last = (codes[0], codes[-1]) if codes else ("S001", "S001")
    others = (
        f"{school_username(first)} … {school_username(last)}（对应学校代码 school codes {first} … {last}）"
        if len(codes) == int(last[1:])
        else f"{len(codes)}所学校 schools: {', '.join(school_username(c) for c in codes)}"
    )
    out = [
        f"演示账号 Demo logins — 密码 Password: {logins.password}",
        "",
        line(headers),
        line((*("-" * w for w in widths), "-" * _width(headers[3]))),
        *(line(r) for r in rows),
        "",
        f"其余学校账号 Other schools: {others}",
    ]
    return "\n".join(out)


def _school_summary(school: School) -> str:
    type_zh, type_en = SCHOOL_TYPE_LABELS[school.type]
    canteen_zh, canteen_en = CANTEEN_MODE_LABELS[school.canteen_mode]
    if school.has_canteen:
        canteen_zh, canteen_en = f"{canteen_zh}食堂", f"{canteen_en} canteen"
    boarding = "，寄宿" if school.boarding else ""
    boarding_en = ", boarding" if school.boarding else ""
    return (
        f"仅本校：{school.name}（{school.code}，{type_zh}，{school.enrollment}名学生，{canteen_zh}{boarding}）"
        f" / own school only: {type_en}, {school.enrollment} pupils, {canteen_en.lower()}{boarding_en}"
    )


# --------------------------------------------------------------------------------------------------
# The seed
# --------------------------------------------------------------------------------------------------


def school_username(code: str) -> str:
    """The school admin's login for a school code: ``S001`` -> ``s001``."""
    return code.lower()


def seed_demo_district(
    session: Session, *, today: datetime.date, rng_seed: int = 2026, compact: bool = False
) -> DemoLogins:
    """Populate an empty database with the demo district and return the logins worth trying.

    ``compact`` keeps only :data:`COMPACT_SCHOOL_CODES` with smaller rosters (same stories, quicker).

    Must run inside ``use_scope(TenantScope.bureau())``; adds and flushes but never commits, so the caller
    decides whether the district is kept. ``today`` anchors hire dates and certificate expiries, so the
    planted warnings stay "expiring within 30 days" whatever day the demo is installed.
    """
    if not current_scope().is_bureau:
        raise MissingTenantScope("seed the demo district inside use_scope(TenantScope.bureau())")
    if session.scalar(select(func.count()).select_from(School)) or session.scalar(
        select(func.count()).select_from(Bureau)
    ):
        raise RuntimeError("the demo district can only be seeded into an empty database")

    rng = random.Random(rng_seed)
    # argon2 is deliberately slow; one hash shared by every demo account keeps seeding quick.
    password_hash = hash_password(DEMO_PASSWORD)
    taken_names = {person.display_name for person in BUREAU_PEOPLE}

    session.add(Bureau(name=BUREAU_NAME, name_en=BUREAU_NAME_EN, region_code=BUREAU_REGION_CODE))

    # Bureau people first: clusters point at their supervisors.
    bureau_users: dict[str, User] = {}
    for person in BUREAU_PEOPLE:
        user = User(
            username=person.username,
            display_name=person.display_name,
            email=f"{person.username}@{EMAIL_DOMAIN}",
            phone=_phone(rng),
            role=person.role,
            password_hash=password_hash,
        )
        session.add(user)
        bureau_users[person.username] = user
    session.flush()
    # The default rubrics (version 1, published by the bureau admin): what the demo schools are scored on.
    seed_default_rubrics(session, published_by=bureau_users["admin"])

    clusters: dict[str, Cluster] = {}
    for spec in CLUSTERS:
        cluster = Cluster(code=spec.code, name=spec.name)
        clusters[spec.code] = cluster
        session.add(cluster)
    for person in BUREAU_PEOPLE:
        user = bureau_users[person.username]
        for code in person.clusters:
            clusters[code].supervisor = user
            user.clusters.append(clusters[code])
    session.flush()

    schools: dict[str, School] = {}
    specs: dict[str, _SchoolSpec] = {}
    for number, spec in enumerate(SCHOOLS, start=1):
        code = f"S{number:03d}"
        if compact and code not in COMPACT_SCHOOL_CODES:
            continue
        specs[code] = spec
        lo, hi = spec.enrollment
        school = School(
            code=code,
            name=spec.name,
            type=spec.type,
            enrollment=rng.randint(lo, hi),
            boarding=spec.boarding,
            canteen_mode=spec.canteen,
            cluster=clusters[spec.cluster],
            principal_name=_person_name(rng, rng.random() < 0.65, taken_names),
            contact_name=_person_name(rng, rng.random() < 0.55, taken_names),
            contact_phone=_phone(rng),
            address=spec.address,
        )
        schools[code] = school
        session.add(school)
    session.flush()

    certs = _CertNumbers(rng)
    rosters: dict[str, list[StaffMember]] = {}
    for code, school in schools.items():
        roles = _roster_roles(specs[code], school.enrollment, COMPACT_ROSTER if compact else MAX_ROSTER)
        rosters[code] = _build_staff(rng, school, roles, today, certs)
        # staff_count is what the school declares; in the demo it matches the roster on file.
        school.staff_count = len(rosters[code])
    _plant_certificate_problems(rng, rosters, today, certs)
    _mark_new_hires(rng, rosters, today)
    for staff in rosters.values():
        session.add_all(staff)

    for code, school in schools.items():
        session.add(
            User(
                username=school_username(code),
                display_name=school.contact_name,  # the 总务主任 who submits the monthly data
                email=f"{school_username(code)}@{EMAIL_DOMAIN}",
                phone=school.contact_phone,
                role=Role.SCHOOL_ADMIN,
                school_id=school.id,
                password_hash=password_hash,
            )
        )
    session.flush()

    return _logins(bureau_users, clusters, schools)


def _logins(
    bureau_users: dict[str, User], clusters: dict[str, Cluster], schools: dict[str, School]
) -> DemoLogins:
    total = len(schools)
    logins = DemoLogins(school_codes=sorted(schools))
    for person in BUREAU_PEOPLE:
        if person.role is Role.BUREAU_ADMIN:
            sees = (
                f"全区{total}所学校，可管理学校、用户与评分细则"
                f" / all {total} schools; manages schools, users, rubrics"
            )
        elif person.role is Role.BUREAU_OFFICIAL:
            sees = f"全区{total}所学校，只读 / all {total} schools, read-only"
        else:
            covered = [clusters[code] for code in person.clusters]
            n = sum(len(c.schools) for c in covered)
            names = "、".join(c.name for c in covered)
            codes = ", ".join(c.code for c in covered)
            plural = "s" if len(covered) > 1 else ""
            sees = f"{names}（{n}所学校）督查 / inspects cluster{plural} {codes} ({n} schools)"
        logins.rows.append(LoginRow(person.role, person.username, person.display_name, sees))

    no_canteen = next(code for code, s in schools.items() if s.canteen_mode is CanteenMode.NONE)
    examples = [EXAMPLE_SCHOOL_CODES[0], no_canteen, *EXAMPLE_SCHOOL_CODES[1:]]
    for code in examples:
        school = schools[code]
        logins.rows.append(
            LoginRow(Role.SCHOOL_ADMIN, school_username(code), school.contact_name, _school_summary(school))
        )
    return logins
