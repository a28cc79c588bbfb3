"""tenant policies the planner can estimate in the bureau scope

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 09:00:00+08:00

Same rows visible as before. The bureau test is read once per statement instead of once per row, and
the policy gains a clause that lets PostgreSQL see, while planning, that a bureau-scope query reads
every row (see ``tenants.rls.VISIBLE_EXPR``). Without them the ranking engine, which runs in the bureau
scope as the application role, got plans sized for 0.5% of the rows and paid for the policy per row.
"""

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from tenants import rls

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression of revisions 0001-0011, restored on downgrade.
PREVIOUS_EXPR = (
    "(current_setting('app.scope', true) = 'bureau' OR {column} = ANY ("
    "string_to_array(NULLIF(current_setting('app.school_id', true), ''), ',')::integer[]))"
)

# The tenant column appears in every version of the policy as "<column> = ANY (".
_COLUMN = re.compile(r"\(*(\w+) = ANY \(")


def _tenant_policies() -> list[tuple[str, str]]:
    """(table, tenant column) of every table behind the tenant policy, read from the catalog."""
    rows = op.get_bind().execute(
        text("SELECT tablename, qual FROM pg_policies WHERE schemaname = 'public' AND policyname = :name"),
        {"name": rls.POLICY_NAME},
    )
    found = []
    for table, qual in rows:
        match = _COLUMN.search(qual or "")
        if match is None:
            raise RuntimeError(f"cannot find the tenant column in the policy of {table}: {qual}")
        found.append((table, match.group(1)))
    return sorted(found)


def _alter(expr: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # no row-level security on SQLite (the embedded demo)
    for table, column in _tenant_policies():
        for stmt in rls.alter_policy_sql(table, column, expr):
            op.execute(stmt)


def upgrade() -> None:
    _alter(rls.VISIBLE_EXPR)


def downgrade() -> None:
    _alter(PREVIOUS_EXPR)
