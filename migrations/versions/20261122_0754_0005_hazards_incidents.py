"""hazards (rectification notices) with their transition log, incidents, vetoes

No foreign key to the inspections area: ``hazards.source_inspection_id`` and ``vetoes.inspection_id``
are plain integers, so this branch stands without it.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22 07:54:03.139168+08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# School-owned tables of this revision: behind the tenant wall.
RLS_TABLES = ["hazards", "hazard_transitions", "incidents", "vetoes"]


def upgrade() -> None:
    op.create_table(
        "hazards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="hazard_severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("responsible_person", sa.String(length=40), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "rectifying",
                "closed",
                name="hazard_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("closing_note", sa.String(length=1000), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("source_inspection_id", sa.Integer(), nullable=True),
        sa.Column("period_id", sa.Integer(), nullable=True),
        sa.Column("issued_by_bureau", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(state = 'closed' AND closed_on IS NOT NULL) OR (state <> 'closed' AND closed_on IS NULL)",
            name=op.f("ck_hazards_closed_on_iff_closed"),
        ),
        sa.CheckConstraint(
            "closed_on IS NULL OR closed_on >= found_on", name=op.f("ck_hazards_closed_after_found")
        ),
        sa.CheckConstraint("deadline >= found_on", name=op.f("ck_hazards_deadline_after_found")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_hazards_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_hazards_period_id_periods"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_hazards_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazards")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_hazards_school_id_id")),
    )
    op.create_index(op.f("ix_hazards_period_id"), "hazards", ["period_id"], unique=False)
    op.create_index(op.f("ix_hazards_school_id"), "hazards", ["school_id"], unique=False)
    op.create_index(op.f("ix_hazards_state"), "hazards", ["state"], unique=False)
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "food_poisoning",
                "injury",
                "fire",
                "building",
                "crime",
                "other",
                name="incident_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "minor",
                "serious",
                "major",
                "death",
                name="incident_severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("school_at_fault", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("fine_or_heavier", sa.Boolean(), nullable=False),
        sa.Column("unlicensed", sa.Boolean(), nullable=False),
        sa.Column("banned_food", sa.Boolean(), nullable=False),
        sa.Column("meal_not_sampled", sa.Boolean(), nullable=False),
        sa.Column("falsified_data", sa.Boolean(), nullable=False),
        sa.Column("crowd_crush", sa.Boolean(), nullable=False),
        sa.Column("building_collapse", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("reported_at >= occurred_at", name=op.f("ck_incidents_reported_after_occurred")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_incidents_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_incidents_period_id_periods"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_incidents_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_incidents_school_id_id")),
    )
    op.create_index(op.f("ix_incidents_occurred_at"), "incidents", ["occurred_at"], unique=False)
    op.create_index(op.f("ix_incidents_period_id"), "incidents", ["period_id"], unique=False)
    op.create_index(op.f("ix_incidents_school_id"), "incidents", ["school_id"], unique=False)
    op.create_table(
        "hazard_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "open",
                "rectifying",
                "closed",
                name="hazard_from_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "open",
                "rectifying",
                "closed",
                name="hazard_to_state",
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
            ["actor_id"], ["users.id"], name=op.f("fk_hazard_transitions_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["school_id", "hazard_id"],
            ["hazards.school_id", "hazards.id"],
            name=op.f("fk_hazard_transitions_school_id_hazard_id_hazards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_hazard_transitions_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_transitions")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_hazard_transitions_school_id_id")),
    )
    op.create_index(
        op.f("ix_hazard_transitions_hazard_id"), "hazard_transitions", ["hazard_id"], unique=False
    )
    op.create_index(
        op.f("ix_hazard_transitions_school_id"), "hazard_transitions", ["school_id"], unique=False
    )
    op.create_table(
        "vetoes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "incident",
                "inspection_item",
                name="veto_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("item_code", sa.String(length=20), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(source = 'incident' AND incident_id IS NOT NULL AND inspection_id IS NULL) OR (source = 'inspection_item' AND inspection_id IS NOT NULL AND incident_id IS NULL)",
            name=op.f("ck_vetoes_source_matches_ids"),
        ),
        sa.CheckConstraint("ends_on > starts_on", name=op.f("ck_vetoes_window_not_empty")),
        sa.ForeignKeyConstraint(
            ["school_id", "incident_id"],
            ["incidents.school_id", "incidents.id"],
            name=op.f("fk_vetoes_school_id_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_vetoes_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vetoes")),
        sa.UniqueConstraint("school_id", "id", name=op.f("uq_vetoes_school_id_id")),
        sa.UniqueConstraint(
            "school_id", "incident_id", "rule", name=op.f("uq_vetoes_school_id_incident_id_rule")
        ),
        sa.UniqueConstraint(
            "school_id",
            "inspection_id",
            "item_code",
            "rule",
            name=op.f("uq_vetoes_school_id_inspection_id_item_code_rule"),
        ),
    )
    op.create_index(op.f("ix_vetoes_incident_id"), "vetoes", ["incident_id"], unique=False)
    op.create_index(op.f("ix_vetoes_inspection_id"), "vetoes", ["inspection_id"], unique=False)
    op.create_index(op.f("ix_vetoes_school_id"), "vetoes", ["school_id"], unique=False)
    op.create_index("ix_vetoes_window", "vetoes", ["starts_on", "ends_on"], unique=False)

    rls.enable_tenant_policies(op, RLS_TABLES)


def downgrade() -> None:
    rls.disable_tenant_policies(op, RLS_TABLES)
    op.drop_index("ix_vetoes_window", table_name="vetoes")
    op.drop_index(op.f("ix_vetoes_school_id"), table_name="vetoes")
    op.drop_index(op.f("ix_vetoes_inspection_id"), table_name="vetoes")
    op.drop_index(op.f("ix_vetoes_incident_id"), table_name="vetoes")
    op.drop_table("vetoes")
    op.drop_index(op.f("ix_hazard_transitions_school_id"), table_name="hazard_transitions")
    op.drop_index(op.f("ix_hazard_transitions_hazard_id"), table_name="hazard_transitions")
    op.drop_table("hazard_transitions")
    op.drop_index(op.f("ix_incidents_school_id"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_period_id"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_occurred_at"), table_name="incidents")
    op.drop_table("incidents")
    op.drop_index(op.f("ix_hazards_state"), table_name="hazards")
    op.drop_index(op.f("ix_hazards_school_id"), table_name="hazards")
    op.drop_index(op.f("ix_hazards_period_id"), table_name="hazards")
    op.drop_table("hazards")
