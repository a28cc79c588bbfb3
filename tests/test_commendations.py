"""Commendations (表彰) end to end: the proposal rules with their reasons and near misses, vetoes,
staff quotas, re-proposing, decisions and who may make them, publication with certificate PDFs and
the published workbook, what a school admin sees, and the job through the eager Celery path.

Ranking snapshots and entries are inserted by hand (in the bureau scope), so these tests fix exactly
the numbers the rules read and do not depend on the ranking engine.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from service.commendations import operations
from service.commendations.models import (
    CommendationCandidate,
    CommendationCertificate,
    CommendationRound,
    RoundState,
)
from service.db import db
from service.evaluations.models import Evaluation
from service.hazards.models import Hazard, HazardSeverity, HazardState
from service.incidents import operations as incidents
from service.incidents.models import IncidentSeverity, IncidentType
from service.inspections.models import Grade, Inspection, InspectionKind, InspectionMode
from service.org.models import CanteenMode, School, SchoolType
from service.periods.models import Period, UnlockRequest, UnlockState
from service.rankings.models import EntryStatus, RankingEntry, RankingKind, RankingSnapshot
from service.reports.models import MonthlyReport, ReportState
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from service.staff.models import ContractType, StaffMember, StaffRole
from tenants import TenantScope, use_scope
from tests.conftest import TODAY, District, login

KEY = "2024-2025-2"  # term 2 of 2024/25: Feb-Jul 2025, judged on 2025-07-31
MONTHS = [(2025, m) for m in (2, 3, 4, 5, 6, 7)]
TERM_END = date(2025, 7, 31)
BASE = "/api/v1/commendations"


@contextmanager
def building(app: Any) -> Iterator[Any]:
    """Write test data in the bureau scope and commit. Requests must not run inside it: a request
    would share its app context (and the logged-in user cached on ``g``)."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        yield db.session
        db.session.commit()
        db.session.remove()


# --- building a term by hand --------------------------------------------------------------------------


@dataclass
class Term:
    """Periods, one snapshot and its entries, plus the inspections, hazards and evaluations added."""

    session: Any
    district: District
    periods: dict[tuple[int, int], int] = field(default_factory=dict)
    snapshot_id: int = 0
    schools: dict[str, int] = field(default_factory=dict)
    reports: dict[tuple[int, int], int] = field(default_factory=dict)

    @classmethod
    def build(cls, session: Any, district: District) -> Term:
        term = cls(session, district)
        for year, month in MONTHS:
            deadline = date(year + (month == 12), month % 12 + 1, 5)
            period = Period(year=year, month=month, deadline=deadline, lock_days=10)
            session.add(period)
            session.flush()
            term.periods[(year, month)] = period.id
        snapshot = RankingSnapshot(
            kind=RankingKind.TERM,
            key=KEY,
            period_ids=list(term.periods.values()),
            basis={},
            input_hash="i" * 64,
            payload_hash="p" * 64,
            summary={},
        )
        session.add(snapshot)
        session.flush()
        term.snapshot_id = snapshot.id
        term.schools = {"A": district.school_a.id, "B": district.school_b.id, "C": district.school_c.id}
        return term

    def school(self, code: str, name: str, *, canteen: bool = True) -> int:
        obj = School(
            code=code,
            name=name,
            type=SchoolType.PRIMARY,
            enrollment=500,
            staff_count=10,
            canteen_mode=CanteenMode.SELF_RUN if canteen else CanteenMode.NONE,
            cluster_id=self.district.cluster_2.id,
        )
        self.session.add(obj)
        self.session.flush()
        self.schools[code] = obj.id
        return obj.id

    def entry(
        self,
        code: str,
        score: str,
        rank_peer: int | None,
        *,
        group: str = "primary:canteen",
        status: EntryStatus = EntryStatus.RANKED,
        counted: int = 6,
        canteen: str | None = "80",
        safety: str | None = "80",
        snapshot_id: int | None = None,
    ) -> None:
        self.session.add(
            RankingEntry(
                snapshot_id=snapshot_id or self.snapshot_id,
                school_id=self.schools[code],
                status=status,
                score=Decimal(score),
                months_expected=6,
                months_counted=counted,
                canteen_applies=group.endswith(":canteen"),
                canteen_mean=Decimal(canteen) if canteen is not None else None,
                safety_mean=Decimal(safety) if safety is not None else None,
                staff_mean=Decimal("90"),
                spot_mean=None,
                key_failed=0,
                school_type="primary",
                peer_group=group,
                cluster_id=self.district.cluster_1.id,
                rank_overall=rank_peer,
                rank_peer=rank_peer,
                rank_cluster=rank_peer,
            )
        )
        self.session.flush()

    def spot(self, code: str, grade: Grade, *, month: int = 4, excluded: bool = False) -> None:
        self.session.add(
            Inspection(
                school_id=self.schools[code],
                kind=InspectionKind.CANTEEN,
                mode=InspectionMode.SPOT,
                rubric_version_id=current_version(RubricKind.CANTEEN).id,
                period_id=self.periods[(2025, month)],
                inspected_on=date(2025, month, 12),
                inspector_name="督查员",
                unannounced=True,
                score=Decimal("95.0") if grade is Grade.A else Decimal("80.0"),
                grade=grade,
                section_scores={},
                excluded=excluded,
            )
        )
        self.session.flush()

    def hazard(self, code: str, *, deadline: date, closed_on: date | None = None) -> None:
        self.session.add(
            Hazard(
                school_id=self.schools[code],
                title="消防通道堵塞",
                location="教学楼",
                severity=HazardSeverity.HIGH,
                responsible_person="王师傅",
                found_on=deadline - timedelta(days=7),
                deadline=deadline,
                state=HazardState.CLOSED if closed_on else HazardState.OPEN,
                closing_note="已整改" if closed_on else "",
                closed_on=closed_on,
                period_id=self.periods[(deadline.year, deadline.month)],
            )
        )
        self.session.flush()

    def food_incident(self, code: str, on: date) -> None:
        occurred = datetime(on.year, on.month, on.day, 4, 0, tzinfo=UTC)
        incidents.create_incident(
            {
                "school_id": self.schools[code],
                "type": IncidentType.FOOD_POISONING,
                # minor: a serious one would also be a liability casualty (barring 平安校园 too)
                "severity": IncidentSeverity.MINOR,
                "school_at_fault": True,
                "occurred_at": occurred,
                "reported_at": occurred + timedelta(minutes=30),
                "description": "午餐四季豆未炒熟",
            },
            now=occurred + timedelta(hours=1),
            today=on,
            by_bureau=True,
        )

    def staff(
        self,
        code: str,
        name: str,
        scores: list[str],
        *,
        role: StaffRole = StaffRole.CLEANER,
        hired: date = date(2020, 1, 1),
        cert: date | None = date(2026, 12, 31),
        active: bool = True,
    ) -> int:
        """A staff member evaluated in the term's first months (one accepted report per month)."""
        school_id = self.schools[code]
        member = StaffMember(
            school_id=school_id,
            name=name,
            role=role,
            contract_type=ContractType.CONTRACT,
            hire_date=hired,
            health_cert_expiry=cert,
            active=active,
        )
        self.session.add(member)
        self.session.flush()
        version = current_version(RubricKind.STAFF)
        for (year, month), score in zip(MONTHS, scores, strict=False):
            self.session.add(
                Evaluation(
                    school_id=school_id,
                    staff_id=member.id,
                    period_id=self.periods[(year, month)],
                    report_id=self._report(school_id, year, month),
                    rubric_version_id=version.id,
                    score=Decimal(score),
                    dimension_scores={},
                )
            )
        self.session.flush()
        return member.id

    def _report(self, school_id: int, year: int, month: int) -> int:
        key = (school_id, self.periods[(year, month)])
        if key not in self.reports:
            report = MonthlyReport(school_id=school_id, period_id=key[1], state=ReportState.ACCEPTED)
            self.session.add(report)
            self.session.flush()
            self.reports[key] = report.id
        return self.reports[key]

    def many_staff(self, code: str, n: int, score: str = "85") -> None:
        for i in range(n):
            self.staff(code, f"{code}员工{i:02d}", [score])


