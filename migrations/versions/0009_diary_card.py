"""the diary card by text: diary_entries, and each client's diary opt-in and prompt time

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "diary_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("urge_self_harm", sa.SmallInteger(), nullable=True),
        sa.Column("urge_suicide", sa.SmallInteger(), nullable=True),
        sa.Column("urge_use", sa.SmallInteger(), nullable=True),
        sa.Column("acted_self_harm", sa.Boolean(), nullable=True),
        sa.Column("acted_suicide", sa.Boolean(), nullable=True),
        sa.Column("acted_use", sa.Boolean(), nullable=True),
        sa.Column("misery", sa.SmallInteger(), nullable=True),
        sa.Column("shame", sa.SmallInteger(), nullable=True),
        sa.Column("anger", sa.SmallInteger(), nullable=True),
        sa.Column("fear", sa.SmallInteger(), nullable=True),
        sa.Column("joy", sa.SmallInteger(), nullable=True),
        sa.Column("skills", sa.SmallInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_question", sa.String(length=20), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "day", name="uq_diary_client_day"),
    )
    # Plain ADD COLUMN (no batch copy): see 0006.
    op.add_column(
        "clients",
        sa.Column("diary_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("clients", sa.Column("diary_prompt_time", sa.Time(), nullable=True))


def downgrade() -> None:
    op.drop_column("clients", "diary_prompt_time")
    op.drop_column("clients", "diary_opt_in")
    op.drop_table("diary_entries")
