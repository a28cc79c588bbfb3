"""Web pages. Scoping is the tenant wall's job: these views never filter by school by hand."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from service.accounts import operations as accounts
from service.accounts import sessions as web_sessions
from service.accounts.auth import session_lifetimes
from service.accounts.models import BUREAU_ROLES, ROLE_LABELS, Role
from service.accounts.policy import MIN_LENGTH
from service.cockpit import charts
from service.cockpit.operations import COCKPIT_ROLES, first_screen
from service.core.converters import int4
from service.core.errors import NotFound
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.timeutil import now_shanghai, today_shanghai
from service.db import db
from service.extensions import limiter
from service.hazards.operations import overdue_by_school
from service.inspections.models import GRADE_LABELS, INSPECTION_KIND_LABELS, INSPECTION_MODE_LABELS
from service.org import operations as org
from service.org import profile as school_profile
from service.org.models import CANTEEN_MODE_LABELS, SCHOOL_TYPE_LABELS, Cluster, School
from service.periods.models import Period
from service.rankings.listing import school_trend
from service.reports.checklist import month_tasks
from service.reports.models import ACTION_LABELS, COMPLETENESS_LABELS, REPORT_STATE_LABELS, MonthlyReport
from service.scoring.freshness import score_cards
from service.scoring.models import SchoolMonthScore
from service.staff.models import (
    CONTRACT_TYPE_LABELS,
    STAFF_ROLE_LABELS,
    STAFF_VETO_LABELS,
    WARNING_KIND_LABELS,
    CertificateWarning,
    StaffMember,
    StaffVeto,
)
from service.staff.operations import list_staff, warning_days
from service.web.filters import maybe_url
from service.web.forms import Invalid, attempt
from tenants import current_scope

bp = Blueprint("web", __name__)

# Button texts of the report workflow (service/web/reports.py adds the routes to this blueprint).
BUTTON_LABELS = {
    "submit": ("提交审核", "Submit for review"),
    "return": ("退回修改", "Return for correction"),
    "accept": ("审核通过", "Accept"),
    "reopen": ("重新打开", "Reopen"),
}


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=256)])


class TokenForm(FlaskForm):
    name = StringField("name", validators=[DataRequired(), Length(max=80)])


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "get_locale": get_locale,
        "label": label,
        "ROLE_LABELS": ROLE_LABELS,
        "SCHOOL_TYPE_LABELS": SCHOOL_TYPE_LABELS,
        "CANTEEN_MODE_LABELS": CANTEEN_MODE_LABELS,
        "STAFF_ROLE_LABELS": STAFF_ROLE_LABELS,
        "CONTRACT_TYPE_LABELS": CONTRACT_TYPE_LABELS,
        "WARNING_KIND_LABELS": WARNING_KIND_LABELS,
        "REPORT_STATE_LABELS": REPORT_STATE_LABELS,
        "COMPLETENESS_LABELS": COMPLETENESS_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "BUTTON_LABELS": BUTTON_LABELS,
        "INSPECTION_KIND_LABELS": INSPECTION_KIND_LABELS,
        "INSPECTION_MODE_LABELS": INSPECTION_MODE_LABELS,
        "GRADE_LABELS": GRADE_LABELS,
    }


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"], key_func=lambda: _login_key())
@limiter.limit(
    lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"],
    methods=["POST"],
    key_func=lambda: f"login-address|{request.remote_addr}",
    deduct_when=lambda response: response.status_code == 401,
)
def login() -> Any:
    """Log in. Two limits: attempts per (address, username), and failed attempts per address across
    usernames (one password tried on many accounts); the address is the one the server trusts
    (``TRUSTED_PROXIES``), not a header the client writes."""
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "")
        if user is None:
            flash(_("Wrong username or password."), "danger")
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session (and CSRF token) at login: no fixation
            if lang:
                session["lang"] = lang
            web_sessions.start_session(user, max_age=session_lifetimes(current_app)[1])
            login_user(user)
            db.session.commit()
            if user.must_change_password:
                return redirect(url_for("web.change_password"))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        flash(_("Enter your username and password."), "danger")
    return render_template("login.html", form=form), (401 if request.method == "POST" else 200)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_key() -> str:
    return f"{request.remote_addr}|{(request.form.get('username') or '').strip().lower()}"


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session on the server too: the cookie (or a copy of it) no longer logs anybody in."""
    if current_user.is_authenticated:
        web_sessions.end_session(getattr(current_user, "session_key", None))
        db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("web.login"))


