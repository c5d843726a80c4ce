"""ivr.sms_flow: one decision per inbound text, and whole conversations as a client texts them,
with every time passed explicitly. Pure: no database, no app fixtures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ivr import replies
from ivr.codes import AttentionKind
from ivr.gsm import MAX_BODY_CHARS, is_gsm7
from ivr.replies import UnderLockout
from ivr.scripts import CrisisLine, Practice, crisis_texted
from ivr.skills import DISTRESS_TOLERANCE, EMOTION_REGULATION, Skill, builtin_skills
from ivr.sms_flow import (
    CHECK_IN_TTL,
    ClientState,
    SmsDecision,
    SmsState,
    TherapistNotice,
    handle_sms,
)
from ivr.texts import CRISIS_PHRASES, IntentKind, fold

TZ = ZoneInfo("America/Chicago")
# A Friday evening in St. Louis (CST): 2026-11-27 21:42 local.
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)
PRACTICE = Practice(
    name="Riverbend DBT",
    tz=TZ,
    local_crisis_line=CrisisLine("Gateway Crisis Line", "+13145550142"),
)
SKILLS = {s.key: s for s in builtin_skills()}
MAYA = ClientState(first_name="Maya", last_skill="wise_mind")
LOCKED = dataclasses.replace(MAYA, locked_until=NOW + timedelta(hours=20))
OPTED_OUT = dataclasses.replace(MAYA, opted_out=True)
CRISIS = replies.crisis_reply(PRACTICE, therapist_told=True)
CRISIS_UNTOLD = replies.crisis_reply(PRACTICE, therapist_told=False)
HELP = replies.help_reply(PRACTICE)
OPT_OUT_WORDS = ["STOP", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "STOPALL", "REVOKE", "OPTOUT"]
OPT_IN_WORDS = ["START", "UNSTOP", "YES"]


def client(state: ClientState = MAYA, seed: str = "SM1") -> SmsState:
    return SmsState.for_client(PRACTICE, state, seed=seed)


def skill_in(reply: str | None, key: str | None) -> bool:
    assert reply is not None and key is not None
    skill = SKILLS[key]
    return f"{skill.name}: {skill.text}" in reply


class Line:
    """The service around the flow, reduced to what a conversation needs: it applies each
    decision to the client's state the way the webhook saves it."""

    def __init__(self, state: ClientState = MAYA) -> None:
        self.state = state
        self.ratings: list[int] = []
        self.successes: list[str] = []
        self.notices: list[TherapistNotice] = []

    def text(self, body: str, at: datetime) -> SmsDecision:
        decision = handle_sms(client(self.state, seed=f"SM{at.isoformat()}"), body, at)
        expires = self.state.check_in_expires_at
        if decision.close_check_in:
            expires = None
        if decision.urge_rating is not None:
            self.ratings.append(decision.urge_rating)
            expires = None
        if decision.open_check_in_until is not None:
            expires = decision.open_check_in_until
        if decision.success_body is not None:
            self.successes.append(decision.success_body)
        if decision.notice is not None:
            self.notices.append(decision.notice)
        opted_out = self.state.opted_out
        if decision.opt_out:
            opted_out = True
        if decision.opt_in:
            opted_out = False
        self.state = dataclasses.replace(
            self.state,
            check_in_expires_at=expires,
            last_skill=decision.skill_key or self.state.last_skill,
            opted_out=opted_out,
        )
        return decision


# --- check-in conversations, through to expiry -------------------------------------------------


def test_check_in_then_a_rating():
    line = Line()
    prompt = line.text("Check-In", NOW)
    assert prompt.intent is IntentKind.CHECK_IN
    assert prompt.open_check_in_until == NOW + timedelta(minutes=30) == NOW + CHECK_IN_TTL
    assert prompt.skill_key not in (None, "wise_mind")
    assert skill_in(prompt.reply, prompt.skill_key)
    assert prompt.reply is not None and prompt.reply.endswith(replies.CHECK_IN_QUESTION)
    assert not prompt.close_check_in  # there was none open

    answer = line.text("2", NOW + timedelta(minutes=5))
    assert answer.intent is IntentKind.RATING
    assert answer.urge_rating == 2
    assert answer.skill_key not in (None, prompt.skill_key)
    assert skill_in(answer.reply, answer.skill_key)
    assert answer.reply is not None and answer.reply.startswith("Thanks for checking in.")
    assert answer.notice is None
    assert line.ratings == [2]

    # Answered: a second number is no longer a rating.
    again = line.text("3", NOW + timedelta(minutes=6))
    assert again.urge_rating is None and again.reply == HELP
    assert line.ratings == [2]


