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


def test_0006_keeps_waiting_missed_calls_and_old_voice_messages(scratch_url):
    """Data from before the attention list: a missed call nobody returned becomes an item
    (escalated ones stay escalated), and a voice message's SID is read from its URL so that
    retention can delete it at Twilio."""
    config = alembic_config(scratch_url)
    command.upgrade(config, "0005")
    engine = create_engine(scratch_url)
    sid = "RE" + "a1" * 16
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO therapists (id, name, phone, active, ical_token, created_at)"
                " VALUES (1, 'Dana Whitfield', '+13145550111', true, 't1', :at)"
            ),
            {"at": "2026-11-27 20:00:00+00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO clients (id, name, phone, therapist_id, lockout_rule_applies,"
                " sms_opted_out, created_at)"
                " VALUES (1, 'Riley Tran', '+13145550142', 1, true, false, :at)"
            ),
            {"at": "2026-11-27 20:00:00+00:00"},
        )
        for call_id, outcome, returned, escalated, url in [
            (1, "wait_script", None, None, f"https://api.twilio.com/x/Recordings/{sid}"),
            (2, "caller_hung_up", None, "2026-11-27 23:00:00+00:00", None),
            (3, "wait_script", "2026-11-27 22:00:00+00:00", None, None),
            (4, "bridged", None, None, None),
        ]:
            conn.execute(
                text(
                    "INSERT INTO calls (id, call_sid, client_id, route, outcome, returned_at,"
                    " escalated_at, recording_url, started_at)"
                    " VALUES (:id, :sid, 1, 'coaching', :outcome, :returned, :escalated, :url,"
                    " :at)"
                ),
                {
                    "id": call_id,
                    "sid": f"CA{call_id:032d}",
                    "outcome": outcome,
                    "returned": returned,
                    "escalated": escalated,
                    "url": url,
                    "at": "2026-11-27 21:00:00+00:00",
                },
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        items = conn.execute(
            text(
                "SELECT call_id, kind, therapist_id, escalations FROM attention_items"
                " ORDER BY call_id"
            )
        ).all()
        recorded = conn.execute(text("SELECT recording_sid FROM calls WHERE id = 1")).scalar()
    engine.dispose()
    assert [tuple(row) for row in items] == [(1, "missed_call", 1, 0), (2, "missed_call", 1, 1)]
    assert recorded == sid
