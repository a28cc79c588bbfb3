"""Request authentication and the tenant scope of each request.

Order of a request: Flask-Login resolves the user (session cookie naming a live server-side session,
see :mod:`service.accounts.sessions`, or ``Authorization: Bearer`` personal token) →
:func:`_enter_scope` sets the tenant scope *from that user* → the view runs → :func:`_leave_scope`
restores "no scope" (which sees nothing). CSRF is checked for cookie sessions on unsafe methods;
bearer-token requests carry no cookie and are exempt. A user whose password somebody else chose
reaches nothing but the change-password page (and logout) until they choose their own.

Flask-Login's "strong" session protection binds a session to the client's address and browser; its
own identifier reads ``X-Forwarded-For`` from the request, which any client can write, so it is
replaced by :func:`_session_identifier` on ``request.remote_addr`` - the socket's address, or the one
werkzeug's ProxyFix took from ``TRUSTED_PROXIES`` proxies (service/__init__.py).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, redirect, request, url_for
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
    idle, max_age = session_lifetimes(current_app)
    return operations.load_session_user(user_id, idle=idle, max_age=max_age)


def session_lifetimes(app: Flask) -> tuple[timedelta, timedelta]:
    """(idle, absolute) lifetime of a web session, from ``SESSION_IDLE_MINUTES``/``SESSION_MAX_HOURS``."""
    return (
        timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=app.config["SESSION_MAX_HOURS"]),
    )


def _session_identifier() -> str:
    """The client a session is bound to: its address as the server trusts it, and its browser."""
    base = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha512(base.encode("utf-8", "replace")).hexdigest()


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
    login_manager._session_identifier_generator = _session_identifier
    # No cookie outlives the server-side session it names.
    _idle, max_age = session_lifetimes(app)
    app.config["PERMANENT_SESSION_LIFETIME"] = max_age
    app.config["REMEMBER_COOKIE_DURATION"] = max_age

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
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            return _password_change_first()
    # Every API endpoint needs an authenticated caller; the docs and the OpenAPI document do not.
    if request.path.startswith("/api/v1/") and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


# What a user whose password somebody else chose may reach before choosing their own.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"web.change_password", "web.logout", "web.switch_language", "static"})


def _password_change_first() -> Any:
    message = str(_l("Choose your own password first: the current one was set by an administrator."))
    if request.path.startswith("/api/"):
        raise DomainError({"_request": [message]}, status=403)
    return redirect(url_for("web.change_password"))


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
