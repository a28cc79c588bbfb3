"""issued bulletins (bulletin_issues): number per year, target, ranking snapshot, kept content

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-03 09:00:00+08:00

A bulletin (督查通报) is a numbered document in the bureau's name (issue 12): the number is assigned
once, when the bulletin of a month, term or year is first issued, and the figures it was issued with
are kept so that rendering it again gives the same document. Bureau-level (no school_id, no policy);
see service/bulletins/models.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulletin_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("public_context", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["ranking_snapshots.id"],
            name=op.f("fk_bulletin_issues_snapshot_id_ranking_snapshots"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_issues")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_bulletin_issues_kind_key")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_bulletin_issues_year_number")),
    )


def downgrade() -> None:
    op.drop_table("bulletin_issues")