@bp.route("/lang/<code>")
def switch_language(code: str) -> Any:
    if code not in ("zh_CN", "en"):
        abort(404)
    session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/")
@login_required
def dashboard() -> Any:
    """Who you are and what you can see: the schools of your scope, by cluster; a school admin's
    page starts with the month's work (:func:`_school_home`), the bureau's and an inspector's with the
    first screen of the cockpit (:func:`service.cockpit.operations.first_screen`; ``?month=`` picks the
    completeness table's month)."""
    schools = list(db.session.scalars(org.list_schools()))
    clusters = {c.id: c for c in db.session.scalars(org.list_clusters())}
    by_cluster: dict[int, list[School]] = {}
    for school in schools:
        by_cluster.setdefault(school.cluster_id, []).append(school)
    staff_count = db.session.scalar(select(func.count()).select_from(StaffMember)) or 0
    warning_count = db.session.scalar(select(func.count()).select_from(CertificateWarning)) or 0
    scope = current_scope()
    home = cockpit = None
    if current_user.role is Role.SCHOOL_ADMIN and scope.single_school_id is not None:
        home = _school_home(scope.single_school_id)
    elif current_user.role in COCKPIT_ROLES:  # the bureau's first screen (service/cockpit)
        cockpit = first_screen(today_shanghai(), month=request.args.get("month"))
    return render_template(
        "dashboard.html",
        scope=scope,
        schools=schools,
        clusters=clusters,
        by_cluster=by_cluster,
        staff_count=staff_count,
        warning_count=warning_count,
        home=home,
        cockpit=cockpit,
    )


def _school_home(school_id: int) -> dict[str, Any]:
    """A school admin's start: the months with work (deadline, checklist progress, a return's
    reasons), open and overdue hazards today, and the school's monthly trend."""
    today = today_shanghai()
    counts = next((r for r in overdue_by_school(today) if r.school_id == school_id), None)
    return {
        "tasks": month_tasks(school_id, today=today),
        "open_hazards": counts.open_count if counts else 0,
        "overdue_hazards": counts.overdue_count if counts else 0,
        "trend": school_trend(school_id),
    }


@bp.route("/schools")
@login_required
def schools() -> Any:
    cluster_id = request.args.get("cluster_id", type=int4)
    rows = list(db.session.scalars(org.list_schools(cluster_id=cluster_id)))
    clusters = list(db.session.scalars(org.list_clusters()))
    return render_template("schools.html", schools=rows, clusters=clusters, cluster_id=cluster_id)


@bp.route("/schools/<int:school_id>")
@login_required
def school_detail(school_id: int) -> Any:
    try:
        school = get_or_404(School, school_id)
    except NotFound:
        abort(404)
    staff = list(db.session.scalars(list_staff(school_id=school.id)))
    warnings = list(
        db.session.scalars(
            select(CertificateWarning)
            .where(CertificateWarning.school_id == school.id)
            .order_by(CertificateWarning.expires_on.nulls_first())
        )
    )
    cluster = db.session.scalars(select(Cluster).where(Cluster.id == school.cluster_id)).one()
    personal_vetoes = list(
        db.session.scalars(
            select(StaffVeto)
            .where(StaffVeto.school_id == school.id, StaffVeto.ends_on > today_shanghai())
            .order_by(StaffVeto.occurred_on.desc(), StaffVeto.id.desc())
        )
    )
    return render_template(
        "school.html",
        **_profile_context(school),
        school=school,
        staff=sorted(staff, key=lambda m: (not m.active, m.id)),
        warnings=warnings,
        warning_of={w.staff_id: w for w in warnings},
        cluster=cluster,
        personal_vetoes=personal_vetoes,
        STAFF_VETO_LABELS=STAFF_VETO_LABELS,
        may_edit_staff=current_user.role in (Role.BUREAU_ADMIN, Role.SCHOOL_ADMIN),
        months=_recent_months(school.id),
        warning_days=warning_days(),
    )


