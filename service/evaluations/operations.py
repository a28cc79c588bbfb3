"""Staff evaluations: plain functions over the session (flush, never commit).

An evaluation is written in one piece - the staff member, the month and every rating - and its
scores are recomputed from the ratings each time (:mod:`service.evaluations.scoring`) with the rubric
version it was first computed with. Like every school write that belongs to a month, it needs the
school's report for that month to be editable (:func:`service.reports.operations.ensure_editable`).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, extract, func, select
from sqlalchemy.orm import selectinload

from service.core.errors import Conflict, DomainError
from service.core.labels import label
from service.db import db
from service.evaluations import scoring
from service.evaluations.models import Evaluation, EvaluationRating, RaterGroup
from service.org.models import School
from service.periods.models import Period
from service.reports import operations as reports
from service.reports.models import MonthlyReport
from service.rubrics import operations as rubrics
from service.rubrics.models import RubricKind, RubricVersion
from service.staff.models import StaffMember

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class RatingProblem:
    """One reason a list of ratings is refused, and where it is: ``rating`` is the position of the
    rating in the list (0-based), or ``group`` a rater group as a whole; ``dimensions`` the dimension
    codes it concerns. ``message`` is what the API answers; ``cell`` what a page says beside one
    score input of the dimension (the rating's number and the dimension's name go without saying)."""

    message: str
    rating: int | None = None
    group: RaterGroup | None = None
    dimensions: tuple[str, ...] = ()
    cell: str | None = None


class RatingsRefused(DomainError):
    """422 ``{"ratings": [messages]}`` (the API's shape), keeping each :class:`RatingProblem`."""

    def __init__(self, problems: Sequence[RatingProblem]) -> None:
        super().__init__({"ratings": [p.message for p in problems]})
        self.problems = list(problems)


def last_day(period: Period) -> date:
    return date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])


# --- reading -----------------------------------------------------------------------------------------


def list_evaluations(
    *, period_id: int | None = None, staff_id: int | None = None, school_id: int | None = None
) -> Any:
    """A select of the evaluations in scope (ratings loaded with them), optionally narrowed."""
    stmt = (
        select(Evaluation)
        .options(
            selectinload(Evaluation.ratings), selectinload(Evaluation.staff), selectinload(Evaluation.period)
        )
        .order_by(Evaluation.period_id.desc(), Evaluation.school_id, Evaluation.staff_id)
    )
    if period_id is not None:
        stmt = stmt.where(Evaluation.period_id == period_id)
    if staff_id is not None:
        stmt = stmt.where(Evaluation.staff_id == staff_id)
    if school_id is not None:
        stmt = stmt.where(Evaluation.school_id == school_id)
    return stmt


def _needs_evaluation(report: MonthlyReport) -> Any:
    """Who the report's month needs evaluated: active staff of its school hired by the month's last day."""
    return and_(
        StaffMember.school_id == report.school_id,
        StaffMember.active.is_(True),
        StaffMember.hire_date <= last_day(report.period),
    )


def _evaluated(report: MonthlyReport) -> Any:
    return select(Evaluation.id).where(
        Evaluation.school_id == StaffMember.school_id,
        Evaluation.staff_id == StaffMember.id,
        Evaluation.period_id == report.period_id,
    )


def missing_evaluations(report: MonthlyReport) -> list[StaffMember]:
    """Active staff of the report's school, hired by the month's last day, without an evaluation."""
    stmt = (
        select(StaffMember)
        .where(_needs_evaluation(report), ~_evaluated(report).exists())
        .order_by(StaffMember.id)
    )
    return list(db.session.scalars(stmt))


def evaluation_progress(report: MonthlyReport) -> tuple[int, int]:
    """``(evaluated, needed)`` for the month's checklist, in one query: of the people
    :func:`missing_evaluations` asks about, how many have their evaluation."""
    done = func.count(StaffMember.id).filter(_evaluated(report).exists())
    row = db.session.execute(select(done, func.count(StaffMember.id)).where(_needs_evaluation(report))).one()
    return int(row[0]), int(row[1])


def staff_area_scores(period_id: int) -> list[Any]:
    """Staff area of every active school in scope for one period, in ONE query (for the rankings).

    Rows ``(school_id, staff_area, evaluated, active_staff)``: ``staff_area`` is the mean of the
    month's person scores as stored - exact to 10 decimals, never the 2-decimal shown values
    (``None`` when nobody was evaluated; not rounded - the composite rounds),
    ``evaluated`` the number of evaluations, ``active_staff`` the active staff hired by the month's
    last day (those a submission needs evaluated). On PostgreSQL the mean is exact to at least 16
    significant digits; :func:`scoring.staff_area` gives the same mean in Python.
    """
    scores = (
        select(
            Evaluation.school_id.label("school_id"),
            func.avg(Evaluation.score).label("staff_area"),
            func.count(Evaluation.id).label("evaluated"),
        )
        .where(Evaluation.period_id == period_id)
        .group_by(Evaluation.school_id)
        .subquery("scores")
    )
    # Hired by the month's last day = hired in that month or earlier (portable month arithmetic).
    hired_month = extract("year", StaffMember.hire_date) * 12 + extract("month", StaffMember.hire_date)
    roster = (
        select(StaffMember.school_id.label("school_id"), func.count(StaffMember.id).label("active_staff"))
        .join(Period, Period.id == period_id)
        .where(StaffMember.active.is_(True), hired_month <= Period.year * 12 + Period.month)
        .group_by(StaffMember.school_id)
        .subquery("roster")
    )
    stmt = (
        select(
            School.id.label("school_id"),
            scores.c.staff_area,
            func.coalesce(scores.c.evaluated, 0).label("evaluated"),
            func.coalesce(roster.c.active_staff, 0).label("active_staff"),
        )
        .outerjoin(scores, scores.c.school_id == School.id)
        .outerjoin(roster, roster.c.school_id == School.id)
        .where(School.active.is_(True))
        .order_by(School.id)
    )
    return list(db.session.execute(stmt).all())


