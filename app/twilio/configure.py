"""`coachline twilio configure`: point the line's Twilio number at this service.

The IncomingPhoneNumber whose number is TWILIO_PHONE_NUMBER is read through Twilio's REST
API, each webhook field is compared with what the line needs (PUBLIC_BASE_URL plus the
webhook's path, all POST), and only the fields that differ are updated.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException

from app.line import Line
from app.notify import twilio_client

# The number's field -> the webhook path (None: a method, given below).
PATHS = {
    "voice_url": "/twilio/voice",
    "voice_fallback_url": "/twilio/voice/fallback",
    "status_callback": "/twilio/voice/status",
    "sms_url": "/twilio/sms",
}
METHODS = ("voice_method", "voice_fallback_method", "status_callback_method", "sms_method")
# The order they are shown in.
FIELDS = (
    "voice_url",
    "voice_method",
    "voice_fallback_url",
    "voice_fallback_method",
    "status_callback",
    "status_callback_method",
    "sms_url",
    "sms_method",
)


class ConfigureError(Exception):
    """Something the operator must fix; the message says what."""


@dataclass(frozen=True)
class FieldState:
    field: str
    current: str
    wanted: str

    @property
    def ok(self) -> bool:
        return self.current == self.wanted

    def describe(self) -> str:
        if self.ok:
            return f"{self.field}: ok"
        return f"{self.field}: {self.current or '(unset)'} -> {self.wanted}"


@dataclass(frozen=True)
class Result:
    number_sid: str
    phone_number: str
    fields: list[FieldState]
    updated: bool

    @property
    def changes(self) -> dict[str, str]:
        return {f.field: f.wanted for f in self.fields if not f.ok}


# Twilio's connection overrides (a URL fragment, never sent to us) on the URLs a caller or
# texter waits on. Twilio's defaults wait 15 s for an answer before the Voice Fallback URL, a
# silence no caller should sit through. The line answers within about 3 s whatever its
# database does (`Line.database` gives up at 2 s), so: 1 s to connect (ct), one retry only
# when the connection failed (rc, rp: a webhook that was read is not sent twice), 4 s to
# answer (rt), and 5 s in all (tt). A service that can't be reached, or hangs, sends the
# caller to the fallback within 5 s.
CONNECTION_OVERRIDES = "#ct=1000&rt=4000&tt=5000&rc=1&rp=ct"
OVERRIDDEN = ("voice_url", "sms_url")


def wanted(line: Line) -> dict[str, str]:
    base = line.settings.public_base_url
    want = {field: base + path for field, path in PATHS.items()}
    for field in OVERRIDDEN:
        want[field] += CONNECTION_OVERRIDES
    want.update(dict.fromkeys(METHODS, "POST"))
    return {field: want[field] for field in FIELDS}


def _current(value: object) -> str:
    return "" if value is None else str(value)


def configure(line: Line, *, dry_run: bool = False) -> Result:
    """Compare the number's webhooks with the line's and, unless dry_run, update those that
    differ. Raises ConfigureError for missing settings and for Twilio's refusals."""
    settings = line.settings
    if not settings.twilio_configured:
        raise ConfigureError("no Twilio credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    if not settings.twilio_phone_number:
        raise ConfigureError("no number configured: set TWILIO_PHONE_NUMBER")
    client = twilio_client(line)
    try:
        found = client.incoming_phone_numbers.list(
            phone_number=settings.twilio_phone_number, limit=20
        )
        number = next((n for n in found if n.phone_number == settings.twilio_phone_number), None)
        if number is None:
            raise ConfigureError(
                f"{settings.twilio_phone_number} is not a number in Twilio account "
                f"{settings.twilio_account_sid}"
            )
        want = wanted(line)
        fields = [
            FieldState(field, _current(getattr(number, field, None)), value)
            for field, value in want.items()
        ]
        result = Result(number.sid or "", settings.twilio_phone_number, fields, updated=False)
        if dry_run or not result.changes:
            return result
        client.incoming_phone_numbers(number.sid).update(**result.changes)
        return Result(result.number_sid, result.phone_number, fields, updated=True)
    except TwilioRestException as exc:
        raise ConfigureError(
            f"Twilio refused (HTTP {exc.status}, code {exc.code}): {exc.msg}"
        ) from exc
    except TwilioException as exc:
        raise ConfigureError(f"Twilio's API could not be used: {exc}") from exc
    except OSError as exc:  # connection refused, timeouts, DNS
        raise ConfigureError(f"Twilio's API did not answer ({type(exc).__name__})") from exc