def _profile_context(school: School) -> dict[str, Any]:
    """The school page's blocks (service/org/profile.py) and its score-and-rank chart. The audit trail
    is for the bureau and the school's own admin; inspectors read the records, not who changed them."""
    reads_audit = current_user.role in BUREAU_ROLES or current_user.role is Role.SCHOOL_ADMIN
    data = school_profile.profile(school, today=today_shanghai(), now=now_shanghai(), with_audit=reads_audit)
    rows = data.history
    chart = charts.score_and_rank(
        [r.period.code for r in rows],
        [charts.point(r.score.composite) if r.score and r.score.scored else None for r in rows],
        [r.rank.rank_overall if r.rank else None for r in rows],
        [r.rank.rank_peer if r.rank else None for r in rows],
    )
    return {
        "profile": data,
        "history_chart": chart,
        "has_scores": any(r.score and r.score.scored for r in rows),
        "compare_url": maybe_url("web.compare", school=school.id)
        if current_user.role is not Role.SCHOOL_ADMIN
        else None,
        **school_profile.PAGE_LABELS,
    }


def _recent_months(school_id: int, *, limit: int = 6) -> list[dict[str, Any]]:
    """The school's latest months with a report or a score: the report's state and the score card
    (with how current it is: service/scoring/freshness.py)."""
    reports = {
        r.period_id: r
        for r in db.session.scalars(select(MonthlyReport).where(MonthlyReport.school_id == school_id))
    }
    scored = set(
        db.session.scalars(select(SchoolMonthScore.period_id).where(SchoolMonthScore.school_id == school_id))
    )
    ids = set(reports) | scored
    if not ids:
        return []
    periods = list(
        db.session.scalars(
            select(Period)
            .where(Period.id.in_(ids))
            .order_by(Period.year.desc(), Period.month.desc())
            .limit(limit)
        )
    )
    cards = score_cards(school_id, [p.id for p in periods])  # three statements for all the months
    return [{"period": p, "report": reports.get(p.id), "card": cards[p.id]} for p in periods]


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Choose one's own password: required after an account is made or reset by an administrator
    (nothing else opens until then); any time otherwise. The other sessions end."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            attempt(
                lambda: accounts.change_own_password(
                    current_user,
                    current=request.form.get("current_password", ""),
                    new=request.form.get("password", ""),
                    repeat=request.form.get("repeat", ""),
                )
            )
        except Invalid as exc:
            return render_template("password.html", errors=exc.errors, min_length=MIN_LENGTH), exc.status
        db.session.commit()
        flash(_("Your password was changed; your other sessions were logged out."), "success")
        return redirect(url_for("web.dashboard"))
    if current_user.must_change_password:
        flash(_("Choose your own password first: the current one was set by an administrator."), "warning")
    return render_template("password.html", errors=errors, min_length=MIN_LENGTH)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> Any:
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _token, new_token = accounts.issue_token(current_user, form.name.data or "")
        db.session.commit()
        flash(_("Token created. Copy it now: it will not be shown again."), "success")
    return render_template(
        "tokens.html", form=form, tokens=accounts.tokens_of(current_user), new_token=new_token
    )


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Any:
    if accounts.revoke_token(current_user, token_id) is None:
        abort(404)
    db.session.commit()
    flash(_("Token revoked."), "success")
    return redirect(url_for("web.tokens"))
