"""Imports every model so the metadata is complete, and installs the tenant hooks on the session."""

from service.accounts.models import ApiToken, Role, User, inspector_clusters
from service.db import Base, HouqinSession
from service.org.models import Bureau, CanteenMode, Cluster, School, SchoolType
from service.staff.models import CertificateWarning, StaffMember
from tenants import TenantOwned, install_tenant_scoping

install_tenant_scoping(HouqinSession, tenant_root=School)


def school_owned_tables() -> list[str]:
    """Names of the tables behind the tenant wall (row-level security on ``school_id``)."""
    return sorted(m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantOwned))


__all__ = [
    "ApiToken",
    "Base",
    "Bureau",
    "CanteenMode",
    "CertificateWarning",
    "Cluster",
    "Role",
    "School",
    "SchoolType",
    "StaffMember",
    "User",
    "inspector_clusters",
    "school_owned_tables",
]
