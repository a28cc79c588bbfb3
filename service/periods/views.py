"""Settings pages of the reporting periods (填报周期): open a month, move its deadline or lock days,
and see its unlock requests.

Same schemas and operations as ``/api/v1/periods``: opening uses :class:`PeriodIn` and
:func:`~service.periods.operations.create_period`; a change uses :class:`PeriodPatch` and
:func:`~service.periods.operations.update_period`, which refuses a locked period (409) and re-judges
the lateness of every submitted report against the new deadline - the page says how many changed.
Unlock requests are decided on their own board (``web.unlock_requests``), linked when it exists.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from service.core.timeutil import today_shanghai
from service.db import db
from service.org.models import School
from service.periods import operations
from service.periods.models import UNLOCK_STATE_LABELS, Period, UnlockRequest, UnlockState
from service.periods.schemas import PeriodIn, PeriodPatch
from service.reports.models import MonthlyReport
from service.web.forms import Invalid, attempt, load
from service.web.settings import found, require_admin, require_reader, settings_context
from service.web.views import bp

ACTIVE = "web.settings_periods"
NEW_FIELDS = ("year", "month", "deadline", "lock_days")
EDIT_FIELDS = ("deadline", "lock_days")


def _page(template: str, **context: Any) -> str:
    return render_template(
        template, UNLOCK_STATE_LABELS=UNLOCK_STATE_LABELS, **settings_context(ACTIVE), **context
    )


def _posted(fields: tuple[str, ...]) -> dict[str, str]:
    return {k: request.form.get(k, "").strip() for k in fields}


def _payload(form: dict[str, str]) -> dict[str, str]:
    """An empty field is not sent: the API's default applies (the 5th of the next month, 10 days)."""
    return {k: v for k, v in form.items() if v != ""}


@bp.route("/settings/periods", methods=["GET", "POST"])
@login_required
def settings_periods() -> Any:
    """The periods, newest first, with their lock state and pending unlock requests; open a month."""
    require_reader()
    if request.method == "GET":
        return _periods_page(_suggested_month(), {})
    require_admin()
    form = _posted(NEW_FIELDS)
    try:
        data = load(PeriodIn(), _payload(form))
        period = attempt(lambda: operations.create_period(data))
    except Invalid as exc:
        return _periods_page(form, exc.errors), exc.status
    db.session.commit()
    flash(
        _(
            "Month %(code)s is open for reporting; deadline %(deadline)s.",
            code=period.code,
            deadline=period.deadline,
        ),
        "success",
    )
    return redirect(url_for("web.settings_periods"))


def _suggested_month() -> dict[str, str]:
    """The form's default: this month if it has no period yet, else the next reporting month."""
    today = today_shanghai()
    year, month = today.year, today.month
    opened = {(p.year, p.month) for p in db.session.scalars(select(Period))}
    while (year, month) in opened or month in operations.NON_REPORTING_MONTHS:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {"year": str(year), "month": str(month), "deadline": "", "lock_days": ""}


def _periods_page(form: dict[str, str], errors: dict[str, list[str]]) -> str:
    today = today_shanghai()
    periods = list(db.session.scalars(operations.list_periods()))
    pending = dict(
        db.session.execute(
            select(UnlockRequest.period_id, func.count())
            .where(UnlockRequest.state == UnlockState.PENDING)
            .group_by(UnlockRequest.period_id)
        ).all()
    )
    return _page(
        "settings/periods.html",
        periods=periods,
        pending=pending,
        today=today,
        form=form,
        errors=errors,
        default_lock_days=operations.DEFAULT_LOCK_DAYS,
    )


@bp.route("/settings/periods/<int:period_id>", methods=["GET", "POST"])
@login_required
def settings_period(period_id: int) -> Any:
    """One period: move its deadline or lock days (``PATCH /api/v1/periods/<id>``), its unlock requests."""
    period = found(Period, period_id)
    require_reader()
    if request.method == "GET":
        return _period_page(period, _form_of(period), {})
    require_admin()
    form = _posted(EDIT_FIELDS)
    before = lateness(period)
    try:
        data = load(PeriodPatch(), _payload(form))
        attempt(lambda: operations.update_period(period, data, today=today_shanghai()))
    except Invalid as exc:
        return _period_page(period, form, exc.errors), exc.status
    after = lateness(period)
    db.session.commit()
    flash(
        _(
            "Month %(code)s saved: deadline %(deadline)s, locks on %(locks)s.",
            code=period.code,
            deadline=period.deadline,
            locks=period.locks_on,
        ),
        "success",
    )
    if after["submitted"]:
        flash(
            _(
                "Lateness re-judged against the new deadline: %(late)s of %(submitted)s submitted reports are late (before: %(was)s).",
                late=after["late"],
                submitted=after["submitted"],
                was=before["late"],
            ),
            "info",
        )
    return redirect(url_for("web.settings_period", period_id=period.id))


def lateness(period: Period) -> dict[str, int]:
    """How many of the period's reports were submitted, and how many of them count as late."""
    submitted, late = db.session.execute(
        select(func.count(), func.count().filter(MonthlyReport.late.is_(True))).where(
            MonthlyReport.period_id == period.id, MonthlyReport.first_submitted_at.is_not(None)
        )
    ).one()
    return {"submitted": submitted or 0, "late": late or 0}


def _form_of(period: Period) -> dict[str, str]:
    return {"deadline": period.deadline.isoformat(), "lock_days": str(period.lock_days)}


def _period_page(period: Period, form: dict[str, str], errors: dict[str, list[str]]) -> str:
    today: date = today_shanghai()
    requests = list(
        db.session.execute(
            select(UnlockRequest, School.name)
            .join(School, School.id == UnlockRequest.school_id)
            .where(UnlockRequest.period_id == period.id)
            .order_by(UnlockRequest.requested_at.desc())
        ).all()
    )
    return _page(
        "settings/period.html",
        period=period,
        locked=period.is_locked(today),
        form=form,
        errors=errors,
        requests=requests,
        counts=lateness(period),
    )
