"""The FastAPI application: `uvicorn app.main:app` serves the line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse

from app import hsts, jsonlog
from app.api import router as api_router
from app.api.errors import bad_input
from app.body_limit import BodyLimit
from app.deps import LineDep
from app.errors import describe
from app.ical import router as ical_router
from app.line import Line
from app.metrics import install as install_metrics
from app.oncall import warn_about_gaps
from app.settings import Settings
from app.twilio import debugger, sms, therapist_menu, voice
from app.web import api_docs
from app.web import install as install_dashboard
from app.worker import NotificationWorker

log = logging.getLogger("coachline")

FAVICON = Path(__file__).parent / "web" / "static" / "favicon.svg"


# Routes at module level, not closures in create_app: FastAPI keeps what it learns of each
# endpoint in process-wide caches, and a closure there would keep its whole app alive.
health_router = APIRouter()


@health_router.get("/healthz", tags=["health"], summary="Whether the line and its database answer")
def healthz(line: LineDep) -> JSONResponse:
    """`{"status": "ok", "database": "up"}` with 200, or `"degraded"` and `"down"` with 503
    when the database does not answer (calls still get the crisis resources then). Needs no
    token: for load balancers and container health checks."""
    ok = line.database_answers()
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": "up" if ok else "down"},
        status_code=200 if ok else 503,
    )


@health_router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return FileResponse(FAVICON, media_type="image/svg+xml")


def create_app(settings: Settings | None = None) -> FastAPI:
    line = Line(settings or Settings())
    jsonlog.configure(line.settings.log_level)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not line.settings.twilio_configured:
            log.warning(
                "development mode: no Twilio credentials, so only webhooks signed with the "
                "development key (the dashboard's simulator) are answered, and outbound "
                "messages are recorded as not sent"
            )
        # Fewer threads than requests in flight: beyond the database pool, more threads only
        # contend for it (and for SQLite's single writer).
        to_thread.current_default_thread_limiter().total_tokens = line.settings.request_threads
        warn_about_gaps(line)
        worker = NotificationWorker(line) if line.settings.run_worker else None
        if worker:
            worker.start()
        await _read_settings_once(line)
        try:
            yield
        finally:
            if worker:
                worker.stop()
            line.engine.dispose()

    app = FastAPI(
        title="coachline",
        summary="Phone and text coaching line for a DBT practice",
        description=api_docs.DESCRIPTION,
        openapi_tags=api_docs.TAGS,
        lifespan=lifespan,
        # Served by app.web.api_docs instead, for signed-in users (or anyone, PUBLIC_API_DOCS).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.line = line
    # The API's 422s in words (other paths keep FastAPI's own answer).
    app.add_exception_handler(RequestValidationError, bad_input)

    app.include_router(health_router)

    # Twilio's webhooks are for Twilio alone (signed requests), not part of the documented API.
    for router in (voice.router, sms.router, therapist_menu.router, debugger.router):
        app.include_router(router, include_in_schema=False)
    app.include_router(api_router)
    app.include_router(ical_router)
    install_dashboard(app, line)
    install_metrics(app, line)
    api_docs.install(app)

    # Added last, so outermost: a body is refused before any other middleware (the dashboard's
    # session, the webhook timer) runs, and the 413 carries HSTS like every other answer.
    app.add_middleware(BodyLimit)
    if hsts.wanted(line.settings.public_base_url):
        app.add_middleware(hsts.StrictTransportSecurity)
    return app


async def _read_settings_once(line: Line) -> None:
    """The practice's settings as the dashboard set them, read at start so that answers made
    without the database speak them from the first call (the line starts while the database
    is down: then the environment's, until a call reads them)."""
    try:
        await line.database(line.current_settings)
    except Exception as exc:
        log.warning("could not read the practice's settings at start: %s", describe(exc))


app = create_app()
