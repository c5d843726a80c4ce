"""The attention list: what needs a person (a missed call, a voice message, crisis words, a
high urge, a plea for contact, a therapist the line cannot text), and acknowledging it.

A therapist sees the items for them, escalated to them, or about their own clients; another
therapist's item is "not found". An admin sees all.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app import attention
from app.api.deps import (
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
)
from app.api.schemas import AcknowledgeIn, AttentionItemOut, Page

router = APIRouter(prefix="/attention", tags=["attention"], route_class=ApiRoute)


@router.get("", summary="The attention list")
def list_attention(
    session: SessionDep,
    user: UserDep,
    paging: PagingDep,
    include_acknowledged: Annotated[
        bool, Query(alias="all", description="also the acknowledged ones")
    ] = False,
) -> Page[AttentionItemOut]:
    """What needs a person, newest first: missed calls, voice messages, worrying texts, high
    urges, pleas for contact, a therapist the line cannot text. A therapist sees their own
    (theirs, escalated to them, or about their clients), an admin everyone's. `all=true`
    includes the acknowledged ones."""
    stmt = attention.visible_items(
        therapist_id=user.therapist_id,
        everyone=is_admin(user),
        include_acknowledged=include_acknowledged,
    )
    rows, total = paginate(session, stmt, paging, *attention.NEWEST_FIRST)
    return Page[AttentionItemOut](
        items=[AttentionItemOut.model_validate(item) for item in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/{item_id}/acknowledge", summary="Acknowledge an item", responses=refusals(404, 409))
def acknowledge(
    item_id: PathId,
    line: LineDep,
    session: SessionDep,
    user: UserDep,
    body: AcknowledgeIn | None = None,
) -> AttentionItemOut:
    """Marks an item handled, with an optional note (audited). A missed call needs the note,
    saying how the client was reached: it then counts as returned."""
    item = attention.get_item(
        session, item_id, therapist_id=user.therapist_id, everyone=is_admin(user)
    )
    note = body.note if body is not None else None
    attention.acknowledge(
        session, actor(user), line.now(), item, note, therapist_id=user.therapist_id
    )
    session.commit()
    return AttentionItemOut.model_validate(item)
