"""Builds the embedded demo: a fresh SQLite file, migrated, seeded, with its first jobs run eagerly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from service.core.outbox import enqueue_task
from service.core.timeutil import today_shanghai
from service.db import db
from service.org.models import School
from service.staff.operations import RECOMPUTE_TASK
from tenants import TenantScope, use_scope

if TYPE_CHECKING:
    from service.demo.seed import DemoLogins
    from service.demo.year import YearSummary
    from service.rankings.calendar import RankingTarget


def embedded_config(path: Path) -> dict[str, object]:
    return {
        "DATABASE_URL": f"sqlite:///{path}",
        "MIGRATION_DATABASE_URL": f"sqlite:///{path}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": None,
        "CELERY_ALWAYS_EAGER": True,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@dataclass
class BuiltDemo:
    """What :func:`build_demo` made: the app to serve, what to print, and what was seeded."""

    app: Flask
    text: str  # the logins and the year's summary, for the command line
    today: date
    logins: DemoLogins
    year: YearSummary


def build_demo(
    path: Path, *, today: date | None = None, compact: bool = False, mail: bool = True
) -> BuiltDemo:
    """Recreate the demo database at ``path`` as of ``today`` (default: the application clock's today).

    ``compact`` seeds the compact district (service/demo/seed.py: same stories, fewer schools and staff).
    ``mail`` issues the bulletins of the months before (service/demo/bulletins.py) and puts the newest
    month's bulletin and report cards in the outbox (a report card's PDF takes
    about half a second: the tests that build the demo on many days leave it out on most of them).
    """
    from service import create_app, migrate
    from service.demo.bulletins import issue_past_bulletins
    from service.demo.seed import format_logins, seed_demo_district
    from service.demo.year import format_year_summary, seed_demo_year
    from service.notices.demo import send_demo_notices

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrate.upgrade(f"sqlite:///{path}")
    app = create_app(embedded_config(path))
    # The year is seeded first and ranked once at the end, not re-ranked after each of its 300+
    # acceptances; the served demo re-ranks on every acceptance like production.
    app.config["RANKINGS_ON_EVENTS"] = False
    today = today or today_shanghai()
    with app.app_context(), use_scope(TenantScope.bureau()):
        logins = seed_demo_district(db.session(), today=today, compact=compact)
        # Then a year of monthly data, entered through the same operations the API calls.
        year = seed_demo_year(db.session(), today=today)
        # The example job runs through Celery (eagerly here) once the seed is committed.
        enqueue_task(RECOMPUTE_TASK, scope=TenantScope.bureau())
        db.session.commit()
        ranked = rank_demo_year()
        db.session.commit()
        if mail:
            issue_past_bulletins(today)
            db.session.commit()
        mailed = send_demo_notices() if mail else "  发件箱 Outbox: — (not sent)"
    app.config["RANKINGS_ON_EVENTS"] = True
    text = format_logins(logins) + "\n\n" + format_year_summary(year) + "\n" + ranked + "\n" + mailed
    return BuiltDemo(app, text, today, logins, year)


def rank_demo_year() -> str:
    """Run the ranking engine over every demo period, oldest first (movement needs the previous one)."""
    from sqlalchemy import select

    from service.periods.models import Period
    from service.rankings.jobs import recompute_period
    from service.rankings.listing import latest_snapshot
    from service.rankings.models import RankingKind
    from service.rankings.operations import entries_of

    periods = list(db.session.scalars(select(Period).order_by(Period.year, Period.month)))
    for period in periods:
        recompute_period(period.id)
    lines = [f"  排名 Rankings: {len(periods)} 个月度、学期、学年排名已计算 / months, terms and years ranked"]
    latest = latest_snapshot(RankingKind.MONTH)  # the newest month with accepted reports
    top = [e for e in entries_of(latest) if e.rank_overall == 1] if latest is not None else []
    if latest is not None and top:
        school = db.session.get(School, top[0].school_id)
        lines.append(f"  {latest.key} 第一名 top school: {school.code} {school.name}（{top[0].score}）")
    lines.append(propose_demo_commendations())
    return "\n".join(lines)


def demo_round_target() -> RankingTarget | None:
    """The term or school year the demo commends: the newest one that has ended on the clock's today
    (its last month locked - service/commendations/operations.py: ends_on), a school year before the
    term that ends with it. The demo's data spans the eleven reporting months before today, so one
    has always ended within it; which one moves with the calendar."""
    from service.commendations.operations import ended_targets

    ended = ended_targets(today_shanghai())
    return ended[0] if ended else None


def propose_demo_commendations() -> str:
    """Propose the commendations of the demo's newest ended term or year (the bureau then decides
    them in the UI); a term or year still running is never proposed - the same refusal as the API's."""
    from sqlalchemy import select

    from service.commendations import operations as commendations
    from service.commendations.models import CommendationCandidate

    target = demo_round_target()
    if target is None:
        return "  表彰候选 Commendation candidates: 尚无已结束的学期或学年 / no term or year has ended yet"
    round_ = commendations.propose(target.kind.value, target.key)
    rows = db.session.scalars(
        select(CommendationCandidate).where(
            CommendationCandidate.round_id == round_.id, CommendationCandidate.qualifies.is_(True)
        )
    ).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.commendation)] = counts.get(str(row.commendation), 0) + 1
    listed = "，".join(f"{k} {v}" for k, v in sorted(counts.items()))
    zh, en = target.label
    return f"  表彰候选 Commendation candidates {zh} / {en}: {listed}"
