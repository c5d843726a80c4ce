"""Times as a practice admin types them (`app.local_time`), and what one more self-harm event
does to a client's 24-hour rule (`ivr.rules.new_lockout_effect`): pure functions, no database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.local_time import TimeNotUnderstood, read_time, shown
from ivr.rules import LockoutState, NewLockout, lockout_ends_at, new_lockout_effect

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)  # Fri 2026-11-27 21:42 CST


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "typed, ahead, meant",
    [
        ("2026-11-27 09:00", False, "2026-11-27T09:00-06:00"),
        ("  2026-11-27   9:05 AM ", False, "2026-11-27T09:05-06:00"),
        ("9:30pm", False, "2026-11-27T21:30-06:00"),
        ("9:30 p.m.", False, "2026-11-27T21:30-06:00"),
        ("21:42", False, "2026-11-27T21:42-06:00"),  # now itself is not the future
        ("21:43", False, "2026-11-26T21:43-06:00"),
        ("noon", False, "2026-11-27T12:00-06:00"),
        ("12am", False, "2026-11-27T00:00-06:00"),
        ("today 6am", False, "2026-11-27T06:00-06:00"),
        ("yesterday 23:15", False, "2026-11-26T23:15-06:00"),
        ("2026-11-27T20:00-05:00", False, "2026-11-27T19:00-06:00"),
        ("9am", True, "2026-11-28T09:00-06:00"),
        ("21:43", True, "2026-11-27T21:43-06:00"),
        ("tomorrow 17:00", True, "2026-11-28T17:00-06:00"),
        ("2026-12-24 09:00", True, "2026-12-24T09:00-06:00"),
    ],
)
def test_times_read_in_the_practice_time_zone(typed, ahead, meant):
    assert read_time(typed, CHICAGO, NOW, ahead=ahead) == at(meant)


@pytest.mark.parametrize(
    "typed, ahead, message",
    [
        ("last night", False, "'last night' is not a time we can read"),
        ("9:61", False, "not a time we can read"),
        ("0pm", False, "not a time we can read"),
        ("12/06/2026 9:00", False, "not a time we can read"),  # month or day first? not guessed
        ("2026-11-27", False, "is a day without a time"),
        ("2026-02-29 09:00", False, "2026-02-29 is not a day of the calendar"),
        ("2026-11-28 09:00", False, "Sat 2026-11-28 09:00 CST is in the future"),
        ("2026-11-27 09:00", True, "Fri 2026-11-27 09:00 CST has passed"),
        ("9999-12-31 23:59", True, "too far from today"),
    ],
)
def test_times_refused_in_words(typed, ahead, message):
    with pytest.raises(TimeNotUnderstood) as refused:
        read_time(typed, CHICAGO, NOW, ahead=ahead)
    assert message in str(refused.value)


def test_the_hour_the_clocks_repeat_is_not_guessed_but_a_time_of_day_is_the_latest():
    after = at("2026-11-01T12:00-06:00")
    with pytest.raises(TimeNotUnderstood) as refused:
        read_time("2026-11-01 01:30", CHICAGO, after)
    assert "happened twice" in str(refused.value)
    assert read_time("2026-11-01 01:30-05:00", CHICAGO, after) == at("2026-11-01T01:30-05:00")
    # 1:30 am alone: the most recent of the two is the second (CST).
    assert read_time("1:30am", CHICAGO, after) == at("2026-11-01T01:30-06:00")
    between = at("2026-11-01T01:45-05:00")  # after the first 1:30, before the second
    assert read_time("1:30am", CHICAGO, between) == at("2026-11-01T01:30-05:00")


def test_the_hour_the_clocks_skip_does_not_exist():
    after = at("2026-03-08T12:00-05:00")
    with pytest.raises(TimeNotUnderstood) as refused:
        read_time("2026-03-08 02:30", CHICAGO, after)
    assert "did not happen in America/Chicago" in str(refused.value)
    # 2:30 am alone: today's did not happen, so yesterday's.
    assert read_time("2:30am", CHICAGO, after) == at("2026-03-07T02:30-06:00")


def test_shown_names_the_zone():
    assert shown(NOW, CHICAGO) == "Fri 2026-11-27 21:42 CST"


# ---- ivr.rules.new_lockout_effect --------------------------------------------------------


def lockout(starts: datetime, lifted: datetime | None = None) -> LockoutState:
    return LockoutState(starts_at=starts, ends_at=lockout_ends_at(starts), lifted_at=lifted)


HOUR = timedelta(hours=1)


def test_a_first_event_locks_the_client_out():
    effect = new_lockout_effect([], lockout(NOW - HOUR), NOW)
    assert (effect.kind, effect.was_locked_until, effect.locked_until) == (
        NewLockout.LOCKS,
        None,
        NOW + 23 * HOUR,
    )


def test_a_later_event_extends_and_an_earlier_one_changes_nothing():
    earlier = lockout(NOW - 10 * HOUR)
    extended = new_lockout_effect([earlier], lockout(NOW - HOUR), NOW)
    assert (extended.kind, extended.was_locked_until, extended.locked_until) == (
        NewLockout.EXTENDS,
        NOW + 14 * HOUR,
        NOW + 23 * HOUR,
    )
    within = new_lockout_effect([lockout(NOW - HOUR)], earlier, NOW)
    assert (within.kind, within.was_locked_until, within.locked_until) == (
        NewLockout.WITHIN,
        NOW + 23 * HOUR,
        NOW + 23 * HOUR,
    )


def test_an_event_whose_24_hours_are_over_has_expired():
    old = lockout(NOW - 24 * HOUR)  # ends exactly now: over
    assert new_lockout_effect([], old, NOW).kind is NewLockout.EXPIRED
    held = new_lockout_effect([lockout(NOW - HOUR)], old, NOW)
    assert (held.kind, held.locked_until) == (NewLockout.EXPIRED, NOW + 23 * HOUR)


def test_lifted_and_ended_lockouts_hold_nobody():
    lifted = lockout(NOW - HOUR, lifted=NOW - HOUR / 2)
    ended = lockout(NOW - 30 * HOUR)
    effect = new_lockout_effect([lifted, ended], lockout(NOW - 2 * HOUR), NOW)
    assert (effect.kind, effect.was_locked_until) == (NewLockout.LOCKS, None)
