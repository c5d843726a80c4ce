"""The audit log: who did what to which record, when, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from app.db import utcnow
from app.models import AuditEntry


def audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Written in the caller's transaction, so the change and its record land together.

    `at` is the line's clock when the caller has one, so a pinned clock pins the log too.
    """
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        reason=reason,
        changes=to_jsonable_python(changes) if changes is not None else None,
    )
    session.add(entry)
    return entry
