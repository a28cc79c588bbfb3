"""Input and output shapes of rankings, explanations, job runs and the scoring rule set.

The outputs are plain dicts built by :mod:`service.rankings.listing` and
:mod:`service.scoring.explain` (decimals already strings); these schemas document them in the OpenAPI
document. The scoring rule set is validated field by field here, so a bad weight or band answers 422
naming the field, in the caller's language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.core.schemas import Range, Timestamp
from service.rankings.listing import SORTS
from service.rankings.models import EntryStatus

# --- rankings ------------------------------------------------------------------------------------------


class RankingArgs(Schema):
    peer_group = fields.String(
        validate=validate.Length(max=40), metadata={"description": "e.g. primary:canteen, junior:no_canteen"}
    )
    cluster_id = fields.Integer()
    status = fields.Enum(EntryStatus, by_value=True)
    sort = fields.String(load_default="rank", validate=validate.OneOf(SORTS))
    order = fields.String(validate=validate.OneOf(("asc", "desc")))
    page = fields.Integer(validate=Range(min=1))
    per_page = fields.Integer(
        validate=Range(min=1, max=500), metadata={"description": "paginate (X-Total-Count, Link) when given"}
    )


class SnapshotOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    key = fields.String()
    label = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    created_at = fields.String()
    input_hash = fields.String()
    payload_hash = fields.String()
    period_ids = fields.List(fields.Integer())
    periods = fields.List(fields.String())
    basis = fields.Dict()
    summary = fields.Dict()
    previous_id = fields.Integer(allow_none=True)
    job_run_id = fields.Integer(allow_none=True)


class EntryOut(Schema):
    school_id = fields.Integer()
    school_code = fields.String()
    school_name = fields.String()
    cluster_id = fields.Integer()
    cluster_name = fields.String()
    school_type = fields.String()
    peer_group = fields.String()
    peer_group_label = fields.String()
    status = fields.String()
    status_label = fields.String()
    score = fields.String(allow_none=True, metadata={"description": "1 decimal, as a string"})
    band = fields.String(allow_none=True)
    rank_overall = fields.Integer(allow_none=True)
    rank_peer = fields.Integer(allow_none=True)
    rank_cluster = fields.Integer(allow_none=True)
    previous_rank = fields.Integer(allow_none=True)
    movement = fields.Integer(allow_none=True, metadata={"description": "previous rank − this rank; + is up"})
    months_expected = fields.Integer()
    months_counted = fields.Integer()
    late_months = fields.Integer()
    canteen_applies = fields.Boolean()
    canteen_mean = fields.String(allow_none=True)
    safety_mean = fields.String(allow_none=True)
    staff_mean = fields.String(allow_none=True)
    spot_mean = fields.String(allow_none=True)
    key_failed = fields.Integer()
    credibility_flags = fields.Integer()
    vetoed = fields.Boolean()
    veto_blocks = fields.List(fields.String())


class SensitivityEntryOut(EntryOut):
    sensitivity_max = fields.Integer(allow_none=True)
    sensitivity_median = fields.String(allow_none=True)


class RankingOut(Schema):
    snapshot = fields.Nested(SnapshotOut)
    total = fields.Integer()
    entries = fields.List(fields.Nested(EntryOut))


class SensitivityOut(Schema):
    snapshot = fields.Nested(SnapshotOut)
    summary = fields.Dict(allow_none=True)
    entries = fields.List(fields.Nested(SensitivityEntryOut))


class SchoolRankingOut(EntryOut):
    kind = fields.String()
    key = fields.String()
    label = fields.String()
    snapshot_id = fields.Integer()


class MonthScoreOut(Schema):
    period_id = fields.Integer()
    period = fields.String()
    status = fields.String()
    status_label = fields.String()
    late = fields.Boolean()
    canteen_area = fields.String(allow_none=True)
    safety_area = fields.String(allow_none=True)
    staff_area = fields.String(allow_none=True)
    composite = fields.String(allow_none=True)
    band = fields.String(allow_none=True)
    canteen_flag = fields.Boolean()
    safety_flag = fields.Boolean()
    overdue_hazards = fields.Integer()
    key_failed = fields.Integer()
    rules_version = fields.Integer()
    computed_at = fields.String()


class SchoolScoresOut(Schema):
    school_id = fields.Integer()
    school_code = fields.String()
    school_name = fields.String()
    months = fields.List(fields.Nested(MonthScoreOut))
    rankings = fields.List(fields.Nested(SchoolRankingOut))


class ExplanationOut(Schema):
    """The chain from the composite to each item (see :func:`service.scoring.explain.explain`)."""

    school = fields.Dict()
    school_id = fields.Integer()
    period = fields.Dict()
    status = fields.String()
    status_label = fields.String()
    computed_at = fields.String(allow_none=True)
    basis = fields.Dict()
    composite = fields.Dict()
    areas = fields.Dict()
    inspections = fields.List(fields.Dict())
    vetoes = fields.List(fields.Dict())
    checks = fields.Dict()


# --- recomputing and job runs --------------------------------------------------------------------------


class RecomputeIn(Schema):
    period = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-\d{2}$", error=_l("Not a valid month; for example 2026-03.")),
        metadata={"description": "the month to score and rank (its term and year are ranked too)"},
    )


class RecomputeOut(Schema):
    job_run_id = fields.Integer()
    run_key = fields.String()


class JobLogOut(Schema):
    at = Timestamp()
    from_state = fields.String()
    to_state = fields.String()
    message = fields.String()


class JobRunOut(Schema):
    id = fields.Integer()
    run_key = fields.String()
    kind = fields.String()
    params = fields.Dict()
    state = fields.Function(lambda r: r.state.value)
    state_label = fields.Method("_state_label")
    done = fields.Integer()
    total = fields.Integer()
    step = fields.String()
    attempts = fields.Integer()
    result = fields.Dict()
    error = fields.String()
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
    updated_at = Timestamp()
    requested_by = fields.String(metadata={"description": "who asked for it; empty for the system's runs"})
    log = fields.Method("_log")

    def _state_label(self, run: Any) -> str:
        from service.core.labels import label
        from service.jobs.models import RUN_STATE_LABELS

        return label(RUN_STATE_LABELS, run.state)

    def _log(self, run: Any) -> list[dict[str, Any]]:
        from service.jobs.operations import log_of

        return JobLogOut(many=True).dump(log_of(run.id))


# --- the scoring rule set ------------------------------------------------------------------------------


def _points(**kw: Any) -> fields.Decimal:
    return fields.Decimal(required=True, allow_nan=False, validate=Range(**kw))


class AreaWeightsIn(Schema):
    class Meta:
        unknown = RAISE

    canteen = _points(min=0, max=1000)
    safety = _points(min=0, max=1000)
    staff = _points(min=0, max=1000)


class BandsIn(Schema):
    class Meta:
        unknown = RAISE

    A = _points(min=0, max=100)
    B = _points(min=0, max=100)
    C = _points(min=0, max=100)


class MaxMissingIn(Schema):
    class Meta:
        unknown = RAISE

    term = fields.Integer(required=True, strict=True, validate=Range(min=0, max=6))
    year = fields.Integer(required=True, strict=True, validate=Range(min=0, max=11))


class ScoringRulesIn(Schema):
    """Every setting of formulas 3-7; a PUT replaces the whole set (a new version)."""

    class Meta:
        unknown = RAISE

    area_weights = fields.Nested(AreaWeightsIn, required=True)
    spot_weight_percent = _points(min=0, max=100)
    credibility_gap = _points(min=0, max=100)
    late_deduction = _points(min=0, max=100)
    bands = fields.Nested(BandsIn, required=True)
    max_missing_months = fields.Nested(MaxMissingIn, required=True)
    sensitivity_shift = _points(min=0, max=100)
    note = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if sum(data["area_weights"].values(), Decimal(0)) <= 0:
            errors["area_weights"] = [str(_l("The area weights must add up to more than 0."))]
        bands = data["bands"]
        if not bands["A"] > bands["B"] > bands["C"]:
            errors["bands"] = [str(_l("Bands must go down: A above B, B above C."))]
        if errors:
            raise ValidationError(errors)


def rules_to_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Validated input → stored settings: decimals as strings (exact through JSON), counts as ints."""

    def text(value: Decimal) -> str:
        from service.scoring.explain import num

        return num(value) or "0"

    return {
        "area_weights": {k: text(v) for k, v in data["area_weights"].items()},
        "spot_weight_percent": text(data["spot_weight_percent"]),
        "credibility_gap": text(data["credibility_gap"]),
        "late_deduction": text(data["late_deduction"]),
        "bands": {k: text(v) for k, v in data["bands"].items()},
        "max_missing_months": dict(data["max_missing_months"]),
        "sensitivity_shift": text(data["sensitivity_shift"]),
    }


class ScoringRulesOut(Schema):
    kind = fields.String()
    version = fields.Integer(metadata={"description": "0 = the shipped defaults (never edited)"})
    settings = fields.Dict()
    note = fields.String()
    created_at = fields.String(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
