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
- ``YES`` (``Y``) confirms, ``NO`` (``N``) cancels a pending LOCK.
- Anything else is `Unknown`: the usage line.

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

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.gsm import clamp, to_gsm7
from ivr.rules import lockout_ends_at
from ivr.texts import OPT_OUT_WORDS, crisis_match

MAX_AWAY = timedelta(days=60)
CLOCK_SKEW = timedelta(minutes=5)
MAX_REPLY = 320
_MAX_NAME = 30

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
    pass


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

# --- text into tokens ------------------------------------------------------------------------

_APOSTROPHES = re.compile("[\u2018\u2019\u201b\u02bc\u0060\u00b4\u2032]")
_AM_PM_DOTS = re.compile(r"\b([ap])\.\s?m\b\.?")
_NOT_TOKEN = re.compile(r"[^a-z0-9:./'\-]+")
_EDGE_PUNCT = ".:/-'"
_BARE_CLOCK = re.compile(r"\d{1,2}(?:[:.]\d{2})?")


def fold(text: str) -> str:
    """Lower case, accents dropped, curly apostrophes straight, spaces collapsed: how names and
    commands are compared ("Zoë" and "zoe" match)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_APOSTROPHES.sub("'", text).split())


def _tokens(body: str) -> list[str]:
    text = _AM_PM_DOTS.sub(r"\1m", fold(body))
    text = _NOT_TOKEN.sub(" ", text)
    tokens = [t.strip(_EDGE_PUNCT) for t in text.split()]
    tokens = [t for t in tokens if t]
    # "6 pm" -> "6pm", "6:30 p" -> "6:30p"
    merged: list[str] = []
    for token in tokens:
        if token in ("am", "pm", "a", "p") and merged and _BARE_CLOCK.fullmatch(merged[-1]):
            merged[-1] += token
        else:
            merged.append(token)
    return merged


# --- times -----------------------------------------------------------------------------------

_WEEKDAYS = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
    "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10,
    "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_RELATIVE_DAYS = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "tomorow": 1,
    "tommorow": 1,
    "tommorrow": 1,
    "yesterday": -1,
}
_FILLERS = frozenset({"at", "on", "by"})
_UNTIL = frozenset({"until", "till", "til", "untill", "to"})
_NOW = ({"now"}, {"just", "now"}, {"right", "now"})
# Where the name ends and the time starts in "LOCK Riley Tran yesterday 11pm".
_TIME_WORDS = (
    frozenset({"now", "just", "right", "noon", "midnight"})
    | _FILLERS
    | frozenset(_WEEKDAYS)
    | frozenset(_MONTHS)
    | frozenset(_RELATIVE_DAYS)
)

_CLOCK = re.compile(r"(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?P<ampm>am|pm|a|p)?")
_DAY_NUMBER = re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)?")
_MONTH_DAY = re.compile(r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})")
_DURATION_PART = re.compile(
    r"\s*(?P<n>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>weeks|week|wks|wk|w|days|day|d|hours|hour|hrs|hr|h|minutes|minute|mins|min|m)"
    r"(?![a-z])\s*(?:and\b|,)?"
)
_UNIT_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}

NEEDS_AM_PM = "Add am or pm to the time, e.g. 9:30pm."
BAD_TIME = "I couldn't read that time."
TIME_PASSED = "That time has already passed."
NOT_YET = "That time hasn't come yet."


class _BadTime(Exception):
    """A time phrase that is recognisably a time but wrong; the message is the reply's start."""


@dataclass(frozen=True)
class _Day:
    kind: str  # "relative" | "weekday" | "date"
    value: int = 0  # days from today, or Monday=0
    month: int = 0
    day: int = 0


def _clock(token: str) -> time | None:
    """A time of day, or None when the token is not one. Raises _BadTime for a time that is
    recognisable but not exact ("9:30" without am/pm, "13pm", "6:75")."""
    if token == "noon":
        return time(12)
    if token == "midnight":
        return time(0)
    m = _CLOCK.fullmatch(token)
    if m is None:
        return None
    hour, minute, ampm = int(m["h"]), int(m["m"] or 0), m["ampm"]
    if minute > 59:
        raise _BadTime(BAD_TIME)
    if ampm:
        if not 1 <= hour <= 12:
            raise _BadTime(BAD_TIME)
        return time(hour % 12 + (12 if ampm.startswith("p") else 0), minute)
    plainly_24h = m["m"] is not None and (m["h"].startswith("0") or hour == 0 or hour >= 13)
    if not plainly_24h:
        raise _BadTime(NEEDS_AM_PM)
    if hour > 23:
        raise _BadTime(BAD_TIME)
    return time(hour, minute)


