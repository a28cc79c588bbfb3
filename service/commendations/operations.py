"""Commendations: the rule settings, proposing a round's candidates, deciding, publishing.

Plain functions over the session (flush, never commit). :func:`propose` is the job: it is called by
the Celery task ``tasks.commendations.propose``, by the CLI and by the demo, and runs in the bureau
scope. It is idempotent: proposing a round again recomputes its candidates from the current ranking
snapshot, vetoes and rules, keeps the decisions already made for the same (commendation, school,
staff member) when that candidate still qualifies, resets them when it no longer does, and deletes
lines that are no longer candidates at all. A published round is frozen: proposing, deciding and
publishing again answer 409.

Only a term or school year that has **ended** is commended (:func:`ends_on`): its last month's period
is locked on the clock's today. Proposing one that has not ended answers 409 - the same refusal for
the API, the CLI, the page and the demo, since they all come through :func:`open_round`.

The judging day (``as_of``) is the period's last day: vetoes in force and overdue hazards are those of
that day.

Publishing is confirmed (:func:`publication_preview`): the bureau admin is shown what will be frozen
and publishes with the digest of that list, so a decision changed in between (by a colleague, or a
re-proposal) refuses the publication instead of freezing a list nobody looked at.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from service.accounts.models import User
from service.commendations import proposal as rules
from service.commendations.models import (
    COMMENDATION_ORDER,
    DECISION_LABELS,
    CommendationCandidate,
    CommendationCertificate,
    CommendationRound,
    Decision,
    RoundKind,
    RoundState,
)
from service.core import workflow
from service.core.errors import Conflict, DomainError
from service.core.labels import label
from service.core.outbox import enqueue_task
from service.core.timeutil import local, today_shanghai
from service.core.types import utcnow
from service.db import db
from service.evaluations.models import Evaluation
from service.hazards.operations import overdue_by_school
from service.incidents.vetoes import Commendation, Veto, rule_label, vetoes_in_force
from service.inspections.models import Grade, Inspection, InspectionKind, InspectionMode
from service.periods.models import DEFAULT_LOCK_DAYS, Period, lock_date
from service.periods.operations import default_deadline
from service.rankings import operations as rankings
from service.rankings.calendar import RankingTarget, parse_target
from service.rankings.models import RankingKind, RankingSnapshot
from service.reports.models import MonthlyReport, ReportState
from service.rules import operations as rule_sets
from service.rules.models import RuleKind
from service.staff import vetoes as staff_vetoes
from service.staff.models import FOOD_HANDLING_ROLES, STAFF_VETO_LABELS, StaffMember
from tenants import TenantScope

PROPOSE_TASK = "tasks.commendations.propose"
CERTIFICATES_TASK = "tasks.commendations.issue_certificates"
CERTIFICATE_BATCH = 50  # certificates laid out per WeasyPrint document (bounds the job's memory)

# Spot grades from best to worst: "graded A" means A; a setting of "B" accepts A and B.
GRADE_ORDER = (Grade.A, Grade.B, Grade.C, Grade.UNGRADED)


# --- rules ------------------------------------------------------------------------------------------


def current_rules() -> tuple[int, dict[str, Any]]:
    """``(version, settings)`` of the commendation rules in force (version 0: the shipped defaults)."""
    return rule_sets.current(RuleKind.COMMENDATIONS)


def update_rules(changes: Mapping[str, Any], *, note: str, user: User | None) -> tuple[int, dict[str, Any]]:
    """Store the current settings with ``changes`` applied (already validated) as a new version."""
    _version, settings = current_rules()
    merged = _merge(settings, changes)
    row = rule_sets.add_version(RuleKind.COMMENDATIONS, merged, note=note, user=user)
    return row.version, rule_sets.current(RuleKind.COMMENDATIONS)[1]


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --- rounds -----------------------------------------------------------------------------------------


def target_of(kind: str, key: str) -> RankingTarget:
    """The term or year ``kind``/``key``; months are not commended (422 on ``kind``)."""
    if kind not in (RoundKind.TERM.value, RoundKind.YEAR.value):
        raise DomainError({"kind": [_("Must be one of: %(choices)s.", choices="term, year")]})
    return parse_target(kind, key)


def judging_day(target: RankingTarget, today: date) -> date:
    """The period's last day (or ``today``, were it earlier - an ended period never is)."""
    year, month = target.months[-1]
    end = date(year, month, calendar.monthrange(year, month)[1])
    return min(end, today)


