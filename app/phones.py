"""Phone numbers: parsed with `phonenumbers`, stored in E.164, masked in logs."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "US"


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


def mask(number: str | None) -> str:
    """A number safe for a log line: only its last two digits."""
    if not number:
        return "-"
    return "***" + number[-2:] if len(number) > 4 else "***"