def _point(tokens: Sequence[str]) -> tuple[_Day | None, time] | None:
    """A day (optional) and a time of day, in either order: "Monday 9am", "9am tomorrow",
    "Dec 5 at 9am", "12/5 9am". None when the tokens are not such a phrase."""
    day: _Day | None = None
    clock: time | None = None
    problem: _BadTime | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token in _FILLERS:
            continue
        found: _Day | None = None
        if token in _RELATIVE_DAYS:
            found = _Day("relative", _RELATIVE_DAYS[token])
        elif token in _WEEKDAYS:
            found = _Day("weekday", _WEEKDAYS[token])
        elif token in _MONTHS:
            number = _DAY_NUMBER.fullmatch(tokens[i]) if i < len(tokens) else None
            if number is None:
                raise _BadTime("Give the date as e.g. Dec 5 9am.")
            found = _Day("date", month=_MONTHS[token], day=int(number["d"]))
            i += 1
        elif (md := _MONTH_DAY.fullmatch(token)) is not None:
            found = _Day("date", month=int(md["mo"]), day=int(md["d"]))
        if found is not None:
            if day is not None:
                return None
            day = found
            continue
        try:
            parsed = _clock(token)
        except _BadTime as bad:  # said once every word is known to be part of a time
            problem = problem or bad
            continue
        if parsed is None or clock is not None:
            return None
        clock = parsed
    if problem is not None:
        raise problem
    if clock is None:
        if day is not None:
            raise _BadTime("Add a time, e.g. Monday 9am.")
        return None
    return day, clock


def _duration(tokens: Sequence[str]) -> timedelta | None:
    """ "2h", "90m", "1h30m", "2 hours", "1 hour and 30 minutes", "1.5h", "3 days"."""
    text = " ".join(tokens)
    if not text:
        return None
    minutes = 0.0
    pos = 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None or m.end() == pos:
            return None
        minutes += float(m["n"]) * _UNIT_MINUTES[m["unit"][0]]
        pos = m.end()
    if minutes > 10 * 366 * 24 * 60:  # far beyond any cap; keeps timedelta in range
        minutes = 10 * 366 * 24 * 60
    return timedelta(minutes=round(minutes))


def _instants(day: date, clock: time, tz: ZoneInfo) -> list[datetime]:
    """The instants (UTC, earliest first) at which the wall clock in `tz` reads `day clock`:
    one; two in the hour a November change repeats; and for a time the March change skips,
    the same time after the change (2:30 AM is read as 3:30 AM CDT)."""
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) != naive:  # skipped: fold=0 is the later one
        return [first]
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return sorted({first, second})


def _days(day: _Day | None, today: date, ahead: bool) -> list[date]:
    """Candidate dates, nearest first, in the direction asked."""
    sign = 1 if ahead else -1
    if day is None:
        return [today + timedelta(days=sign * k) for k in range(3)]
    if day.kind == "relative":
        return [today + timedelta(days=day.value)]
    if day.kind == "weekday":
        dates = (today + timedelta(days=sign * k) for k in range(8))
        return [d for d in dates if d.weekday() == day.value]
    dates = []
    for k in range(5):  # Feb 29 comes back within four years
        try:
            dates.append(date(today.year + sign * k, day.month, day.day))
        except ValueError:
            continue
    if not dates:
        raise _BadTime(BAD_TIME)
    return dates


def _next(day: _Day | None, clock: time, now: datetime, tz: ZoneInfo) -> datetime:
    """The first instant strictly after now at which the practice's clock reads `clock` on a
    day that fits `day`."""
    today = now.astimezone(tz).date()
    for d in _days(day, today, ahead=True):
        for instant in _instants(d, clock, tz):
            if instant > now:
                return instant
    raise _BadTime(TIME_PASSED)


def _latest(day: _Day | None, clock: time, now: datetime, tz: ZoneInfo) -> datetime:
    """The most recent instant at or before now (allowing `CLOCK_SKEW`, read as now) at which
    the practice's clock reads `clock` on a day that fits `day`."""
    today = now.astimezone(tz).date()
    for d in _days(day, today, ahead=False):
        for instant in reversed(_instants(d, clock, tz)):
            if instant <= now + CLOCK_SKEW:
                return min(instant, now)
    raise _BadTime(NOT_YET)


