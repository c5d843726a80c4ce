"""A database that accepts connections and never answers (a local socket that stays silent):
every voice webhook still answers with the crisis resources within 3 s, texts get the crisis
reply, and the Voice Fallback URL answers at once (safety invariant 8)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, PUBLIC_BASE_URL
from tests.twilio_driver import TwilioDriver

RILEY = "+13145550142"
CRISIS = ("9 8 8", "9 1 1")
BOUND_SECONDS = 3.0


class SilentDatabase:
    """Accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=200)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.held.append(conn)

    def __enter__(self) -> SilentDatabase:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self.held:
            conn.close()
        self.listener.close()


@pytest.fixture(scope="module")
def hung() -> Iterator[tuple[TestClient, TwilioDriver]]:
    with SilentDatabase() as silent:
        settings = Settings(
            _env_file=None,
            database_url=f"postgresql+psycopg://postgres@127.0.0.1:{silent.port}/coachline",
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token=AUTH_TOKEN,
            twilio_phone_number=LINE_NUMBER,
            public_base_url=PUBLIC_BASE_URL,
            run_worker=False,
            database_rest_seconds=5,
        )
        with TestClient(create_app(settings)) as client:
            yield (
                client,
                TwilioDriver(
                    client,
                    auth_token=AUTH_TOKEN,
                    public_base_url=PUBLIC_BASE_URL,
                    line_number=LINE_NUMBER,
                ),
            )


def timed(send) -> tuple[float, str, int]:
    started = time.monotonic()
    response = send()
    return time.monotonic() - started, response.text, response.status_code


def voice_webhooks(driver: TwilioDriver, n: int):
    sid = f"CA{n:032x}"
    return [
        lambda: driver.post("/twilio/voice", {"CallSid": sid, "From": RILEY}),
        lambda: driver.post(
            "/twilio/voice/dial-result?tried=1",
            {"CallSid": sid, "CallStatus": "in-progress", "DialCallStatus": "no-answer"},
        ),
        lambda: driver.post("/twilio/voice/recorded", {"CallSid": sid, "RecordingUrl": ""}),
        lambda: driver.post(
            "/twilio/voice/therapist/menu", {"CallSid": sid, "From": "+13145550111"}
        ),
    ]


def test_every_voice_webhook_answers_the_crisis_resources_in_time_while_40_wait(hung):
    client, driver = hung
    # Starting, the line found the database silent and is resting it: end the rest, so that
    # these webhooks wait on the silent database itself.
    client.app.state.line._database_rests_until = 0.0
    sends = [send for n in range(10) for send in voice_webhooks(driver, n)]
    assert len(sends) == 40
    with ThreadPoolExecutor(len(sends)) as pool:
        waiting = [pool.submit(timed, send) for send in sends]
        time.sleep(0.3)  # while they wait: the fallback answers at once
        fallback = timed(
            lambda: driver.post("/twilio/voice/fallback", {"CallSid": "CA" + "f" * 32})
        )
        answers = [future.result() for future in waiting]
    seconds, text, status = fallback
    assert status == 200 and all(p in text for p in CRISIS)
    assert seconds < 0.5
    for seconds, text, status in answers:
        assert status == 200
        assert all(p in text for p in CRISIS), text
        assert seconds < BOUND_SECONDS
    assert max(seconds for seconds, _, _ in answers) > 1  # they did wait on the database


def test_a_text_gets_the_crisis_reply_in_time(hung):
    _, driver = hung
    seconds, text, status = timed(
        lambda: driver.post(
            "/twilio/sms", {"MessageSid": "SM" + "1" * 32, "From": RILEY, "Body": "check-in"}
        )
    )
    assert status == 200 and "988" in text and seconds < BOUND_SECONDS


def test_the_fallback_answers_at_once_every_time(hung):
    _, driver = hung
    for n in range(5):
        seconds, text, status = timed(
            lambda n=n: driver.post("/twilio/voice/fallback", {"CallSid": f"CA{n:032x}"})
        )
        assert status == 200 and all(p in text for p in CRISIS) and seconds < 0.5
