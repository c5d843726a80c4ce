"""The on-call rotation: rotations, one-off overrides, who is on call, and coverage gaps.

An admin changes the schedule (each change audited); every signed-in user may read it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from app import oncall, schedule
from app.api.deps import (
    AdminDep,
    ApiRoute,
    LineDep,
    PagingDep,
    PathId,
    SessionDep,
    UserDep,
    actor,
    is_admin,
    paginate,
    refusals,
    require_self_or_admin,
)
from app.api.oncall_schemas import (
    CalendarOut,
    GapOut,
    NextOut,
    OnCallOut,
    OnCallTherapistOut,
    OverrideCreate,
    OverrideOut,
    RotationCreate,
    RotationOut,
    RotationPatch,
    WarningOut,
)
from app.api.schemas import (
    MAX_ID,
    Instant,
    Page,
)
from app.domain import Invalid
from app.line import Line
from app.models import OnCallOverride, Rotation, User
from app.therapists import get_therapist as get_therapist_row
from ivr.oncall import Gap

router = APIRouter(tags=["on call"], route_class=ApiRoute)


# ---- helpers ------------------------------------------------------------------------------


def calendar_url(line: Line, kind: str, token: str) -> str:
    return f"{line.settings.public_base_url}/ical/{kind}/{token}.ics"


def rotation_out(line: Line, rotation: Rotation) -> RotationOut:
    return RotationOut(
        id=rotation.id,
        name=rotation.name,
        starts_on=rotation.starts_on,
        handoff_time=rotation.handoff_time,
        turn_days=rotation.turn_days,
        active=rotation.active,
        therapist_ids=schedule.member_ids(rotation),
        created_at=rotation.created_at,
        calendar_url=calendar_url(line, "rotations", rotation.ical_token),
    )


def _on_call_out(entries: list[oncall.OnCallEntry]) -> list[OnCallTherapistOut]:
    return [
        OnCallTherapistOut(
            therapist_id=e.therapist.id, name=e.therapist.name, source=e.source, until=e.until
        )
        for e in entries
    ]


def override_out(user: User, override: OnCallOverride) -> OverrideOut:
    out = OverrideOut.model_validate(override)
    if not (is_admin(user) or user.therapist_id == override.therapist_id):
        out.reason = None
    return out


def _gap_out(gap: Gap) -> GapOut:
    return GapOut(from_=gap.starts_at, to=gap.ends_at)


# ---- rotations ----------------------------------------------------------------------------


@router.post(
    "/rotations", summary="Add an on-call rotation", status_code=201, responses=refusals(403)
)
def create_rotation(
    body: RotationCreate, line: LineDep, session: SessionDep, user: AdminDep
) -> RotationOut:
    """Admins only. The members take turns of `turn_days`, handing off at `handoff_time` in the
    practice's time zone (it stays at that local time across daylight-saving changes), starting
    on `starts_on`."""
    rotation = schedule.create_rotation(session, actor(user), line.now(), **body.model_dump())
    session.commit()
    return rotation_out(line, rotation)


@router.get("/rotations", summary="List on-call rotations")
def list_rotations(
    line: LineDep,
    session: SessionDep,
    _user: UserDep,
    paging: PagingDep,
    active: Annotated[bool | None, Query(description="only active (or inactive) ones")] = None,
) -> Page[RotationOut]:
    """Every signed-in user; `active` lists only active (or inactive) ones. Each carries the
    secret URL of its calendar feed."""
    stmt = select(Rotation)
    if active is not None:
        stmt = stmt.where(Rotation.active.is_(active))
    rows, total = paginate(session, stmt, paging, Rotation.id)
    return Page[RotationOut](
        items=[rotation_out(line, r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/rotations/{rotation_id}", summary="One on-call rotation", responses=refusals(404))
def get_rotation(
    rotation_id: PathId, line: LineDep, session: SessionDep, _user: UserDep
) -> RotationOut:
    """Every signed-in user."""
    return rotation_out(line, schedule.get_rotation(session, rotation_id))


@router.patch(
    "/rotations/{rotation_id}", summary="Change an on-call rotation", responses=refusals(403, 404)
)
def update_rotation(
    rotation_id: PathId, body: RotationPatch, line: LineDep, session: SessionDep, user: AdminDep
) -> RotationOut:
    """Admins only. Send only the fields to change; `therapist_ids` replaces the members, in
    turn order."""
    rotation = schedule.update_rotation(
        session, actor(user), line.now(), rotation_id, **body.given()
    )
    session.commit()
    return rotation_out(line, rotation)


@router.post(
    "/rotations/{rotation_id}/calendar/reset",
    summary="A new calendar URL for a rotation",
    responses=refusals(403, 404),
)
def reset_rotation_calendar(
    rotation_id: PathId, line: LineDep, session: SessionDep, user: AdminDep
) -> RotationOut:
    """Admins only. The old URL stops working: for a feed shared too widely."""
    rotation = schedule.reset_rotation_calendar(session, actor(user), line.now(), rotation_id)
    session.commit()
    return rotation_out(line, rotation)


# ---- a therapist's calendar feed ----------------------------------------------------------


@router.get(
    "/therapists/{therapist_id}/calendar",
    summary="A therapist's calendar URL",
    responses=refusals(403, 404),
)
def therapist_calendar(
    therapist_id: PathId, line: LineDep, session: SessionDep, user: UserDep
) -> CalendarOut:
    """The secret URL of the therapist's on-call calendar feed, for a calendar app. The
    therapist themself or an admin."""
    require_self_or_admin(user, therapist_id)
    therapist = get_therapist_row(session, therapist_id)
    return CalendarOut(url=calendar_url(line, "therapists", therapist.ical_token))


@router.post(
    "/therapists/{therapist_id}/calendar/reset",
    summary="A new calendar URL for a therapist",
    responses=refusals(403, 404),
)
def reset_therapist_calendar(
    therapist_id: PathId, line: LineDep, session: SessionDep, user: UserDep
) -> CalendarOut:
    """The old URL stops working. The therapist themself or an admin."""
    require_self_or_admin(user, therapist_id)
    therapist = schedule.reset_therapist_calendar(session, actor(user), line.now(), therapist_id)
    session.commit()
    return CalendarOut(url=calendar_url(line, "therapists", therapist.ical_token))


# ---- overrides ----------------------------------------------------------------------------


@router.post(
    "/on-call-overrides",
    summary="Add an on-call override",
    status_code=201,
    responses=refusals(403),
)
def add_override(
    body: OverrideCreate, line: LineDep, session: SessionDep, user: AdminDep
) -> OverrideOut:
    """Admins only. A one-off swap: this therapist is on call instead of the rotations from
    `starts_at` to `ends_at`."""
    override = schedule.add_override(session, actor(user), line.now(), **body.model_dump())
    session.commit()
    return OverrideOut.model_validate(override)


@router.get("/on-call-overrides", summary="List on-call overrides")
def list_overrides(
    session: SessionDep,
    user: UserDep,
    paging: PagingDep,
    therapist_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[OverrideOut]:
    """Newest first; `therapist_id` lists one therapist's. The reason shows to admins and to the
    therapist themself only."""
    stmt = select(OnCallOverride)
    if therapist_id is not None:
        stmt = stmt.where(OnCallOverride.therapist_id == therapist_id)
    rows, total = paginate(
        session, stmt, paging, OnCallOverride.starts_at.desc(), OnCallOverride.id.desc()
    )
    return Page[OverrideOut](
        items=[override_out(user, o) for o in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.delete(
    "/on-call-overrides/{override_id}",
    summary="Remove an on-call override",
    status_code=204,
    responses=refusals(403, 404),
)
def delete_override(
    override_id: PathId, line: LineDep, session: SessionDep, user: AdminDep
) -> Response:
    """Admins only. The rotations apply again for its period."""
    schedule.delete_override(session, actor(user), line.now(), override_id)
    session.commit()
    return Response(status_code=204)


# ---- who is on call -----------------------------------------------------------------------


@router.get("/on-call", summary="Who is on call")
def who_is_on_call(
    line: LineDep,
    session: SessionDep,
    _user: UserDep,
    at: Annotated[
        Instant | None, Query(description="an instant with a UTC offset; default now")
    ] = None,
) -> OnCallOut:
    """Who is on call at `at` (default now) and until when, in the order they are rung, and who
    is on call next. `warnings` lists the gaps in on-call cover in the coming 7 days (from now,
    whatever `at` is). Every signed-in user."""
    tz = line.settings.tz
    now = line.now()
    instant = now if at is None else schedule.check_instant(at, "the time asked about")
    report = oncall.on_call_report(session, instant, tz)
    upcoming = oncall.upcoming_gaps(session, now, tz)
    return OnCallOut(
        at=instant,
        on_call=_on_call_out(report.on_call),
        next=(
            NextOut(at=report.next_at, on_call=_on_call_out(report.next_on_call))
            if report.next_at is not None
            else None
        ),
        warnings=[
            WarningOut(from_=g.starts_at, to=g.ends_at, message=oncall.gap_message(g, tz))
            for g in upcoming
        ],
    )


@router.get("/on-call/gaps", summary="Gaps in on-call cover")
def coverage_gaps(
    line: LineDep,
    session: SessionDep,
    _user: UserDep,
    from_: Annotated[Instant | None, Query(alias="from", description="default now")] = None,
    to: Annotated[
        Instant | None, Query(description="default 7 days after `from`; at most 92")
    ] = None,
) -> list[GapOut]:
    """The periods from `from` to `to` (default: the coming 7 days; at most 92 days) when no
    active therapist is on call. Every signed-in user."""
    start = line.now() if from_ is None else schedule.check_instant(from_, "the start of the span")
    end = (
        start + oncall.WARN_AHEAD
        if to is None
        else schedule.check_instant(to, "the end of the span")
    )
    if end <= start:
        raise Invalid("The end of the period (to) must be after its start (from).")
    if end - start > oncall.MAX_GAP_RANGE:
        raise Invalid(f"The period may be at most {oncall.MAX_GAP_RANGE.days} days long.")
    return [_gap_out(g) for g in oncall.gaps(session, start, end, line.settings.tz)]
