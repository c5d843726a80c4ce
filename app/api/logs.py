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


@router.get("/calls", responses=refusals(404))
def list_calls(
    session: SessionDep,
    user: UserDep,
    paging: PagingDep,
    client_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[CallOut]:
    """An admin sees every call; a therapist sees their own clients' calls."""
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


@router.get("/notifications", responses=refusals(403))
def list_notifications(
    session: SessionDep, _user: AdminDep, paging: PagingDep
) -> Page[NotificationOut]:
    """Notifications to therapists, with their delivery status."""
    stmt = select(Message).where(Message.kind == MessageKind.NOTIFICATION)
    rows, total = paginate(session, stmt, paging, Message.created_at.desc(), Message.id.desc())
    return Page[NotificationOut](
        items=[NotificationOut.model_validate(m) for m in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/audit", responses=refusals(403))
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
