"""calls.lifeline_at; the greeting no longer says "connecting you" itself

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:40:00

The line now adds "Connecting you to a coach." after the greeting only when someone will be
rung (issue 23). A greeting the practice saved with the old words in it would say them twice,
or say them when nobody is rung: the old default is dropped (the new default applies), and
the old sentence is taken out of a greeting of the practice's own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT = "Thank you for calling {practice}. Connecting you with a coach now."
OLD_SENTENCE = "Connecting you with a coach now."


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): see 0006.
    op.add_column("calls", sa.Column("lifeline_at", sa.DateTime(timezone=True), nullable=True))
    settings = sa.table(
        "practice_settings", sa.column("key", sa.String), sa.column("value", sa.JSON)
    )
    conn = op.get_bind()
    row = conn.execute(sa.select(settings.c.value).where(settings.c.key == "greeting")).first()
    if row is None or not isinstance(row.value, str):
        return
    greeting = row.value.strip()
    kept = greeting.replace(OLD_SENTENCE, "").strip()
    if greeting == OLD_DEFAULT or not kept:
        conn.execute(sa.delete(settings).where(settings.c.key == "greeting"))
    elif kept != greeting:
        conn.execute(sa.update(settings).where(settings.c.key == "greeting").values(value=kept))


def downgrade() -> None:
    op.drop_column("calls", "lifeline_at")
