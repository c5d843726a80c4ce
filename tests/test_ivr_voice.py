"""The call flow as pure functions: state and time in, TwiML out (no database, no app)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr import ringing, screening, voice
from ivr.codes import Outcome, Route
from ivr.scripts import CrisisLine, Practice
from ivr.skills import DISTRESS_TOLERANCE, builtin_skills

TZ = ZoneInfo("America/Chicago")
PRACTICE = Practice(name="St. Louis DBT", tz=TZ, line_number="+13145550100")
URLS = voice.Urls("https://line.example.org")
SKILLS = builtin_skills()
SID = "CA" + "a" * 32
# Friday 2026-11-27, 9:42 PM in St. Louis.
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)

DANA = ringing.Therapist(1, "Dana Whitfield", "+13145550111")
MARCUS = ringing.Therapist(2, "Marcus Oyelaran", "+13145550112")
RILEY = ringing.Caller(client_id=7, name="Riley Tran", primary=DANA)


def spoken(twiml: str) -> str:
    return " ".join(el.text or "" for el in ET.fromstring(twiml).iter("Say"))


def verbs(twiml: str) -> list[str]:
    return [el.tag for el in ET.fromstring(twiml)]


def assert_crisis(twiml: str) -> None:
    text = spoken(twiml)
    assert "call or text 9 8 8" in text and "dial 9 1 1" in text


def test_unknown_caller_hears_one_sentence_then_the_crisis_resources():
    step = voice.unknown_caller(PRACTICE, URLS)
    assert (step.route, step.outcome) == (Route.UNKNOWN_CALLER, Outcome.CRISIS_RESOURCES)
    text = spoken(step.twiml)
    assert text.startswith(
        "This is the coaching line of St. Louis DBT. It doesn't know your number. "
        "To talk with the 9 8 8 Suicide and Crisis Lifeline now, press 1."
    )
    assert text.count("9 8 8") == 2  # the key, and by their own phone
    assert "please call from the number you gave the practice" in text
    assert "hidden" not in text
    assert_crisis(step.twiml)
    assert verbs(step.twiml) == ["Gather", "Say", "Hangup"]


def test_a_hidden_number_hears_its_own_words():
    text = spoken(voice.unknown_caller(PRACTICE, URLS, withheld=True).twiml)
    assert text.startswith("This is the coaching line of St. Louis DBT. Your number is hidden.")
    assert "please call again with your number shown" in text
    assert "doesn't know your number" not in text


def test_local_crisis_line_is_read_digit_by_digit():
    practice = Practice(
        name="St. Louis DBT",
        tz=TZ,
        local_crisis_line=CrisisLine("Behavioral Health Response", "+13145550177"),
    )
    text = spoken(voice.unknown_caller(practice, URLS).twiml)
    assert "Behavioral Health Response at 3 1 4, 5 5 5, 0 1 7 7" in text
    assert text.count("Behavioral Health Response") == 1


def test_lockout_script_says_the_minimum_and_ends_the_call():
    """Caller ID can be faked: no name, no "24-hour rule", no end time (it dates the event)."""
    locked = ringing.Caller(7, "Riley Tran", DANA, locked_until=NOW + timedelta(hours=18))
    step = voice.incoming(locked, [MARCUS], SID, NOW, PRACTICE, URLS, SKILLS)
    text = spoken(step.twiml)
    assert (step.route, step.outcome) == (Route.LOCKED_OUT, Outcome.LOCKOUT_SCRIPT)
    assert text.startswith(
        f"Thank you for calling {PRACTICE.name}. Phone coaching isn't available on this line "
        "right now. To talk with the 9 8 8 Suicide and Crisis Lifeline now, press 1."
    )
    assert "Riley" not in text and "Tran" not in text
    assert "24-hour" not in text and "3:42" not in text and "tomorrow" not in text
    assert "call or text 9 8 8" in text
    assert text.count("dial 9 1 1") == 1
    assert "If you are hurt or need medical help, hang up and dial 9 1 1" in text
    assert "Your therapist can tell you more at your next session" in text
    assert "keep your scheduled appointments" in text
    assert "Dial" not in verbs(step.twiml) and verbs(step.twiml)[-1] == "Hangup"
    assert step.notice is None  # nothing is forwarded during the 24 hours


def test_a_client_goes_straight_to_ringing_their_therapist():
    step = voice.incoming(RILEY, [], SID, NOW, PRACTICE, URLS, SKILLS)
    root = ET.fromstring(step.twiml)
    assert verbs(step.twiml) == ["Say", "Dial"]
    assert spoken(step.twiml) == "This is St. Louis DBT. Connecting you to a coach."
    dial = root.find("Dial")
    assert dial is not None
    assert dial.attrib["timeout"] == "20"
    assert dial.attrib["timeLimit"] == "900"  # 15 minutes
    assert dial.attrib["callerId"] == "+13145550100"
    assert dial.attrib["action"] == "https://line.example.org/twilio/voice/dial-result?tried=1"
    number = dial.find("Number")
    assert number is not None and number.text == DANA.phone
    # The therapist's leg names the call in ParentCallSid: the document is the same for
    # every call that rings Dana first.
    assert number.attrib["url"] == "https://line.example.org/twilio/voice/screen?therapist=1"
    assert step.ringing == DANA and step.outcome == Outcome.RINGING
    again = voice.incoming(RILEY, [], "CA" + "2" * 32, NOW, PRACTICE, URLS, SKILLS)
    assert again.twiml == step.twiml


def test_the_kept_ringing_document_follows_the_therapist_and_the_practice():
    """The ringing TwiML is built once per decision: a new number, time limit or greeting
    is a new decision, never the old document."""
    first = voice.incoming(RILEY, [], SID, NOW, PRACTICE, URLS, SKILLS).twiml
    moved = ringing.Caller(7, "Riley Tran", ringing.Therapist(1, "Dana Whitfield", "+13145550121"))
    assert "+13145550121" in voice.incoming(moved, [], SID, NOW, PRACTICE, URLS, SKILLS).twiml
    shorter = Practice(
        name=PRACTICE.name,
        tz=TZ,
        line_number=PRACTICE.line_number,
        call_time_limit_seconds=10 * 60,
        greeting="Hello from {practice}.",
    )
    twiml = voice.incoming(RILEY, [], SID, NOW, shorter, URLS, SKILLS).twiml
    assert 'timeLimit="600"' in twiml
    assert spoken(twiml) == "Hello from St. Louis DBT. Connecting you to a coach."
    assert voice.incoming(RILEY, [], SID, NOW, PRACTICE, URLS, SKILLS).twiml == first


def test_screening_is_a_gather_followed_by_hangup():
    twiml = screening.screen(PRACTICE, SID, 1, URLS)
    root = ET.fromstring(twiml)
    assert verbs(twiml) == ["Gather", "Hangup"]
    gather = root.find("Gather")
    assert gather is not None and gather.attrib["numDigits"] == "1"
    # A voicemail box records this: the line's name, never the client's.
    assert spoken(twiml) == (
        "Coaching call from the St. Louis DBT line. Press 1 to accept. "
        "Coaching call from the St. Louis DBT line. Press 1 to accept."
    )
    accepted, body = screening.screen_answer("1", "Riley", PRACTICE)
    assert accepted is True
    assert verbs(body) == ["Say"]  # ends without hangup: bridge
    assert spoken(body) == "Connecting you now with Riley. The line ends the call after 15 minutes."
    assert "Riley" not in spoken(screening.screen_answer("1", None, PRACTICE)[1])
    for other in ("", "2", "*", None, "11"):
        accepted, body = screening.screen_answer(other, "Riley", PRACTICE)
        assert accepted is False and verbs(body) == ["Hangup"]


@pytest.mark.parametrize(
    "hours, at_local, expected",
    [
        ((), datetime(2026, 11, 27, 3, 0), True),  # no hours set: any time
        ((ringing.Window(4, time(9), time(17)),), datetime(2026, 11, 27, 9, 0), True),
        ((ringing.Window(4, time(9), time(17)),), datetime(2026, 11, 27, 17, 0), False),
        ((ringing.Window(4, time(9), time(17)),), datetime(2026, 11, 28, 10, 0), False),
        # Friday 20:00 to 02:00: Friday night and the small hours of Saturday
        ((ringing.Window(4, time(20), time(2)),), datetime(2026, 11, 27, 23, 59), True),
        ((ringing.Window(4, time(20), time(2)),), datetime(2026, 11, 28, 1, 59), True),
        ((ringing.Window(4, time(20), time(2)),), datetime(2026, 11, 28, 2, 0), False),
        ((ringing.Window(4, time(20), time(2)),), datetime(2026, 11, 27, 1, 0), False),
        # Sunday 22:00 to 01:00 wraps into Monday
        ((ringing.Window(6, time(22), time(1)),), datetime(2026, 11, 30, 0, 30), True),
    ],
)
def test_coaching_hours_in_the_practice_zone(hours, at_local, expected):
    at = at_local.replace(tzinfo=TZ).astimezone(UTC)
    assert ringing.within_hours(hours, at, PRACTICE) is expected


def test_ring_order_primary_then_on_call_skipping_away_inactive_and_tried():
    away = ringing.Therapist(1, "Dana Whitfield", DANA.phone, away_until=NOW + timedelta(hours=1))
    after_hours = ringing.Therapist(
        1, "Dana Whitfield", DANA.phone, hours=(ringing.Window(0, time(9), time(10)),)
    )
    inactive = ringing.Therapist(3, "Sam Ortiz", "+13145550113", active=False)
    assert ringing.ring_order(RILEY, [MARCUS], [], NOW, PRACTICE) == [DANA, MARCUS]
    assert ringing.ring_order(RILEY, [DANA, MARCUS], [], NOW, PRACTICE) == [DANA, MARCUS]
    assert ringing.ring_order(RILEY, [MARCUS], [1], NOW, PRACTICE) == [MARCUS]
    assert ringing.ring_order(RILEY, [MARCUS, inactive], [1, 2], NOW, PRACTICE) == []
    for primary in (away, after_hours):
        caller = ringing.Caller(7, "Riley Tran", primary)
        assert ringing.ring_order(caller, [MARCUS], [], NOW, PRACTICE) == [MARCUS]
    # away has passed
    back = ringing.Therapist(1, "Dana Whitfield", DANA.phone, away_until=NOW)
    assert ringing.ring_order(ringing.Caller(7, "Riley Tran", back), [], [], NOW, PRACTICE) == [
        back
    ]


def _result(**kw) -> voice.DialResult:
    base = dict(
        call_status="in-progress",
        dial_status="completed",
        dial_bridged="true",
        accepted_by=1,
        tried=[1],
    )
    base.update(kw)
    return voice.DialResult(**base)


def test_bridged_is_decided_from_dial_bridged_not_dial_call_status():
    assert voice.was_bridged(_result()) is True
    # screened out (voicemail, or nobody pressed 1): completed but not bridged
    assert voice.was_bridged(_result(dial_bridged="false", accepted_by=None)) is False
    assert voice.was_bridged(_result(dial_bridged="false")) is False
    for status in ("busy", "no-answer", "failed", "canceled"):
        assert voice.was_bridged(_result(dial_status=status, dial_bridged="false")) is False
    # without DialBridged, only our own record of acceptance counts
    assert voice.was_bridged(_result(dial_bridged=None)) is True
    assert voice.was_bridged(_result(dial_bridged=None, accepted_by=None)) is False


def test_after_a_bridged_call_the_caller_hears_goodbye_and_crisis_resources():
    step = voice.after_dial(RILEY, [MARCUS], _result(), SID, NOW, PRACTICE, URLS, SKILLS)
    assert step.outcome == Outcome.BRIDGED and step.notice is None
    assert "Your coaching call has ended" in spoken(step.twiml)
    assert_crisis(step.twiml)


def test_nobody_accepts_then_the_next_therapist_is_rung():
    result = _result(dial_bridged="false", accepted_by=None)
    step = voice.after_dial(RILEY, [MARCUS], result, SID, NOW, PRACTICE, URLS, SKILLS)
    assert step.ringing == MARCUS
    dial = ET.fromstring(step.twiml).find("Dial")
    assert dial is not None
    assert dial.attrib["action"].endswith("tried=1%2C2")


def test_wait_time_script_when_nobody_is_left():
    result = _result(dial_status="no-answer", dial_bridged="false", accepted_by=None, tried=[1, 2])
    step = voice.after_dial(RILEY, [MARCUS], result, SID, NOW, PRACTICE, URLS, SKILLS)
    text = spoken(step.twiml)
    assert step.outcome == Outcome.WAIT_SCRIPT
    # What happens next, then 988 one key away, then the skill, then the voice message.
    assert text.startswith(
        "Your coach couldn't answer, and has been told you called. A call back usually comes "
        "within 2 hours. To talk with the 9 8 8 Suicide and Crisis Lifeline now, press 1."
    )
    skill = next(s for s in SKILLS if s.key == step.skill_key)
    assert skill.module == DISTRESS_TOLERANCE
    assert text.index("9 1 1") < text.index(f"While you wait, try {skill.name}.")
    assert text.index(skill.name) < text.index("To leave a message")
    assert_crisis(step.twiml)
    gather = ET.fromstring(step.twiml).find("Gather")
    assert gather is not None
    assert gather.attrib["action"] == URLS.lifeline("message")
    record = ET.fromstring(step.twiml).find("Record")
    assert record is not None and record.attrib["maxLength"] == "60"
    assert verbs(step.twiml) == ["Gather", "Say", "Record", "Say", "Hangup"]
    assert step.notice == voice.Notice(1, DANA.phone, "Missed coaching call from Riley at 9:42 PM.")


def test_wait_skill_varies_from_call_to_call():
    keys = set()
    last = None
    for n in range(12):
        skill = voice.pick_wait_skill(SKILLS, last, f"CA{n:032x}")
        assert skill is not None and skill.key != last
        keys.add(skill.key)
        last = skill.key
    assert len(keys) >= 4


def test_missed_call_goes_to_the_on_call_therapist_when_the_primary_is_away():
    away = ringing.Therapist(1, "Dana Whitfield", DANA.phone, away_until=NOW + timedelta(days=3))
    caller = ringing.Caller(7, "Riley Tran", away)
    step = voice.incoming(caller, [], SID, NOW, PRACTICE, URLS, SKILLS)
    assert step.outcome == Outcome.WAIT_SCRIPT  # nobody to ring at all
    assert step.notice is not None and step.notice.therapist_id == 1  # still told, for later
    result = _result(dial_status="busy", dial_bridged="false", accepted_by=None, tried=[2])
    step = voice.after_dial(caller, [MARCUS], result, SID, NOW, PRACTICE, URLS, SKILLS)
    assert step.notice is not None and step.notice.therapist_id == 2


def test_caller_who_hangs_up_hears_nothing_more_and_the_call_is_still_a_missed_call():
    result = _result(
        call_status="completed", dial_status="canceled", dial_bridged="false", accepted_by=None
    )
    step = voice.after_dial(RILEY, [MARCUS], result, SID, NOW, PRACTICE, URLS, SKILLS)
    assert step.outcome == Outcome.CALLER_HUNG_UP
    assert verbs(step.twiml) == []
    assert step.notice is not None and step.notice.body.startswith(
        "Missed coaching call from Riley"
    )
    bridged = voice.after_dial(
        RILEY, [], _result(call_status="completed"), SID, NOW, PRACTICE, URLS, SKILLS
    )
    assert bridged.outcome == Outcome.BRIDGED and bridged.notice is None


def test_no_voice_message_offer_when_the_practice_turns_it_off():
    practice = Practice(name="St. Louis DBT", tz=TZ, offer_voice_message=False)
    inactive = ringing.Therapist(1, "Dana Whitfield", DANA.phone, active=False)
    step = voice.incoming(
        ringing.Caller(7, "Riley Tran", inactive), [], SID, NOW, practice, URLS, []
    )
    assert step.notice is None  # nobody at all to tell: the call is logged for the team
    # even with no therapist to ring and no skills, the script ends in the crisis resources
    assert "Record" not in verbs(step.twiml)
    text = spoken(step.twiml)
    assert text.startswith("No coach could answer; your care team will see that you called.")
    assert "Connecting" not in text  # nobody was rung: no "connecting you"
    assert_crisis(step.twiml)


statuses = st.sampled_from(["completed", "busy", "no-answer", "failed", "canceled"])


@given(
    outcomes=st.lists(
        st.tuples(
            statuses,
            st.sampled_from(["true", "false", None]),
            st.booleans(),
            st.sampled_from(["in-progress", "completed"]),
        ),
        min_size=0,
        max_size=6,
    ),
    on_call=st.lists(st.integers(min_value=2, max_value=6), max_size=4),
    primary_away=st.booleans(),
)
def test_no_sequence_of_twilio_outcomes_is_a_dead_end(outcomes, on_call, primary_away):
    """Every step either rings someone, bridges, reads the wait script, or gives the crisis
    resources; a call never ends on silence while the caller is still there."""
    primary = ringing.Therapist(
        1,
        "Dana Whitfield",
        DANA.phone,
        away_until=NOW + timedelta(days=1) if primary_away else None,
    )
    caller = ringing.Caller(7, "Riley Tran", primary)
    team = [ringing.Therapist(i, f"T{i} Coach", f"+1314555011{i}") for i in on_call]
    step = voice.incoming(caller, team, SID, NOW, PRACTICE, URLS, SKILLS)
    tried: list[int] = []
    for dial_status, bridged, accepted, call_status in outcomes:
        if step.outcome != Outcome.RINGING:
            break
        assert step.ringing is not None and step.ringing.id not in tried
        tried.append(step.ringing.id)
        result = voice.DialResult(
            call_status, dial_status, bridged, step.ringing.id if accepted else None, list(tried)
        )
        step = voice.after_dial(caller, team, result, SID, NOW, PRACTICE, URLS, SKILLS)
        if call_status == "completed":  # the caller is gone: nothing more to hear
            assert step.outcome in (Outcome.BRIDGED, Outcome.CALLER_HUNG_UP)
            return
    if step.outcome == Outcome.RINGING:
        assert verbs(step.twiml)[-1] == "Dial"
    else:
        assert step.outcome in (Outcome.BRIDGED, Outcome.WAIT_SCRIPT)
        assert_crisis(step.twiml)
        assert verbs(step.twiml)[-1] == "Hangup"


@given(
    primary_active=st.booleans(),
    primary_away=st.booleans(),
    within_hours=st.booleans(),
    locked=st.booleans(),
    called_back=st.booleans(),
    on_call=st.lists(st.integers(min_value=2, max_value=6), max_size=3),
    dial=st.tuples(statuses, st.sampled_from(["true", "false", None])),
)
def test_when_the_schedule_is_not_needed_the_answer_is_the_same_without_it(
    primary_active, primary_away, within_hours, locked, called_back, on_call, dial
):
    """The service loads who is on call and the skills only when `ivr.voice` says a step
    needs them: when it says not, the step is the same without them."""
    hours = () if within_hours else (ringing.Window(0, time(9), time(9, 1)),)  # not at NOW
    primary = ringing.Therapist(
        1,
        "Dana Whitfield",
        "+13145550111",
        active=primary_active,
        away_until=NOW + timedelta(hours=1) if primary_away else None,
        hours=hours,
    )
    caller = ringing.Caller(
        7,
        "Riley Tran",
        primary,
        locked_until=NOW + timedelta(hours=3) if locked else None,
        being_called_back=called_back,
    )
    others = [ringing.Therapist(i, f"T{i} Doe", f"+1314555011{i}") for i in on_call]
    if not voice.incoming_needs_schedule(caller, NOW, PRACTICE):
        assert voice.incoming(caller, others, SID, NOW, PRACTICE, URLS, SKILLS) == voice.incoming(
            caller, [], SID, NOW, PRACTICE, URLS, []
        )
    result = voice.DialResult("in-progress", dial[0], dial[1], accepted_by=None, tried=[1])
    if not voice.after_dial_needs_schedule(result):
        with_it = voice.after_dial(caller, others, result, SID, NOW, PRACTICE, URLS, SKILLS)
        assert with_it == voice.after_dial(caller, [], result, SID, NOW, PRACTICE, URLS, [])
