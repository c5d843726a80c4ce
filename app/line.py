"""The running line: its settings, its database and its clock. One per app, passed
explicitly."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from weakref import WeakKeyDictionary

import anyio
from anyio import to_thread
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, utcnow
from app.models import PracticeSetting
from app.ratelimit import RateLimits
from app.settings import Settings
from ivr.scripts import Practice

T = TypeVar("T")
log = logging.getLogger("coachline")


_PRACTICE_SETTINGS = select(PracticeSetting.key, PracticeSetting.value)


class DatabaseResting(Exception):
    """The database failed moments ago; webhooks answer without it for a few seconds."""


class Abandoned(Exception):
    """The webhook stopped waiting for this work and answered without it: nothing is kept."""


@dataclass
class Line:
    settings: Settings
    # The one clock of the service; tests replace it to stand at a fixed instant.
    clock: Callable[[], datetime] = utcnow
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    rate_limits: RateLimits = field(init=False)
    # The settings as the practice last set them (the environment's until the database has
    # been read once): what the answers made without the database speak.
    known_settings: Settings = field(init=False)
    _database_rests_until: float = field(init=False, default=0.0)
    # The webhooks' own threads, apart from the pool that runs the dashboard's pages and the
    # API, so that neither can starve a caller (one limiter per event loop that serves).
    _webhook_threads: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = field(
        init=False, default_factory=WeakKeyDictionary
    )

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.rate_limits = RateLimits(self.settings)
        self.known_settings = self.settings

    def now(self) -> datetime:
        return self.clock()

    async def database(self, work: Callable[[Session], T]) -> T:
        """`work` in one transaction, for a webhook: on a thread of the webhooks' own, within
        WEBHOOK_DATABASE_SECONDS (2 s). Past that, the webhook answers without the database; the
        thread, stuck on a database that does not answer, is left to finish and keeps
        nothing (its transaction rolls back). After a failure, webhooks don't touch the
        database for DATABASE_REST_SECONDS, so no call queues behind it."""
        if time.monotonic() < self._database_rests_until:
            raise DatabaseResting
        abandoned = threading.Event()
        worker: list[int] = []

        def run() -> T:
            worker.append(threading.get_ident())
            with self.sessions() as session, session.begin():
                result = work(session)
                if abandoned.is_set():
                    raise Abandoned
                return result

        try:
            with anyio.fail_after(self.settings.webhook_database_seconds):
                return await to_thread.run_sync(
                    run, limiter=self._webhook_limiter(), abandon_on_cancel=True
                )
        except (TimeoutError, OperationalError, PoolTimeout) as exc:
            abandoned.set()
            self._database_rests_until = time.monotonic() + self.settings.database_rest_seconds
            if isinstance(exc, TimeoutError):
                log.error("database work past its time, still at: %s", _where(worker))
            raise

    def _webhook_limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._webhook_threads.get(loop)
        if limiter is None:
            limiter = self._webhook_threads[loop] = anyio.CapacityLimiter(
                self.settings.webhook_threads
            )
        return limiter

    def current_settings(self, session: Session) -> Settings:
        """The settings with the practice's dashboard changes on top, read now: a change is
        heard by the very next call."""
        rows = session.execute(_PRACTICE_SETTINGS).all()
        current = self.settings.with_changes(dict(rows)) if rows else self.settings
        self.known_settings = current
        return current

    def practice(self, session: Session) -> Practice:
        return self.current_settings(session).practice

    def known_practice(self) -> Practice:
        """The practice as last read, for answers made without the database."""
        return self.known_settings.practice

    def kept_secret(self, key: str, nbytes: int = 32) -> str:
        """A random secret kept in practice_settings under `key`, made once by whichever
        instance asks first, so every worker and instance shares it."""
        with self.sessions() as session:
            row = session.get(PracticeSetting, key)
            if row is not None and isinstance(row.value, str) and len(row.value) >= 32:
                return row.value
            secret = secrets.token_urlsafe(nbytes)
            if row is None:
                session.add(
                    PracticeSetting(
                        key=key, value=secret, updated_at=self.now(), updated_by="coachline"
                    )
                )
            else:  # unreadable: replace it
                row.value = secret
            try:
                session.commit()
            except IntegrityError:  # another instance made it first: use theirs
                session.rollback()
                row = session.get(PracticeSetting, key)
                if row is None or not isinstance(row.value, str):
                    raise
                return row.value
            log.info("generated the secret %s and kept it in the database", key)
            return secret

    def database_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


def _where(thread_ids: list[int]) -> str:
    """Where a thread is now, as its innermost frames' file:line function (no values, so no
    personal data): what an operator needs to tell a lock wait from a connect or the pool."""
    frame = sys._current_frames().get(thread_ids[0]) if thread_ids else None
    if frame is None:
        return "not started (waiting for a thread)" if not thread_ids else "finished"
    frames = traceback.extract_stack(frame)[-6:]
    return " < ".join(
        f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno} {f.name}" for f in reversed(frames)
    )
