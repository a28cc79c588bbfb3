"""personal vetoes of 优秀后勤人员 (staff_vetoes)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 09:30:00+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned: behind the tenant wall.
RLS_TABLES = ["staff_vetoes"]


def upgrade() -> None:
    op.create_table(
        "staff_vetoes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "accident_at_fault",
                "discipline",
                "kickback",
                "unexcused_absence",
                name="staff_veto_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("ends_on > occurred_on", name=op.f("ck_staff_vetoes_window_not_empty")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_staff_vetoes_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            name=op.f("fk_staff_vetoes_school_id_staff_id_staff_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_staff_vetoes_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_vetoes")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_staff_vetoes_school_id_id")),
    )
    op.create_index(op.f("ix_staff_vetoes_school_id"), "staff_vetoes", ["school_id"], unique=False)
    op.create_index(op.f("ix_staff_vetoes_staff_id"), "staff_vetoes", ["staff_id"], unique=False)
    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(op.f("ix_staff_vetoes_staff_id"), table_name="staff_vetoes")
    op.drop_index(op.f("ix_staff_vetoes_school_id"), table_name="staff_vetoes")
    op.drop_table("staff_vetoes")