def _propose(app: Any, *, today: date = date(2026, 1, 10)) -> int:
    with app.app_context(), use_scope(TenantScope.bureau()):
        row = operations.propose("term", KEY, today=today)
        db.session.commit()
        rid = row.id
        db.session.remove()
    return rid


def _publish(client: Any, round_id: int, headers: dict[str, str]) -> Any:
    """Publish as the API is used: read what will be frozen, publish with its digest."""
    preview = client.get(f"{BASE}/rounds/{round_id}/publication", headers=headers)
    assert preview.status_code == 200, preview.get_json()
    digest = preview.get_json()["digest"]
    return client.post(f"{BASE}/rounds/{round_id}/publish?confirm={digest}", headers=headers)


def _lines(app: Any, round_id: int) -> dict[tuple[str, int, int | None], dict[str, Any]]:
    """(commendation, school id, staff id) → the candidate's state and its reasons by code."""
    with app.app_context(), use_scope(TenantScope.bureau()):
        rows = db.session.scalars(
            select(CommendationCandidate).where(CommendationCandidate.round_id == round_id)
        ).all()
        out = {
            (c.commendation.value, c.school_id, c.staff_id): {
                "id": c.id,
                "qualifies": c.qualifies,
                "decision": c.decision.value,
                "position": c.position,
                "reasons": {r["code"]: r for r in c.reasons},
            }
            for c in rows
        }
        db.session.remove()
    return out


def _failed(line: dict[str, Any]) -> set[str]:
    return {code for code, r in line["reasons"].items() if not r["ok"]}


# --- 先进单位 ---------------------------------------------------------------------------------------


def test_advanced_unit_peer_share_with_a_boundary_tie_and_near_misses(app: Any, district: District) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        # Twelve ranked primaries with a canteen: quota = ceil(10% × 12) = 2; ranks 1, 2, 2 are all inside.
        for code in "DEFGHIJKL":
            term.school(f"S{code}", f"测试{code}小学")
        term.entry("A", "96.0", 1)
        term.entry("B", "94.5", 2)
        term.entry("SD", "94.5", 2)  # tied at the boundary
        term.entry("SE", "92.0", 4)  # within 3 points of the boundary score 94.5: near miss
        term.entry("SF", "91.4", 5)  # 3.1 below: far, not stored
        for rank, code in enumerate("GHIJKL", start=6):
            term.entry(f"S{code}", f"{80 - rank}", rank)
        # Another peer group of one school: quota at least 1, so it is inside on its own.
        term.entry("C", "70.0", 1, group="primary:no_canteen", canteen=None)
    lines = _lines(app, _propose(app))
    adv = {sid: line for (c, sid, _), line in lines.items() if c == "advanced_unit"}
    s = term.schools
    assert {sid for sid, line in adv.items() if line["qualifies"]} == {s["A"], s["B"], s["SD"], s["C"]}
    share = adv[s["SD"]]["reasons"]["peer_group_share"]
    assert share["ok"] and share["value"] == "2" and share["threshold"] == "2"
    assert "前 10%（前 2 名）" in share["zh"] and "top 10%" in share["en"]
    near = adv[s["SE"]]
    assert not near["qualifies"] and _failed(near) == {"peer_group_share"}
    assert "未进入前 10%" in near["reasons"]["peer_group_share"]["zh"]
    assert s["SF"] not in adv and s["SG"] not in adv
    assert adv[s["A"]]["position"] == 1


def test_advanced_unit_needs_ranked_complete_data(app: Any, district: District) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        term.entry("A", "97.0", 1, counted=5)  # ranked with one month missing, but data not complete
        term.entry("B", "95.0", 2)  # within 3 points of A: a near miss
        term.entry("C", "98.0", None, status=EntryStatus.INSUFFICIENT, counted=3)
    lines = _lines(app, _propose(app))
    a = lines[("advanced_unit", district.school_a.id, None)]
    assert not a["qualifies"] and _failed(a) == {"complete_data"}
    assert a["reasons"]["complete_data"]["value"] == "5/6"
    c = lines[("advanced_unit", district.school_c.id, None)]
    assert not c["qualifies"] and {"ranked", "complete_data", "peer_group_share"} <= _failed(c)
    # A's rank-1 place is not passed down: B (rank 2 of 2, quota 1) stays outside.
    assert not lines[("advanced_unit", district.school_b.id, None)]["qualifies"]


# --- 放心食堂 and 平安校园 --------------------------------------------------------------------------


def test_trusted_canteen_thresholds_spot_grades_and_excluded_inspections(
    app: Any, district: District
) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        for code in "DEFG":
            term.school(f"S{code}", f"测试{code}小学")
        term.entry("A", "90", 1, canteen="96.2")
        term.spot("A", Grade.A)
        term.spot("A", Grade.A, month=5)
        term.entry("B", "90", 2, canteen="94.96")  # shown as 95.0: meets "≥ 95"
        term.spot("B", Grade.A)
        term.spot("B", Grade.B, excluded=True)  # set aside by an upheld appeal: left out
        term.entry("SD", "90", 3, canteen="97.0")
        term.spot("SD", Grade.A)
        term.spot("SD", Grade.B, month=6)  # one spot inspection below A
        term.entry("SE", "90", 4, canteen="98.0")  # no spot inspection at all
        term.entry("SF", "90", 5, canteen="93.0")  # 2 points short: near miss
        term.spot("SF", Grade.A)
        term.entry("SG", "90", 6, canteen="91.9")  # 3.1 short: not stored
        term.entry("C", "90", 1, group="primary:no_canteen", canteen=None)
    lines = _lines(app, _propose(app))
    tc = {sid: line for (c, sid, _), line in lines.items() if c == "trusted_canteen"}
    s = term.schools
    assert {sid for sid, line in tc.items() if line["qualifies"]} == {s["A"], s["B"]}
    assert tc[s["B"]]["reasons"]["canteen_mean"]["value"] == "95.0"
    assert tc[s["B"]]["reasons"]["spot_grades"]["value"] == "1/1"
    assert (
        _failed(tc[s["SD"]]) == {"spot_grades"}
        and "1 次未达 A 级" in tc[s["SD"]]["reasons"]["spot_grades"]["zh"]
    )
    assert (
        _failed(tc[s["SE"]]) == {"spot_grades"}
        and "少于要求的 1 次" in tc[s["SE"]]["reasons"]["spot_grades"]["zh"]
    )
    near = tc[s["SF"]]["reasons"]["canteen_mean"]
    assert _failed(tc[s["SF"]]) == {"canteen_mean"} and near["value"] == "93.0" and near["threshold"] == "95"
    assert s["SG"] not in tc and s["C"] not in tc


