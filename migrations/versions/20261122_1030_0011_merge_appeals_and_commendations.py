"""merge the appeals and commendations branches

Revision ID: 0011
Revises: 0009, 0010
Create Date: 2026-11-22 10:30:00+08:00
"""

from collections.abc import Sequence

revision: str = "0011"
down_revision: tuple[str, ...] = ("0009", "0010")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches touch separate tables."""


def downgrade() -> None:
    """Nothing to undo here; each branch downgrades its own tables."""