def test_a_rating_one_second_before_expiry_counts():
    line = Line()
    line.text("checkin", NOW)
    answer = line.text("4", NOW + CHECK_IN_TTL - timedelta(seconds=1))
    assert answer.urge_rating == 4


@pytest.mark.parametrize(
    "after", [CHECK_IN_TTL, CHECK_IN_TTL + timedelta(seconds=1), timedelta(hours=9)]
)
def test_after_expiry_a_bare_number_gets_help(after):
    line = Line()
    line.text("check in", NOW)
    late = line.text("4", NOW + after)
    assert late.intent is IntentKind.RATING
    assert late.urge_rating is None
    assert late.reply == HELP
    assert line.ratings == []


def test_a_new_check_in_after_expiry_works_again():
    line = Line()
    line.text("check in", NOW)
    line.text("4", NOW + timedelta(hours=1))
    line.text("check in", NOW + timedelta(hours=2))
    assert line.text("1", NOW + timedelta(hours=2, minutes=1)).urge_rating == 1


def test_not_understood_during_a_check_in_asks_again_and_keeps_it_open():
    line = Line()
    line.text("check-in", NOW)
    for body in ["hmm not sure", "6", "10", "0-5"]:
        decision = line.text(body, NOW + timedelta(minutes=1))
        assert decision.reply == replies.check_in_reminder(PRACTICE)
        assert not decision.close_check_in and decision.urge_rating is None
    assert line.text("3", NOW + timedelta(minutes=2)).urge_rating == 3


@pytest.mark.parametrize(
    ("keyword", "intent"),
    [
        ("win walked away", IntentKind.SUCCESS),
        ("help", IntentKind.HELP),
        ("START", IntentKind.OPT_IN),
        ("STOP", IntentKind.OPT_OUT),
    ],
)
def test_any_keyword_closes_an_open_check_in(keyword, intent):
    line = Line()
    line.text("check-in", NOW)
    decision = line.text(keyword, NOW + timedelta(minutes=1))
    assert decision.intent is intent
    assert decision.close_check_in
    if intent is IntentKind.OPT_OUT:
        line.text("START", NOW + timedelta(minutes=2))
    late = line.text("3", NOW + timedelta(minutes=3))
    assert late.urge_rating is None


def test_check_in_again_restarts_the_check_in():
    line = Line()
    first = line.text("check-in", NOW)
    second = line.text("CHECK IN!", NOW + timedelta(minutes=20))
    assert second.close_check_in
    assert second.open_check_in_until == NOW + timedelta(minutes=50)
    assert second.skill_key != first.skill_key
    # Still open 45 minutes after the first prompt, because the second one restarted it.
    assert line.text("1", NOW + timedelta(minutes=45)).urge_rating == 1


def test_a_number_with_no_check_in_is_not_understood():
    decision = handle_sms(client(), "3", NOW)
    assert decision.intent is IntentKind.RATING
    assert decision.urge_rating is None and decision.reply == HELP


