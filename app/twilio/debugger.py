"""Twilio's Debugger webhook (`POST /twilio/debugger`): the line's Spanish voice falls back by
itself when Twilio refuses it.

Twilio says nothing during a call when it refuses a <Say> voice: it records warning 13511
("Say: Invalid voice value"), or 13321 for a Say inside a Gather, in its Debugger, which can
POST each event to a webhook set in the Console (Monitor > Debugger; `coachline twilio
configure` cannot set it). The event's form fields are Sid, AccountSid, ParentAccountSid (a
subaccount's), Timestamp, Level, PayloadType ("application/json") and Payload, a JSON object
with error_code, resource_sid, service_sid, more_info and webhook.

When such a warning comes and the line reads Spanish in the neural voice, the line switches to
the standard voice (SPANISH_VOICE = Polly.Penelope) the way the dashboard's Settings page
saves a setting: kept in `practice_settings` and audited, actor "twilio:debugger", so the very
next call uses it and the admin sees who changed it, when and why (the audit log, and the
Settings page says so beside the voice). No attention item: those are for signs of a client's
distress and escalate by text to the one on call, which a voice setting is not.

The line sends three voices: Polly.Joanna (English) and the two Spanish ones. A warning whose
payload names a voice, but not the neural Spanish one, is about another voice and changes
nothing; one that names none is taken to be about the neural one, the voice Twilio is likely
to refuse (a neural voice can be unavailable to an account where the standard one is not).

Every other event, and anything unreadable, is acknowledged (204) and ignored. Signed like
every webhook (`app.twilio.signature`): anything else gets 403. The database is reached as the other
webhooks reach it (`Line.database`, bounded in time); when it fails the answer is 503 and
nothing changes.
"""

from __future__ import annotations

import json
import logging
import re

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from app.body_limit import TWILIO_LIMIT
from app.errors import describe
from app.line import Line
from app.practice_settings import SWITCHED_BY_TWILIO, save_changes
from app.twilio.signature import form_field, verified_form
from ivr.language import NEURAL_SPANISH_VOICE, STANDARD_SPANISH_VOICE

log = logging.getLogger("coachline.twilio")

# Say: Invalid voice value; the same for a Say nested in a Gather.
REFUSED_VOICE_CODES = frozenset({"13511", "13321"})
ACTOR = SWITCHED_BY_TWILIO
# A voice as TwiML names it: Polly.Joanna, Polly.Lupe-Neural, Google.es-US-Neural2-A ...
_VOICE_NAME = re.compile(r"\b(?:Polly|Google)\.[A-Za-z0-9-]+")

router = APIRouter(prefix="/twilio", tags=["twilio"])


@router.post("/debugger", summary="Debugger webhook: Twilio's errors and warnings")
async def debugger_event(request: Request) -> Response:
    form = await verified_form(request)  # 403 unless Twilio signed it
    payload = form_field(form, "Payload", TWILIO_LIMIT)
    code = error_code(payload)
    if code not in REFUSED_VOICE_CODES or not about_neural_spanish(payload):
        return Response(status_code=204)
    line: Line = request.app.state.line

    def switch(session: Session) -> bool:
        return switch_to_standard_voice(session, line, code)

    try:
        switched = await line.database(switch)
    except Exception as exc:
        log.error("debugger event %s: the voice could not be switched: %s", code, describe(exc))
        return Response(status_code=503)
    if switched:
        # Answers made without the database speak the new voice too.
        line.known_settings = line.known_settings.with_changes(
            {"spanish_voice": STANDARD_SPANISH_VOICE}
        )
    return Response(status_code=204)


def error_code(payload: str) -> str:
    """The event's error_code, as text ("" when the payload is not a JSON object with one)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    code = data.get("error_code") if isinstance(data, dict) else None
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        return ""
    return str(code).strip()[:10]


def about_neural_spanish(payload: str) -> bool:
    """Whether a refused-voice warning can be about the neural Spanish voice: it names that
    voice, or names no voice at all."""
    named = set(_VOICE_NAME.findall(payload))
    return not named or NEURAL_SPANISH_VOICE in named


def switch_to_standard_voice(session: Session, line: Line, code: str) -> bool:
    """The line reads Spanish in the standard voice from the next call, audited; True when it
    switched (False: it already uses the standard voice)."""
    current = line.current_settings(session).spanish_voice
    if current != NEURAL_SPANISH_VOICE:
        return False
    save_changes(
        session,
        {"spanish_voice": {"from": current, "to": STANDARD_SPANISH_VOICE}},
        actor=ACTOR,
        now=line.now(),
        reason=(
            f"Twilio refused the neural Spanish voice (warning {code}); the line switched to "
            "the standard one by itself"
        ),
    )
    log.warning(
        "Twilio refused the Spanish voice %s (warning %s): switched to %s",
        current,
        code,
        STANDARD_SPANISH_VOICE,
    )
    return True
