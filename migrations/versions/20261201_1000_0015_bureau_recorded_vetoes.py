"""who recorded a veto: staff_vetoes.recorded_by_bureau, incidents.bureau_confirmed_at

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00+08:00

What the bureau recorded is the bureau's to lift (issue 9, part 5): a personal veto it recorded is
withdrawn by the bureau only, and an incident it created or corrected keeps its veto-deciding facts
out of the school's reach. Both are stored when written rather than read from the writer's account
(its role may change, the account may be deleted).

Existing rows: a personal veto is the bureau's unless its recorder is a school admin; an incident is
confirmed at the first write by a bureau admin the audit trail shows (its creation included), or at
its creation when nobody is named as its creator. Unknown authorship goes to the bureau: the safe side.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_STAFF_VETOES = """
UPDATE staff_vetoes SET recorded_by_bureau = NOT EXISTS (
    SELECT 1 FROM users u WHERE u.id = staff_vetoes.recorded_by_id AND u.role = 'school_admin'
)
"""

BACKFILL_INCIDENTS = """
UPDATE incidents SET bureau_confirmed_at = COALESCE(
    (
        SELECT min(a.at) FROM audit_entries a JOIN users u ON u.id = a.actor_id
        WHERE a.table_name = 'incidents' AND a.row_id = incidents.id AND u.role = 'bureau_admin'
    ),
    CASE WHEN incidents.created_by_id IS NULL OR EXISTS (
        SELECT 1 FROM users u WHERE u.id = incidents.created_by_id AND u.role = 'bureau_admin'
    ) THEN incidents.created_at END
)
"""


def upgrade() -> None:
    op.add_column(
        "staff_vetoes",
        sa.Column("recorded_by_bureau", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("incidents", sa.Column("bureau_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # The owner is behind the tenant wall too (FORCE ROW LEVEL SECURITY): the bureau scope sees
        # every school's rows, for this transaction only.
        op.execute("SELECT set_config('app.scope', 'bureau', true)")
    op.execute(BACKFILL_STAFF_VETOES)
    op.execute(BACKFILL_INCIDENTS)
    if postgres:
        op.execute("SELECT set_config('app.scope', '', true)")


def downgrade() -> None:
    # A plain DROP COLUMN on every database: batch mode on SQLite would copy and drop the tables, and
    # with foreign keys on, dropping incidents deletes their vetoes (ON DELETE CASCADE). SQLite has
    # ALTER TABLE ... DROP COLUMN since 3.35 (Python 3.11 ships a newer one).
    op.drop_column("incidents", "bureau_confirmed_at")
    op.drop_column("staff_vetoes", "recorded_by_bureau")