def test_safe_campus_refused_with_an_overdue_hazard_at_term_end(app: Any, district: District) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        term.entry("A", "90", 1, safety="97.5")
        term.hazard("A", deadline=date(2025, 7, 20))  # open past its deadline on 31 July
        term.entry("B", "90", 2, safety="96.0")
        term.hazard(
            "B", deadline=date(2025, 6, 20), closed_on=date(2025, 6, 25)
        )  # closed late, before the end
        term.entry("C", "90", 1, group="primary:no_canteen", canteen=None, safety="92.5")  # 2.5 short
    lines = _lines(app, _propose(app))
    a = lines[("safe_campus", district.school_a.id, None)]
    assert not a["qualifies"] and _failed(a) == {"no_overdue_hazard"}
    assert (
        a["reasons"]["no_overdue_hazard"]["value"] == "1"
        and "2025-07-31 有 1 项隐患逾期未整改" in (a["reasons"]["no_overdue_hazard"]["zh"])
    )
    assert lines[("safe_campus", district.school_b.id, None)]["qualifies"]
    c = lines[("safe_campus", district.school_c.id, None)]
    assert not c["qualifies"] and _failed(c) == {"safety_mean"}


def test_food_incident_bars_trusted_canteen_and_advanced_unit_not_safe_campus(
    app: Any, district: District
) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        term.entry("A", "97.0", 1, canteen="97.0", safety="97.0")
        term.spot("A", Grade.A)
        term.entry("B", "90.0", 2)
        term.food_incident("A", date(2025, 5, 14))
    lines = _lines(app, _propose(app))
    a = district.school_a.id
    for commendation in ("advanced_unit", "trusted_canteen"):
        line = lines[(commendation, a, None)]
        assert not line["qualifies"] and _failed(line) == {"no_veto"}, commendation
        assert "学校责任食物中毒" in line["reasons"]["no_veto"]["zh"]
        assert "2026-05-14" in line["reasons"]["no_veto"]["zh"]  # barred for twelve months
        assert (
            "Food poisoning with the school at fault (until 2026-05-14)" in line["reasons"]["no_veto"]["en"]
        )
    assert lines[("safe_campus", a, None)]["qualifies"]


def test_bureau_narrows_the_vetoes_that_bar_a_commendation(app: Any, client: Any, district: District) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        term.entry("A", "97.0", 1, canteen="97.0")
        term.spot("A", Grade.A)
        term.food_incident("A", date(2025, 5, 14))
    rules = client.get(f"{BASE}/rules", headers=district.headers("admin")).get_json()["settings"]
    adv = [r for r in rules["advanced_unit"]["veto_rules"] if r != "food_poisoning_at_fault"]
    resp = client.put(
        f"{BASE}/rules",
        json={"settings": {"advanced_unit": {"veto_rules": adv}}, "note": "食物中毒不再否决先进单位"},
        headers=district.headers("admin"),
    )
    assert resp.status_code == 200, resp.get_json()
    lines = _lines(app, _propose(app))
    assert lines[("advanced_unit", district.school_a.id, None)]["qualifies"]
    assert not lines[("trusted_canteen", district.school_a.id, None)]["qualifies"]


# --- 优秀后勤人员 -----------------------------------------------------------------------------------


def test_outstanding_staff_personal_conditions_and_both_quotas(app: Any, district: District) -> None:
    with building(app) as session:
        term = Term.build(session, district)
        # A: 20 evaluated (school quota 2), B: 10 (quota 1), C: 5 (fewer than 10: none). District: 35 × 5% → 1.
        best = term.staff("A", "甲一", ["99", "99"])
        second = term.staff("A", "甲二", ["98", "98"])
        third = term.staff("A", "甲三", ["97", "97"])  # third in A: beyond A's quota of 2
        expired = term.staff(
            "A", "甲厨", ["99.8"], role=StaffRole.COOK, cert=date(2025, 2, 10)
        )  # worked February with a certificate that expired on 10 Feb
        newcomer = term.staff("A", "甲新", ["99.9"], role=StaffRole.GUARD, hired=date(2025, 3, 1))  # 4 months
        nocert = term.staff("A", "甲保管", ["99.7"], role=StaffRole.STOREKEEPER, cert=None)
        term.many_staff("A", 14)
        b_best = term.staff("B", "乙一", ["96.5"])
        b_low = term.staff("B", "乙低", ["92.5"])  # 2.5 below 95: near miss
        term.staff("B", "乙远", ["91.9"])  # far: not stored
        term.many_staff("B", 7)
        c_best = term.staff("C", "丙一", ["99.5"])
        term.many_staff("C", 4)

    lines = _lines(app, _propose(app))
    staff = {sid: line for (cm, _, sid), line in lines.items() if cm == "outstanding_staff"}
    assert {sid for sid, line in staff.items() if line["qualifies"]} == {best}
    assert _failed(staff[second]) == {"district_quota"}
    assert "超出全区名额" in staff[second]["reasons"]["district_quota"]["zh"]
    assert staff[second]["reasons"]["district_quota"]["threshold"] == "1"
    assert _failed(staff[third]) == {"school_quota"}
    assert staff[third]["reasons"]["school_quota"]["threshold"] == "2"
    assert _failed(staff[b_best]) == {"district_quota"}
    assert _failed(staff[c_best]) == {"school_quota"}
    assert "不足 10 人，无评选名额" in staff[c_best]["reasons"]["school_quota"]["zh"]
    assert _failed(staff[expired]) == {"health_certificate"}
    assert "2025-02-10" in staff[expired]["reasons"]["health_certificate"]["zh"]
    assert _failed(staff[nocert]) == {"health_certificate"}
    assert _failed(staff[newcomer]) == {"months_in_post"}
    assert staff[newcomer]["reasons"]["months_in_post"]["value"] == "4"
    assert (
        _failed(staff[b_low]) == {"person_mean"}
        and staff[b_low]["reasons"]["person_mean"]["value"] == "92.50"
    )
    assert len(staff) == 9  # the 25 at 85 and the one at 91.9 are far from every threshold
    assert staff[best]["position"] < staff[second]["position"] < staff[third]["position"]

    # A wider district share (10% → 3 places): A's two and B's one; C still has no place.
    with app.app_context(), use_scope(TenantScope.bureau()):
        operations.update_rules({"outstanding_staff": {"district_share_percent": "10"}}, note="", user=None)
        db.session.commit()
        db.session.remove()
    lines = _lines(app, _propose(app))
    winners = {sid for (cm, _, sid), line in lines.items() if cm == "outstanding_staff" and line["qualifies"]}
    assert winners == {best, second, b_best}


