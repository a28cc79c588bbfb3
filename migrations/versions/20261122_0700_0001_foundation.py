"""foundation: organisation, accounts, staff, and the row-level-security wall

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:00:52.996407+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables behind the tenant wall and the column that names their school.
RLS_TABLES = [
    ("schools", "id"),
    ("users", "school_id"),
    ("staff_members", "school_id"),
    ("certificate_warnings", "school_id"),
]


def upgrade() -> None:
    op.create_table(
        "bureau",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=160), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau")),
    )
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("code", name=op.f("uq_clusters_code")),
        sa.UniqueConstraint("name", name=op.f("uq_clusters_name")),
    )
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "primary",
                "junior",
                "senior",
                "nine_year",
                "complete",
                name="school_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("enrollment", sa.Integer(), nullable=False),
        sa.Column("staff_count", sa.Integer(), nullable=False),
        sa.Column("boarding", sa.Boolean(), nullable=False),
        sa.Column(
            "canteen_mode",
            sa.Enum(
                "self_run",
                "contracted",
                "none",
                name="canteen_mode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("principal_name", sa.String(length=40), nullable=False),
        sa.Column("contact_name", sa.String(length=40), nullable=False),
        sa.Column("contact_phone", sa.String(length=30), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("enrollment >= 0", name=op.f("ck_schools_enrollment_nonnegative")),
        sa.CheckConstraint("staff_count >= 0", name=op.f("ck_schools_staff_count_nonnegative")),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_schools_cluster_id_clusters"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("code", name=op.f("uq_schools_code")),
        sa.UniqueConstraint("name", name=op.f("uq_schools_name")),
    )
    op.create_index(op.f("ix_schools_cluster_id"), "schools", ["cluster_id"], unique=False)
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "cook",
                "storekeeper",
                "canteen_manager",
                "guard",
                "electrician",
                "dorm_supervisor",
                "cleaner",
                "boiler_operator",
                "school_doctor",
                "other",
                name="staff_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "contract_type",
            sa.Enum(
                "established",
                "contract",
                "temporary",
                "outsourced",
                name="contract_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("hire_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("health_cert_no", sa.String(length=40), nullable=False),
        sa.Column("health_cert_expiry", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_staff_members_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_members")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_staff_members_school_id_id")),
    )
    op.create_index(op.f("ix_staff_members_school_id"), "staff_members", ["school_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "bureau_admin",
                "bureau_official",
                "inspector",
                "school_admin",
                name="user_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(role = 'school_admin') = (school_id IS NOT NULL)", name=op.f("ck_users_school_admin_has_school")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_users_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_users_school_id_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_school_id"), "users", ["school_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "certificate_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "missing",
                "expired",
                "expiring",
                name="warning_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            name=op.f("fk_certificate_warnings_school_id_staff_id_staff_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_certificate_warnings_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_warnings")),
        sa.UniqueConstraint("school_id", "staff_id", name=op.f("uq_certificate_warnings_school_id_staff_id")),
    )
    op.create_index(
        op.f("ix_certificate_warnings_school_id"), "certificate_warnings", ["school_id"], unique=False
    )
    op.create_table(
        "inspector_clusters",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_inspector_clusters_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_inspector_clusters_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "cluster_id", name=op.f("pk_inspector_clusters")),
    )

    # clusters.supervisor_id -> users.id closes a cycle (users -> schools -> clusters), so it comes last.
    with op.batch_alter_table("clusters") as batch:
        batch.create_foreign_key(
            op.f("fk_clusters_supervisor_id_users"), "users", ["supervisor_id"], ["id"], ondelete="SET NULL"
        )

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    with op.batch_alter_table("clusters") as batch:
        batch.drop_constraint(op.f("fk_clusters_supervisor_id_users"), type_="foreignkey")
    op.drop_table("inspector_clusters")
    op.drop_index(op.f("ix_certificate_warnings_school_id"), table_name="certificate_warnings")
    op.drop_table("certificate_warnings")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_users_school_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_staff_members_school_id"), table_name="staff_members")
    op.drop_table("staff_members")
    op.drop_index(op.f("ix_schools_cluster_id"), table_name="schools")
    op.drop_table("schools")
    op.drop_table("clusters")
    op.drop_table("bureau")
