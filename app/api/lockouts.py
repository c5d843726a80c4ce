"""Lockouts: the 24-hour rule, recorded and lifted. Therapists act on their own clients only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import select

from app import lockouts
from app.api.deps import (
    ApiRoute,
    LineDep,
    PagingDep,
    PathId,
    SessionDep,
    UserDep,
    actor,
    paginate,
    refusals,
    visible_client,
)
from app.api.schemas import LiftIn, LockoutCreate, LockoutOut, Page
from app.domain import NotFound
from app.models import Lockout

router = APIRouter(tags=["lockouts"], route_class=ApiRoute)


def lockout_out(lockout: Lockout, now: datetime) -> LockoutOut:
    fields = {name: getattr(lockout, name) for name in LockoutOut.model_fields if name != "active"}
    return LockoutOut(**fields, active=lockouts.lockout_is_active(lockout, now))


@router.post(
    "/clients/{client_id}/lockouts",
    summary="Record a self-harm event (the 24-hour rule)",
    status_code=201,
    responses=refusals(404, 409),
)
def record_lockout(
    client_id: PathId, body: LockoutCreate, line: LineDep, session: SessionDep, user: UserDep
) -> LockoutOut:
    """The client cannot reach coaching by phone for 24 hours from `occurred_at` (default: now):
    a call in that time hears that coaching isn't available, and the crisis resources, instead
    of ringing a therapist. `note` is optional. Admins for any client, a therapist for their own
    clients."""
    visible_client(session, user, client_id)
    now = line.now()
    lockout = lockouts.record_lockout(
        session, actor(user), now, client_id, occurred_at=body.occurred_at, note=body.note
    )
    session.commit()
    return lockout_out(lockout, now)


@router.get("/clients/{client_id}/lockouts", summary="A client's lockouts", responses=refusals(404))
def list_lockouts(
    client_id: PathId, line: LineDep, session: SessionDep, user: UserDep, paging: PagingDep
) -> Page[LockoutOut]:
    """Newest first, lifted and expired ones too; `active` is true for the one in force now.
    Admins, or the client's own therapist."""
    visible_client(session, user, client_id)
    now = line.now()
    stmt = select(Lockout).where(Lockout.client_id == client_id)
    rows, total = paginate(session, stmt, paging, Lockout.starts_at.desc(), Lockout.id.desc())
    return Page[LockoutOut](
        items=[lockout_out(lo, now) for lo in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/lockouts/{lockout_id}/lift", summary="Lift a lockout", responses=refusals(404, 409))
def lift_lockout(
    lockout_id: PathId, body: LiftIn, line: LineDep, session: SessionDep, user: UserDep
) -> LockoutOut:
    """Ends the 24-hour rule early (a lockout recorded in error, say). `reason` is required and
    kept in the audit log. Admins, or the client's own therapist."""
    lockout = lockouts.get_lockout(session, lockout_id)
    try:
        visible_client(session, user, lockout.client_id)
    except NotFound:
        raise NotFound(f"lockout {lockout_id} not found") from None
    now = line.now()
    lockout = lockouts.lift_lockout(session, actor(user), now, lockout_id, body.reason)
    session.commit()
    return lockout_out(lockout, now)
