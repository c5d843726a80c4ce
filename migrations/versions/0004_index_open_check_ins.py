"""index check-ins by client, answered and asked (the open check-in of every incoming text)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index(
            "ix_check_ins_client_open", ["client_id", "answered_at", "asked_at"], unique=False
        )
        # The new index leads with client_id: the old one is its prefix.
        batch_op.drop_index("ix_check_ins_client_id")


def downgrade() -> None:
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index("ix_check_ins_client_id", ["client_id"], unique=False)
        batch_op.drop_index("ix_check_ins_client_open")
