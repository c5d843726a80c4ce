"""Incoming calls end to end: signed webhooks, TwiML carried out as Twilio would, rows saved.

Each test asserts what the caller and the therapist hear, and what the line recorded.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.main import create_app
from app.models import Call, Client, Lockout, Message, OnCallShift
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.helpers import restart_postgresql_connections
from tests.twilio_driver import (
    BUSY,
    FAILED,
    NO_ANSWER,
    VOICEMAIL,
    CallerHangup,
    Leg,
    Recording,
    Scenario,
    TwilioDriver,
)

RILEY = "+13145550142"
DANA = "+13145550111"
MARCUS = "+13145550112"
CRISIS = ("call or text 9 8 8", "dial 9 1 1")


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http,
        auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        line_number=LINE_NUMBER,
        status_callback_path="/twilio/voice/status",
    )


def heard_crisis(text: str) -> bool:
    return all(phrase in text for phrase in CRISIS)


def call_row(db, call_sid: str) -> Call:
    db.expire_all()
    call = db.scalar(select(Call).where(Call.call_sid == call_sid))
    assert call is not None
    return call


def notifications(db) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.kind == "notification")))


def put_on_call(db, therapist_id: int) -> None:
    db.add(
        OnCallShift(
            therapist_id=therapist_id,
            starts_at=NOW - timedelta(hours=2),
            ends_at=NOW + timedelta(hours=10),
        )
    )
    db.commit()


def lock(db, client_id: int, hours_ago: float = 6, **kw) -> Lockout:
    starts = NOW - timedelta(hours=hours_ago)
    lockout = Lockout(
        client_id=client_id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=24),
        created_by="dana@example.org",
        **kw,
    )
    db.add(lockout)
    db.commit()
    return lockout


@pytest.mark.parametrize(
    "caller_id",
    ["anonymous", "Anonymous", "unknown", "", "+266696687", "restricted", "+13145550199"],
)
def test_unknown_or_withheld_caller_hears_the_crisis_resources(driver, db, people, caller_id):
    result = driver.call(from_=caller_id)
    assert result.text.startswith("This is the coaching line of St. Louis DBT")
    assert heard_crisis(result.text)
    assert result.end == "hangup" and not result.dials and not result.application_error
    call = call_row(db, result.call_sid)
    assert (call.route, call.outcome, call.client_id) == (
        "unknown_caller",
        "crisis_resources",
        None,
    )


def test_client_is_bridged_to_their_therapist_after_screening(driver, db, people):
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept(talk_seconds=300)}))
    assert result.bridged_number == DANA and not result.bridged_to_machine
    assert result.said[0] == "This is St. Louis DBT. Connecting you to a coach."
    dial = result.dials[0]
    assert (dial.caller_id, dial.time_limit, dial.timeout) == (LINE_NUMBER, 900, 20)
    assert (
        "Coaching call from the St. Louis DBT line. Press 1 to accept." in result.heard_by(DANA)[0]
    )
    assert "Tran" not in " ".join(result.heard_by(DANA))  # first name only
    assert "Your coaching call has ended" in result.text and heard_crisis(result.text)
    call = call_row(db, result.call_sid)
    assert (call.route, call.outcome) == ("coaching", "bridged")
    assert call.therapist_id == call.accepted_therapist_id == people["dana"]
    assert call.twilio_status == "completed" and call.duration_seconds == result.duration
    assert notifications(db) == []
    # two webhook round trips of dead air before ringing starts: the Voice URL only
    assert [e.kind for e in result.exchanges][:2] == ["voice-url", "number-url"]


def test_voicemail_never_gets_the_call_and_the_on_call_therapist_is_rung_next(driver, db, people):
    put_on_call(db, people["marcus"])
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: VOICEMAIL, MARCUS: Leg.accept()})
    )
    assert [d.number for d in result.dials] == [DANA, MARCUS]
    assert result.dials[0].dial_call_status == "completed" and not result.dials[0].bridged
    assert result.bridged_number == MARCUS and not result.bridged_to_machine
    assert "Still trying to reach a coach for you." in result.text
    call = call_row(db, result.call_sid)
    assert call.outcome == "bridged" and call.therapist_id == people["marcus"]


@pytest.mark.parametrize(
    "leg",
    [NO_ANSWER, BUSY, FAILED, VOICEMAIL, Leg.accept("2")],
    ids=["no-answer", "busy", "failed", "voicemail", "declined"],
)
def test_nobody_accepts_and_the_caller_hears_the_wait_time_script(driver, db, people, leg):
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: leg}))
    assert not result.bridged
    assert "has been told you called" in result.text
    assert "A call back usually comes within 2 hours" in result.text
    assert "While you wait, try" in result.text
    assert heard_crisis(result.text)
    assert result.end == "hangup" and not result.application_error
    call = call_row(db, result.call_sid)
    assert call.outcome == "wait_script"
    [notice] = notifications(db)
    assert (notice.to_phone, notice.status, notice.call_id) == (DANA, "queued", call.id)
    assert notice.body == "Missed coaching call from Riley at 9:42 PM."
    assert notice.from_phone == LINE_NUMBER


def test_voice_message_url_is_stored_not_downloaded(driver, db, people):
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}, recordings=[Recording(20, "#")])
    )
    [record] = result.records
    assert record.max_length == 60 and record.requested
    assert "your message was saved" in result.text and heard_crisis(result.text)
    assert call_row(db, result.call_sid).recording_url == record.recording_url


def test_silent_caller_at_the_message_prompt_still_hears_goodbye(driver, db, people):
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    assert not result.records[0].requested
    assert result.said[-1] == "Take good care. Goodbye."
    assert call_row(db, result.call_sid).recording_url is None


def test_caller_who_hangs_up_while_ringing_is_still_a_missed_call(driver, db, people):
    result = driver.call(
        from_=RILEY,
        scenario=Scenario(legs={DANA: NO_ANSWER}, caller_hangup=CallerHangup(1, "ringing")),
    )
    assert result.end == "caller-hung-up"
    call = call_row(db, result.call_sid)
    assert call.outcome == "caller_hung_up"
    assert [n.body for n in notifications(db)] == ["Missed coaching call from Riley at 9:42 PM."]


def test_therapist_away_rings_the_on_call_therapist_and_tells_them(driver, db, people):
    from app.models import Therapist

    dana = db.get(Therapist, people["dana"])
    dana.away_until = NOW + timedelta(days=2)
    db.commit()
    put_on_call(db, people["marcus"])
    result = driver.call(from_=RILEY, scenario=Scenario(legs={MARCUS: NO_ANSWER}))
    assert [d.number for d in result.dials] == [MARCUS]
    [notice] = notifications(db)
    assert notice.to_phone == MARCUS


def test_locked_out_client_hears_the_24_hour_rule_script(driver, db, people):
    lock(db, people["riley"], hours_ago=6)  # ends 18 h from now: Saturday 3:42 PM
    result = driver.call(from_=RILEY)
    # Caller ID can be faked: no name, and no end time (it would date the event).
    assert "Phone coaching isn't available on this line right now." in result.text
    assert "Riley" not in result.text and "3:42 PM" not in result.text
    assert "call or text 9 8 8" in result.text
    assert "If you are hurt or need medical help, hang up and dial 9 1 1" in result.text
    assert "keep your scheduled appointments" in result.text
    assert not result.dials and result.end == "hangup"
    call = call_row(db, result.call_sid)
    assert (call.route, call.outcome, call.client_id) == (
        "locked_out",
        "lockout_script",
        people["riley"],
    )
    assert notifications(db) == []


@pytest.mark.parametrize(
    "setup",
    ["lifted", "ended", "not_started", "rule_waived"],
)
def test_lockouts_that_do_not_apply_now_let_the_call_through(driver, db, people, setup):
    if setup == "lifted":
        lock(
            db,
            people["riley"],
            lifted_at=NOW - timedelta(hours=1),
            lifted_by="dana",
            lift_reason="recorded in error",
        )
    elif setup == "ended":
        lock(db, people["riley"], hours_ago=24)  # ends exactly now: not active
    elif setup == "not_started":
        lock(db, people["riley"], hours_ago=-1)
    else:
        lock(db, people["riley"])
        db.get(Client, people["riley"]).lockout_rule_applies = False
        db.commit()
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert result.bridged_number == DANA


def test_status_callbacks_repeated_and_out_of_order_update_one_record(driver, db, people, http):
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept(talk_seconds=90)}))
    for status, duration in [
        ("completed", 95),
        ("in-progress", None),
        ("ringing", None),
        ("completed", 95),
    ]:
        response = driver.status_callback(
            "/twilio/voice/status", result, call_status=status, call_duration=duration
        )
        assert response.status_code in (200, 204)
    call = call_row(db, result.call_sid)
    assert (call.twilio_status, call.duration_seconds) == ("completed", 95)
    assert db.scalar(select(func.count()).select_from(Call)) == 1


def test_a_retried_voice_webhook_gives_one_call_record(driver, db, people):
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    first = result.requests("/twilio/voice")[0]
    again = driver.replay(first)
    assert again.status_code == 200 and again.text == first.body
    dial_action = result.requests("/twilio/voice/dial-result")[0]
    assert driver.replay(dial_action).status_code == 200
    assert db.scalar(select(func.count()).select_from(Call)) == 1
    assert len(notifications(db)) == 1  # the missed-call text is not doubled either


def test_fallback_url_gives_crisis_resources_without_the_database(settings):
    broken = settings.model_copy(update={"database_url": "postgresql+psycopg://x@127.0.0.1:1/x"})
    with TestClient(create_app(broken)) as client:
        driver = TwilioDriver(
            client, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
        )
        result = driver.call("/twilio/voice/fallback", from_=RILEY)
    assert heard_crisis(result.text) and result.end == "hangup"


def test_database_down_the_caller_still_hears_the_crisis_resources(settings):
    broken = settings.model_copy(update={"database_url": "postgresql+psycopg://x@127.0.0.1:1/x"})
    with TestClient(create_app(broken)) as client:
        driver = TwilioDriver(
            client, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
        )
        result = driver.call(from_=RILEY)
        status = driver.status_callback("/twilio/voice/status", result, call_status="completed")
    assert not result.application_error
    assert "can't connect your call right now" in result.text and heard_crisis(result.text)
    assert status.status_code == 200 and heard_crisis(status.text)


def test_after_a_database_failure_calls_skip_it_for_a_while(driver, people, line, monkeypatch):
    """The incoming call waits on the event loop: once the database has failed, calls answer
    the crisis resources at once for DATABASE_REST_SECONDS instead of waiting on it again."""
    real_connect, attempts = line.engine.connect, []

    def refused():
        attempts.append(1)
        raise OperationalError("connect", {}, Exception("connection refused"))

    def incoming_call(n: int) -> str:
        return driver.post("/twilio/voice", {"CallSid": f"CA{n:032x}", "From": RILEY}).text

    monkeypatch.setattr(line.engine, "connect", refused)
    assert heard_crisis(incoming_call(1)) and len(attempts) == 1
    assert heard_crisis(incoming_call(2)) and len(attempts) == 1  # not tried again
    monkeypatch.setattr(line.engine, "connect", real_connect)
    monkeypatch.setattr(line, "_database_rests_until", 0.0)  # the rest is over
    assert driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER)).dials


def test_a_bug_does_not_stop_the_next_call_from_ringing(driver, people, monkeypatch):
    import app.twilio.voice as voice_routes

    def broken(session, phone, now):
        return 1 / 0

    real = voice_routes.enrolled_by_phone
    monkeypatch.setattr(voice_routes, "enrolled_by_phone", broken)
    assert heard_crisis(driver.call(from_=RILEY).text)
    monkeypatch.setattr(voice_routes, "enrolled_by_phone", real)
    assert driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER)).dials


def test_a_database_restart_costs_the_caller_nothing(driver, db, people, line, database_url):
    """Pooled connections that PostgreSQL dropped (a restart) are not pinged before use: the
    call notices the dropped connection and tries once more on a fresh one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    assert driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER)).dials
    db.close()
    assert restart_postgresql_connections(database_url) >= 1
    result = driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    assert result.dials and not heard_crisis(result.said[0])


