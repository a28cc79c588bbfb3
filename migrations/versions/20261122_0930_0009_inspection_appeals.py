"""inspection appeals (申诉) and their transitions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 09:30:00.000000+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["inspection_appeals", "inspection_appeal_transitions"]

APPEAL_STATES = ("submitted", "upheld", "rejected")


def _state(name: str) -> sa.Enum:
    return sa.Enum(*APPEAL_STATES, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "inspection_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", _state("appeal_state"), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(state = 'submitted') = (decided_at IS NULL)",
            name=op.f("ck_inspection_appeals_decided_iff_not_submitted"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_inspection_appeals_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"],
            ["users.id"],
            name=op.f("fk_inspection_appeals_filed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "inspection_id"],
            ["inspections.school_id", "inspections.id"],
            name=op.f("fk_inspection_appeals_school_id_inspection_id_inspections"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_inspection_appeals_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_appeals")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_inspection_appeals_school_id_id")),
    )
    op.create_index(
        op.f("ix_inspection_appeals_inspection_id"), "inspection_appeals", ["inspection_id"], unique=False
    )
    op.create_index(
        op.f("ix_inspection_appeals_school_id"), "inspection_appeals", ["school_id"], unique=False
    )
    op.create_index(op.f("ix_inspection_appeals_state"), "inspection_appeals", ["state"], unique=False)
    op.create_index(
        "uq_inspection_appeals_one_open",
        "inspection_appeals",
        ["school_id", "inspection_id"],
        unique=True,
        postgresql_where=sa.text("state = 'submitted'"),
        sqlite_where=sa.text("state = 'submitted'"),
    )
    op.create_table(
        "inspection_appeal_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("from_state", _state("appeal_from_state"), nullable=True),
        sa.Column("to_state", _state("appeal_to_state"), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_inspection_appeal_transitions_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "appeal_id"],
            ["inspection_appeals.school_id", "inspection_appeals.id"],
            name=op.f("fk_inspection_appeal_transitions_school_id_appeal_id_inspection_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_inspection_appeal_transitions_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_appeal_transitions")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_inspection_appeal_transitions_school_id_id")),
    )
    op.create_index(
        op.f("ix_inspection_appeal_transitions_appeal_id"),
        "inspection_appeal_transitions",
        ["appeal_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inspection_appeal_transitions_school_id"),
        "inspection_appeal_transitions",
        ["school_id"],
        unique=False,
    )

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(
        op.f("ix_inspection_appeal_transitions_school_id"), table_name="inspection_appeal_transitions"
    )
    op.drop_index(
        op.f("ix_inspection_appeal_transitions_appeal_id"), table_name="inspection_appeal_transitions"
    )
    op.drop_table("inspection_appeal_transitions")
    op.drop_index(
        "uq_inspection_appeals_one_open",
        table_name="inspection_appeals",
        postgresql_where=sa.text("state = 'submitted'"),
        sqlite_where=sa.text("state = 'submitted'"),
    )
    op.drop_index(op.f("ix_inspection_appeals_state"), table_name="inspection_appeals")
    op.drop_index(op.f("ix_inspection_appeals_school_id"), table_name="inspection_appeals")
    op.drop_index(op.f("ix_inspection_appeals_inspection_id"), table_name="inspection_appeals")
    op.drop_table("inspection_appeals")
