"""Input and output shapes of commendation rules, rounds and candidates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.commendations.export import shown
from service.commendations.models import (
    DECISION_LABELS,
    ROUND_KIND_LABELS,
    ROUND_STATE_LABELS,
    Commendation,
    Decision,
    RoundKind,
    RoundState,
)
from service.core.labels import label
from service.core.schemas import Range, Timestamp
from service.incidents.vetoes import COMMENDATION_LABELS, FAILED_ITEM_RULE, INCIDENT_RULES
from service.rankings.calendar import parse_target
from service.staff.models import STAFF_ROLE_LABELS

VETO_RULE_CODES = (*(rule.code for rule in INCIDENT_RULES), FAILED_ITEM_RULE)
HUNDRED = Decimal(100)


def _percent(**kwargs: Any) -> fields.Decimal:
    """A share or a threshold: 0-100, kept as a decimal string (exact through JSON)."""
    return fields.Decimal(as_string=True, places=None, validate=Range(min=0, max=HUNDRED), **kwargs)


def _veto_rules() -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(VETO_RULE_CODES)),
        metadata={"description": "veto rule codes that bar this commendation: " + ", ".join(VETO_RULE_CODES)},
    )


class AdvancedUnitRules(Schema):
    peer_group_share_percent = _percent()
    require_complete_data = fields.Boolean()
    veto_rules = _veto_rules()


class TrustedCanteenRules(Schema):
    min_canteen_mean = _percent()
    spot_grade = fields.String(validate=validate.OneOf(("A", "B", "C")))
    min_spot_inspections = fields.Integer(validate=Range(min=0, max=100))
    veto_rules = _veto_rules()


class SafeCampusRules(Schema):
    min_safety_mean = _percent()
    no_overdue_hazard_at_end = fields.Boolean()
    veto_rules = _veto_rules()


class OutstandingStaffRules(Schema):
    min_score = _percent()
    district_share_percent = _percent()
    staff_per_award = fields.Integer(validate=Range(min=1, max=10000))
    min_months_in_post = fields.Integer(validate=Range(min=0, max=600))
    veto_rules = _veto_rules()


class CommendationRules(Schema):
    """The bureau-editable settings; every field optional (a PUT changes what it names)."""

    near_miss_points = _percent()
    advanced_unit = fields.Nested(AdvancedUnitRules)
    trusted_canteen = fields.Nested(TrustedCanteenRules)
    safe_campus = fields.Nested(SafeCampusRules)
    outstanding_staff = fields.Nested(OutstandingStaffRules)


def _dotted(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"a": {"b": ["m"]}}`` → ``{"a.b": ["m"]}`` (list items as ``a.b.0``)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_dotted(value, name))
            else:
                out[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return out


class RulesIn(Schema):
    """``{"settings": {...}, "note": "..."}``; errors are reported per setting (``settings.advanced_unit.…``)."""

    settings = fields.Nested(CommendationRules, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))

    def handle_error(self, error: ValidationError, data: Any, **kwargs: Any) -> None:
        raise ValidationError(_dotted(error.messages))


def json_ready(value: Any) -> Any:
    """Loaded settings back to JSON values (decimals stay strings, as the defaults keep them)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


class RulesOut(Schema):
    version = fields.Integer(metadata={"description": "0 = the shipped defaults"})
    settings = fields.Dict()


def _period_label(row: Any, index: int) -> str:
    return parse_target(row.kind.value, row.key).label[index]


