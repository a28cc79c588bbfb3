"""Accounts: users, passwords, API tokens and the tenant scope each user acts in."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.accounts import sessions
from service.accounts.models import ApiToken, Role, User
from service.accounts.passwords import hash_password, needs_rehash, verify_password
from service.accounts.policy import password_problems
from service.audit.trail import record_change
from service.core.errors import Conflict, DomainError
from service.core.types import utcnow
from service.db import db
from service.org.models import Cluster, School
from tenants import TenantScope, use_scope

TOKEN_PREFIX = "hq_"
# Temporary passwords: no look-alike characters (0/O, 1/l/I), read out or typed from a note.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_PASSWORD_GROUPS = 4  # 4 groups of 4: 56^16, about 93 bits
USER_FIELDS = ("display_name", "email", "phone")
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


def load_session_user(cookie_id: str, *, idle: timedelta, max_age: timedelta) -> User | None:
    """The user of a web session cookie (``"<id>:<key>"``), if that server-side session is live."""
    user = sessions.resume(cookie_id, idle=idle, max_age=max_age)
    if user is not None:
        with use_scope(TenantScope.bureau()):
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


def validate_password(password: str, *, username: str = "", display_name: str = "") -> None:
    """Refuse a password that breaks a rule of :mod:`service.accounts.policy`, naming the rule."""
    problems = password_problems(password, username=username, display_name=display_name)
    if problems:
        raise DomainError({"password": problems})


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
    own_password: bool = False,
) -> User:
    """Create an account. School admins need a school; inspectors get their clusters.

    The password was chosen by whoever creates the account, so its holder must choose their own at
    the first login - unless ``own_password`` (the first bureau admin, made by its holder on the
    server with ``houqin users create-admin``).
    """
    errors = _role_errors(role, school_id)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = [_("This username is taken.")]
    try:
        validate_password(password, username=username, display_name=display_name)
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
        must_change_password=not own_password,
    )
    if role is Role.INSPECTOR:
        user.clusters = _clusters(cluster_ids)
    db.session.add(user)
    db.session.flush()
    if user.clusters:
        record_change(db.session, user, {"cluster_ids": [[], [c.id for c in user.clusters]]})
    return user


def generate_password() -> str:
    """A strong temporary password for a reset, shown once to the bureau admin (``abcd-EFGH-…``)."""
    groups = ("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(_PASSWORD_GROUPS))
    return "-".join(groups)


def change_own_password(user: User, *, current: str, new: str, repeat: str) -> User:
    """A user chooses their own password (required after a reset or a new account): the current one
    must be right, the new one must follow the rules, differ from it and be typed twice alike. The
    user's other sessions end (a stolen cookie dies with the old password); this one goes on."""
    errors: dict[str, list[str]] = {}
    if not verify_password(user.password_hash, current):
        errors["current_password"] = [_("The current password is wrong.")]
    try:
        validate_password(new, username=user.username, display_name=user.display_name)
    except DomainError as exc:
        errors.update(exc.errors)
    if not errors and new == current:
        errors["password"] = [_("Choose a password different from the current one.")]
    if new != repeat and "password" not in errors:
        errors["repeat"] = [_("The two new passwords differ.")]
    if errors:
        raise DomainError(errors)
    # The account row sits behind the tenant wall: an inspector's or a bureau account's row is outside
    # its own acting scope, so the write is made in the bureau scope (as authentication reads it).
    with use_scope(TenantScope.bureau()):
        user.password_hash = hash_password(new)
        user.must_change_password = False
        db.session.flush()
    sessions.end_sessions_of(user.id, keep=getattr(user, "session_key", None))
    return user


def update_user(user: User, data: Mapping[str, Any], *, by: User | None = None) -> User:
    """Change an account: details, active flag, password, role and scope (school or clusters).

    The same rules as :func:`create_user` for role and school. A role without clusters loses them, a
    role without a school leaves it. Refused with 409 when it would leave the district without an
    active bureau admin (nobody could manage accounts any more).

    A new password set by somebody else than its holder (``by``) is a reset: the holder must choose
    their own at the next login. Any new password, and a deactivation, end the account's sessions
    (``by``'s own current session stays when they changed their own password).
    """
    role = data.get("role", user.role)
    school_id = data.get("school_id", user.school_id)
    if role is not Role.SCHOOL_ADMIN and "school_id" not in data:
        school_id = None  # a school admin who becomes an inspector leaves the school
    errors = _role_errors(role, school_id)
    if "password" in data:
        try:
            validate_password(data["password"], username=user.username, display_name=user.display_name)
        except DomainError as exc:
            errors.update(exc.errors)
    if errors:
        raise DomainError(errors)
    active = data.get("active", user.active)
    if user.role is Role.BUREAU_ADMIN and user.active and (role is not Role.BUREAU_ADMIN or not active):
        _ensure_another_admin(user, "role" if role is not Role.BUREAU_ADMIN else "active")
    before = [c.id for c in user.clusters]
    if role is Role.INSPECTOR and "cluster_ids" in data:
        user.clusters = _clusters(data["cluster_ids"])
    elif role is not Role.INSPECTOR:
        user.clusters = []
    for key in USER_FIELDS:
        if key in data:
            setattr(user, key, data[key])
    own = by is not None and by.id == user.id
    if "password" in data:
        user.password_hash = hash_password(data["password"])
        user.must_change_password = not own
    user.role, user.school_id, user.active = role, school_id, active
    db.session.flush()
    if "password" in data or not active:
        sessions.end_sessions_of(user.id, keep=getattr(by, "session_key", None) if own else None)
    after = [c.id for c in user.clusters]
    if sorted(after) != sorted(before):
        record_change(db.session, user, {"cluster_ids": [before, after]})
    return user


def _role_errors(role: Role, school_id: int | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if role is Role.SCHOOL_ADMIN and school_id is None:
        errors["school_id"] = [_("A school admin must belong to a school.")]
    if role is not Role.SCHOOL_ADMIN and school_id is not None:
        errors["school_id"] = [_("Only school admins belong to a school.")]
    if school_id is not None and db.session.scalar(select(School.id).where(School.id == school_id)) is None:
        errors["school_id"] = [_("Unknown school.")]
    return errors


def _clusters(cluster_ids: Iterable[int]) -> list[Cluster]:
    ids = list(cluster_ids)
    clusters = db.session.scalars(select(Cluster).where(Cluster.id.in_(ids)).order_by(Cluster.code)).all()
    if len(clusters) != len(set(ids)):
        raise DomainError({"cluster_ids": [_("Unknown cluster.")]})
    return list(clusters)


def _ensure_another_admin(user: User, field: str) -> None:
    """409 unless another active bureau admin remains. The rows are locked (PostgreSQL), so two admins
    demoting each other at the same moment cannot both succeed."""
    others = db.session.scalars(
        select(User.id)
        .where(User.role == Role.BUREAU_ADMIN, User.active.is_(True), User.id != user.id)
        .with_for_update()
    ).all()
    if not others:
        raise Conflict({field: [_("This is the last active bureau admin; appoint another one first.")]})


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
