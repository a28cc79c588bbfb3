"""REST endpoints for the caller's account, personal API tokens and (bureau admin) user accounts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from service.accounts import operations
from service.accounts.auth import ensure_role, roles_required
from service.accounts.models import Role, User
from service.accounts.schemas import MeOut, TokenCreated, TokenIn, TokenOut, UserIn, UserOut, UserPatch
from service.core.errors import NotFound
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.db import db
from service.org.models import School

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="账号与令牌 Accounts and tokens")


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeOut)
    def get(self) -> Any:
        """Who the caller is and which schools they can see."""
        return current_user._get_current_object()


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenOut(many=True))
    def get(self) -> Any:
        """The caller's own personal API tokens."""
        return operations.tokens_of(current_user)

    @blp.arguments(TokenIn)
    @blp.response(201, TokenCreated)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a personal API token; the value is returned once."""
        token, raw = operations.issue_token(current_user, data["name"])
        db.session.commit()
        token.token = raw  # shown in this response only; never stored
        return token


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke one of the caller's tokens."""
        if operations.revoke_token(current_user, token_id) is None:
            raise NotFound()
        db.session.commit()


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, UserOut(many=True))
    def get(self, page: dict[str, Any]) -> Any:
        """Accounts in the caller's scope (a school admin sees their school's accounts)."""
        return paginate(select(User).order_by(User.id), **page)

    @roles_required(Role.BUREAU_ADMIN)
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an account (bureau admin)."""
        if data.get("school_id") is not None:
            get_or_404(School, data["school_id"])
        user = operations.create_user(**data)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, UserOut)
    def get(self, user_id: int) -> Any:
        return get_or_404(User, user_id)

    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Change an account (bureau admin): name, contact, active flag, password, role and scope
        (``school_id`` for a school admin, ``cluster_ids`` for an inspector). A deactivated account
        can no longer log in and its tokens stop working; the last active bureau admin stays (409)."""
        user = get_or_404(User, user_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.update_user(user, data, by=current_user)
        db.session.commit()
        return user