def test_a_bug_mid_call_still_gives_the_crisis_resources(driver, db, people, monkeypatch):
    import app.oncall as oncall
    from app.models import Therapist

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    # Dana away: the call needs who is on call, and reading it fails.
    db.get(Therapist, people["dana"]).away_until = NOW + timedelta(days=2)
    db.commit()
    monkeypatch.setattr(oncall, "on_call_now", broken)
    result = driver.call(from_=RILEY)
    assert not result.application_error and heard_crisis(result.text)


def test_a_bug_logs_no_phone_number_or_name(driver, people, monkeypatch, caplog):
    import app.twilio.voice as voice_routes

    def broken(*args, **kwargs):
        raise RuntimeError(f"lookup failed for {RILEY} Riley Tran")

    monkeypatch.setattr(voice_routes, "enrolled_by_phone", broken)
    driver.call(from_=RILEY)
    assert "RuntimeError" in caplog.text
    assert "555" not in caplog.text and "Riley" not in caplog.text


@pytest.mark.parametrize(
    "params",
    [
        {"CallSid": "", "From": RILEY},
        {"From": RILEY},
        {"CallSid": "CA" + "0" * 32, "From": "x" * 5000},
        {"CallSid": "CA" + "0" * 32, "From": "+1314555014\x00"},
    ],
)
def test_odd_requests_get_safe_twiml(driver, people, params):
    response = driver.post("/twilio/voice", params)
    assert response.status_code == 200 and heard_crisis(response.text)


