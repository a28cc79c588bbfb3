"""Input of a notice schedule (the bureau's form): one rule per kind of notice, validated as a whole."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.core.schemas import Range
from service.mail.kinds import KINDS
from service.notices.models import Audience, NoticeRule

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# The rules each kind may follow: a returned report's notice goes right away, nothing else does.
RULES_BY_KIND: dict[str, tuple[NoticeRule, ...]] = {
    "bulletin": (NoticeRule.MONTHLY,),
    "report_card": (NoticeRule.MONTHLY,),
    "deadline_reminder": (NoticeRule.BEFORE_DEADLINE,),
    "report_returned": (NoticeRule.EVENT,),
    "hazard_digest": (NoticeRule.WEEKLY, NoticeRule.DAILY),
    "certificate_expiry": (NoticeRule.DAILY, NoticeRule.WEEKLY),
}


def _days_before(value: Any) -> list[int]:
    """``"3, 1"`` or ``[3, 1]`` → ``[3, 1]`` (distinct, largest first)."""
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,\s，]+", value.strip()) if p]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise ValidationError(_l("Give the days before the deadline, e.g. 3, 1."))
    try:
        days = sorted({int(p) for p in parts}, reverse=True)
    except (TypeError, ValueError):
        raise ValidationError(_l("Give the days before the deadline, e.g. 3, 1.")) from None
    if not days or any(d < 1 or d > 28 for d in days):
        raise ValidationError(_l("Each day before the deadline must be between 1 and 28."))
    return days


class DaysBefore(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:
        return _days_before(value)


class ScheduleIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    rule = fields.Enum(NoticeRule, by_value=True, required=True)
    day_of_month = fields.Integer(load_default=None, allow_none=True, validate=Range(min=1, max=28))
    weekday = fields.Integer(load_default=None, allow_none=True, validate=Range(min=0, max=6))
    days_before = DaysBefore(load_default=list)
    at_time = fields.String(load_default="09:00", validate=validate.Regexp(HHMM))
    audience = fields.List(
        fields.String(validate=validate.OneOf([a.value for a in Audience])),
        required=True,
        validate=validate.Length(min=1, error=_l("Choose at least one group of recipients.")),
    )
    paused = fields.Boolean(load_default=False)
    mandatory = fields.Boolean(load_default=False)
    webhook_url = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema(skip_on_field_errors=False)
    def _webhook_is_a_url(self, data: dict[str, Any], **kwargs: Any) -> None:
        url = data.get("webhook_url") or ""
        if url and not re.match(r"^https?://[^\s/]+", url):
            raise ValidationError(_l("Not a valid URL (http:// or https://)."), "webhook_url")

    @validates_schema(skip_on_field_errors=False)
    def _rule_fits(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind, rule = data.get("kind"), data.get("rule")
        if kind is None or rule is None:
            return
        if rule not in RULES_BY_KIND.get(kind, ()):
            raise ValidationError(_l("This kind of notice cannot follow this rule."), "rule")
        needs = {
            NoticeRule.MONTHLY: ("day_of_month", data.get("day_of_month") is not None),
            NoticeRule.WEEKLY: ("weekday", data.get("weekday") is not None),
            NoticeRule.BEFORE_DEADLINE: ("days_before", bool(data.get("days_before"))),
        }
        if rule in needs:
            name, present = needs[rule]
            if not present:
                raise ValidationError(_l("Missing data for required field."), name)
