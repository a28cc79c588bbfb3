"""Staff roster (后勤人员) and health-certificate (健康证) expiry warnings - both school-owned."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from tenants import TenantOwned


class StaffRole(enum.StrEnum):
    COOK = "cook"
    STOREKEEPER = "storekeeper"
    CANTEEN_MANAGER = "canteen_manager"
    GUARD = "guard"
    ELECTRICIAN = "electrician"
    DORM_SUPERVISOR = "dorm_supervisor"
    CLEANER = "cleaner"
    BOILER_OPERATOR = "boiler_operator"
    SCHOOL_DOCTOR = "school_doctor"
    OTHER = "other"


STAFF_ROLE_LABELS = {
    StaffRole.COOK: ("炊事员", "Cook"),
    StaffRole.STOREKEEPER: ("食堂保管员", "Canteen storekeeper"),
    StaffRole.CANTEEN_MANAGER: ("事务长", "Canteen manager"),
    StaffRole.GUARD: ("门卫/保安", "Guard"),
    StaffRole.ELECTRICIAN: ("水电工", "Electrician/plumber"),
    StaffRole.DORM_SUPERVISOR: ("宿管员", "Dorm supervisor"),
    StaffRole.CLEANER: ("保洁员", "Cleaner"),
    StaffRole.BOILER_OPERATOR: ("司炉工", "Boiler operator"),
    StaffRole.SCHOOL_DOCTOR: ("校医", "School doctor"),
    StaffRole.OTHER: ("其他", "Other"),
}

# Roles that handle food and therefore need a valid health certificate (健康证).
FOOD_HANDLING_ROLES = frozenset({StaffRole.COOK, StaffRole.STOREKEEPER, StaffRole.CANTEEN_MANAGER})


class ContractType(enum.StrEnum):
    ESTABLISHED = "established"  # 在编
    CONTRACT = "contract"  # 合同制
    TEMPORARY = "temporary"  # 临时聘用
    OUTSOURCED = "outsourced"  # 劳务派遣/外包


CONTRACT_TYPE_LABELS = {
    ContractType.ESTABLISHED: ("在编", "Established post"),
    ContractType.CONTRACT: ("合同制", "Contract"),
    ContractType.TEMPORARY: ("临时聘用", "Temporary"),
    ContractType.OUTSOURCED: ("劳务派遣", "Outsourced"),
}


class StaffMember(Audited, TenantOwned, Base):
    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("school_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(1), default="")
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole, "staff_role"))
    contract_type: Mapped[ContractType] = mapped_column(str_enum(ContractType, "contract_type"))
    hire_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(30), default="")
    health_cert_no: Mapped[str] = mapped_column(String(40), default="")
    health_cert_expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class WarningKind(enum.StrEnum):
    MISSING = "missing"  # food handler without a certificate on file
    EXPIRED = "expired"
    EXPIRING = "expiring"  # expires within the warning window


WARNING_KIND_LABELS = {
    WarningKind.MISSING: ("无健康证", "No certificate"),
    WarningKind.EXPIRED: ("已过期", "Expired"),
    WarningKind.EXPIRING: ("即将到期", "Expiring soon"),
}


class CertificateWarning(TenantOwned, Base):
    """A current warning about one staff member's health certificate; recomputed by a job."""

    __tablename__ = "certificate_warnings"
    __table_args__ = (
        UniqueConstraint("school_id", "staff_id"),
        ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[WarningKind] = mapped_column(str_enum(WarningKind, "warning_kind"))
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    computed_on: Mapped[date] = mapped_column(Date)

    staff: Mapped[StaffMember] = relationship(
        primaryjoin="and_(CertificateWarning.school_id == StaffMember.school_id, "
        "CertificateWarning.staff_id == StaffMember.id)",
        foreign_keys="[CertificateWarning.school_id, CertificateWarning.staff_id]",
        viewonly=True,
    )


class StaffVetoKind(enum.StrEnum):
    """The personal vetoes of 优秀后勤人员 (rubrics.md) that no other record shows.

    The other two personal conditions come from data the product already has: a food handler who
    worked with an expired health certificate (the roster's expiry against the months evaluated) and
    fewer than 6 months in post (the hire date).
    """

    ACCIDENT_AT_FAULT = "accident_at_fault"
    DISCIPLINE = "discipline"
    KICKBACK = "kickback"
    UNEXCUSED_ABSENCE = "unexcused_absence"


STAFF_VETO_LABELS = {
    StaffVetoKind.ACCIDENT_AT_FAULT: ("本人负有责任的事故", "At fault in an accident"),
    StaffVetoKind.DISCIPLINE: ("违纪处分", "Disciplinary case"),
    StaffVetoKind.KICKBACK: ("吃拿卡要、收受回扣", "Kickback case"),
    StaffVetoKind.UNEXCUSED_ABSENCE: ("无故缺勤", "Unexcused absence"),
}


class StaffVeto(Audited, TenantOwned, Base):
    """A personal veto: bars the person (not the school) from 优秀后勤人员 for 12 months from
    ``occurred_on``. Recorded by the school or the bureau; deleting one is audited like any change.

    ``recorded_by_bureau`` is who recorded it, fixed when it is recorded (not read from the recorder's
    account, which may change role or be deleted): what the bureau recorded only the bureau withdraws
    (:func:`service.staff.vetoes.withdraw`). A row that does not say is the bureau's.
    """

    __tablename__ = "staff_vetoes"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("ends_on > occurred_on", name="window_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[StaffVetoKind] = mapped_column(str_enum(StaffVetoKind, "staff_veto_kind"))
    occurred_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # exclusive: 12 months after occurred_on
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    recorded_by_bureau: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    staff: Mapped[StaffMember] = relationship(
        primaryjoin="and_(StaffVeto.school_id == StaffMember.school_id, StaffVeto.staff_id == StaffMember.id)",
        foreign_keys="[StaffVeto.school_id, StaffVeto.staff_id]",
        viewonly=True,
    )