def test_odd_dial_result_for_an_unknown_call_gives_the_crisis_resources(driver, people):
    response = driver.post(
        "/twilio/voice/dial-result?tried=abc,,99999999999999",
        {"CallSid": "CA" + "9" * 32, "CallStatus": "in-progress", "DialCallStatus": "completed"},
    )
    assert response.status_code == 200 and heard_crisis(response.text)


legs = st.sampled_from(
    [Leg.accept(), VOICEMAIL, NO_ANSWER, BUSY, FAILED, Leg.accept("2"), Leg.accept(None)]
)
hangups = st.one_of(
    st.none(),
    st.builds(
        CallerHangup, st.integers(1, 3), st.sampled_from(["ringing", "screening", "bridged"])
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dana=legs, marcus=legs, marcus_on_call=st.booleans(), hangup=hangups)
def test_property_no_call_is_a_dead_end(driver, db, people, dana, marcus, marcus_on_call, hangup):
    """Whatever the phones do, the caller reaches a person who pressed 1, or hears the crisis
    resources; never a voicemail box, never an application error."""
    db.execute(OnCallShift.__table__.delete())
    db.commit()
    if marcus_on_call:
        put_on_call(db, people["marcus"])
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: dana, MARCUS: marcus}, caller_hangup=hangup)
    )
    assert not result.application_error and not result.bridged_to_machine
    if result.end != "caller-hung-up":
        assert result.bridged or heard_crisis(result.text), result.debug()
        assert heard_crisis(result.text), result.debug()  # after a bridge too
    call = call_row(db, result.call_sid)
    assert call.outcome in ("bridged", "wait_script", "caller_hung_up")
    assert (call.outcome == "bridged") == result.bridged


