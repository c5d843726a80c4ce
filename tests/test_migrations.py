"""The models and the migrations never disagree, and a downgrade to base works."""

from __future__ import annotations

import secrets

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text

from app.db import Base
from tests.conftest import POSTGRES_URL, alembic_config


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """An empty database of the same kind as this run's, for migrating up and down."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"coachline_scratch_{secrets.token_hex(4)}"
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    server.dispose()


def test_upgrade_matches_the_models_and_downgrade_reaches_base(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    command.downgrade(config, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")  # and back up again
    with engine.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    engine.dispose()