def test_outstanding_staff_compares_the_unrounded_person_mean(app: Any, district: District) -> None:
    """Formula 4 rounds a person score only for display, so "score ≥ 95" compares the unrounded mean:
    94.995 is shown as 95.00 but is below 95 (before, the mean was rounded to 2 decimals first)."""
    with building(app) as session:
        term = Term.build(session, district)
        edge = term.staff("A", "甲边", ["94.995"])  # one month at 94.995 (kept: Numeric(16, 10))
        pair = term.staff("A", "甲均", ["94.99", "95.00"])  # mean (94.99 + 95.00) ÷ 2 = 94.995
        full = term.staff("A", "甲满", ["95.00", "95.00"])  # mean 95 exactly: ≥ 95
        term.many_staff("A", 17)  # 20 evaluated in A: school quota 20 ÷ 10 = 2
        term.many_staff("C", 80)  # 100 in the district: quota 100 × 5% = 5, not binding
    rid = _propose(app)
    lines = _lines(app, rid)
    staff = {sid: line for (cm, _, sid), line in lines.items() if cm == "outstanding_staff"}
    for sid, months in ((edge, 1), (pair, 2)):
        assert _failed(staff[sid]) == {"person_mean"}
        reason = staff[sid]["reasons"]["person_mean"]
        # 94.995 < 95; shown with 2 decimals (95.00) it would contradict the check, so it shows 94.995
        assert (reason["value"], reason["threshold"]) == ("94.995", "95")
        assert reason["zh"] == f"考核平均分 94.995 < 95（{months} 个月）"
    assert staff[full]["qualifies"] is True
    assert staff[full]["reasons"]["person_mean"]["zh"] == "考核平均分 95.00 ≥ 95（2 个月）"
    with app.app_context(), use_scope(TenantScope.bureau()):
        values = dict(
            db.session.execute(
                select(CommendationCandidate.staff_id, CommendationCandidate.value).where(
                    CommendationCandidate.round_id == rid
                )
            ).all()
        )
        db.session.remove()
    assert values[edge] == values[pair] == Decimal("94.995")  # the candidate keeps the unrounded mean


def test_personal_vetoes_bar_outstanding_staff_for_12_months(
    app: Any, client: Any, district: District
) -> None:
    """A discipline case in May 2025 bars 甲罚 on the judging day (31 July 2025); an unexcused absence of
    June 2024 no longer bars 甲旧 (its 12 months ended on 1 June 2025). Recorded through the API by the
    school's own admin; another school's admin cannot see the person at all."""
    with building(app) as session:
        term = Term.build(session, district)
        punished = term.staff("A", "甲罚", ["99.6"])
        old = term.staff("A", "甲旧", ["99.4"])
        term.many_staff("A", 18)
    url = "/api/v1/staff/{}/vetoes"
    mine = district.headers("admin_a")
    recorded = client.post(
        url.format(punished),
        json={"kind": "discipline", "occurred_on": "2025-05-10", "note": "违反食堂操作规程，警告处分"},
        headers=mine,
    )
    assert recorded.status_code == 201, recorded.get_json()
    body = recorded.get_json()
    assert (body["kind_label"], body["ends_on"]) == ("违纪处分", "2026-05-10")
    assert (
        client.post(
            url.format(old), json={"kind": "unexcused_absence", "occurred_on": "2024-06-01"}, headers=mine
        ).status_code
        == 201
    )
    other = district.headers("admin_b")
    assert client.get(url.format(punished), headers=other).status_code == 404
    assert (
        client.post(
            url.format(punished), json={"kind": "discipline", "occurred_on": "2025-05-10"}, headers=other
        ).status_code
        == 404
    )

    lines = _lines(app, _propose(app))
    staff = {sid: line for (cm, _, sid), line in lines.items() if cm == "outstanding_staff"}
    assert _failed(staff[punished]) == {"staff_veto"}
    assert staff[punished]["reasons"]["staff_veto"]["zh"] == "个人否决事项：违纪处分（2025-05-10）"
    assert staff[old]["reasons"]["staff_veto"]["ok"] is True
    assert staff[old]["qualifies"] is True

    # Withdrawn (recorded in error): May 2025 is locked, so the school asks the bureau, which withdraws
    # it. Proposing again, 甲罚 is no longer barred by it.
    veto_id = client.get(url.format(punished), headers=mine).get_json()[0]["id"]
    assert client.delete(f"{url.format(punished)}/{veto_id}", headers=mine).status_code == 403
    bureau = district.headers("admin")
    assert client.delete(f"{url.format(punished)}/{veto_id}", headers=bureau).status_code == 204
    lines = _lines(app, _propose(app))
    assert lines[("outstanding_staff", district.school_a.id, punished)]["reasons"]["staff_veto"]["ok"] is True


def test_who_may_withdraw_a_personal_veto(app: Any, client: Any, district: District) -> None:
    """What the bureau records (a kickback case) only the bureau withdraws; a school withdraws its own
    entry while the month it happened in is open (November: open until 16 December), not after the
    lock (October, locked on 16 November, with or without a period row) unless the bureau granted an
    unlock. Every refusal is 403 with the reason and leaves the veto in place."""
    url = f"/api/v1/staff/{district.staff_a.id}/vetoes"
    school, bureau = district.headers("admin_a"), district.headers("admin")
    english = {**school, "Accept-Language": "en"}

    def record(headers: dict, kind: str, day: str) -> dict:
        resp = client.post(url, json={"kind": kind, "occurred_on": day}, headers=headers)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def withdraw(headers: dict, veto: dict) -> Any:
        return client.delete(f"{url}/{veto['id']}", headers=headers)

    def listed() -> set[int]:
        return {v["id"] for v in client.get(url, headers=school).get_json()}

    kickback = record(bureau, "kickback", "2026-11-10")
    assert kickback["recorded_by_bureau"] is True
    refused = withdraw(school, kickback)
    assert refused.status_code == 403
    assert refused.get_json()["errors"]["_request"] == ["该否决事项由教育局登记，只能由教育局撤销。"]
    assert withdraw(english, kickback).get_json()["errors"]["_request"] == [
        "The bureau recorded this veto; only the bureau can withdraw it."
    ]
    assert kickback["id"] in listed()
    assert withdraw(bureau, kickback).status_code == 204
    assert kickback["id"] not in listed()

    own_open = record(school, "discipline", "2026-11-10")
    assert own_open["recorded_by_bureau"] is False
    assert withdraw(school, own_open).status_code == 204

    own_locked = record(school, "unexcused_absence", "2026-10-12")  # October has no period row
    refused = withdraw(school, own_locked)
    assert refused.status_code == 403
    assert refused.get_json()["errors"]["_request"] == [
        "该否决事项所在月份（2026-10）已锁定，现在只能由教育局撤销。"
    ]
    assert withdraw(english, own_locked).get_json()["errors"]["_request"] == [
        "The month of this veto (2026-10) is locked; only the bureau can withdraw it now."
    ]
    assert own_locked["id"] in listed()

    # The bureau opens October as a period (locked on 16 November), then grants the school's unlock.
    with building(app) as session:
        october = Period(year=2026, month=10, deadline=date(2026, 11, 5), lock_days=10)
        session.add(october)
    assert withdraw(school, own_locked).status_code == 403
    with building(app) as session:
        session.add(
            UnlockRequest(
                school_id=district.school_a.id,
                period_id=october.id,
                reason="撤销误登记的否决事项",
                state=UnlockState.GRANTED,
                unlocked_until=TODAY + timedelta(days=7),
            )
        )
    assert withdraw(school, own_locked).status_code == 204

    # ... and the bureau withdraws a school's entry of a locked month.
    locked_again = record(school, "discipline", "2026-09-30")
    assert withdraw(school, locked_again).status_code == 403
    assert withdraw(bureau, locked_again).status_code == 204
    assert listed() == set()


