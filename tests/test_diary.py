"""The diary card by text, end to end: signed texts in through the Twilio driver, TwiML
replies out, the card saved in its row, signs of risk on the attention list, and the daily
prompt from the worker's pass."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.diary import prompt_pass
from app.main import create_app
from app.models import AttentionItem, Client, DiaryEntry, Message
from app.worker import run_once
from ivr.gsm import is_gsm7
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.test_web_support import texts_of
from tests.twilio_driver import TwilioDriver

pytest_plugins = ["tests.test_web_support"]

RILEY = "+13145550142"
JORDAN = "+13145550143"
DANA = "+13145550111"
FRIDAY = date(2026, 11, 27)  # NOW is Friday 9:42 PM in St. Louis


def make_driver(http: TestClient) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


@pytest.fixture
def driver(http) -> TwilioDriver:
    return make_driver(http)


@pytest.fixture
def riley_on(db, people) -> dict[str, int]:
    """Riley has the diary card on; Jordan does not."""
    db.get(Client, people["riley"]).diary_opt_in = True
    db.commit()
    return people


def text(driver: TwilioDriver, body: str, sender: str = RILEY) -> str | None:
    result = driver.sms(from_=sender, body=body)
    assert result.error is None
    assert len(result.replies) <= 1
    if not result.replies:
        return None
    reply = result.replies[0].body
    assert is_gsm7(reply), reply
    assert len(reply) <= 480, reply
    return reply


def entry(db, client_id: int, day: date = FRIDAY) -> DiaryEntry:
    db.expire_all()
    row = db.scalar(
        select(DiaryEntry).where(DiaryEntry.client_id == client_id, DiaryEntry.day == day)
    )
    assert row is not None
    return row


def items(db, kind: str) -> list[AttentionItem]:
    db.expire_all()
    return list(db.scalars(select(AttentionItem).where(AttentionItem.kind == kind)))


def alerts(db) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.kind == "notification")))


def test_the_whole_card_with_several_answers_at_once(driver, db, riley_on):
    first = text(driver, "diary")
    assert first.startswith("Diary card for Fri Nov 27.")
    assert first.endswith("Urge to self-harm today, 0-5?")
    assert text(driver, "3 0 1 n") == "Did you act on urges to end your life? Y or N"
    assert text(driver, "n, n") == "Misery or sadness at its highest today, 0-5?"
    reply = text(driver, "2 1 0 1 3")
    assert reply.startswith("Skills used today, 0-7?") and "7 helped" in reply
    assert text(driver, "5").startswith("Anything to add for your therapist?")
    assert text(driver, "Rough day but I called my sister") == (
        "Your diary card for Fri Nov 27 is saved. Thank you!"
    )
    row = entry(db, riley_on["riley"])
    assert (row.urge_self_harm, row.urge_suicide, row.urge_use) == (3, 0, 1)
    assert (row.acted_self_harm, row.acted_suicide, row.acted_use) == (False, False, False)
    assert (row.misery, row.shame, row.anger, row.fear, row.joy) == (2, 1, 0, 1, 3)
    assert (row.skills, row.note) == (5, "Rough day but I called my sister")
    assert (row.started_at, row.completed_at, row.next_question) == (NOW, NOW, None)
    assert items(db, "diary_urge") == [] and alerts(db) == []
    # Texting "diary" again the same day says it is done, and changes nothing.
    assert text(driver, "Diary card") == "Your diary card for Fri Nov 27 is done. Thank you!"
    assert "CHECK-IN" in text(driver, "4")  # no card waiting: the keywords
    assert entry(db, riley_on["riley"]).urge_self_harm == 3


def test_a_whole_card_in_one_text_keeps_what_follows_as_the_note(driver, db, riley_on):
    text(driver, "diary")
    reply = text(driver, "0 0 0 n n n 2 1 0 0 3 4 slept well")
    assert reply == "Your diary card for Fri Nov 27 is saved. Thank you!"
    row = entry(db, riley_on["riley"])
    assert (row.joy, row.skills, row.note) == (3, 4, "slept well")


def test_partial_out_of_order_and_wrong_answers(driver, db, riley_on):
    text(driver, "diary")
    assert text(driver, "2") == "Urge to end your life, 0-5?"
    # A named answer fills its question and the card stays where it was.
    assert text(driver, "joy 4") == "Urge to end your life, 0-5?"
    assert text(driver, "shame=1, si 0") == "Urge to use drugs or alcohol, 0-5?"
    # SKIP leaves one blank; a number out of range is asked again, earlier answers kept.
    assert text(driver, "skip n 9") == (
        "Please answer Y or N. Did you act on urges to end your life? Y or N"
    )
    row = entry(db, riley_on["riley"])
    assert (row.urge_use, row.acted_self_harm, row.acted_suicide) == (None, False, None)
    assert text(driver, "n n 7") == (
        "Please answer with a number 0-5, or SKIP. Misery or sadness at its highest today, 0-5?"
    )
    # "Yes" (also Twilio's opt-in word) is an answer here, and does not fit a number.
    assert text(driver, "Yes").startswith("Please answer with a number 0-5, or SKIP.")
    row = entry(db, riley_on["riley"])
    assert (row.urge_self_harm, row.urge_suicide, row.joy, row.shame) == (2, 0, 4, 1)
    assert (row.acted_suicide, row.acted_use, row.misery) == (False, False, None)
    assert row.next_question == "misery" and row.completed_at is None


def test_the_card_survives_a_restart_and_goes_on_at_another_instance(
    driver, db, riley_on, settings
):
    text(driver, "diary")
    text(driver, "1 1")
    other = create_app(settings)
    other.state.line.clock = lambda: NOW + timedelta(minutes=20)
    with TestClient(other) as http:
        assert text(make_driver(http), "0") == "Did you self-harm today? Y or N"
    other.state.line.engine.dispose()
    row = entry(db, riley_on["riley"])
    assert (row.urge_self_harm, row.urge_suicide, row.urge_use) == (1, 1, 0)


def test_stop_mid_card_is_recorded_with_no_reply_and_the_card_does_not_go_on(driver, db, riley_on):
    text(driver, "diary")
    text(driver, "1 0")
    assert text(driver, "STOP") is None
    db.expire_all()
    assert db.get(Client, riley_on["riley"]).sms_opted_out is True
    assert entry(db, riley_on["riley"]).next_question is None
    assert text(driver, "2") is None  # opted out: nothing
    text(driver, "START")
    reply = text(driver, "2")  # not an answer any more: the keywords
    assert "CHECK-IN" in reply
    assert entry(db, riley_on["riley"]).urge_use is None
    # "diary" picks the card up where it was left.
    assert text(driver, "diary") == "Urge to use drugs or alcohol, 0-5?"


def test_crisis_words_mid_card_get_the_crisis_reply_at_once_and_tell_the_therapist(
    driver, db, riley_on
):
    text(driver, "diary")
    text(driver, "1")
    reply = text(driver, "honestly I want to kill myself")
    assert reply.startswith("Please call or text 988") and "911" in reply
    [item] = items(db, "crisis_text")
    [alert] = alerts(db)
    assert (alert.to_phone, alert.body) == (DANA, "Riley texted the line and may need support.")
    # The card is still there for the next answer.
    assert text(driver, "0") == "Urge to use drugs or alcohol, 0-5?"


def test_an_urge_of_5_raises_an_item_and_an_alert_once_a_card(driver, db, riley_on):
    text(driver, "diary")
    reply = text(driver, "5 0")
    assert reply.startswith("Thank you for telling us; your care team knows. In crisis?")
    assert "988" in reply and reply.endswith("Urge to use drugs or alcohol, 0-5?")
    [item] = items(db, "diary_urge")
    [alert] = alerts(db)
    assert (item.client_id, item.therapist_id) == (riley_on["riley"], riley_on["dana"])
    assert alert.to_phone == DANA and alert.status == "queued"
    assert alert.body == "Riley filled in a diary card on the coaching line and may need support."
    assert "5" not in alert.body
    text(driver, "0 y")  # acted on it too: the same card, no second alert
    assert len(items(db, "diary_urge")) == 1 and len(alerts(db)) == 1
    assert entry(db, riley_on["riley"]).alerted_at == NOW


def test_acted_yes_with_no_high_urge_raises_an_item(driver, db, riley_on):
    text(driver, "diary")
    reply = text(driver, "0 0 0 n n yes")
    assert "your care team knows" in reply
    assert len(items(db, "diary_urge")) == 1
    assert entry(db, riley_on["riley"]).acted_use is True


def test_a_client_without_the_card_is_told_their_therapist_can_turn_it_on(driver, db, people):
    reply = text(driver, "diary")
    assert "Your therapist can turn it on" in reply
    db.expire_all()
    assert db.scalar(select(DiaryEntry)) is None


def prompts(db) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.kind == "prompt")))


def test_the_daily_prompt_comes_once_at_the_clients_time(db, people, line):
    riley = db.get(Client, people["riley"])
    riley.diary_opt_in, riley.diary_prompt_time = True, time(21, 30)
    jordan = db.get(Client, people["jordan"])  # STOPped: never prompted
    jordan.diary_opt_in, jordan.diary_prompt_time, jordan.sms_opted_out = True, time(21, 0), True
    db.commit()
    line.clock = lambda: NOW - timedelta(minutes=13)  # 9:29 PM: not yet
    assert prompt_pass(line) == 0
    line.clock = lambda: NOW  # 9:42 PM
    run_once(line)  # the worker's pass queues it (and delivers it)
    assert prompt_pass(line) == 0  # never twice a day
    [prompt] = prompts(db)
    assert prompt.to_phone == RILEY and prompt.client_id == people["riley"]
    # Discreet on a lock screen: no question, nothing clinical.
    assert prompt.body == "St. Louis DBT: time for today's diary card. Reply DIARY to start."
    assert entry(db, people["riley"]).prompted_at == NOW
    # The next local day, at the same time: one more.
    line.clock = lambda: NOW + timedelta(days=1)
    assert prompt_pass(line) == 1


def test_no_prompt_for_a_card_already_started_or_a_client_who_opted_out_of_it(
    driver, db, people, line
):
    riley = db.get(Client, people["riley"])
    riley.diary_opt_in, riley.diary_prompt_time = True, time(21, 40)
    jordan = db.get(Client, people["jordan"])  # a time, but the card is off
    jordan.diary_opt_in, jordan.diary_prompt_time = False, time(21, 0)
    db.commit()
    line.clock = lambda: NOW - timedelta(minutes=30)
    text(driver, "diary")
    line.clock = lambda: NOW
    assert prompt_pass(line) == 0
    assert prompts(db) == []
    # Too late (the worker was down for hours): skipped for the day.
    line.clock = lambda: NOW + timedelta(days=1, hours=2, minutes=5)
    assert prompt_pass(line) == 0


def test_the_dashboard_lists_a_diary_cards_sign_in_words(driver, as_dana, riley_on):
    text(driver, "diary")
    text(driver, "0 0 5")
    page = texts_of(as_dana.get("/").text)
    # In words, with the text that raised it.
    assert (
        "Needs attention 1 High urge or acted on one, on a diary card: Riley Tran "
        "Fri Nov 27, 9:42 PM (under a minute ago), for you 0 0 5"
    ) in page
