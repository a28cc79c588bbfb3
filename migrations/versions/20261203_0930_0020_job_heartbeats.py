"""worker and beat heartbeats (heartbeats); who asked for a job run (job_runs.requested_by)

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-03 09:00:00+08:00

Issue 11, the jobs page: a line saying when the scheduler (beat) and a worker were last seen, written
by the tiny task ``tasks.heartbeat.beat`` that beat sends every minute (service/jobs/heartbeat.py), and
the recent job runs with who asked for each. Bureau-level: no school_id, no tenant policy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )
    op.add_column(
        "job_runs", sa.Column("requested_by", sa.String(length=120), server_default="", nullable=False)
    )


def downgrade() -> None:
    # A plain DROP COLUMN on every database (SQLite has it since 3.35): batch mode would copy the table.
    op.drop_column("job_runs", "requested_by")
    op.drop_table("heartbeats")