def test_staff_veto_input_is_checked_field_by_field(app: Any, client: Any, district: District) -> None:
    url = f"/api/v1/staff/{district.staff_a.id}/vetoes"
    h = district.headers("admin_a")
    future = client.post(url, json={"kind": "discipline", "occurred_on": "2999-01-01"}, headers=h)
    assert future.status_code == 422  # the documented answer to invalid input (OpenAPI: 422)
    assert "不能晚于今天" in future.get_json()["errors"]["occurred_on"][0]
    unknown = client.post(url, json={"kind": "late", "occurred_on": "2025-05-10"}, headers=h)
    assert unknown.status_code == 422 and "kind" in unknown.get_json()["errors"]
    missing = client.post(url, json={"kind": "discipline"}, headers=h)
    assert missing.status_code == 422 and "occurred_on" in missing.get_json()["errors"]
    assert client.get(url, headers=h).get_json() == []  # nothing half-saved
    recent = (TODAY - timedelta(days=10)).isoformat()
    note = {"kind": "accident_at_fault", "occurred_on": recent, "note": "操作不当烫伤学生"}
    assert client.post(url, json=note, headers=h).status_code == 201
    web = app.test_client()
    login(web, "admin_a")
    page = web.get(f"/schools/{district.school_a.id}").get_data(as_text=True)
    assert "个人否决事项" in page and "本人负有责任的事故" in page and "操作不当烫伤学生" in page
    assert (
        client.post(
            url,
            json={"kind": "discipline", "occurred_on": "2025-05-10"},
            headers=district.headers("official"),
        ).status_code
        == 403
    )


def test_staff_tie_at_a_quota_boundary(app: Any, district: District) -> None:
    """Equal means: the longer-serving person wins; equal means and hire dates at the boundary: neither."""
    with building(app) as session:
        term = Term.build(session, district)
        top = term.staff("A", "甲一", ["99"])
        senior = term.staff("A", "甲老", ["97"], hired=date(2015, 9, 1))
        junior = term.staff("A", "甲少", ["97"], hired=date(2021, 9, 1))
        term.many_staff("A", 17)  # 20 in A: school quota 2
        twin_1 = term.staff("B", "乙甲", ["98"], hired=date(2019, 3, 1))
        twin_2 = term.staff("B", "乙乙", ["98"], hired=date(2019, 3, 1))
        term.many_staff("B", 8)  # 10 in B: school quota 1
        term.many_staff("C", 70)  # district 100 × 5% = 5 places: the district quota does not bind
    lines = _lines(app, _propose(app))
    staff = {sid: line for (cm, _, sid), line in lines.items() if cm == "outstanding_staff"}
    assert staff[top]["qualifies"] and staff[senior]["qualifies"]
    assert _failed(staff[junior]) == {"school_quota"}
    for twin in (twin_1, twin_2):
        assert _failed(staff[twin]) == {"school_quota"}
        assert "同分且任职时间相同" in staff[twin]["reasons"]["school_quota"]["zh"]


# --- rules ------------------------------------------------------------------------------------------


