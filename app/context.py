"""What a running line holds: its settings and its database. One per app, passed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, utcnow
from app.models import PracticeSetting
from app.ratelimit import RateLimits
from app.settings import Settings
from ivr.scripts import Practice


@dataclass
class Line:
    settings: Settings
    # The one clock of the service; tests replace it to stand at a fixed instant.
    clock: Callable[[], datetime] = utcnow
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    rate_limits: RateLimits = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.rate_limits = RateLimits(self.settings)

    def now(self) -> datetime:
        return self.clock()

    def current_settings(self, session: Session) -> Settings:
        """The settings with the practice's dashboard changes: read on every call, so a
        change takes effect on the next one."""
        rows = session.execute(select(PracticeSetting.key, PracticeSetting.value)).all()
        return self.settings.with_changes(dict(rows)) if rows else self.settings

    def practice(self, session: Session) -> Practice:
        return self.current_settings(session).practice

    def database_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
