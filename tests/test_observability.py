"""Metrics, rate limits and structured logs (issue 7's observability and abuse limits)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.jsonlog import JsonFormatter, redact
from app.main import create_app
from app.models import Call, Lockout, Message
from app.ratelimit import RateLimits
from app.settings import Settings
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.twilio_driver import NO_ANSWER, Scenario, TwilioDriver

RILEY = "+13145550142"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}  # what Prometheus sends


@pytest.fixture
def settings(settings):
    """The suite's settings with /metrics on (test_visibility.py checks the token itself)."""
    return settings.model_copy(update={"metrics_token": METRICS_TOKEN})


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


def metric(text: str, name: str) -> float:
    for row in text.splitlines():
        if row.startswith(name + " ") or row.startswith(name + "{"):
            return float(row.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics_report_calls_queue_lockouts_and_latency(driver, http, db, people):
    db.add(
        Lockout(
            client_id=people["jordan"],
            starts_at=NOW - timedelta(hours=1),
            ends_at=NOW + timedelta(hours=23),
            created_by="test",
        )
    )
    db.commit()
    driver.call(from_=RILEY, scenario=Scenario(legs={"+13145550111": NO_ANSWER}))
    driver.call(from_="anonymous")
    text = http.get("/metrics", headers=SCRAPE).text
    assert metric(text, 'coachline_calls{outcome="wait_script",route="coaching"}') == 1
    assert metric(text, 'coachline_calls{outcome="crisis_resources",route="unknown_caller"}') == 1
    assert metric(text, "coachline_notification_queue_depth") == 1
    assert metric(text, "coachline_lockouts_active") == 1
    assert metric(text, "coachline_database_up") == 1
    assert metric(text, 'coachline_webhook_seconds_count{path="/twilio/voice"}') == 2
    assert metric(text, 'coachline_webhook_seconds_count{path="/twilio/voice/dial-result"}') == 1
    driver.post("/twilio/voice/made-up-path", {"CallSid": "CA1"})
    assert 'path="/twilio/voice/made-up-path"' not in http.get("/metrics", headers=SCRAPE).text


def test_metrics_answer_while_the_database_is_down(settings):
    broken = settings.model_copy(update={"database_url": "postgresql+psycopg://x@127.0.0.1:1/x"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    assert metric(response.text, "coachline_database_up") == 0


@pytest.fixture
def default_limits(line):
    """The limits the line ships with (the suite's settings lift them)."""
    line.rate_limits = RateLimits(Settings(_env_file=None))


def test_a_caller_over_the_limit_still_hears_the_crisis_resources(
    driver, db, people, line, default_limits
):
    for _ in range(6):
        assert (
            "9 8 8"
            not in driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER)).said[0]
        )
    limited = driver.call(from_=RILEY)
    assert limited.said[0].startswith("This number has called the coaching line many times")
    assert "call or text 9 8 8" in limited.text and not limited.dials
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Call)) == 6  # the flood is not stored
    other = driver.call(from_="+13145550143", scenario=Scenario(default_leg=NO_ANSWER))
    assert not other.said[0].startswith("This number")  # limits are per number


def test_a_texting_loop_is_cut_off_but_crisis_language_still_answered(
    driver, db, people, default_limits
):
    for _ in range(20):
        assert driver.sms(from_=RILEY, body="thanks!").bodies
    assert driver.sms(from_=RILEY, body="thanks!").bodies == []  # an auto-responder gets nothing
    crisis = driver.sms(from_=RILEY, body="I want to kill myself").bodies
    assert "988" in crisis[0] and "911" in crisis[0]
    db.expire_all()
    assert (
        db.scalar(select(func.count()).select_from(Message).where(Message.direction == "inbound"))
        == 20
    )


def test_logs_are_json_and_carry_no_phone_numbers_or_names(
    driver, people, caplog, monkeypatch, default_limits
):
    import app.twilio.voice as voice_routes

    caplog.set_level(logging.INFO)
    driver.call(from_=RILEY, scenario=Scenario(legs={"+13145550111": NO_ANSWER}))
    driver.sms(from_=RILEY, body="I want to die")
    driver.post("/twilio/voice", {"From": RILEY, "CallSid": "CA9"}, signed=False)  # 403
    monkeypatch.setattr(voice_routes, "insert_once", lambda *a: 1 / 0)
    driver.call(from_=RILEY)
    for _ in range(7):
        driver.call(from_="+13145550143", scenario=Scenario(default_leg=NO_ANSWER))
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any('"level": "warning"' in line for line in lines)  # something was logged
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry)
        # Everything but the timestamp, whose milliseconds may well read "555".
        told = json.dumps({key: value for key, value in entry.items() if key != "time"})
        for secret in ("555", "0142", "0143", "Riley", "Tran", "Dana", "Whitfield", "Jordan"):
            assert secret not in told, line


def test_redact_masks_numbers_and_calendar_secrets():
    assert redact("from +13145550142 and (314) 555-0143") == "from ***42 and ***43"
    assert redact("GET /ical/rotations/s3cr3t-Token.ics") == "GET /ical/rotations/***"
    assert (
        redact("call 17 took 1200 ms at 2026-11-27T21:42")
        == "call 17 took 1200 ms at 2026-11-27T21:42"
    )


def test_each_number_has_its_own_limit_and_withheld_callers_share_none():
    async def run() -> None:
        limits = RateLimits(Settings(_env_file=None, call_rate_limit="2 per 10 minutes"))
        assert await limits.call_allowed("+13145550142")
        assert await limits.call_allowed("+13145550142")
        assert not await limits.call_allowed("+13145550142")  # a third within the window
        assert await limits.call_allowed("+13145550143")  # another number
        # Hidden numbers are no one caller: the tenth hidden call is answered as the first,
        # up to the ceiling for all of them together.
        assert all([await limits.call_allowed(None) for _ in range(10)])
        ceiling = RateLimits(Settings(_env_file=None, withheld_call_rate_limit="3 per minute"))
        assert [await ceiling.call_allowed(None) for _ in range(4)] == [True] * 3 + [False]
        assert await ceiling.call_allowed("+13145550142")  # numbers are counted apart

    asyncio.run(run())


def test_texts_are_counted_apart_from_calls():
    async def run() -> None:
        limits = RateLimits(
            Settings(_env_file=None, call_rate_limit="1 per minute", text_rate_limit="1 per minute")
        )
        assert await limits.call_allowed("+13145550142")
        assert await limits.text_allowed("+13145550142")  # the call did not use the text's count
        assert not await limits.text_allowed("+13145550142")

    asyncio.run(run())
