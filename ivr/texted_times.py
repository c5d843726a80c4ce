"""Reading the times and lengths therapists text (``2h``, ``until Monday 9am``,
``yesterday 11pm``): the words into tokens, and tokens into instants in the practice's zone.
Pure, like `ivr.commands`, which uses it; the rules it follows are listed there."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# LOCK allows for clocks a little apart (see ivr.commands).
CLOCK_SKEW = timedelta(minutes=5)

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


def words_of(body: str) -> list[str]:
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
UNTIL_WORDS = frozenset({"until", "till", "til", "untill", "to"})
NOW_WORDS = ({"now"}, {"just", "now"}, {"right", "now"})
# Where the name ends and the time starts in "LOCK Riley Tran yesterday 11pm".
TIME_WORDS = (
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


class BadTime(Exception):
    """A time phrase that is recognisably a time but wrong; the message is the reply's start."""


@dataclass(frozen=True)
class _Day:
    kind: str  # "relative" | "weekday" | "date"
    value: int = 0  # days from today, or Monday=0
    month: int = 0
    day: int = 0


def _clock(token: str) -> time | None:
    """A time of day, or None when the token is not one. Raises BadTime for a time that is
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
        raise BadTime(BAD_TIME)
    if ampm:
        if not 1 <= hour <= 12:
            raise BadTime(BAD_TIME)
        return time(hour % 12 + (12 if ampm.startswith("p") else 0), minute)
    plainly_24h = m["m"] is not None and (m["h"].startswith("0") or hour == 0 or hour >= 13)
    if not plainly_24h:
        raise BadTime(NEEDS_AM_PM)
    if hour > 23:
        raise BadTime(BAD_TIME)
    return time(hour, minute)


def point_in_time(tokens: Sequence[str]) -> tuple[_Day | None, time] | None:
    """A day (optional) and a time of day, in either order: "Monday 9am", "9am tomorrow",
    "Dec 5 at 9am", "12/5 9am". None when the tokens are not such a phrase."""
    day: _Day | None = None
    clock: time | None = None
    problem: BadTime | None = None
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
                raise BadTime("Give the date as e.g. Dec 5 9am.")
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
        except BadTime as bad:  # said once every word is known to be part of a time
            problem = problem or bad
            continue
        if parsed is None or clock is not None:
            return None
        clock = parsed
    if problem is not None:
        raise problem
    if clock is None:
        if day is not None:
            raise BadTime("Add a time, e.g. Monday 9am.")
        return None
    return day, clock


def duration(tokens: Sequence[str]) -> timedelta | None:
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
        raise BadTime(BAD_TIME)
    return dates


def next_at(day: _Day | None, clock: time, now: datetime, tz: ZoneInfo) -> datetime:
    """The first instant strictly after now at which the practice's clock reads `clock` on a
    day that fits `day`."""
    today = now.astimezone(tz).date()
    for d in _days(day, today, ahead=True):
        for instant in _instants(d, clock, tz):
            if instant > now:
                return instant
    raise BadTime(TIME_PASSED)


def latest_at(day: _Day | None, clock: time, now: datetime, tz: ZoneInfo) -> datetime:
    """The most recent instant at or before now (allowing `CLOCK_SKEW`, read as now) at which
    the practice's clock reads `clock` on a day that fits `day`."""
    today = now.astimezone(tz).date()
    for d in _days(day, today, ahead=False):
        for instant in reversed(_instants(d, clock, tz)):
            if instant <= now + CLOCK_SKEW:
                return min(instant, now)
    raise BadTime(NOT_YET)