@pytest.mark.parametrize("rating", [0, 1, 2, 3, 4, 5])
def test_the_skill_fits_the_rating(rating):
    state = dataclasses.replace(MAYA, check_in_expires_at=NOW + timedelta(minutes=10))
    for seed in range(40):
        decision = handle_sms(client(state, seed=str(seed)), str(rating), NOW)
        assert decision.urge_rating == rating
        assert decision.skill_key is not None and decision.skill_key != MAYA.last_skill
        module = SKILLS[decision.skill_key].module
        reply = decision.reply
        assert reply is not None
        if rating >= 4:
            assert module == DISTRESS_TOLERANCE
            assert reply.endswith(crisis_texted(PRACTICE))
            assert "Call this number for coaching." in reply
        else:
            assert "988" not in reply
        if rating == 3:
            assert module in (DISTRESS_TOLERANCE, EMOTION_REGULATION)
        if rating >= 4:  # a high urge tells the therapist, in words with nothing clinical
            assert decision.notice == TherapistNotice(
                AttentionKind.HIGH_URGE,
                "Maya answered a check-in on the coaching line and may need support.",
            )
            assert "care team knows" in reply
        else:
            assert decision.notice is None


# --- successes ----------------------------------------------------------------------------------


def test_a_success_is_stored_and_thanked_without_echo():
    body = "Win: I used TIPP instead of cutting"
    decision = handle_sms(client(), body, NOW)
    assert decision.intent is IntentKind.SUCCESS
    assert decision.success_body == "I used TIPP instead of cutting"
    assert decision.reply == replies.success_reply(PRACTICE)
    assert "TIPP" not in decision.reply and "cutting" not in decision.reply
    assert decision.notice is None and decision.skill_key is None


def test_a_bare_win_is_stored_too():
    decision = handle_sms(client(), "WIN!", NOW)
    assert decision.success_body == ""
    assert decision.reply == replies.success_reply(PRACTICE, detailed=False)


def test_a_win_with_crisis_words_is_crisis():
    decision = handle_sms(client(), "win: I didn't hurt myself today", NOW)
    assert decision.intent is IntentKind.CRISIS
    assert decision.success_body is None
    assert decision.reply == CRISIS
    assert decision.notice is not None


# --- help, opt-out, opt-in ----------------------------------------------------------------------


@pytest.mark.parametrize("body", ["help", "INFO", "?", "hello", "what is this", "", "\U0001f600"])
def test_help_and_anything_not_understood(body):
    decision = handle_sms(client(), body, NOW)
    assert decision.reply == HELP
    assert decision.skill_key is None and decision.notice is None


@pytest.mark.parametrize("word", OPT_OUT_WORDS + [w.lower() + "." for w in OPT_OUT_WORDS])
def test_opt_out_words_are_recorded_without_a_reply(word):
    decision = handle_sms(client(), word, NOW)
    assert decision == SmsDecision(IntentKind.OPT_OUT, None, opt_out=True)


@pytest.mark.parametrize("word", OPT_IN_WORDS + [" start ", "Yes!", "unstop"])
def test_opt_in_words(word):
    decision = handle_sms(client(OPTED_OUT), word, NOW)
    assert decision.opt_in and not decision.opt_out
    assert decision.reply == replies.opt_in_reply(PRACTICE)


NOT_PROACTIVE = [
    "check-in",
    "check in",
    "3",
    "help",
    "?",
    "hello",
    "6",
    "win: went to group",
    "STOP",
]


@pytest.mark.parametrize("body", NOT_PROACTIVE)
@pytest.mark.parametrize("open_check_in", [False, True])
def test_an_opted_out_client_gets_nothing(body, open_check_in):
    state = OPTED_OUT
    if open_check_in:
        state = dataclasses.replace(state, check_in_expires_at=NOW + timedelta(minutes=5))
    decision = handle_sms(client(state), body, NOW)
    assert decision.reply is None
    assert decision.skill_key is None
    assert decision.open_check_in_until is None
    assert decision.urge_rating is None
    assert decision.notice is None


def test_an_opted_out_client_s_win_is_still_kept_silently():
    decision = handle_sms(client(OPTED_OUT), "win: went to group", NOW)
    assert decision.reply is None and decision.success_body == "went to group"


def test_opting_out_and_back_in():
    line = Line()
    assert line.text("STOP", NOW).reply is None
    assert line.state.opted_out
    assert line.text("check-in", NOW + timedelta(minutes=1)).reply is None
    assert line.text("START", NOW + timedelta(minutes=2)).reply == replies.opt_in_reply(PRACTICE)
    assert not line.state.opted_out
    assert line.text("check-in", NOW + timedelta(minutes=3)).open_check_in_until is not None


