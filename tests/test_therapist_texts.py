"""Therapists' text commands end to end: signed webhooks in from the therapist's registered
phone, TwiML replies out, what the command changed saved and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, Client, Lockout, Message, OnCallShift, PendingConfirmation
from app.models import Therapist as TherapistRow
from ivr import command_replies
from ivr.gsm import is_gsm7
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL, THERAPIST_PIN
from tests.twilio_driver import NO_ANSWER, Leg, Scenario, TwilioDriver

DANA = "+13145550111"
MARCUS = "+13145550112"
RILEY = "+13145550142"
# NOW is Friday 2026-11-27 9:42 PM in St. Louis (CST, UTC-6).
FRI_930PM = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)
SAT_6PM = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
YES = f"YES {THERAPIST_PIN}"  # a LOCK is confirmed with YES and the PIN
ASK = "Reply YES and your PIN (for example YES 1234) to start the 24-hour rule for "


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http,
        auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        line_number=LINE_NUMBER,
        status_callback_path="/twilio/voice/status",
    )


def text(driver: TwilioDriver, body: str, sender: str = DANA) -> str | None:
    """Send a text; return the one reply (or None), checked for encoding and length."""
    result = driver.sms(from_=sender, body=body)
    assert result.error is None
    assert len(result.replies) <= 1
    if not result.replies:
        return None
    reply = result.replies[0].body
    assert is_gsm7(reply) and len(reply) <= 320, reply
    return reply


def therapist(db, therapist_id: int) -> TherapistRow:
    db.expire_all()
    return db.get(TherapistRow, therapist_id)


def lockouts(db) -> list[Lockout]:
    db.expire_all()
    return list(db.scalars(select(Lockout).order_by(Lockout.id)))


def audit_entries(db, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def add_client(db, name: str, phone: str, therapist_id: int, **kw) -> int:
    client = Client(name=name, phone=phone, therapist_id=therapist_id, **kw)
    db.add(client)
    db.commit()
    return client.id


# --- AWAY and BACK -----------------------------------------------------------------------------


def test_away_sets_away_until_and_the_reply_states_the_end_time(driver, db, people):
    reply = text(driver, "AWAY until 6pm")
    assert reply == (
        "Away until Sat Nov 28 at 6:00 PM. Coaching calls will go to the on-call therapist. "
        "Text BACK when you're available."
    )
    assert therapist(db, people["dana"]).away_until == SAT_6PM
    [entry] = audit_entries(db, "set_away")
    assert (entry.actor, entry.entity, entry.entity_id, entry.at) == (
        f"sms:therapist:{people['dana']}",
        "therapist",
        people["dana"],
        NOW,
    )
    rows = db.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.direction, m.kind, m.therapist_id, m.body) for m in rows] == [
        ("inbound", "inbound", people["dana"], "AWAY until 6pm"),
        ("outbound", "reply", people["dana"], reply),
    ]
    assert rows[1].reply_to_id == rows[0].id and rows[1].to_phone == DANA


@pytest.mark.parametrize(
    "body, until",
    [
        ("AWAY 2h", NOW + timedelta(hours=2)),
        ("away 90m", NOW + timedelta(minutes=90)),
        ("AWAY 1h30m", NOW + timedelta(minutes=90)),
        ("away 2 hours", NOW + timedelta(hours=2)),
        ("away until 6:30 pm", SAT_6PM + timedelta(minutes=30)),
        ("AWAY until Monday 9am", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),
        ("AWAY until tomorrow 8am", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
    ],
)
def test_away_spellings(driver, db, people, body, until):
    reply = text(driver, body)
    assert reply.startswith("Away until ")
    assert therapist(db, people["dana"]).away_until == until


def test_away_beyond_60_days_is_refused_and_changes_nothing(driver, db, people):
    assert "60 days" in text(driver, "AWAY 90 days")
    assert therapist(db, people["dana"]).away_until is None
    assert audit_entries(db, "set_away") == []


@pytest.mark.parametrize("body", ["BACK", "available", "Back now"])
def test_back_clears_away(driver, db, people, body):
    text(driver, "AWAY 2h")
    assert text(driver, body) == "You're available for coaching calls again."
    assert therapist(db, people["dana"]).away_until is None
    [entry] = audit_entries(db, "clear_away")
    assert entry.actor == f"sms:therapist:{people['dana']}"


def test_back_when_not_away_says_so(driver, db, people):
    assert text(driver, "BACK") == command_replies.back_reply(False)
    assert audit_entries(db, "clear_away") == []


def test_a_client_call_while_away_rings_the_on_call_therapist_and_after_back_the_primary(
    driver, db, people
):
    db.add(
        OnCallShift(
            therapist_id=people["marcus"],
            starts_at=NOW - timedelta(hours=2),
            ends_at=NOW + timedelta(hours=10),
        )
    )
    db.commit()
    text(driver, "AWAY 2h")
    away = driver.call(from_=RILEY, scenario=Scenario(legs={MARCUS: Leg.accept()}))
    assert [d.number for d in away.dials] == [MARCUS]
    assert away.bridged_number == MARCUS and not away.application_error

    text(driver, "BACK")
    back = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert [d.number for d in back.dials] == [DANA]


def test_away_ends_by_itself_at_the_time_stated(driver, db, people, line):
    text(driver, "AWAY 2h")
    line.clock = lambda: NOW + timedelta(hours=2)
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    assert [d.number for d in result.dials] == [DANA]


# --- LOCK, YES, NO -----------------------------------------------------------------------------


def test_lock_then_yes_starts_the_24_hour_rule_audited(driver, db, people):
    reply = text(driver, "LOCK Riley 9:30pm")
    assert reply == ASK + "Riley from Fri 9:30 PM until Sat 9:30 PM. Reply NO to cancel."
    assert lockouts(db) == []
    [pending] = db.scalars(select(PendingConfirmation)).all()
    assert (pending.therapist_id, pending.client_id, pending.action) == (
        people["dana"],
        people["riley"],
        "lockout",
    )
    assert (pending.occurred_at, pending.expires_at) == (FRI_930PM, NOW + timedelta(minutes=10))

    assert text(driver, YES) == "24-hour rule started for Riley until Sat 9:30 PM."
    [lockout] = lockouts(db)
    actor = f"sms:therapist:{people['dana']}"
    assert (lockout.client_id, lockout.starts_at, lockout.ends_at, lockout.created_by) == (
        people["riley"],
        FRI_930PM,
        FRI_930PM + timedelta(hours=24),
        actor,
    )
    [entry] = [e for e in audit_entries(db, "create") if e.entity == "lockout"]
    assert (entry.actor, entry.entity_id, entry.at) == (actor, lockout.id, NOW)
    assert entry.changes["client_id"] == people["riley"]
    db.expire_all()
    assert db.get(PendingConfirmation, pending.id).confirmed_at == NOW

    # Riley's call now hears the 24-hour-rule script; a second YES confirms nothing more.
    call = driver.call(from_=RILEY)
    assert "Phone coaching isn't available on this line right now." in call.text
    assert not call.dials
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    assert len(lockouts(db)) == 1


@pytest.mark.parametrize(
    "body, starts_at",
    [
        ("LOCK Riley now", NOW),
        ("LOCK Riley", NOW),
        ("lock riley 21:30", FRI_930PM),
        ("LOCK Riley yesterday 11pm", datetime(2026, 11, 27, 5, 0, tzinfo=UTC)),
        ("LOCK Riley 11pm", datetime(2026, 11, 27, 5, 0, tzinfo=UTC)),  # later than now
        ("LOCK Riley Tran 9:30 p.m.", FRI_930PM),
    ],
)
def test_lock_spellings(driver, db, people, body, starts_at):
    assert text(driver, body).startswith(ASK + "Riley")
    assert text(driver, f"yes {THERAPIST_PIN}").startswith("24-hour rule started for Riley")
    [lockout] = lockouts(db)
    assert lockout.starts_at == starts_at and lockout.ends_at == starts_at + timedelta(hours=24)


def test_lock_by_computed_code(driver, db, people):
    reply = text(driver, f"LOCK RT{people['riley']} 9:30pm")
    assert reply.startswith(ASK + f"RT{people['riley']} from")  # as typed: no name before the PIN
    assert text(driver, YES).startswith("24-hour rule started for Riley")


def test_lock_then_no_records_nothing(driver, db, people):
    text(driver, "LOCK Riley 9:30pm")
    assert text(driver, "NO") == "Cancelled. Nothing was recorded."
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    assert lockouts(db) == []
    assert text(driver, "NO") == "Cancelled. Nothing was recorded."  # the same, waiting or not


def test_lock_then_timeout_records_nothing(driver, db, people, line):
    text(driver, "LOCK Riley 9:30pm")
    line.clock = lambda: NOW + timedelta(minutes=10)
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    assert lockouts(db) == []


def test_yes_just_inside_the_window_still_confirms(driver, db, people, line):
    text(driver, "LOCK Riley 9:30pm")
    line.clock = lambda: NOW + timedelta(minutes=9, seconds=59)
    assert text(driver, YES).startswith("24-hour rule started for Riley")
    assert len(lockouts(db)) == 1


def test_a_new_lock_replaces_the_one_waiting(driver, db, people):
    ash = add_client(db, "Ash Moreno", "+13145550144", people["dana"])
    text(driver, "LOCK Riley 9:30pm")
    text(driver, "LOCK Ash now")
    assert text(driver, YES).startswith("24-hour rule started for Ash")
    [lockout] = lockouts(db)
    assert lockout.client_id == ash and lockout.starts_at == NOW


def test_stop_cancels_a_waiting_lock_and_is_left_to_the_usual_flow(driver, db, people):
    text(driver, "LOCK Riley 9:30pm")
    assert text(driver, "CANCEL") is None  # Twilio's opt-out word: no reply of ours
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    assert lockouts(db) == []


def test_a_retried_yes_webhook_records_the_lockout_once(driver, db, people):
    text(driver, "LOCK Riley 9:30pm")
    result = driver.sms(from_=DANA, body=YES)
    again = driver.replay(result.exchanges[0])
    assert again.status_code == 200 and again.text == result.exchanges[0].body
    assert "24-hour rule started for Riley" in again.text
    assert len(lockouts(db)) == 1


def test_an_ambiguous_first_name_is_refused_with_the_choices_after_the_pin(driver, db, people):
    park = add_client(db, "Riley Park", "+13145550144", people["dana"])
    reply = text(driver, "LOCK riley 9:30pm")
    assert reply == ASK + "Riley from Fri 9:30 PM until Sat 9:30 PM. Reply NO to cancel."
    assert text(driver, YES) == (
        f"Nothing was recorded: two of your clients have that name. Text LOCK RT{people['riley']}"
        f" or LOCK RP{park} with the time, then YES and your PIN."
    )
    assert lockouts(db) == []
    assert text(driver, f"LOCK RP{park} 9:30pm").startswith(ASK + f"RP{park} from")
    text(driver, YES)
    [lockout] = lockouts(db)
    assert (lockout.client_id, lockout.starts_at) == (park, FRI_930PM)


def test_a_stored_client_code_and_a_full_name_tell_clients_apart(driver, db, people):
    park = add_client(db, "Riley Park", "+13145550144", people["dana"], code="RIP")
    text(driver, "LOCK Riley")
    assert f"LOCK RT{people['riley']} or LOCK RIP with the time" in text(driver, YES)
    text(driver, "LOCK rip")
    text(driver, YES)
    text(driver, "LOCK Riley Tran")
    text(driver, YES)
    assert [lo.client_id for lo in lockouts(db)] == [park, people["riley"]]


def test_another_therapists_client_is_not_found(driver, db, people):
    # The LOCK answers as for a client of Dana's; YES with her PIN says nobody matched.
    assert text(driver, "LOCK Jordan 9:30pm") == (
        ASK + "Jordan from Fri 9:30 PM until Sat 9:30 PM. Reply NO to cancel."
    )
    assert db.scalar(select(func.count()).select_from(PendingConfirmation)) == 0
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    # Jordan's own therapist can; Dana's YES does not confirm Marcus's request.
    assert text(driver, "LOCK Jordan now", sender=MARCUS).startswith(ASK + "Jordan")
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    assert text(driver, YES, sender=MARCUS).startswith("24-hour rule started for Jordan")
    [lockout] = lockouts(db)
    assert lockout.client_id == people["jordan"]
    assert lockout.created_by == f"sms:therapist:{people['marcus']}"


def test_a_client_whose_rule_is_waived_is_refused(driver, db, people):
    riley = db.get(Client, people["riley"])
    riley.lockout_rule_applies = False
    db.commit()
    assert text(driver, "LOCK Riley").startswith(ASK + "Riley")  # not told before the PIN
    assert "waived" in text(driver, YES)
    assert text(driver, YES) == command_replies.nothing_to_confirm_reply()
    assert lockouts(db) == []


def test_a_client_moved_to_another_therapist_before_yes_is_not_locked(driver, db, people):
    text(driver, "LOCK Riley 9:30pm")
    riley = db.get(Client, people["riley"])
    riley.therapist_id = people["marcus"]
    db.commit()
    assert text(driver, YES) == command_replies.not_your_client_reply()
    assert lockouts(db) == []


def test_lock_for_a_time_whose_24_hours_are_over_is_refused(driver, db, people):
    assert "already over" in text(driver, "LOCK Riley yesterday 9pm")
    assert db.scalar(select(func.count()).select_from(PendingConfirmation)) == 0


# --- what is not a command -------------------------------------------------------------------


@pytest.mark.parametrize("body", ["hello", "LOCK Riley 9:30", "AWAY until Monday", "START"])
def test_anything_not_understood_gets_the_usage_line(driver, db, people, body):
    reply = text(driver, body)
    assert reply.endswith(command_replies.USAGE)
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_crisis_language_from_a_therapist_gets_the_crisis_reply_not_a_command(driver, db, people):
    reply = text(driver, "LOCK Riley 9:30pm she talked about suicide")
    assert reply.startswith("Please call or text 988")
    assert db.scalar(select(func.count()).select_from(PendingConfirmation)) == 0


def test_an_inactive_therapists_commands_are_refused(driver, db, people):
    dana = db.get(TherapistRow, people["dana"])
    dana.active = False
    db.commit()
    assert text(driver, "AWAY 2h") == command_replies.inactive_reply()
    assert therapist(db, people["dana"]).away_until is None


@pytest.mark.parametrize("body", ["AWAY 2h", "BACK", "LOCK Riley 9:30pm", "YES"])
def test_a_clients_text_is_unaffected(driver, db, people, body):
    text(driver, "LOCK Riley 9:30pm")  # Dana's request, waiting
    reply = text(driver, body, sender=RILEY)
    assert reply is not None and "Reply YES" not in reply and "Away until" not in reply
    assert therapist(db, people["dana"]).away_until is None
    assert lockouts(db) == []
    assert db.scalar(select(func.count()).select_from(PendingConfirmation)) == 1


def test_an_unknown_senders_command_is_not_one(driver, db, people):
    reply = text(driver, "LOCK Riley now", sender="+13145550188")
    assert "for the practice's enrolled clients" in reply
    assert db.scalar(select(func.count()).select_from(PendingConfirmation)) == 0
