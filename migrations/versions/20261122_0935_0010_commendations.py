"""commendations (表彰): rounds, candidates and issued certificates

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-22 09:35:00.000000+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["commendation_candidates", "commendation_certificates"]


def upgrade() -> None:
    op.create_table(
        "commendation_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "term",
                "year",
                name="commendation_round_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed",
                "published",
                name="commendation_round_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_commendation_rounds_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_commendation_rounds_published_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["ranking_snapshots.id"],
            name=op.f("fk_commendation_rounds_snapshot_id_ranking_snapshots"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commendation_rounds")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_commendation_rounds_kind_key")),
    )
    op.create_index(
        op.f("ix_commendation_rounds_snapshot_id"), "commendation_rounds", ["snapshot_id"], unique=False
    )
    op.create_table(
        "commendation_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column(
            "commendation",
            sa.Enum(
                "advanced_unit",
                "trusted_canteen",
                "safe_campus",
                "outstanding_staff",
                name="commendation",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=30), nullable=False),
        sa.Column("qualifies", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="commendation_decision",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certificate_no", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(commendation = 'outstanding_staff') = (staff_id IS NOT NULL)",
            name=op.f("ck_commendation_candidates_staff_only_for_staff_award"),
        ),
        sa.CheckConstraint(
            "decision = 'pending' OR qualifies",
            name=op.f("ck_commendation_candidates_decided_only_if_qualifies"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_commendation_candidates_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["commendation_rounds.id"],
            name=op.f("fk_commendation_candidates_round_id_commendation_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            name=op.f("fk_commendation_candidates_school_id_staff_id_staff_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_commendation_candidates_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commendation_candidates")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_commendation_candidates_certificate_no")),
        sa.UniqueConstraint(
            "round_id",
            "commendation",
            "school_id",
            "subject",
            name=op.f("uq_commendation_candidates_round_id_commendation_school_id_subject"),
        ),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_commendation_candidates_school_id_id")),
    )
    op.create_index(
        op.f("ix_commendation_candidates_round_id"), "commendation_candidates", ["round_id"], unique=False
    )
    op.create_index(
        op.f("ix_commendation_candidates_school_id"), "commendation_candidates", ["school_id"], unique=False
    )
    op.create_index(
        op.f("ix_commendation_candidates_staff_id"), "commendation_candidates", ["staff_id"], unique=False
    )
    op.create_table(
        "commendation_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("certificate_no", sa.String(length=40), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id", "candidate_id"],
            ["commendation_candidates.school_id", "commendation_candidates.id"],
            name=op.f("fk_commendation_certificates_school_id_candidate_id_commendation_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_commendation_certificates_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commendation_certificates")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_commendation_certificates_certificate_no")),
        sa.UniqueConstraint(
            "school_id", "candidate_id", name=op.f("uq_commendation_certificates_school_id_candidate_id")
        ),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_commendation_certificates_school_id_id")),
    )
    op.create_index(
        op.f("ix_commendation_certificates_candidate_id"),
        "commendation_certificates",
        ["candidate_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commendation_certificates_school_id"),
        "commendation_certificates",
        ["school_id"],
        unique=False,
    )

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(op.f("ix_commendation_certificates_school_id"), table_name="commendation_certificates")
    op.drop_index(op.f("ix_commendation_certificates_candidate_id"), table_name="commendation_certificates")
    op.drop_table("commendation_certificates")
    op.drop_index(op.f("ix_commendation_candidates_staff_id"), table_name="commendation_candidates")
    op.drop_index(op.f("ix_commendation_candidates_school_id"), table_name="commendation_candidates")
    op.drop_index(op.f("ix_commendation_candidates_round_id"), table_name="commendation_candidates")
    op.drop_table("commendation_candidates")
    op.drop_index(op.f("ix_commendation_rounds_snapshot_id"), table_name="commendation_rounds")
    op.drop_table("commendation_rounds")
