"""Scheduled notices and their delivery: schedules, runs, rendered messages, deliveries, preferences.

The rows are the delivery's state machine, so that a redelivered task, a second beat or a worker that
died half-way never sends a message twice (except in the one window the README states):

* ``notice_schedules`` - what the bureau edits: a notice kind, a simple rule in Beijing time (monthly
  on day N at HH:MM, T−n days before the month's deadline, weekly on a weekday, daily, or on an event),
  the audience, paused, mandatory (users may not opt out), an optional group-robot webhook. Audited.
* ``notice_runs`` - one per (schedule, target key) (``2026-11``, ``2026-11/T-3/s4``, ...): the unique key
  makes a second beat tick harmless. queued → running → done | failed, every move logged in
  ``notice_run_log`` (Superset's execution log). Claimed with a conditional UPDATE.
* ``notice_renders`` - the run's message rendered once per recipient language (MIME without ``To``), so
  a retry or a resend sends the very same bytes.
* ``notice_deliveries`` - one per (run, channel, address, round): pending → sending → sent |
  failed_temporary (retried with backoff) | failed_permanent. Claimed by a conditional UPDATE before
  the SMTP conversation, marked sent after the server accepted. ``round`` > 0 is a resend.
* ``notice_preferences`` - a user's opt-outs per kind (kinds a schedule marks mandatory still arrive).

Bureau-level tables (no ``school_id``): only the delivery machinery and bureau admins read them; the
school a run is about is ``target_school_id`` and its content was rendered in that school's scope.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base


class NoticeRule(enum.StrEnum):
    MONTHLY = "monthly"  # day N of every month at HH:MM, about the newest reported month
    BEFORE_DEADLINE = "before_deadline"  # T−n days before the open month's deadline, at HH:MM
    WEEKLY = "weekly"  # a weekday at HH:MM
    DAILY = "daily"  # every day at HH:MM
    EVENT = "event"  # right away when the event happens (a returned report)


RULE_LABELS = {
    NoticeRule.MONTHLY: ("每月", "Monthly"),
    NoticeRule.BEFORE_DEADLINE: ("截止日前", "Before the deadline"),
    NoticeRule.WEEKLY: ("每周", "Weekly"),
    NoticeRule.DAILY: ("每天", "Daily"),
    NoticeRule.EVENT: ("事件触发", "On the event"),
}

KIND_LABELS = {
    "bulletin": ("每月督查通报", "Monthly inspection bulletin"),
    "report_card": ("学校月度成绩单", "School report card"),
    "deadline_reminder": ("月报截止提醒", "Deadline reminder"),
    "report_returned": ("月报退回通知", "Returned report notice"),
    "hazard_digest": ("逾期隐患周报", "Weekly overdue-hazard digest"),
    "certificate_expiry": ("健康证到期提醒", "Health certificate expiry warning"),
}


class Audience(enum.StrEnum):
    BUREAU_ADMINS = "bureau_admins"
    BUREAU_OFFICIALS = "bureau_officials"
    SCHOOL_ADMINS = "school_admins"  # the target school's admins (every school's, for a district notice)
    INSPECTORS = "inspectors"  # the inspectors and supervisor of the target school's cluster


AUDIENCE_LABELS = {
    Audience.BUREAU_ADMINS: ("教育局管理员", "Bureau administrators"),
    Audience.BUREAU_OFFICIALS: ("教育局领导/科室", "Bureau officials"),
    Audience.SCHOOL_ADMINS: ("学校后勤管理员", "School logistics admins"),
    Audience.INSPECTORS: ("片区督查员", "Cluster inspectors"),
}

WEEKDAY_LABELS = {
    0: ("星期一", "Monday"),
    1: ("星期二", "Tuesday"),
    2: ("星期三", "Wednesday"),
    3: ("星期四", "Thursday"),
    4: ("星期五", "Friday"),
    5: ("星期六", "Saturday"),
    6: ("星期日", "Sunday"),
}


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


RUN_STATE_LABELS = {
    RunState.QUEUED: ("排队中", "Queued"),
    RunState.RUNNING: ("发送中", "Running"),
    RunState.DONE: ("已完成", "Done"),
    RunState.FAILED: ("失败", "Failed"),
}


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED_TEMPORARY = "failed_temporary"
    FAILED_PERMANENT = "failed_permanent"


DELIVERY_STATE_LABELS = {
    DeliveryState.PENDING: ("待发送", "Pending"),
    DeliveryState.SENDING: ("发送中", "Sending"),
    DeliveryState.SENT: ("已发送", "Sent"),
    DeliveryState.FAILED_TEMPORARY: ("暂时失败，将重试", "Failed, will retry"),
    DeliveryState.FAILED_PERMANENT: ("发送失败", "Failed permanently"),
}

# The states a delivery may be claimed from (the conditional UPDATE's WHERE).
CLAIMABLE = (DeliveryState.PENDING.value, DeliveryState.FAILED_TEMPORARY.value)
TERMINAL = (DeliveryState.SENT.value, DeliveryState.FAILED_PERMANENT.value)


class Channel(enum.StrEnum):
    EMAIL = "email"  # SMTP, or an .eml file in instance/mail/ without MAIL_SERVER (embedded mode)
    WEBHOOK = "webhook"  # a group robot (企业微信 / 钉钉) markdown message with the link


class NoticeSchedule(Audited, Base):
    __tablename__ = "notice_schedules"
    __audit_exclude__ = frozenset({"updated_at"})
    __table_args__ = (
        CheckConstraint("day_of_month IS NULL OR day_of_month BETWEEN 1 AND 28", name="day_of_month_range"),
        CheckConstraint("weekday IS NULL OR weekday BETWEEN 0 AND 6", name="weekday_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    rule: Mapped[NoticeRule] = mapped_column(str_enum(NoticeRule, "notice_rule"))
    day_of_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0 = Monday
    days_before: Mapped[list[int]] = mapped_column(JSON, default=list)  # T−n: [3, 1]
    at_time: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM, Beijing time
    audience: Mapped[list[str]] = mapped_column(JSON, default=list)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class NoticeRun(Base):
    __tablename__ = "notice_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "target_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("notice_schedules.id", ondelete="CASCADE"), index=True
    )
    target_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target_school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), nullable=True, index=True
    )
    state: Mapped[RunState] = mapped_column(str_enum(RunState, "notice_run_state"), default=RunState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(
        TZDateTime, nullable=True
    )  # last time sent to the broker
    error: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the renderer's (e.g. snapshot id)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    schedule: Mapped[NoticeSchedule] = relationship()


class NoticeRunLog(Base):
    __tablename__ = "notice_run_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    from_state: Mapped[str] = mapped_column(String(20), default="")
    to_state: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")


class NoticeRender(Base):
    """The run's message in one language, rendered once: the MIME bytes without ``To``/``Message-ID``."""

    __tablename__ = "notice_renders"
    __table_args__ = (UniqueConstraint("run_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    mime: Mapped[bytes] = mapped_column(LargeBinary)
    link: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class NoticeDelivery(Base):
    __tablename__ = "notice_deliveries"
    __table_args__ = (UniqueConstraint("run_id", "channel", "address", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "notice_channel"), default=Channel.EMAIL)
    address: Mapped[str] = mapped_column(String(500))
    round: Mapped[int] = mapped_column(Integer, default=0)  # 0: the run's own; n > 0: the n-th resend
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, "notice_delivery_state"), default=DeliveryState.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(String(255), default="")  # our Message-ID, the same on every try
    smtp_reply: Mapped[str] = mapped_column(String(500), default="")  # the server's "250 ... queued as X"
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    run: Mapped[NoticeRun] = relationship()


class NoticePreference(Base):
    """A user's choice for one optional kind (no row: receives it)."""

    __tablename__ = "notice_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
