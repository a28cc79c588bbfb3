"""audit trail, periods and unlock requests, monthly reports with their transition log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:46:55.895706+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["audit_entries", "monthly_reports", "unlock_requests", "report_transitions"]


def upgrade() -> None:
    op.create_table(
        "periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("lock_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lock_days >= 0", name=op.f("ck_periods_lock_days_nonnegative")),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_periods_month_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periods")),
        sa.UniqueConstraint("year", "month", name=op.f("uq_periods_year_month")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "insert",
                "update",
                "delete",
                name="audit_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_entries_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_audit_entries_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_audit_entries_school_id_id")),
    )
    op.create_index(op.f("ix_audit_entries_at"), "audit_entries", ["at"], unique=False)
    op.create_index("ix_audit_entries_record", "audit_entries", ["table_name", "row_id"], unique=False)
    op.create_index(op.f("ix_audit_entries_school_id"), "audit_entries", ["school_id"], unique=False)
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "submitted",
                "returned",
                "accepted",
                name="report_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_reason", sa.String(length=1000), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_monthly_reports_period_id_periods"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_monthly_reports_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_monthly_reports_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_monthly_reports_school_id_id")),
        sa.UniqueConstraint("school_id", "period_id", name=op.f("uq_monthly_reports_school_id_period_id")),
    )
    op.create_index(op.f("ix_monthly_reports_period_id"), "monthly_reports", ["period_id"], unique=False)
    op.create_index(op.f("ix_monthly_reports_school_id"), "monthly_reports", ["school_id"], unique=False)
    op.create_table(
        "unlock_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "granted",
                "refused",
                name="unlock_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=False),
        sa.Column("unlocked_until", sa.Date(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_unlock_requests_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_unlock_requests_period_id_periods"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_unlock_requests_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_unlock_requests_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unlock_requests")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_unlock_requests_school_id_id")),
    )
    op.create_index(op.f("ix_unlock_requests_period_id"), "unlock_requests", ["period_id"], unique=False)
    op.create_index(op.f("ix_unlock_requests_school_id"), "unlock_requests", ["school_id"], unique=False)
    op.create_table(
        "report_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "draft",
                "submitted",
                "returned",
                "accepted",
                name="from_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "draft",
                "submitted",
                "returned",
                "accepted",
                name="to_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_report_transitions_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            name=op.f("fk_report_transitions_school_id_report_id_monthly_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_report_transitions_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_transitions")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_report_transitions_school_id_id")),
    )
    op.create_index(
        op.f("ix_report_transitions_report_id"), "report_transitions", ["report_id"], unique=False
    )
    op.create_index(
        op.f("ix_report_transitions_school_id"), "report_transitions", ["school_id"], unique=False
    )

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(op.f("ix_report_transitions_school_id"), table_name="report_transitions")
    op.drop_index(op.f("ix_report_transitions_report_id"), table_name="report_transitions")
    op.drop_table("report_transitions")
    op.drop_index(op.f("ix_unlock_requests_school_id"), table_name="unlock_requests")
    op.drop_index(op.f("ix_unlock_requests_period_id"), table_name="unlock_requests")
    op.drop_table("unlock_requests")
    op.drop_index(op.f("ix_monthly_reports_school_id"), table_name="monthly_reports")
    op.drop_index(op.f("ix_monthly_reports_period_id"), table_name="monthly_reports")
    op.drop_table("monthly_reports")
    op.drop_index(op.f("ix_audit_entries_school_id"), table_name="audit_entries")
    op.drop_index("ix_audit_entries_record", table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_at"), table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_table("periods")
