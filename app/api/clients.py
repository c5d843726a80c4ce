"""Clients: enrolment, phone numbers, and whether the 24-hour rule applies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clients, diary, lockouts
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
from app.line import Line
from app.models import Client
from ivr.scripts import Practice

router = APIRouter(prefix="/clients", tags=["clients"], route_class=ApiRoute)


_WORKED_OUT = ("locked_until", "spoken_language")


def client_out(client: Client, locked_until: datetime | None, practice: Practice) -> ClientOut:
    names = [name for name in ClientOut.model_fields if name not in _WORKED_OUT]
    fields = {name: getattr(client, name) for name in names}
    spoken = clients.spoken_language(practice, client)
    return ClientOut(**fields, locked_until=locked_until, spoken_language=spoken.value)


def _one(session: Session, line: Line, client: Client, now: datetime) -> ClientOut:
    locked_until = lockouts.client_locked_until(session, client, now)
    return client_out(client, locked_until, line.practice(session))


@router.post("", summary="Enrol a client", status_code=201, responses=refusals(403, 409))
def create_client(
    body: ClientCreate, line: LineDep, session: SessionDep, user: AdminDep
) -> ClientOut:
    """Admins only. `phone` is how the line knows the client when they call or text; it may not
    belong to anyone else on the line. `therapist_id` is their own therapist (active), rung
    first when they call for coaching. `lockout_rule_applies` (true unless said otherwise) says
    whether the 24-hour rule after self-harm applies to them; `sms_opted_out` that they texted
    STOP; `language` the language the line speaks and texts to them, `en` (the default) or
    `es`, spoken only while the practice offers Spanish; `diary_opt_in` that the diary card by
    text is on for them, prompted daily at `diary_prompt_time`."""
    now = line.now()
    fields = body.model_dump()
    card = {name: fields.pop(name) for name in diary.SETTINGS}
    client = clients.create_client(session, actor(user), now, **fields)
    diary.set_diary(session, actor(user), now, client, card)
    session.commit()
    return _one(session, line, client, now)


@router.get("", summary="List clients", responses=refusals(403))
def list_clients(
    line: LineDep,
    session: SessionDep,
    _user: AdminDep,
    paging: PagingDep,
    therapist_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[ClientOut]:
    """Admins only, in the order they were enrolled; `therapist_id` lists one therapist's
    clients. `locked_until` says when a client's 24-hour rule ends (null: not locked out);
    `spoken_language` the language the line speaks to them now."""
    stmt = select(Client)
    if therapist_id is not None:
        stmt = stmt.where(Client.therapist_id == therapist_id)
    rows, total = paginate(session, stmt, paging, Client.id)
    until = lockouts.locked_until_by_client(session, rows, line.now())
    practice = line.practice(session)
    return Page[ClientOut](
        items=[client_out(c, until.get(c.id), practice) for c in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/{client_id}", summary="One client", responses=refusals(403, 404))
def get_client(client_id: PathId, line: LineDep, session: SessionDep, _user: AdminDep) -> ClientOut:
    """Admins only. `locked_until` says when the client's 24-hour rule ends (null: not locked
    out); `spoken_language` the language the line speaks to them now (their `language` while the
    practice offers it, else English)."""
    return _one(session, line, clients.get_client(session, client_id), line.now())


@router.patch("/{client_id}", summary="Change a client", responses=refusals(403, 404, 409))
def update_client(
    client_id: PathId, body: ClientPatch, line: LineDep, session: SessionDep, user: AdminDep
) -> ClientOut:
    """Admins only. Send only the fields to change; the others stay as they are."""
    now = line.now()
    fields = body.given()
    card = {name: fields.pop(name) for name in diary.SETTINGS if name in fields}
    client = clients.update_client(session, actor(user), now, client_id, **fields)
    diary.set_diary(session, actor(user), now, client, card)
    session.commit()
    return _one(session, line, client, now)
