"""What the demo promises (README: logins per role, a year of monthly data with late and missing
months, overdue hazards, one food incident, one school whose self-inspections run far above its spot
inspections, rankings and commendation candidates), checked through the API and the pages as the
bureau admin sees them. Shared by the test of `houqin demo` and the test of the demo on many days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

DEMO_SCHOOLS = 30
LATE_STORY = {"S004": 3, "S011": 2, "S021": 2, "S027": 1}  # school → late months (S027: the last one)


def months(first: str, last: str) -> list[str]:
    """Reporting months from ``first`` to ``last`` (YYYY-MM), August left out."""
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        if m != 8:
            out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass(frozen=True)
class Expected:
    """Hand count for one day: the year's months and the month in progress."""

    today: date
    year: list[str]
    in_progress: str | None
    all_submitted: bool = False  # on or after the 6th: every on-time report of the month is in
    all_accepted: bool = False  # on or after the 9th: reviewed (at most three days after the 5th)


def visible_schools(client: Any, username: str) -> int:
    client.post("/logout")
    resp = client.post("/login", data={"username": username, "password": "houqin-demo"})
    assert resp.status_code == 302, username
    return int(client.get("/api/v1/schools?per_page=1").headers["X-Total-Count"])


def check_opens_on(client: Any, month: str) -> None:
    """The dashboard's ranking box and the rankings page (no month chosen) show ``month``."""
    visible_schools(client, "admin")
    dashboard = client.get("/").get_data(as_text=True)
    assert f"key={month}" in dashboard, month
    page = client.get("/rankings").get_data(as_text=True)
    assert f'<option value="{month}" selected>' in page
    assert '<td class="text-end">1</td>' in page  # somebody is ranked first


def check_rankings_and_candidates(year_months: list[str]) -> None:
    """The engine ran over the demo year: real rankings, spread across the bands, and candidates of
    the newest ended term or year (never one still running) that leave out S024."""
    from sqlalchemy import select

    from service.commendations.models import CommendationCandidate, CommendationRound
    from service.commendations.operations import ends_on, judging_day
    from service.core.timeutil import today_shanghai
    from service.db import db
    from service.demo.runner import demo_round_target
    from service.incidents.models import Incident
    from service.incidents.vetoes import incident_date
    from service.org.models import School
    from service.periods.models import Period
    from service.rankings.listing import latest_snapshot
    from service.rankings.models import EntryStatus, RankingKind
    from service.rankings.operations import current_snapshot, entries_of
    from service.staff.models import StaffVeto, StaffVetoKind
    from tenants import TenantScope, use_scope

    with use_scope(TenantScope.bureau()):
        codes = {s.id: s.code for s in db.session.scalars(select(School))}
        today = today_shanghai()
        target = demo_round_target()
        assert target is not None and ends_on(target) <= today  # ended: its last month is locked
        rounds = db.session.scalars(select(CommendationRound)).all()
        assert [(r.kind.value, r.key) for r in rounds] == [(target.kind.value, target.key)]
        snapshot = current_snapshot(target.kind, target.key)
        assert snapshot is not None and len(snapshot.payload_hash) == 64
        entries = entries_of(snapshot)
        schools = len(codes)
        # ranked: all but S010 and S029 (a missing month each) at most - and the period may be short
        assert schools - 2 <= sum(e.status is EntryStatus.RANKED for e in entries) <= schools
        by_code = {codes[e.school_id]: e for e in entries}
        incident = db.session.scalars(select(Incident)).one()
        # S024's food poisoning bars it when it happened before the judging day (12 months' veto)
        barred_then = incident_date(incident) <= judging_day(target, today)
        if barred_then:
            assert by_code["S024"].vetoed and "advanced_unit" in by_code["S024"].veto_blocks
        leaders = {
            codes[e.school_id]
            for e in entries
            if e.rank_peer == 1 and not e.vetoed and e.months_counted == e.months_expected
        }
        qualifying = db.session.scalars(
            select(CommendationCandidate).where(CommendationCandidate.qualifies.is_(True))
        ).all()
        advanced = {codes[c.school_id] for c in qualifying if c.commendation.value == "advanced_unit"}
        assert leaders and leaders <= advanced  # every clean peer-group leader is proposed
        barred = {"advanced_unit", "trusted_canteen"}
        if barred_then:
            assert not [
                c for c in qualifying if codes[c.school_id] == "S024" and c.commendation.value in barred
            ]
        # The cook on duty that day carries a personal veto (test_commendations pins what it bars).
        cooks = db.session.scalars(
            select(StaffVeto).where(StaffVeto.kind == StaffVetoKind.ACCIDENT_AT_FAULT)
        ).all()
        assert [(codes[v.school_id], v.occurred_on) for v in cooks] == [("S024", incident_date(incident))]
        # every month played has a ranking; each month of the year ranks somebody first
        for period in db.session.scalars(select(Period)):
            month = current_snapshot(RankingKind.MONTH, period.code)
            assert month is not None, period.code
            if period.code in year_months:
                assert any(e.rank_overall == 1 for e in entries_of(month)), period.code
        # The bands tell an official something: the round's period, the newest school year and the
        # newest month with accepted reports (the one the pages open on) each grade somebody B, C and D.
        newest_year = latest_snapshot(RankingKind.YEAR)
        newest_month = latest_snapshot(RankingKind.MONTH)
        assert newest_year is not None and newest_month is not None
        for snap in (snapshot, newest_year, newest_month):
            check_band_spread(snap, codes)


