"""Therapists: the practice's coaches, and their "away until"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
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
    is_admin,
    paginate,
    refusals,
    require_self_or_admin,
)
from app.api.schemas import AwayIn, Page, TherapistCreate, TherapistOut, TherapistPatch
from app.models import Therapist, User

router = APIRouter(prefix="/therapists", tags=["therapists"], route_class=ApiRoute)


def therapist_out(user: User, therapist: Therapist) -> TherapistOut:
    """A therapist as this caller may see them: another therapist's phone number is an
    admin's to read (a therapist's token is no way to collect colleagues' numbers)."""
    out = TherapistOut.model_validate(therapist)
    if not (is_admin(user) or user.therapist_id == therapist.id):
        out.phone = None
    return out


@router.post("", summary="Add a therapist", status_code=201, responses=refusals(403, 409))
def create_therapist(
    body: TherapistCreate, line: LineDep, session: SessionDep, user: AdminDep
) -> TherapistOut:
    """Admins only. `phone` is the therapist's own phone, which the line rings for coaching
    calls and texts about missed calls; it may not belong to anyone else on the line. Any usual
    way of writing a US number is read, e.g. (314) 555-0142."""
    therapist = therapists.create_therapist(session, actor(user), line.now(), **body.model_dump())
    session.commit()
    return TherapistOut.model_validate(therapist)


@router.get("", summary="List therapists")
def list_therapists(
    session: SessionDep,
    user: UserDep,
    paging: PagingDep,
    active: Annotated[bool | None, Query(description="only active (or inactive) ones")] = None,
) -> Page[TherapistOut]:
    """Every signed-in user, in the order they were added. Another therapist's phone number is
    shown to admins only. `active=true` lists only the therapists the line may ring."""
    stmt = select(Therapist)
    if active is not None:
        stmt = stmt.where(Therapist.active.is_(active))
    rows, total = paginate(session, stmt, paging, Therapist.id)
    return Page[TherapistOut](
        items=[therapist_out(user, t) for t in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/{therapist_id}", summary="One therapist", responses=refusals(404))
def get_therapist(therapist_id: PathId, session: SessionDep, user: UserDep) -> TherapistOut:
    """Every signed-in user; another therapist's phone number is shown to admins only."""
    return therapist_out(user, therapists.get_therapist(session, therapist_id))


@router.patch("/{therapist_id}", summary="Change a therapist", responses=refusals(403, 404, 409))
def update_therapist(
    therapist_id: PathId, body: TherapistPatch, line: LineDep, session: SessionDep, user: AdminDep
) -> TherapistOut:
    """Admins only. Send only the fields to change; the others stay as they are. An inactive
    therapist is not rung for coaching calls."""
    therapist = therapists.update_therapist(
        session, actor(user), line.now(), therapist_id, **body.given()
    )
    session.commit()
    return TherapistOut.model_validate(therapist)


@router.post("/{therapist_id}/away", summary="Mark a therapist away", responses=refusals(403, 404))
def set_away(
    therapist_id: PathId, body: AwayIn, line: LineDep, session: SessionDep, user: UserDep
) -> TherapistOut:
    """No coaching calls ring this therapist before `until` (vacation, a day of sessions); their
    clients' calls go to whoever is on call. The therapist themself or an admin."""
    require_self_or_admin(user, therapist_id)
    therapist = therapists.set_away(session, actor(user), line.now(), therapist_id, body.until)
    session.commit()
    return therapist_out(user, therapist)


@router.delete("/{therapist_id}/away", summary="Back from away", responses=refusals(403, 404))
def clear_away(
    therapist_id: PathId, line: LineDep, session: SessionDep, user: UserDep
) -> TherapistOut:
    """The therapist is rung again from now. The therapist themself or an admin."""
    require_self_or_admin(user, therapist_id)
    therapist = therapists.clear_away(session, actor(user), line.now(), therapist_id)
    session.commit()
    return therapist_out(user, therapist)
