"""Request bodies over a small limit are refused with 413 before they are read.

Without it a request body was read whole before anything looked at it: 300 form fields of
1 MB took the server from 107 MB to 409 MB before the Twilio signature check answered 403.

- `/twilio/`: 32 KiB. Twilio's webhooks are plain forms of a few kB; the largest is an
  inbound text, at most 1,600 characters, which URL-encoded as UTF-8 is at most about 14 kB
  (a 3-byte character is 9 bytes as %XX%XX%XX), plus 2-3 kB of other fields. Real Twilio never
  sends more, so a 413 there answers no real call or text: it is not one of the webhooks that
  must always answer with TwiML.
- everything else (the dashboard, the API): 1 MiB. The largest legitimate bodies are forms
  and JSON of a few kB (the longest field is 4,000 characters; there are no uploads or
  imports), so 1 MiB leaves room without letting a request hold much memory.

A declared Content-Length over the limit is refused at once, without calling the app. A body
without one (chunked) is counted as it streams in: the read that passes the limit fails, and
whatever the app then answers (a webhook's crisis fallback, an error page) is replaced by the
413, so the refusal is the same however the body came. Starlette's own
`RequestBodyLimitMiddleware` counts the same way, but lets an app that catches the error
answer 200, and calls the app even when the declared length is already too long.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TWILIO_LIMIT = 32 * 1024
DEFAULT_LIMIT = 1024 * 1024
LIMITS: tuple[tuple[str, int], ...] = (("/twilio/", TWILIO_LIMIT),)


class BodyTooLarge(HTTPException):
    """Raised by `receive` once the body passes the limit (an HTTPException, so that a handler
    that does not catch it answers 413 itself; the middleware makes sure of it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body over {limit} bytes")


def limit_for(path: str, limits: Sequence[tuple[str, int]], default: int) -> int:
    for prefix, limit in limits:
        if path.startswith(prefix):
            return limit
    return default


def declared_length(scope: Scope) -> int | None:
    value = (Headers(scope=scope).get("content-length") or "").strip()
    if not re.fullmatch(r"[0-9]{1,20}", value):
        return None  # the server refuses a malformed length before we see it; count instead
    return int(value)


async def refuse(scope: Scope, send: Send, limit: int) -> None:
    """The 413: JSON like every other API answer under /api/, plain text elsewhere."""
    detail = f"Request body too large: at most {limit} bytes."
    if scope.get("path", "").startswith("/api/"):
        body, media_type = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, media_type = detail.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Pure ASGI middleware: nothing but a header read and a byte count on the request path."""

    def __init__(
        self,
        app: ASGIApp,
        limits: Sequence[tuple[str, int]] = LIMITS,
        default: int = DEFAULT_LIMIT,
    ) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", ""), self.limits, self.default)
        length = declared_length(scope)
        if length is not None and length > limit:
            await refuse(scope, send, limit)
            return

        received = 0
        over = False  # the body passed the limit
        started = False  # the app began its answer
        replaced = False  # the 413 went out in place of the app's answer

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the rest of the app's own answer, already replaced
            if message["type"] == "http.response.start":
                if over:
                    replaced = True
                    await refuse(scope, send, limit)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise  # the app answered before it read the body: too late for a 413
            if not replaced:
                await refuse(scope, send, limit)
            return
        if over and not started and not replaced:
            await refuse(scope, send, limit)  # the app swallowed the error and said nothing
