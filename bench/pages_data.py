"""The district the page timings (:mod:`bench.pages`) run on: a generated year, made to look lived-in.

:mod:`bench.generate` loads the raw year (schools, staff, reports, inspections, evaluations, hazards)
with COPY. A bureau's pages also show what the product itself derives or what people add later, so
:func:`prepare` does that through the product's own operations, in the bureau scope, as the nightly
jobs and the users would:

* the certificate warnings (the nightly ``recompute_certificate_warnings``);
* a few incidents (some at fault, so the vetoes board and the rankings' veto marks have rows), before
  the rankings, as they would have been recorded during the year;
* every month scored and ranked, oldest first, each inside a job run (``track``, as the Celery task
  does) - so the month, term and year rankings, the cockpit's trend and the jobs page have data;
* the commendations of every term and year that has ended on the clock's today, proposed;
* the three logins the timings use (a bureau official, a bureau admin - the generator's - and one
  school's admin) plus an inspector, a few pending unlock requests, appeals against the newest
  spot inspections that may still be appealed, and the usual notice schedules (none run).

:func:`page_ids` then picks the real ids and keys the page URLs are filled with (all of one school,
the school admin's, so every role opens the same rows).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bench.generate import ADMIN_PASSWORD, ADMIN_USERNAME

OFFICIAL = "bench_official"
SCHOOL_ADMIN = "bench_school"
INSPECTOR = "bench_inspector"
PASSWORD = ADMIN_PASSWORD
LOGINS = {"official": OFFICIAL, "admin": ADMIN_USERNAME, "school": SCHOOL_ADMIN, "inspector": INSPECTOR}
PREPARED_MARK = OFFICIAL  # the last login prepare() creates: its presence means the data is complete
INCIDENT_SCHOOLS = 12
UNLOCK_REQUESTS = 6
APPEALS = 6


def _say(text: str) -> None:
    print(text, flush=True)


def bureau_context(app: Any) -> Any:
    """A job's context: its own unit of work, the app context and the bureau scope (bench.run)."""
    from bench.run import job_context

    return job_context(app)


def is_prepared(app: Any) -> bool:
    from service.accounts.models import User

    with bureau_context(app) as session:
        return session.scalar(select(User.id).where(User.username == PREPARED_MARK)) is not None


def the_school(session: Any) -> Any:
    """The school admin's school: the first with a canteen, a spot inspection and an accepted report in
    the newest month (so its pages show every block: scores, spot results, facts, evaluations), one
    whose spot inspection may still be appealed if there is such a school (so it has an appeal too).
    Before :func:`_logins`; afterwards the school is the admin's (:func:`admin_school`)."""
    from service.appeals.operations import appealable_inspections
    from service.core.timeutil import today_shanghai
    from service.inspections.models import Inspection, InspectionMode
    from service.org.models import School
    from service.reports.models import MonthlyReport, ReportState

    newest = _newest_period(session)
    spot = select(Inspection.school_id).where(
        Inspection.period_id == newest.id, Inspection.mode == InspectionMode.SPOT
    )
    accepted = select(MonthlyReport.school_id).where(
        MonthlyReport.period_id == newest.id, MonthlyReport.state == ReportState.ACCEPTED
    )
    schools = list(
        session.scalars(
            select(School)
            .where(School.canteen_mode != "none", School.id.in_(spot), School.id.in_(accepted))
            .order_by(School.id)
        )
    )
    appealable = {i.school_id for i, _due in appealable_inspections(today=today_shanghai())}
    return next((s for s in schools if s.id in appealable), schools[0])


def admin_school(session: Any) -> Any:
    from service.accounts.models import User
    from service.org.models import School

    school_id = session.scalar(select(User.school_id).where(User.username == SCHOOL_ADMIN))
    return session.get(School, school_id)


def _newest_period(session: Any) -> Any:
    from service.periods.models import Period

    return session.scalars(select(Period).order_by(Period.year.desc(), Period.month.desc())).first()


def prepare(app: Any) -> None:
    """Everything a lived-in district has beyond the generated rows (see the module docstring)."""
    from service.audit.trail import Actor, acting_as

    with bureau_context(app) as session:
        school_id = the_school(session).id
    with acting_as(Actor(None, "bench")):
        _warnings(app)
        _incidents(app, school_id)
        _rank(app)
        _commendations(app)
        _unlock_requests(app)
        _appeals(app, school_id)
        _schedules(app)
        _logins(app, school_id)


def _warnings(app: Any) -> None:
    from service.staff.operations import recompute_certificate_warnings

    with bureau_context(app) as session:
        counts = recompute_certificate_warnings()
        session.commit()
    _say(f"certificate warnings: {counts}")


