"""The attention list on the Today page: each item that needs a person, in words a therapist
reads, and acknowledging one from its row (audited by `app.attention`). Also the count of open
items beside "Today" in the navigation, on every page.

The dashboard is where clinical detail may be seen: a crisis or plea text shows the client's
own words here (never in texts or logs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import object_session

from app import attention
from app.domain import Conflict, Invalid, NotFound
from app.models import AttentionItem, Call, Client, Message, Therapist, User
from app.web.errors import not_found
from app.web.forms import Form, field_text
from app.web.pages import Page, PageDep
from app.web.paging import as_id
from app.web.render import templates
from app.web.times import span
from ivr.codes import AttentionKind
from ivr.scripts import first_name

router = APIRouter(include_in_schema=False)

WHAT = {
    AttentionKind.MISSED_CALL: "Missed call",
    AttentionKind.VOICE_MESSAGE: "Voice message",
    AttentionKind.CRISIS_TEXT: "Crisis words in a text",
    AttentionKind.HIGH_URGE: "High urge on a check-in",
    AttentionKind.CONTACT_PLEA: "Asked for a call",
    AttentionKind.THERAPIST_UNREACHABLE: "Can't receive texts",
    AttentionKind.PIN_LOCKED: "PIN locked after five wrong PINs",
    AttentionKind.DIARY_URGE: "High urge or acted on one, on a diary card",
}
# The kinds that came from a client's text, shown with the text itself.
FROM_A_TEXT = {
    AttentionKind.CRISIS_TEXT,
    AttentionKind.HIGH_URGE,
    AttentionKind.CONTACT_PLEA,
    AttentionKind.DIARY_URGE,
}


@dataclass(frozen=True)
class Row:
    item: AttentionItem
    what: str
    client: Client | None
    # The client's page is theirs to open (an admin, or the client's own therapist); anyone
    # else (the one on call, handling an escalation) sees the first name only, as on the phone.
    client_link: bool
    client_name: str
    about_therapist: str | None  # "can't receive texts": who
    about_you: bool
    for_name: str | None
    text: str | None  # the client's words (a crisis, plea or check-in text)
    call: Call | None
    overdue: str | None  # why it is late, when it is
    escalation: str | None

    @property
    def needs_note(self) -> bool:
        return self.item.kind == AttentionKind.MISSED_CALL


def _escalation(item: AttentionItem, ctx: Page, names: dict[int, str]) -> str | None:
    if item.escalations >= 2:
        return "sent to the practice's admin phone"
    if item.escalations == 1:
        if item.escalated_to_id is not None and item.escalated_to_id == ctx.therapist_id:
            return "sent to you as the one on call"
        name = names.get(item.escalated_to_id) if item.escalated_to_id else None
        return f"sent to the one on call ({name})" if name else "sent to the one on call"
    return None


def _by_id(ctx: Page, model, ids: set[int]) -> dict[int, object]:
    if not ids:
        return {}
    return {row.id: row for row in ctx.db.scalars(select(model).where(model.id.in_(ids)))}


def attention_rows(ctx: Page, window_minutes: int) -> list[Row]:
    """The signed-in person's open items (everyone's for an admin), newest first."""
    items = attention.list_items(ctx.db, therapist_id=ctx.therapist_id, everyone=ctx.is_admin)
    names = dict(ctx.db.execute(select(Therapist.id, Therapist.name)).all())
    clients = _by_id(ctx, Client, {i.client_id for i in items if i.client_id})
    calls = _by_id(ctx, Call, {i.call_id for i in items if i.call_id})
    texts = _by_id(
        ctx, Message, {i.message_id for i in items if i.message_id and i.kind in FROM_A_TEXT}
    )
    window = timedelta(minutes=window_minutes)
    rows = []
    for item in items:
        client = clients.get(item.client_id) if item.client_id else None
        own = client is not None and (ctx.is_admin or client.therapist_id == ctx.therapist_id)
        unreachable = item.kind == AttentionKind.THERAPIST_UNREACHABLE
        text = texts.get(item.message_id) if item.message_id else None
        rows.append(
            Row(
                item=item,
                what=WHAT.get(item.kind, item.kind),
                client=client,
                client_link=own,
                client_name=(client.name if own else first_name(client.name)) if client else "",
                about_therapist=names.get(item.therapist_id) if unreachable else None,
                about_you=unreachable and item.therapist_id == ctx.therapist_id,
                for_name=_for_name(item, ctx, names) if not unreachable else None,
                text=text.body if text is not None else None,
                call=calls.get(item.call_id) if item.call_id else None,
                overdue=_overdue(item, ctx, window),
                escalation=_escalation(item, ctx, names),
            )
        )
    return rows


def _overdue(item: AttentionItem, ctx: Page, window: timedelta) -> str | None:
    """Open longer than the practice's window: escalation is due or under way."""
    if ctx.now - item.created_at < window:
        return None
    if item.kind == AttentionKind.MISSED_CALL:
        return "past the call-back window"
    return f"not acknowledged within {span(window)}"


def _for_name(item: AttentionItem, ctx: Page, names: dict[int, str]) -> str:
    if item.therapist_id is None:
        return "nobody yet (it escalates)"
    if item.therapist_id == ctx.therapist_id:
        return "you"
    return names.get(item.therapist_id, "a therapist no longer listed")


def open_count(user: User | None) -> int:
    """Open items for the signed-in user, for the navigation's badge. Read in the page's own
    session (the one the user was loaded in); none on a page without one (the error page)."""
    session = object_session(user) if user is not None else None
    if session is None:
        return 0
    return attention.count_open(
        session, therapist_id=user.therapist_id, everyone=user.role == "admin"
    )


templates.env.globals["open_attention"] = open_count


@router.post("/attention/{item_id}/acknowledge")
def acknowledge(ctx: PageDep, form: Form, item_id: str):
    number = as_id(item_id)
    if number is None:
        raise not_found("item")
    try:
        item = attention.get_item(
            ctx.db, number, therapist_id=ctx.therapist_id, everyone=ctx.is_admin
        )
    except NotFound:
        raise not_found("item") from None
    done_by = item.acknowledged_by
    try:
        attention.acknowledge(
            ctx.db,
            ctx.actor,
            ctx.now,
            item,
            field_text(form, "note", 2500) or None,
            therapist_id=ctx.therapist_id,
        )
        ctx.db.commit()
    except Conflict:
        ctx.db.rollback()
        ctx.flash(f"This was already acknowledged, by {done_by}.", "error")
        return ctx.redirect("/#attention")
    except Invalid as exc:
        ctx.db.rollback()
        ctx.flash(f"Not acknowledged: {exc.message}.", "error")
        return ctx.redirect("/#attention")
    returned = item.kind == AttentionKind.MISSED_CALL
    ctx.flash(f"{'Marked returned' if returned else 'Acknowledged'}: {_flash_words(ctx, item)}.")
    return ctx.redirect("/#attention")


def _flash_words(ctx: Page, item: AttentionItem) -> str:
    """ "Riley's missed call", "Dana Whitfield can't receive texts"."""
    what = WHAT.get(item.kind, "item")
    if item.client is not None:
        return f"{first_name(item.client.name)}'s {what.lower()}"
    therapist = ctx.db.get(Therapist, item.therapist_id) if item.therapist_id else None
    return f"{therapist.name if therapist else 'a therapist'} {what.lower()}"
