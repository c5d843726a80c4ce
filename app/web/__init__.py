"""The practice dashboard: server-rendered pages for therapists and the practice admin.

`install(app, line)` mounts it: the pages (`router`), the static files, the session cookie and
the friendly error pages. Pages live at the root ("/" is Today); the API, the webhooks and the
calendar feeds keep their own prefixes and never see a dashboard session.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.line import Line
from app.web import (
    auth,
    clients,
    logins,
    logs,
    notes,
    password_link,
    pin,
    rotations,
    schedule,
    settings_page,
    simulator,
    therapists_page,
    today,
    users_page,
    voice_messages,
    week,
)
from app.web.errors import LoginRequired, WebError
from app.web.guard import signed_in_user
from app.web.render import HERE, render
from app.web.session import DashboardSessions, is_dashboard_path

log = logging.getLogger("coachline.web")

router = APIRouter(include_in_schema=False)
for area in (auth, today, clients, voice_messages, schedule, pin, logs, settings_page, simulator):
    router.include_router(area.router)
router.include_router(users_page.router)
router.include_router(notes.router)
router.include_router(week.router)
router.include_router(rotations.router)
for area in (therapists_page, logins, password_link):
    router.include_router(area.router)


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    user = None
    if "session" in request.scope:
        line: Line = request.app.state.line
        try:
            with line.sessions() as session:
                user = signed_in_user(request, session)
                if user is not None:
                    session.expunge(user)
        except Exception:  # the error page must render even when the database does not
            user = None
    return render(request, "error.html", status, user=user, title=title, message=message)


def install(app: FastAPI, line: Line) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(DashboardSessions, line=line)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        target = "/login" if exc.next_path == "/" else f"/login?next={quote(exc.next_path)}"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        return await run_in_threadpool(_error_page, request, exc.status, exc.title, exc.message)

    default_http = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Dashboard paths get a page; the API keeps its JSON answers.
        if is_dashboard_path(request.url.path) and exc.status_code in (404, 405):
            title = "Not found" if exc.status_code == 404 else "Not allowed"
            message = "There is no such page."
            return await run_in_threadpool(_error_page, request, exc.status_code, title, message)
        if default_http is not None:
            return await default_http(request, exc)
        from fastapi.exception_handlers import http_exception_handler

        return await http_exception_handler(request, exc)
