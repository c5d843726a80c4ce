"""The admin API's request and response bodies.

Requests forbid unknown fields (a typo is a 422, not a silent no-op) and reuse the checks of
`app.domain`, so the API and the command line accept exactly the same values.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app import domain
from app.clients import check_language

# The largest id a 32-bit integer column holds: bigger ids are bad input, not a database error.
MAX_ID = 2_147_483_647

DbId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Name = Annotated[str, Field(max_length=400), AfterValidator(domain.clean_name)]
Phone = Annotated[
    str,
    Field(max_length=40, examples=["(314) 555-0142"]),
    AfterValidator(domain.normalise_phone),
]
Flag = Annotated[bool, Field(strict=True)]
Note = Annotated[
    str,
    Field(max_length=domain.TEXT_MAX * 2),
    AfterValidator(lambda v: domain.clean_text(v, "note")),
]
Reason = Annotated[
    str,
    Field(max_length=domain.TEXT_MAX * 2),
    AfterValidator(lambda v: domain.clean_text(v, "reason", required=True)),
]

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _parse_hhmm(value: Any) -> Any:
    # Its own error type, so that app.api.errors words it with the field's name.
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise PydanticCustomError("clock_time", 'expected a time as "HH:MM", 00:00 to 23:59')
    return time(int(match[1]), int(match[2]))


# Documented as what it is, a string "HH:MM" (not JSON Schema's "time", which has seconds).
_HHMM_SCHEMA = WithJsonSchema({"type": "string", "pattern": _HHMM.pattern, "examples": ["18:00"]})
# In: exactly "HH:MM" (no seconds, no offset: hours are wall-clock times in the practice's zone).
ClockTime = Annotated[time, BeforeValidator(_parse_hhmm), _HHMM_SCHEMA]
# Out: the same "HH:MM".
ClockTimeOut = Annotated[
    time, PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str), _HHMM_SCHEMA
]

_NUMBER = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def _iso_8601(value: Any) -> Any:
    """pydantic would also read a number, or a string of digits, as seconds (or, by its size,
    milliseconds) since 1970: a guess the API does not make."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise PydanticCustomError(
            "iso_8601_text", "expected ISO 8601 text, e.g. 2026-11-27T21:42:00-06:00 or 2026-11-27"
        )
    return value


