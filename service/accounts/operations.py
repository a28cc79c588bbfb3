"""Accounts: users, passwords, API tokens and the tenant scope each user acts in."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from service.accounts.models import ApiToken, Role, User
from service.accounts.passwords import hash_password, needs_rehash, verify_password
from service.core.errors import DomainError
from service.core.types import utcnow
from service.db import db
from service.org.models import Cluster, School
from tenants import TenantScope, use_scope

TOKEN_PREFIX = "hq_"
MIN_PASSWORD_LENGTH = 8
# Unknown usernames still pay for one hash, so response time does not reveal which names exist.
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


def scope_for(user: User) -> TenantScope:
    """The tenant scope a user acts in - derived from the account, never from request data."""
    if user.role in (Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL):
        return TenantScope.bureau()
    if user.role is Role.SCHOOL_ADMIN:
        return TenantScope.school(user.school_id)  # type: ignore[arg-type]
    # Inspector: the schools of the clusters assigned to them, read in the bureau scope.
    cluster_ids = [c.id for c in user.clusters]
    with use_scope(TenantScope.bureau()):
        ids = db.session.scalars(select(School.id).where(School.cluster_id.in_(cluster_ids))).all()
    return TenantScope.schools(ids)


def load_user(user_id: int) -> User | None:
    """Fetch an active user for authentication (users sit behind the tenant wall: bureau scope)."""
    with use_scope(TenantScope.bureau()):
        user = db.session.scalars(select(User).where(User.id == user_id, User.active.is_(True))).one_or_none()
        if user is not None:
            user.acting_scope = scope_for(user)
    return user


def authenticate(username: str, password: str) -> User | None:
    """Check a username and password; on success rehash if the parameters changed."""
    with use_scope(TenantScope.bureau()):
        user = db.session.scalars(select(User).where(User.username == username.strip())).one_or_none()
        if user is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not user.active or not verify_password(user.password_hash, password):
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = utcnow()
        db.session.flush()
        user.acting_scope = scope_for(user)
    return user


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError({"password": [_("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH)]})


def create_user(
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    school_id: int | None = None,
    cluster_ids: Iterable[int] = (),
    email: str = "",
    phone: str = "",
) -> User:
    """Create an account. School admins need a school; inspectors get their clusters."""
    errors: dict[str, list[str]] = {}
    if role is Role.SCHOOL_ADMIN and school_id is None:
        errors["school_id"] = [_("A school admin must belong to a school.")]
    if role is not Role.SCHOOL_ADMIN and school_id is not None:
        errors["school_id"] = [_("Only school admins belong to a school.")]
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = [_("This username is taken.")]
    try:
        validate_password(password)
    except DomainError as exc:
        errors.update(exc.errors)
    if errors:
        raise DomainError(errors)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        school_id=school_id,
        email=email,
        phone=phone,
    )
    if role is Role.INSPECTOR:
        ids = list(cluster_ids)
        clusters = db.session.scalars(select(Cluster).where(Cluster.id.in_(ids))).all()
        if len(clusters) != len(set(ids)):
            raise DomainError({"cluster_ids": [_("Unknown cluster.")]})
        user.clusters = list(clusters)
    db.session.add(user)
    db.session.flush()
    return user


# --- personal API tokens ---------------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and only its SHA-256 is stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip() or "API", prefix=raw[:10], token_hash=_digest(raw))
    db.session.add(token)
    db.session.flush()
    return token, raw


def user_for_token(raw: str) -> User | None:
    """The active user behind a bearer token, recording when it was last used (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    with use_scope(TenantScope.bureau()):
        token = db.session.scalars(
            select(ApiToken).where(ApiToken.token_hash == _digest(raw), ApiToken.revoked_at.is_(None))
        ).one_or_none()
        if token is None or not token.user.active:
            return None
        now = utcnow()
        last = token.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=now.tzinfo)
        if last is None or now - last > timedelta(minutes=1):
            token.last_used_at = now
            db.session.flush()
            db.session.commit()
        user = token.user
        user.acting_scope = scope_for(user)
    return user


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; ``None`` if it is not theirs."""
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    ).one_or_none()
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token
