"""Appeals against spot inspections: plain functions over the session (flush, never commit).

The API checks the caller's role and scope (it knows the request); these functions enforce the rules
of the appeal itself: only spot inspections, within ten working days, one open appeal per inspection,
a decider other than the original inspector, and what an upheld appeal does to the inspection.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from service.appeals.models import (
    APPEAL_ACTION_LABELS,
    APPEAL_STATE_LABELS,
    APPEAL_TRANSITIONS,
    APPEAL_WORKING_DAYS,
    OUTCOME_ACTIONS,
    AppealState,
    InspectionAppeal,
    InspectionAppealTransition,
)
from service.appeals.workdays import configured_holidays, nth_working_day_after
from service.audit.trail import current_actor
from service.core import events, workflow
from service.core.errors import Conflict, DomainError
from service.core.labels import label
from service.db import db
from service.incidents import vetoes
from service.inspections.models import Inspection, InspectionMode

MIN_TEXT = 4  # a reason or a decision note of fewer characters explains nothing
EXCLUDED_REASON_MAX = 500  # Inspection.excluded_reason
APPEAL_FILING_LOCK = 714_031  # workflow.serialize: one filing per inspection at a time


def last_filing_day(inspection: Inspection) -> date:
    """The last day to appeal: the 10th working day after the inspection date."""
    return nth_working_day_after(inspection.inspected_on, APPEAL_WORKING_DAYS, configured_holidays())


# --- reading -----------------------------------------------------------------------------------------


def list_appeals(*, state: AppealState | None = None, inspection_id: int | None = None) -> Any:
    """Appeals in the caller's scope, newest first."""
    stmt = (
        select(InspectionAppeal)
        .options(selectinload(InspectionAppeal.inspection))
        .order_by(InspectionAppeal.filed_at.desc(), InspectionAppeal.id.desc())
    )
    if state is not None:
        stmt = stmt.where(InspectionAppeal.state == state)
    if inspection_id is not None:
        stmt = stmt.where(InspectionAppeal.inspection_id == inspection_id)
    return stmt


def decision_queue(*, decided: bool | None = None, inspector_id: int | None = None, own: bool = False) -> Any:
    """Appeals in the caller's scope for a reviewer's queue: pending ones oldest first (the longest
    waiting), decided ones newest decision first.

    With ``inspector_id``, ``own=False`` leaves out the appeals against that person's own inspections
    (they may never decide those, :func:`ensure_may_decide`), and ``own=True`` lists only those.
    """
    stmt = (
        select(InspectionAppeal)
        .join(
            Inspection,
            and_(
                Inspection.school_id == InspectionAppeal.school_id,
                Inspection.id == InspectionAppeal.inspection_id,
            ),
        )
        .options(selectinload(InspectionAppeal.inspection))
    )
    if decided is True:
        stmt = stmt.where(InspectionAppeal.state != AppealState.SUBMITTED).order_by(
            InspectionAppeal.decided_at.desc(), InspectionAppeal.id.desc()
        )
    else:
        if decided is False:
            stmt = stmt.where(InspectionAppeal.state == AppealState.SUBMITTED)
        stmt = stmt.order_by(InspectionAppeal.filed_at, InspectionAppeal.id)
    if inspector_id is not None:
        if own:
            stmt = stmt.where(Inspection.inspector_user_id == inspector_id)
        else:
            stmt = stmt.where(
                or_(Inspection.inspector_user_id.is_(None), Inspection.inspector_user_id != inspector_id)
            )
    return stmt


def appealable_inspections(*, today: date) -> list[tuple[Inspection, date]]:
    """The spot inspections in the caller's scope a school may still appeal today, with the last day
    to do so: not set aside, no appeal open or upheld, filing day not passed. Soonest deadline first."""
    since = today - timedelta(days=APPEAL_WORKING_DAYS * 3)  # ten working days never span more
    spots = db.session.scalars(
        select(Inspection)
        .where(
            Inspection.mode == InspectionMode.SPOT,
            Inspection.inspected_on >= since,
            Inspection.excluded.is_(False),
        )
        .order_by(Inspection.inspected_on, Inspection.id)
    ).all()
    out = []
    for inspection in spots:
        due = last_filing_day(inspection)
        states = {a.state for a in _appeals_of(inspection)}
        if today <= due and not states & {AppealState.SUBMITTED, AppealState.UPHELD}:
            out.append((inspection, due))
    return sorted(out, key=lambda pair: (pair[1], pair[0].id))


def may_decide(appeal: InspectionAppeal, user_id: int | None) -> bool:
    """Whether ``user_id`` is someone other than the inspection's inspector (see :func:`ensure_may_decide`)."""
    try:
        ensure_may_decide(appeal, user_id)
    except DomainError:
        return False
    return True


def transitions_of(appeal: InspectionAppeal) -> list[InspectionAppealTransition]:
    return list(
        db.session.scalars(
            select(InspectionAppealTransition)
            .where(
                InspectionAppealTransition.school_id == appeal.school_id,
                InspectionAppealTransition.appeal_id == appeal.id,
            )
            .order_by(InspectionAppealTransition.at, InspectionAppealTransition.id)
        )
    )


def _appeals_of(inspection: Inspection) -> list[InspectionAppeal]:
    return list(
        db.session.scalars(
            select(InspectionAppeal).where(
                InspectionAppeal.school_id == inspection.school_id,
                InspectionAppeal.inspection_id == inspection.id,
            )
        )
    )