def check_band_spread(snapshot: Any, codes: dict[int, str]) -> None:
    """At least one school graded B, one C and one D in ``snapshot`` (service/demo/year.py: WEAK_SCHOOLS),
    the weak schools each in the band they are meant for, and most schools still A."""
    from service.demo.year import WEAK_SCHOOLS
    from service.rankings.operations import entries_of

    bands: dict[str, set[str]] = {}
    for entry in entries_of(snapshot):
        if entry.band is not None:
            bands.setdefault(entry.band.value, set()).add(codes[entry.school_id])
    where = f"{snapshot.kind.value} {snapshot.key}: {bands}"
    assert bands.get("B") and bands.get("C") and bands.get("D"), where
    graded = {code for members in bands.values() for code in members}
    for code, weakness in WEAK_SCHOOLS.items():
        if code in graded:
            assert code in bands[weakness.band], where
    assert len(bands["A"]) > len(graded) // 2, where


def all_rows(client: Any, url: str) -> list[dict[str, Any]]:
    """Every row of a paginated list endpoint."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        sep = "&" if "?" in url else "?"
        resp = client.get(f"{url}{sep}per_page=500&page={page}")
        assert resp.status_code == 200, (url, resp.get_json())
        rows += resp.get_json()
        if len(rows) >= int(resp.headers["X-Total-Count"]):
            return rows
        page += 1


def check_year(client: Any, expected: Expected, *, schools: int) -> dict[str, int]:
    """The stories of the demo year, as the bureau admin sees them through the API."""
    today = expected.today
    periods = client.get("/api/v1/periods").get_json()  # newest first
    played = [*expected.year, *([expected.in_progress] if expected.in_progress else [])]
    current = [] if today.month == 8 else [f"{today.year:04d}-{today.month:02d}"]  # open, empty
    assert [p["code"] for p in reversed(periods)] == played + current
    by_code = {p["code"]: p for p in periods}
    assert all(date.fromisoformat(by_code[m]["locks_on"]) <= today for m in expected.year)
    if expected.in_progress:
        assert date.fromisoformat(by_code[expected.in_progress]["locks_on"]) > today
    for month in current:  # the month being filled in now: nothing entered by anybody yet
        rows = client.get(f"/api/v1/completeness?period_id={by_code[month]['id']}").get_json()
        assert len(rows) == schools and all(r["status"] not in ("on_time", "late") for r in rows), rows
    ids = {s["code"]: s["id"] for s in all_rows(client, "/api/v1/schools")}

    # completeness of the year: the late and missing stories exactly, everything else on time
    statuses: dict[str, list[tuple[str, str]]] = {}
    for month in expected.year:
        for row in client.get(f"/api/v1/completeness?period_id={by_code[month]['id']}").get_json():
            statuses.setdefault(row["status"], []).append((row["code"], month))
    late = statuses.get("late", [])
    assert {code: sum(1 for c, _ in late if c == code) for code in LATE_STORY} == LATE_STORY
    assert len(late) == sum(LATE_STORY.values())
    assert ("S027", expected.year[-1]) in late
    middle = expected.year[len(expected.year) // 2]
    assert sorted(statuses["missing"]) == [("S010", middle), ("S029", expected.year[-1])]
    assert len(statuses["on_time"]) == schools * 11 - len(late) - 2
    assert set(statuses) == {"on_time", "late", "missing"}

    # the food incident in the seventh month, school at fault, and its veto
    incidents = all_rows(client, "/api/v1/incidents")
    assert [(i["school_id"], i["type"], i["school_at_fault"]) for i in incidents] == [
        (ids["S024"], "food_poisoning", True)
    ]
    assert incidents[0]["occurred_at"][:7] == expected.year[6]
    vetoes = all_rows(client, "/api/v1/vetoes")
    incident_vetoes = [v for v in vetoes if v["source"] == "incident" and v["school_id"] == ids["S024"]]
    assert incident_vetoes and any("food_poisoning" in v["rule"] for v in incident_vetoes)

    # hazards: the credibility school's two last notices are open and overdue today; others closed
    overdue = all_rows(client, "/api/v1/hazards?overdue=true")
    assert sum(1 for h in overdue if h["school_id"] == ids["S014"]) >= 2
    assert any(h["state"] == "closed" for h in all_rows(client, "/api/v1/hazards"))

    # the credibility school: self-inspections far above the inspector's
    def mean_score(mode: str) -> float:
        rows = all_rows(client, f"/api/v1/inspections?school_id={ids['S014']}&mode={mode}&kind=canteen")
        assert rows
        return sum(float(r["score"]) for r in rows) / len(rows)

    assert mean_score("self") >= 95 and mean_score("spot") <= 75

    # every accepted report has an evaluation for everybody on the roster of its month
    accepted = all_rows(client, "/api/v1/reports?state=accepted")
    for report in accepted[:: max(1, len(accepted) // 40)]:
        assert client.get(f"/api/v1/reports/{report['id']}/missing-evaluations").get_json() == []
    counts = {"accepted": len(accepted), "in_progress_submitted": 0}
    if expected.in_progress:
        rows = client.get(f"/api/v1/completeness?period_id={by_code[expected.in_progress]['id']}").get_json()
        assert len(rows) == schools
        counts["in_progress_submitted"] = sum(1 for r in rows if r["status"] in ("on_time", "late"))
        assert not [r for r in rows if r["status"] == "late"]  # the month in progress carries no story
    return counts
