"""checked workbooks waiting for their confirmation (excel_staged_uploads)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:00:00+08:00

The web upload of the monthly workbook has two phases (issue 10): the check shows what the workbook
would replace, and only the confirmation writes. Between the two the file is kept here (any gunicorn
worker may answer the confirmation), for 30 minutes at most; see service/excel/models.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned: behind the tenant wall.
RLS_TABLES = ["excel_staged_uploads"]


def upgrade() -> None:
    op.create_table(
        "excel_staged_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            name=op.f("fk_excel_staged_uploads_school_id_report_id_monthly_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_excel_staged_uploads_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_excel_staged_uploads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excel_staged_uploads")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_excel_staged_uploads_school_id_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_excel_staged_uploads_token_hash")),
    )
    op.create_index(
        op.f("ix_excel_staged_uploads_report_id"), "excel_staged_uploads", ["report_id"], unique=False
    )
    op.create_index(
        op.f("ix_excel_staged_uploads_school_id"), "excel_staged_uploads", ["school_id"], unique=False
    )
    op.create_index(
        op.f("ix_excel_staged_uploads_user_id"), "excel_staged_uploads", ["user_id"], unique=False
    )
    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index(op.f("ix_excel_staged_uploads_user_id"), table_name="excel_staged_uploads")
    op.drop_index(op.f("ix_excel_staged_uploads_school_id"), table_name="excel_staged_uploads")
    op.drop_index(op.f("ix_excel_staged_uploads_report_id"), table_name="excel_staged_uploads")
    op.drop_table("excel_staged_uploads")
