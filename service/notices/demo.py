"""The demo's notices: the bureau's usual schedules, and the newest month's mail already in the 发件箱.

``houqin demo`` has no mail server, so every message becomes an ``.eml`` file in ``instance/mail/``
that the outbox page lists. The bulletin (通报) and the report cards are rendered by the bulletins area;
in a build without those renderers the demo says so and sends what this area renders itself (the week's
overdue-hazard digests).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.core.timeutil import utcnow
from service.db import db
from service.mail.kinds import renderer_for
from service.notices import operations
from service.notices.models import NoticeSchedule
from service.notices.schemas import ScheduleIn

BUREAU_AND_SCHOOLS = ["bureau_admins", "bureau_officials", "school_admins"]
DEFAULT_SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "每月督查通报",
        "kind": "bulletin",
        "rule": "monthly",
        "day_of_month": 18,
        "at_time": "09:00",
        "audience": BUREAU_AND_SCHOOLS,
        "mandatory": True,
    },
    {
        "name": "学校月度成绩单",
        "kind": "report_card",
        "rule": "monthly",
        "day_of_month": 18,
        "at_time": "09:30",
        "audience": ["school_admins"],
    },
    {
        "name": "月报截止提醒（T−3、T−1）",
        "kind": "deadline_reminder",
        "rule": "before_deadline",
        "days_before": [3, 1],
        "at_time": "09:00",
        "audience": ["school_admins"],
        "mandatory": True,
    },
    {
        "name": "月报退回通知",
        "kind": "report_returned",
        "rule": "event",
        "audience": ["school_admins"],
        "mandatory": True,
    },
    {
        "name": "逾期隐患周报",
        "kind": "hazard_digest",
        "rule": "weekly",
        "weekday": 0,
        "at_time": "08:30",
        "audience": ["school_admins", "inspectors"],
    },
    {
        "name": "健康证到期提醒",
        "kind": "certificate_expiry",
        "rule": "daily",
        "at_time": "08:00",
        "audience": ["school_admins"],
    },
]


def _registered(kind: str) -> bool:
    try:
        renderer_for(kind)
    except LookupError:
        return False
    return True


def seed_schedules() -> dict[str, NoticeSchedule]:
    """The usual schedules (once): what a bureau starts from and edits on the schedules page."""
    existing = {s.kind: s for s in db.session.scalars(select(NoticeSchedule))}
    for body in DEFAULT_SCHEDULES:
        if body["kind"] not in existing:
            existing[body["kind"]] = operations.create_schedule(ScheduleIn().load(body))
    db.session.flush()
    return existing


def send_demo_notices() -> str:
    """Put the newest month's bulletin and report cards (or, without their renderers, the hazard
    digests) in the outbox; the line the demo prints about it."""
    for old in operations.outbox_dir().glob("notice-*.eml"):
        old.unlink()  # the demo database starts afresh, and so do its delivery ids
    schedules = seed_schedules()
    db.session.commit()
    kinds = [k for k in ("bulletin", "report_card") if _registered(k)]
    missing = [k for k in ("bulletin", "report_card") if k not in kinds]
    if missing:
        kinds.append("hazard_digest")
    for kind in kinds:
        operations.send_now(schedules[kind], utcnow())
        db.session.commit()  # the sends run (eagerly) after each commit
    count = len(list(operations.outbox_dir().glob("notice-*.eml")))
    line = f"  发件箱 Outbox: {count} 封邮件 messages → /mail"
    if missing:
        line += (
            "\n  （本版本没有通报/成绩单的渲染器：发件箱里只有逾期隐患周报 / no bulletin or report-card "
            f"renderer in this build ({', '.join(missing)}): the outbox holds the hazard digests only)"
        )
    return line