# --- when a term or year has ended ----------------------------------------------------------------


def ends_on(target: RankingTarget) -> date:
    """The day from which the term or school year ``target`` counts as ended: the day its last
    month's period locks (``deadline + lock_days + 1``; with the defaults the 16th of February for
    term 1, of August for term 2 and the year).

    Why the lock and not the last calendar day or the deadline: a bureau commends on final data.
    After the month's deadline a school may still submit late until the lock, an inspector may still
    return or accept its report, and the ranking can still move; only from the lock on does a school
    change that month solely through an unlock request the bureau grants. (Until it is published the
    round can be proposed again, should a granted unlock change a score.) A last month whose period
    was never opened ends on the day it would have locked with the default deadline and grace days.
    """
    year, month = target.months[-1]
    period = db.session.scalars(select(Period).where(Period.year == year, Period.month == month)).first()
    if period is not None:
        return period.locks_on
    return lock_date(default_deadline(year, month), DEFAULT_LOCK_DAYS)


def has_ended(target: RankingTarget, today: date) -> bool:
    return today >= ends_on(target)


def ensure_ended(target: RankingTarget, today: date) -> None:
    """409 on ``key`` unless ``target`` has ended on ``today`` (see :func:`ends_on`)."""
    day = ends_on(target)
    if today < day:
        year, month = target.months[-1]
        raise Conflict(
            {
                "key": [
                    _(
                        "%(period)s has not ended yet: commendations are proposed once its last month "
                        "(%(month)s) is locked, on %(day)s.",
                        period=label({0: target.label}, 0),
                        month=f"{year:04d}-{month:02d}",
                        day=day.isoformat(),
                    )
                ]
            }
        )


def ended_targets(today: date) -> list[RankingTarget]:
    """The terms and school years with a ranking that have ended on ``today``, newest first: the one
    whose last month is later first, and of a term and the year ending with the same month, the year
    (the school year's round is the district's main one)."""
    keys = db.session.execute(
        select(RankingSnapshot.kind, RankingSnapshot.key)
        .where(RankingSnapshot.kind.in_((RankingKind.TERM, RankingKind.YEAR)))
        .distinct()
    ).all()
    targets = [parse_target(RankingKind(kind).value, key) for kind, key in keys]
    ended = [t for t in targets if has_ended(t, today)]
    return sorted(ended, key=lambda t: (t.months[-1], t.kind is RankingKind.YEAR), reverse=True)


def find_round(kind: str, key: str) -> CommendationRound | None:
    return db.session.scalars(
        select(CommendationRound).where(
            CommendationRound.kind == RoundKind(kind), CommendationRound.key == key
        )
    ).one_or_none()


def open_round(
    kind: str, key: str, *, user: User | None = None, today: date | None = None
) -> CommendationRound:
    """The round of ``kind``/``key``, created (empty, proposed) if it does not exist; 409 if published
    or if the term or year has not ended on ``today`` (the clock's, by default)."""
    target = target_of(kind, key)
    ensure_ended(target, today or today_shanghai())
    row = find_round(target.kind.value, target.key)
    if row is None:
        row = CommendationRound(
            kind=RoundKind(target.kind.value),
            key=target.key,
            state=RoundState.PROPOSED,
            created_by_id=user.id if user else None,
        )
        db.session.add(row)
        db.session.flush()
    else:
        row = _lock(row)  # a publication at the same moment: wait for it, then see the round published
    _ensure_not_published(row)
    return row


def _ensure_not_published(row: CommendationRound) -> None:
    if row.is_published:
        raise Conflict({"round": [_published_message()]})


def _published_message() -> str:
    return _("This commendation list is published and can no longer change.")