class RoundIn(Schema):
    kind = fields.Enum(RoundKind, by_value=True, required=True)
    key = fields.String(required=True, validate=validate.Length(min=1, max=20))

    @validates_schema
    def _valid_key(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "kind" in data and "key" in data:
            from service.core.errors import DomainError

            try:
                parse_target(data["kind"].value, data["key"])
            except DomainError as exc:
                raise ValidationError(exc.errors) from None


class ProposeArgs(Schema):
    sync = fields.Boolean(
        load_default=False,
        metadata={"description": "compute now and answer 200 (small districts); otherwise queued, 202"},
    )


class RoundListArgs(Schema):
    kind = fields.Enum(RoundKind, by_value=True)
    state = fields.Enum(RoundState, by_value=True)


def _certificates(row: Any) -> dict[str, int] | None:
    from service.commendations.operations import certificate_counts

    if not row.is_published:
        return None
    issued, total = certificate_counts(row)
    return {"issued": issued, "awards": total}


class RoundOut(Schema):
    id = fields.Integer()
    kind = fields.Enum(RoundKind, by_value=True)
    kind_label = fields.Function(lambda r: label(ROUND_KIND_LABELS, r.kind))
    key = fields.String()
    period_label = fields.Function(lambda r: _period_label(r, 0))
    period_label_en = fields.Function(lambda r: _period_label(r, 1))
    state = fields.Enum(RoundState, by_value=True)
    state_label = fields.Function(lambda r: label(ROUND_STATE_LABELS, r.state))
    as_of = fields.Date(allow_none=True)
    snapshot_id = fields.Integer(allow_none=True)
    rules_version = fields.Integer()
    rules = fields.Dict()
    summary = fields.Dict()
    computed_at = Timestamp(allow_none=True, metadata={"description": "empty while the proposal is queued"})
    created_at = Timestamp()
    published_at = Timestamp(allow_none=True)
    certificates = fields.Function(
        _certificates,
        metadata={
            "description": "certificates issued / awards in scope once published; "
            "the PDFs are rendered by a job after publication"
        },
    )


class CandidateListArgs(Schema):
    commendation = fields.Enum(Commendation, by_value=True)
    qualifies = fields.Boolean()
    decision = fields.Enum(Decision, by_value=True)


class ReasonOut(Schema):
    code = fields.String()
    ok = fields.Boolean()
    zh = fields.String()
    en = fields.String()
    value = fields.String(allow_none=True)
    threshold = fields.String(allow_none=True)
    text = fields.Function(lambda r: label({"reason": (r["zh"], r["en"])}, "reason"))


class CandidateOut(Schema):
    id = fields.Integer()
    round_id = fields.Integer()
    school_id = fields.Integer()
    school_code = fields.Function(lambda c: c.school.code)
    school_name = fields.Function(lambda c: c.school.name)
    commendation = fields.Enum(Commendation, by_value=True)
    commendation_label = fields.Function(lambda c: label(COMMENDATION_LABELS, c.commendation))
    staff_id = fields.Integer(allow_none=True)
    staff_name = fields.Function(lambda c: c.staff.name if c.staff else None)
    staff_role = fields.Function(lambda c: label(STAFF_ROLE_LABELS, c.staff.role) if c.staff else None)
    qualifies = fields.Boolean()
    value = fields.Decimal(as_string=True, allow_none=True)
    value_shown = fields.Function(
        lambda c: str(shown(c)) if c.value is not None else None,
        metadata={
            "description": "as shown: schools 1 decimal, staff 2 (a person mean is compared unrounded)"
        },
    )
    position = fields.Integer()
    reasons = fields.List(fields.Nested(ReasonOut))
    decision = fields.Enum(Decision, by_value=True)
    decision_label = fields.Function(lambda c: label(DECISION_LABELS, c.decision))
    comment = fields.String()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    certificate_no = fields.String(allow_none=True)


class CandidateDecisionIn(Schema):
    decision = fields.String(
        required=True,
        validate=validate.OneOf((Decision.APPROVED.value, Decision.REJECTED.value)),
    )
    comment = fields.String(load_default="", validate=validate.Length(max=1000))


class BulkDecisionIn(Schema):
    """One decision and one comment applied to each candidate named (批量审定)."""

    candidate_ids = fields.List(
        fields.Integer(),
        required=True,
        validate=validate.Length(min=1, error=_l("Tick the candidates to decide first.")),
    )
    decision = fields.String(
        required=True,
        validate=validate.OneOf((Decision.APPROVED.value, Decision.REJECTED.value)),
    )
    comment = fields.String(load_default="", validate=validate.Length(max=1000))


class RefusedOut(Schema):
    candidate_id = fields.Function(lambda r: r[0].id)
    errors = fields.Function(lambda r: r[1])


class BulkDecisionOut(Schema):
    decided = fields.List(fields.Nested(CandidateOut))
    refused = fields.List(fields.Nested(RefusedOut))


class PublishArgs(Schema):
    confirm = fields.String(
        load_default="",
        metadata={"description": "the digest of GET …/publication: the list as checked before publishing"},
    )


class PublicationCountOut(Schema):
    commendation = fields.Function(lambda r: r[0].value)
    commendation_label = fields.Function(lambda r: label(COMMENDATION_LABELS, r[0]))
    approved = fields.Function(lambda r: r[1][0])
    rejected = fields.Function(lambda r: r[1][1])


class PublicationOut(Schema):
    """What publishing would freeze; publish with ``?confirm=<digest>``."""

    digest = fields.String()
    pending = fields.Integer()
    counts = fields.Function(lambda p: PublicationCountOut(many=True).dump(list(p.counts.items())))
    awards = fields.List(fields.Nested(CandidateOut))
    rejected = fields.List(fields.Nested(CandidateOut))


class QueuedOut(Schema):
    queued = fields.Boolean()
    task = fields.String()
    round = fields.Nested(RoundOut)