# Instants and dates in: ISO 8601 text, never a number. An instant has its UTC offset.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]
Day = Annotated[date, BeforeValidator(_iso_8601)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patch(Request):
    """A partial update: absent fields stay as they are; null is refused (nothing is nullable)."""

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise PydanticCustomError(
                "null_fields", "may not be null: {fields}", {"fields": ", ".join(nulls)}
            )
        return self

    def given(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.model_fields_set}


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Every list: newest first where it is a log, `total` counts all matches."""

    items: list[T]
    total: int
    limit: int
    offset: int


# ---- refusals -----------------------------------------------------------------------------


class Refusal(BaseModel):
    detail: str = Field(description="why, in words safe to show the person who asked")


class FieldError(BaseModel):
    """One value that could not be read (entries may carry more keys, such as `input`)."""

    loc: list[str | int] = Field(
        description='where the value is: "body", "query" or "path", then the field, e.g. '
        '["body", "occurred_at"]'
    )
    msg: str = Field(description="what is wrong with it, in words")
    type: str = Field(description="the kind of problem, for programs, e.g. missing")


class BadInput(BaseModel):
    detail: str | list[FieldError] = Field(
        description="a sentence for a value the records refuse, or one entry per malformed field"
    )


# ---- therapists ---------------------------------------------------------------------------


class TherapistCreate(Request):
    name: Name
    phone: Phone
    active: Flag = True


class TherapistPatch(Patch):
    name: Name | None = None
    phone: Phone | None = None
    active: Flag | None = None


class TherapistOut(Response):
    id: int
    name: str
    phone: str | None = Field(
        description="null for another therapist's: only an admin and the therapist themself see it"
    )
    active: bool
    away_until: datetime | None
    sms_opted_out: bool = Field(
        description="they replied STOP to the line: it cannot text them until they text START"
    )
    created_at: datetime


class AwayIn(Request):
    until: Instant


class HoursWindowIn(Request):
    weekday: Annotated[int, Field(strict=True, ge=0, le=6, description="Monday = 0")]
    start: ClockTime
    end: ClockTime = Field(description="before start: the window runs past midnight")


class HoursWindowOut(Response):
    weekday: int
    start: ClockTimeOut
    end: ClockTimeOut


# ---- clients ------------------------------------------------------------------------------


_DIARY_PROMPT = (
    "the diary card's daily prompt, \"HH:MM\" in the practice's time zone; null: no prompt "
    '(the client can still text "diary")'
)


_LANGUAGE = (
    'the client\'s language: "en" (English) or "es" (Spanish), what the line speaks and texts '
    "to them. Kept as given even while the practice does not offer Spanish (the OFFER_SPANISH "
    "setting, off by default): until it does, the line speaks English to them "
    "(`spoken_language` says which it speaks now)"
)
# Exactly "en" or "es": anything else is refused in the records' own words.
ClientLanguage = Annotated[
    Literal["en", "es"],
    BeforeValidator(check_language),
    Field(description=_LANGUAGE, examples=["es"]),
]


class ClientCreate(Request):
    name: Name
    phone: Phone
    therapist_id: DbId
    lockout_rule_applies: Flag = True
    sms_opted_out: Flag = False
    language: ClientLanguage = "en"
    diary_opt_in: Flag = False
    diary_prompt_time: ClockTime | None = Field(default=None, description=_DIARY_PROMPT)


class ClientPatch(Patch):
    name: Name | None = None
    phone: Phone | None = None
    therapist_id: DbId | None = None
    lockout_rule_applies: Flag | None = None
    sms_opted_out: Flag | None = None
    language: ClientLanguage | None = Field(default=None, description=_LANGUAGE)
    diary_opt_in: Flag | None = None
    diary_prompt_time: ClockTime | None = Field(default=None, description=_DIARY_PROMPT)

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        # As Patch's, except that a null prompt time means "no daily prompt".
        nulls = sorted(
            f for f in self.model_fields_set - {"diary_prompt_time"} if getattr(self, f) is None
        )
        if nulls:
            raise PydanticCustomError(
                "null_fields", "may not be null: {fields}", {"fields": ", ".join(nulls)}
            )
        return self


class ClientOut(Response):
    id: int
    name: str
    phone: str
    therapist_id: int
    lockout_rule_applies: bool
    sms_opted_out: bool
    language: str = Field(description=_LANGUAGE)
    spoken_language: str = Field(
        description="the language the line speaks and texts to the client now: `language` "
        'while the practice offers it, else "en"'
    )
    diary_opt_in: bool
    diary_prompt_time: ClockTimeOut | None
    created_at: datetime
    locked_until: datetime | None = Field(
        description="when the 24-hour rule ends for this client; null when not locked out"
    )


# ---- lockouts -----------------------------------------------------------------------------


class LockoutCreate(Request):
    occurred_at: Instant | None = Field(
        default=None, description="when the self-harm happened, with a UTC offset; default now"
    )
    note: Note | None = None


class LiftIn(Request):
    reason: Reason


class LockoutOut(Response):
    id: int
    client_id: int
    starts_at: datetime
    ends_at: datetime
    note: str | None
    created_by: str
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None
    active: bool = Field(description="starts_at <= now < ends_at and not lifted, at the request")


# ---- schedule -----------------------------------------------------------------------------


class ShiftCreate(Request):
    therapist_id: DbId
    starts_at: Instant
    ends_at: Instant


class ShiftOut(Response):
    id: int
    therapist_id: int
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


# ---- logs ---------------------------------------------------------------------------------


class CallOut(Response):
    id: int
    call_sid: str
    client_id: int | None
    route: str
    outcome: str
    therapist_id: int | None
    accepted_therapist_id: int | None
    twilio_status: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    returned_at: datetime | None = Field(
        description="a missed call: when a therapist reached the client (null: not yet)"
    )
    returned_by_therapist_id: int | None = Field(
        validation_alias="returned_by", description="who returned it"
    )
    voice_message_seconds: int | None = Field(
        description="the length of the voice message the caller left (null: none, or not known)"
    )


class NotificationOut(Response):
    id: int
    therapist_id: int | None = Field(description="the recipient")
    to: str | None = Field(validation_alias="to_phone")
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class AuditOut(Response):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    reason: str | None
    changes: dict[str, Any] | None


# ---- attention ----------------------------------------------------------------------------


class AcknowledgeIn(Request):
    note: Note | None = Field(
        default=None,
        description="optional, but a missed call needs one: how the client was reached",
    )


class AttentionItemOut(Response):
    id: int
    kind: str = Field(
        description="missed_call, voice_message, crisis_text, high_urge, contact_plea, "
        "diary_urge, pin_locked or therapist_unreachable"
    )
    client_id: int | None
    therapist_id: int | None = Field(description="who it is for")
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_note: str | None
    escalations: int = Field(description="0: not escalated; 1: to the one on call; 2: admin phone")
