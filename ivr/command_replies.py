"""The replies to therapists' text commands (`ivr.commands` reads the commands): each is GSM-7
of at most `MAX_REPLY` characters, and repeats nothing but what the therapist typed or the
times a command set.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.gsm import clamp, to_gsm7
from ivr.rules import lockout_ends_at

MAX_AWAY = timedelta(days=60)  # AWAY sets at most this far ahead
MAX_REPLY = 320
_MAX_NAME = 30

USAGE = (
    "Commands: AWAY 2h, AWAY until 6pm or until Mon 9am; BACK when available; "
    "LOCK and a client's first name and time, e.g. LOCK Sam 9:30pm, to start the 24-hour rule."
)
_COUNTS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight"}


def _finish(text: str) -> str:
    return clamp(to_gsm7(text), MAX_REPLY)


def _name(text: str) -> str:
    """A name or code as typed, made safe to text: "riley" is "Riley", "rt2" is "RT2"."""
    words = [
        w.upper() if any(c.isdigit() for c in w) else w[:1].upper() + w[1:] for w in text.split()
    ]
    return clamp(to_gsm7(" ".join(words)), _MAX_NAME) or "that client"


def clock_time(at: datetime, tz: ZoneInfo) -> str:
    """ "9:30 PM" in the practice's zone; "1:30 AM CST" in an hour the clock repeats."""
    local = at.astimezone(tz)
    text = local.strftime("%I:%M %p").lstrip("0")
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += f" {local.tzname()}"
    return text


def day_time(at: datetime, tz: ZoneInfo) -> str:
    """ "Sat 9:30 PM": within the coming week, which LOCK's 24 hours always are."""
    return f"{at.astimezone(tz):%a} {clock_time(at, tz)}"


def date_time(at: datetime, tz: ZoneInfo) -> str:
    """ "Sat Nov 28 at 6:00 PM"."""
    local = at.astimezone(tz)
    return f"{local:%a %b} {local.day} at {clock_time(at, tz)}"


def usage_reply(problem: str = "") -> str:
    return _finish(f"{problem} {USAGE}" if problem else USAGE)


def away_reply(until: datetime, tz: ZoneInfo) -> str:
    return _finish(
        f"Away until {date_time(until, tz)}. Coaching calls will go to the on-call therapist. "
        "Text BACK when you're available."
    )


def away_too_long_reply() -> str:
    days = MAX_AWAY.days
    return _finish(
        f"AWAY can be set up to {days} days ahead. For longer, please ask the practice admin."
    )


def back_reply(was_away: bool) -> str:
    if was_away:
        return _finish("You're available for coaching calls again.")
    return _finish("You weren't marked away: you're available for coaching calls.")


def lock_prompt(who: str, occurred_at: datetime, tz: ZoneInfo) -> str:
    """The answer to every LOCK that is read: the same whether or not `who` (as typed) names a
    client, so it tells an unverified sender nothing."""
    return _finish(
        "Reply YES and your PIN (for example YES 1234) to start the 24-hour rule for "
        f"{_name(who)} from {day_time(occurred_at, tz)} until "
        f"{day_time(lockout_ends_at(occurred_at), tz)}. Reply NO to cancel."
    )


def lock_done_reply(first: str, ends_at: datetime, tz: ZoneInfo) -> str:
    return _finish(f"24-hour rule started for {_name(first)} until {day_time(ends_at, tz)}.")


def ambiguous_reply(codes: Sequence[str]) -> str:
    """After the PIN: the LOCK's name fits several of the therapist's clients."""
    count = _COUNTS.get(len(codes), str(len(codes)))
    choices = [f"LOCK {code}" for code in codes]
    listed = choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]
    return _finish(
        f"Nothing was recorded: {count.lower()} of your clients have that name. Text {listed} "
        "with the time, then YES and your PIN."
    )


def waived_reply(first: str) -> str:
    return _finish(
        f"The 24-hour rule is waived for {_name(first)}, so nothing was recorded. "
        "Please ask the practice admin if this should change."
    )


def lock_over_reply() -> str:
    return _finish("The 24 hours from that time are already over, so nothing was recorded.")


def nothing_to_confirm_reply() -> str:
    """After the PIN: no LOCK of the last 10 minutes named one of the therapist's clients."""
    return _finish(
        "Nothing was recorded: no LOCK of the last 10 minutes names one of your clients (first "
        "name, full name or client code). Text LOCK again."
    )


def cancelled_reply() -> str:
    """NO: the same whether or not a LOCK was waiting (see the module's docstring)."""
    return _finish("Cancelled. Nothing was recorded.")


def not_your_client_reply() -> str:
    return _finish("That client is no longer yours, so nothing was recorded.")


def inactive_reply() -> str:
    return _finish("Your therapist account on this line is inactive. Please ask the practice.")


def failed_reply(message: str) -> str:
    return _finish(f"That didn't work: {message}.")
