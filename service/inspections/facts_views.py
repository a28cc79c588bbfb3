"""The canteen's month in numbers (食堂月度数据) as a page: 两荤两素一汤 days, serving days, meal sittings,
陪餐 and 留样 sittings, food waste.

The form posts the fields of the API's PUT body; they are parsed with the API's schema
(:class:`CanteenFactsIn`) and saved by the same operation (:func:`operations.put_facts`), so the limits
and cross-checks (陪餐 and 留样 within the sittings served, serving days within the month) and their
messages are the API's. Whether the month can still change is the operation's own check
(:func:`service.reports.operations.ensure_editable`); a school without a canteen is told so.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import Role
from service.core.timeutil import today_shanghai
from service.db import db
from service.inspections import operations
from service.inspections.schemas import CanteenFactsIn
from service.org.models import CanteenMode, School
from service.reports.models import MonthlyReport
from service.reports.operations import ensure_editable
from service.rubrics.models import RubricKind
from service.rubrics.operations import current_version
from service.web.forms import Invalid, attempt, load
from service.web.monthly_forms import found, messages, refusal, require
from service.web.views import bp

# The API's fields, in the order a canteen keeps them: days, then meal sittings, then waste.
FIELDS = (
    "serving_days",
    "menu_compliant_days",
    "meals_served",
    "leader_accompanied_meals",
    "sampled_meals",
    "food_waste_kg",
)
assert set(FIELDS) == set(operations.FACT_FIELDS)


def _canteen_settings() -> dict[str, Any]:
    """Sample size and hours and the menu standard of the canteen rubric in force (for the help text)."""
    version = current_version(RubricKind.CANTEEN)
    settings = dict(version.settings) if version is not None else {}
    menu = settings.get("menu_standard") or {}
    return {
        "grams": settings.get("sample_grams", "—"),
        "hours": settings.get("sample_hours", "—"),
        "meat_percent": menu.get("min_meat_percent", "—"),
    }


def _render(
    report: MonthlyReport,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    school = db.session.scalars(select(School).where(School.id == report.school_id)).one()
    facts = operations.get_facts(report)
    locked = refusal(lambda: ensure_editable(report, today=today_shanghai()))
    return (
        render_template(
            "inspections/facts.html",
            report=report,
            school=school,
            facts=facts,
            values=values,
            errors=errors or {},
            has_canteen=school.canteen_mode is not CanteenMode.NONE,
            can_edit=current_user.role is Role.SCHOOL_ADMIN and locked is None,
            locked=messages(locked),
            fields=FIELDS,
            canteen=_canteen_settings(),
        ),
        status,
    )


@bp.route("/reports/<int:report_id>/facts", methods=["GET", "POST"])
@login_required
def facts_edit(report_id: int) -> Any:
    """Enter or replace the month's canteen facts (the school admin, while the report is editable)."""
    report = found(MonthlyReport, report_id)
    if request.method == "GET":
        facts = operations.get_facts(report)
        values = {k: getattr(facts, k) for k in FIELDS} if facts is not None else {}
        return _render(report, values)
    require(Role.SCHOOL_ADMIN)
    posted = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    try:
        data = load(CanteenFactsIn(), {k: v for k, v in posted.items() if v})
        attempt(lambda: operations.put_facts(report, data, today=today_shanghai()))
    except Invalid as invalid:
        return _render(report, posted, invalid.errors, invalid.status)
    db.session.commit()
    flash(_("Canteen facts saved."), "success")
    return redirect(url_for("web.facts_edit", report_id=report.id))