# --- filing ------------------------------------------------------------------------------------------


def file_appeal(inspection: Inspection, reason: str, *, today: date, now: datetime) -> InspectionAppeal:
    """The school appeals ``inspection`` (a spot inspection of its own) with a reason.

    422 for a self-inspection, a late appeal or a missing reason; 409 while another appeal of the
    inspection is open, or once one has been upheld (the inspection is already set aside).
    """
    if inspection.mode is not InspectionMode.SPOT:
        raise DomainError({"inspection_id": [_("Only a spot inspection by the bureau can be appealed.")]})
    reason = (reason or "").strip()
    if len(reason) < MIN_TEXT:
        raise DomainError({"reason": [_("Please give a reason (at least 4 characters).")]})
    workflow.serialize(APPEAL_FILING_LOCK, inspection.id)  # two filings at once: the second sees the first
    earlier = _appeals_of(inspection)
    if any(a.state is AppealState.SUBMITTED for a in earlier):
        raise Conflict(
            {"inspection_id": [_("This inspection already has an appeal waiting for a decision.")]}
        )
    if inspection.excluded or any(a.state is AppealState.UPHELD for a in earlier):
        raise Conflict(
            {"inspection_id": [_("An appeal against this inspection was upheld; it is already set aside.")]}
        )
    due = last_filing_day(inspection)
    if today > due:
        raise DomainError(
            {
                "inspection_id": [
                    _(
                        "The time to appeal has passed: an appeal must be filed within %(days)s working "
                        "days of the inspection, by %(due)s.",
                        days=APPEAL_WORKING_DAYS,
                        due=due.isoformat(),
                    )
                ]
            }
        )
    appeal = InspectionAppeal(
        school_id=inspection.school_id,
        inspection_id=inspection.id,
        reason=reason,
        state=AppealState.SUBMITTED,
        filed_by_id=current_actor().user_id,
        filed_at=now,
        due_on=due,
    )
    db.session.add(appeal)
    db.session.flush()
    db.session.add(
        InspectionAppealTransition(
            school_id=appeal.school_id,
            appeal_id=appeal.id,
            from_state=None,
            to_state=AppealState.SUBMITTED,
            action="file",
            actor_id=current_actor().user_id,
            at=now,
            note=reason,
        )
    )
    db.session.flush()
    return appeal


# --- deciding ----------------------------------------------------------------------------------------


def ensure_may_decide(appeal: InspectionAppeal, user_id: int | None) -> None:
    """A different inspector decides: refuse (403) the one who carried out the inspection."""
    inspector_id = appeal.inspection.inspector_user_id
    if inspector_id is not None and inspector_id == user_id:
        raise DomainError(
            {
                "_request": [
                    _(
                        "You carried out this inspection, so you cannot decide its appeal; "
                        "a different inspector or the bureau must review it."
                    )
                ]
            },
            status=403,
        )


def decide(appeal: InspectionAppeal, outcome: AppealState, note: str, *, now: datetime) -> InspectionAppeal:
    """Uphold or reject an open appeal with a note (409 if it is already decided).

    Upheld: the inspection is set aside (``excluded``, with the reason), its veto-item vetoes are
    removed, and :data:`events.INSPECTION_APPEAL_UPHELD` tells the ranking engine to recompute the
    school's month. Rejected: the inspection stays exactly as it was. The decider is the current
    actor, and must not be the inspection's inspector (403).
    """
    ensure_may_decide(appeal, current_actor().user_id)
    action = OUTCOME_ACTIONS.get(outcome)
    if action is None:
        raise DomainError({"outcome": [_("Must be one of: %(choices)s.", choices="upheld, rejected")]})
    if appeal.state not in APPEAL_TRANSITIONS[action][0]:  # already decided: say so before anything else
        raise Conflict({"state": [_refusal(appeal.state, action)]})
    note = (note or "").strip()
    if len(note) < MIN_TEXT:
        raise DomainError({"note": [_("Please give a decision note (at least 4 characters).")]})
    workflow.advance(
        appeal,
        action,
        transitions=APPEAL_TRANSITIONS,
        log_model=InspectionAppealTransition,
        link="appeal_id",
        refusal=_refusal,
        now=now,
        note=note,
    )
    appeal.decided_by_id = current_actor().user_id
    appeal.decided_at = now
    appeal.decision_note = note
    db.session.flush()
    if appeal.state is AppealState.UPHELD:
        _set_aside(appeal)
    return appeal


def _refusal(state: AppealState, action: str) -> str:
    return _(
        "An appeal in state %(state)s cannot be %(action)s.",
        state=label(APPEAL_STATE_LABELS, state),
        action=label(APPEAL_ACTION_LABELS, action),
    )


def _set_aside(appeal: InspectionAppeal) -> None:
    inspection = db.session.scalars(
        select(Inspection).where(
            Inspection.school_id == appeal.school_id, Inspection.id == appeal.inspection_id
        )
    ).one()
    inspection.excluded = True
    inspection.excluded_reason = f"申诉成立（申诉#{appeal.id}）：{appeal.decision_note}"[:EXCLUDED_REASON_MAX]
    db.session.flush()
    vetoes.clear_inspection_vetoes(inspection.school_id, inspection.id)
    events.emit(
        events.INSPECTION_APPEAL_UPHELD,
        school_id=inspection.school_id,
        period_id=inspection.period_id,
        inspection_id=inspection.id,
    )
