"""Phone numbers: parsed with `phonenumbers`, stored in E.164, masked in logs."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "US"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@lru_cache(maxsize=4096)  # every webhook parses its caller's number; callers repeat
def to_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a number as people write it, or None when it is not a valid number.

    Caller ID such as "anonymous", "+266696687" (Twilio's "unknown") or "" gives None.
    """
    if not raw or len(raw) > 40:
        return None
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def caller_number(raw: str) -> str | None:
    """The number a webhook looks its caller up by. Twilio sends From in E.164, and that is
    taken as it is: every number the line stores was checked with `to_e164` when it was
    saved, so one that is no real number matches nobody and is an unknown caller, as it
    would be as None. Anything else (caller ID like "anonymous", a number written another
    way) goes through `to_e164`. Parsing every new caller's number cost 33 us."""
    if raw in WITHHELD_CALLER_IDS:
        return None
    return raw if E164.fullmatch(raw) else to_e164(raw)


# What Twilio sends as From when the caller hid their number: ANONYMOUS, RESTRICTED, BLOCKED,
# UNKNOWN and UNAVAILABLE spelled on a keypad. They look like E.164 but are nobody's number.
WITHHELD_CALLER_IDS = frozenset(
    {"+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"}
)


def is_withheld(raw: str) -> bool:
    """Whether Twilio's From says the caller's number is hidden (no digits at all, as in
    "anonymous" or "", or one of Twilio's stand-ins): no one caller, and nothing to call back."""
    return raw in WITHHELD_CALLER_IDS or not any(c.isdigit() for c in raw)


def mask(number: str | None) -> str:
    """A number safe for a log line: only its last two digits, however it was written
    ("+1 (314) 555-0142", "%2B13145550142" and "3145550142" all give "***42")."""
    if not number:
        return "-"
    digits = re.sub(r"\D", "", re.sub(r"%[0-9A-Fa-f]{2}", "", number))
    return "***" + digits[-2:] if len(digits) > 4 else "***"
