"""Input and output shapes of users and API tokens."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.accounts.models import ROLE_LABELS, Role
from service.core.labels import label
from service.core.schemas import Timestamp, email_field


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    email = fields.String()
    phone = fields.String()
    role = fields.Enum(Role, by_value=True)
    role_label = fields.Function(lambda u: label(ROLE_LABELS, u.role))
    school_id = fields.Integer(allow_none=True)
    cluster_ids = fields.Function(lambda u: [c.id for c in u.clusters])
    active = fields.Boolean()
    # The password was set by an administrator: the holder must choose their own at the next login.
    must_change_password = fields.Boolean()
    last_login_at = Timestamp(allow_none=True)


class MeOut(UserOut):
    scope = fields.Function(lambda u: u.acting_scope.to_json())


class UserIn(Schema):
    username = fields.String(
        required=True, validate=[validate.Length(min=3, max=64), validate.Regexp(r"^[A-Za-z0-9_.-]+$")]
    )
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.Enum(Role, by_value=True, required=True)
    password = fields.String(required=True, load_only=True)
    school_id = fields.Integer(load_default=None, allow_none=True)
    cluster_ids = fields.List(fields.Integer(), load_default=list)
    email = email_field(load_default="")
    phone = fields.String(load_default="", validate=validate.Length(max=30))


class UserPatch(Schema):
    """What the bureau admin changes on an account: details, role and scope, active flag, password."""

    display_name = fields.String(validate=validate.Length(min=1, max=64))
    email = email_field()
    phone = fields.String(validate=validate.Length(max=30))
    active = fields.Boolean()
    password = fields.String(load_only=True)
    role = fields.Enum(Role, by_value=True)
    school_id = fields.Integer(allow_none=True)
    cluster_ids = fields.List(fields.Integer())


class TokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = Timestamp()
    last_used_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)


class TokenCreated(TokenOut):
    token = fields.String(metadata={"description": "Shown once; store it now."})
