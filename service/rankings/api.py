"""REST endpoints for rankings (排名): the current snapshot of a month, term or year, its sensitivity,
the immutable snapshots and their canonical payload, a school's score history, and recomputing.

Scoping is the tenant wall's: entries and month scores are school-owned, so a school admin reads
their own line and an inspector the schools of their clusters. What holds every school at once (the
sensitivity table, the canonical payload) is for the bureau roles only.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.errors import DomainError
from service.core.labels import label
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.timeutil import api_timestamp
from service.db import db
from service.jobs.operations import requested_by
from service.org.models import School
from service.periods.models import Period
from service.rankings import jobs as ranking_jobs
from service.rankings import listing
from service.rankings.calendar import parse_target
from service.rankings.engine import payload_bytes
from service.rankings.models import RankingKind, RankingSnapshot
from service.rankings.operations import current_snapshot
from service.rankings.schemas import (
    RankingArgs,
    RankingOut,
    RecomputeIn,
    RecomputeOut,
    SchoolScoresOut,
    SensitivityOut,
    SnapshotOut,
)
from service.scoring.explain import num
from service.scoring.models import MONTH_STATUS_LABELS, SchoolMonthScore

blp = Blueprint("rankings", __name__, url_prefix="/api/v1", description="排名 Rankings")

BUREAU = (Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL)


def _current(kind: str, key: str) -> RankingSnapshot:
    """The current snapshot of ``kind``/``key``: 422 for a malformed key, 404 when none exists yet."""
    target = parse_target(kind, key)
    snapshot = current_snapshot(target.kind, target.key)
    if snapshot is None:
        zh, en = target.label
        raise DomainError(
            {
                "_request": [
                    _(
                        "No ranking has been computed for %(target)s yet.",
                        target=label({0: (zh, en)}, 0),
                    )
                ]
            },
            status=404,
        )
    return snapshot


@blp.route("/rankings/<kind>/<key>")
class Ranking(MethodView):
    @blp.arguments(RankingArgs, location="query")
    @blp.response(200, RankingOut)
    def get(self, args: dict[str, Any], kind: str, key: str) -> Any:
        """The current ranking of a month (``2026-03``), term (``2025-2026-1``) or year (``2025-2026``).

        Filters: ``peer_group``, ``cluster_id``, ``status``; ``sort=rank|score|school|movement`` with
        ``order=asc|desc``; paginated when ``per_page`` is given. Entries are those in your scope.
        """
        snapshot = _current(kind, key)
        stmt = listing.entries_select(
            snapshot,
            peer_group=args.get("peer_group"),
            cluster_id=args.get("cluster_id"),
            status=args.get("status"),
            sort=args["sort"],
            order=args.get("order"),
        )
        if "per_page" in args or "page" in args:
            entries = paginate(stmt, page=args.get("page", 1), per_page=args.get("per_page", 50))
            from flask import g

            total = g.pagination["total"]
        else:
            entries = list(db.session.scalars(stmt))
            total = len(entries)
        return {
            "snapshot": listing.snapshot_header(snapshot),
            "total": total,
            "entries": listing.entry_dicts(entries),
        }


@blp.route("/rankings/<kind>/<key>/sensitivity")
class Sensitivity(MethodView):
    @blp.response(200, SensitivityOut)
    def get(self, kind: str, key: str) -> Any:
        """How far each school's rank moves when one area weight shifts by ± the setting (bureau roles).

        Terms and years only: max and median of the rank change over the six scenarios, and the summary.
        """
        ensure_role(*BUREAU)
        snapshot = _current(kind, key)
        if snapshot.kind is RankingKind.MONTH:
            raise DomainError({"kind": [_("Sensitivity is computed for terms and years only.")]})
        entries = list(db.session.scalars(listing.entries_select(snapshot)))
        return {
            "snapshot": listing.snapshot_header(snapshot),
            "summary": (snapshot.summary or {}).get("sensitivity"),
            "entries": listing.entry_dicts(entries, sensitivity=True),
        }


@blp.route("/rankings/snapshots/<int:snapshot_id>")
class SnapshotItem(MethodView):
    @blp.response(200, SnapshotOut)
    def get(self, snapshot_id: int) -> Any:
        """One snapshot's header: what it ranks, when, with which rules, its hashes and counts."""
        return listing.snapshot_header(get_or_404(RankingSnapshot, snapshot_id))


@blp.route("/rankings/snapshots/<int:snapshot_id>/payload")
class SnapshotPayload(MethodView):
    @blp.response(200, content_type="application/json")
    def get(self, snapshot_id: int) -> Any:
        """The canonical bytes of a snapshot (SHA-256 = ``payload_hash``): every school, bureau roles only."""
        ensure_role(*BUREAU)
        snapshot = get_or_404(RankingSnapshot, snapshot_id)
        resp = Response(payload_bytes(snapshot), mimetype="application/json")
        resp.headers["ETag"] = f'"{snapshot.payload_hash}"'
        return resp


@blp.route("/rankings/recompute")
class Recompute(MethodView):
    @blp.arguments(RecomputeIn)
    @blp.response(202, RecomputeOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Score a month and rank it, its term and its year, in the background (bureau admin).

        Answers at once with the job run to follow at ``/api/v1/jobs/<id>``.
        """
        ensure_role(Role.BUREAU_ADMIN)
        run_id, run_key = ranking_jobs.queue_recompute(
            data["period"], requested_by=requested_by(current_user)
        )
        db.session.commit()  # sends the task (the outbox dispatches after commit)
        return {"job_run_id": run_id, "run_key": run_key}


@blp.route("/schools/<int:school_id>/scores")
class SchoolScores(MethodView):
    @blp.response(200, SchoolScoresOut)
    def get(self, school_id: int) -> Any:
        """A school's history: its month scores and its lines in the current rankings."""
        school = get_or_404(School, school_id)
        rows = db.session.execute(
            select(SchoolMonthScore, Period)
            .join(Period, Period.id == SchoolMonthScore.period_id)
            .where(SchoolMonthScore.school_id == school.id)
            .order_by(Period.year, Period.month)
        ).all()
        months = [
            {
                "period_id": period.id,
                "period": period.code,
                "status": row.status.value,
                "status_label": label(MONTH_STATUS_LABELS, row.status),
                "late": row.late,
                "canteen_area": num(row.canteen_area),
                "safety_area": num(row.safety_area),
                "staff_area": num(row.staff_area),
                "composite": num(row.composite),
                "band": row.band.value if row.band else None,
                "canteen_flag": row.canteen_flag,
                "safety_flag": row.safety_flag,
                "overdue_hazards": row.overdue_hazards,
                "key_failed": row.key_failed,
                "rules_version": row.rules_version,
                "computed_at": api_timestamp(row.computed_at),
            }
            for row, period in rows
        ]
        return {
            "school_id": school.id,
            "school_code": school.code,
            "school_name": school.name,
            "months": months,
            "rankings": listing.current_entries_of_school(school.id),
        }
