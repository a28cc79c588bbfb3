"""inspections (self/spot) with their item results, and the canteen's monthly facts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:52:48.529782+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["inspections", "inspection_item_results", "canteen_monthly_facts"]


def upgrade() -> None:
    op.create_table(
        "canteen_monthly_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("meals_served", sa.Integer(), nullable=False),
        sa.Column("menu_compliant_days", sa.Integer(), nullable=False),
        sa.Column("serving_days", sa.Integer(), nullable=False),
        sa.Column("leader_accompanied_meals", sa.Integer(), nullable=False),
        sa.Column("sampled_meals", sa.Integer(), nullable=False),
        sa.Column("food_waste_kg", sa.Numeric(precision=8, scale=1), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "leader_accompanied_meals <= meals_served AND sampled_meals <= meals_served",
            name=op.f("ck_canteen_monthly_facts_meals_within_served"),
        ),
        sa.CheckConstraint(
            "meals_served >= 0 AND menu_compliant_days >= 0 AND serving_days >= 0 AND leader_accompanied_meals >= 0 AND sampled_meals >= 0 AND food_waste_kg >= 0",
            name=op.f("ck_canteen_monthly_facts_nonnegative"),
        ),
        sa.CheckConstraint(
            "menu_compliant_days <= serving_days AND serving_days <= 31",
            name=op.f("ck_canteen_monthly_facts_days_within_month"),
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_canteen_monthly_facts_period_id_periods"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            name=op.f("fk_canteen_monthly_facts_school_id_report_id_monthly_reports"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_canteen_monthly_facts_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canteen_monthly_facts")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_canteen_monthly_facts_school_id_id")),
        sa.UniqueConstraint(
            "school_id", "period_id", name=op.f("uq_canteen_monthly_facts_school_id_period_id")
        ),
    )
    op.create_index(
        op.f("ix_canteen_monthly_facts_period_id"), "canteen_monthly_facts", ["period_id"], unique=False
    )
    op.create_index(
        op.f("ix_canteen_monthly_facts_report_id"), "canteen_monthly_facts", ["report_id"], unique=False
    )
    op.create_index(
        op.f("ix_canteen_monthly_facts_school_id"), "canteen_monthly_facts", ["school_id"], unique=False
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "canteen",
                "safety",
                name="inspection_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "mode",
            sa.Enum(
                "self", "spot", name="inspection_mode", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("inspector_name", sa.String(length=64), nullable=False),
        sa.Column("inspector_user_id", sa.Integer(), nullable=True),
        sa.Column("unannounced", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column("key_failed", sa.Integer(), nullable=False),
        sa.Column("veto_failed", sa.Integer(), nullable=False),
        sa.Column(
            "grade",
            sa.Enum(
                "A",
                "B",
                "C",
                "ungraded",
                name="inspection_grade",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("section_scores", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind = 'canteen' OR grade IS NULL", name=op.f("ck_inspections_grade_canteen_only")
        ),
        sa.CheckConstraint(
            "mode <> 'self' OR report_id IS NOT NULL", name=op.f("ck_inspections_self_has_report")
        ),
        sa.CheckConstraint(
            "mode = 'spot' OR NOT unannounced", name=op.f("ck_inspections_unannounced_spot_only")
        ),
        sa.CheckConstraint(
            "key_failed >= 0 AND veto_failed >= 0", name=op.f("ck_inspections_counts_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["inspector_user_id"],
            ["users.id"],
            name=op.f("fk_inspections_inspector_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_inspections_period_id_periods"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_inspections_rubric_version_id_rubric_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            name=op.f("fk_inspections_school_id_report_id_monthly_reports"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_inspections_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_inspections_school_id_id")),
    )
    op.create_index(op.f("ix_inspections_period_id"), "inspections", ["period_id"], unique=False)
    op.create_index(op.f("ix_inspections_report_id"), "inspections", ["report_id"], unique=False)
    op.create_index(
        op.f("ix_inspections_rubric_version_id"), "inspections", ["rubric_version_id"], unique=False
    )
    op.create_index(op.f("ix_inspections_school_id"), "inspections", ["school_id"], unique=False)
    op.create_table(
        "inspection_item_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "pass",
                "fail",
                "na",
                name="inspection_item_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "occurrences >= 0", name=op.f("ck_inspection_item_results_occurrences_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["rubric_items.id"],
            name=op.f("fk_inspection_item_results_item_id_rubric_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "inspection_id"],
            ["inspections.school_id", "inspections.id"],
            name=op.f("fk_inspection_item_results_school_id_inspection_id_inspections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_inspection_item_results_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_item_results")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_inspection_item_results_school_id_id")),
        sa.UniqueConstraint(
            "school_id",
            "inspection_id",
            "item_id",
            name=op.f("uq_inspection_item_results_school_id_inspection_id_item_id"),
        ),
    )
    op.create_index(
        op.f("ix_inspection_item_results_inspection_id"),
        "inspection_item_results",
        ["inspection_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inspection_item_results_item_id"), "inspection_item_results", ["item_id"], unique=False
    )
    op.create_index(
        op.f("ix_inspection_item_results_school_id"), "inspection_item_results", ["school_id"], unique=False
    )

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(op.f("ix_inspection_item_results_school_id"), table_name="inspection_item_results")
    op.drop_index(op.f("ix_inspection_item_results_item_id"), table_name="inspection_item_results")
    op.drop_index(op.f("ix_inspection_item_results_inspection_id"), table_name="inspection_item_results")
    op.drop_table("inspection_item_results")
    op.drop_index(op.f("ix_inspections_school_id"), table_name="inspections")
    op.drop_index(op.f("ix_inspections_rubric_version_id"), table_name="inspections")
    op.drop_index(op.f("ix_inspections_report_id"), table_name="inspections")
    op.drop_index(op.f("ix_inspections_period_id"), table_name="inspections")
    op.drop_table("inspections")
    op.drop_index(op.f("ix_canteen_monthly_facts_school_id"), table_name="canteen_monthly_facts")
    op.drop_index(op.f("ix_canteen_monthly_facts_report_id"), table_name="canteen_monthly_facts")
    op.drop_index(op.f("ix_canteen_monthly_facts_period_id"), table_name="canteen_monthly_facts")
    op.drop_table("canteen_monthly_facts")