# --- writing -----------------------------------------------------------------------------------------


def create_evaluation(
    staff: StaffMember, period: Period, ratings: Sequence[Mapping[str, Any]], *, today: date
) -> Evaluation:
    """Evaluate one staff member for one month with the published staff rubric (all or nothing)."""
    errors: Errors = {}
    if not staff.active:
        errors["staff_id"] = [_("This staff member is not active.")]
    elif staff.hire_date > last_day(period):
        errors["staff_id"] = [_("This staff member was hired after the month.")]
    if errors:
        raise DomainError(errors)
    version = rubrics.current_version(RubricKind.STAFF)
    if version is None:
        raise Conflict({"rubric_version_id": [_("No staff evaluation rubric is published.")]})
    report = reports.open_report(period, school_id=staff.school_id)
    reports.ensure_editable(report, today=today)
    duplicate = db.session.scalar(
        select(Evaluation.id).where(
            Evaluation.school_id == staff.school_id,
            Evaluation.staff_id == staff.id,
            Evaluation.period_id == period.id,
        )
    )
    if duplicate is not None:
        raise Conflict({"staff_id": [_("This staff member already has an evaluation for this month.")]})
    built = _build_ratings(staff, version, ratings)
    evaluation = Evaluation(
        school_id=staff.school_id,
        staff_id=staff.id,
        period_id=period.id,
        report_id=report.id,
        rubric_version_id=version.id,
    )
    evaluation.ratings = built
    recompute(evaluation, version)
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def replace_ratings(
    evaluation: Evaluation, ratings: Sequence[Mapping[str, Any]], *, today: date
) -> Evaluation:
    """Replace every rating and recompute, with the version the evaluation was created with."""
    reports.ensure_editable(_report_of(evaluation), today=today)
    version = rubrics.get_version(evaluation.rubric_version_id)
    built = _build_ratings(evaluation.staff, version, ratings)
    old = list(evaluation.ratings)
    evaluation.ratings.clear()
    for rating in old:
        db.session.delete(rating)  # explicitly: the audit trail does not see delete-orphan cascades
    db.session.flush()
    evaluation.ratings.extend(built)
    recompute(evaluation, version)
    db.session.flush()
    return evaluation


def delete_evaluation(evaluation: Evaluation, *, today: date) -> None:
    reports.ensure_editable(_report_of(evaluation), today=today)
    db.session.delete(evaluation)  # its ratings go with it through the ORM, so they are audited too
    db.session.flush()


def _report_of(evaluation: Evaluation) -> MonthlyReport:
    return db.session.scalars(
        select(MonthlyReport).where(
            MonthlyReport.school_id == evaluation.school_id, MonthlyReport.id == evaluation.report_id
        )
    ).one()


def recompute(evaluation: Evaluation, version: RubricVersion) -> None:
    """Set the evaluation's person and dimension scores from its ratings (formula 4): the person
    score exact to 10 decimals (not rounded for display), the dimensions as shown."""
    result = scoring.evaluate(
        [(r.rater_group.value, r.scores) for r in evaluation.ratings],
        scoring.weights_of(version.settings),
        [s.code for s in version.sections],
    )
    evaluation.score = result.score
    evaluation.dimension_scores = {code: str(value) for code, value in result.dimensions.items()}


