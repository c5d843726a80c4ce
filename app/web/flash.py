"""Flash messages: a few lines kept in the session (on the server, so a client's name in one
never reaches the cookie) and shown on the next page rendered."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

KEEP = 5
LENGTH = 500


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Show `message` on the next page ("ok" or "error"); the latest five are kept."""
    messages = list(request.session.get("flash", []))[-(KEEP - 1) :]
    messages.append({"kind": kind, "text": message[:LENGTH]})
    request.session["flash"] = messages


def take_flashes(request: Request) -> list[dict[str, Any]]:
    """The messages waiting to be shown, now shown (none without a session)."""
    return request.session.pop("flash", []) if "session" in request.scope else []