def test_the_practice_changes_from_the_dashboard_take_effect_on_the_next_call(driver, db, people):
    from app.models import PracticeSetting

    db.add_all(
        [
            PracticeSetting(key="practice_name", value="Gateway DBT"),
            PracticeSetting(key="greeting", value="Hello from {practice}."),
            PracticeSetting(key="local_crisis_line_number", value="(314) 555-0177"),
            PracticeSetting(key="local_crisis_line_name", value="Behavioral Health Response"),
            PracticeSetting(key="callback_window_minutes", value="not a number"),  # ignored
        ]
    )
    db.commit()
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    assert result.said[0] == "Hello from Gateway DBT. Connecting you to a coach."
    assert "Behavioral Health Response at 3 1 4, 5 5 5, 0 1 7 7" in result.text
    assert "within 2 hours" in result.text


def test_the_answers_made_without_the_database_speak_the_dashboards_crisis_line(
    driver, db, people, line
):
    """The Voice Fallback URL and the rate-limited answer never read the database: they speak
    the practice's settings as last read, here by the call before them."""
    from app.models import PracticeSetting
    from app.ratelimit import RateLimits
    from app.settings import Settings

    db.add_all(
        [
            PracticeSetting(key="local_crisis_line_number", value="(314) 555-0177"),
            PracticeSetting(key="local_crisis_line_name", value="Behavioral Health Response"),
        ]
    )
    db.commit()
    driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    fallback = driver.post("/twilio/voice/fallback", {"CallSid": "CA" + "e" * 32}).text
    assert "Behavioral Health Response at 3 1 4, 5 5 5, 0 1 7 7" in fallback
    assert heard_crisis(fallback)
    line.rate_limits = RateLimits(Settings(_env_file=None, call_rate_limit="1 per minute"))
    driver.post("/twilio/voice", {"CallSid": "CA" + "c" * 32, "From": "+13145550143"})
    limited = driver.post("/twilio/voice", {"CallSid": "CA" + "d" * 32, "From": "+13145550143"})
    assert "called the coaching line many times" in limited.text
    assert "Behavioral Health Response at 3 1 4, 5 5 5, 0 1 7 7" in limited.text


@pytest.mark.parametrize("raw", ["+13145550142", "+266696687", "+1314555014", "anonymous", ""])
def test_the_number_a_caller_is_looked_up_by(raw):
    """Twilio's E.164 From is looked up as it is (a stored number was checked when saved, so
    an invalid one matches nobody); anything else is parsed, and no number is None."""
    from app.phones import caller_number, to_e164

    looked_up = caller_number(raw)
    if raw == "+266696687":  # Twilio's stand-in for a hidden number: nobody's number
        assert looked_up is None
    elif raw.startswith("+"):
        assert looked_up == raw
    else:
        assert looked_up is None and to_e164(raw) is None
