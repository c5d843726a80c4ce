"""The on-call API's request and response bodies (`app.api.oncall` serves them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app import schedule
from app.api.schemas import ClockTime, ClockTimeOut, Day, DbId, Flag, Instant, Patch


class Body(BaseModel):
    """A request body: an unknown field is a 422, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


RotationName = Annotated[str, Field(max_length=400, examples=["Evening team"])]
TurnDays = Annotated[int, Field(strict=True, ge=1, le=schedule.MAX_TURN_DAYS)]
MemberIds = Annotated[
    list[DbId],
    Field(
        min_length=1,
        max_length=schedule.MAX_MEMBERS,
        description="in turn order; a therapist may take more than one place",
    ),
]


class RotationCreate(Body):
    name: RotationName
    starts_on: Day = Field(description="the local date of the first handoff")
    handoff_time: ClockTime = Field(description="local time of each handoff, HH:MM")
    turn_days: TurnDays = 7
    therapist_ids: MemberIds
    active: Flag = True


class RotationPatch(Patch):
    name: RotationName | None = None
    starts_on: Day | None = None
    handoff_time: ClockTime | None = None
    turn_days: TurnDays | None = None
    therapist_ids: MemberIds | None = None
    active: Flag | None = None


class RotationOut(BaseModel):
    id: int
    name: str
    starts_on: date
    handoff_time: ClockTimeOut
    turn_days: int
    active: bool
    therapist_ids: list[int]
    created_at: datetime
    calendar_url: str = Field(description="the whole rotation as an iCal feed (a secret URL)")


class OverrideCreate(Body):
    therapist_id: DbId
    starts_at: Instant
    ends_at: Instant
    reason: Annotated[str, Field(max_length=4000)] | None = None


class OverrideOut(Row):
    id: int
    therapist_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None = Field(
        description="null when none was given, or for another therapist's override: only an "
        "admin and the therapist themself see why (it can be as private as 'surgery')"
    )
    created_at: datetime


class OnCallTherapistOut(BaseModel):
    therapist_id: int
    name: str
    source: Literal["override", "rotation", "shift"]
    until: datetime | None = Field(description="when they stop being on call; null: not soon")


class NextOut(BaseModel):
    at: datetime
    on_call: list[OnCallTherapistOut]


class GapOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime


class WarningOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    kind: Literal["gap"] = "gap"
    from_: datetime = Field(alias="from")
    to: datetime
    message: str


class OnCallOut(BaseModel):
    at: datetime
    on_call: list[OnCallTherapistOut]
    next: NextOut | None = Field(description="the next change of who is on call")
    warnings: list[WarningOut] = Field(description="on-call gaps in the coming 7 days")


class CalendarOut(BaseModel):
    url: str
