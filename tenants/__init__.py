"""Tenancy for Houqin: who the current request or job acts for, and the walls around it.

A *tenant* is one school. Every school-owned row carries ``school_id``. This package knows nothing
about Houqin's models: it offers

* :mod:`tenants.context` - the :class:`TenantScope` in force (one school, a set of schools, the whole
  bureau, or nothing at all) held in a context variable;
* :mod:`tenants.orm` - the SQLAlchemy session hooks that scope every ORM query to that context and
  stamp ``school_id`` on inserts (the first wall);
* :mod:`tenants.rls` - PostgreSQL row-level security: the per-transaction settings and the DDL the
  migrations use to force fail-closed policies on every school-owned table (the second wall).
"""

from tenants.context import (
    NO_SCOPE,
    MissingTenantScope,
    TenantScope,
    TenantViolation,
    current_scope,
    use_scope,
)
from tenants.orm import TenantOwned, install_tenant_scoping

__all__ = [
    "NO_SCOPE",
    "MissingTenantScope",
    "TenantOwned",
    "TenantScope",
    "TenantViolation",
    "current_scope",
    "install_tenant_scoping",
    "use_scope",
]