# --- crisis language ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["I want to kill myself", "thinking about suicide", "check in, I want to die"]
)
def test_crisis_from_a_client_notifies_the_therapist(body):
    decision = handle_sms(client(), body, NOW)
    assert decision.intent is IntentKind.CRISIS
    assert decision.reply == CRISIS
    assert decision.reply.startswith("Please call or text 988 now")
    assert decision.notice == TherapistNotice(
        AttentionKind.CRISIS_TEXT, "Maya texted the line and may need support."
    )
    assert decision.open_check_in_until is None and decision.success_body is None


def test_crisis_during_a_lockout_reaches_the_client_and_a_therapist():
    """The 24-hour rule pauses coaching, not the team's answer to a sign of risk."""
    decision = handle_sms(client(LOCKED), "I want to hurt myself", NOW)
    assert decision.reply == CRISIS
    assert "care team" in decision.reply and "therapist" not in decision.reply
    assert decision.notice is not None and decision.notice.kind is AttentionKind.CRISIS_TEXT
    assert decision.under_lockout


def test_a_lockout_that_has_ended_does_not_count():
    ended = dataclasses.replace(MAYA, locked_until=NOW)
    decision = handle_sms(client(ended), "I want to hurt myself", NOW)
    assert decision.notice is not None and not decision.under_lockout
    assert handle_sms(client(ended), "help", NOW).reply == HELP


@pytest.mark.parametrize("state", [OPTED_OUT, dataclasses.replace(LOCKED, opted_out=True)])
def test_crisis_from_an_opted_out_client_still_gets_the_crisis_reply(state):
    decision = handle_sms(client(state), "I want to end my life", NOW)
    assert decision.reply == CRISIS
    assert decision.notice is not None


def test_crisis_keeps_an_open_check_in_so_a_rating_still_gets_help():
    line = Line()
    line.text("check-in", NOW)
    crisis = line.text("I want to die", NOW + timedelta(minutes=2))
    assert not crisis.close_check_in and crisis.open_check_in_until is None
    rating = line.text("5", NOW + timedelta(minutes=3))
    assert rating.urge_rating == 5
    assert rating.reply is not None and rating.reply.endswith(crisis_texted(PRACTICE))
    assert SKILLS[rating.skill_key or ""].module == DISTRESS_TOLERANCE
    assert [notice.kind for notice in line.notices] == [
        AttentionKind.CRISIS_TEXT,
        AttentionKind.HIGH_URGE,
    ]


def test_the_notice_carries_the_first_name_only_in_gsm7():
    state = dataclasses.replace(MAYA, first_name="Zo\u00eb")
    decision = handle_sms(client(state), "suicidal", NOW)
    assert decision.notice is not None
    assert decision.notice.body == "Zoe texted the line and may need support."


# --- under a lockout ------------------------------------------------------------------------------

# What a reply under the lockout says of it: no end time (NOW + 20 h would date the event).
WHEN = "Phone coaching isn't available right now; your therapist can tell you more"


def test_a_locked_out_client_can_check_in():
    line = Line(LOCKED)
    prompt = line.text("check-in", NOW)
    assert prompt.under_lockout
    assert prompt.open_check_in_until == NOW + CHECK_IN_TTL
    assert skill_in(prompt.reply, prompt.skill_key)
    assert prompt.reply is not None and WHEN in prompt.reply
    assert prompt.reply.endswith(crisis_texted(PRACTICE))
    rating = line.text("5", NOW + timedelta(minutes=1))
    assert rating.urge_rating == 5
    assert rating.notice is not None and rating.notice.kind is AttentionKind.HIGH_URGE
    assert rating.reply is not None and "Call this number" not in rating.reply
    assert WHEN in rating.reply and rating.reply.count("988") == 1