def _build_ratings(
    staff: StaffMember, version: RubricVersion, ratings: Sequence[Mapping[str, Any]]
) -> list[EvaluationRating]:
    """Validate every rating against the rubric version and the school's roster; 422 with all problems.

    Rules: each dimension score is 0..the dimension's points with at most 2 decimals; raters are not
    the person rated (only a self rating is, and it names nobody else); a peer names the colleague
    who rates; the assessment group rates, and between them its raters score every dimension.
    Refusals are :class:`RatingsRefused`: the API's ``{"ratings": [...]}`` plus where each problem is.
    """
    sections = {s.code: s for s in version.sections}
    weights = scoring.weights_of(version.settings)
    problems: list[RatingProblem] = []
    rater_ids = {int(r["rater_staff_id"]) for r in ratings if r.get("rater_staff_id") is not None}
    colleagues = {
        m.id: m
        for m in db.session.scalars(
            select(StaffMember).where(StaffMember.school_id == staff.school_id, StaffMember.id.in_(rater_ids))
        )
    }
    seen: set[tuple[RaterGroup, int]] = set()
    built: list[EvaluationRating] = []
    for index, data in enumerate(ratings):
        n = index + 1

        def refuse(
            message: str, dimension: str | None = None, cell: str | None = None, at: int = index
        ) -> None:
            problems.append(
                RatingProblem(message, rating=at, dimensions=(dimension,) if dimension else (), cell=cell)
            )

        group = RaterGroup(data["rater_group"])
        rater_id = data.get("rater_staff_id")
        name = (data.get("rater_name") or "").strip()
        before = len(problems)
        if group is RaterGroup.SELF:
            if rater_id is not None and rater_id != staff.id:
                refuse(_("Rating %(n)s: a self rating is given by the person rated.", n=n))
            rater_id = staff.id
        elif rater_id is not None and rater_id == staff.id:
            refuse(_("Rating %(n)s: raters are not the person rated.", n=n))
        elif group is RaterGroup.PEER and rater_id is None:
            refuse(_("Rating %(n)s: a peer rating names the colleague who gives it.", n=n))
        if rater_id is not None and rater_id != staff.id and rater_id not in colleagues:
            refuse(_("Rating %(n)s: no such staff member at this school.", n=n))
        if rater_id is not None and len(problems) == before:
            if (group, rater_id) in seen:
                refuse(_("Rating %(n)s: this rater has already rated in this group.", n=n))
            seen.add((group, rater_id))
            if not name:
                name = staff.name if rater_id == staff.id else colleagues[rater_id].name
        if not name and rater_id is None:
            refuse(_("Rating %(n)s: give the rater's name.", n=n))
        if group.value not in weights:
            refuse(_("Rating %(n)s: the rubric has no weight for this rater group.", n=n))
        scores: dict[str, str] = {}
        raw_scores: Mapping[str, Any] = data.get("scores") or {}
        if not raw_scores:
            refuse(_("Rating %(n)s: no scores.", n=n))
        for code, value in raw_scores.items():
            section = sections.get(code)
            if section is None:
                refuse(_("Rating %(n)s: unknown dimension %(code)s.", n=n, code=code))
                continue
            value = Decimal(value)
            dimension = label({code: (section.name, section.name_en or section.name)}, code)
            top = format(section.max_points.normalize(), "f")
            if value < 0 or value > section.max_points:
                refuse(
                    _(
                        "Rating %(n)s: the %(dimension)s score must be between 0 and %(max)s.",
                        n=n,
                        dimension=dimension,
                        max=top,
                    ),
                    code,
                    _("Must be between %(min)s and %(max)s.", min=0, max=top),
                )
            elif value != value.quantize(Decimal("0.01")):
                refuse(
                    _("Rating %(n)s: scores have at most 2 decimals.", n=n), code, _("At most 2 decimals.")
                )
            else:
                scores[code] = str(value.quantize(Decimal("0.01")))
        built.append(
            EvaluationRating(
                school_id=staff.school_id,
                rater_group=group,
                rater_name=name[:40],
                rater_staff_id=rater_id,
                scores=scores,
            )
        )
    assessed = {
        code
        for data in ratings
        if data["rater_group"] == RaterGroup.ASSESSMENT
        for code in data["scores"] or {}
    }
    if not any(data["rater_group"] == RaterGroup.ASSESSMENT for data in ratings):
        problems.append(RatingProblem(_("At least one rating from the assessment group is needed.")))
    else:
        unscored = [c for c in sections if c not in assessed]
        if unscored:
            names = [
                label({c: (sections[c].name, sections[c].name_en or sections[c].name)}, c) for c in unscored
            ]
            problems.append(
                RatingProblem(
                    _("The assessment group has not scored: %(dimensions)s.", dimensions=", ".join(names)),
                    group=RaterGroup.ASSESSMENT,
                    dimensions=tuple(unscored),
                    cell=_("This cell is required."),
                )
            )
    if problems:
        raise RatingsRefused(problems)
    return built


# --- the report workflow's submission check ---------------------------------------------------------


def submission_check(report: MonthlyReport) -> Errors:
    """Registered in ``reports.operations.SUBMISSION_CHECKS``: every active staff member is evaluated.

    The refusal is one message naming everybody still to evaluate ("还有3人未考评：张三、李四、王五"),
    not one per person: the page lists a month's problems together, and a school of 40 staff should
    not get 40 alerts."""
    missing = missing_evaluations(report)
    if not missing:
        return {}
    # One problem, one message: everybody still to evaluate, named in one line.
    return {
        "evaluations": [
            _(
                "Not evaluated yet (%(n)s): %(names)s.",
                n=len(missing),
                names=_(", ").join(member.name for member in missing),
            )
        ]
    }


def register_submission_check() -> None:
    if submission_check not in reports.SUBMISSION_CHECKS:
        reports.SUBMISSION_CHECKS.append(submission_check)
