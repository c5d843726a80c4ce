"""Clients: enrolment, phone numbers, and whether the 24-hour rule applies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clients, lockouts
from app.api.deps import (
    AdminDep,
    ApiRoute,
    LineDep,
    PagingDep,
    PathId,
    SessionDep,
    actor,
    paginate,
    refusals,
)
from app.api.schemas import MAX_ID, ClientCreate, ClientOut, ClientPatch, Page
from app.models import Client

router = APIRouter(prefix="/clients", tags=["clients"], route_class=ApiRoute)


def client_out(client: Client, locked_until: datetime | None) -> ClientOut:
    names = [name for name in ClientOut.model_fields if name != "locked_until"]
    fields = {name: getattr(client, name) for name in names}
    return ClientOut(**fields, locked_until=locked_until)


def _one(session: Session, client: Client, now: datetime) -> ClientOut:
    return client_out(client, lockouts.client_locked_until(session, client, now))


@router.post("", status_code=201, responses=refusals(403, 409))
def create_client(
    body: ClientCreate, line: LineDep, session: SessionDep, user: AdminDep
) -> ClientOut:
    now = line.now()
    client = clients.create_client(session, actor(user), now, **body.model_dump())
    session.commit()
    return _one(session, client, now)


@router.get("", responses=refusals(403))
def list_clients(
    line: LineDep,
    session: SessionDep,
    _user: AdminDep,
    paging: PagingDep,
    therapist_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[ClientOut]:
    stmt = select(Client)
    if therapist_id is not None:
        stmt = stmt.where(Client.therapist_id == therapist_id)
    rows, total = paginate(session, stmt, paging, Client.id)
    until = lockouts.locked_until_by_client(session, rows, line.now())
    return Page[ClientOut](
        items=[client_out(c, until.get(c.id)) for c in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/{client_id}", responses=refusals(403, 404))
def get_client(client_id: PathId, line: LineDep, session: SessionDep, _user: AdminDep) -> ClientOut:
    return _one(session, clients.get_client(session, client_id), line.now())


@router.patch("/{client_id}", responses=refusals(403, 404, 409))
def update_client(
    client_id: PathId, body: ClientPatch, line: LineDep, session: SessionDep, user: AdminDep
) -> ClientOut:
    now = line.now()
    client = clients.update_client(session, actor(user), now, client_id, **body.given())
    session.commit()
    return _one(session, client, now)