@pytest.mark.parametrize("body", ["help", "hello", "win: went to group", "START", "3", "win"])
def test_every_lockout_reply_teaches_a_distress_tolerance_skill(body):
    decision = handle_sms(client(LOCKED), body, NOW)
    assert decision.under_lockout
    assert decision.skill_key is not None and decision.skill_key != LOCKED.last_skill
    assert SKILLS[decision.skill_key].module == DISTRESS_TOLERANCE
    assert skill_in(decision.reply, decision.skill_key)
    assert decision.reply is not None and WHEN in decision.reply
    assert decision.reply.endswith(crisis_texted(PRACTICE))
    assert decision.notice is None


def test_a_success_during_a_lockout_is_stored_not_forwarded():
    decision = handle_sms(client(LOCKED), "win: asked for help at school", NOW)
    assert decision.success_body == "asked for help at school"
    assert decision.notice is None and decision.under_lockout
    lockout = UnderLockout(LOCKED.locked_until or NOW, NOW)
    skill = SKILLS[decision.skill_key or ""]
    assert decision.reply == replies.success_reply(PRACTICE, lockout=lockout, skill=skill)


def test_a_locked_out_client_reminded_during_a_check_in():
    state = dataclasses.replace(LOCKED, check_in_expires_at=NOW + timedelta(minutes=5))
    decision = handle_sms(client(state), "what?", NOW)
    lockout = UnderLockout(LOCKED.locked_until or NOW, NOW)
    assert decision.reply == replies.check_in_reminder(PRACTICE, lockout)


# --- unknown senders and therapists --------------------------------------------------------------


@pytest.mark.parametrize("body", ["check-in", "hello", "3", "win: x", "help", "START"])
def test_an_unknown_sender_learns_what_the_line_is(body):
    decision = handle_sms(SmsState.for_unknown(PRACTICE), body, NOW)
    assert decision.reply == replies.unknown_sender_reply(PRACTICE)
    assert decision.success_body is None and decision.open_check_in_until is None
    assert decision.notice is None and decision.skill_key is None


def test_an_unknown_sender_in_crisis():
    decision = handle_sms(SmsState.for_unknown(PRACTICE), "I want to kill myself", NOW)
    assert decision.reply == CRISIS_UNTOLD and decision.notice is None


def test_an_unknown_sender_opting_out():
    decision = handle_sms(SmsState.for_unknown(PRACTICE), "stop", NOW)
    assert decision.reply is None and decision.opt_out


def test_a_client_state_without_a_client_is_treated_as_unknown():
    state = SmsState(PRACTICE)
    assert handle_sms(state, "check-in", NOW).reply == replies.unknown_sender_reply(PRACTICE)


@pytest.mark.parametrize("body", ["check-in", "status", "3", "win: x", "help"])
def test_a_therapist_gets_a_usage_line(body):
    decision = handle_sms(SmsState.for_therapist(PRACTICE), body, NOW)
    assert decision.reply == replies.therapist_usage_reply(PRACTICE)
    assert decision.notice is None and decision.success_body is None


def test_a_therapist_texting_crisis_words_or_stop():
    therapist = SmsState.for_therapist(PRACTICE)
    assert handle_sms(therapist, "client said suicide", NOW).reply == CRISIS_UNTOLD
    stop = handle_sms(therapist, "STOP", NOW)
    assert stop.reply is None and stop.opt_out
    assert handle_sms(therapist, "START", NOW).opt_in


# --- the rest -----------------------------------------------------------------------------------


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError):
        handle_sms(client(), "check-in", datetime(2026, 11, 28, 3, 42))


def test_decisions_are_reproducible_and_vary_with_the_seed():
    first = handle_sms(client(seed="SMa"), "check-in", NOW)
    assert handle_sms(client(seed="SMa"), "check-in", NOW) == first
    keys = {handle_sms(client(seed=f"SM{i}"), "check-in", NOW).skill_key for i in range(50)}
    assert len(keys) > 10


def test_the_practice_library_is_used():
    own = [
        Skill("porch_sit", "mindfulness", "Porch Sit", "Sit outside and listen."),
        Skill("cold_can", "distress_tolerance", "Cold Can", "Hold a cold can."),
    ]
    state = SmsState.for_client(PRACTICE, MAYA, skills=own, seed="x")
    decision = handle_sms(state, "check-in", NOW)
    assert decision.skill_key in ("porch_sit", "cold_can")
    rated = dataclasses.replace(MAYA, check_in_expires_at=NOW + timedelta(minutes=1))
    state = SmsState.for_client(PRACTICE, rated, skills=own)
    assert handle_sms(state, "5", NOW).skill_key == "cold_can"