def test_rules_get_and_put_with_validation_per_field(app: Any, client: Any, district: District) -> None:
    got = client.get(f"{BASE}/rules", headers=district.headers("admin_a"))
    assert got.status_code == 200
    assert got.get_json()["version"] == 0
    assert got.get_json()["settings"]["advanced_unit"]["peer_group_share_percent"] == "10"
    bad = client.put(
        f"{BASE}/rules",
        json={
            "settings": {
                "advanced_unit": {"peer_group_share_percent": "150"},
                "outstanding_staff": {"staff_per_award": 0, "min_months_in_post": -1},
                "trusted_canteen": {"veto_rules": ["no_such_rule"]},
                "safe_campus": {"min_safety_mean": "-1"},
            }
        },
        headers=district.headers("admin"),
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert set(errors) == {
        "settings.advanced_unit.peer_group_share_percent",
        "settings.outstanding_staff.staff_per_award",
        "settings.outstanding_staff.min_months_in_post",
        "settings.trusted_canteen.veto_rules.0",
        "settings.safe_campus.min_safety_mean",
    }
    body = {"settings": {"safe_campus": {"min_safety_mean": 90}}, "note": "安全标准调整"}
    assert client.put(f"{BASE}/rules", json=body, headers=district.headers("official")).status_code == 403
    assert client.put(f"{BASE}/rules", json=body, headers=district.headers("admin_a")).status_code == 403
    ok = client.put(f"{BASE}/rules", json=body, headers=district.headers("admin"))
    assert ok.status_code == 200
    assert ok.get_json()["version"] == 1
    settings = ok.get_json()["settings"]
    assert settings["safe_campus"]["min_safety_mean"] == "90"
    assert settings["advanced_unit"]["peer_group_share_percent"] == "10"  # untouched settings kept

    # The round records the version and the full settings it was computed with.
    with building(app) as session:
        term = Term.build(session, district)
        term.entry("A", "90", 1, safety="91")
    rid = _propose(app)
    round_json = client.get(f"{BASE}/rounds/{rid}", headers=district.headers("official")).get_json()
    assert round_json["rules_version"] == 1 and round_json["rules"]["safe_campus"]["min_safety_mean"] == "90"
    assert round_json["as_of"] == "2025-07-31" and round_json["snapshot_id"] == term.snapshot_id
    assert _lines(app, rid)[("safe_campus", district.school_a.id, None)]["qualifies"]


def test_propose_needs_a_term_or_year_with_a_ranking(client: Any, district: District) -> None:
    h = district.headers("admin")
    month = client.post(f"{BASE}/rounds?sync=1", json={"kind": "month", "key": "2025-03"}, headers=h)
    assert month.status_code == 422 and "kind" in month.get_json()["errors"]
    bad_key = client.post(f"{BASE}/rounds?sync=1", json={"kind": "term", "key": "2025-2027-1"}, headers=h)
    assert bad_key.status_code == 422 and "key" in bad_key.get_json()["errors"]
    none = client.post(f"{BASE}/rounds?sync=1", json={"kind": "term", "key": KEY}, headers=h)
    assert none.status_code == 409 and "key" in none.get_json()["errors"]
    for user in ("official", "inspector", "admin_a"):
        assert (
            client.post(
                f"{BASE}/rounds", json={"kind": "term", "key": KEY}, headers=district.headers(user)
            ).status_code
            == 403
        )


# --- the workflow -------------------------------------------------------------------------------------


def _workflow_term(app: Any, district: District) -> Term:
    """A qualifies for 先进单位 and 放心食堂, B for 平安校园, C for 先进单位 (its own peer group)."""
    with building(app) as session:
        term = Term.build(session, district)
        term.entry("A", "96.0", 1, canteen="97.0", safety="90.0")
        term.spot("A", Grade.A)
        term.entry("B", "93.0", 2, safety="96.0")
        term.entry("C", "91.0", 1, group="primary:no_canteen", canteen=None, safety="70.0")
    return term


def test_idempotent_repropose_keeps_decisions_that_still_qualify(
    app: Any, client: Any, district: District
) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    first = _lines(app, rid)
    a_adv = first[("advanced_unit", district.school_a.id, None)]
    a_tc = first[("trusted_canteen", district.school_a.id, None)]
    c_adv = first[("advanced_unit", district.school_c.id, None)]
    h = district.headers("admin")
    assert (
        client.post(
            f"{BASE}/candidates/{a_adv['id']}/decision", json={"decision": "approved"}, headers=h
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{BASE}/candidates/{a_tc['id']}/decision",
            json={"decision": "rejected", "comment": "待复核"},
            headers=h,
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{BASE}/candidates/{c_adv['id']}/decision", json={"decision": "approved"}, headers=h
        ).status_code
        == 200
    )

    decided = {
        ("advanced_unit", district.school_a.id, None): "approved",
        ("trusted_canteen", district.school_a.id, None): "rejected",
        ("advanced_unit", district.school_c.id, None): "approved",
    }
    # The same inputs: the same lines (same ids, reasons and positions) and the same decisions.
    assert _propose(app) == rid
    again = _lines(app, rid)
    assert again.keys() == first.keys()
    for key, line in again.items():
        assert line == first[key] | {"decision": decided.get(key, "pending")}, key

    # C no longer qualifies (a falsified-data veto): its approval is withdrawn; A's decisions stay.
    with app.app_context(), use_scope(TenantScope.bureau()):
        occurred = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
        incidents.create_incident(
            {
                "school_id": district.school_c.id,
                "type": IncidentType.OTHER,
                "severity": IncidentSeverity.MINOR,
                "occurred_at": occurred,
                "reported_at": occurred,
                "falsified_data": True,
            },
            now=occurred,
            today=occurred.date(),
            by_bureau=True,
        )
        db.session.commit()
        db.session.remove()
    rid_again = client.post(f"{BASE}/rounds?sync=1", json={"kind": "term", "key": KEY}, headers=h)
    assert rid_again.status_code == 200 and rid_again.get_json()["round"]["id"] == rid
    after = _lines(app, rid)
    assert after[("advanced_unit", district.school_a.id, None)]["decision"] == "approved"
    assert after[("trusted_canteen", district.school_a.id, None)]["decision"] == "rejected"
    c_line = after[("advanced_unit", district.school_c.id, None)]
    assert c_line["id"] == c_adv["id"] and not c_line["qualifies"] and c_line["decision"] == "pending"


def test_decisions_permissions_and_comment_rule(app: Any, client: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    lines = _lines(app, rid)
    a_adv = lines[("advanced_unit", district.school_a.id, None)]["id"]
    b_tc = lines.get(("trusted_canteen", district.school_b.id, None))
    assert b_tc is None  # B's canteen is far from 95: not a candidate
    url = f"{BASE}/candidates/{a_adv}/decision"
    body = {"decision": "approved", "comment": "同意"}
    assert client.post(url, json=body, headers=district.headers("official")).status_code == 403
    assert client.post(url, json=body, headers=district.headers("inspector")).status_code == 403
    assert client.post(url, json=body, headers=district.headers("admin_a")).status_code == 404  # under review
    # Officials and inspectors read; a school admin sees nothing before publication.
    assert (
        client.get(f"{BASE}/rounds/{rid}/candidates", headers=district.headers("official")).status_code == 200
    )
    assert client.get(f"{BASE}/rounds/{rid}", headers=district.headers("admin_a")).status_code == 404
    assert client.get(f"{BASE}/rounds", headers=district.headers("admin_a")).get_json() == []

    h = district.headers("admin")
    for comment in ("", "   "):
        resp = client.post(url, json={"decision": "rejected", "comment": comment}, headers=h)
        assert resp.status_code == 422 and "comment" in resp.get_json()["errors"]
    assert client.post(url, json={"decision": "pending"}, headers=h).status_code == 422
    rejected = client.post(url, json={"decision": "rejected", "comment": "材料不全"}, headers=h)
    assert rejected.status_code == 200
    assert rejected.get_json()["decision"] == "rejected" and rejected.get_json()["comment"] == "材料不全"
    assert rejected.get_json()["decision_label"] == "不批准"
    approved = client.post(url, json={"decision": "approved"}, headers=h)  # minds may change until published
    assert approved.status_code == 200 and approved.get_json()["decided_by_id"] == district.admin.id

    # A near miss (B: 3 points behind A, outside the top 10% of two schools) is not decided.
    miss = lines[("advanced_unit", district.school_b.id, None)]
    assert not miss["qualifies"]
    refused = client.post(f"{BASE}/candidates/{miss['id']}/decision", json=body, headers=h)
    assert refused.status_code == 409 and "decision" in refused.get_json()["errors"]

    filtered = client.get(
        f"{BASE}/rounds/{rid}/candidates?commendation=advanced_unit&decision=approved", headers=h
    ).get_json()
    assert [c["id"] for c in filtered] == [a_adv]
    qualifying = client.get(f"{BASE}/rounds/{rid}/candidates?qualifies=true", headers=h).get_json()
    assert qualifying and all(c["qualifies"] for c in qualifying)
    assert qualifying[0]["value_shown"] == "96.0" and qualifying[0]["school_name"] == "甲小学"
    assert qualifying[0]["reasons"][0]["text"]


def _pdf_text(data: bytes, tmp_path: Any) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_publish_freezes_numbers_awards_and_issues_certificates(
    app: Any, client: Any, district: District, tmp_path: Any
) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    lines = _lines(app, rid)
    h = district.headers("admin")
    publish = f"{BASE}/rounds/{rid}/publish"
    pending = client.post(publish, headers=h)
    assert pending.status_code == 409
    assert pending.get_json()["errors"] == {"candidates": ["还有 4 个符合条件的候选未审定。"]}
    ids = {k[:2]: v["id"] for k, v in lines.items() if v["qualifies"]}
    a, b, c = district.school_a.id, district.school_b.id, district.school_c.id
    decide = f"{BASE}/candidates/{{}}/decision"
    client.post(decide.format(ids[("advanced_unit", a)]), json={"decision": "approved"}, headers=h)
    client.post(decide.format(ids[("trusted_canteen", a)]), json={"decision": "approved"}, headers=h)
    client.post(decide.format(ids[("safe_campus", b)]), json={"decision": "approved"}, headers=h)
    client.post(
        decide.format(ids[("advanced_unit", c)]),
        json={"decision": "rejected", "comment": "名额另议"},
        headers=h,
    )
    assert client.post(publish, headers=district.headers("official")).status_code == 403
    unconfirmed = client.post(publish, headers=h)
    assert unconfirmed.status_code == 409 and "confirm" in unconfirmed.get_json()["errors"]
    done = _publish(client, rid, h)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["state"] == "published" and done.get_json()["published_at"]

    # Frozen: every later change answers 409.
    assert client.post(publish, headers=h).status_code == 409
    assert (
        client.post(
            decide.format(ids[("advanced_unit", c)]), json={"decision": "approved"}, headers=h
        ).status_code
        == 409
    )
    assert (
        client.post(f"{BASE}/rounds?sync=1", json={"kind": "term", "key": KEY}, headers=h).status_code == 409
    )
    assert client.post(f"{BASE}/rounds", json={"kind": "term", "key": KEY}, headers=h).status_code == 409
    with app.app_context(), use_scope(TenantScope.bureau()):
        with pytest.raises(operations.Conflict):
            operations.propose("term", KEY)
        db.session.rollback()
        db.session.remove()

    awards = client.get(f"{BASE}/rounds/{rid}/candidates?decision=approved", headers=h).get_json()
    assert sorted(c["certificate_no"] for c in awards) == [
        f"{KEY}-FXST-001",
        f"{KEY}-PAXY-001",
        f"{KEY}-XJDW-001",
    ]
    a_adv = ids[("advanced_unit", a)]
    pdf = client.get(f"{BASE}/candidates/{a_adv}/certificate.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    data = pdf.get_data()
    assert data.startswith(b"%PDF-")
    text = _pdf_text(data, tmp_path)
    assert (
        "甲小学" in text
        and "先进单位" in text
        and f"{KEY}-XJDW-001" in text
        and "2024—2025学年第二学期" in text
    )
    page = PdfReader(io.BytesIO(data)).pages[0]
    fonts = {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert any("Noto" in f and "CJK" in f for f in fonts), fonts
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    # The stored certificate never changes: a second download is the same document.
    assert client.get(f"{BASE}/candidates/{a_adv}/certificate.pdf", headers=h).get_data() == data
    rejected = ids[("advanced_unit", c)]
    assert client.get(f"{BASE}/candidates/{rejected}/certificate.pdf", headers=h).status_code == 404

    xlsx = client.get(f"{BASE}/rounds/{rid}/awards.xlsx", headers=district.headers("official"))
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.get_data())).active
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] is not None]
    assert sorted((r[2], r[3]) for r in rows) == [
        ("先进单位", "甲小学"),
        ("平安校园", "乙小学"),
        ("放心食堂", "甲小学"),
    ]
    assert all("丙小学" not in str(r) for r in rows)  # C's candidate was rejected
    assert rows[0][1] == f"{KEY}-XJDW-001"  # listed in commendation order


