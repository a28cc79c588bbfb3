"""scheduled notices and their delivery (notice_schedules, notice_runs, notice_run_log, notice_renders,
notice_deliveries, notice_preferences)

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-03 09:00:00+08:00

Issue 12: the bureau's schedules, one run per (schedule, target key), the rendered message per language,
one delivery per (run, channel, address, round) claimed by a conditional UPDATE, and each user's opt-outs.
Bureau-level tables (no school_id, so no tenant policy): see service/notices/models.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "rule",
            sa.Enum(
                "monthly",
                "before_deadline",
                "weekly",
                "daily",
                "event",
                name="notice_rule",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("day_of_month", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("days_before", sa.JSON(), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "day_of_month IS NULL OR day_of_month BETWEEN 1 AND 28",
            name=op.f("ck_notice_schedules_day_of_month_range"),
        ),
        sa.CheckConstraint(
            "weekday IS NULL OR weekday BETWEEN 0 AND 6", name=op.f("ck_notice_schedules_weekday_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_schedules")),
    )
    op.create_index(op.f("ix_notice_schedules_kind"), "notice_schedules", ["kind"], unique=False)
    op.create_table(
        "notice_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("target_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("target_school_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="notice_run_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["notice_schedules.id"],
            name=op.f("fk_notice_runs_schedule_id_notice_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_school_id"],
            ["schools.id"],
            name=op.f("fk_notice_runs_target_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_runs")),
        sa.UniqueConstraint("schedule_id", "target_key", name=op.f("uq_notice_runs_schedule_id_target_key")),
    )
    op.create_index(op.f("ix_notice_runs_schedule_id"), "notice_runs", ["schedule_id"], unique=False)
    op.create_index(
        op.f("ix_notice_runs_target_school_id"), "notice_runs", ["target_school_id"], unique=False
    )
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "webhook",
                name="notice_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed_temporary",
                "failed_permanent",
                name="notice_delivery_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("smtp_reply", sa.String(length=500), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["notice_runs.id"],
            name=op.f("fk_notice_deliveries_run_id_notice_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_deliveries_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint(
            "run_id",
            "channel",
            "address",
            "round",
            name=op.f("uq_notice_deliveries_run_id_channel_address_round"),
        ),
    )
    op.create_index(op.f("ix_notice_deliveries_run_id"), "notice_deliveries", ["run_id"], unique=False)
    op.create_index(op.f("ix_notice_deliveries_state"), "notice_deliveries", ["state"], unique=False)
    op.create_table(
        "notice_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_preferences")),
        sa.UniqueConstraint("user_id", "kind", name=op.f("uq_notice_preferences_user_id_kind")),
    )
    op.create_index(op.f("ix_notice_preferences_user_id"), "notice_preferences", ["user_id"], unique=False)
    op.create_table(
        "notice_renders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("mime", sa.LargeBinary(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["notice_runs.id"],
            name=op.f("fk_notice_renders_run_id_notice_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_renders")),
        sa.UniqueConstraint("run_id", "locale", name=op.f("uq_notice_renders_run_id_locale")),
    )
    op.create_table(
        "notice_run_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["notice_runs.id"],
            name=op.f("fk_notice_run_log_run_id_notice_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_run_log")),
    )
    op.create_index(op.f("ix_notice_run_log_run_id"), "notice_run_log", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notice_run_log_run_id"), table_name="notice_run_log")
    op.drop_table("notice_run_log")
    op.drop_table("notice_renders")
    op.drop_index(op.f("ix_notice_preferences_user_id"), table_name="notice_preferences")
    op.drop_table("notice_preferences")
    op.drop_index(op.f("ix_notice_deliveries_state"), table_name="notice_deliveries")
    op.drop_index(op.f("ix_notice_deliveries_run_id"), table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_index(op.f("ix_notice_runs_target_school_id"), table_name="notice_runs")
    op.drop_index(op.f("ix_notice_runs_schedule_id"), table_name="notice_runs")
    op.drop_table("notice_runs")
    op.drop_index(op.f("ix_notice_schedules_kind"), table_name="notice_schedules")
    op.drop_table("notice_schedules")
