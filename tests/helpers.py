"""Small helpers for the tests (fixtures stay in conftest)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.models import AuditEntry, User
from app.users import issue_token


def run(main):
    """`asyncio.run(main())` in a thread of its own: the browser tests' Playwright leaves
    an event loop marked running in the main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


def user_headers(
    db: Session, email: str, *, role: str = "therapist", therapist_id: int | None = None
) -> dict[str, str]:
    """Bearer headers for a new user of the given role."""
    user = User(email=email, role=role, therapist_id=therapist_id)
    db.add(user)
    token = issue_token(db, user)
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def audit_log(db: Session, entity: str | None = None, entity_id: int | None = None):
    """Audit entries, oldest first, read fresh (the API commits in its own session)."""
    db.rollback()
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return list(db.scalars(stmt))


def fresh(db: Session, model, row_id: int):
    """A row as the database has it now."""
    db.rollback()
    return db.get(model, row_id)


def instant(text: str) -> datetime:
    """An ISO 8601 instant from a response (which ends in Z)."""
    return datetime.fromisoformat(text)


def restart_postgresql_connections(database_url: str) -> int:
    """What a PostgreSQL restart does to the line's pooled connections: every other
    connection to the database is dropped. Returns how many were."""
    admin = create_engine(database_url, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            return conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()