def test_xlsx_before_publication_is_refused(app: Any, client: Any, district: District) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    assert (
        client.get(f"{BASE}/rounds/{rid}/awards.xlsx", headers=district.headers("admin")).status_code == 409
    )


def test_school_admin_sees_only_own_awards_and_certificates(
    app: Any, client: Any, district: District
) -> None:
    _workflow_term(app, district)
    rid = _propose(app)
    h = district.headers("admin")
    lines = _lines(app, rid)
    a, b = district.school_a.id, district.school_b.id
    for line in lines.values():
        if line["qualifies"]:
            client.post(f"{BASE}/candidates/{line['id']}/decision", json={"decision": "approved"}, headers=h)
    client.post(
        f"{BASE}/candidates/{lines[('trusted_canteen', a, None)]['id']}/decision",
        json={"decision": "rejected", "comment": "复核中"},
        headers=h,
    )
    assert _publish(client, rid, h).status_code == 200

    ha = district.headers("admin_a")
    assert [r["id"] for r in client.get(f"{BASE}/rounds", headers=ha).get_json()] == [rid]
    mine = client.get(f"{BASE}/rounds/{rid}/candidates", headers=ha).get_json()
    assert [(c["school_id"], c["commendation"]) for c in mine] == [(a, "advanced_unit")]
    own = lines[("advanced_unit", a, None)]["id"]
    assert client.get(f"{BASE}/candidates/{own}/certificate.pdf", headers=ha).status_code == 200
    # B's award and A's own rejected line are not A's to see.
    b_award = lines[("safe_campus", b, None)]["id"]
    assert client.get(f"{BASE}/candidates/{b_award}", headers=ha).status_code == 404
    assert client.get(f"{BASE}/candidates/{b_award}/certificate.pdf", headers=ha).status_code == 404
    a_rejected = lines[("trusted_canteen", a, None)]["id"]
    assert client.get(f"{BASE}/candidates/{a_rejected}", headers=ha).status_code == 404
    ws = load_workbook(
        io.BytesIO(client.get(f"{BASE}/rounds/{rid}/awards.xlsx", headers=ha).get_data())
    ).active
    names = [r[3] for r in ws.iter_rows(min_row=4, values_only=True) if r[0] is not None]
    assert names == ["甲小学"]
    # The inspector of cluster 1 (A and C) sees those schools' lines only.
    seen = {
        c["school_id"]
        for c in client.get(
            f"{BASE}/rounds/{rid}/candidates", headers=district.headers("inspector")
        ).get_json()
    }
    assert seen == {a, district.school_c.id}


def test_propose_through_the_queued_task(app: Any, client: Any, district: District) -> None:
    """Without ``sync`` the request queues the job; the test app's eager Celery runs it after the commit."""
    _workflow_term(app, district)
    resp = client.post(f"{BASE}/rounds", json={"kind": "term", "key": KEY}, headers=district.headers("admin"))
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["queued"] is True and body["task"] == "tasks.commendations.propose"
    rid = body["round"]["id"]
    row = client.get(f"{BASE}/rounds/{rid}", headers=district.headers("admin")).get_json()
    assert row["computed_at"] is not None and row["state"] == "proposed"
    assert row["summary"]["advanced_unit"] == {"candidates": 3, "qualifying": 2}  # B is a near miss
    with app.app_context(), use_scope(TenantScope.bureau()):
        count = db.session.scalar(select(func.count()).select_from(CommendationCandidate))
        r = db.session.scalars(select(CommendationRound)).one()
        assert r.state is RoundState.PROPOSED and r.created_by_id == district.admin.id
        db.session.remove()
    assert count == len(_lines(app, rid)) > 0


def test_cli_propose_and_list(app: Any, district: District) -> None:
    from service.commendations.cli import commendations_cli

    _workflow_term(app, district)
    runner = app.test_cli_runner()
    result = runner.invoke(commendations_cli, ["propose", "term", KEY])
    assert result.exit_code == 0, result.output
    assert "先进单位: 2 qualifying of 3 candidates" in result.output
    listed = runner.invoke(commendations_cli, ["list", "term", KEY, "--qualifying"])
    assert listed.exit_code == 0 and "✓ 放心食堂 甲小学 [pending]" in listed.output
    missing = runner.invoke(commendations_cli, ["propose", "year", "2030-2031"])
    assert missing.exit_code == 1 and "key:" in missing.output


def _proposed_and_approved(app: Any, client: Any, district: District) -> int:
    """The workflow term proposed, every qualifying candidate approved by the bureau admin; the round id."""
    _workflow_term(app, district)
    rid = _propose(app)
    for line in _lines(app, rid).values():
        if line["qualifies"]:
            client.post(
                f"{BASE}/candidates/{line['id']}/decision",
                json={"decision": "approved"},
                headers=district.headers("admin"),
            )
    return rid


def test_certificates_stored_per_award_in_the_school_scope(app: Any, client: Any, district: District) -> None:
    """Certificates are school-owned rows: in a school's scope only its own are there at all."""
    rid = _proposed_and_approved(app, client, district)
    h = district.headers("admin")
    assert _publish(client, rid, h).status_code == 200
    with app.app_context():
        with use_scope(TenantScope.bureau()):
            assert db.session.scalar(select(func.count()).select_from(CommendationCertificate)) == 4
        with use_scope(TenantScope.school(district.school_b.id)):
            certs = db.session.scalars(select(CommendationCertificate)).all()
            assert [c.certificate_no for c in certs] == [f"{KEY}-PAXY-001"]
            assert certs[0].pdf.startswith(b"%PDF-") and len(certs[0].sha256) == 64
        db.session.remove()


