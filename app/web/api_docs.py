"""/docs, /redoc and /openapi.json, for signed-in users only: a dashboard session that is
signed in (the second factor included), or an API token. `PUBLIC_API_DOCS` opens them to
anyone.

FastAPI's own docs routes take no dependency, so they are turned off (`docs_url=None` and the
rest) and served here instead. Signed out, /docs and /redoc send the browser to sign in, and
/openapi.json answers 401 (it is read by programs, which send a token).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from app import users
from app.deps import LineDep, SessionDep
from app.models import User, UserSession
from app.web.session import COOKIE, hash_id


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def may_read_docs(request: Request, line: LineDep, session: SessionDep) -> bool:
    """Whether this request may read the API's documentation."""
    if line.settings.public_api_docs:
        return True
    token = _bearer(request)
    if token and users.user_for_token(session, token) is not None:
        return True
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or len(cookie) > 100:
        return False
    signed_in = session.scalar(
        select(UserSession.id)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.id == hash_id(cookie),
            users.live_session(line.now()),
            UserSession.second_factor_at.is_not(None),
            User.disabled_at.is_(None),
            User.password_hash.is_not(None),
        )
    )
    return signed_in is not None


DocsAccess = Annotated[bool, Depends(may_read_docs)]


def _to_sign_in(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def install(app: FastAPI) -> None:
    @app.get("/openapi.json", include_in_schema=False)
    def openapi(allowed: DocsAccess) -> Response:
        if not allowed:
            return JSONResponse(
                {"detail": "Sign in to the dashboard, or send an API token."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(allowed: DocsAccess) -> Response:
        if not allowed:
            return _to_sign_in("/docs")
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} API")

    @app.get("/redoc", include_in_schema=False)
    def redoc(allowed: DocsAccess) -> Response:
        if not allowed:
            return _to_sign_in("/redoc")
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} API")
