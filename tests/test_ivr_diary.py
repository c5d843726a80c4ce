"""The diary card's rules (`ivr.diary`) and its place in the text flow (`ivr.sms_flow`)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr import diary, diary_words
from ivr.codes import AttentionKind
from ivr.gsm import is_gsm7, segments
from ivr.scripts import Practice
from ivr.sms_flow import ClientState, SmsState, handle_sms
from ivr.texts import IntentKind, classify

CHICAGO = ZoneInfo("America/Chicago")
PRACTICE = Practice(name="St. Louis DBT", tz=CHICAGO)
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)  # Friday 9:42 PM in St. Louis


def started(**answers) -> diary.Card:
    card = diary.start(None, PRACTICE, NOW).card
    return dataclasses.replace(card, answers=answers) if answers else card


def send(card: diary.Card, body: str) -> diary.Turn:
    return diary.answer(card, body, PRACTICE, NOW)


def test_the_questions_come_in_the_standard_order():
    assert diary_words.FIELDS == (
        "urge_self_harm",
        "urge_suicide",
        "urge_use",
        "acted_self_harm",
        "acted_suicide",
        "acted_use",
        "misery",
        "shame",
        "anger",
        "fear",
        "joy",
        "skills",
        "note",
    )


def test_every_question_and_reply_is_short_gsm7():
    texts = [q.ask for q in diary.QUESTIONS]
    texts += [diary.start(None, PRACTICE, NOW).reply, diary.prompt_text(PRACTICE)]
    texts += [diary.not_on_reply(), send(started(), "5").reply, send(started(), "9").reply]
    for reply in texts:
        assert is_gsm7(reply), reply
        assert segments(reply) <= 2, reply


@pytest.mark.parametrize(
    ("body", "expected", "next_question"),
    [
        ("3 0 1 n", {"urge_self_harm": 3, "urge_suicide": 0, "urge_use": 1}, "acted_suicide"),
        ("3,0,1,N", {"urge_self_harm": 3, "urge_use": 1, "acted_self_harm": False}, None),
        ("three", {"urge_self_harm": 3}, "urge_suicide"),
        ("skip 2", {"urge_self_harm": None, "urge_suicide": 2}, "urge_use"),
        ("fear 4 sad=2", {"fear": 4, "misery": 2, "urge_self_harm": None}, "urge_self_harm"),
        ("acted use y", {"acted_use": True}, "urge_self_harm"),
        ("use n", {"acted_use": False}, "urge_self_harm"),
        ("use 2", {"urge_use": 2}, "urge_self_harm"),
        ("note slept badly", {"note": "slept badly"}, "urge_self_harm"),
        ("6", {"urge_self_harm": None}, "urge_self_harm"),
        ("hello", {}, "urge_self_harm"),
    ],
)
def test_short_answers_several_at_once_named_and_wrong(body, expected, next_question):
    turn = send(started(), body)
    for name, value in expected.items():
        assert turn.card.value(name) == value, name
    if next_question:
        assert turn.card.next_question == next_question


def test_a_wrong_answer_keeps_what_came_before_and_asks_again_with_the_range():
    turn = send(started(), "2 8 1")
    assert turn.card.value("urge_self_harm") == 2 and turn.card.value("urge_use") is None
    assert turn.reply == "Please answer with a number 0-5, or SKIP. Urge to end your life, 0-5?"
    turn = send(dataclasses.replace(turn.card, next_question="acted_self_harm"), "3")
    assert turn.reply == "Please answer Y or N. Did you self-harm today? Y or N"


def test_acted_yes_or_no_is_asked_even_after_an_urge_of_0():
    turn = send(started(), "0 0 0")
    assert turn.card.next_question == "acted_self_harm"
    assert turn.reply == "Did you self-harm today? Y or N"


def test_the_note_is_the_whole_text_or_none():
    card = dataclasses.replace(started(), next_question="note")
    assert send(card, "  Went to group. Felt OK  ").card.value("note") == "Went to group. Felt OK"
    for none in ("n", "No", "none", "skip", "nothing"):
        turn = send(card, none)
        assert turn.card.completed and turn.card.value("note") is None
    assert send(card, "note: called a friend").card.value("note") == "called a friend"


@pytest.mark.parametrize(
    ("answers", "sign"),
    [
        ({"urge_self_harm": 4}, True),
        ({"urge_use": 5}, True),
        ({"urge_suicide": 3}, False),
        ({"acted_use": True}, True),
        ({"acted_self_harm": False, "urge_self_harm": 3}, False),
    ],
)
def test_a_sign_is_an_urge_of_4_or_5_or_acting_on_one(answers, sign):
    assert diary.has_sign(answers) is sign


def test_a_sign_is_raised_once_a_card():
    turn = send(started(), "4")
    assert turn.sign and turn.card.alerted and "988" in turn.reply
    again = send(turn.card, "5 1 y")
    assert not again.sign and "988" not in again.reply


def test_the_day_is_the_practice_local_date():
    assert diary.diary_day(NOW, CHICAGO) == date(2026, 11, 27)  # 03:42 UTC is the 27th there
    assert diary.diary_day(NOW + timedelta(hours=3), CHICAGO) == date(2026, 11, 28)
    with pytest.raises(ValueError):
        diary.diary_day(datetime(2026, 11, 28), CHICAGO)


def test_an_open_card_goes_on_past_midnight_and_closes_after_six_hours():
    card = send(started(), "1").card
    after_midnight = NOW + timedelta(hours=3)
    assert diary.is_open(card, after_midnight)
    assert diary.start(card, PRACTICE, after_midnight).card.day == date(2026, 11, 27)
    late = NOW + timedelta(hours=6)
    assert not diary.is_open(card, late)
    assert diary.start(card, PRACTICE, late).card.day == date(2026, 11, 28)


def test_the_prompt_is_due_from_its_local_time_for_a_while():
    late = timedelta(hours=2)
    assert diary.prompt_due(time(21, 42), NOW, CHICAGO, late)
    assert not diary.prompt_due(time(21, 43), NOW, CHICAGO, late)
    assert not diary.prompt_due(time(19, 42), NOW, CHICAGO, late)
    # The spring-forward gap: 2:30 AM does not exist on 2027-03-14; it comes at 3:30 CDT.
    gap_day = datetime(2027, 3, 14, 8, 31, tzinfo=UTC)  # 3:31 AM CDT
    assert diary.prompt_due(time(2, 30), gap_day, CHICAGO, late)


@pytest.mark.parametrize("body", ["diary", "Diary card", "DIARY!", "hi diary please", "my diary"])
def test_diary_as_people_type_it(body):
    assert classify(body).kind is IntentKind.DIARY


@pytest.mark.parametrize("body", ["diary: kill myself", "my diary says 3", "dairy"])
def test_not_the_diary_keyword(body):
    assert classify(body).kind is not IntentKind.DIARY


def client(**changes) -> SmsState:
    state = ClientState(first_name="Riley", diary_opt_in=True)
    return SmsState.for_client(PRACTICE, dataclasses.replace(state, **changes))


def test_the_flow_routes_answers_to_an_open_card_and_tells_the_therapist_of_a_sign():
    card = started()
    decision = handle_sms(client(diary_card=card), "5", NOW)
    assert decision.diary_card is not None and decision.diary_card.value("urge_self_harm") == 5
    assert decision.notice is not None and decision.notice.kind is AttentionKind.DIARY_URGE


def test_an_open_check_in_takes_a_rating_before_the_card():
    state = client(diary_card=started(), check_in_expires_at=NOW + timedelta(minutes=5))
    decision = handle_sms(state, "3", NOW)
    assert decision.urge_rating == 3 and decision.diary_card is None


def test_crisis_and_stop_come_before_the_card():
    crisis = handle_sms(client(diary_card=started()), "3 I want to die", NOW)
    assert crisis.intent is IntentKind.CRISIS and crisis.diary_card is None
    assert crisis.notice is not None and crisis.notice.kind is AttentionKind.CRISIS_TEXT
    stop = handle_sms(client(diary_card=started()), "stop", NOW)
    assert stop.reply is None and stop.opt_out
    assert stop.diary_card is not None and stop.diary_card.next_question is None


def test_diary_without_the_card_on_and_while_opted_out():
    off = handle_sms(client(diary_opt_in=False), "diary", NOW)
    assert off.reply is not None and "therapist can turn it on" in off.reply
    assert off.diary_card is None
    assert handle_sms(client(opted_out=True), "diary", NOW).reply is None


def test_the_therapists_texts_about_a_diary_card_say_nothing_clinical():
    from ivr.attention import alert_body, escalation_body

    alert = alert_body(AttentionKind.DIARY_URGE, "Riley")
    assert alert == "Riley filled in a diary card on the coaching line and may need support."
    later = escalation_body(AttentionKind.DIARY_URGE, "Riley", NOW, PRACTICE)
    assert later == "Riley's 9:42 PM diary card on the coaching line needs a follow-up."


@given(body=st.text(max_size=300), waiting=st.sampled_from(diary_words.FIELDS))
def test_any_text_at_any_question_gets_a_short_gsm7_reply_and_never_raises(body, waiting):
    card = dataclasses.replace(started(), next_question=waiting)
    turn = send(card, body)
    assert is_gsm7(turn.reply) and segments(turn.reply) <= 3
    for question in diary.QUESTIONS:
        value = turn.card.value(question.field)
        if question.kind == "scale" and value is not None:
            assert 0 <= value <= question.top
        if question.kind == "yes_no":
            assert value in (None, True, False)
