"""REST endpoints for commendations (表彰): rules, rounds, candidates, decisions, certificates, the list.

Who sees what: bureau admins and officials see every round and candidate, inspectors those of their
cluster's schools (tenancy), and a school admin only the approved awards of published rounds of
their own school - the candidate lists under review are the bureau's deliberation. Only the bureau
admin changes anything: the rules, proposing, deciding, publishing (403 for the others).

Proposing is for a term or year that has ended (its last month locked; 409 otherwise).
``POST /rounds`` with ``{kind, key}`` queues the job through the outbox and answers 202
with the round (``computed_at`` stays empty until the job has run); ``?sync=1`` computes in the request
and answers 200 - fine for a district of a few dozen schools (the job reads one ranking snapshot and
a handful of set-based queries). Publishing freezes the list and queues the certificate job
(WeasyPrint takes about 0.2 s a certificate, too long for a request when hundreds of staff are
commended); the round's ``certificates`` counts what is issued, and a certificate not rendered yet
answers 409. Publishing is confirmed: ``GET /rounds/<id>/publication`` shows what will be frozen with
its ``digest``, and ``POST /rounds/<id>/publish?confirm=<digest>`` publishes exactly that list (409
when the digest is missing or the list changed since).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Response
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.commendations import operations
from service.commendations.export import published_workbook
from service.commendations.models import CommendationCandidate, CommendationRound, Decision
from service.commendations.schemas import (
    BulkDecisionIn,
    BulkDecisionOut,
    CandidateDecisionIn,
    CandidateListArgs,
    CandidateOut,
    ProposeArgs,
    PublicationOut,
    PublishArgs,
    QueuedOut,
    RoundIn,
    RoundListArgs,
    RoundOut,
    RulesIn,
    RulesOut,
    json_ready,
)
from service.core.errors import Conflict, NotFound
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.core.types import utcnow
from service.db import db
from service.excel.common import XLSX_MIMETYPE

blp = Blueprint(
    "commendations", __name__, url_prefix="/api/v1/commendations", description="表彰 Commendations"
)


def _user() -> Any:
    return current_user._get_current_object()


def _school_side() -> bool:
    return current_user.role is Role.SCHOOL_ADMIN


def _round(round_id: int) -> CommendationRound:
    """A round; school admins see published rounds only."""
    row = get_or_404(CommendationRound, round_id)
    if _school_side() and not row.is_published:
        raise NotFound()
    return row


def _candidate(candidate_id: int) -> CommendationCandidate:
    """A candidate in scope; school admins see approved awards of published rounds only."""
    stmt = (operations.awards_visible_stmt() if _school_side() else select(CommendationCandidate)).where(
        CommendationCandidate.id == candidate_id
    )
    cand = db.session.scalars(stmt).one_or_none()
    if cand is None:
        raise NotFound()
    return cand


def _download(data: bytes, mimetype: str, ascii_name: str, utf8_name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name)
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@blp.route("/rules")
class Rules(MethodView):
    @blp.response(200, RulesOut)
    def get(self) -> Any:
        """The commendation rules in force: thresholds, shares, quotas and the vetoes that bar each."""
        version, settings = operations.current_rules()
        return {"version": version, "settings": settings}

    @blp.arguments(RulesIn)
    @blp.response(200, RulesOut)
    def put(self, data: dict[str, Any]) -> Any:
        """Change the rules (bureau admin): stored as a new version; earlier rounds keep theirs."""
        ensure_role(Role.BUREAU_ADMIN)
        version, settings = operations.update_rules(
            json_ready(data["settings"]), note=data["note"], user=_user()
        )
        db.session.commit()
        return {"version": version, "settings": settings}


@blp.route("/rounds")
class Rounds(MethodView):
    @blp.arguments(RoundListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, RoundOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any]) -> Any:
        """Commendation rounds, newest period first (school admins: published ones)."""
        stmt = operations.list_rounds(
            kind=filters["kind"].value if "kind" in filters else None,
            state=filters["state"].value if "state" in filters else None,
            published_only=_school_side(),
        )
        return paginate(stmt, **page)

    @blp.arguments(RoundIn)
    @blp.arguments(ProposeArgs, location="query")
    @blp.response(202, QueuedOut)
    def post(self, data: dict[str, Any], args: dict[str, Any]) -> Any:
        """Propose (or re-propose) the candidates of a term or year (bureau admin); 409 once published.

        Queued as ``tasks.commendations.propose`` (202); ``?sync=1`` computes now (200).
        """
        ensure_role(Role.BUREAU_ADMIN)
        kind, key = data["kind"].value, data["key"]
        if args["sync"]:
            row = operations.propose(kind, key, user=_user())
            db.session.commit()
            return {"queued": False, "task": "", "round": row}, 200
        row = operations.queue_proposal(kind, key, user=_user())
        db.session.commit()
        return {"queued": True, "task": operations.PROPOSE_TASK, "round": row}


@blp.route("/rounds/<int:round_id>")
class RoundItem(MethodView):
    @blp.response(200, RoundOut)
    def get(self, round_id: int) -> Any:
        return _round(round_id)


@blp.route("/rounds/<int:round_id>/candidates")
class RoundCandidates(MethodView):
    @blp.arguments(CandidateListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CandidateOut(many=True))
    def get(self, filters: dict[str, Any], page: dict[str, Any], round_id: int) -> Any:
        """The round's candidates in scope with the reasons each qualifies or not."""
        row = _round(round_id)
        stmt = operations.candidates(
            row,
            commendation=filters["commendation"].value if "commendation" in filters else None,
            qualifies=filters.get("qualifies"),
            decision=filters["decision"].value if "decision" in filters else None,
            awards_only=_school_side(),
        )
        return paginate(stmt, **page)


