"""Bureau, clusters and schools.

One deployment serves one bureau (区教育局). Schools are the tenants: everything a school submits
carries its ``school_id``. The ``schools`` table itself is scoped on ``id`` by the ORM and by
row-level security, so a school admin sees only their own school.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base

if TYPE_CHECKING:
    from service.accounts.models import User


class SchoolType(enum.StrEnum):
    PRIMARY = "primary"  # 小学
    JUNIOR = "junior"  # 初中
    SENIOR = "senior"  # 高中
    NINE_YEAR = "nine_year"  # 九年一贯制
    COMPLETE = "complete"  # 完全中学


SCHOOL_TYPE_LABELS = {
    SchoolType.PRIMARY: ("小学", "Primary school"),
    SchoolType.JUNIOR: ("初中", "Junior secondary"),
    SchoolType.SENIOR: ("高中", "Senior secondary"),
    SchoolType.NINE_YEAR: ("九年一贯制", "Nine-year school"),
    SchoolType.COMPLETE: ("完全中学", "Complete secondary"),
}


class CanteenMode(enum.StrEnum):
    SELF_RUN = "self_run"  # 自营
    CONTRACTED = "contracted"  # 承包/托管
    NONE = "none"  # 无食堂


CANTEEN_MODE_LABELS = {
    CanteenMode.SELF_RUN: ("自营", "Self-run"),
    CanteenMode.CONTRACTED: ("承包", "Contracted"),
    CanteenMode.NONE: ("无食堂", "No canteen"),
}


class Bureau(Base):
    """The district education bureau that owns the deployment (one row)."""

    __tablename__ = "bureau"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    region_code: Mapped[str] = mapped_column(String(12), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Cluster(Audited, Base):
    """A 片区: schools grouped by area, with a bureau supervisor who visits monthly."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True), nullable=True
    )

    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id])
    schools: Mapped[list[School]] = relationship(back_populates="cluster", order_by="School.code")


class School(Audited, Base):
    """A school: the tenant."""

    __tablename__ = "schools"
    __table_args__ = (
        CheckConstraint("enrollment >= 0", name="enrollment_nonnegative"),
        CheckConstraint("staff_count >= 0", name="staff_count_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[SchoolType] = mapped_column(str_enum(SchoolType, "school_type"))
    enrollment: Mapped[int] = mapped_column(Integer, default=0)
    staff_count: Mapped[int] = mapped_column(Integer, default=0)
    boarding: Mapped[bool] = mapped_column(Boolean, default=False)
    canteen_mode: Mapped[CanteenMode] = mapped_column(str_enum(CanteenMode, "canteen_mode"))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="RESTRICT"), index=True)
    principal_name: Mapped[str] = mapped_column(String(40), default="")
    contact_name: Mapped[str] = mapped_column(String(40), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    cluster: Mapped[Cluster] = relationship(back_populates="schools")

    @property
    def has_canteen(self) -> bool:
        return self.canteen_mode is not CanteenMode.NONE
