"""HSTS: once a browser has reached the line over https, it never tries plain http again.

Sent on every response (pages, the API, webhooks, errors, the 413) when PUBLIC_BASE_URL is
https, and never when it is http: a browser that saw it on a development line at
http://127.0.0.1 would refuse plain http to that host for a year.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "strict-transport-security"
# A year, the subdomains too (the line has its own host name); no "preload", which commits
# the whole domain to the browsers' built-in lists and is the practice's decision to make.
VALUE = "max-age=31536000; includeSubDomains"


def wanted(public_base_url: str) -> bool:
    return public_base_url.lower().startswith("https://")


class StrictTransportSecurity:
    """Pure ASGI middleware: adds the header to each response's start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers.append(HEADER, VALUE)
            await send(message)

        await self.app(scope, receive, send_with_header)
