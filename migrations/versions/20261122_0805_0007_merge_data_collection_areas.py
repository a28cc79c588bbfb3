"""merge the data-collection branches (inspections, hazards and incidents, evaluations)

Revision ID: 0007
Revises: 0004, 0005, 0006
Create Date: 2026-11-22 08:05:31.762009+08:00
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: tuple[str, ...] = ("0004", "0005", "0006")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches touch separate tables."""


def downgrade() -> None:
    """Nothing to undo here; each branch downgrades its own tables."""
