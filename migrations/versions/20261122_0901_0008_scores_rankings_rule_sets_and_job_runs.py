"""scores, rankings, rule sets and job runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 09:01:32.077417+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["school_month_scores", "ranking_entries"]


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "failed",
                name="run_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=120), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("run_key", name=op.f("uq_job_runs_run_key")),
    )
    op.create_index(op.f("ix_job_runs_kind"), "job_runs", ["kind"], unique=False)
    op.create_table(
        "job_run_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["job_runs.id"], name=op.f("fk_job_run_log_run_id_job_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run_log")),
    )
    op.create_index(op.f("ix_job_run_log_run_id"), "job_run_log", ["run_id"], unique=False)
    op.create_table(
        "ranking_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "month",
                "term",
                "year",
                name="ranking_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("period_ids", sa.JSON(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_run_id"],
            ["job_runs.id"],
            name=op.f("fk_ranking_snapshots_job_run_id_job_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["ranking_snapshots.id"],
            name=op.f("fk_ranking_snapshots_previous_id_ranking_snapshots"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_snapshots")),
    )
    op.create_index("ix_ranking_snapshots_kind_key", "ranking_snapshots", ["kind", "key"], unique=False)
    op.create_table(
        "ranking_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ranked",
                "insufficient",
                "missing",
                name="ranking_entry_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column(
            "band",
            sa.Enum(
                "A", "B", "C", "D", name="ranking_band", native_enum=False, create_constraint=True, length=32
            ),
            nullable=True,
        ),
        sa.Column("months_expected", sa.Integer(), nullable=False),
        sa.Column("months_counted", sa.Integer(), nullable=False),
        sa.Column("late_months", sa.Integer(), nullable=False),
        sa.Column("canteen_applies", sa.Boolean(), nullable=False),
        sa.Column("canteen_mean", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("safety_mean", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("staff_mean", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("spot_mean", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("key_failed", sa.Integer(), nullable=False),
        sa.Column("credibility_flags", sa.Integer(), nullable=False),
        sa.Column("school_type", sa.String(length=20), nullable=False),
        sa.Column("peer_group", sa.String(length=40), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("rank_overall", sa.Integer(), nullable=True),
        sa.Column("rank_peer", sa.Integer(), nullable=True),
        sa.Column("rank_cluster", sa.Integer(), nullable=True),
        sa.Column("previous_rank", sa.Integer(), nullable=True),
        sa.Column("movement", sa.Integer(), nullable=True),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.Column("veto_blocks", sa.JSON(), nullable=False),
        sa.Column("sensitivity_max", sa.Integer(), nullable=True),
        sa.Column("sensitivity_median", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_ranking_entries_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["ranking_snapshots.id"],
            name=op.f("fk_ranking_entries_snapshot_id_ranking_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_entries")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_ranking_entries_school_id_id")),
        sa.UniqueConstraint(
            "snapshot_id", "school_id", name=op.f("uq_ranking_entries_snapshot_id_school_id")
        ),
    )
    op.create_index(op.f("ix_ranking_entries_school_id"), "ranking_entries", ["school_id"], unique=False)
    op.create_index(op.f("ix_ranking_entries_snapshot_id"), "ranking_entries", ["snapshot_id"], unique=False)
    op.create_table(
        "school_month_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scored", "missing", name="month_status", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("canteen_applies", sa.Boolean(), nullable=False),
        sa.Column("canteen_self", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("canteen_spot", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("canteen_area", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("canteen_flag", sa.Boolean(), nullable=False),
        sa.Column("safety_self", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("safety_spot", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("safety_before_hazards", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("overdue_hazards", sa.Integer(), nullable=False),
        sa.Column("hazard_deduction", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("safety_area", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("safety_flag", sa.Boolean(), nullable=False),
        sa.Column("staff_area", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("staff_evaluated", sa.Integer(), nullable=False),
        sa.Column("weighted", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("late_deduction", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("composite", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column(
            "band",
            sa.Enum(
                "A", "B", "C", "D", name="score_band", native_enum=False, create_constraint=True, length=32
            ),
            nullable=True,
        ),
        sa.Column("key_failed", sa.Integer(), nullable=False),
        sa.Column("veto_failed", sa.Integer(), nullable=False),
        sa.Column("spot_mean", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("spot_count", sa.Integer(), nullable=False),
        sa.Column("inspections", sa.Integer(), nullable=False),
        sa.Column("score_mismatches", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_school_month_scores_period_id_periods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_school_month_scores_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_month_scores")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_school_month_scores_school_id_id")),
        sa.UniqueConstraint(
            "school_id", "period_id", name=op.f("uq_school_month_scores_school_id_period_id")
        ),
    )
    op.create_index(
        op.f("ix_school_month_scores_period_id"), "school_month_scores", ["period_id"], unique=False
    )
    op.create_index(
        op.f("ix_school_month_scores_school_id"), "school_month_scores", ["school_id"], unique=False
    )
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "scoring",
                "commendations",
                name="rule_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_rule_sets_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_rule_sets_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_sets")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_rule_sets_kind_version")),
    )
    op.add_column(
        "inspections", sa.Column("excluded", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column(
        "inspections", sa.Column("excluded_reason", sa.String(length=500), server_default="", nullable=False)
    )
    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_column("inspections", "excluded_reason")
    op.drop_column("inspections", "excluded")
    op.drop_table("rule_sets")
    op.drop_index(op.f("ix_school_month_scores_school_id"), table_name="school_month_scores")
    op.drop_index(op.f("ix_school_month_scores_period_id"), table_name="school_month_scores")
    op.drop_table("school_month_scores")
    op.drop_index(op.f("ix_ranking_entries_snapshot_id"), table_name="ranking_entries")
    op.drop_index(op.f("ix_ranking_entries_school_id"), table_name="ranking_entries")
    op.drop_table("ranking_entries")
    op.drop_index("ix_ranking_snapshots_kind_key", table_name="ranking_snapshots")
    op.drop_table("ranking_snapshots")
    op.drop_index(op.f("ix_job_run_log_run_id"), table_name="job_run_log")
    op.drop_table("job_run_log")
    op.drop_index(op.f("ix_job_runs_kind"), table_name="job_runs")
    op.drop_table("job_runs")
