"""Shared fixtures. Every test that touches the database runs on SQLite and on PostgreSQL.

PostgreSQL is the one at 127.0.0.1:5432 (database `test`); when it does not answer the
PostgreSQL half is skipped, and under CI=true that is a failure instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from app.db import Base
from app.main import create_app
from app.models import Client, Therapist, User
from app.settings import Settings
from app.users import hasher, issue_token
from tests.fake_twilio import FakeTwilio

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

LINE_NUMBER = "+13145550100"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://line.example.org"
# A Friday evening in St. Louis (CST): 2026-11-27 21:42 local.
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)
# The invented therapists' PIN (`people`): their phone menu and YES by text ask for it.
THERAPIST_PIN = "4821"
PIN_HASH = hasher.hash(THERAPIST_PIN)  # hashed once: argon2 takes a tenth of a second


def alembic_config(url: str) -> Config:
    config = Config(os.path.join(os.path.dirname(__file__), "..", "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def _postgres_answers() -> bool:
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'coachline.db'}"
    else:
        if not _postgres_answers():
            message = f"PostgreSQL at {POSTGRES_URL} does not answer"
            if IN_CI:
                pytest.fail(message + " (required under CI=true)", pytrace=False)
            pytest.skip(message + ": skipped the PostgreSQL half")
        # A database of this run's own, so parallel runs never meet.
        name = f"coachline_test_{os.getpid()}_{secrets.token_hex(3)}"
        server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "head")
    yield url
    if request.param == "postgresql":
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


@pytest.fixture(autouse=True)
def dispose_engines(monkeypatch) -> Iterator[None]:
    """Every engine a test makes (each app, each Line) is closed after it, so no test leaves
    PostgreSQL connections open for the rest of the run."""
    import app.line

    made = []
    real = app.line.make_engine

    def tracked(url: str, **options):
        engine = real(url, **options)
        made.append(engine)
        return engine

    monkeypatch.setattr(app.line, "make_engine", tracked)
    yield
    for engine in made:
        engine.dispose()


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def settings(database_url, fake_twilio) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=AUTH_TOKEN,
        twilio_phone_number=LINE_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
        twilio_api_base_url=fake_twilio.base_url,
        run_worker=False,
        # Tests call from the same invented numbers many times; test_observability.py
        # checks the real limits.
        call_rate_limit="10000 per minute",
        text_rate_limit="10000 per minute",
        # The suite shares two cores with whatever else runs: a request slowed past the line's
        # 2 s by the machine, not by a database, must not turn into the crisis answer here.
        # test_hung_database.py and test_line.py check the real bound.
        webhook_database_seconds=10,
    )


@pytest.fixture
def app(settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    application.state.line.clock = lambda: NOW
    yield application
    line = application.state.line
    with line.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    line.engine.dispose()


@pytest.fixture
def line(app):
    return app.state.line


@pytest.fixture
def http(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(line) -> Iterator[Session]:
    with line.sessions() as session:
        yield session


@pytest.fixture
def admin_token(db) -> str:
    user = User(email="admin@example.org", role="admin")
    db.add(user)
    token = issue_token(db, user)
    db.commit()
    return token


@pytest.fixture
def admin(admin_token) -> dict[str, str]:
    """Headers for the admin API as the practice admin."""
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def people(db) -> dict[str, int]:
    """An invented practice: two therapists (PIN `THERAPIST_PIN`), two clients (ids by first
    name)."""
    dana = Therapist(name="Dana Whitfield", phone="+13145550111", pin_hash=PIN_HASH)
    marcus = Therapist(name="Marcus Oyelaran", phone="+13145550112", pin_hash=PIN_HASH)
    db.add_all([dana, marcus])
    db.flush()
    riley = Client(name="Riley Tran", phone="+13145550142", therapist_id=dana.id)
    jordan = Client(name="Jordan Pike", phone="+13145550143", therapist_id=marcus.id)
    db.add_all([riley, jordan])
    db.commit()
    return {"dana": dana.id, "marcus": marcus.id, "riley": riley.id, "jordan": jordan.id}
