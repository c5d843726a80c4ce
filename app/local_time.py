"""Times as a practice admin types them and reads them: in the practice's time zone.

"2026-12-06 09:00" is a wall-clock time there; "9:30pm" or "21:30" alone is the most recent
such moment (or the next one, for a time that must be ahead); a time with an offset
("2026-12-06T09:00-06:00") is the instant it names. A wall-clock time the clocks skipped, or
one they repeated, is refused rather than guessed: a lockout an hour off is a wrong lockout.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHOWN = "%a %Y-%m-%d %H:%M %Z"

_DAY = r"(?P<day>today|yesterday|tomorrow|\d{4}-\d{2}-\d{2})"
_WITH_DAY = re.compile(rf"{_DAY}(?:\s+|t)(?P<clock>.+)")
_TWELVE_HOUR = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<half>am|pm|a\.m\.|p\.m\.)")
_TWENTY_FOUR_HOUR = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAMED = {"noon": time(12), "midnight": time(0)}


class TimeNotUnderstood(ValueError):
    """A typed time that is refused; the message says why, in words."""


def shown(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as the practice reads it: "Fri 2026-11-27 21:42 CST"."""
    return instant.astimezone(tz).strftime(SHOWN)


def read_time(raw: str, tz: ZoneInfo, now: datetime, *, ahead: bool = False) -> datetime:
    """The instant `raw` names, in UTC. It must not be after `now` (an event), or, with
    `ahead`, it must be after it (a return from time away); a clock time alone is the most
    recent such moment, or with `ahead` the next one."""
    text = " ".join(raw.strip().lower().split())
    try:
        instant = _read(text, raw, tz, now, ahead)
    except OverflowError:
        raise TimeNotUnderstood(f"{raw!r} is too far from today") from None
    if ahead and instant <= now:
        raise TimeNotUnderstood(f"{shown(instant, tz)} has passed (it is {shown(now, tz)} now)")
    if not ahead and instant > now:
        raise TimeNotUnderstood(
            f"{shown(instant, tz)} is in the future (it is {shown(now, tz)} now)"
        )
    return instant


def _read(text: str, raw: str, tz: ZoneInfo, now: datetime, ahead: bool) -> datetime:
    instant = _with_offset(text)
    if instant is not None:
        return instant
    day, clock = _day_and_clock(text, raw, tz, now, ahead)
    if day is None:
        return _nearest(clock, tz, now, ahead)
    if isinstance(day, int):
        day = now.astimezone(tz).date() + timedelta(days=day)
    return _one_instant(datetime.combine(day, clock), tz)


def _with_offset(text: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset (or Z), as the instant it names."""
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _day_and_clock(
    text: str, raw: str, tz: ZoneInfo, now: datetime, ahead: bool
) -> tuple[date | int | None, time]:
    """The day (a date, or days from today) and the wall-clock time of what was typed."""
    if _DATE_ONLY.fullmatch(text):
        raise TimeNotUnderstood(f"{raw!r} is a day without a time: add one, e.g. {text} 09:00")
    match = _WITH_DAY.fullmatch(text)
    day_text, clock_text = (match["day"], match["clock"]) if match else (None, text)
    clock = _clock(clock_text)
    if clock is None:
        today = now.astimezone(tz).replace(hour=9, minute=0, second=0, microsecond=0)
        nearest = "the next one" if ahead else "the most recent one"
        raise TimeNotUnderstood(
            f"{raw!r} is not a time we can read: write {today:%Y-%m-%d %H:%M} (in {tz.key}), "
            f"9:30pm or 21:30 ({nearest}), or {today:%Y-%m-%dT%H:%M}{_offset(today)}"
        )
    if day_text is None:
        return None, clock
    relative = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if day_text in relative:
        return relative[day_text], clock
    try:
        return date.fromisoformat(day_text), clock
    except ValueError:
        raise TimeNotUnderstood(f"{day_text} is not a day of the calendar") from None


def _clock(text: str) -> time | None:
    if text in _NAMED:
        return _NAMED[text]
    if match := _TWELVE_HOUR.fullmatch(text):
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        afternoon = match["half"].startswith("p")
        return time(hour % 12 + (12 if afternoon else 0), minute)
    if match := _TWENTY_FOUR_HOUR.fullmatch(text):
        hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
        if hour > 23 or minute > 59 or second > 59:
            return None
        return time(hour, minute, second)
    return None


def _instants(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """The instants at which the practice's clocks showed `wall`: none in the hour skipped in
    spring, two in the hour repeated in autumn, otherwise one."""
    found = []
    for fold in (0, 1):
        aware = wall.replace(tzinfo=tz, fold=fold)
        instant = aware.astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return sorted(found)


def _one_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    instants = _instants(wall, tz)
    when = f"{wall:%Y-%m-%d %H:%M}"
    if not instants:
        raise TimeNotUnderstood(
            f"{when} did not happen in {tz.key}: the clocks went forward an hour then"
        )
    if len(instants) > 1:
        first, second = (i.astimezone(tz) for i in instants)
        raise TimeNotUnderstood(
            f"{when} happened twice in {tz.key} (the clocks went back an hour): add the "
            f"offset, {when}{_offset(first)} for the first ({first:%Z}) or "
            f"{when}{_offset(second)} for the second ({second:%Z})"
        )
    return instants[0]


def _offset(local: datetime) -> str:
    """ "-06:00": the UTC offset as ISO 8601 writes it."""
    return local.isoformat()[-6:]


def _nearest(clock: time, tz: ZoneInfo, now: datetime, ahead: bool) -> datetime:
    """The most recent moment (or with `ahead`, the next) the practice's clocks showed, or
    will show, `clock`."""
    today = now.astimezone(tz).date()
    days = (0, 1, 2) if ahead else (0, -1, -2)  # a skipped hour skips one day at most
    candidates = [
        instant
        for offset in days
        for instant in _instants(datetime.combine(today + timedelta(days=offset), clock), tz)
    ]
    if ahead:
        return min(i for i in candidates if i > now)
    return max(i for i in candidates if i <= now)