def _lock(row: CommendationRound) -> CommendationRound:
    """Re-read the round with a row lock (PostgreSQL), so concurrent proposals and decisions queue."""
    return db.session.scalars(
        select(CommendationRound)
        .where(CommendationRound.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def queue_proposal(kind: str, key: str, *, user: User | None) -> CommendationRound:
    """Open the round and queue :data:`PROPOSE_TASK` for after the commit (bureau scope).

    ``computed_at`` is cleared until the job has run, so nobody publishes the list the job is about
    to replace (publishing refuses a round that is not computed).
    """
    row = open_round(kind, key, user=user)
    row.computed_at = None
    enqueue_task(
        PROPOSE_TASK,
        scope=TenantScope.bureau(),
        kind=row.kind.value,
        key=row.key,
        user_id=user.id if user else None,
    )
    db.session.flush()
    return row


def list_rounds(*, kind: str | None = None, state: str | None = None, published_only: bool = False) -> Any:
    stmt = select(CommendationRound).order_by(CommendationRound.key.desc(), CommendationRound.kind)
    if kind:
        stmt = stmt.where(CommendationRound.kind == RoundKind(kind))
    if state:
        stmt = stmt.where(CommendationRound.state == RoundState(state))
    if published_only:
        stmt = stmt.where(CommendationRound.state == RoundState.PUBLISHED)
    return stmt


# --- proposing --------------------------------------------------------------------------------------


def propose(kind: str, key: str, *, user: User | None = None, today: date | None = None) -> CommendationRound:
    """Compute the candidates of the term or year ``kind``/``key`` (see the module docstring).

    Needs the current ranking snapshot of the term or year (409 when there is none). Works on
    PostgreSQL and SQLite alike (the demo runs it on SQLite).
    """
    target = target_of(kind, key)
    today = today or today_shanghai()
    row = _lock(open_round(target.kind.value, target.key, user=user, today=today))
    _ensure_not_published(row)
    snapshot = rankings.current_snapshot(RankingKind(target.kind.value), target.key)
    if snapshot is None:
        raise Conflict({"key": [_("There is no ranking for this period yet; compute the ranking first.")]})
    as_of = judging_day(target, today)
    version, settings = current_rules()
    proposals = compute(target, rankings.entries_of(snapshot), settings, as_of)
    _store(row, proposals)
    row.as_of = as_of
    row.snapshot_id = snapshot.id
    row.rules_version = version
    row.rules = settings
    row.summary = _summary(proposals)
    row.computed_at = utcnow()
    db.session.flush()
    return row


def compute(
    target: RankingTarget, entries: Sequence[Any], settings: Mapping[str, Any], as_of: date
) -> list[rules.Proposal]:
    """Every commendation's proposals for ``entries`` (ranking entries of the target) on ``as_of``."""
    near = rules.num(settings.get("near_miss_points", "3"))
    facts = [_entry_facts(e) for e in entries]
    period_ids = _period_ids(target)
    bars = _bars(as_of, settings)
    spots = _spot_facts(period_ids, settings["trusted_canteen"].get("spot_grade", "A"))
    overdue = {r.school_id: int(r.overdue_count) for r in overdue_by_school(as_of)}
    persons = _person_facts(period_ids, as_of)
    return [
        *rules.advanced_unit(facts, bars[Commendation.ADVANCED_UNIT], settings["advanced_unit"], near),
        *rules.trusted_canteen(
            facts, spots, bars[Commendation.TRUSTED_CANTEEN], settings["trusted_canteen"], near
        ),
        *rules.safe_campus(
            facts, overdue, bars[Commendation.SAFE_CAMPUS], settings["safe_campus"], near, as_of
        ),
        *rules.outstanding_staff(
            persons, bars[Commendation.OUTSTANDING_STAFF], settings["outstanding_staff"], near, as_of
        ),
    ]


ENTRY_FIELDS = (
    "school_id",
    "status",
    "score",
    "months_expected",
    "months_counted",
    "canteen_applies",
    "canteen_mean",
    "safety_mean",
    "school_type",
    "peer_group",
    "rank_peer",
)


def _entry_facts(entry: Any) -> rules.EntryFacts:
    return rules.EntryFacts(**{f: getattr(entry, f) for f in ENTRY_FIELDS})


def _period_ids(target: RankingTarget) -> list[int]:
    months = set(target.months)
    return [p.id for p in db.session.scalars(select(Period)) if (p.year, p.month) in months]


def _bars(as_of: date, settings: Mapping[str, Any]) -> dict[Commendation, dict[int, list[rules.Bar]]]:
    """Per commendation, school → the vetoes in force on ``as_of`` that bar it.

    A veto bars a commendation when the veto names it (``blocks``, fixed when the veto was recorded)
    and the bureau's rules count the veto's rule for that commendation (``veto_rules``).
    """
    out: dict[Commendation, dict[int, list[rules.Bar]]] = {c: defaultdict(list) for c in Commendation}
    stmt = vetoes_in_force(as_of).order_by(Veto.school_id, Veto.starts_on, Veto.id)
    for veto in db.session.scalars(stmt):
        for code in veto.blocks or []:
            try:
                commendation = Commendation(code)
            except ValueError:
                continue
            counted = settings.get(commendation.value, {}).get("veto_rules")
            if counted is not None and veto.rule not in counted:
                continue
            out[commendation][veto.school_id].append(
                rules.Bar(veto.rule, veto.reason, rule_label(veto.rule)[1], veto.ends_on)
            )
    return out


def _spot_facts(period_ids: list[int], grade: str) -> dict[int, rules.SpotFacts]:
    """School → spot canteen inspections of the period (set-aside ones left out) and how many made the grade."""
    try:
        accepted = set(GRADE_ORDER[: GRADE_ORDER.index(Grade(grade)) + 1])
    except ValueError:
        accepted = {Grade.A}
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    if not period_ids:
        return {}
    rows = db.session.execute(
        select(Inspection.school_id, Inspection.grade).where(
            Inspection.kind == InspectionKind.CANTEEN,
            Inspection.mode == InspectionMode.SPOT,
            Inspection.excluded.is_(False),
            Inspection.period_id.in_(period_ids),
        )
    )
    for school_id, inspection_grade in rows:
        counts[school_id][0] += 1
        if inspection_grade in accepted:
            counts[school_id][1] += 1
    return {sid: rules.SpotFacts(total, graded) for sid, (total, graded) in counts.items()}


def _person_facts(period_ids: list[int], as_of: date) -> list[rules.PersonFacts]:
    """Everybody with an evaluation in an accepted report of the period, with their scores as stored
    (unrounded, formula 4 - never the 2-decimal shown values) and the personal vetoes in force on
    ``as_of``."""
    if not period_ids:
        return []
    rows = db.session.execute(
        select(Evaluation.school_id, Evaluation.staff_id, Evaluation.score, Period.year, Period.month)
        .join(
            MonthlyReport,
            and_(MonthlyReport.school_id == Evaluation.school_id, MonthlyReport.id == Evaluation.report_id),
        )
        .join(Period, Period.id == Evaluation.period_id)
        .where(MonthlyReport.state == ReportState.ACCEPTED, Evaluation.period_id.in_(period_ids))
    ).all()
    scores: dict[int, list[Decimal]] = defaultdict(list)
    last: dict[int, tuple[int, int]] = {}
    for _school_id, staff_id, score, year, month in rows:
        scores[staff_id].append(Decimal(score))
        last[staff_id] = max(last.get(staff_id, (year, month)), (year, month))
    if not scores:
        return []
    members = db.session.scalars(select(StaffMember).where(StaffMember.id.in_(list(scores)))).all()
    personal = staff_vetoes.in_force(as_of)
    out = []
    for m in members:
        year, month = last[m.id]
        out.append(
            rules.PersonFacts(
                staff_id=m.id,
                school_id=m.school_id,
                name=m.name,
                role=m.role,
                hire_date=m.hire_date,
                active=m.active,
                food_handler=m.role in FOOD_HANDLING_ROLES,
                cert_expiry=m.health_cert_expiry,
                scores=tuple(scores[m.id]),
                last_worked=date(year, month, calendar.monthrange(year, month)[1]),
                vetoes=tuple((*STAFF_VETO_LABELS[v.kind], v.occurred_on) for v in personal.get(m.id, [])),
            )
        )
    return out


def _store(row: CommendationRound, proposals: Sequence[rules.Proposal]) -> None:
    """Upsert the proposals as the round's candidates by (commendation, school, subject)."""
    existing = {
        (c.commendation.value, c.school_id, c.subject): c
        for c in db.session.scalars(
            select(CommendationCandidate).where(CommendationCandidate.round_id == row.id)
        )
    }
    for p in proposals:
        cand = existing.pop(p.key, None)
        if cand is None:
            cand = CommendationCandidate(
                round_id=row.id,
                school_id=p.school_id,
                commendation=p.commendation,
                staff_id=p.staff_id,
                subject=p.subject,
            )
            db.session.add(cand)
        cand.qualifies = p.qualifies
        cand.value = p.value
        cand.position = p.position
        cand.reasons = p.reasons()
        if not p.qualifies and cand.decision is not Decision.PENDING:
            _reset_decision(cand)
    for gone in existing.values():
        db.session.delete(gone)
    db.session.flush()


def _reset_decision(cand: CommendationCandidate) -> None:
    cand.decision = Decision.PENDING
    cand.comment = ""
    cand.decided_by_id = None
    cand.decided_at = None


def _summary(proposals: Sequence[rules.Proposal]) -> dict[str, Any]:
    out = {c.value: {"candidates": 0, "qualifying": 0} for c in COMMENDATION_ORDER}
    for p in proposals:
        out[p.commendation.value]["candidates"] += 1
        out[p.commendation.value]["qualifying"] += int(p.qualifies)
    return out


# --- candidates and decisions -------------------------------------------------------------------------


def candidates(
    row: CommendationRound,
    *,
    commendation: str | None = None,
    qualifies: bool | None = None,
    decision: str | None = None,
    awards_only: bool = False,
) -> Any:
    """A select of the round's candidates in scope, by commendation and position, with each line's
    school and staff member loaded alongside (two more statements, not one per line: a district's
    round lists hundreds of candidates, and every listing names them)."""
    order = {c.value: i for i, c in enumerate(COMMENDATION_ORDER)}
    stmt = (
        select(CommendationCandidate)
        .where(CommendationCandidate.round_id == row.id)
        .options(selectinload(CommendationCandidate.school), selectinload(CommendationCandidate.staff))
        .order_by(
            _case_order(order),
            CommendationCandidate.qualifies.desc(),
            CommendationCandidate.position,
            CommendationCandidate.id,
        )
    )
    if commendation:
        stmt = stmt.where(CommendationCandidate.commendation == Commendation(commendation))
    if qualifies is not None:
        stmt = stmt.where(CommendationCandidate.qualifies.is_(qualifies))
    if decision:
        stmt = stmt.where(CommendationCandidate.decision == Decision(decision))
    if awards_only:
        stmt = stmt.where(CommendationCandidate.decision == Decision.APPROVED)
    return stmt


def _case_order(order: Mapping[str, int]) -> Any:
    return case(order, value=CommendationCandidate.commendation, else_=len(order))


def awards_visible_stmt() -> Any:
    """What a school admin may see: approved awards of published rounds (their own, by tenancy)."""
    return (
        select(CommendationCandidate)
        .join(CommendationRound, CommendationRound.id == CommendationCandidate.round_id)
        .where(
            CommendationRound.state == RoundState.PUBLISHED,
            CommendationCandidate.decision == Decision.APPROVED,
        )
    )


def decide(
    candidate: CommendationCandidate,
    decision: Decision,
    comment: str,
    *,
    user: User | None,
    now: datetime,
) -> CommendationCandidate:
    """Approve or reject one qualifying candidate (a comment is required to reject); 409 once published.

    The decision is made on the one the decider saw (``candidate.decision`` as loaded): of two made at
    the same moment one wins and the other is refused (409) rather than silently overwriting it. A
    decider who has seen the other decision may still change it - minds may change until publication.
    """
    seen = candidate.decision
    row = _lock(candidate.round)
    _ensure_not_published(row)
    db.session.refresh(candidate, ["qualifies"])  # a re-proposal may have run while we waited for the lock
    if not candidate.qualifies:
        raise Conflict({"decision": [_("Only qualifying candidates are approved or rejected.")]})
    if decision not in (Decision.APPROVED, Decision.REJECTED):
        raise DomainError({"decision": [_("Must be one of: %(choices)s.", choices="approved, rejected")]})
    comment = (comment or "").strip()
    if decision is Decision.REJECTED and not comment:
        raise DomainError({"comment": [_("Give a reason when rejecting a candidate.")]})
    workflow.claim(candidate, seen, column="decision", field="decision", refusal=_decided_meanwhile)
    candidate.decision = decision
    candidate.comment = comment
    candidate.decided_by_id = user.id if user else None
    candidate.decided_at = now
    db.session.flush()
    return candidate


def _decided_meanwhile(current: Decision) -> str:
    return _(
        "Someone else decided this candidate at the same moment (now: %(decision)s); check it and decide again.",
        decision=label(DECISION_LABELS, current),
    )


@dataclass
class BulkDecision:
    """What :func:`decide_many` did: the candidates decided, and each refused one with its errors."""

    decided: list[CommendationCandidate] = field(default_factory=list)
    refused: list[tuple[CommendationCandidate, dict[str, list[str]]]] = field(default_factory=list)


def decide_many(
    row: CommendationRound,
    cands: Sequence[CommendationCandidate],
    decision: Decision,
    comment: str,
    *,
    user: User | None,
    now: datetime,
) -> BulkDecision:
    """Approve or reject each of ``cands`` of round ``row`` with the same comment.

    Each one goes through :func:`decide` (the rules of one decision, unchanged) in a savepoint of its
    own, so a refusal - a near miss that does not qualify, a rejection without a reason, a candidate
    of another round - undoes that candidate only and is reported with its errors, while the others
    stay decided for the caller to commit (the bureau admin who ticked twenty lines expects nineteen
    decided and to be told about the one).
    """
    outcome = BulkDecision()
    for cand in cands:
        try:
            with db.session.begin_nested():
                if cand.round_id != row.id:
                    raise Conflict({"candidate_ids": [_("This candidate belongs to another round.")]})
                decide(cand, decision, comment, user=user, now=now)
        except DomainError as exc:
            outcome.refused.append((cand, exc.errors))
        else:
            outcome.decided.append(cand)
    return outcome


# --- publishing ---------------------------------------------------------------------------------------

CERTIFICATE_CODES = {
    Commendation.ADVANCED_UNIT: "XJDW",  # 先进单位
    Commendation.TRUSTED_CANTEEN: "FXST",  # 放心食堂
    Commendation.SAFE_CAMPUS: "PAXY",  # 平安校园
    Commendation.OUTSTANDING_STAFF: "YXHQ",  # 优秀后勤人员
}


def certificate_number(row: CommendationRound, commendation: Commendation, seq: int) -> str:
    """``2025-2026-2-XJDW-001``: period key, commendation code, running number per commendation."""
    return f"{row.key}-{CERTIFICATE_CODES[commendation]}-{seq:03d}"


@dataclass
class PublicationPreview:
    """What publishing a round would freeze, shown for confirmation before the irreversible step.

    ``digest`` identifies exactly this list (the proposal it came from and every decision); publishing
    must quote it. ``counts`` per commendation: ``(approved, rejected)``; ``awards`` and ``rejected``
    are the lines themselves, in list order.
    """

    digest: str
    pending: int
    counts: dict[Commendation, tuple[int, int]]
    awards: list[CommendationCandidate]
    rejected: list[CommendationCandidate]

    @property
    def total_awards(self) -> int:
        return len(self.awards)


def publication_preview(row: CommendationRound) -> PublicationPreview:
    """The decided list of ``row`` as publishing would freeze it (bureau scope: every school's lines)."""
    lines = list(db.session.scalars(candidates(row, qualifies=True)))
    material = {
        "round": row.id,
        "computed_at": row.computed_at.isoformat() if row.computed_at else None,
        "decisions": sorted([c.id, c.decision.value] for c in lines),
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    awards = [c for c in lines if c.decision is Decision.APPROVED]
    rejected = [c for c in lines if c.decision is Decision.REJECTED]
    counts = {
        c: (
            sum(1 for a in awards if a.commendation is c),
            sum(1 for r in rejected if r.commendation is c),
        )
        for c in COMMENDATION_ORDER
    }
    pending = sum(1 for c in lines if c.decision is Decision.PENDING)
    return PublicationPreview(digest, pending, counts, awards, rejected)


def publish(row: CommendationRound, *, user: User | None, now: datetime, confirm: str) -> CommendationRound:
    """Freeze the round: number the approved awards and queue their certificates.

    Every qualifying candidate must be decided first (409 naming how many are not), and ``confirm``
    must be the digest of the list as shown for confirmation (:func:`publication_preview`; 409 on
    ``confirm`` when it is missing or the list changed since). Runs in the bureau scope, so it numbers
    every award of the district. The certificate PDFs are rendered by :data:`CERTIFICATES_TASK` after
    the commit (:func:`issue_certificates`): a district that commends hundreds of staff needs about a
    minute of WeasyPrint, longer than a web request may take.
    """
    row = _lock(row)
    _ensure_not_published(row)
    workflow.claim(row, RoundState.PROPOSED, field="round", refusal=lambda _state: _published_message())
    if row.computed_at is None:
        raise Conflict({"round": [_("The candidates have not been proposed yet.")]})
    preview = publication_preview(row)
    if preview.pending:
        raise Conflict(
            {"candidates": [_("%(count)s qualifying candidates are not decided yet.", count=preview.pending)]}
        )
    if not confirm:
        raise Conflict(
            {"confirm": [_("Publishing needs a confirmation: check the list to be frozen first.")]}
        )
    if confirm != preview.digest:
        raise Conflict(
            {"confirm": [_("The list has changed since it was shown for confirmation; check it again.")]}
        )
    awards = list(db.session.scalars(candidates(row, awards_only=True)))
    seq: dict[Commendation, int] = defaultdict(int)
    for cand in awards:
        seq[cand.commendation] += 1
        cand.certificate_no = certificate_number(row, cand.commendation, seq[cand.commendation])
    row.state = RoundState.PUBLISHED
    row.published_by_id = user.id if user else None
    row.published_at = now
    enqueue_task(CERTIFICATES_TASK, scope=TenantScope.bureau(), round_id=row.id)
    db.session.flush()
    return row


def _awards_without_certificate(row: CommendationRound) -> Any:
    issued = select(CommendationCertificate.candidate_id).where(
        CommendationCertificate.candidate_id == CommendationCandidate.id
    )
    return candidates(row, awards_only=True).where(~issued.exists())


def issue_certificates(row: CommendationRound, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Render and store the certificate PDF of every award of published ``row`` that has none yet.

    Idempotent and resumable: awards that already have a certificate are skipped, so a redelivered
    or re-run job issues only what is missing, and every certificate is dated the day of
    publication (not of the run), so it is the same document whenever it is rendered. Rendered
    :data:`CERTIFICATE_BATCH` at a time (one WeasyPrint layout per batch). Returns how many it issued.
    """
    from service.commendations.certificates import render_certificates

    row = _lock(row)
    if not row.is_published or row.published_at is None:
        raise Conflict({"round": [_("The list is not published yet.")]})
    todo = list(db.session.scalars(_awards_without_certificate(row)))
    published_on = _local_day(row.published_at)
    for start in range(0, len(todo), CERTIFICATE_BATCH):
        batch = todo[start : start + CERTIFICATE_BATCH]
        for cand, pdf in zip(batch, render_certificates(row, batch, published_on=published_on), strict=True):
            db.session.add(
                CommendationCertificate(
                    school_id=cand.school_id,
                    candidate_id=cand.id,
                    certificate_no=cand.certificate_no,
                    pdf=pdf,
                    sha256=_sha256(pdf),
                )
            )
        db.session.flush()
        if progress is not None:
            progress(start + len(batch), len(todo))
    return len(todo)


def certificate_counts(row: CommendationRound) -> tuple[int, int]:
    """(certificates issued, awards) of a round in the current scope; (0, 0) before publication."""
    if not row.is_published:
        return 0, 0
    awards = candidates(row, awards_only=True).subquery()
    total = db.session.scalar(select(func.count()).select_from(awards)) or 0
    issued = db.session.scalar(
        select(func.count())
        .select_from(CommendationCertificate)
        .join(awards, awards.c.id == CommendationCertificate.candidate_id)
    )
    return int(issued or 0), int(total)


def _local_day(moment: datetime) -> date:
    day = local(moment)
    assert day is not None
    return day.date()


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def certificate_of(candidate: CommendationCandidate) -> CommendationCertificate | None:
    return db.session.scalars(
        select(CommendationCertificate).where(
            CommendationCertificate.school_id == candidate.school_id,
            CommendationCertificate.candidate_id == candidate.id,
        )
    ).one_or_none()
