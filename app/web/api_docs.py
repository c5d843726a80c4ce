"""/docs, /redoc and /openapi.json, for signed-in users only: a dashboard session that is
signed in (the second factor included), or an API token. `PUBLIC_API_DOCS` opens them to
anyone.

FastAPI's own docs routes take no dependency, so they are turned off (`docs_url=None` and the
rest) and served here instead. Signed out, /docs and /redoc send the browser to sign in, and
/openapi.json answers 401 (it is read by programs, which send a token).

Swagger UI and ReDoc come from the fastapi-offline package (its copies of swagger-ui-dist 5 and
ReDoc 2's standalone bundle), served at /docs/assets: the pages load nothing from elsewhere, so
they work on a machine without internet. Those files are public, so they need no sign-in.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from app import user_sessions, users
from app.deps import LineDep, SessionDep
from app.models import User, UserSession
from app.web.session import COOKIE, hash_id

ASSETS = "/docs/assets"
FAVICON = "/static/favicon.svg"
# Swagger UI's validator badge would send the document's URL to validator.swagger.io.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# And the browser holds the pages to this host: ReDoc's sidebar always asks cdn.redoc.ly for its
# logo, which this refuses before any request is made. Inline scripts and styles: FastAPI's
# page starts each UI inline, and both style themselves at run time.
OFFLINE_ONLY = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "referrer-policy": "same-origin",
}

DESCRIPTION = """
The coaching line's admin API: the same records the dashboard shows, for scripts and other
systems. Therapists and clients, the 24-hour rule (lockouts), coaching hours and the on-call
rotation, the attention list (missed calls, voice messages, worrying texts), and the logs of
calls, texts to therapists and every change.

## Signing in: an API token

Every request under `/api` carries an API token in its `Authorization` header:

    Authorization: Bearer cl_…

On the server, `coachline create-user EMAIL --role admin` makes a user and prints their token
once, on its last line; `coachline new-token EMAIL` makes another, and
`coachline revoke-token` ends one. To try requests from this page, press **Authorize** and
paste the token.

An admin's token may do everything here. A therapist's token (`coachline create-user EMAIL
--role therapist --therapist-id N`) reads the schedule and acts for that therapist only: their
own clients' lockouts and calls, their own hours, away time and attention items.

## Requests and answers

- Bodies are JSON. A field the request does not take is refused, so a typo never passes
  silently.
- Times carry a UTC offset, e.g. `2026-11-27T21:42:00-06:00`; answers give them in UTC.
  Weekly hours and handoff times are `HH:MM` in the practice's time zone.
- Lists come a page at a time: `limit` (at most 200) and `offset`; `total` counts all matches.
- A refusal says why in `detail`: a sentence (401, 403, 404, 409, and a value the records
  refuse), or for input that cannot be read, one entry per field, with where it is in `loc`
  (e.g. `["body", "occurred_at"]`) and what is wrong, in words, in `msg`.
- Every change is written to the audit log under the token's user.

Not listed here: Twilio's webhooks (`/twilio/…`), which only Twilio calls, with signed
requests. The calendar feeds (`/ical/…`) need no token: each secret URL is its own key.
"""

# The sections of the document, in the order an admin needs them.
TAGS = [
    {"name": "therapists", "description": "The practice's coaches, and their time away."},
    {"name": "clients", "description": "Enrolment: who the line knows, and their therapist."},
    {"name": "lockouts", "description": "The 24-hour rule after self-harm: recorded, lifted."},
    {"name": "schedule", "description": "Weekly coaching hours, and one-off on-call shifts."},
    {"name": "on call", "description": "Rotations, overrides, who is on call, and gaps."},
    {"name": "attention", "description": "What needs a person, and acknowledging it."},
    {"name": "logs", "description": "Calls, texts to therapists, and the audit log."},
    {"name": "calendar", "description": "On-call calendar feeds, at secret URLs (no token)."},
    {"name": "health", "description": "For load balancers and monitoring (no token)."},
]


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
            user_sessions.live_session(line.now()),
            UserSession.second_factor_at.is_not(None),
            User.disabled_at.is_(None),
            User.password_hash.is_not(None),
        )
    )
    return signed_in is not None


DocsAccess = Annotated[bool, Depends(may_read_docs)]


def _to_sign_in(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


# Routes at module level, not closures over the app: FastAPI keeps what it learns of each
# endpoint in process-wide caches, and a closure there would keep its whole app alive.
router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi(request: Request, allowed: DocsAccess) -> Response:
    if not allowed:
        return JSONResponse(
            {"detail": "Sign in to the dashboard, or send an API token."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def docs(request: Request, allowed: DocsAccess) -> Response:
    if not allowed:
        return _to_sign_in("/docs")
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    page.headers.update(OFFLINE_ONLY)
    return page


@router.get("/redoc")
def redoc(request: Request, allowed: DocsAccess) -> Response:
    if not allowed:
        return _to_sign_in("/redoc")
    page = get_redoc_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} API",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    page.headers.update(OFFLINE_ONLY)
    return page


def install(app: FastAPI) -> None:
    app.mount(
        ASSETS,
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="api-docs-assets",
    )
    app.include_router(router)