@blp.route("/rounds/<int:round_id>/decisions")
class RoundDecisions(MethodView):
    @blp.arguments(BulkDecisionIn)
    @blp.response(200, BulkDecisionOut)
    def post(self, data: dict[str, Any], round_id: int) -> Any:
        """Approve or reject several candidates with one comment (bureau admin); each is decided on its
        own - a refused one (not qualifying, rejected without a reason) is listed with its errors while
        the others are decided. A candidate id not in your scope answers 404."""
        row = _round(round_id)
        ensure_role(Role.BUREAU_ADMIN)
        cands = [_candidate(cid) for cid in dict.fromkeys(data["candidate_ids"])]
        outcome = operations.decide_many(
            row, cands, Decision(data["decision"]), data["comment"], user=_user(), now=utcnow()
        )
        db.session.commit()
        return outcome


@blp.route("/rounds/<int:round_id>/publication")
class Publication(MethodView):
    @blp.response(200, PublicationOut)
    def get(self, round_id: int) -> Any:
        """What publishing would freeze (bureau roles): awards and rejections per commendation, the
        names, how many are still pending, and the ``digest`` to publish with."""
        row = _round(round_id)
        ensure_role(Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL)
        return operations.publication_preview(row)


@blp.route("/rounds/<int:round_id>/publish")
class PublishRound(MethodView):
    @blp.arguments(PublishArgs, location="query")
    @blp.response(200, RoundOut)
    def post(self, args: dict[str, Any], round_id: int) -> Any:
        """Freeze the list (bureau admin) as confirmed: ``confirm`` is the digest of
        ``GET …/publication``; every qualifying candidate must be decided. Numbers the approved awards
        and queues the job that stores a certificate PDF for each (``certificates`` counts them). Any
        later change answers 409."""
        row = _round(round_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.publish(row, user=_user(), now=utcnow(), confirm=args["confirm"])
        db.session.commit()
        return row


@blp.route("/rounds/<int:round_id>/awards.xlsx")
class AwardsWorkbook(MethodView):
    @blp.doc(responses={"200": {"description": "the published list (xlsx)"}})
    def get(self, round_id: int) -> Any:
        """The published list of approved awards in scope as a workbook; 409 before publication."""
        row = _round(round_id)
        if not row.is_published:
            raise Conflict({"round": [_("The list is not published yet.")]})
        awards = list(db.session.scalars(operations.candidates(row, awards_only=True)))
        return _download(
            published_workbook(row, awards),
            XLSX_MIMETYPE,
            f"houqin-commendations-{row.key}.xlsx",
            f"表彰名单-{row.key}.xlsx",
        )


@blp.route("/candidates/<int:candidate_id>")
class CandidateItem(MethodView):
    @blp.response(200, CandidateOut)
    def get(self, candidate_id: int) -> Any:
        return _candidate(candidate_id)


@blp.route("/candidates/<int:candidate_id>/decision")
class CandidateDecision(MethodView):
    @blp.arguments(CandidateDecisionIn)
    @blp.response(200, CandidateOut)
    def post(self, data: dict[str, Any], candidate_id: int) -> Any:
        """Approve or reject a qualifying candidate with a comment (required to reject); bureau admin."""
        cand = _candidate(candidate_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.decide(cand, Decision(data["decision"]), data["comment"], user=_user(), now=utcnow())
        db.session.commit()
        return cand


@blp.route("/candidates/<int:candidate_id>/certificate.pdf")
class Certificate(MethodView):
    @blp.doc(responses={"200": {"description": "the certificate as issued (PDF)"}})
    def get(self, candidate_id: int) -> Any:
        """The stored certificate of a published award (the same bytes on every download)."""
        cand = _candidate(candidate_id)
        cert = operations.certificate_of(cand)
        if cert is None:
            if cand.round.is_published and cand.certificate_no:
                raise Conflict(
                    {"certificate": [_("The certificate is still being generated; try again shortly.")]}
                )
            raise NotFound()
        return _download(
            cert.pdf,
            "application/pdf",
            f"certificate-{cert.certificate_no}.pdf",
            f"荣誉证书-{cert.certificate_no}.pdf",
        )
