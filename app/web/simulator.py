"""The phone simulator (admin only): dial or text the line as anyone, one webhook at a time.

Every step goes through the real webhooks, in process, signed as Twilio signs them (with
TWILIO_AUTH_TOKEN, or the development signing key when there is none). The simulator carries
out the TwiML that comes back until Twilio would wait for someone: a <Gather> (press keys), a
<Record> (leave a message or not), a <Dial> (the therapist's side) or the end of the call
(`app.web.simulated_call`).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.models import Client, Therapist
from app.web.forms import Form, field_text
from app.web.pages import AdminPageDep
from app.web.simulated_call import (
    ACCOUNT_SID,
    CALLS,
    Poster,
    SimCall,
    call_params,
    dial,
    expire,
    go_on,
    hang_up,
    new_sid,
    run,
    twiml_root,
)

router = APIRouter()

UNKNOWN_NUMBER = "+15555550199"
PLACEHOLDER_LINE = "+15555550100"
DTMF = set("0123456789*#")


def _people(ctx: Any) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    for c in ctx.db.scalars(select(Client).order_by(Client.name)):
        if c.phone:
            choices.append((c.phone, f"{c.name} (client)"))
    for t in ctx.db.scalars(select(Therapist).order_by(Therapist.name)):
        if t.phone:
            choices.append((t.phone, f"{t.name} (therapist)"))
    choices.append((UNKNOWN_NUMBER, "An unknown number"))
    return choices


def _line_number(ctx: Any) -> str:
    return ctx.line.settings.twilio_phone_number or PLACEHOLDER_LINE


def _show(
    ctx: Any, sim: SimCall | None = None, text: dict | None = None, **extra: Any
) -> HTMLResponse:
    return ctx.render(
        "simulator.html",
        people=_people(ctx),
        sim=sim,
        text=text,
        dev_key=not ctx.line.settings.twilio_auth_token,
        **extra,
    )


async def _sim_for(poster: Poster, form: Any) -> SimCall | None:
    await expire(poster)
    return CALLS.get(field_text(form, "call", 64))


@router.get("/simulator")
async def simulator_page(ctx: AdminPageDep, call: str = "") -> HTMLResponse:
    await expire(Poster(ctx.request))
    return _show(ctx, CALLS.get(call[:64]))


@router.post("/simulator/call")
async def start_call(ctx: AdminPageDep, form: Form) -> HTMLResponse:
    caller = field_text(form, "caller", 32)
    allowed = {number for number, _ in _people(ctx)}
    if caller not in allowed:
        return _show(ctx, error="Choose who dials the line.")
    poster = Poster(ctx.request)
    await expire(poster)
    sim = SimCall(
        id=secrets.token_urlsafe(12),
        caller=caller,
        line_number=_line_number(ctx),
        call_sid=new_sid("CA"),
        started=time.monotonic(),
    )
    CALLS[sim.id] = sim
    await run(
        poster,
        sim,
        "Voice URL: the call comes in",
        poster.base + "/twilio/voice",
        call_params(sim, "ringing"),
    )
    return _show(ctx, sim)


@router.post("/simulator/step")
async def step(ctx: AdminPageDep, form: Form) -> HTMLResponse:
    poster = Poster(ctx.request)
    sim = await _sim_for(poster, form)
    if sim is None:
        return _show(ctx, error="That simulated call has ended or expired. Start a new one.")
    action = field_text(form, "action", 20)
    if sim.waiting is None:
        return _show(ctx, sim, error="This call has ended. Start a new one.")
    sim.touched = time.monotonic()
    if action == "hangup":
        await hang_up(poster, sim)
    elif sim.waiting == "gather" and action == "keys":
        keys = field_text(form, "keys", 20)
        if not keys or not set(keys) <= DTMF:
            return _show(ctx, sim, error="Press keys on the keypad: 0-9, * and #.")
        finish = sim.wait.get("finishOnKey", "#")
        digits = keys.split(finish[0])[0] if finish and finish[0] in keys else keys
        if sim.wait.get("numDigits", "").isdigit():
            digits = digits[: int(sim.wait["numDigits"])]
        params = call_params(sim, "in-progress", Digits=digits, FinishedOnKey="")
        await run(poster, sim, f"Gather action: pressed {keys}", sim.wait["action"], params)
    elif sim.waiting == "gather" and action == "silence":
        await go_on(poster, sim)
    elif sim.waiting == "record" and action == "message":
        rec = new_sid("RE")
        params = call_params(
            sim,
            "in-progress",
            RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{rec}",
            RecordingSid=rec,
            RecordingDuration="12",
            Digits="#",
        )
        await run(poster, sim, "Record action: a message was left", sim.wait["action"], params)
    elif sim.waiting == "record" and action == "silence":
        await go_on(poster, sim)
    elif sim.waiting == "dial" and action in ("accept", "voicemail", "no-answer"):
        await dial(poster, sim, action)
    else:
        return _show(ctx, sim, error="Twilio is not waiting for that now.")
    return _show(ctx, sim)


@router.post("/simulator/leave")
async def leave(ctx: AdminPageDep, form: Form) -> Response:
    """The simulator's page was closed or left while its call waited (simulator.js sends this
    as a beacon): the caller hangs up, so the call ends in Logs as it would on a real line."""
    poster = Poster(ctx.request)
    sim = await _sim_for(poster, form)
    if sim is not None and sim.waiting is not None:
        await hang_up(poster, sim, "the simulator's page was closed")
    return Response(status_code=204)


@router.post("/simulator/text")
async def text_line(ctx: AdminPageDep, form: Form) -> HTMLResponse:
    sender = field_text(form, "sender", 32)
    body = field_text(form, "body", 1600)
    if sender not in {number for number, _ in _people(ctx)} or not body:
        return _show(ctx, error="Choose who texts the line and write a message.")
    poster = Poster(ctx.request)
    await expire(poster)
    sid = new_sid("SM")
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "SmsStatus": "received",
        "From": sender,
        "To": _line_number(ctx),
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }
    response = await poster.post(poster.base + "/twilio/sms", params)
    root = twiml_root(response.text) if response.status_code == 200 else None
    replies = []
    if root is not None:
        for message in root.iter("Message"):
            inner = message.find("Body")
            replies.append(" ".join(((inner if inner is not None else message).text or "").split()))
    text = {
        "sender": sender,
        "params": params,
        "status": response.status_code,
        "twiml": response.text,
        "replies": replies,
    }
    return _show(ctx, text=text)