def _incidents(app: Any, school_id: int) -> None:
    """A dozen incidents over the year; every fourth a serious food poisoning the school is at fault
    for (a veto of the school's commendations), the others minor injuries."""
    from service.core.timeutil import SHANGHAI, now_shanghai, today_shanghai
    from service.incidents.models import IncidentSeverity, IncidentType
    from service.incidents.operations import create_incident
    from service.org.models import School
    from service.periods.models import Period

    with bureau_context(app) as session:
        others = select(School.id).where(School.id != school_id).order_by(School.id)
        ids = [school_id, *session.scalars(others)]
        periods = list(session.scalars(select(Period).order_by(Period.year, Period.month)))
        for n, incident_school in enumerate(ids[: INCIDENT_SCHOOLS * 23 : 23]):
            period = periods[n % len(periods)]
            at = datetime(period.year, period.month, 10, 11, 30, tzinfo=SHANGHAI).astimezone(UTC)
            serious = n % 4 == 3
            create_incident(
                {
                    "school_id": incident_school,
                    "type": IncidentType.FOOD_POISONING if serious else IncidentType.INJURY,
                    "severity": IncidentSeverity.SERIOUS if serious else IncidentSeverity.MINOR,
                    "school_at_fault": serious,
                    "occurred_at": at,
                    "reported_at": at + timedelta(hours=2),
                    "description": "基准测试事件：学生午餐后不适" if serious else "基准测试事件：体育课扭伤",
                },
                now=now_shanghai(),
                today=today_shanghai(),
                by_bureau=True,
            )
        session.commit()
    _say(f"incidents: {INCIDENT_SCHOOLS}")


def _rank(app: Any) -> None:
    """Every month scored and ranked (oldest first: a ranking's movement needs the previous one), each
    in a job run as the Celery task records it."""
    import time

    from service.jobs.operations import track
    from service.periods.models import Period
    from service.rankings.jobs import recompute_period

    with bureau_context(app) as session:
        periods = [
            (p.id, p.code) for p in session.scalars(select(Period).order_by(Period.year, Period.month))
        ]
    for period_id, code in periods:
        started = time.perf_counter()
        with bureau_context(app) as session:
            key = f"bench-pages-{code}-{datetime.now(UTC):%Y%m%d%H%M%S}"
            with track(key, "recompute_period", {"period_id": period_id}) as progress:
                progress.result = recompute_period(period_id, progress=progress, job_run_id=progress.run_id)
            session.commit()
        _say(f"ranked {code}: {time.perf_counter() - started:.2f} s")


def _commendations(app: Any) -> None:
    from service.commendations import operations as commendations
    from service.core.timeutil import today_shanghai

    with bureau_context(app) as session:
        targets = commendations.ended_targets(today_shanghai())
    for target in targets:
        with bureau_context(app) as session:
            row = commendations.propose(target.kind.value, target.key)
            session.commit()
            _say(f"commendations proposed: {target.kind.value} {target.key} -> {row.summary}")


def _unlock_requests(app: Any) -> None:
    """Pending requests to unlock the oldest locked month, from a few schools (the board's rows)."""
    from service.core.timeutil import today_shanghai
    from service.org.models import School
    from service.periods.models import Period
    from service.periods.operations import request_unlock

    today = today_shanghai()
    with bureau_context(app) as session:
        locked = [
            p
            for p in session.scalars(select(Period).order_by(Period.year, Period.month))
            if p.is_locked(today)
        ]
        if not locked:
            _say("unlock requests: no locked month")
            return
        school_ids = list(
            session.scalars(select(School.id).order_by(School.id.desc()).limit(UNLOCK_REQUESTS))
        )
        for school_id in school_ids:
            request_unlock(locked[-1], "基准测试：补交检查记录", school_id=school_id, today=today)
        session.commit()
    _say(f"unlock requests: {len(school_ids)} for {locked[-1].code}")


def _appeals(app: Any, school_id: int) -> None:
    """Appeals against the newest spot inspections still within their filing window (the school
    admin's school first, when it has one)."""
    from service.appeals.operations import appealable_inspections, file_appeal
    from service.core.timeutil import now_shanghai, today_shanghai

    today = today_shanghai()
    with bureau_context(app) as session:
        candidates = [i for i, _due in appealable_inspections(today=today)]
        candidates.sort(key=lambda i: (i.school_id != school_id, -i.id))
        filed = 0
        seen: set[int] = set()
        for inspection in candidates:
            if inspection.school_id in seen:
                continue
            seen.add(inspection.school_id)
            file_appeal(inspection, "基准测试：扣分项与现场情况不符", today=today, now=now_shanghai())
            filed += 1
            if filed >= APPEALS:
                break
        session.commit()
    _say(f"appeals: {filed}")


def _schedules(app: Any) -> None:
    """The usual notice schedules (the demo's); none is run here - delivering a month's report cards
    is bench/mail.py's subject."""
    from service.notices.demo import seed_schedules

    with bureau_context(app) as session:
        seed_schedules()
        session.commit()
    _say("notice schedules: the usual ones")