# --- parsing ---------------------------------------------------------------------------------


def parse_command(body: str, now: datetime, tz: ZoneInfo) -> Command | None:
    """What a therapist's text asks for; None for crisis language and opt-out words (the usual
    text flow answers those). `now` must be timezone-aware. Never raises for any body."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    if crisis_match(body):
        return None
    tokens = _tokens(body)
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
    except _BadTime as bad:
        return Unknown(str(bad))
    if not rest and head in ("yes", "y"):
        return Yes()
    if not rest and head in ("no", "n"):
        return No()
    return Unknown()


def _away(rest: list[str], now: datetime, tz: ZoneInfo) -> Command:
    words = rest[1:] if rest[:1] == ["for"] else rest
    if not words:
        return Unknown("Say for how long or until when, e.g. AWAY 2h or AWAY until 6pm.")
    length = _duration(words)
    if length is not None:
        if length <= timedelta(0):
            return Unknown(BAD_TIME)
        until = now + min(length, MAX_AWAY + timedelta(days=1))
    else:
        if words[0] in _UNTIL:
            words = words[1:]
        point = _point(words)
        if point is None:
            return Unknown(BAD_TIME)
        until = _next(*point, now, tz)
    if until - now > MAX_AWAY:
        return Refused(away_too_long_reply())
    return Away(until)


def _lock(rest: list[str], now: datetime, tz: ZoneInfo) -> Command:
    # The first word is always the name (a client may be called May or June).
    if not rest or rest[0][:1].isdigit():
        return Unknown("Name the client, e.g. LOCK Sam 9:30pm.")
    split = next((i for i, t in enumerate(rest) if i > 0 and _starts_time(t)), len(rest))
    who, when = rest[:split], rest[split:]
    if not when or set(when) in _NOW:
        occurred = now
    elif when[-1] == "ago":
        length = _duration(when[:-1])
        if length is None:
            return Unknown(BAD_TIME)
        occurred = now - length
    else:
        point = _point(when)
        if point is None:
            return Unknown(BAD_TIME)
        occurred = _latest(*point, now, tz)
    if lockout_ends_at(occurred) <= now:
        return Refused(lock_over_reply())
    return Lock(" ".join(who), occurred, " ".join(when))


def _starts_time(token: str) -> bool:
    return token[:1].isdigit() or token in _TIME_WORDS


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


# --- replies ---------------------------------------------------------------------------------

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


def lock_prompt(first: str, ends_at: datetime, tz: ZoneInfo) -> str:
    return _finish(
        f"Reply YES to start the 24-hour rule for {_name(first)}, until {day_time(ends_at, tz)}. "
        "Reply NO to cancel."
    )


def lock_done_reply(first: str, ends_at: datetime, tz: ZoneInfo) -> str:
    return _finish(f"24-hour rule started for {_name(first)} until {day_time(ends_at, tz)}.")


def ambiguous_reply(who: str, codes: Sequence[str], when: str = "") -> str:
    count = _COUNTS.get(len(codes), str(len(codes)))
    tail = f" {when}" if when else ""
    choices = [f"LOCK {code}{tail}" for code in codes]
    listed = choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]
    return _finish(f"{count} clients named {_name(who)}: reply {listed}.")


def no_client_reply(who: str) -> str:
    return _finish(f"No client of yours named {_name(who)}.")


def waived_reply(first: str) -> str:
    return _finish(
        f"The 24-hour rule is waived for {_name(first)}, so nothing was recorded. "
        "Please ask the practice admin if this should change."
    )


def lock_over_reply() -> str:
    return _finish("The 24 hours from that time are already over, so nothing was recorded.")


def nothing_to_confirm_reply() -> str:
    return _finish("Nothing is waiting for YES: a LOCK request lasts 10 minutes. Text LOCK again.")


def cancelled_reply(first: str) -> str:
    return _finish(f"Cancelled: no 24-hour rule started for {_name(first)}.")


def nothing_to_cancel_reply() -> str:
    return _finish("Nothing to cancel.")


def not_your_client_reply() -> str:
    return _finish("That client is no longer yours, so nothing was recorded.")


def inactive_reply() -> str:
    return _finish("Your therapist account on this line is inactive. Please ask the practice.")


def failed_reply(message: str) -> str:
    return _finish(f"That didn't work: {message}.")
