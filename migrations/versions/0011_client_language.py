"""a client's language: what the line speaks and texts to them ("en" or "es")

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=2), server_default="en", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("language")
