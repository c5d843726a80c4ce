"""Voice messages on the dashboard, played through the service: there is no public link.

GET /calls/{id}/voice-message fetches the recording's audio from Twilio with the account's
credentials and streams it back, never cached. The Twilio URL is built from the SID stored
when the message was saved and our own settings (`app.voice_messages.media_url`), never
from the URL Twilio posted. Twilio may answer with a redirect to a short-lived media URL: it
is followed (httpx drops our credentials on a redirect to another host).

A therapist plays their own clients' messages (as on the client page) and any whose
attention item is theirs to see (the one on call it was sent to, or escalated to); an admin
anyone's; anyone else's is "not found". Each play that gets the audio is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app import attention
from app.audit import audit
from app.errors import describe
from app.models import AttentionItem, Call
from app.settings import Settings
from app.voice_messages import media_url
from app.web.errors import WebError, not_found
from app.web.pages import Page, PageDep
from app.web.paging import row_or_404
from ivr.codes import AttentionKind

log = logging.getLogger("coachline.web.voice_messages")

router = APIRouter(include_in_schema=False)

AUDIT_ACTION = "play_voice_message"
MAX_REDIRECTS = 3


def voice_message_url(call_id: int) -> str:
    """A call's voice message as audio (for an <audio> element)."""
    return f"/calls/{call_id}/voice-message"


def voice_message_on_client_page(client_id: int, call_id: int) -> str:
    """A call's voice message in the list on its client's page, where it plays (for links
    such as the attention list's)."""
    return f"/clients/{client_id}#voice-message-{call_id}"


@dataclass(frozen=True)
class _Playable:
    call_id: int
    client_id: int | None
    sid: str


def _playable(ctx: Page, call_id: str) -> _Playable:
    """A voice message the signed-in user may play."""
    from app.web.clients import visible  # (it lists the messages with this module's URLs)

    call = row_or_404(ctx.db, Call, call_id, "voice message")
    if not call.recording_sid:
        raise not_found("voice message")
    if not ctx.is_admin and not _theirs_to_act_on(ctx, call.id):
        if call.client_id is None:
            raise not_found("voice message")
        visible(ctx, call.client_id)
    return _Playable(call.id, call.client_id, call.recording_sid)


def _theirs_to_act_on(ctx: Page, call_id: int) -> bool:
    """The message's attention item is this therapist's to see: they were sent it."""
    item = ctx.db.scalar(
        select(AttentionItem.id).where(
            AttentionItem.kind == AttentionKind.VOICE_MESSAGE,
            AttentionItem.call_id == call_id,
            attention.visible_to(ctx.therapist_id),
        )
    )
    return item is not None


def _audit_play(ctx: Page, message: _Playable) -> None:
    audit(
        ctx.db,
        ctx.actor,
        AUDIT_ACTION,
        "call",
        message.call_id,
        changes={"client_id": message.client_id},
        at=ctx.now,
    )
    ctx.db.commit()


def _unavailable() -> WebError:
    return WebError(
        502,
        "Voice message unavailable",
        "The recording could not be fetched from Twilio just now. Try again in a minute.",
    )


@dataclass
class _Upstream:
    """Twilio's answer, open for streaming, and its client: both closed once streamed."""

    client: httpx.AsyncClient
    response: httpx.Response

    async def close(self) -> None:
        await self.response.aclose()
        await self.client.aclose()


async def _open_at_twilio(settings: Settings, sid: str) -> _Upstream:
    """The recording's audio from Twilio, open for streaming (the caller closes it)."""
    client = httpx.AsyncClient(
        auth=(settings.twilio_account_sid, settings.twilio_auth_token),
        timeout=settings.twilio_http_timeout_seconds,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    )
    try:
        response = await client.send(
            client.build_request("GET", media_url(settings, sid)), stream=True
        )
    except httpx.HTTPError as exc:
        await client.aclose()
        log.warning("voice message %s: Twilio did not answer: %s", sid, describe(exc))
        raise _unavailable() from exc
    upstream = _Upstream(client, response)
    if response.status_code == 200:
        return upstream
    await upstream.close()
    log.warning("voice message %s: Twilio answered %s", sid, response.status_code)
    if response.status_code == 404:  # deleted at Twilio
        raise not_found("voice message")
    raise _unavailable()


@router.get("/calls/{call_id}/voice-message")
async def play_voice_message(ctx: PageDep, call_id: str):
    message = await run_in_threadpool(_playable, ctx, call_id)
    settings = ctx.line.settings
    if not settings.twilio_configured:
        raise WebError(
            503,
            "Voice message unavailable",
            "Voice messages play from Twilio, and this line has no Twilio credentials.",
        )
    upstream = await _open_at_twilio(settings, message.sid)
    try:
        await run_in_threadpool(_audit_play, ctx, message)
    except BaseException:
        await upstream.close()
        raise
    return StreamingResponse(
        upstream.response.aiter_bytes(),
        media_type="audio/mpeg",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
        background=BackgroundTask(upstream.close),
    )
