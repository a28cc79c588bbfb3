"""Users and their personal API tokens.

Roles:

* ``bureau_admin`` - manages schools, users and rubrics, approves; sees every school;
* ``bureau_official`` - reads everything, changes nothing;
* ``inspector`` - spot-inspects the schools of the clusters assigned to them;
* ``school_admin`` - one school's logistics office.

``users.school_id`` is set for school admins only. The table is behind the tenant wall like any
school-owned table (a school admin sees their own school's accounts), so authentication looks users
up in an explicit bureau scope (see :mod:`service.accounts.auth`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from tenants import TenantOwned

if TYPE_CHECKING:
    from service.org.models import Cluster, School


class Role(enum.StrEnum):
    BUREAU_ADMIN = "bureau_admin"
    BUREAU_OFFICIAL = "bureau_official"
    INSPECTOR = "inspector"
    SCHOOL_ADMIN = "school_admin"


ROLE_LABELS = {
    Role.BUREAU_ADMIN: ("教育局管理员", "Bureau administrator"),
    Role.BUREAU_OFFICIAL: ("教育局领导/科室人员", "Bureau official"),
    Role.INSPECTOR: ("督查员", "Inspector"),
    Role.SCHOOL_ADMIN: ("学校后勤管理员", "School logistics admin"),
}

BUREAU_ROLES = frozenset({Role.BUREAU_ADMIN, Role.BUREAU_OFFICIAL})


inspector_clusters = Table(
    "inspector_clusters",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("cluster_id", ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True),
)


class User(Audited, TenantOwned, Base):
    """An account. Audited like the records it changes: who created it, changed its role or scope,
    reset its password or deactivated it (the hash itself is never written to the trail, and the
    login time is noise)."""

    __tablename__ = "users"
    __tenant_nullable__ = True
    __audit_exclude__ = frozenset({"last_login_at"})
    __audit_redact__ = frozenset({"password_hash"})
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        CheckConstraint(
            "(role = 'school_admin') = (school_id IS NOT NULL)",
            name="school_admin_has_school",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    # Set when somebody else chose the password (an account made by a bureau admin or the CLI, a
    # reset): the holder must choose their own at the next login before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    school: Mapped[School | None] = relationship(foreign_keys="User.school_id")
    clusters: Mapped[list[Cluster]] = relationship(secondary=inspector_clusters, order_by="Cluster.code")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie (and would put in a remember cookie): the
        user id and the key of the server-side session (:mod:`service.accounts.sessions`), so both
        cookies die with the session row (logout, password change or reset, idle and absolute end)."""
        key = getattr(self, "session_key", None)
        return f"{self.id}:{key}" if key else str(self.id)

    @property
    def is_bureau(self) -> bool:
        return self.role in BUREAU_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role is Role.BUREAU_ADMIN


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; revocable; records when it was last used."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class UserSession(Base):
    """One web login: the cookie holds a random key, the table only its SHA-256 (the primary key, so
    checking a request is one primary-key lookup). Revoked at logout, on a password change or reset
    and on deactivation; ends by itself after the idle or absolute lifetime (``SESSION_IDLE_MINUTES``,
    ``SESSION_MAX_HOURS``). Dead rows of a user are deleted at their next login."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