def test_a_client_texting_check_in_all_evening_never_gets_the_same_skill_twice():
    line = Line()
    previous = line.state.last_skill
    for minute in range(0, 600, 7):
        at = NOW + timedelta(minutes=minute)
        decision = line.text("check-in" if minute % 2 else str(minute % 6), at)
        if decision.skill_key:
            assert decision.skill_key != previous
            previous = decision.skill_key


# --- properties ---------------------------------------------------------------------------------

STATES = st.builds(
    ClientState,
    first_name=st.text(max_size=40),
    last_skill=st.one_of(st.none(), st.sampled_from(sorted(SKILLS)), st.text(max_size=10)),
    opted_out=st.booleans(),
    locked_until=st.one_of(
        st.none(), st.timedeltas(timedelta(hours=-30), timedelta(hours=30)).map(lambda d: NOW + d)
    ),
    check_in_expires_at=st.one_of(
        st.none(), st.timedeltas(timedelta(hours=-2), timedelta(hours=2)).map(lambda d: NOW + d)
    ),
)
SENDERS = st.one_of(
    STATES.map(lambda s: SmsState.for_client(PRACTICE, s, seed="SMx")),
    st.just(SmsState.for_therapist(PRACTICE)),
    st.just(SmsState.for_unknown(PRACTICE)),
)
MESSAGES = st.one_of(
    st.text(),
    st.sampled_from(
        ["check-in", "3", "5", "9", "win: x", "win", "help", "STOP", "START", "yes", "?", ""]
    ),
)


def _is_locked(state: SmsState) -> bool:
    c = state.client
    return c is not None and c.locked_until is not None and c.locked_until > NOW


@settings(max_examples=300)
@given(state=SENDERS, body=MESSAGES)
def test_every_text_gets_a_gsm7_reply_or_none_only_when_opted_out(state, body):
    decision = handle_sms(state, body, NOW)
    if decision.reply is None:
        opted_out = state.client is not None and state.client.opted_out
        assert decision.intent is IntentKind.OPT_OUT or opted_out
        assert decision.intent not in (IntentKind.CRISIS, IntentKind.OPT_IN)
    else:
        assert is_gsm7(decision.reply)
        assert 0 < len(decision.reply) <= MAX_BODY_CHARS
    if state.client is None:  # only a known client's signs are raised
        assert decision.notice is None
    if state.client is not None and decision.skill_key is not None:
        assert decision.skill_key != state.client.last_skill or len(SKILLS) == 1


@settings(max_examples=300)
@given(
    state=SENDERS,
    prefix=st.text(max_size=80),
    suffix=st.text(max_size=80),
    phrase=st.sampled_from(CRISIS_PHRASES),
)
def test_crisis_language_anywhere_always_gets_the_crisis_reply(state, prefix, suffix, phrase):
    assume("slack" not in fold(suffix))
    decision = handle_sms(state, f"{prefix} {phrase.upper()} {suffix}", NOW)
    assert decision.intent is IntentKind.CRISIS
    told = state.client is not None
    assert decision.reply == (CRISIS if told else CRISIS_UNTOLD)
    assert (decision.notice is not None) == told
    assert decision.success_body is None and decision.urge_rating is None


@settings(max_examples=100)
@given(
    steps=st.lists(
        st.tuples(MESSAGES, st.integers(min_value=0, max_value=45)), min_size=1, max_size=12
    )
)
def test_conversations_keep_their_invariants(steps):
    line = Line()
    at = NOW
    for body, minutes in steps:
        at += timedelta(minutes=minutes)
        before = line.state
        decision = line.text(body, at)
        if decision.urge_rating is not None:
            expires = before.check_in_expires_at
            assert expires is not None and at < expires
        if decision.skill_key is not None:
            assert decision.skill_key != before.last_skill
