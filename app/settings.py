"""The line's settings: environment variables, plus an optional `.env`."""

from __future__ import annotations

from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.phones import to_e164
from ivr.language import NEURAL_SPANISH_VOICE, SPANISH_VOICES, STANDARD_SPANISH_VOICE, Language
from ivr.scripts import (
    DEFAULT_GREETING,
    GREETING_MAX_LENGTH,
    CrisisLine,
    Practice,
    greeting_problem,
)

# The languages the line offers, by OFFER_SPANISH: English always.
LANGUAGES_OFFERED = {
    False: (Language.ENGLISH,),
    True: (Language.ENGLISH, Language.SPANISH),
}

# What the practice may change from the dashboard (it wins over the environment).
EDITABLE = (
    "practice_name",
    "greeting",
    "local_crisis_line_name",
    "local_crisis_line_number",
    "callback_window_minutes",
    "call_time_limit_minutes",
    "dial_timeout_seconds",
    "offer_voice_message",
    "offer_lifeline",
    "offer_spanish",
    "spanish_voice",
    "admin_phone",
    "require_two_factor_for_therapists",
)


class Settings(BaseSettings):
    # Errors never echo the input: it holds TWILIO_AUTH_TOKEN and DATABASE_URL.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite:///./coachline.db"

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    # The line's own number, in E.164.
    twilio_phone_number: str = ""
    # The port `coachline serve` (and `make run`) listens on.
    port: int = Field(default=8000, ge=1, le=65535)
    # The https URL Twilio is configured with; webhook signatures are checked against it.
    # Unset: http://127.0.0.1:PORT, where the simulator reaches a line run on this machine.
    public_base_url: str = Field(default="", validate_default=True)
    twilio_api_base_url: str = "https://api.twilio.com"

    practice_timezone: str = "America/Chicago"
    practice_name: str = Field(default="St. Louis DBT", max_length=120)

    # Crisis resources: 988 and 911 are always given; a local line is optional.
    local_crisis_line_name: str = Field(default="", max_length=80)
    local_crisis_line_number: str = ""
    # The practice's admin phone: the last stop for an attention item nobody acknowledged
    # (after the one on call). Empty: escalation ends with the one on call.
    admin_phone: str = ""

    # Scripts: the practice's own words, where it wants them. The greeting may use {practice}
    # (the practice name) and nothing else in braces.
    greeting: str = Field(default=DEFAULT_GREETING, max_length=GREETING_MAX_LENGTH)
    # The settings below are checked here, at start and on the dashboard alike (which shows
    # these bounds), so that no value can break a call.
    # How soon a call-back usually comes (the wait-time script says so): 10 minutes to a day.
    callback_window_minutes: int = Field(default=120, ge=10, le=24 * 60)
    # The bridged call's timeLimit: the agreement says 10-15 minutes (Twilio allows 1 s-4 h).
    call_time_limit_minutes: int = Field(default=15, ge=5, le=60)
    # How long each therapist's phone rings (Twilio allows 5-600 s): enough to answer, short
    # enough that the caller is not left waiting before the next one is tried.
    dial_timeout_seconds: int = Field(default=20, ge=10, le=60)
    offer_voice_message: bool = True
    # Every path that ends without a therapist offers "press 1" for the 988 Lifeline.
    offer_lifeline: bool = True
    # The line offers Spanish as well as English: clients set to Spanish hear and read it, and
    # callers it doesn't know are offered it first ("Para español, oprima 2").
    offer_spanish: bool = False
    # The voice Spanish is read in: Amazon Polly's US Spanish neural voice, or its standard
    # one. The line switches to the standard one by itself when Twilio's Debugger reports it
    # refused the neural one (`app.twilio.debugger`).
    spanish_voice: str = NEURAL_SPANISH_VOICE
    # Therapists, like admins, must sign in with a TOTP code (an authenticator app).
    require_two_factor_for_therapists: bool = False

    log_level: str = "INFO"
    # The bearer token Prometheus sends to /metrics. Empty: /metrics is off (404). At least 16
    # printable characters without spaces, e.g. `openssl rand -hex 32`.
    metrics_token: str = Field(default="", pattern=r"^(?:[!-~]{16,})?$")
    # /docs, /redoc and /openapi.json for anyone; by default only for a signed-in user or an
    # API token.
    public_api_docs: bool = False
    # Threads that run the dashboard's and the API's handlers (each holds a database
    # connection while it works).
    request_threads: int = Field(default=4, ge=1)
    # Twilio's webhooks' own threads. Two: more only contend for the GIL and for SQLite's one
    # writer (measured: 4 gave a p99 at 10 concurrent calls about twice 2's).
    webhook_threads: int = Field(default=2, ge=1, le=32)
    # How long a webhook waits for the database, all of it (a thread, a connection, every
    # statement), before it answers without it: well inside Twilio's 15 s, so that a caller
    # hears the crisis resources within 3 s whatever the database does.
    webhook_database_seconds: float = Field(default=2.0, gt=0, le=10)
    # After a database failure, webhooks answer without it (the crisis resources) this long.
    database_rest_seconds: float = Field(default=5.0, ge=0, le=60)

    # Rate limits per calling and texting number ("N per M minutes"), counted per instance.
    call_rate_limit: str = "6 per 10 minutes"
    text_rate_limit: str = "20 per 10 minutes"
    # Hidden numbers are no one caller: a ceiling for all of them together, against a flood.
    withheld_call_rate_limit: str = "30 per minute"

    # Notification delivery.
    run_worker: bool = True
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    notification_max_attempts: int = Field(default=8, ge=1)
    twilio_http_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a worker holds a text it is sending before another worker may take it over (and
    # first ask Twilio whether it went out). Renewed before each send; keep it well above what
    # one send can take: a Messages list and a send, each up to TWILIO_HTTP_TIMEOUT_SECONDS.
    notification_lease_seconds: float = Field(default=60.0, gt=0)

    # Call records and texts older than this are purged (daily, by the worker; audited).
    retention_days: int = Field(default=365, ge=1)

    @field_validator("practice_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("twilio_phone_number", "local_crisis_line_number", "admin_phone")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not value:
            return value
        e164 = to_e164(value)
        if e164 is None:
            raise ValueError("not a valid phone number")
        return e164

    @field_validator("call_rate_limit", "text_rate_limit", "withheld_call_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError on anything it cannot read
        return value

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name == "public_base_url":
            return f"http://127.0.0.1:{info.data.get('port', 8000)}"
        return value.rstrip("/")

    @field_validator("greeting")
    @classmethod
    def _greeting(cls, value: str) -> str:
        problem = greeting_problem(value)
        if problem:
            raise ValueError(f"GREETING {problem}")
        return value

    @field_validator("practice_name", "local_crisis_line_name")
    @classmethod
    def _spoken_name(cls, value: str, info: ValidationInfo) -> str:
        # Spoken and texted: a control character makes TwiML that Twilio cannot read.
        if any(ord(ch) < 32 for ch in value):
            raise ValueError(f"{str(info.field_name).upper()} must not contain control characters")
        if info.field_name == "practice_name" and not value.strip():
            raise ValueError("PRACTICE_NAME must not be empty")
        return value

    @field_validator("spanish_voice")
    @classmethod
    def _spanish_voice(cls, value: str) -> str:
        # The input is not echoed (as everywhere here): the two allowed values are named.
        if value not in SPANISH_VOICES:
            raise ValueError(
                f"SPANISH_VOICE must be {NEURAL_SPANISH_VOICE} (neural, the default) or "
                f"{STANDARD_SPANISH_VOICE} (standard)"
            )
        return value

    @model_validator(mode="after")
    def _caller_id(self) -> Settings:
        # Without it the Dial has no callerId, and the client would see the therapist's number.
        if self.twilio_configured and not self.twilio_phone_number:
            raise ValueError(
                "TWILIO_PHONE_NUMBER is required with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: "
                "calls to therapists show it as their caller ID"
            )
        return self

    def with_changes(self, changes: dict[str, object]) -> Settings:
        """These settings with the dashboard's changes, each checked as if it came from the
        environment; a change that no longer validates is ignored, never fatal to a call."""
        known = {k: v for k, v in changes.items() if k in EDITABLE}
        try:
            checked = type(self).model_validate({**self.model_dump(), **known})
            return self.model_copy(update={k: getattr(checked, k) for k in known})
        except ValueError:
            pass
        valid: dict[str, object] = {}
        for key, value in known.items():
            try:
                checked = type(self).model_validate({**self.model_dump(), key: value})
            except ValueError:
                continue
            valid[key] = getattr(checked, key)
        return self.model_copy(update=valid)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.practice_timezone)

    @property
    def practice(self) -> Practice:
        """What the pure flow needs to know about the practice (see `Line.practice` for the
        dashboard's changes on top of these)."""
        local = None
        if self.local_crisis_line_number:
            local = CrisisLine(
                name=self.local_crisis_line_name or "the local crisis line",
                number=self.local_crisis_line_number,
            )
        return Practice(
            name=self.practice_name,
            tz=self.tz,
            line_number=self.twilio_phone_number,
            local_crisis_line=local,
            greeting=self.greeting,
            callback_window_minutes=self.callback_window_minutes,
            call_time_limit_seconds=self.call_time_limit_minutes * 60,
            dial_timeout_seconds=self.dial_timeout_seconds,
            offer_voice_message=self.offer_voice_message,
            offer_lifeline=self.offer_lifeline,
            languages=LANGUAGES_OFFERED[self.offer_spanish],
            spanish_voice=self.spanish_voice,
        )


def bounds(key: str) -> tuple[int | None, int | None, int | None]:
    """A setting's (minimum, maximum, max_length) as its Field declares them, for the forms
    that edit it (None where it has none)."""
    found: dict[str, int] = {}
    for rule in Settings.model_fields[key].metadata:  # annotated_types' Ge, Le, MaxLen
        for name in ("ge", "le", "max_length"):
            if isinstance(getattr(rule, name, None), int):
                found[name] = getattr(rule, name)
    return found.get("ge"), found.get("le"), found.get("max_length")
