"""Rendering a page: the templates, the layout's navigation, and what every template gets.

Extending the layout (the phone simulator): add a `NavItem` to `NAV` and extend `base.html`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.line import Line
from app.models import User
from app.web import words
from app.web.flash import take_flashes
from app.web.forms import CSRF_FIELD, csrf_token
from app.web.times import Fmt

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    OUTCOMES=words.OUTCOMES,
    ROUTES=words.ROUTES,
    KINDS=words.KINDS,
    SOURCES=words.SOURCES,
    CALL_STATUSES=words.CALL_STATUSES,
    message_status=words.message_status,
)


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    admin_only: bool = False


# The main navigation, in order. Another page adds itself here.
NAV: list[NavItem] = [
    NavItem("/", "Today"),
    NavItem("/clients", "Clients"),
    NavItem("/schedule", "Schedule"),
    NavItem("/logs", "Logs"),
    NavItem("/audit", "Audit", admin_only=True),
    NavItem("/therapists", "Therapists", admin_only=True),
    NavItem("/users", "Users", admin_only=True),
    NavItem("/settings", "Settings", admin_only=True),
    NavItem("/simulator", "Simulator", admin_only=True),
]


def render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    user: User | None = None,
    fmt: Fmt | None = None,
    **context: Any,
) -> HTMLResponse:
    line: Line = request.app.state.line
    flashes = take_flashes(request)
    is_admin = user is not None and user.role == "admin"
    nav = [item for item in NAV if is_admin or not item.admin_only] if user else []
    current = next(
        (
            item.href
            for item in sorted(nav, key=lambda i: len(i.href), reverse=True)
            if request.url.path == item.href
            or (item.href != "/" and request.url.path.startswith(item.href + "/"))
        ),
        None,
    )
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "is_admin": is_admin,
            "nav": nav,
            "current_nav": current,
            "fmt": fmt or Fmt(line.settings.tz, line.now()),
            "practice_name": context.pop("practice_name", None)
            or request.scope.get("coachline.practice_name")
            or line.settings.practice_name,
            "csrf_token": csrf_token(request) if "session" in request.scope else "",
            "csrf_field": CSRF_FIELD,
            "flashes": flashes,
            **context,
        },
        status_code=status,
    )
