"""Only Twilio speaks to /twilio/: every webhook's signature is checked.

The check runs over PUBLIC_BASE_URL + path + query (never the URL the request arrived
on, which a TLS-terminating proxy or tunnel rewrites) and over every form field.

Without TWILIO_AUTH_TOKEN (development, before a number is bought) webhooks are checked
against a development signing key instead: generated once, kept in `practice_settings` under
"_dev_signing_key", and used by the dashboard's phone simulator. With a token set, only the
token signs (a dev-key signature is refused).
"""

from __future__ import annotations

import logging

import anyio
from anyio import to_thread
from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import FormData
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from app.line import Line
from app.twilio.configure import CONNECTION_OVERRIDES

log = logging.getLogger("coachline.twilio")

DEV_KEY = "_dev_signing_key"


def dev_signing_key(line: Line) -> str:
    """The development signing key kept in the database (made by whichever worker is first)."""
    return line.kept_secret(DEV_KEY)


async def signing_token(request: Request) -> str:
    """What webhooks are signed with: TWILIO_AUTH_TOKEN, else the development key ("" if the
    database cannot give one in time)."""
    line = request.app.state.line
    if line.settings.twilio_auth_token:
        return line.settings.twilio_auth_token
    key = getattr(request.app.state, "dev_signing_key", None)
    if not key:
        try:
            with anyio.fail_after(line.settings.webhook_database_seconds):
                key = await to_thread.run_sync(dev_signing_key, line, abandon_on_cancel=True)
        except (SQLAlchemyError, TimeoutError):
            return ""
        request.app.state.dev_signing_key = key
    return key


def public_url(request: Request, base_url: str) -> str:
    query = request.url.query
    return base_url + request.url.path + (f"?{query}" if query else "")


async def verified_form(request: Request) -> FormData:
    """The webhook's form fields, once its signature holds; otherwise 403."""
    settings = request.app.state.line.settings
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    token = await signing_token(request) if signature else ""
    valid = bool(signature and token) and _valid(
        token,
        public_url(request, settings.public_base_url),
        form,
        signature,
        algorithm,
    )
    if not valid:
        # No phone number in this line: only the path and whether a signature was present.
        log.warning(
            "rejected unsigned or badly signed webhook path=%s signed=%s",
            request.url.path,
            bool(signature),
        )
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return form


def _valid(token: str, url: str, form: FormData, signature: str, algorithm: str) -> bool:
    """Twilio's own check (`RequestValidator`): the URL as configured, with and without a
    default port, and every form field. The Voice and Messaging URLs carry connection
    overrides (`app.twilio.configure`) in a fragment, which Twilio's documentation does not
    say it leaves out of what it signs: the URL is accepted with it or without it."""
    if not all(isinstance(value, str) for _, value in form.multi_items()):
        return False  # a file upload: Twilio's webhooks are plain forms
    validator = RequestValidator(token)
    return any(
        validator.validate(candidate, form, signature, algorithm)
        for candidate in (url, url + CONNECTION_OVERRIDES)
    )


def form_field(form: FormData, name: str, limit: int = 64) -> str:
    """A form field as text, cut to a sane length (hostile input stays bounded)."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""
