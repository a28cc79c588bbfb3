"""Request authentication and the tenant scope of each request.

Order of a request: Flask-Login resolves the user (session cookie, or ``Authorization: Bearer``
personal token) → :func:`_enter_scope` sets the tenant scope *from that user* → the view runs →
:func:`_leave_scope` restores "no scope" (which sees nothing). CSRF is checked for cookie sessions
on unsafe methods; bearer-token requests carry no cookie and are exempt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from service.accounts import operations
from service.accounts.models import Role, User
from service.audit.trail import Actor, reset_actor, set_actor
from service.core.errors import DomainError
from service.extensions import csrf, login_manager
from tenants import NO_SCOPE, TenantScope
from tenants.context import reset_scope, set_scope


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # A request with a bearer token is authenticated by that token alone: the session cookie is
    # ignored, so a cookie plus a made-up bearer header cannot skip the CSRF check.
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    try:
        return operations.load_user(int(user_id))
    except ValueError:
        return None


@login_manager.request_loader
def _load_user_from_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.auth_by_token = True
        return operations.user_for_token(header.removeprefix("Bearer ").strip())
    return None


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        from flask import redirect, url_for

        if request.path.startswith("/api/"):
            raise DomainError({"_request": [str(_l("Authentication required."))]}, status=401)
        return redirect(url_for("web.login", next=request.full_path))

    app.before_request(_enter_scope)
    app.teardown_request(_leave_scope)


def request_scope() -> TenantScope:
    user = current_user
    if not getattr(user, "is_authenticated", False):
        return NO_SCOPE
    return getattr(user, "acting_scope", NO_SCOPE)


def _enter_scope() -> Any:
    # Unsafe cookie-authenticated requests must carry the CSRF token; bearer tokens are exempt.
    if (
        current_app.config.get("WTF_CSRF_ENABLED", True)
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and not request.headers.get("Authorization", "").startswith("Bearer ")
    ):
        csrf.protect()
    g._houqin_scope_token = set_scope(request_scope())
    if current_user.is_authenticated:
        g._houqin_actor_token = set_actor(Actor(current_user.id, current_user.username))
    # Every API endpoint needs an authenticated caller; the docs and the OpenAPI document do not.
    if request.path.startswith("/api/v1/") and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _leave_scope(exc: BaseException | None) -> None:
    token = g.pop("_houqin_scope_token", None)
    if token is not None:
        reset_scope(token)
    actor_token = g.pop("_houqin_actor_token", None)
    if actor_token is not None:
        reset_actor(actor_token)


def roles_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only these roles (403 otherwise); the tenant scope still limits what they reach."""
    allowed = frozenset(roles)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                raise DomainError({"_request": [str(_l("You are not allowed to do this."))]}, status=403)
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def ensure_role(*roles: Role) -> None:
    """Inside a handler, after the row was found in scope: refuse other roles with 403.

    Looking the row up first keeps another school's ids a 404 for everybody.
    """
    if current_user.role not in roles:
        raise DomainError({"_request": [str(_l("You are not allowed to do this."))]}, status=403)