def _logins(app: Any, school_id: int) -> None:
    from service.accounts.models import Role
    from service.accounts.operations import create_user
    from service.org.models import School

    with bureau_context(app) as session:
        school = session.get(School, school_id)
        create_user(
            username=SCHOOL_ADMIN, display_name="基准学校管理员", role=Role.SCHOOL_ADMIN,
            password=PASSWORD, school_id=school.id,
        )  # fmt: skip
        create_user(
            username=INSPECTOR, display_name="基准督查员", role=Role.INSPECTOR, password=PASSWORD,
            cluster_ids=[school.cluster_id],
        )  # fmt: skip
        create_user(
            username=OFFICIAL, display_name="基准局领导", role=Role.BUREAU_OFFICIAL, password=PASSWORD
        )
        session.commit()
    _say(f"logins: {', '.join(LOGINS.values())} (password {PASSWORD}); school {school.code} (id {school.id})")


# --- the ids the page URLs are filled with --------------------------------------------------------------


def _first(session: Any, stmt: Any) -> Any:
    return session.scalars(stmt.limit(1)).first()


def page_ids(app: Any) -> dict[str, Any]:
    """URL parameter name -> a real value (every school-owned one of the school admin's school); a name
    the data has no row for is absent, and its pages are reported as skipped."""
    from service.accounts.models import User
    from service.appeals.models import InspectionAppeal
    from service.commendations.models import CommendationRound
    from service.hazards.models import Hazard
    from service.incidents.models import Incident
    from service.inspections.models import Inspection, InspectionMode
    from service.jobs.models import JobRun
    from service.notices.models import NoticeDelivery, NoticeRun, NoticeSchedule
    from service.rankings.models import RankingKind, RankingSnapshot
    from service.reports.models import MonthlyReport
    from service.rubrics.models import RubricItem, RubricSection, RubricVersion, VersionStatus
    from service.scoring.models import SchoolMonthScore
    from service.staff.models import StaffMember

    with bureau_context(app) as session:
        school = admin_school(session)
        newest = _newest_period(session)
        sid = school.id
        scored = _first(
            session,
            select(SchoolMonthScore.period_id)
            .where(SchoolMonthScore.school_id == sid, SchoolMonthScore.composite.is_not(None))
            .order_by(SchoolMonthScore.period_id.desc()),
        )
        from service.periods.models import Period

        scored_code = session.get(Period, scored).code if scored else newest.code
        keys = {
            kind: _first(
                session,
                select(RankingSnapshot.key)
                .where(RankingSnapshot.kind == kind)
                .order_by(RankingSnapshot.key.desc()),
            )
            for kind in RankingKind
        }
        version = _first(
            session,
            select(RubricVersion)
            .where(RubricVersion.status == VersionStatus.PUBLISHED)
            .order_by(RubricVersion.id),
        )
        ids: dict[str, Any] = {
            "school_id": sid,
            "cluster_id": school.cluster_id,
            "period_id": newest.id,
            "period": scored_code,
            "period_code": scored_code,
            "report_id": _first(
                session,
                select(MonthlyReport.id).where(
                    MonthlyReport.school_id == sid, MonthlyReport.period_id == newest.id
                ),
            ),
            "inspection_id": _first(
                session,
                select(Inspection.id)
                .where(Inspection.school_id == sid)
                .order_by((Inspection.mode == InspectionMode.SPOT).desc(), Inspection.inspected_on.desc()),
            ),
            "hazard_id": _first(
                session, select(Hazard.id).where(Hazard.school_id == sid).order_by(Hazard.id.desc())
            ),
            "incident_id": _first(session, select(Incident.id).where(Incident.school_id == sid)),
            "appeal_id": _first(
                session, select(InspectionAppeal.id).where(InspectionAppeal.school_id == sid)
            ),
            "round_id": _first(
                session,
                select(CommendationRound.id).order_by(
                    CommendationRound.key.desc(), CommendationRound.kind.desc()
                ),
            ),
            "job_id": _first(session, select(JobRun.id).order_by(JobRun.id.desc())),
            "run_id": _first(session, select(NoticeRun.id).order_by(NoticeRun.id.desc())),
            "schedule_id": _first(session, select(NoticeSchedule.id)),
            "delivery_id": _first(session, select(NoticeDelivery.id)),
            "version_id": version.id if version else None,
            "rubric_id": version.rubric_id if version else None,
            "item_id": _first(
                session,
                select(RubricItem.id)
                .join(RubricSection)
                .where(RubricSection.version_id == version.id)
                .order_by(RubricItem.id),
            )
            if version
            else None,
            "user_id": _first(session, select(User.id).where(User.username == SCHOOL_ADMIN)),
            "staff_id": _first(
                session,
                select(StaffMember.id).where(StaffMember.school_id == sid, StaffMember.active.is_(True)),
            ),
            "month_key": keys[RankingKind.MONTH],
            "term_key": keys[RankingKind.TERM],
            "year_key": keys[RankingKind.YEAR],
            "counts": {
                "schools": session.scalar(select(func.count()).select_from(type(school))),
                "periods": session.scalar(select(func.count()).select_from(Period)),
            },
        }
    return {k: v for k, v in ids.items() if v is not None}
