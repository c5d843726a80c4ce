"""What happened: calls, notifications to therapists, and the audit log. Newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.api.deps import (
    AdminDep,
    ApiRoute,
    PagingDep,
    SessionDep,
    UserDep,
    is_admin,
    paginate,
    refusals,
    visible_client,
)
from app.api.schemas import MAX_ID, AuditOut, CallOut, NotificationOut, Page
from app.models import AuditEntry, Call, Client, Message
from ivr.codes import MessageKind

router = APIRouter(tags=["logs"], route_class=ApiRoute)


@router.get("/calls", summary="Calls to the line", responses=refusals(404))
def list_calls(
    session: SessionDep,
    user: UserDep,
    paging: PagingDep,
    client_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[CallOut]:
    """Newest first: who called (`client_id`, null for a number the line does not know), the way
    the call went (`route`), what happened (`outcome`), the therapist rung and the one who
    answered, Twilio's status, and for a missed call when it was returned. An admin sees every
    call, a therapist their own clients' calls; `client_id` lists one client's."""
    stmt = select(Call)
    if client_id is not None:
        visible_client(session, user, client_id)
        stmt = stmt.where(Call.client_id == client_id)
    if not is_admin(user):
        own = select(Client.id).where(Client.therapist_id == user.therapist_id)
        stmt = stmt.where(Call.client_id.in_(own))
    rows, total = paginate(session, stmt, paging, Call.started_at.desc(), Call.id.desc())
    return Page[CallOut](
        items=[CallOut.model_validate(c) for c in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/notifications", summary="Texts to therapists", responses=refusals(403))
def list_notifications(
    session: SessionDep, _user: AdminDep, paging: PagingDep
) -> Page[NotificationOut]:
    """Admins only. The line's texts to therapists (a missed call, a voice message, an item
    passed on to the one on call), newest first, with how their delivery went: `status`,
    `attempts` and the last error."""
    stmt = select(Message).where(Message.kind == MessageKind.NOTIFICATION)
    rows, total = paginate(session, stmt, paging, Message.created_at.desc(), Message.id.desc())
    return Page[NotificationOut](
        items=[NotificationOut.model_validate(m) for m in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/audit", summary="The audit log", responses=refusals(403))
def list_audit(
    session: SessionDep,
    _user: AdminDep,
    paging: PagingDep,
    entity: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[a-z_]+$",
            description="a kind of record: client, therapist, lockout, on_call_override, ...",
        ),
    ] = None,
    entity_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[AuditOut]:
    """Admins only. Every change, newest first: who made it (`actor`), what (`action` on the
    record `entity` `entity_id`), why, and the fields changed. `entity` and `entity_id` narrow
    it to one kind of record, or one record."""
    stmt = select(AuditEntry)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    rows, total = paginate(session, stmt, paging, AuditEntry.at.desc(), AuditEntry.id.desc())
    return Page[AuditOut](
        items=[AuditOut.model_validate(a) for a in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
