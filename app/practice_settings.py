"""The practice's settings as changed on the dashboard (or by the line itself): kept in
`practice_settings`, where they win over the environment's values (`Line.practice` reads
them), and audited. Values are checked before they come here (`app.web.settings_page`, which
checks them as `Settings` does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import audit
from app.models import PracticeSetting
from app.settings import EDITABLE

# How the audit log names the line itself when it switched the Spanish voice because Twilio's
# Debugger reported the neural one refused (`app.twilio.debugger`).
SWITCHED_BY_TWILIO = "twilio:debugger"


def stored_rows(session: Session) -> dict[str, PracticeSetting]:
    rows = session.scalars(select(PracticeSetting).where(PracticeSetting.key.in_(EDITABLE)))
    return {row.key: row for row in rows}


def save_changes(
    session: Session,
    changes: dict[str, dict[str, Any]],
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Keep checked changes ({key: {"from": old, "to": new}}) in `practice_settings`, and
    audit them, in the caller's transaction: the one way a setting is changed, by the form
    or by the line itself (`app.twilio.debugger`)."""
    rows = stored_rows(session)
    for key, change in changes.items():
        row = rows.get(key)
        if row is None:
            session.add(
                PracticeSetting(key=key, value=change["to"], updated_at=now, updated_by=actor)
            )
        else:
            row.value = change["to"]
            row.updated_at = now
            row.updated_by = actor
    audit(
        session, actor, "update", "practice_settings", None, reason=reason, changes=changes, at=now
    )
