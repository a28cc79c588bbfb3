"""Notice pages: the bureau admin's schedules (edit, pause, send now), a run with its deliveries (resend
to one recipient), failed deliveries, the embedded mode's 发件箱 (outbox), and every user's choice of
the optional notices they receive.

The schedule form is parsed with :class:`~service.notices.schemas.ScheduleIn` and saved by the same
operations the jobs use; refusals come back beside each field with their status (422/409).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from service.accounts.models import Role
from service.core.labels import label
from service.core.timeutil import utcnow
from service.db import db
from service.mail.kinds import KINDS
from service.notices import mailbox, operations
from service.notices.models import (
    AUDIENCE_LABELS,
    DELIVERY_STATE_LABELS,
    KIND_LABELS,
    RULE_LABELS,
    RUN_STATE_LABELS,
    WEEKDAY_LABELS,
    Audience,
    DeliveryState,
    NoticeDelivery,
    NoticeRule,
    NoticeRun,
    NoticeRunLog,
    NoticeSchedule,
)
from service.notices.schemas import RULES_BY_KIND, ScheduleIn
from service.org.models import School
from service.web.forms import Invalid, attempt, load
from service.web.monthly_forms import found, require
from service.web.views import bp

PAGE_LABELS = {
    "KIND_LABELS": KIND_LABELS,
    "RULE_LABELS": RULE_LABELS,
    "AUDIENCE_LABELS": AUDIENCE_LABELS,
    "WEEKDAY_LABELS": WEEKDAY_LABELS,
    "RUN_STATE_LABELS": RUN_STATE_LABELS,
    "DELIVERY_STATE_LABELS": DELIVERY_STATE_LABELS,
}
FIELDS = ("name", "kind", "rule", "day_of_month", "weekday", "days_before", "at_time", "webhook_url")


@bp.app_context_processor
def _notice_globals() -> dict[str, Any]:
    return {"notice_failure_counts": operations.failure_counts}


def _admin() -> None:
    require(Role.BUREAU_ADMIN)


def describe(schedule: NoticeSchedule) -> str:
    """The rule in words: "每月 22 日 09:00", "截止日前 3、1 天 09:00", "每周 星期一 08:30"."""
    rule = schedule.rule
    if rule is NoticeRule.MONTHLY:
        return _("Monthly on day %(day)s at %(time)s", day=schedule.day_of_month, time=schedule.at_time)
    if rule is NoticeRule.BEFORE_DEADLINE:
        days = ", ".join(str(d) for d in schedule.days_before or [])
        return _("%(days)s days before the deadline at %(time)s", days=days, time=schedule.at_time)
    if rule is NoticeRule.WEEKLY:
        weekday = label(WEEKDAY_LABELS, schedule.weekday) if schedule.weekday is not None else ""
        return _("Every %(weekday)s at %(time)s", weekday=weekday, time=schedule.at_time)
    if rule is NoticeRule.DAILY:
        return _("Every day at %(time)s", time=schedule.at_time)
    return _("Right away, when it happens")


# --- schedules --------------------------------------------------------------------------------------------


@bp.route("/notices/schedules")
@login_required
def notice_schedules() -> Any:
    _admin()
    schedules = list(db.session.scalars(operations.list_schedules()))
    counts = dict(
        db.session.execute(select(NoticeRun.schedule_id, func.count()).group_by(NoticeRun.schedule_id)).all()
    )
    return render_template(
        "notices/schedules.html",
        schedules=schedules,
        run_counts=counts,
        runs=operations.recent_runs(limit=30),
        school_names=dict(db.session.execute(select(School.id, School.name)).all()),
        describe=describe,
        **PAGE_LABELS,
    )


def _form_context() -> dict[str, Any]:
    return {
        "kind_options": [(k, label(KIND_LABELS, k)) for k in KINDS],
        "rule_options": [(r.value, label(RULE_LABELS, r)) for r in NoticeRule],
        "weekday_options": [("", "—"), *((d, label(WEEKDAY_LABELS, d)) for d in range(7))],
        "audiences": [(a.value, label(AUDIENCE_LABELS, a)) for a in Audience],
        "rules_by_kind": {k: [label(RULE_LABELS, r) for r in rules] for k, rules in RULES_BY_KIND.items()},
        **PAGE_LABELS,
    }


def _render_form(
    schedule: NoticeSchedule | None,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    return (
        render_template(
            "notices/schedule_form.html",
            schedule=schedule,
            values=values,
            errors=errors or {},
            **_form_context(),
        ),
        status,
    )


def _posted() -> dict[str, Any]:
    """The form as the schema's input: text fields filled in, the audience's boxes, the two switches."""
    data: dict[str, Any] = {}
    for name in FIELDS:
        value = (request.form.get(name) or "").strip()
        if value:
            data[name] = value
    data["audience"] = request.form.getlist("audience")
    data["paused"] = bool(request.form.get("paused"))
    data["mandatory"] = bool(request.form.get("mandatory"))
    return data


def _values(schedule: NoticeSchedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "kind": schedule.kind,
        "rule": schedule.rule.value,
        "day_of_month": schedule.day_of_month,
        "weekday": "" if schedule.weekday is None else schedule.weekday,
        "days_before": ", ".join(str(d) for d in schedule.days_before or []),
        "at_time": schedule.at_time,
        "audience": list(schedule.audience or []),
        "paused": schedule.paused,
        "mandatory": schedule.mandatory,
        "webhook_url": schedule.webhook_url,
    }


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = dict(request.form)
    values["audience"] = request.form.getlist("audience")
    values["paused"] = bool(request.form.get("paused"))
    values["mandatory"] = bool(request.form.get("mandatory"))
    return values


@bp.route("/notices/schedules/new", methods=["GET", "POST"])
@login_required
def notice_schedule_new() -> Any:
    _admin()
    if request.method == "GET":
        return _render_form(None, {"at_time": "09:00", "rule": "monthly", "audience": []})
    try:
        data = load(ScheduleIn(), _posted())
        schedule = attempt(lambda: operations.create_schedule(data))
    except Invalid as invalid:
        return _render_form(None, _form_values(), invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Schedule saved."), "success")
    return redirect(url_for("web.notice_schedules", _anchor=f"schedule-{schedule.id}"))


@bp.route("/notices/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@login_required
def notice_schedule_edit(schedule_id: int) -> Any:
    _admin()
    schedule = found(NoticeSchedule, schedule_id)
    if request.method == "GET":
        return _render_form(schedule, _values(schedule))
    try:
        data = load(ScheduleIn(), _posted())
        attempt(lambda: operations.update_schedule(schedule, data))
    except Invalid as invalid:
        return _render_form(schedule, _form_values(), invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Schedule saved."), "success")
    return redirect(url_for("web.notice_schedules", _anchor=f"schedule-{schedule.id}"))


@bp.route("/notices/schedules/<int:schedule_id>/action", methods=["POST"])
@login_required
def notice_schedule_action(schedule_id: int) -> Any:
    """Pause, resume, or send now (today's targets; the same keys as the schedule's own run today)."""
    _admin()
    schedule = found(NoticeSchedule, schedule_id)
    action = request.form.get("action", "")
    if action in ("pause", "resume"):
        operations.set_paused(schedule, action == "pause")
        db.session.commit()
        flash(_("Schedule paused.") if action == "pause" else _("Schedule resumed."), "success")
    elif action == "send_now":
        try:
            created, existing = attempt(lambda: operations.send_now(schedule, utcnow()))
        except Invalid as invalid:
            for messages in invalid.errors.values():
                for message in messages:
                    flash(message, "danger")
            return redirect(url_for("web.notice_schedules")), 303
        db.session.commit()
        if created:
            flash(_("%(n)s notices are being sent.", n=created), "success")
        elif existing:
            flash(_("Already sent for today's targets; resend to one recipient from the run's page."), "info")
        else:
            flash(_("Nothing to send today (no month, school or record this notice is about)."), "info")
    else:
        abort(400)
    return redirect(url_for("web.notice_schedules", _anchor=f"schedule-{schedule.id}"))


# --- a run and its deliveries -----------------------------------------------------------------------------


@bp.route("/notices/runs/<int:run_id>")
@login_required
def notice_run(run_id: int) -> Any:
    _admin()
    run = found(NoticeRun, run_id)
    rows = list(
        db.session.scalars(
            select(NoticeDelivery).where(NoticeDelivery.run_id == run.id).order_by(NoticeDelivery.id)
        )
    )
    moves = list(
        db.session.scalars(
            select(NoticeRunLog).where(NoticeRunLog.run_id == run.id).order_by(NoticeRunLog.id)
        )
    )
    return render_template("notices/run.html", run=run, deliveries=rows, moves=moves, **PAGE_LABELS)


@bp.route("/notices/deliveries/<int:delivery_id>/resend", methods=["POST"])
@login_required
def notice_resend(delivery_id: int) -> Any:
    _admin()
    delivery = found(NoticeDelivery, delivery_id)
    operations.resend(delivery)
    db.session.commit()
    flash(_("The message is being sent to %(address)s again.", address=delivery.address), "success")
    return redirect(url_for("web.notice_run", run_id=delivery.run_id))


@bp.route("/notices/failures")
@login_required
def notice_failures() -> Any:
    _admin()
    rows = operations.failures()
    failed_runs = list(
        db.session.scalars(
            select(NoticeRun).where(NoticeRun.state == "failed").order_by(NoticeRun.id.desc()).limit(50)
        )
    )
    return render_template(
        "notices/failures.html",
        deliveries=rows,
        failed_runs=failed_runs,
        PERMANENT=DeliveryState.FAILED_PERMANENT,
        **PAGE_LABELS,
    )


# --- the outbox (embedded mode) ---------------------------------------------------------------------------


@bp.route("/mail")
@login_required
def mail_outbox() -> Any:
    """发件箱: the messages the embedded mode wrote instead of sending (no MAIL_SERVER)."""
    _admin()
    from flask import current_app

    return render_template(
        "notices/outbox.html",
        messages=mailbox.list_messages(operations.outbox_dir()),
        smtp=current_app.config.get("MAIL_SERVER") or "",
    )


@bp.route("/mail/<message_name>")
@login_required
def mail_message(message_name: str) -> Any:
    _admin()
    mail = mailbox.open_message(
        operations.outbox_dir(),
        message_name,
        lambda index: url_for("web.mail_part", message_name=message_name, part_index=index),
    )
    if mail is None:
        abort(404)
    return render_template("notices/message.html", mail=mail)


@bp.route("/mail/<message_name>/parts/<int:part_index>")
@login_required
def mail_part(message_name: str, part_index: int) -> Any:
    _admin()
    part = mailbox.part_of(operations.outbox_dir(), message_name, part_index)
    if part is None:
        abort(404)
    content, mimetype, filename = part
    response = Response(content, mimetype=mimetype)
    if filename:
        from urllib.parse import quote

        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- my notices -------------------------------------------------------------------------------------------


@bp.route("/account/notices", methods=["GET", "POST"])
@login_required
def my_notices() -> Any:
    """Which optional notices I receive (the bureau's mandatory ones are shown, locked)."""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        wanted = {
            c.kind: bool(request.form.get(f"kind-{c.kind}")) for c in operations.choices_for(current_user)
        }
        try:
            attempt(lambda: operations.set_choices(current_user, wanted))
        except Invalid as invalid:
            errors, status = invalid.errors, invalid.status
        else:
            db.session.commit()
            flash(_("Your choices are saved."), "success")
            return redirect(url_for("web.my_notices"))
    return (
        render_template(
            "notices/mine.html",
            choices=operations.choices_for(current_user),
            errors=errors,
            has_address=bool((current_user.email or "").strip()),
            **PAGE_LABELS,
        ),
        status,
    )
