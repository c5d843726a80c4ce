"""index calls by client, outcome and time (the call-back check of every incoming call)

Revision ID: 0003
Revises: 5c136f4a4f92
Create Date: 2026-11-27 21:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "5c136f4a4f92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_client_outcome_started", ["client_id", "outcome", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_client_outcome_started")
