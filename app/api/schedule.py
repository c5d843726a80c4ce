"""The schedule: weekly coaching hours and the on-call rotation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from sqlalchemy import select

from app import therapists
from app.api.deps import (
    AdminDep,
    ApiRoute,
    LineDep,
    PagingDep,
    PathId,
    SessionDep,
    UserDep,
    actor,
    paginate,
    refusals,
    require_self_or_admin,
)
from app.api.schemas import MAX_ID, HoursWindowIn, HoursWindowOut, Page, ShiftCreate, ShiftOut
from app.models import OnCallShift

router = APIRouter(tags=["schedule"], route_class=ApiRoute)

# A week of split shifts fits easily; a list longer than this is a mistake.
MAX_WINDOWS = 50


@router.get(
    "/therapists/{therapist_id}/hours",
    summary="A therapist's weekly hours",
    responses=refusals(404),
)
def get_hours(therapist_id: PathId, session: SessionDep, _user: UserDep) -> list[HoursWindowOut]:
    """When the line rings this therapist first for their own clients' coaching calls (outside
    them, whoever is on call is rung): windows by weekday (Monday = 0), as `HH:MM` in the
    practice's time zone. No windows: any time. Every signed-in user."""
    return [HoursWindowOut.model_validate(h) for h in therapists.get_hours(session, therapist_id)]


@router.put(
    "/therapists/{therapist_id}/hours",
    summary="Replace a therapist's weekly hours",
    responses=refusals(403, 404),
)
def set_hours(
    therapist_id: PathId,
    windows: Annotated[list[HoursWindowIn], Body(max_length=MAX_WINDOWS)],
    line: LineDep,
    session: SessionDep,
    user: UserDep,
) -> list[HoursWindowOut]:
    """The list replaces all of the therapist's windows; an empty list removes them (then their
    clients' calls ring them any time). An `end` before `start` runs past midnight into the next
    day. The therapist themself or an admin."""
    require_self_or_admin(user, therapist_id)
    hours = therapists.set_hours(
        session,
        actor(user),
        line.now(),
        therapist_id,
        [therapists.HoursWindow(w.weekday, w.start, w.end) for w in windows],
    )
    session.commit()
    return [HoursWindowOut.model_validate(h) for h in hours]


@router.post(
    "/on-call-shifts", summary="Add an on-call shift", status_code=201, responses=refusals(403)
)
def add_shift(body: ShiftCreate, line: LineDep, session: SessionDep, user: AdminDep) -> ShiftOut:
    """Admins only. The therapist is on call from `starts_at` to `ends_at`, in addition to
    whoever the rotations or an override put on call."""
    shift = therapists.add_on_call_shift(session, actor(user), line.now(), **body.model_dump())
    session.commit()
    return ShiftOut.model_validate(shift)


@router.get("/on-call-shifts", summary="List on-call shifts")
def list_shifts(
    session: SessionDep,
    _user: UserDep,
    paging: PagingDep,
    therapist_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[ShiftOut]:
    """Newest first; `therapist_id` lists one therapist's. Every signed-in user."""
    stmt = select(OnCallShift)
    if therapist_id is not None:
        stmt = stmt.where(OnCallShift.therapist_id == therapist_id)
    rows, total = paginate(
        session, stmt, paging, OnCallShift.starts_at.desc(), OnCallShift.id.desc()
    )
    return Page[ShiftOut](
        items=[ShiftOut.model_validate(s) for s in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
