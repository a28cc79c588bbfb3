"""The second wall: PostgreSQL row-level security.

At the start of every transaction (and whenever the scope changes inside one) the session runs::

    SELECT set_config('app.scope', 'bureau' | 'schools' | '', true),
           set_config('app.school_id', '<id>[,<id>...]', true)

``true`` makes both settings local to the transaction, so nothing survives on a pooled connection.
``app.school_id`` holds the school's id, or for an inspector the comma-separated ids of the schools
of their clusters. Every school-owned table has ``ENABLE`` + ``FORCE ROW LEVEL SECURITY`` and one
policy (:func:`policy_sql`) that fails closed: with neither setting present no row is visible and no
row can be written. The application connects as a role that owns no table, is not superuser and has
no ``BYPASSRLS``; migrations run as the owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from tenants.context import ScopeKind, TenantScope

APPLIED_KEY = "_houqin_rls_scope"
POLICY_NAME = "tenant_isolation"

_SET_SQL = text("SELECT set_config('app.scope', :kind, true), set_config('app.school_id', :ids, true)")

# Visible when the transaction is in the bureau scope, or the row's school is one of the listed ids.
# current_setting(..., true) returns NULL/'' when unset, and NULL = ANY(...) is never true: fail closed.
#
# Two details are there for bureau-wide jobs (the ranking engine reads millions of rows as the app
# role), not for which rows are visible:
# * the bureau test reads the setting in a sub-select, which PostgreSQL evaluates once per statement
#   instead of once per row (per row it cost the engine about a third of its time);
# * the middle clause changes nothing about visibility (in the bureau scope the first clause already
#   lets every row through; elsewhere it compares with NULL, never true). It is for the planner: a
#   condition on a setting compares no column, so PostgreSQL guesses it keeps 0.5% of the rows and
#   plans nested loops sized for a handful; ``{column} > CASE ... END`` compares the column with a
#   value the planner works out while planning (0 in the bureau scope, NULL otherwise), so it expects
#   every row in the bureau scope and none elsewhere. School ids are positive (a serial); rows without a
#   school (bureau users) stay visible to the bureau through the first clause.
VISIBLE_EXPR = (
    "((SELECT current_setting('app.scope', true)) = 'bureau'"
    " OR {column} > CASE WHEN current_setting('app.scope', true) = 'bureau' THEN 0 END"
    " OR {column} = ANY ("
    "string_to_array(NULLIF(current_setting('app.school_id', true), ''), ',')::integer[]))"
)


def settings_for(scope: TenantScope) -> dict[str, str]:
    """The ``app.*`` values that express ``scope`` to the database policies."""
    if scope.kind is ScopeKind.BUREAU:
        return {"kind": "bureau", "ids": ""}
    if scope.kind is ScopeKind.SCHOOLS:
        return {"kind": "schools", "ids": ",".join(str(i) for i in sorted(scope.school_ids))}
    return {"kind": "", "ids": ""}


def apply(connection: Any, scope: TenantScope, info: dict[str, Any]) -> None:
    """Set the scope for the connection's current transaction (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(_SET_SQL, settings_for(scope))
    info[APPLIED_KEY] = scope


def sync_session(session: Any, scope: TenantScope) -> None:
    """Re-apply the scope if it changed since the transaction began (e.g. auth lookup then request)."""
    if not session.in_transaction():
        return  # the next begin applies the scope
    if session.info.get(APPLIED_KEY) == scope:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    apply(session.connection(), scope, session.info)


# --- DDL used by migrations -----------------------------------------------------------------------


def policy_sql(table: str, column: str = "school_id") -> list[str]:
    """Statements that put ``table`` behind a fail-closed tenant policy on ``column``."""
    visible = VISIBLE_EXPR.format(column=column)
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING {visible} WITH CHECK {visible}",
    ]


def alter_policy_sql(table: str, column: str = "school_id", visible_expr: str = VISIBLE_EXPR) -> list[str]:
    """Statements that give ``table``'s existing tenant policy the expression ``visible_expr``."""
    visible = visible_expr.format(column=column)
    return [f"ALTER POLICY {POLICY_NAME} ON {table} USING {visible} WITH CHECK {visible}"]


def drop_policy_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def grant_app_role_sql(role: str) -> list[str]:
    """Privileges of the application role: data access only, no ownership, no schema changes."""
    quoted = '"' + role.replace('"', '""') + '"'
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}",
    ]


def create_app_role_sql(role: str) -> list[str]:
    """Create the application's login role if missing: not superuser, no BYPASSRLS, owns nothing."""
    quoted = '"' + role.replace('"', '""') + '"'
    literal = "'" + role.replace("'", "''") + "'"
    return [
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal}) THEN "
        f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
        "END IF; END $$",
    ]


UNSAFE_ROLE_SQL = "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :role"


def _table_and_column(entry: str | tuple[str, str]) -> tuple[str, str]:
    return (entry, "school_id") if isinstance(entry, str) else entry


def enable_tenant_policies(op: Any, tables: Sequence[str | tuple[str, str]]) -> None:
    """For a migration's ``upgrade``: put ``tables`` (name, or (name, tenant column)) behind the wall.

    Row-level security exists only on PostgreSQL; on SQLite (the embedded demo) this does nothing.
    """
    if op.get_bind().dialect.name != "postgresql":
        return
    for entry in tables:
        for stmt in policy_sql(*_table_and_column(entry)):
            op.execute(stmt)


def disable_tenant_policies(op: Any, tables: Sequence[str | tuple[str, str]]) -> None:
    """For a migration's ``downgrade``: the reverse of :func:`enable_tenant_policies`."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for entry in tables:
        for stmt in drop_policy_sql(_table_and_column(entry)[0]):
            op.execute(stmt)
