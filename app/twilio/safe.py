"""Routes that always answer Twilio with TwiML: on any failure, the crisis resources.

Only a bad signature (403) gets through as an error. Anything else (the database down, a
bug, an odd request) is logged without personal data and answered with `fallback`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError

from app.errors import describe
from ivr.scripts import Practice

log = logging.getLogger("coachline.twilio")

# A database restart can meet a webhook once in each of the line's two pools (`Line.engine`,
# `Line.webhook_engine`).
ATTEMPTS = 3


def twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


def crisis_on_error(fallback: Callable[[Practice], str]) -> type[APIRoute]:
    class CrisisOnErrorRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def safe_handler(request: Request) -> Response:
                for attempt in range(1, ATTEMPTS + 1):
                    try:
                        return await handler(request)
                    except HTTPException as exc:
                        if exc.status_code == 403:
                            raise
                        log.error("webhook %s answered %s", request.url.path, exc.status_code)
                    except DBAPIError as exc:
                        # Pooled connections are not pinged before use (a round trip each):
                        # one the database dropped (it restarted) is noticed here, its pool
                        # has let them all go, and the webhook runs again on fresh ones. Its
                        # transaction was rolled back, so nothing is done twice.
                        if exc.connection_invalidated and attempt < ATTEMPTS:
                            continue
                        log.error("webhook %s failed: %s", request.url.path, describe(exc))
                    except Exception as exc:
                        log.error("webhook %s failed: %s", request.url.path, describe(exc))
                    break
                return twiml(fallback(request.app.state.line.settings.practice))

            return safe_handler

    return CrisisOnErrorRoute
