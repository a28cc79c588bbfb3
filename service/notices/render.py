"""Rendering a notice in the recipient's language, and the four simple notices this area renders.

:func:`rendering` is where every renderer runs (E1's bulletin and report card too): its own session in
the tenant scope the run names (the bureau, or the one school the notice is about - so a school's
notice can only read that school's rows), a request context on ``PUBLIC_URL`` so ``url_for(...,
_external=True)`` makes links recipients can open, and Flask-Babel forced to the recipient's language
(``_()``, the ``label()`` tables and the templates all follow it).

The simple notices (zh/en templates in ``templates/notices/email/``): the deadline reminder (T−n, to
schools that have not submitted), a returned report's notice, the weekly overdue-hazard digest and a
health certificate's expiry warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from service.core.labels import label
from service.core.timeutil import today_shanghai
from service.db import db, unit_of_work
from service.hazards.models import HAZARD_SEVERITY_LABELS
from service.hazards.operations import list_hazards
from service.mail.kinds import register, renderer_for
from service.mail.message import OutgoingMessage
from service.org.models import School
from service.periods.models import Period
from service.reports.models import COMPLETENESS_LABELS, MonthlyReport
from service.reports.operations import completeness
from service.staff.models import STAFF_ROLE_LABELS, StaffMember
from tenants import TenantScope, use_scope

LOCALES = ("zh_CN", "en")


@contextmanager
def rendering(locale: str, scope: TenantScope) -> Iterator[None]:
    """The context a renderer runs in (see the module's docstring)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    language = locale if locale in LOCALES else "zh_CN"
    with (
        unit_of_work(),
        use_scope(scope),
        app.test_request_context("/", base_url=app.config.get("PUBLIC_URL") or "http://localhost"),
        force_locale(language),
    ):
        yield


def render(kind: str, params: Mapping[str, Any], locale: str, scope: TenantScope) -> OutgoingMessage:
    with rendering(locale, scope):
        return renderer_for(kind)(params, locale)


def link(endpoint: str, **values: Any) -> str:
    """An absolute link to a page (empty when this build has no such page)."""
    if endpoint not in current_app.view_functions:
        return ""
    return url_for(endpoint, _external=True, **values)


def _message(template: str, subject: str, context: dict[str, Any], *, href: str) -> OutgoingMessage:
    context = {"subject": subject, "href": href, **context}
    html = render_template(f"notices/email/{template}.html", **context)
    text = render_template(f"notices/email/{template}_text.html", **context)
    summary = f"**{subject}**\n\n" + (f"[{_('Open in Houqin')}]({href})" if href else "")
    return OutgoingMessage(subject=subject, html=html, text=text, link=href, summary=summary)


def _school(params: Mapping[str, Any]) -> School:
    return db.session.scalars(select(School).where(School.id == int(params["school_id"]))).one()


def _period(code: str) -> Period:
    year, month = (int(p) for p in code.split("-"))
    return db.session.scalars(select(Period).where(Period.year == year, Period.month == month)).one()


def month_label(period: Period) -> str:
    return _("%(year)s-%(month)02d", year=period.year, month=period.month)


# --- the four simple notices -------------------------------------------------------------------------------


def render_deadline_reminder(params: Mapping[str, Any], locale: str) -> OutgoingMessage:
    school, period = _school(params), _period(params["period"])
    row = next((r for r in completeness(period) if r.school_id == school.id), None)
    status = row.status if row is not None else "missing"
    days = int(params.get("days_left", (period.deadline - today_shanghai()).days))
    subject = _(
        "Reminder: the %(month)s monthly report of %(school)s is due on %(deadline)s (%(days)s days left)",
        month=month_label(period),
        school=school.name,
        deadline=period.deadline.isoformat(),
        days=days,
    )
    href = link("web.report_detail", report_id=row.report_id) if row is not None and row.report_id else ""
    href = href or link("web.report_list")
    context = {
        "school": school,
        "period": period,
        "days": days,
        "status": label(COMPLETENESS_LABELS, status),
        "month": month_label(period),
    }
    return _message("deadline_reminder", subject, context, href=href)


def render_report_returned(params: Mapping[str, Any], locale: str) -> OutgoingMessage:
    report = db.session.scalars(
        select(MonthlyReport).where(MonthlyReport.id == int(params["report_id"]))
    ).one()
    school = _school({"school_id": report.school_id})
    period = report.period
    subject = _(
        "The %(month)s monthly report of %(school)s was returned for correction",
        month=month_label(period),
        school=school.name,
    )
    context = {"school": school, "period": period, "report": report, "month": month_label(period)}
    return _message("report_returned", subject, context, href=link("web.report_detail", report_id=report.id))


def render_hazard_digest(params: Mapping[str, Any], locale: str) -> OutgoingMessage:
    school = _school(params)
    as_of = date.fromisoformat(params["as_of"])
    hazards = list(db.session.scalars(list_hazards(as_of=as_of, overdue=True, school_id=school.id)))
    subject = _(
        "Overdue hazards at %(school)s: %(count)s not rectified (as of %(day)s)",
        school=school.name,
        count=len(hazards),
        day=as_of.isoformat(),
    )
    rows = [
        {
            "hazard": h,
            "severity": label(HAZARD_SEVERITY_LABELS, h.severity),
            "days": (as_of - h.deadline).days,
        }
        for h in hazards
    ]
    context = {"school": school, "rows": rows, "as_of": as_of}
    href = link("web.hazard_list", show="overdue")
    return _message("hazard_digest", subject, context, href=href)


def render_certificate_expiry(params: Mapping[str, Any], locale: str) -> OutgoingMessage:
    school = _school(params)
    member = db.session.scalars(select(StaffMember).where(StaffMember.id == int(params["staff_id"]))).one()
    expires = date.fromisoformat(params["expires_on"])
    days = (expires - today_shanghai()).days
    subject = _(
        "Health certificate of %(name)s (%(school)s) expires on %(day)s",
        name=member.name,
        school=school.name,
        day=expires.isoformat(),
    )
    context = {
        "school": school,
        "member": member,
        "role": label(STAFF_ROLE_LABELS, member.role),
        "expires": expires,
        "days": days,
    }
    return _message(
        "certificate_expiry", subject, context, href=link("web.school_detail", school_id=school.id)
    )


register("deadline_reminder", render_deadline_reminder)
register("report_returned", render_report_returned)
register("hazard_digest", render_hazard_digest)
register("certificate_expiry", render_certificate_expiry)

__all__ = ["LOCALES", "link", "render", "rendering"]
