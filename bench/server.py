"""The app the benchmark serves: the real line, plus one static-TwiML route as the ceiling.

`uvicorn bench.server:app` serves exactly what `uvicorn app.main:app` serves (same settings
from the environment, same routes, same middleware), and `POST /twilio/bench-static`: a fixed
small TwiML answer that reads the form body like a webhook does, but checks no signature and
touches no database. It is the cheapest answer this server can give a webhook: under
/twilio/ it passes the same middleware as the webhooks (not the dashboard's), and it is the
first route the router tries. What the real webhook costs beyond it is the line's own work.

And `POST /twilio/bench-bare`, the bare webhook: the least that any webhook doing the call's
job must do beyond the ceiling. It checks the signature (the line's own check), looks the
caller up and writes the call record (the line's own two statements, on the connection the
line's webhooks keep: `Line.webhook_connection`), and answers the same fixed TwiML: no rate
limit, no flow, no grouping. Where it stays under a target's share of the ceiling, no work
on the line's own code can reach it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from twilio.twiml.voice_response import VoiceResponse

from app.callers import callers_by_phone
from app.main import create_app
from app.twilio.signature import form_field, verified_form
from app.twilio.voice import NEW_CALL

STATIC_PATH = "/twilio/bench-static"
BARE_PATH = "/twilio/bench-bare"


def _static_twiml() -> str:
    response = VoiceResponse()
    response.say("Thank you for calling the coaching line.", voice="Polly.Joanna", language="en-US")
    return str(response)


STATIC_TWIML = _static_twiml()

app = create_app()


@app.post(STATIC_PATH, include_in_schema=False)
async def static_twiml(request: Request) -> Response:
    await request.form()
    return Response(content=STATIC_TWIML, media_type="application/xml")


@app.post(BARE_PATH, include_in_schema=False)
async def bare_webhook(request: Request) -> Response:
    form = await verified_form(request)
    line = request.app.state.line
    now = line.now()
    phone = form_field(form, "From", 40)
    with line.webhook_connection() as conn:  # kept, as the line's own webhooks keep it
        caller = callers_by_phone(conn, [phone], now).get(phone)
        row: dict[str, Any] = {
            # A text's MessageSid where there is no CallSid (the texts' benchmark): unique.
            "call_sid": form_field(form, "CallSid") or form_field(form, "MessageSid"),
            "client_id": caller.caller.client_id if caller else None,
            "route": "coaching",
            "outcome": "ringing",
            "therapist_id": caller.caller.primary.id if caller else None,
            "started_at": now,
        }
        NEW_CALL(conn, row)
    return Response(content=STATIC_TWIML, media_type="application/xml")


# Tried first (the ceiling, then the bare webhook): the router matches routes in order, and
# neither should pay for walking past the others.
app.router.routes[:0] = [app.router.routes.pop(-2), app.router.routes.pop()]
