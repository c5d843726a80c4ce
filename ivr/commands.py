"""Therapists' text commands: `parse_command(body, now, tz) -> Command | None`, and the replies.

Pure: no database, no clock (`now` and the practice's `tz` are passed in). The service
(app/therapist_texts.py) looks up clients, saves what a command asks for, and texts the reply.

The commands, as therapists type them (case, accents and spacing do not matter):

- ``AWAY 2h``, ``away 90m``, ``AWAY 1h30m``, ``away 2 hours``, ``AWAY for 3 days``,
  ``AWAY 1.5h``: away for that long, in real time (so across a daylight-saving change
  "2h" is two hours, whatever the wall clock says);
- ``AWAY until 6pm``, ``away until 6:30 pm``, ``AWAY until 18:00``, ``AWAY until Monday 9am``,
  ``AWAY until tomorrow 8am``, ``AWAY until Dec 5 9am``, ``AWAY until 12/5 9am``,
  ``AWAY until noon``: until the next such local time, strictly after now. A time alone is
  today's, or tomorrow's once it has passed; a weekday is the next such day, today if the time
  is still ahead; "today" and "tomorrow" name the day. "until" may be left out, or written
  "till"/"til"/"to".
- ``BACK``, ``AVAILABLE`` (also "back now", "I'm back"): no longer away.
- ``LOCK Riley 9:30pm``: the 24-hour rule for one of the therapist's own clients, named by
  first name, full name or client code (``LOCK RT2 9:30pm``). The time is optional (now);
  ``now``, ``21:30``, ``yesterday 11pm``, ``Thursday 11pm``, ``30m ago`` are read too. A time
  without a day is its most recent past occurrence: at 9:00 PM, "9:30pm" is yesterday's.
- ``YES 4821`` (``Y 4821``): YES and the therapist's PIN confirm a pending LOCK; ``NO`` (``N``)
  cancels it.
- Anything else is `Unknown`: the usage line.

Caller ID is a claim, not an identity (DESIGN.md, invariant 9), and a LOCK changes a client's
care, so (decided here, tested in tests/test_therapist_texts.py and tests/test_pin.py):

- LOCK needs no PIN, but its answer does not depend on the therapist's clients: it repeats the
  name as typed and the time as read, and asks for YES and the PIN, whether the name matched
  one client, several, or none. So an unverified sender learns nothing from it, not even that
  a client of that name exists (the time is read from the text alone).
- Only YES with the right PIN (`app.pins`, `ivr.pin`) looks at what the LOCK matched: then
  the reply may name the client ("24-hour rule started for Riley ..."), say that the name
  matched nobody, or list the client codes of a name several clients share.
- YES alone, or a wrong PIN, changes nothing and says nothing about any client: "That PIN is
  not right. Nothing was recorded." A wrong PIN counts toward the same five-strike lock as the
  phone menu; the LOCK keeps waiting, so the right PIN can still follow.
- NO answers "Cancelled. Nothing was recorded." whether or not anything waited (otherwise it
  would tell whether the LOCK matched a client). It needs no PIN: cancelling changes no care.
- AWAY and BACK are the therapist's own availability, not a client's care: no PIN.
- The PIN is never stored as texted: `without_pin` is what the line keeps of the text.

Decisions where the issue is silent, made here and tested in tests/test_ivr_commands.py:

- Crisis language (ivr.texts.crisis_match) and Twilio's opt-out words are not commands:
  `parse_command` returns None and the usual text flow answers them (crisis reply; STOP
  recorded). CANCEL is an opt-out word, so only NO cancels a LOCK.
- Any other text, START and UNSTOP included, is a command or `Unknown` (the usage line).
- A time of day needs am/pm unless it is plainly 24-hour ("21:30", "09:30", "0:15"):
  "9:30" alone is refused with a hint rather than guessed.
- Daylight saving: a local time that does not exist (2:30 AM on the March change) is read as
  the same time after the change (3:30 AM CDT); a local time that happens twice (1:30 AM on
  the November change) is whichever occurrence fits the rule (the next one for AWAY, the most
  recent one for LOCK), and replies then name the zone ("1:30 AM CST").
- LOCK allows for clocks a little apart: a time up to `CLOCK_SKEW` ahead of now is now, not
  yesterday (at 9:42 PM, "9:45pm" is now; "9:50pm" is yesterday 9:50 PM).
- LOCK for an event whose 24 hours are already over is refused (nothing would be enforced);
  so is a time that has not come yet ("today 11pm" at 9 PM, "tomorrow 8am").
- AWAY is capped at `MAX_AWAY` (60 days) ahead; longer absences are for the practice admin.
- A date ("Dec 5") needs a time, and so does a weekday: "AWAY until Monday" is refused with a
  hint, since "until Monday" could mean its start or its end.
- "next Monday" is not read (people mean different Mondays by it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.command_replies import MAX_AWAY, away_too_long_reply, lock_over_reply
from ivr.rules import lockout_ends_at
from ivr.texted_times import (
    BAD_TIME,
    NOW_WORDS,
    TIME_WORDS,
    UNTIL_WORDS,
    BadTime,
    duration,
    fold,
    latest_at,
    next_at,
    point_in_time,
    words_of,
)
from ivr.texts import OPT_OUT_WORDS, crisis_match

_MAX_PIN = 12  # longer is not read as a PIN (the usage line)

# --- the commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Away:
    until: datetime  # UTC, strictly after now


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class Lock:
    who: str  # folded (see `fold`): a first name, a full name or a client code
    occurred_at: datetime  # UTC, at or before now, less than 24 hours ago
    when: str = ""  # the time as typed (folded), "" for now: repeated in the ambiguity reply


@dataclass(frozen=True)
class Yes:
    pin: str = field(default="", repr=False)  # as texted: "" when none was


@dataclass(frozen=True)
class No:
    pass


@dataclass(frozen=True)
class Unknown:
    """Not understood: the usage line, after what was wrong when that is known."""

    problem: str = ""


@dataclass(frozen=True)
class Refused:
    """Understood, but not done: the reason alone is the reply."""

    reason: str


Command = Away | Back | Lock | Yes | No | Unknown | Refused

# --- parsing ---------------------------------------------------------------------------------


def parse_command(body: str, now: datetime, tz: ZoneInfo) -> Command | None:
    """What a therapist's text asks for; None for crisis language and opt-out words (the usual
    text flow answers those). `now` must be timezone-aware. Never raises for any body."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    if crisis_match(body):
        return None
    tokens = words_of(body)
    if len(tokens) == 1 and tokens[0] in OPT_OUT_WORDS:
        return None
    if tokens[:1] in (["im"], ["i'm"]):
        tokens = tokens[1:]
    elif tokens[:2] == ["i", "am"]:
        tokens = tokens[2:]
    if not tokens:
        return Unknown()
    head, rest = tokens[0], tokens[1:]
    try:
        if head == "away":
            return _away(rest, now, tz)
        if head in ("back", "available", "avail"):
            return Back() if set(rest) <= {"now", "again"} else Unknown()
        if head == "lock":
            return _lock(rest, now, tz)
    except BadTime as bad:
        return Unknown(str(bad))
    if head in ("yes", "y") and _pin_or_nothing(rest):
        return Yes(rest[0] if rest else "")
    if not rest and head in ("no", "n"):
        return No()
    return Unknown()


