"""REST endpoints for scores: a school-month's explanation, and the scoring rule set (评分与排名规则).

Rules are versioned (append-only): a PUT adds a version, and the rankings computed afterwards record
it; past snapshots keep the version they were computed with.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.timeutil import api_timestamp
from service.db import db
from service.rankings.schemas import ExplanationOut, ScoringRulesIn, ScoringRulesOut, rules_to_settings
from service.rules import operations as rules
from service.rules.models import RuleKind, RuleSet
from service.scoring.explain import explain, period_by_code

blp = Blueprint("scoring", __name__, url_prefix="/api/v1", description="评分 Scores and scoring rules")


@blp.route("/scores/<int:school_id>/<period_code>/explanation")
class Explanation(MethodView):
    @blp.response(200, ExplanationOut)
    def get(self, school_id: int, period_code: str) -> Any:
        """From the composite down to each deducted item, for one school and month (``2026-03``)."""
        period = period_by_code(period_code)  # held: explain() finds it in the identity map
        return explain(school_id, period.id)


def _rules_out() -> dict[str, Any]:
    version, settings = rules.current(RuleKind.SCORING)
    row = db.session.scalars(
        select(RuleSet).where(RuleSet.kind == RuleKind.SCORING, RuleSet.version == version)
    ).first()
    return {
        "kind": RuleKind.SCORING.value,
        "version": version,
        "settings": settings,
        "note": row.note if row else "",
        "created_at": api_timestamp(row.created_at) if row else None,
        "created_by_id": row.created_by_id if row else None,
    }


@blp.route("/rules/scoring")
class ScoringRules(MethodView):
    @blp.response(200, ScoringRulesOut)
    def get(self) -> Any:
        """The scoring and ranking rules in force (weights, spot share, late deduction, bands, ...)."""
        return _rules_out()

    @blp.arguments(ScoringRulesIn)
    @blp.response(200, ScoringRulesOut)
    def put(self, data: dict[str, Any]) -> Any:
        """Replace the rules with a new version (bureau admin); rankings computed from now on use it."""
        ensure_role(Role.BUREAU_ADMIN)
        rules.add_version(RuleKind.SCORING, rules_to_settings(data), note=data["note"], user=current_user)
        db.session.commit()
        return _rules_out()
