"""rubrics: versioned rubrics, their sections and items (bureau-level: no school_id, no row-level security)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:42:07.517048+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rubrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "canteen",
                "safety",
                "staff",
                name="rubric_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_en", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubrics")),
        sa.UniqueConstraint("code", name=op.f("uq_rubrics_code")),
        sa.UniqueConstraint("kind", name=op.f("uq_rubrics_kind")),
    )
    op.create_table(
        "rubric_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rubric_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="rubric_version_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_rubric_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_rubric_versions_published_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rubric_id"],
            ["rubrics.id"],
            name=op.f("fk_rubric_versions_rubric_id_rubrics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_versions")),
        sa.UniqueConstraint("rubric_id", "version", name=op.f("uq_rubric_versions_rubric_id_version")),
    )
    op.create_index(op.f("ix_rubric_versions_rubric_id"), "rubric_versions", ["rubric_id"], unique=False)
    op.create_index(
        "uq_rubric_versions_one_published",
        "rubric_versions",
        ["rubric_id"],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
        sqlite_where=sa.text("status = 'published'"),
    )
    op.create_table(
        "rubric_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("max_points", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("max_points > 0", name=op.f("ck_rubric_sections_max_points_positive")),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_rubric_sections_version_id_rubric_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_sections")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_rubric_sections_version_id_code")),
    )
    op.create_index(op.f("ix_rubric_sections_version_id"), "rubric_sections", ["version_id"], unique=False)
    op.create_table(
        "rubric_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "veto",
                "key",
                "general",
                name="rubric_item_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("deduction", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("cap", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("max_score", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("na_allowed", sa.Boolean(), nullable=False),
        sa.Column("key_fails_on", sa.Text(), nullable=True),
        sa.Column("computed", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "cap IS NULL OR cap >= deduction", name=op.f("ck_rubric_items_cap_covers_deduction")
        ),
        sa.CheckConstraint("deduction >= 0", name=op.f("ck_rubric_items_deduction_nonnegative")),
        sa.CheckConstraint(
            "max_score IS NULL OR max_score > 0", name=op.f("ck_rubric_items_max_score_positive")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["rubric_sections.id"],
            name=op.f("fk_rubric_items_section_id_rubric_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_items")),
        sa.UniqueConstraint("section_id", "code", name=op.f("uq_rubric_items_section_id_code")),
    )
    op.create_index(op.f("ix_rubric_items_section_id"), "rubric_items", ["section_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rubric_items_section_id"), table_name="rubric_items")
    op.drop_table("rubric_items")
    op.drop_index(op.f("ix_rubric_sections_version_id"), table_name="rubric_sections")
    op.drop_table("rubric_sections")
    op.drop_index(
        "uq_rubric_versions_one_published",
        table_name="rubric_versions",
        postgresql_where=sa.text("status = 'published'"),
        sqlite_where=sa.text("status = 'published'"),
    )
    op.drop_index(op.f("ix_rubric_versions_rubric_id"), table_name="rubric_versions")
    op.drop_table("rubric_versions")
    op.drop_table("rubrics")