def _pin_or_nothing(rest: list[str]) -> bool:
    return not rest or (len(rest) == 1 and rest[0].isdigit() and len(rest[0]) <= _MAX_PIN)


def without_pin(body: str) -> str:
    """A therapist's text as the line keeps it: a PIN (YES 4821, or a number alone) replaced."""
    tokens = words_of(body)
    if len(tokens) == 2 and tokens[0] in ("yes", "y") and tokens[1].isdigit():
        return "YES [PIN]"
    if len(tokens) == 1 and tokens[0].isdigit() and len(tokens[0]) >= 4:
        return "[a number]"
    return body


def _away(rest: list[str], now: datetime, tz: ZoneInfo) -> Command:
    words = rest[1:] if rest[:1] == ["for"] else rest
    if not words:
        return Unknown("Say for how long or until when, e.g. AWAY 2h or AWAY until 6pm.")
    length = duration(words)
    if length is not None:
        if length <= timedelta(0):
            return Unknown(BAD_TIME)
        until = now + min(length, MAX_AWAY + timedelta(days=1))
    else:
        if words[0] in UNTIL_WORDS:
            words = words[1:]
        point = point_in_time(words)
        if point is None:
            return Unknown(BAD_TIME)
        until = next_at(*point, now, tz)
    if until - now > MAX_AWAY:
        return Refused(away_too_long_reply())
    return Away(until)


def _lock(rest: list[str], now: datetime, tz: ZoneInfo) -> Command:
    # The first word is always the name (a client may be called May or June).
    if not rest or rest[0][:1].isdigit():
        return Unknown("Name the client, e.g. LOCK Sam 9:30pm.")
    split = next((i for i, t in enumerate(rest) if i > 0 and _starts_time(t)), len(rest))
    who, when = rest[:split], rest[split:]
    if not when or set(when) in NOW_WORDS:
        occurred = now
    elif when[-1] == "ago":
        length = duration(when[:-1])
        if length is None:
            return Unknown(BAD_TIME)
        occurred = now - length
    else:
        point = point_in_time(when)
        if point is None:
            return Unknown(BAD_TIME)
        occurred = latest_at(*point, now, tz)
    if lockout_ends_at(occurred) <= now:
        return Refused(lock_over_reply())
    return Lock(" ".join(who), occurred, " ".join(when))


def _starts_time(token: str) -> bool:
    return token[:1].isdigit() or token in TIME_WORDS


# --- clients by name or code -----------------------------------------------------------------


@dataclass(frozen=True)
class ClientRef:
    """One of the therapist's own clients, as LOCK matches them."""

    id: int
    name: str  # full name
    code: str | None = None  # Client.code


def first_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[0] if parts else ""


def client_code(client: ClientRef) -> str:
    """The client's code; without one, initials and id ("Riley Tran", 2: "RT2")."""
    if client.code:
        return client.code
    initials = "".join(
        ch for word in fold(client.name).split() for ch in word[:1] if "a" <= ch <= "z"
    )
    return (initials or "c").upper() + str(client.id)


def match_clients(who: str, clients: Sequence[ClientRef]) -> list[ClientRef]:
    """The clients `who` names: a client code (stored first, then initials and id), else a
    full name, else a first name; several when the name is ambiguous, none when nobody fits."""
    key = fold(who)
    if not key:
        return []
    for matches in (
        [c for c in clients if c.code and fold(c.code) == key],
        [c for c in clients if not c.code and fold(client_code(c)) == key],
        [c for c in clients if fold(c.name) == key],
        [c for c in clients if fold(first_name(c.name)) == key],
    ):
        if matches:
            return sorted(matches, key=lambda c: c.id)
    return []
