"""Only Twilio speaks to /twilio/: every webhook's signature is checked.

The check runs over PUBLIC_BASE_URL + path + query (never the URL the request arrived
on, which a TLS-terminating proxy or tunnel rewrites) and over every form field.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

log = logging.getLogger("coachline.twilio")


def public_url(request: Request, base_url: str) -> str:
    query = request.url.query
    return base_url + request.url.path + (f"?{query}" if query else "")


async def verified_form(request: Request) -> FormData:
    """The webhook's form fields, once its signature holds; otherwise 403."""
    settings = request.app.state.line.settings
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    valid = bool(signature and settings.twilio_auth_token) and RequestValidator(
        settings.twilio_auth_token
    ).validate(public_url(request, settings.public_base_url), form, signature, algorithm)
    if not valid:
        # No phone number in this line: only the path and whether a signature was present.
        log.warning(
            "rejected unsigned or badly signed webhook path=%s signed=%s",
            request.url.path,
            bool(signature),
        )
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return form


def form_field(form: FormData, name: str, limit: int = 64) -> str:
    """A form field as text, cut to a sane length (hostile input stays bounded)."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""