def test_queued_proposal_blocks_publication_until_the_job_has_run(
    app: Any, client: Any, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a real broker the job runs later: until then the round is not computed and cannot be
    published; the job (run here as the worker would, twice as on a redelivery) fills it in."""
    from service.core import outbox

    _workflow_term(app, district)
    h = district.headers("admin")
    rid = client.post(f"{BASE}/rounds?sync=1", json={"kind": "term", "key": KEY}, headers=h).get_json()[
        "round"
    ]["id"]
    before = _lines(app, rid)
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "dispatch", lambda name, kwargs: sent.append((name, kwargs)))
    queued = client.post(f"{BASE}/rounds", json={"kind": "term", "key": KEY}, headers=h)
    assert queued.status_code == 202 and queued.get_json()["round"]["computed_at"] is None
    assert sent == [
        (
            "tasks.commendations.propose",
            {
                "scope": TenantScope.bureau().to_json(),
                "kind": "term",
                "key": KEY,
                "user_id": district.admin.id,
            },
        )
    ]
    refused = client.post(f"{BASE}/rounds/{rid}/publish", headers=h)
    assert refused.status_code == 409 and "round" in refused.get_json()["errors"]

    task = app.extensions["celery"].tasks["tasks.commendations.propose"]
    for _ in range(2):
        result = task.apply(kwargs=sent[0][1]).get()
        assert result["round_id"] == rid
    assert client.get(f"{BASE}/rounds/{rid}", headers=h).get_json()["computed_at"] is not None
    assert _lines(app, rid) == before


def test_certificates_are_issued_by_a_job_after_publication(
    app: Any, client: Any, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a real broker the certificates come later: the published round counts them, a download
    before the job has run answers 409 (not 404), and the job - run twice, as on a redelivery - issues
    each certificate once, dated the day of publication."""
    from service.core import outbox

    rid = _proposed_and_approved(app, client, district)
    h = district.headers("admin")
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "dispatch", lambda name, kwargs: sent.append((name, kwargs)))
    published = _publish(client, rid, h).get_json()
    assert sent == [
        ("tasks.commendations.issue_certificates", {"scope": TenantScope.bureau().to_json(), "round_id": rid})
    ]
    assert published["certificates"] == {"issued": 0, "awards": 4}
    award = next(
        c for c in client.get(f"{BASE}/rounds/{rid}/candidates", headers=h).get_json() if c["certificate_no"]
    )
    early = client.get(f"{BASE}/candidates/{award['id']}/certificate.pdf", headers=h)
    assert early.status_code == 409
    assert early.get_json()["errors"] == {"certificate": ["荣誉证书正在生成，请稍后再试。"]}
    web = app.test_client()
    login(web, "admin")
    assert "已生成 0 / 4 份" in web.get(f"/commendations/{rid}").get_data(as_text=True)

    task = app.extensions["celery"].tasks["tasks.commendations.issue_certificates"]
    first = task.apply(kwargs=sent[0][1]).get()
    again = task.apply(kwargs=sent[0][1]).get()
    assert (first["issued"], first["certificates"], first["awards"]) == (4, 4, 4)
    assert (again["issued"], again["certificates"]) == (0, 4)
    assert client.get(f"{BASE}/rounds/{rid}", headers=h).get_json()["certificates"] == {
        "issued": 4,
        "awards": 4,
    }
    pdf = client.get(f"{BASE}/candidates/{award['id']}/certificate.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "4 份已全部生成" in web.get(f"/commendations/{rid}").get_data(as_text=True)


# --- the web pages ----------------------------------------------------------------------------------


def test_pages_propose_decide_and_publish(app: Any, district: District) -> None:
    from tests.conftest import login

    _workflow_term(app, district)
    web = app.test_client()
    login(web, "admin")
    assert 'href="/commendations">表彰</a>' in web.get("/").get_data(as_text=True)  # in the menu
    proposed = web.post("/commendations/propose", data={"kind": "term", "key": KEY})
    assert proposed.status_code == 303
    rid = int(proposed.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    page = web.get(f"/commendations/{rid}").get_data(as_text=True)
    assert "2024—2025学年第二学期" in page and "甲小学" in page and "放心食堂" in page
    assert "乙小学" in page  # B's 平安校园
    assert "还有 4 个符合条件的候选未审定。" in page
    lines = _lines(app, rid)
    b_near = lines[("advanced_unit", district.school_b.id, None)]["id"]
    assert f'id="c{b_near}"' not in page  # near misses only on request
    assert f'id="c{b_near}"' in web.get(f"/commendations/{rid}?all=1").get_data(as_text=True)

    blank = web.post(
        f"/commendations/candidates/{lines[('advanced_unit', district.school_c.id, None)]['id']}/decision",
        data={"decision": "rejected", "comment": ""},
        follow_redirects=True,
    )
    assert "不批准候选时请填写理由。" in blank.get_data(as_text=True)
    for line in lines.values():
        if line["qualifies"]:
            web.post(f"/commendations/candidates/{line['id']}/decision", data={"decision": "approved"})
    confirm = web.get(f"/commendations/{rid}/publish").get_data(as_text=True)
    assert "公布后不能撤销。" in confirm and "甲小学" in confirm
    digest = confirm.split('name="confirm" value="', 1)[1].split('"', 1)[0]
    published = web.post(f"/commendations/{rid}/publish", data={"confirm": digest}, follow_redirects=True)
    text = published.get_data(as_text=True)
    assert "已公布" in text and f"{KEY}-XJDW-001" in text
    assert web.post(f"/commendations/{rid}/publish", follow_redirects=True).status_code == 200
    assert "该表彰名单已公布，不能再更改。" in web.post(
        f"/commendations/{rid}/publish", follow_redirects=True
    ).get_data(as_text=True)
    xlsx = web.get(f"{BASE}/rounds/{rid}/awards.xlsx")  # the page's download link, with the web session
    assert xlsx.status_code == 200

    school = app.test_client()
    login(school, "admin_a")
    mine = school.get(f"/commendations/{rid}").get_data(as_text=True)
    assert "甲小学" in mine and "乙小学" not in mine and "丙小学" not in mine
    assert school.post("/commendations/propose", data={"kind": "term", "key": KEY}).status_code == 403
    assert school.post(f"/commendations/{rid}/publish").status_code == 403


def test_pages_hide_a_round_under_review_from_schools(app: Any, district: District) -> None:
    from tests.conftest import login

    _workflow_term(app, district)
    rid = _propose(app)
    school = app.test_client()
    login(school, "admin_a")
    assert school.get(f"/commendations/{rid}").status_code == 404
    assert "2024—2025" not in school.get("/commendations").get_data(as_text=True)
    official = app.test_client()
    login(official, "official")
    page = official.get(f"/commendations/{rid}").get_data(as_text=True)
    assert "甲小学" in page and 'data-testid="publish"' not in page  # officials read, do not decide
