"""Who a coaching call can ring: each therapist's weekly hours and away time, the client's own
therapist first, then whoever is on call. Pure, like the rest of `ivr`: time is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from ivr.language import Language
from ivr.scripts import Practice


@dataclass(frozen=True)
class Window:
    """Weekly coaching hours in the practice's zone; `end <= start` runs past midnight."""

    weekday: int  # Monday = 0
    start: time
    end: time


@dataclass(frozen=True)
class Therapist:
    id: int
    name: str
    phone: str
    active: bool = True
    away_until: datetime | None = None
    hours: tuple[Window, ...] = ()
    # They replied STOP to the line: Twilio refuses our texts to them until START.
    texts_blocked: bool = False


@dataclass(frozen=True)
class Caller:
    """An enrolled client, as the flow needs them. `locked_until` is None unless the 24-hour
    rule applies to them and a lockout is active now."""

    client_id: int
    name: str
    primary: Therapist
    locked_until: datetime | None = None
    last_skill: str | None = None
    # A therapist is calling this client back through the line right now (`ivr.rules`).
    being_called_back: bool = False
    # The language the client set; the line speaks it when the practice offers it.
    language: Language = Language.ENGLISH


def within_hours(windows: tuple[Window, ...], at: datetime, practice: Practice) -> bool:
    """Whether `at` falls in a weekly window, read in the practice's zone.

    No windows at all means no restriction: a therapist who set no hours takes calls any time.
    """
    if not windows:
        return True
    local = at.astimezone(practice.tz)
    day, clock = local.weekday(), local.time().replace(tzinfo=None)
    for w in windows:
        if w.start < w.end:
            if w.weekday == day and w.start <= clock < w.end:
                return True
        else:  # past midnight: the evening of its day, and the small hours of the next
            if w.weekday == day and clock >= w.start:
                return True
            if (w.weekday + 1) % 7 == day and clock < w.end:
                return True
    return False


def reachable(therapist: Therapist, now: datetime) -> bool:
    return therapist.active and not (therapist.away_until and now < therapist.away_until)


def textable(therapist: Therapist, now: datetime) -> bool:
    """Reachable now, and the line can text them (they have not replied STOP)."""
    return reachable(therapist, now) and not therapist.texts_blocked


def primary_rings_first(caller: Caller, now: datetime, practice: Practice) -> bool:
    """The client's own therapist is rung first: active, not away, within their hours."""
    primary = caller.primary
    return reachable(primary, now) and within_hours(primary.hours, now, practice)


def ring_order(
    caller: Caller, on_call: list[Therapist], tried: list[int], now: datetime, practice: Practice
) -> list[Therapist]:
    """The primary (within hours and not away), then whoever is on call; minus those tried."""
    order: list[Therapist] = []
    primary = caller.primary
    if primary_rings_first(caller, now, practice):
        order.append(primary)
    for therapist in on_call:
        if reachable(therapist, now) and all(t.id != therapist.id for t in order):
            order.append(therapist)
    return [t for t in order if t.id not in tried]


def notice_recipient(caller: Caller, on_call: list[Therapist], now: datetime) -> Therapist | None:
    """Who is texted of a missed call or another sign of distress: the primary if they can be
    texted now, else the one on call, else the primary even while away (so it is waiting
    when they are back). Never a therapist who replied STOP: Twilio would refuse the text."""
    if textable(caller.primary, now):
        return caller.primary
    for therapist in on_call:
        if textable(therapist, now):
            return therapist
    primary = caller.primary
    return primary if primary.active and not primary.texts_blocked else None
