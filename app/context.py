"""What a running line holds: its settings and its database. One per app, passed explicitly."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, utcnow
from app.gather import Gather
from app.models import PracticeSetting
from app.ratelimit import RateLimits
from app.settings import Settings
from ivr.scripts import Practice

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
log = logging.getLogger("coachline")


class DatabaseResting(Exception):
    """The database failed moments ago; webhooks answer without it for a few seconds."""


@dataclass
class Line:
    settings: Settings
    # The one clock of the service; tests replace it to stand at a fixed instant.
    clock: Callable[[], datetime] = utcnow
    engine: Engine = field(init=False)
    # The incoming call's and text's own engine (see `app.db.make_engine`).
    webhook_engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    rate_limits: RateLimits = field(init=False)
    _cache: dict[str, tuple[Any, float]] = field(init=False, default_factory=dict)
    _gathers: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Callable, Gather]] = field(
        init=False, default_factory=WeakKeyDictionary
    )
    _database_rests_until: float = field(init=False, default=0.0)
    # The webhook connection kept by each event loop that serves the line (None: none yet,
    # or in use).
    _kept: dict[asyncio.AbstractEventLoop, Connection | None] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url)
        self.webhook_engine = make_engine(self.settings.database_url, webhooks=True)
        self.sessions = make_sessionmaker(self.engine)
        self.rate_limits = RateLimits(self.settings)

    def now(self) -> datetime:
        return self.clock()

    def cached(self, key: str, load: Callable[[], T]) -> T:
        """State every call reads and that rarely changes (the practice's settings, its skills,
        who is on call), kept for STATE_CACHE_SECONDS so a busy line does not read it on every
        call; a change takes effect within that time, in every instance."""
        ttl = self.settings.state_cache_seconds
        if ttl <= 0:
            return load()
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        value = load()
        self._cache[key] = (value, now + ttl)
        return value

    @contextmanager
    def database_work(self) -> Iterator[None]:
        """Around a hot webhook's database work, done on the event loop itself.

        A hop to a thread and back costs 0.2 ms of CPU (measured; a whole static answer
        costs 0.2-0.4 ms here) and makes the threads fight the loop for the GIL, so the hot
        webhooks do their few short statements inline (and the incoming call's in groups,
        `gather`). The loop must never wait long, or the Voice Fallback URL (same server)
        could not answer either: every wait is bounded (`app.db`: SQLite's busy timeout,
        PostgreSQL's connect and TCP timeouts), and after the database fails the webhooks
        don't touch it for DATABASE_REST_SECONDS. (A connection the database dropped is not
        a failure: `app.twilio.safe` runs the webhook again on a fresh one.)
        """
        if time.monotonic() < self._database_rests_until:
            raise DatabaseResting
        try:
            yield
        except (OperationalError, PoolTimeout) as exc:
            if not getattr(exc, "connection_invalidated", False):
                self._database_rests_until = time.monotonic() + self.settings.database_rest_seconds
            raise

    @contextmanager
    def keep_webhook_connection(self) -> Iterator[None]:
        """While open, the running event loop's hot webhooks keep one connection of the
        webhook engine between them (`webhook_connection`), and it is closed at the end. The
        app holds it open for as long as it serves (its lifespan). Nothing connects here: the
        line starts while the database is down."""
        loop = asyncio.get_running_loop()
        self._kept[loop] = None
        try:
            yield
        finally:
            kept = self._kept.pop(loop, None)
            if kept is not None:
                kept.close()

    @contextmanager
    def webhook_connection(self) -> Iterator[Connection]:
        """A connection of the webhook engine for the hot webhooks' work on the event loop.

        On a loop that keeps one (`keep_webhook_connection`), the same connection serves
        one group after the next: the pool's checkout and return cost about 50 us of a
        call's 0.7 ms (measured in process, SQLite). It is in autocommit and left in no
        transaction, so keeping it holds no lock and no snapshot. One that failed in any way
        is given back to the pool (dropped, if the database dropped it), and the next use
        takes a fresh one. Elsewhere (the CLI, a test's own loop), a pooled checkout.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop not in self._kept:
            with self.webhook_engine.connect() as conn:
                yield conn
            return
        conn = self._kept[loop] or self.webhook_engine.connect()
        self._kept[loop] = None  # in use: a use inside this one takes a connection of its own
        try:
            yield conn
            if conn.in_transaction():  # SQLAlchemy's own, begun by an execute()
                conn.rollback()
        except BaseException:
            conn.close()
            raise
        if loop in self._kept and self._kept[loop] is None:
            self._kept[loop] = conn
        else:  # the loop stopped keeping one meanwhile, or an inner use kept its own
            conn.close()

    def gather(self, answer: Callable[[Line, list[K]], Sequence[V | Exception]]) -> Gather[K, V]:
        """`answer` for this line on the running event loop: what the webhooks of one turn
        of the loop ask of it is answered together, by one `answer(line, keys)`."""
        loop = asyncio.get_running_loop()
        gathers = self._gathers.setdefault(loop, {})
        found = gathers.get(answer)
        if found is None:
            found = gathers[answer] = Gather(loop, partial(answer, self))
        return found

    def current_settings(self, session: Session | Connection | None = None) -> Settings:
        """The settings with the practice's dashboard changes on top (read through `session`,
        or a connection of the webhooks' own, when the cache has none)."""

        def read(db: Session | Connection) -> Settings:
            rows = db.execute(select(PracticeSetting.key, PracticeSetting.value)).all()
            return self.settings.with_changes(dict(rows)) if rows else self.settings

        def load() -> Settings:
            if session is not None:
                return read(session)
            with self.webhook_engine.connect() as conn:
                return read(conn)

        return self.cached("settings", load)

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

    def practice(self, session: Session | Connection | None = None) -> Practice:
        return self.current_settings(session).practice

    def database_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
