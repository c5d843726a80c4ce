"""What a running line holds: its settings and its database. One per app, passed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, utcnow
from app.settings import Settings


@dataclass
class Line:
    settings: Settings
    # The one clock of the service; tests replace it to stand at a fixed instant.
    clock: Callable[[], datetime] = utcnow
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)

    def now(self) -> datetime:
        return self.clock()

    def database_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
