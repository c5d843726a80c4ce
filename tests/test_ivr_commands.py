"""Therapists' text commands, pure: every spelling, the past/future rules, the daylight-saving
changes in America/Chicago, client names and codes, and the replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr import command_replies, commands, texted_times
from ivr.commands import (
    Away,
    Back,
    ClientRef,
    Lock,
    No,
    Refused,
    Unknown,
    Yes,
    client_code,
    match_clients,
    parse_command,
)
from ivr.gsm import is_gsm7

TZ = ZoneInfo("America/Chicago")
# Friday 2026-11-27, 9:42 PM CST (the suite's NOW).
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)


def local(*args: int) -> datetime:
    """A wall-clock time in St. Louis, as a UTC instant (fold 0 for a repeated hour)."""
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


def parse(body: str, now: datetime = NOW) -> commands.Command | None:
    return parse_command(body, now, TZ)


def away(body: str, now: datetime = NOW) -> datetime:
    command = parse(body, now)
    assert isinstance(command, Away), command
    assert command.until > now and command.until.utcoffset() == timedelta(0)
    return command.until


def lock(body: str, now: datetime = NOW) -> Lock:
    command = parse(body, now)
    assert isinstance(command, Lock), command
    assert command.occurred_at <= now
    return command


# --- AWAY -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, length",
    [
        ("AWAY 2h", timedelta(hours=2)),
        ("away 2H", timedelta(hours=2)),
        ("away 90m", timedelta(minutes=90)),
        ("AWAY 1h30m", timedelta(minutes=90)),
        ("AWAY 1h 30m", timedelta(minutes=90)),
        ("away 2 hours", timedelta(hours=2)),
        ("Away: 2 hrs", timedelta(hours=2)),
        ("away 1 hour and 30 minutes", timedelta(minutes=90)),
        ("AWAY for 45 min", timedelta(minutes=45)),
        ("away 1.5h", timedelta(minutes=90)),
        ("AWAY 3 days", timedelta(days=3)),
        ("AWAY 2 weeks", timedelta(days=14)),
        ("  away   2h.  ", timedelta(hours=2)),
        ("I'm away 2h", timedelta(hours=2)),
        ("AWAY 60d", timedelta(days=60)),
    ],
)
def test_away_for_a_length_is_that_much_real_time(body, length):
    assert away(body) == NOW + length


@pytest.mark.parametrize(
    "body, until",
    [
        ("AWAY until 6pm", local(2026, 11, 28, 18)),  # 6 PM has passed today: tomorrow's
        ("away until 6:30 pm", local(2026, 11, 28, 18, 30)),
        ("AWAY until 6 p.m.", local(2026, 11, 28, 18)),
        ("away until 6P", local(2026, 11, 28, 18)),
        ("AWAY until 18:00", local(2026, 11, 28, 18)),
        ("AWAY till 6pm", local(2026, 11, 28, 18)),
        ("AWAY til 6pm", local(2026, 11, 28, 18)),
        ("AWAY 6pm", local(2026, 11, 28, 18)),
        ("AWAY until 11pm", local(2026, 11, 27, 23)),  # still ahead today
        ("AWAY until 11:59 PM", local(2026, 11, 27, 23, 59)),
        ("AWAY until midnight", local(2026, 11, 28, 0)),
        ("AWAY until noon", local(2026, 11, 28, 12)),
        ("AWAY until Monday 9am", local(2026, 11, 30, 9)),
        ("away until mon 9am", local(2026, 11, 30, 9)),
        ("AWAY until 9am Monday", local(2026, 11, 30, 9)),
        ("AWAY until Monday at 9am", local(2026, 11, 30, 9)),
        ("AWAY until tomorrow 8am", local(2026, 11, 28, 8)),
        ("away until tmrw 8am", local(2026, 11, 28, 8)),
        ("AWAY until 8am tomorrow", local(2026, 11, 28, 8)),
        ("AWAY until tonight 11pm", local(2026, 11, 27, 23)),
        ("AWAY until Friday 9pm", local(2026, 12, 4, 21)),  # Friday 9 PM has passed: next week
        ("AWAY until Friday 10pm", local(2026, 11, 27, 22)),  # still ahead: today
        ("AWAY until Dec 5 9am", local(2026, 12, 5, 9)),
        ("AWAY until December 5th at 9am", local(2026, 12, 5, 9)),
        ("AWAY until 12/5 9am", local(2026, 12, 5, 9)),
        ("AWAY until Jan 4 9am", local(2027, 1, 4, 9)),  # the next Jan 4
    ],
)
def test_away_until_a_local_time_is_the_next_such_time(body, until):
    assert away(body) == until


def test_until_a_time_that_is_now_is_tomorrow():
    six_pm = local(2026, 11, 27, 18)
    assert away("AWAY until 6pm", six_pm) == local(2026, 11, 28, 18)
    seven_pm = local(2026, 11, 27, 19)
    assert away("AWAY until 6pm", seven_pm) == local(2026, 11, 28, 18)


def test_a_weekday_is_today_while_the_time_is_ahead_else_next_week():
    monday_8am = local(2026, 11, 30, 8)
    assert away("AWAY until Monday 9am", monday_8am) == local(2026, 11, 30, 9)
    monday_9am = local(2026, 11, 30, 9)
    assert away("AWAY until Monday 9am", monday_9am) == local(2026, 12, 7, 9)
    assert away("AWAY until Monday 9am", local(2026, 11, 30, 10)) == local(2026, 12, 7, 9)


@pytest.mark.parametrize(
    "body, problem",
    [
        ("AWAY", "Say for how long"),
        ("AWAY for", "Say for how long"),
        ("AWAY until today 6pm", texted_times.TIME_PASSED),
        ("AWAY until 9", texted_times.NEEDS_AM_PM),
        ("AWAY until 9:30", texted_times.NEEDS_AM_PM),
        ("AWAY until 12:30", texted_times.NEEDS_AM_PM),
        ("AWAY 2", texted_times.NEEDS_AM_PM),
        ("AWAY until Monday", "Add a time"),
        ("AWAY until Dec 5", "Add a time"),
        ("AWAY until Dec", "Give the date"),
        ("AWAY until 13pm", texted_times.BAD_TIME),
        ("AWAY until 6:75pm", texted_times.BAD_TIME),
        ("AWAY until 25:00", texted_times.BAD_TIME),
        ("AWAY until Feb 30 9am", texted_times.BAD_TIME),
        ("AWAY until next monday 9am", texted_times.BAD_TIME),
        ("AWAY until soon", texted_times.BAD_TIME),
        ("AWAY 0m", texted_times.BAD_TIME),
        ("AWAY 2 months", texted_times.BAD_TIME),
        ("AWAY until Monday Tuesday 9am", texted_times.BAD_TIME),
        ("AWAY until 9am 10am", texted_times.BAD_TIME),
    ],
)
def test_away_not_understood_says_what_is_wrong(body, problem):
    command = parse(body)
    assert isinstance(command, Unknown) and command.problem.startswith(problem), command
    reply = command_replies.usage_reply(command.problem)
    assert reply.startswith(command.problem) and "AWAY 2h" in reply and len(reply) <= 320


@pytest.mark.parametrize(
    "body", ["AWAY 61 days", "AWAY 60d 1m", "AWAY until Feb 1 9am", "AWAY 99999999999999999999h"]
)
def test_away_is_capped_at_60_days(body):
    command = parse(body)
    assert isinstance(command, Refused) and "60 days" in command.reason


# --- daylight saving (America/Chicago: 2026-03-08 and 2026-11-01 at 2 AM) ----------------------


def test_away_2h_across_the_november_change_is_two_real_hours():
    before = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 00:30 CDT
    assert before.astimezone(TZ).strftime("%H:%M %Z") == "00:30 CDT"
    until = away("AWAY 2h", before)
    assert until == before + timedelta(hours=2)
    assert until.astimezone(TZ).strftime("%H:%M %Z") == "01:30 CST"
    # 1:30 happens twice that night: the reply names the zone.
    assert "Sun Nov 1 at 1:30 AM CST" in command_replies.away_reply(until, TZ)


def test_away_2h_across_the_march_change_is_two_real_hours():
    before = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 01:30 CST
    until = away("AWAY 2h", before)
    assert until == before + timedelta(hours=2)
    assert until.astimezone(TZ).strftime("%H:%M %Z") == "04:30 CDT"
    assert command_replies.away_reply(until, TZ).startswith("Away until Sun Mar 8 at 4:30 AM.")


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 1, 3, 0, tzinfo=UTC),  # Saturday 10 PM CDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 00:30 CDT
        datetime(2026, 11, 1, 7, 30, tzinfo=UTC),  # 01:30 CST, the second time round
    ],
)
def test_until_9am_the_morning_after_the_november_change_is_9_local(now):
    until = away("AWAY until 9am", now)
    assert until == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
    assert until.astimezone(TZ).strftime("%H:%M %Z") == "09:00 CST"


def test_until_9am_the_morning_after_the_march_change_is_9_local():
    now = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # Saturday 10 PM CST
    until = away("AWAY until 9am", now)
    assert until == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert until.astimezone(TZ).strftime("%H:%M %Z") == "09:00 CDT"


def test_monday_9am_across_a_change_stays_9_local():
    friday = local(2026, 10, 30, 12)
    assert away("AWAY until Monday 9am", friday).astimezone(TZ).strftime("%a %H:%M %Z") == (
        "Mon 09:00 CST"
    )


def test_a_time_the_march_change_skips_is_read_after_the_change():
    now = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 01:00 CST
    until = away("AWAY until 2:30am", now)
    assert until.astimezone(TZ).strftime("%H:%M %Z") == "03:30 CDT"
    assert until == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "now, until",
    [
        # 00:30 CDT: the first 1:30 AM (CDT) is next.
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
        # 1:40 AM CDT: the second 1:30 AM (CST) is still ahead, today.
        (datetime(2026, 11, 1, 6, 40, tzinfo=UTC), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        # 1:40 AM CST: both have passed: tomorrow's.
        (datetime(2026, 11, 1, 7, 40, tzinfo=UTC), datetime(2026, 11, 2, 7, 30, tzinfo=UTC)),
    ],
)
def test_a_time_the_november_change_repeats_is_the_next_occurrence(now, until):
    assert away("AWAY until 1:30am", now) == until


@pytest.mark.parametrize(
    "now, occurred",
    [
        # 1:40 AM CST: the most recent 1:30 AM is the CST one, 10 minutes ago.
        (datetime(2026, 11, 1, 7, 40, tzinfo=UTC), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        # 1:10 AM CST: the CST one is ahead; the CDT one was 40 minutes ago.
        (datetime(2026, 11, 1, 7, 10, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_lock_at_a_repeated_time_is_the_most_recent_occurrence(now, occurred):
    assert lock("LOCK Riley 1:30am", now).occurred_at == occurred


def test_the_24_hours_are_an_instant_across_the_november_change():
    now = datetime(2026, 11, 1, 14, 30, tzinfo=UTC)  # Sunday 8:30 AM CST
    # Saturday 9 AM CDT was 25.5 real hours ago: the rule is over although the clock says 23.5.
    assert isinstance(parse("LOCK Riley yesterday 9am", now), Refused)
    command = lock("LOCK Riley yesterday 10am", now)
    assert command.occurred_at == datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    # 24 real hours: Saturday 10 AM CDT to Sunday 9 AM CST.
    assert command_replies.lock_prompt("Riley", command.occurred_at, TZ) == (
        "Reply YES and your PIN (for example YES 1234) to start the 24-hour rule for Riley "
        "from Sat 10:00 AM until Sun 9:00 AM. Reply NO to cancel."
    )


# --- BACK, YES, NO -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["BACK", "back", "Back.", "AVAILABLE", "available", "back now", "I'm back", "im back"]
)
def test_back(body):
    assert parse(body) == Back()


@pytest.mark.parametrize("body", ["YES", "yes", "Yes!", "y", " YES. "])
def test_yes(body):
    assert parse(body) == Yes()


@pytest.mark.parametrize("body", ["YES 4821", "yes 4821", "Y 4821", " Yes, 4821. "])
def test_yes_with_a_pin(body):
    command = parse(body)
    assert command == Yes("4821") and "4821" not in repr(command)


@pytest.mark.parametrize("body", ["YES 4821 please", "yes 48 21", "YES 1234567890123", "yes no"])
def test_yes_with_anything_else_is_not_understood(body):
    assert isinstance(parse(body), Unknown)


@pytest.mark.parametrize(
    "body, kept",
    [
        ("YES 4821", "YES [PIN]"),
        ("y 12345678", "YES [PIN]"),
        ("4821", "[a number]"),
        ("LOCK Riley 9:30pm", "LOCK Riley 9:30pm"),
        ("YES", "YES"),
        ("AWAY 2h", "AWAY 2h"),
    ],
)
def test_a_pin_is_never_kept_as_texted(body, kept):
    assert commands.without_pin(body) == kept


@pytest.mark.parametrize("body", ["NO", "no", "No.", "n"])
def test_no(body):
    assert parse(body) == No()


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "cancel",
        "CANCEL",
        "Unsubscribe",
        "quit",
        "end",
        "my client said suicide",
        "LOCK Riley she talked about self-harm",
        "AWAY 2h, I want to kill myself",
    ],
)
def test_crisis_language_and_opt_out_words_are_not_commands(body):
    assert parse(body) is None


@pytest.mark.parametrize(
    "body",
    ["hello", "", "   ", "?", "HELP", "START", "unstop", "LOCKED", "back later", "yes please",
     "no way", "AWAYS 2h", "🙂"],
)  # fmt: skip
def test_anything_else_gets_the_usage_line(body):
    command = parse(body)
    assert isinstance(command, Unknown) and command.problem == ""
    assert command_replies.usage_reply() == command_replies.USAGE


# --- LOCK --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, who, occurred",
    [
        ("LOCK Riley 9:30pm", "riley", local(2026, 11, 27, 21, 30)),
        ("lock riley 9:30 PM", "riley", local(2026, 11, 27, 21, 30)),
        ("LOCK RT2 9:30pm", "rt2", local(2026, 11, 27, 21, 30)),
        ("LOCK Riley", "riley", NOW),
        ("LOCK Riley now", "riley", NOW),
        ("LOCK Riley just now", "riley", NOW),
        ("LOCK Riley 21:30", "riley", local(2026, 11, 27, 21, 30)),
        ("LOCK Riley at 9:30pm", "riley", local(2026, 11, 27, 21, 30)),
        ("LOCK Riley yesterday 11pm", "riley", local(2026, 11, 26, 23)),
        ("LOCK Riley 11pm yesterday", "riley", local(2026, 11, 26, 23)),
        ("LOCK Riley 11pm", "riley", local(2026, 11, 26, 23)),  # later than now: yesterday's
        ("LOCK Riley Thursday 11pm", "riley", local(2026, 11, 26, 23)),
        ("LOCK Riley today 8pm", "riley", local(2026, 11, 27, 20)),
        ("LOCK Riley 30m ago", "riley", NOW - timedelta(minutes=30)),
        ("LOCK Riley 2 hours ago", "riley", NOW - timedelta(hours=2)),
        ("LOCK Riley Tran 9:30pm", "riley tran", local(2026, 11, 27, 21, 30)),
        ("LOCK Riley Tran", "riley tran", NOW),
        ("LOCK Zoë 9:30pm", "zoe", local(2026, 11, 27, 21, 30)),
        ("LOCK May 9pm", "may", local(2026, 11, 27, 21)),  # a name, not the month
        ("LOCK June", "june", NOW),
    ],
)
def test_lock_spellings(body, who, occurred):
    command = lock(body)
    assert (command.who, command.occurred_at) == (who, occurred)


def test_a_lock_time_later_than_now_is_the_most_recent_past_occurrence():
    nine_pm = local(2026, 11, 27, 21)
    assert lock("LOCK Riley 9:30pm", nine_pm).occurred_at == local(2026, 11, 26, 21, 30)
    assert lock("LOCK Riley 8:59pm", nine_pm).occurred_at == local(2026, 11, 27, 20, 59)
    assert lock("LOCK Riley 9pm", nine_pm).occurred_at == nine_pm


def test_a_lock_time_a_few_minutes_ahead_is_a_clock_difference_read_as_now():
    assert lock("LOCK Riley 9:45pm").occurred_at == NOW  # 3 minutes ahead
    assert lock("LOCK Riley 9:47pm").occurred_at == NOW  # 5 minutes ahead
    assert lock("LOCK Riley 9:48pm").occurred_at == local(2026, 11, 26, 21, 48)


def test_the_time_as_typed_is_kept_for_the_ambiguity_reply():
    assert lock("LOCK Riley yesterday 11 p.m.").when == "yesterday 11pm"
    assert lock("LOCK Riley").when == ""


@pytest.mark.parametrize(
    "body", ["LOCK Riley yesterday 9pm", "LOCK Riley 2 days ago", "LOCK Riley 24h ago"]
)
def test_lock_for_an_event_whose_24_hours_are_over_is_refused(body):
    command = parse(body)
    assert isinstance(command, Refused) and "already over" in command.reason


@pytest.mark.parametrize(
    "body, problem",
    [
        ("LOCK", "Name the client"),
        ("LOCK 9:30pm", "Name the client"),
        ("LOCK Riley 9:30", texted_times.NEEDS_AM_PM),
        ("LOCK Riley tomorrow 8am", texted_times.NOT_YET),
        ("LOCK Riley today 11pm", texted_times.NOT_YET),
        ("LOCK Riley 9:30pm please", texted_times.BAD_TIME),
        ("LOCK Riley 5 ago", texted_times.BAD_TIME),
    ],
)
def test_lock_not_understood_says_what_is_wrong(body, problem):
    command = parse(body)
    assert isinstance(command, Unknown) and command.problem.startswith(problem), command


# --- clients by name or code -------------------------------------------------------------------

RILEY_T = ClientRef(2, "Riley Tran")
RILEY_P = ClientRef(7, "Riley Park")
ZOE = ClientRef(9, "Zoë Adams")
CODED = ClientRef(11, "Sam Lee", code="SL-A")


def test_client_codes_are_stored_or_initials_and_id():
    assert client_code(RILEY_T) == "RT2"
    assert client_code(ZOE) == "ZA9"
    assert client_code(CODED) == "SL-A"
    assert client_code(ClientRef(4, "Mary Ann Smith")) == "MAS4"
    assert client_code(ClientRef(5, "   ")) == "C5"


@pytest.mark.parametrize(
    "who, expected",
    [
        ("riley", [RILEY_T, RILEY_P]),
        ("RILEY", [RILEY_T, RILEY_P]),
        ("rt2", [RILEY_T]),
        ("RP7", [RILEY_P]),
        ("riley park", [RILEY_P]),
        ("zoe", [ZOE]),
        ("Zoë", [ZOE]),
        ("sl-a", [CODED]),
        ("sam", [CODED]),
        ("SL11", []),  # a client with a stored code is named by that code only
        ("jordan", []),
        ("rt3", []),
        ("", []),
    ],
)
def test_match_clients(who, expected):
    assert match_clients(who, [RILEY_T, RILEY_P, ZOE, CODED]) == expected


# --- replies -----------------------------------------------------------------------------------


def test_the_replies_read_as_the_issue_says():
    until = local(2026, 11, 28, 18)
    assert command_replies.away_reply(until, TZ) == (
        "Away until Sat Nov 28 at 6:00 PM. Coaching calls will go to the on-call therapist. "
        "Text BACK when you're available."
    )
    ends = local(2026, 11, 28, 21, 30)
    assert command_replies.lock_prompt("riley", ends - timedelta(hours=24), TZ) == (
        "Reply YES and your PIN (for example YES 1234) to start the 24-hour rule for Riley "
        "from Fri 9:30 PM until Sat 9:30 PM. Reply NO to cancel."
    )
    assert command_replies.lock_done_reply("Riley", ends, TZ) == (
        "24-hour rule started for Riley until Sat 9:30 PM."
    )
    assert command_replies.back_reply(True) == "You're available for coaching calls again."
    assert command_replies.ambiguous_reply(["RT2", "RP7"]) == (
        "Nothing was recorded: two of your clients have that name. Text LOCK RT2 or LOCK RP7 "
        "with the time, then YES and your PIN."
    )
    assert command_replies.ambiguous_reply(["RT2", "RP7", "RS9"]).startswith(
        "Nothing was recorded: three of your clients have that name. Text LOCK RT2, LOCK RP7 or "
        "LOCK RS9 with the time"
    )
    assert command_replies.cancelled_reply() == "Cancelled. Nothing was recorded."


def test_every_reply_is_gsm7_and_at_most_320_characters():
    ends = local(2026, 11, 28, 21, 30)
    long_name = "Ŵïłhęlmïñå-" * 20 + " 🙂"
    texts = [
        command_replies.usage_reply(),
        command_replies.usage_reply(texted_times.NEEDS_AM_PM),
        command_replies.usage_reply(
            "Say for how long or until when, e.g. AWAY 2h or AWAY until 6pm."
        ),
        command_replies.away_reply(local(2027, 1, 20, 23, 59), TZ),
        command_replies.away_too_long_reply(),
        command_replies.back_reply(True),
        command_replies.back_reply(False),
        command_replies.lock_prompt(long_name, ends, TZ),
        command_replies.lock_done_reply(long_name, ends, TZ),
        command_replies.ambiguous_reply([f"CODE{i:08d}" for i in range(12)]),
        command_replies.waived_reply(long_name),
        command_replies.lock_over_reply(),
        command_replies.nothing_to_confirm_reply(),
        command_replies.cancelled_reply(),
        command_replies.not_your_client_reply(),
        command_replies.inactive_reply(),
        command_replies.failed_reply("x" * 500),
    ]
    for text in texts:
        assert text and is_gsm7(text) and len(text) <= 320, text
    assert "Wilhelmiñå" in command_replies.lock_prompt(long_name, ends, TZ)


def test_the_zone_is_named_only_in_the_hour_that_repeats():
    assert command_replies.clock_time(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), TZ) == "1:30 AM CDT"
    assert command_replies.clock_time(datetime(2026, 11, 1, 7, 30, tzinfo=UTC), TZ) == "1:30 AM CST"
    assert command_replies.clock_time(datetime(2026, 11, 1, 8, 30, tzinfo=UTC), TZ) == "2:30 AM"
    assert command_replies.clock_time(NOW, TZ) == "9:42 PM"


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError):
        parse_command("AWAY 2h", datetime(2026, 11, 27, 21, 42), TZ)


@given(body=st.text(max_size=80), minutes=st.integers(min_value=0, max_value=525_600))
def test_property_parse_never_raises_and_results_keep_their_rules(body, minutes):
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    command = parse_command(body, now, TZ)
    if isinstance(command, Away):
        assert now < command.until <= now + commands.MAX_AWAY
    elif isinstance(command, Lock):
        assert now - timedelta(hours=24) < command.occurred_at <= now
    elif isinstance(command, Unknown):
        assert len(command_replies.usage_reply(command.problem)) <= 320


@given(
    words=st.lists(
        st.sampled_from(
            ["away", "lock", "riley", "until", "for", "at", "yesterday", "tomorrow", "today",
             "monday", "dec", "5", "9", "9pm", "9:30", "21:30", "noon", "2h", "30m", "ago",
             "now", "12/5", "1.5", "hours", "and"]
        ),
        max_size=6,
    ),
    minutes=st.integers(min_value=0, max_value=525_600),
)  # fmt: skip
def test_property_command_shaped_text_never_raises(words, minutes):
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    command = parse_command(" ".join(words), now, TZ)
    assert command is not None
    if isinstance(command, Away):
        assert now < command.until <= now + commands.MAX_AWAY
    elif isinstance(command, Lock):
        assert now - timedelta(hours=24) < command.occurred_at <= now
