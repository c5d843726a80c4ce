"""The app the benchmark serves: the real line, plus one static-TwiML route as the ceiling.

`uvicorn bench.server:app` serves exactly what `uvicorn app.main:app` serves (same settings
from the environment, same routes, same middleware), and `POST /twilio/bench-static`: a fixed
small TwiML answer that reads the form body like a webhook does, but checks no signature and
touches no database. It is the cheapest answer this server can give a webhook: under
/twilio/ it passes the same middleware as the webhooks (not the dashboard's), and it is the
first route the router tries. What the real webhook costs beyond it is the line's own work.
"""

from __future__ import annotations

from fastapi import Request, Response
from twilio.twiml.voice_response import VoiceResponse

from app.main import create_app

STATIC_PATH = "/twilio/bench-static"


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


# Tried first: the router matches routes in order, and the ceiling should not pay for
# walking past the others.
app.router.routes.insert(0, app.router.routes.pop())
