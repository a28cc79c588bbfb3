"""Server-side web sessions: a copied cookie dies with its session.

The signed Flask cookie alone cannot be taken back: until it expires it logs in whoever holds it,
after a logout or a password reset too. So a login creates a :class:`UserSession` row and the cookie
carries ``"<user id>:<random key>"`` (Flask-Login's ``get_id``, so a remember cookie would carry the
same and obey the same rules). Each request costs one lookup by primary key (the key's SHA-256) joined
to the user; the row ends

* at logout (:func:`end_session`), on a password change (the other sessions) or a reset by the bureau,
  and on deactivation (:func:`end_sessions_of`);
* by itself after ``SESSION_IDLE_MINUTES`` without a request (default 120) or ``SESSION_MAX_HOURS``
  after the login whatever the activity (default 12).

Times come from the application clock (:func:`service.core.types.utcnow`), so tests move it explicitly.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update

from service.accounts.models import User, UserSession
from service.core.types import utcnow
from service.db import db
from tenants import TenantScope, use_scope

# last_seen_at is written at most this often: an idle limit of hours needs no write per request.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite gives naive UTC


def start_session(user: User, *, max_age: timedelta) -> str:
    """A new session for ``user`` (at login); returns its random key and keeps it on ``user`` so that
    ``login_user`` writes it into the cookie. The user's dead rows (revoked or past ``max_age``) go."""
    now = utcnow()
    key = secrets.token_urlsafe(32)
    with use_scope(TenantScope.bureau()):
        db.session.execute(
            delete(UserSession).where(
                UserSession.user_id == user.id,
                or_(UserSession.revoked_at.is_not(None), UserSession.created_at < now - max_age),
            )
        )
        db.session.add(UserSession(id=_digest(key), user_id=user.id, created_at=now, last_seen_at=now))
        db.session.flush()
    user.session_key = key
    return key


def split_id(value: str) -> tuple[int, str] | None:
    """``"12:key"`` → ``(12, "key")``; anything else (a cookie from before server-side sessions) → None."""
    user_id, sep, key = value.partition(":")
    if not sep or not key or not user_id.isdigit():
        return None
    return int(user_id), key


def resume(value: str, *, idle: timedelta, max_age: timedelta) -> User | None:
    """The active user of a live session named by a cookie's id, or ``None`` (unknown, revoked,
    idle for longer than ``idle``, older than ``max_age``, or the account is deactivated)."""
    parts = split_id(value)
    if parts is None:
        return None
    user_id, key = parts
    now = utcnow()
    with use_scope(TenantScope.bureau()):
        row = db.session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id == _digest(key), UserSession.user_id == user_id)
        ).one_or_none()
        if row is None:
            return None
        live, user = row
        if (
            live.revoked_at is not None
            or not user.active
            or now - _aware(live.last_seen_at) > idle
            or now - _aware(live.created_at) > max_age
        ):
            return None
        if now - _aware(live.last_seen_at) > TOUCH_EVERY:
            live.last_seen_at = now
            db.session.commit()
    user.session_key = key
    return user


def end_session(key: str | None) -> None:
    """Revoke one session (logout): its cookie, wherever it was copied to, stops working."""
    if not key:
        return
    with use_scope(TenantScope.bureau()):
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == _digest(key), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def end_sessions_of(user_id: int, *, keep: str | None = None) -> int:
    """Revoke every open session of a user (password changed or reset, account deactivated), except
    ``keep`` (the session that changed its own password). Returns how many were ended."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(UserSession.id != _digest(keep))
    with use_scope(TenantScope.bureau()):
        result = db.session.execute(stmt.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
