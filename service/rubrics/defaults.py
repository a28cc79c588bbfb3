"""The rubrics the product ships with, transcribed from the bureau's default rules (``rubrics.md``).

Where the rules give a section only as a description, its items are made from that wording, with
deductions in line with the listed ones. Points are exact decimals; texts are Chinese first, English
second. ``seed_default_rubrics`` stores each rubric as version 1, published, so a new district can
score from day one; the bureau then edits copies (new versions), never these rows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.models import User
from service.core.types import utcnow
from service.rubrics.models import (
    ItemKind,
    Rubric,
    RubricItem,
    RubricKind,
    RubricSection,
    RubricVersion,
    VersionStatus,
)

GENERAL, KEY, VETO = ItemKind.GENERAL, ItemKind.KEY, ItemKind.VETO


@dataclass(frozen=True)
class ItemSpec:
    code: str
    text: str
    text_en: str
    deduction: int | str = 0
    unit: str = "每项"
    kind: ItemKind = GENERAL
    cap: int | str | None = None
    na_allowed: bool = False
    key_fails_on: str | None = None
    computed: bool = False
    max_score: int | str | None = None


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name: str
    name_en: str
    max_points: int
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class RubricSpec:
    kind: RubricKind
    code: str
    name: str
    name_en: str
    note: str
    settings: dict[str, Any]
    sections: tuple[SectionSpec, ...]


ANY_OCCURRENCE = "任一发现即不合格 / any occurrence"

# --- 食堂检查 canteen inspection ---------------------------------------------------------------------

BANNED_FOODS = ["亚硝酸盐", "未烧熟的四季豆", "鲜黄花菜", "野生蘑菇", "发芽土豆"]
BANNED_FOODS_PRIMARY_SECONDARY = ["冷荤类食品", "生食类食品", "裱花蛋糕"]

CANTEEN = RubricSpec(
    kind=RubricKind.CANTEEN,
    code="canteen",
    name="食堂检查评分细则",
    name_en="Canteen inspection rubric",
    note="默认细则：依据《学校食品安全与营养健康管理规定》及餐饮服务食品安全量化分级管理 / default rubric",
    settings={
        "total_points": 100,
        # 留样 samples: grams per dish and hours kept (provincial rules differ; these are the defaults)
        "sample_grams": 125,
        "sample_hours": 48,
        # Grade of one inspection: minimum score of A, B, C; below C (or too many key items failed) 未定级.
        "grade_bands": {"A": 90, "B": 75, "C": 60},
        "grade_a_max_key_failed": 0,
        "grade_a_min_section_percent": 70,
        "ungraded_min_key_failed": 2,
        # 两荤两素一汤, meat at least 50% of the meat dishes
        "menu_standard": {"meat_dishes": 2, "vegetable_dishes": 2, "soups": 1, "min_meat_percent": 50},
        "banned_foods": BANNED_FOODS,
        "banned_foods_primary_secondary": BANNED_FOODS_PRIMARY_SECONDARY,
    },
    sections=(
        SectionSpec(
            "A",
            "证照与管理",
            "Licence and management",
            10,
            (
                ItemSpec(
                    "A1",
                    "食品经营许可证合法有效",
                    "Food business licence valid",
                    10,
                    "每项",
                    KEY,
                    cap=10,
                    key_fails_on="无许可证或许可证过期 / no licence, or licence expired",
                ),
                ItemSpec(
                    "A2",
                    "许可证在醒目位置公示",
                    "Licence displayed where diners can see it",
                    2,
                    "每项",
                ),
                ItemSpec(
                    "A3",
                    "配备食品安全管理人员",
                    "A food-safety manager is appointed",
                    5,
                    "每项",
                ),
                ItemSpec(
                    "A4",
                    "日管控记录完整",
                    "Daily control log (日管控) kept",
                    1,
                    "每天",
                    cap=5,
                ),
                ItemSpec(
                    "A5",
                    "周排查、月调度记录完整",
                    "Weekly check (周排查) and monthly review (月调度) records kept",
                    1,
                    "每次",
                    cap=5,
                ),
            ),
        ),
        SectionSpec(
            "B",
            "从业人员",
            "Canteen staff",
            15,
            (
                ItemSpec(
                    "B1",
                    "从业人员持有效健康证明上岗（每年复检）",
                    "Every food handler holds a valid health certificate (renewed yearly)",
                    5,
                    "每人",
                    KEY,
                    key_fails_on="任一从业人员健康证过期或缺失 / any certificate expired or missing",
                ),
                ItemSpec(
                    "B2",
                    "每日晨检并记录",
                    "Morning health check (晨检) done and logged every day",
                    2,
                    "每天",
                ),
                ItemSpec(
                    "B3",
                    "个人卫生良好（穿戴工作衣帽、不戴饰物、勤洗手）",
                    "Personal hygiene (work clothes and cap, no jewellery, clean hands)",
                    1,
                    "每人",
                ),
            ),
        ),
        SectionSpec(
            "C",
            "采购贮存",
            "Purchasing and storage",
            20,
            (
                ItemSpec(
                    "C1",
                    "索证索票，进货查验记录完整",
                    "Supplier licences and receipts (索证索票) kept for every delivery",
                    2,
                    "每批次",
                ),
                ItemSpec(
                    "C2",
                    "大宗食品定点采购",
                    "Bulk food bought from designated suppliers (定点采购)",
                    2,
                    "每批次",
                ),
                ItemSpec(
                    "C3",
                    "贮存离墙离地，做到防尘、防潮、防鼠、防蝇（四防）",
                    "Storage off wall and floor; dust-, damp-, rat- and fly-proof (四防)",
                    2,
                    "每处",
                ),
                ItemSpec(
                    "C4",
                    "无过期、变质食品及原料",
                    "No expired or spoiled food or ingredients",
                    10,
                    "每批次",
                    KEY,
                    key_fails_on="发现任一批次过期或变质 / any expired or spoiled batch",
                ),
                ItemSpec(
                    "C5",
                    "未采购、贮存、使用亚硝酸盐",
                    "No nitrite purchased, stored or used",
                    0,
                    "每次",
                    VETO,
                ),
            ),
        ),
        SectionSpec(
            "D",
            "加工与留样",
            "Preparation and food samples",
            25,
            (
                ItemSpec(
                    "D1",
                    "生熟分开，无交叉污染",
                    "Raw and cooked food kept apart; no cross-contamination",
                    5,
                    "每处",
                ),
                ItemSpec(
                    "D2",
                    "食品烧熟煮透",
                    "Food cooked through",
                    5,
                    "每次",
                ),
                ItemSpec(
                    "D3",
                    "每餐次每样菜品均留样",
                    "Every dish of every meal sampled",
                    5,
                    "每样菜品",
                ),
                ItemSpec(
                    "D4",
                    "无整餐次未留样（未留样菜品另按D3扣分）",
                    "No meal left without samples (the dishes are also deducted under D3)",
                    0,
                    "每餐",
                    KEY,
                    key_fails_on="任一餐次未留样 / any meal without samples",
                ),
                ItemSpec(
                    "D5",
                    "每样留样不少于125克，专用冰箱冷藏48小时以上，记录完整",
                    "Samples of at least 125 g, kept at least 48 h in a dedicated fridge, logged",
                    2,
                    "每项",
                ),
                ItemSpec(
                    "D6",
                    "未加工供应禁止的高风险食品（未烧熟的四季豆、鲜黄花菜、野生蘑菇、发芽土豆；"
                    "中小学另禁冷荤类食品、生食类食品、裱花蛋糕）",
                    "No banned food prepared or served (undercooked green beans, fresh daylily, wild "
                    "mushrooms, sprouting potatoes; in primary and secondary schools also cold meats, raw "
                    "food, decorated cream cakes)",
                    0,
                    "每次",
                    VETO,
                ),
            ),
        ),
        SectionSpec(
            "E",
            "清洗消毒与环境",
            "Cleaning, disinfection and environment",
            15,
            (
                ItemSpec(
                    "E1",
                    "餐用具清洗消毒合格",
                    "Tableware cleaned and disinfected properly",
                    5,
                    "每次",
                    KEY,
                    key_fails_on="任一次消毒不合格 / any disinfection failure",
                ),
                ItemSpec(
                    "E2",
                    "虫害防治有效，无鼠、蝇、蟑螂痕迹",
                    "Pest control effective: no sign of rats, flies or cockroaches",
                    5,
                    "每次",
                ),
                ItemSpec(
                    "E3",
                    "“明厨亮灶”摄像头在线",
                    "Open-kitchen (明厨亮灶) camera online",
                    2,
                    "每次",
                ),
            ),
        ),
        SectionSpec(
            "F",
            "陪餐与监督",
            "Meal accompaniment and oversight",
            15,
            (
                ItemSpec(
                    "F1",
                    "学校负责人每餐陪餐并记录",
                    "A school leader eats with the students at every meal and records it (陪餐)",
                    1,
                    "每餐",
                    cap=8,
                ),
                ItemSpec(
                    "F2",
                    "建立家长陪餐或膳食委员会机制，征求家长委员会意见",
                    "Parents eat with students or sit on a meal committee; the parent committee is consulted",
                    3,
                    "每项",
                ),
                ItemSpec(
                    "F3",
                    "每周公布食谱，每餐两荤两素一汤，荤菜中肉类不低于50%",
                    "Weekly menu published; two meat dishes, two vegetable dishes and a soup per meal, "
                    "meat at least 50% of the meat dishes",
                    2,
                    "每周",
                ),
                ItemSpec(
                    "F4",
                    "承包（托管）经营合规",
                    "Contracted (outsourced) catering compliant",
                    5,
                    "每项",
                    na_allowed=True,
                ),
            ),
        ),
    ),
)

# --- 校园安全检查 campus safety check -----------------------------------------------------------------

SAFETY = RubricSpec(
    kind=RubricKind.SAFETY,
    code="safety",
    name="校园安全检查评分细则",
    name_en="Campus safety check rubric",
    note="默认细则：依据《中小学幼儿园安全管理办法》《中小学校、幼儿园消防安全十项规定》 / default rubric",
    settings={
        "total_points": 100,
        # Buildings need a safety appraisal after this many years in use.
        "building_appraisal_years": {"single_storey": 12, "multi_storey": 15},
        "min_drills_per_semester": 1,
        "camera_down_hours": 24,
        "lift_certificate_months": 12,
        "lightning_test_months": 12,
    },
    sections=(
        SectionSpec(
            "A",
            "组织与责任",
            "Organisation and responsibility",
            10,
            (
                ItemSpec(
                    "A1",
                    "逐级签订安全责任书",
                    "Safety responsibility letters signed at every level",
                    1,
                    "每份",
                ),
                ItemSpec(
                    "A2",
                    "每月召开安全工作会议并记录",
                    "Monthly safety meeting held and minuted",
                    1,
                    "每次",
                ),
            ),
        ),
        SectionSpec(
            "B",
            "消防",
            "Fire safety",
            25,
            (
                ItemSpec(
                    "B1",
                    "疏散通道、安全出口畅通，未上锁、未堵塞",
                    "Evacuation routes and exits open: not locked or blocked",
                    10,
                    "每处",
                    KEY,
                    key_fails_on="任一疏散通道或安全出口上锁、堵塞 / any route or exit locked or blocked",
                ),
                ItemSpec(
                    "B2",
                    "灭火器在有效期内，消火栓、火灾报警、应急照明完好",
                    "Extinguishers in date; hydrants, fire alarms and emergency lighting working",
                    2,
                    "每个",
                ),
                ItemSpec(
                    "B3",
                    "每日防火巡查、每月防火检查并记录",
                    "Daily fire patrol and monthly fire inspection done and logged",
                    1,
                    "每次",
                    cap=5,
                ),
            ),
        ),
        SectionSpec(
            "C",
            "校舍与设施",
            "Buildings and facilities",
            20,
            (
                ItemSpec(
                    "C1",
                    "未使用D级危房",
                    "No D-grade (unsafe, 危房) building in use",
                    20,
                    "每栋",
                    KEY,
                    cap=20,
                    key_fails_on="使用任一D级危房 / any D-grade building in use",
                ),
                ItemSpec(
                    "C2",
                    "校舍按期安全鉴定（单层使用满12年、多层满15年）",
                    "Buildings appraised on time (single-storey after 12 years, multi-storey after 15)",
                    2,
                    "每栋",
                ),
                ItemSpec(
                    "C3",
                    "栏杆、护栏牢固完好",
                    "Railings and guardrails secure",
                    2,
                    "每处",
                ),
                ItemSpec(
                    "C4",
                    "体育器材及设施安全完好",
                    "Sports equipment and facilities safe",
                    2,
                    "每处",
                ),
            ),
        ),
        SectionSpec(
            "D",
            "用电用气、特种设备、防雷",
            "Electricity, gas, special equipment and lightning protection",
            15,
            (
                ItemSpec(
                    "D1",
                    "电梯检验合格证在有效期内（每年检验）",
                    "Lift inspection certificate in date (inspected yearly)",
                    5,
                    "每台",
                    na_allowed=True,
                ),
                ItemSpec(
                    "D2",
                    "防雷装置检测报告在有效期内（每年检测）",
                    "Lightning-protection test report in date (tested yearly)",
                    5,
                    "每项",
                ),
                ItemSpec(
                    "D3",
                    "无私拉乱接电线",
                    "No makeshift wiring",
                    2,
                    "每处",
                ),
                ItemSpec(
                    "D4",
                    "燃气管道、阀门及报警装置完好",
                    "Gas pipes, valves and gas alarms sound",
                    2,
                    "每处",
                    na_allowed=True,
                ),
            ),
        ),
        SectionSpec(
            "E",
            "门卫与监控",
            "Gate and surveillance",
            15,
            (
                ItemSpec(
                    "E1",
                    "外来人员进出登记",
                    "Every visitor logged",
                    2,
                    "每人次",
                ),
                ItemSpec(
                    "E2",
                    "门卫、保安按规定配备",
                    "Guards staffed as required",
                    3,
                    "每项",
                ),
                ItemSpec(
                    "E3",
                    "视频监控、报警装置正常运行（故障不超过24小时）",
                    "CCTV and alarms working (no camera down for more than 24 hours)",
                    3,
                    "每路",
                ),
                ItemSpec(
                    "E4",
                    "夜间巡逻并记录",
                    "Night patrols done and logged",
                    1,
                    "每天",
                    cap=5,
                ),
            ),
        ),
        SectionSpec(
            "F",
            "演练与教育",
            "Drills and education",
            10,
            (
                ItemSpec(
                    "F1",
                    "每学期至少开展1次应急疏散演练",
                    "At least one evacuation drill per semester",
                    5,
                    "每学期",
                ),
                ItemSpec(
                    "F2",
                    "开展安全教育（安全教育课、主题活动）",
                    "Safety education held (lessons, themed activities)",
                    2,
                    "每项",
                ),
            ),
        ),
        SectionSpec(
            "G",
            "隐患整改",
            "Hazard rectification",
            5,
            (
                ItemSpec(
                    "G1",
                    "隐患按期整改（逾期未整改的隐患每项扣2分，由系统月末计算）",
                    "Hazards fixed by their deadline (each overdue hazard −2, computed at month end)",
                    2,
                    "每项",
                    cap=5,
                    computed=True,
                ),
            ),
        ),
    ),
)

# --- 后勤人员考核 logistics staff evaluation -----------------------------------------------------------

STAFF = RubricSpec(
    kind=RubricKind.STAFF,
    code="staff",
    name="后勤人员考核细则",
    name_en="Logistics staff evaluation rubric",
    note="默认细则：德、能、勤、绩、廉五个维度 / default rubric",
    settings={
        "total_points": 100,
        # Each dimension = Σ weight × the rater group's mean score ÷ Σ weights of the groups present.
        "rater_weights": {"assessment": 50, "satisfaction": 20, "peer": 20, "self": 10},
        "min_months_in_post": 6,
        # Where 绩 comes from by staff role, when the data exists: rubric:section or rubric:item codes.
        "results_sources": {
            "cook": ["canteen:B", "canteen:D", "canteen:E"],
            "guard": ["safety:E1", "safety:E4"],
            "electrician": ["hazards:closed_on_time"],
            "cleaner": ["canteen:E"],
        },
    },
    sections=(
        SectionSpec(
            "de",
            "德",
            "Conduct",
            10,
            (
                ItemSpec(
                    "de1",
                    "职业道德、服务态度、遵章守纪（0–10分）",
                    "Work ethic, attitude to service, keeping the rules (0–10)",
                    unit="分",
                    max_score=10,
                ),
                ItemSpec(
                    "V2",
                    "未在健康证过期期间上岗",
                    "Never worked with an expired health certificate",
                    unit="每次",
                    kind=VETO,
                ),
            ),
        ),
        SectionSpec(
            "neng",
            "能",
            "Competence",
            20,
            (
                ItemSpec(
                    "neng1",
                    "业务技能、持证上岗、学习培训（0–20分）",
                    "Job skills, required certificates, training (0–20)",
                    unit="分",
                    max_score=20,
                ),
            ),
        ),
        SectionSpec(
            "qin",
            "勤",
            "Diligence and attendance",
            15,
            (
                ItemSpec(
                    "qin1",
                    "出勤、工作量、工作态度（0–15分）",
                    "Attendance, workload, diligence (0–15)",
                    unit="分",
                    max_score=15,
                ),
                ItemSpec(
                    "V4",
                    "无无故旷工",
                    "No unexcused absence",
                    unit="每次",
                    kind=VETO,
                ),
                ItemSpec(
                    "V5",
                    "本岗位任职满6个月（由系统按入职日期计算）",
                    "At least 6 months in post (computed from the hire date)",
                    unit="每人",
                    kind=VETO,
                    computed=True,
                ),
            ),
        ),
        SectionSpec(
            "ji",
            "绩",
            "Results",
            45,
            (
                ItemSpec(
                    "ji1",
                    "工作业绩（0–45分；有数据时按岗位取：炊事员取本校食堂检查B、D、E部分，门卫取来访登记和巡逻项，"
                    "水电工取隐患按期整改，保洁员取卫生项）",
                    "Results (0–45; where data exists, by role: cooks from canteen sections B, D, E of "
                    "their school, guards from visitor-log and patrol items, electricians/plumbers from "
                    "hazards closed on time, cleaners from hygiene items)",
                    unit="分",
                    max_score=45,
                ),
                ItemSpec(
                    "V1",
                    "对安全责任事故无过错责任",
                    "Not at fault in an accident",
                    unit="每次",
                    kind=VETO,
                ),
            ),
        ),
        SectionSpec(
            "lian",
            "廉",
            "Integrity",
            10,
            (
                ItemSpec(
                    "lian1",
                    "廉洁自律，不谋私利（0–10分）",
                    "Integrity: no personal gain (0–10)",
                    unit="分",
                    max_score=10,
                ),
                ItemSpec(
                    "V3",
                    "无违纪违规、收受回扣问题",
                    "No discipline case and no kickbacks",
                    unit="每次",
                    kind=VETO,
                ),
            ),
        ),
    ),
)

DEFAULT_RUBRICS: tuple[RubricSpec, ...] = (CANTEEN, SAFETY, STAFF)


def _points(value: int | str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def build_version(spec: RubricSpec) -> RubricVersion:
    """Version 1 of a default rubric, with its sections and items (not yet added to a session)."""
    version = RubricVersion(version=1, note=spec.note, settings=copy.deepcopy(spec.settings))
    for s_pos, s in enumerate(spec.sections, start=1):
        section = RubricSection(
            code=s.code, name=s.name, name_en=s.name_en, max_points=_points(s.max_points), position=s_pos
        )
        for i_pos, i in enumerate(s.items, start=1):
            section.items.append(
                RubricItem(
                    code=i.code,
                    text=i.text,
                    text_en=i.text_en,
                    kind=i.kind,
                    deduction=_points(i.deduction),
                    cap=_points(i.cap),
                    max_score=_points(i.max_score),
                    unit=i.unit,
                    na_allowed=i.na_allowed,
                    key_fails_on=i.key_fails_on,
                    computed=i.computed,
                    position=i_pos,
                )
            )
        version.sections.append(section)
    return version


def seed_default_rubrics(session: Session, published_by: User | None = None) -> list[Rubric]:
    """Create version 1, published, of each default rubric whose kind the district does not have yet.

    A kind that exists is left alone, whatever its versions (the bureau's own edits stay in force), so
    running this again changes nothing; a kind a later release adds is created on the next run.
    ``published_by`` None means the system published it (``houqin db upgrade``). Adds and flushes,
    never commits (the caller owns the transaction).
    """
    existing = set(session.scalars(select(Rubric.kind)))
    now = utcnow()
    rubrics = []
    for spec in DEFAULT_RUBRICS:
        if spec.kind in existing:
            continue
        version = build_version(spec)
        version.status = VersionStatus.PUBLISHED
        version.published_at = now
        version.published_by_id = published_by.id if published_by is not None else None
        rubric = Rubric(kind=spec.kind, code=spec.code, name=spec.name, name_en=spec.name_en)
        rubric.versions.append(version)
        session.add(rubric)
        rubrics.append(rubric)
    session.flush()
    return rubrics
