"""Marshmallow base pieces: validation messages in the user's language, bounded integers, timestamps,
pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from service.core.timeutil import api_timestamp

# marshmallow's messages are English class attributes; swap in lazy translations so a 422 answers
# in the user's language (Chinese by default). They are formatted and turned into str on output.
fields.Field.default_error_messages = {
    "required": _l("Missing data for required field."),
    "null": _l("Field may not be null."),
    "validator_failed": _l("Invalid value."),
}
fields.String.default_error_messages = {"invalid": _l("Not a valid string.")}
fields.Integer.default_error_messages = {"invalid": _l("Not a valid integer.")}
fields.Number.default_error_messages = {
    "invalid": _l("Not a valid number."),
    "too_large": _l("Number too large."),
}
fields.Decimal.default_error_messages = {
    "special": _l("Special numeric values (nan or infinity) are not permitted.")
}
fields.Boolean.default_error_messages = {"invalid": _l("Not a valid boolean.")}
fields.Date.default_error_messages = {
    "invalid": _l("Not a valid date (YYYY-MM-DD)."),
    "format": _l("Not a valid date (YYYY-MM-DD)."),
}
fields.List.default_error_messages = {"invalid": _l("Not a valid list.")}
fields.Enum.default_error_messages = {"unknown": _l("Must be one of: {choices}.")}
validate.OneOf.default_message = _l("Must be one of: {choices}.")
validate.Length.message_min = _l("Shorter than minimum length {min}.")
validate.Length.message_max = _l("Longer than maximum length {max}.")
validate.Length.message_all = _l("Length must be between {min} and {max}.")
validate.Regexp.default_message = _l("String does not match expected pattern.")
Schema.error_messages = {
    "unknown": _l("Unknown field."),
    "type": _l("Invalid input type."),
}


class Range(validate.Range):
    """``validate.Range`` whose message is translated when the error is raised, not at import."""

    def _format_error(self, value: object, message: str) -> str:
        if self.min is not None and self.max is not None:
            return str(_l("Must be between %(min)s and %(max)s.", min=self.min, max=self.max))
        if self.min is not None:
            return str(_l("Must be at least %(min)s.", min=self.min))
        return str(_l("Must be at most %(max)s.", max=self.max))


# Every integer the API reads fits the columns it is compared with or stored in: all of them are
# PostgreSQL ``integer`` (int4), and SQLAlchemy binds a parameter with a cast to the column's type, so
# ``?period_id=68719476735`` or ``{"staff_id": 2**40}`` failed in the database as a 500. Bounding the
# one ``fields.Integer`` class (not a subclass to remember) holds for every schema, present and future;
# a field's own ``Range`` still narrows it. Output is untouched (``_validated`` runs on load only).
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
_integer_validated = fields.Integer._validated


def _int4_validated(self: fields.Integer, value: Any) -> int:
    number = _integer_validated(self, value)
    if not INT4_MIN <= number <= INT4_MAX:
        raise ValidationError(str(_l("Must be between %(min)s and %(max)s.", min=INT4_MIN, max=INT4_MAX)))
    return number


fields.Integer._validated = _int4_validated  # type: ignore[method-assign]


class EmailAddress(validate.Email):
    """``validate.Email`` whose message is translated when the error is raised (``fields.Email`` takes
    only a plain string, so its message would always be English)."""

    def _format_error(self, value: object) -> str:
        return str(_l("Not a valid email address."))


def email_field(**kwargs: Any) -> fields.String:
    """An email address (at most 120 characters, the column's size), refused in the user's language."""
    return fields.String(
        validate=[validate.Length(max=120), EmailAddress()], metadata={"format": "email"}, **kwargs
    )


class Timestamp(fields.DateTime):
    """Every datetime the API outputs: ISO 8601 in Beijing time with its UTC offset (``+08:00``).

    Output schemas use this, never a bare ``fields.DateTime`` (which writes SQLite's naive values
    without an offset); tests/test_api_timestamps.py checks both the schemas and the answers.
    """

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return api_timestamp(value)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=Range(min=1))
    per_page = fields.Integer(load_default=50, validate=Range(min=1, max=500))
