"""Staff roster (后勤人员) and health-certificate (健康证) expiry warnings - both school-owned."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKeyConstraint, Integer, String, UniqueConstraint
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
