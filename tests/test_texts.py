"""Texts end to end, as a client would send them: signed webhooks in, TwiML replies out,
every message and decision saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.main import create_app
from app.models import CheckIn, Client, Lockout, Message, Success
from app.notify import queue_text
from ivr.gsm import is_gsm7
from ivr.scripts import crisis_texted
from ivr.skills import DISTRESS_TOLERANCE, builtin_skills
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.helpers import restart_postgresql_connections
from tests.twilio_driver import TwilioDriver

RILEY = "+13145550142"
DANA = "+13145550111"
SKILLS = {s.name: s for s in builtin_skills()}


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


def text(driver: TwilioDriver, body: str, sender: str = RILEY) -> str | None:
    """Send a text; return the one reply (or None), checked for encoding and length."""
    result = driver.sms(from_=sender, body=body)
    assert result.error is None
    assert len(result.replies) <= 1
    if not result.replies:
        return None
    reply = result.replies[0].body
    assert is_gsm7(reply), reply
    assert len(reply) <= 1600
    return reply


def skill_in(reply: str) -> str:
    names = [name for name in SKILLS if name in reply]
    assert names, reply
    return max(names, key=len)


def notices(db, kind: str = "notification") -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.kind == kind).order_by(Message.id)))


@pytest.mark.parametrize(
    "body", ["check-in", "check in", "Check-In", "checkin", " CHECK IN!", "checkin please"]
)
def test_check_in_as_people_type_it_gets_a_skill_and_the_urge_question(driver, db, people, body):
    reply = text(driver, body)
    assert reply is not None and "How strong are your urges right now, 0-5?" in reply
    skill = SKILLS[skill_in(reply)]
    assert len(reply) <= 320
    db.expire_all()
    riley = db.get(Client, people["riley"])
    assert riley.last_skill == skill.key
    check_in = db.scalar(select(CheckIn).where(CheckIn.client_id == people["riley"]))
    assert check_in.asked_at == NOW and check_in.expires_at == NOW + timedelta(minutes=30)


def test_consecutive_check_ins_never_repeat_a_skill_and_spread_across_modules(driver, db, people):
    offered = [skill_in(text(driver, "check-in")) for _ in range(8)]
    assert all(a != b for a, b in zip(offered, offered[1:], strict=False))
    assert len({SKILLS[name].module for name in offered}) >= 3


def test_a_high_rating_gets_distress_tolerance_and_the_crisis_resources(driver, db, people):
    text(driver, "check-in")
    reply = text(driver, "5")
    assert SKILLS[skill_in(reply)].module == DISTRESS_TOLERANCE
    assert "988" in reply and "911" in reply
    db.expire_all()
    check_in = db.scalar(select(CheckIn))
    assert (check_in.urge_rating, check_in.answered_at) == (5, NOW)


def test_a_low_rating_is_stored_and_acknowledged(driver, db, people):
    text(driver, "check in")
    reply = text(driver, "1")
    assert reply is not None and "0-5" not in reply
    db.expire_all()
    assert db.scalar(select(CheckIn.urge_rating)) == 1


def test_the_check_in_expires_after_30_minutes(driver, db, people, line):
    text(driver, "check-in")
    line.clock = lambda: NOW + timedelta(minutes=30)
    reply = text(driver, "4")
    assert "text CHECK-IN for a skill" in reply  # no longer a rating: the help reply
    db.expire_all()
    assert db.scalar(select(CheckIn.urge_rating)) is None
    reply = text(driver, "checkin")  # a keyword restarts it
    assert "0-5" in reply
    assert db.scalar(select(func.count()).select_from(CheckIn)) == 2


def test_a_success_is_stored_acknowledged_and_the_therapist_gets_one_text_a_day(
    driver, db, people, line
):
    reply = text(driver, "win I used TIPP instead of cutting")
    assert "Thank you for sharing your win" in reply
    text(driver, "Success: asked for help at work")
    db.expire_all()
    assert [s.body for s in db.scalars(select(Success).order_by(Success.id))] == [
        "I used TIPP instead of cutting",
        "asked for help at work",
    ]
    [digest] = notices(db, "success_digest")
    assert digest.to_phone == DANA and digest.status == "queued"
    assert "TIPP" not in digest.body and "cut" not in digest.body and "Riley" not in digest.body
    line.clock = lambda: NOW + timedelta(hours=3)  # after midnight in St. Louis: a new day
    text(driver, "win slept 8 hours")
    assert len(notices(db, "success_digest")) == 2


@pytest.mark.parametrize("body", ["help", "HELP", "info", "?", "what is this", "7"])
def test_help_and_anything_not_understood_gets_keywords_and_crisis_resources(driver, people, body):
    reply = text(driver, body)
    assert "CHECK-IN" in reply and "988" in reply and "911" in reply
    assert len(reply) <= 320


@pytest.mark.parametrize(
    "body", ["STOP", "stop", "Unsubscribe", "END", "quit", "CANCEL", "STOPALL", "REVOKE", "OPTOUT"]
)
def test_opt_out_words_are_recorded_without_a_reply_of_ours(driver, db, people, body):
    assert text(driver, body) is None
    db.expire_all()
    assert db.get(Client, people["riley"]).sms_opted_out is True


@pytest.mark.parametrize("body", ["START", "unstop", "Yes"])
def test_opting_back_in(driver, db, people, body):
    text(driver, "STOP")
    assert text(driver, body) is not None
    db.expire_all()
    assert db.get(Client, people["riley"]).sms_opted_out is False


def test_an_opted_out_client_gets_nothing_proactive(driver, db, people, line, fake_twilio):
    from app.notify import deliver_due

    text(driver, "STOP")
    assert text(driver, "check-in") is None
    with line.sessions() as session, session.begin():
        queue_text(
            session,
            line,
            to_phone=RILEY,
            body="A skill for today.",
            kind="prompt",
            client_id=people["riley"],
        )
    assert deliver_due(line) == {}
    assert fake_twilio.messages == []
    db.expire_all()
    prompt = db.scalar(select(Message).where(Message.kind == "prompt"))
    assert (prompt.status, prompt.last_error) == ("not_sent", "recipient opted out")


@pytest.mark.parametrize(
    "body",
    [
        "I want to kill myself",
        "thinking about suicide",
        "i want to die",
        "I might hurt myself",
        "going to overdose",
        "I just want to end it all",
        "check-in. honestly I want to die",
    ],
)
def test_crisis_language_leads_with_988_and_tells_the_therapist(driver, db, people, body):
    reply = text(driver, body)
    assert reply.startswith("Please call or text 988") and "911" in reply
    [notice] = notices(db)
    assert (notice.to_phone, notice.status) == (DANA, "queued")
    assert notice.body == "Riley texted the line and may need support."


def test_crisis_language_during_a_check_in_still_gets_the_crisis_reply(driver, db, people):
    text(driver, "check-in")
    assert text(driver, "I want to kill myself").startswith("Please call or text 988")
    assert len(notices(db)) == 1


def test_a_locked_out_client_still_learns_skills_and_only_a_sign_of_risk_is_forwarded(
    driver, db, people
):
    db.add(
        Lockout(
            client_id=people["riley"],
            starts_at=NOW - timedelta(hours=20),
            ends_at=NOW + timedelta(hours=4),
            created_by="dana@example.org",
        )
    )
    db.commit()
    reply = text(driver, "check-in")
    skill_in(reply)
    assert "Phone coaching isn't available right now" in reply and "1:42 AM" not in reply
    assert "988" in reply and "911" in reply
    crisis = text(driver, "I want to die")
    assert crisis.startswith("Please call or text 988")
    text(driver, "win I called a friend")
    # The 24-hour rule pauses coaching; crisis words still reach a therapist. A win waits.
    assert [n.body for n in notices(db)] == ["Riley texted the line and may need support."]
    assert notices(db, "success_digest") == []
    db.expire_all()
    inbound = db.scalars(select(Message.body).where(Message.direction == "inbound")).all()
    assert inbound == ["check-in", "I want to die", "win I called a friend"]  # in the log


def test_an_unknown_sender_hears_what_the_line_is(driver, db, people):
    reply = text(driver, "check in", sender="+13145550188")
    assert "for the practice's enrolled clients" in reply and "988" in reply
    assert notices(db) == []


def test_every_message_in_and_out_is_stored_with_its_client_and_time(driver, db, people):
    text(driver, "check-in")
    db.expire_all()
    rows = db.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.direction, m.kind, m.client_id, m.created_at) for m in rows] == [
        ("inbound", "inbound", people["riley"], NOW),
        ("outbound", "reply", people["riley"], NOW),
    ]
    assert rows[1].reply_to_id == rows[0].id and rows[0].twilio_sid.startswith("SM")


def test_a_retried_webhook_gets_the_same_reply_and_nothing_twice(driver, db, people):
    result = driver.sms(from_=RILEY, body="check-in")
    again = driver.replay(result.exchanges[0])
    assert again.status_code == 200 and again.text == result.exchanges[0].body
    assert db.scalar(select(func.count()).select_from(CheckIn)) == 1
    assert db.scalar(select(func.count()).select_from(Message)) == 2


def test_database_down_still_answers_with_the_crisis_resources(settings):
    broken = settings.model_copy(update={"database_url": "postgresql+psycopg://x@127.0.0.1:1/x"})
    with TestClient(create_app(broken)) as client:
        driver = TwilioDriver(
            client, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
        )
        result = driver.sms(from_=RILEY, body="check-in")
    assert result.error is None
    assert "988" in result.bodies[0] and "911" in result.bodies[0]


def test_a_retried_win_stores_the_success_and_the_therapists_text_once(driver, db, people):
    result = driver.sms(from_=RILEY, body="win I called a friend")
    again = driver.replay(result.exchanges[0])
    assert again.status_code == 200 and again.text == result.exchanges[0].body
    assert "sharing your win" in again.text
    assert db.scalar(select(func.count()).select_from(Success)) == 1
    assert len(notices(db, "success_digest")) == 1
    assert db.scalar(select(func.count()).select_from(Message)) == 3  # in, reply, digest


def test_a_retried_text_from_an_unknown_sender_is_answered_the_same_once(driver, db, people):
    result = driver.sms(from_="+13145550188", body="hello?")
    again = driver.replay(result.exchanges[0])
    assert again.status_code == 200 and again.text == result.exchanges[0].body
    assert "enrolled clients" in again.text
    assert db.scalar(select(func.count()).select_from(Message)) == 2


def test_a_failure_mid_text_writes_nothing_and_still_gives_the_crisis_resources(
    driver, db, people, monkeypatch
):
    """The inbound text, the reply, the check-in and the therapist's text are one
    transaction: a failure on the way leaves none of them half-written."""
    import app.twilio.sms as sms_routes

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sms_routes.attention, "queue_text", broken)
    text(driver, "check-in")
    reply = text(driver, "I want to kill myself")
    assert "988" in reply and "911" in reply
    db.expire_all()
    assert db.scalars(select(Message.body).where(Message.direction == "inbound")).all() == [
        "check-in"
    ]
    assert db.scalar(select(func.count()).select_from(Message)) == 2
    assert notices(db) == []


def test_after_a_database_failure_texts_skip_it_for_a_while(driver, db, people, line, monkeypatch):
    """The text is answered on the event loop: once the database has failed, texts get the
    crisis resources at once for DATABASE_REST_SECONDS instead of waiting on it again."""
    real_connect, attempts = line.engine.connect, []

    def refused():
        attempts.append(1)
        raise OperationalError("connect", {}, Exception("connection refused"))

    safe_reply = crisis_texted(line.settings.practice)
    monkeypatch.setattr(line.engine, "connect", refused)
    assert text(driver, "check-in") == safe_reply and len(attempts) == 1
    assert text(driver, "check-in") == safe_reply and len(attempts) == 1  # not tried again
    monkeypatch.setattr(line.engine, "connect", real_connect)
    monkeypatch.setattr(line, "_database_rests_until", 0.0)  # the rest is over
    assert "How strong are your urges" in text(driver, "check-in")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Message)) == 2  # only the last one


def test_a_database_restart_costs_the_texter_nothing(driver, db, people, line, database_url):
    """Pooled connections that PostgreSQL dropped (a restart) are not pinged before use: the
    text notices the dropped connection and is answered on a fresh one, saved once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    assert "How strong are your urges" in text(driver, "check-in")
    db.close()
    assert restart_postgresql_connections(database_url) >= 1
    dropped = []  # connections found dropped, and let go
    event.listen(line.engine, "invalidate", lambda *args: dropped.append(args))
    reply = text(driver, "3")
    assert dropped  # the text did meet a dropped connection
    assert reply is not None and "Thanks for" in reply
    assert reply != crisis_texted(line.settings.practice)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Message)) == 4
    assert db.scalar(select(CheckIn.urge_rating)) == 3


def test_unsigned_texts_are_refused(driver, people):
    response = driver.post("/twilio/sms", {"From": RILEY, "Body": "check-in"}, signed=False)
    assert response.status_code == 403
