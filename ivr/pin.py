"""A therapist's PIN: caller ID is a claim, not an identity (DESIGN.md, invariant 9).

A therapist's phone menu opens, and a care change by text (the YES that confirms a LOCK) is
made, only with their PIN. The rules and the words are here; `app.pins` hashes the PIN
(argon2), counts the failures and saves them.

Decisions where the issue is silent:

- A PIN is 4 to 8 digits and nothing else.
- The menu asks for the PIN before it says anything about clients, not even whether any are
  waiting. A wrong PIN gets "That PIN is not right" and one more try (a therapist in a hurry
  mistypes); a second wrong PIN ends the call with the crisis resources, as every call ends
  (invariant 1).
- Five wrong PINs in a row, by phone and by text together, lock the PIN for 15 minutes: no
  PIN is checked meanwhile, the right one included, and the answer says only that it is
  locked and for how long. The lock raises a pin_locked attention item, texted to the
  therapist's own number: whoever faked the number does not receive its texts, so the real
  owner learns that someone tried. While such an item is open, a further lock adds none.
- The right PIN resets the count; so does a lock (the next lock needs five more).
- A therapist with no PIN hears (or reads) that the menu needs one, set on the dashboard or
  with `coachline set-pin`, and the crisis resources: nothing else.
- The PIN given on a call counts for that call (its CallSid) only, and for at most 4 hours
  (Twilio's longest call): `app.twilio.therapist_menu` keeps it on the therapist's call record
  as the time it was accepted, and every later step of the menu checks it.
- Twilio's StirVerstat (the carrier's caller-ID attestation) is kept and shown, never taken in
  place of the PIN: it says a carrier vouches for the number, not who holds the phone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from ivr.codes import Route
from ivr.gsm import clamp, to_gsm7
from ivr.scripts import Practice, crisis_spoken, say

PIN_MIN, PIN_MAX = 4, 8
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
GOOD_FOR_CALL = timedelta(hours=4)
PIN_TIMEOUT_SECONDS = 8
LAST_TRY = 2  # the menu's tries on one call


class PinCheck(Enum):
    """What checking a PIN found."""

    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"  # locked now (the fifth wrong PIN) or already
    NO_PIN = "no_pin"  # the therapist has none set
    BUSY = "busy"  # the line could not check it in time; nothing counted


# ---- the rules ----------------------------------------------------------------------------


def pin_problem(pin: str) -> str | None:
    """What is wrong with a PIN being set, or None."""
    if not pin.isascii() or not pin.isdigit():
        return "a PIN is digits only"
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        return f"a PIN has {PIN_MIN} to {PIN_MAX} digits"
    return None


def well_formed(digits: str) -> bool:
    """Worth hashing: anything else is wrong without a look at the stored hash."""
    return pin_problem(digits) is None


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def locks_now(failures: int) -> bool:
    """The failures in a row, this one counted, lock the PIN."""
    return failures >= MAX_FAILURES


def minutes_left(locked_until: datetime | None, now: datetime) -> int:
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, math.ceil((locked_until - now).total_seconds() / 60))


def verified_call(
    route: str | None,
    call_therapist_id: int | None,
    therapist_id: int,
    pin_accepted_at: datetime | None,
    now: datetime,
) -> bool:
    """The call record says this therapist gave the right PIN on this very call, lately."""
    return (
        route == Route.THERAPIST
        and call_therapist_id == therapist_id
        and pin_accepted_at is not None
        and now - pin_accepted_at <= GOOD_FOR_CALL
    )


# ---- the phone menu -----------------------------------------------------------------------


@dataclass(frozen=True)
class PinUrls:
    base: str

    def pin(self, attempt: int) -> str:
        query = urlencode({"try": str(attempt)})
        return f"{self.base}/twilio/voice/therapist/pin?{query}"


def parse_attempt(raw: str | None) -> int:
    return LAST_TRY if raw == str(LAST_TRY) else 1


def _ending(practice: Practice, lead: str) -> str:
    response = VoiceResponse()
    say(response, f"{lead} {crisis_spoken(practice)}")
    response.hangup()
    return str(response)


def ask(urls: PinUrls, attempt: int = 1, lead: str = "") -> str:
    """ "Enter your PIN, then press pound": the first thing a therapist's number hears."""
    response = VoiceResponse()
    gather = response.gather(
        finish_on_key="#",
        timeout=PIN_TIMEOUT_SECONDS,
        action=urls.pin(attempt),
        method="POST",
    )
    say(gather, (lead + " " if lead else "") + "Enter your PIN, then press pound.")
    say(response, "No PIN was entered. Goodbye.")
    response.hangup()
    return str(response)


def entry(
    has_pin: bool, locked_until: datetime | None, now: datetime, practice: Practice, urls: PinUrls
) -> str:
    """What a therapist's number hears first: the PIN prompt, or why there is none."""
    if not has_pin:
        return no_pin_set(practice)
    if is_locked(locked_until, now):
        return locked(practice, minutes_left(locked_until, now))
    return ask(urls)


def no_pin_set(practice: Practice) -> str:
    return _ending(
        practice,
        "This phone menu needs a PIN. Set one on the coachline dashboard, or ask the practice "
        "admin to set one with coachline set-pin. Goodbye.",
    )


def locked(practice: Practice, minutes: int) -> str:
    return _ending(
        practice,
        f"After too many wrong PINs, the phone menu is locked for {_minutes(minutes)}. "
        "Please try again later. Goodbye.",
    )


def busy(practice: Practice) -> str:
    return _ending(practice, "The line can't check your PIN right now. Please call again.")


def after_check(
    check: PinCheck, attempt: int, practice: Practice, urls: PinUrls, minutes: int
) -> str | None:
    """What a therapist hears after entering a PIN; None for the right one (the menu)."""
    if check is PinCheck.RIGHT:
        return None
    if check is PinCheck.NO_PIN:
        return no_pin_set(practice)
    if check is PinCheck.LOCKED:
        return locked(practice, minutes)
    if check is PinCheck.BUSY:
        return busy(practice)
    if attempt < LAST_TRY:
        return ask(urls, attempt + 1, "That PIN is not right.")
    return _ending(practice, "That PIN is not right. Goodbye.")


def _minutes(minutes: int) -> str:
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


# ---- texts --------------------------------------------------------------------------------

NOTHING = "Nothing was recorded."


def _text(body: str) -> str:
    return clamp(to_gsm7(body), 320)


def pin_needed_reply() -> str:
    """YES alone: the care change needs the PIN too (the same answer whatever is waiting)."""
    return _text(f"Reply YES and your PIN (for example YES 1234). {NOTHING}")


def text_reply(check: PinCheck, minutes: int) -> str:
    """A text command whose PIN was not right: nothing about any client."""
    if check is PinCheck.NO_PIN:
        return _text(
            "Changes by text need your PIN: set one on the coachline dashboard, or ask the "
            f"practice admin. {NOTHING}"
        )
    if check is PinCheck.LOCKED:
        return _text(
            f"After too many wrong PINs, your PIN is locked for {_minutes(minutes)}. {NOTHING}"
        )
    if check is PinCheck.BUSY:
        return _text(f"The line couldn't check your PIN just now. Please try again. {NOTHING}")
    return _text(f"That PIN is not right. {NOTHING}")


def locked_notice_body() -> str:
    """To the therapist's own number when their PIN locks (a faked number gets no texts)."""
    return _text(
        f"Your coaching line PIN was entered wrong {MAX_FAILURES} times in a row, so it is "
        f"locked for {_minutes(int(LOCK_FOR.total_seconds() // 60))}. If that wasn't you, "
        "please tell the practice admin."
    )
