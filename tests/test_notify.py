"""Durable texts to therapists: queued with the event, delivered through Twilio's REST API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from app.line import Line
from app.models import Client, Message
from app.notify import _claim, deliver_due, queue_text
from tests.conftest import LINE_NUMBER, NOW
from tests.fake_twilio import Failure

DANA_PHONE = "+13145550111"


def _queue(line: Line, to: str = DANA_PHONE, body: str = "Missed coaching call from Riley.") -> int:
    with line.sessions() as session, session.begin():
        message = queue_text(session, line, to_phone=to, body=body)
        session.flush()
        return message.id


def _message(line: Line, message_id: int) -> Message:
    with line.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_queued_text_is_sent_through_twilio(line, fake_twilio):
    message_id = _queue(line)
    assert deliver_due(line) == {"sent": 1}
    [request] = fake_twilio.messages
    assert request.path == f"/2010-04-01/Accounts/{line.settings.twilio_account_sid}/Messages.json"
    assert request.form == {
        "To": DANA_PHONE,
        "From": LINE_NUMBER,
        "Body": "Missed coaching call from Riley.",
    }
    assert request.account_sid == line.settings.twilio_account_sid
    message = _message(line, message_id)
    assert (message.status, message.attempts, message.sent_at) == ("sent", 1, NOW)
    assert message.twilio_sid and message.twilio_sid.startswith("SM")
    assert deliver_due(line) == {}  # nothing is sent twice


def test_server_error_is_retried_with_backoff(line, fake_twilio):
    message_id = _queue(line)
    fake_twilio.fail_next(Failure(503), Failure(500))
    assert deliver_due(line) == {"queued": 1}
    first = _message(line, message_id)
    assert first.attempts == 1 and first.last_error == "twilio 503 code 503"
    assert first.next_attempt_at == NOW + timedelta(seconds=5)
    assert deliver_due(line) == {}  # not due yet
    line.clock = lambda: NOW + timedelta(seconds=5)
    assert deliver_due(line) == {"queued": 1}
    assert _message(line, message_id).next_attempt_at == NOW + timedelta(seconds=15)
    line.clock = lambda: NOW + timedelta(seconds=15)
    assert deliver_due(line) == {"sent": 1}
    assert _message(line, message_id).attempts == 3
    assert len(fake_twilio.messages) == 3


def test_timeout_is_retried(line, fake_twilio):
    line.settings.twilio_http_timeout_seconds = 0.3
    message_id = _queue(line)
    fake_twilio.fail_next(Failure(200, delay=1.0))
    assert deliver_due(line) == {"queued": 1}
    assert _message(line, message_id).last_error in ("ReadTimeout", "ConnectionError", "Timeout")
    line.clock = lambda: NOW + timedelta(minutes=1)
    assert deliver_due(line) == {"sent": 1}


def test_permanent_refusal_is_not_retried(line, fake_twilio):
    message_id = _queue(line)
    fake_twilio.fail_next(Failure(400, code=21211, message="Invalid 'To' Phone Number"))
    assert deliver_due(line) == {"failed": 1}
    message = _message(line, message_id)
    assert (message.status, message.last_error) == ("failed", "twilio 400 code 21211")


def test_error_21610_marks_the_client_opted_out(line, fake_twilio, people):
    _queue(line, to="+13145550142", body="A skill for today.")
    fake_twilio.fail_next(Failure(400, code=21610, message="Attempt to send to unsubscribed"))
    assert deliver_due(line) == {"failed": 1}
    with line.sessions() as session:
        riley = session.get(Client, people["riley"])
        assert riley is not None and riley.sms_opted_out is True


def test_gives_up_after_the_last_attempt(line, fake_twilio):
    line.settings.notification_max_attempts = 2
    message_id = _queue(line)
    fake_twilio.fail_next(Failure(500), Failure(500))
    deliver_due(line)
    line.clock = lambda: NOW + timedelta(hours=1)
    assert deliver_due(line) == {"failed": 1}
    assert _message(line, message_id).attempts == 2


def test_a_worker_that_dies_mid_send_loses_nothing(line, fake_twilio, settings):
    message_id = _queue(line)
    assert [c.id for c in _claim(line, 10)] == [message_id]  # claimed, then the process dies
    assert _message(line, message_id).status == "sending"
    restarted = Line(settings)
    restarted.clock = lambda: NOW + timedelta(seconds=settings.notification_lease_seconds)
    assert deliver_due(restarted) == {"sent": 1}
    assert _message(line, message_id).attempts == 2
    restarted.engine.dispose()


def test_without_credentials_texts_are_recorded_as_not_sent(settings, fake_twilio):
    dev = Line(settings.model_copy(update={"twilio_account_sid": "", "twilio_auth_token": ""}))
    dev.clock = lambda: NOW
    message_id = _queue(dev)
    assert deliver_due(dev) == {}
    with dev.sessions() as session:
        message = session.scalar(select(Message).where(Message.id == message_id))
        assert message is not None and message.status == "not_sent"
    assert fake_twilio.messages == []
    dev.engine.dispose()


def test_the_service_delivers_on_its_own_with_the_worker_inside(settings, fake_twilio):
    import time

    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings.model_copy(update={"run_worker": True, "worker_poll_seconds": 0.05}))
    with TestClient(app):
        message_id = _queue(app.state.line)
        deadline = time.monotonic() + 10
        while not fake_twilio.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while _message(app.state.line, message_id).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
    try:
        assert len(fake_twilio.messages) == 1
        assert _message(app.state.line, message_id).status == "sent"
    finally:  # this app is not the `app` fixture's, which empties the tables after a test
        with app.state.line.sessions() as session, session.begin():
            session.execute(delete(Message).where(Message.id == message_id))
