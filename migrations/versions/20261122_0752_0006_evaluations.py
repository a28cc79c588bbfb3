"""staff evaluations (后勤人员考核) and their ratings

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-22 07:52:50.252957+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["evaluations", "evaluation_ratings"]


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("dimension_scores", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_evaluations_period_id_periods"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_evaluations_rubric_version_id_rubric_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            name=op.f("fk_evaluations_school_id_report_id_monthly_reports"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            name=op.f("fk_evaluations_school_id_staff_id_staff_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_evaluations_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_evaluations_school_id_id")),
        sa.UniqueConstraint(
            "school_id", "staff_id", "period_id", name=op.f("uq_evaluations_school_id_staff_id_period_id")
        ),
    )
    op.create_index(op.f("ix_evaluations_period_id"), "evaluations", ["period_id"], unique=False)
    op.create_index(op.f("ix_evaluations_report_id"), "evaluations", ["report_id"], unique=False)
    op.create_index(
        op.f("ix_evaluations_rubric_version_id"), "evaluations", ["rubric_version_id"], unique=False
    )
    op.create_index(op.f("ix_evaluations_school_id"), "evaluations", ["school_id"], unique=False)
    op.create_index(op.f("ix_evaluations_staff_id"), "evaluations", ["staff_id"], unique=False)
    op.create_table(
        "evaluation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column(
            "rater_group",
            sa.Enum(
                "assessment",
                "satisfaction",
                "peer",
                "self",
                name="rater_group",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rater_name", sa.String(length=40), nullable=False),
        sa.Column("rater_staff_id", sa.Integer(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id", "evaluation_id"],
            ["evaluations.school_id", "evaluations.id"],
            name=op.f("fk_evaluation_ratings_school_id_evaluation_id_evaluations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "rater_staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            name=op.f("fk_evaluation_ratings_school_id_rater_staff_id_staff_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_evaluation_ratings_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_ratings")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_evaluation_ratings_school_id_id")),
    )
    op.create_index(
        op.f("ix_evaluation_ratings_evaluation_id"), "evaluation_ratings", ["evaluation_id"], unique=False
    )
    op.create_index(
        op.f("ix_evaluation_ratings_school_id"), "evaluation_ratings", ["school_id"], unique=False
    )

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(op.f("ix_evaluation_ratings_school_id"), table_name="evaluation_ratings")
    op.drop_index(op.f("ix_evaluation_ratings_evaluation_id"), table_name="evaluation_ratings")
    op.drop_table("evaluation_ratings")
    op.drop_index(op.f("ix_evaluations_staff_id"), table_name="evaluations")
    op.drop_index(op.f("ix_evaluations_school_id"), table_name="evaluations")
    op.drop_index(op.f("ix_evaluations_rubric_version_id"), table_name="evaluations")
    op.drop_index(op.f("ix_evaluations_report_id"), table_name="evaluations")
    op.drop_index(op.f("ix_evaluations_period_id"), table_name="evaluations")
    op.drop_table("evaluations")
