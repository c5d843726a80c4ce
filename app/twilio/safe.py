"""Routes that always answer Twilio with TwiML: on any failure, the crisis resources.

Only a bad signature (403) gets through as an error. Anything else (the database down, slow
or resting, a bug, an odd request) is logged without personal data and answered with
`fallback`, made from the line alone (the practice's words as last read,
`Line.known_practice`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from app.errors import describe
from app.line import DatabaseResting, Line
from ivr.endings import error_fallback
from ivr.urls import Urls

log = logging.getLogger("coachline.twilio")


def voice_urls(line: Line) -> Urls:
    """The voice webhooks' URLs, absolute on the public base URL Twilio signs against."""
    return Urls(line.settings.public_base_url)


def voice_fallback(line: Line) -> str:
    """A call's answer without the database: the crisis resources, 988 one key away."""
    return error_fallback(line.known_practice(), voice_urls(line))


def twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


def crisis_on_error(fallback: Callable[[Line], str]) -> type[APIRoute]:
    class CrisisOnErrorRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def safe_handler(request: Request) -> Response:
                try:
                    return await handler(request)
                except HTTPException as exc:
                    if exc.status_code == 403:
                        raise
                    log.error("webhook %s answered %s", request.url.path, exc.status_code)
                except DatabaseResting:
                    log.warning("webhook %s answered without the database", request.url.path)
                except TimeoutError:
                    log.error("webhook %s: the database did not answer in time", request.url.path)
                except Exception as exc:
                    log.error("webhook %s failed: %s", request.url.path, describe(exc))
                return twiml(fallback(request.app.state.line))

            return safe_handler

    return CrisisOnErrorRoute
