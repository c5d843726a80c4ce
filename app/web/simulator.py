"""The phone simulator (admin only): dial or text the line as anyone, one webhook at a time.

Every step goes through the real webhooks, in process, signed as Twilio signs them (with
TWILIO_AUTH_TOKEN, or the development signing key when there is none). The simulator carries
out the TwiML that comes back until Twilio would wait for someone: a <Gather> (press keys), a
<Record> (leave a message or not), a <Dial> (the therapist's side) or the end of the call.

A call's state lives in a small in-memory dict, per process, for 30 minutes.
"""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.models import Client, Therapist
from app.twilio.signature import signing_token
from app.web.forms import Form, field_text
from app.web.pages import AdminPageDep

router = APIRouter()

TTL_SECONDS = 30 * 60
MAX_CALLS = 200
MAX_AUTO_STEPS = 20
UNKNOWN_NUMBER = "+15555550199"
PLACEHOLDER_LINE = "+15555550100"
ACCOUNT_SID = "AC" + "5" * 32
DTMF = set("0123456789*#")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Step:
    title: str
    url: str
    params: dict[str, str]
    status: int
    twiml: str
    said: list[str] = field(default_factory=list)
    heard_by: str = "caller"


@dataclass
class SimCall:
    id: str
    caller: str
    line_number: str
    call_sid: str
    started: float
    steps: list[Step] = field(default_factory=list)
    # What Twilio waits on: None (ended), "gather", "record" or "dial".
    waiting: str | None = None
    wait: dict[str, str] = field(default_factory=dict)
    remaining: list[str] = field(default_factory=list)  # verbs after the waiting one
    doc_url: str = ""
    ended: str = ""


_CALLS: dict[str, SimCall] = {}


def _expire() -> None:
    cutoff = time.monotonic() - TTL_SECONDS
    for key in [k for k, c in _CALLS.items() if c.started < cutoff]:
        _CALLS.pop(key, None)
    while len(_CALLS) >= MAX_CALLS:
        _CALLS.pop(min(_CALLS, key=lambda k: _CALLS[k].started))


class Poster:
    """Posts signed webhooks to the app itself, as Twilio would."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.base = request.app.state.line.settings.public_base_url.rstrip("/")

    def path_for(self, url: str) -> str:
        if not url.startswith(self.base):
            raise ValueError(f"{url} is not under the line's public URL")
        parts = urlsplit(url[len(self.base) :] or "/")
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def post(self, url: str, params: dict[str, str]) -> httpx.Response:
        token = await signing_token(self.request)
        signature = RequestValidator(token).compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        headers["I-Twilio-Idempotency-Token"] = secrets.token_hex(16)
        transport = httpx.ASGITransport(app=self.request.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://simulator") as client:
            return await client.post(self.path_for(url), data=params, headers=headers)


def _call_params(sim: SimCall, status: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sim.call_sid,
        "CallStatus": status,
        "Direction": "inbound",
        "From": sim.caller,
        "To": sim.line_number,
        "Caller": sim.caller,
        "Called": sim.line_number,
        **extra,
    }


def _root(body: str) -> ET.Element | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    return root if root.tag == "Response" else None


def _says(el: ET.Element) -> list[str]:
    return [" ".join((s.text or "").split()) for s in el.iter("Say") if (s.text or "").strip()]


async def _fetch(
    poster: Poster, sim: SimCall, title: str, url: str, params: dict[str, str], who: str
) -> tuple[Step, ET.Element | None]:
    response = await poster.post(url, params)
    root = _root(response.text) if response.status_code == 200 else None
    step = Step(title, url, params, response.status_code, response.text, heard_by=who)
    if root is not None and who != "caller":  # the caller's words come as the verbs run
        step.said = _says(root)
    sim.steps.append(step)
    return step, root


async def _run(poster: Poster, sim: SimCall, title: str, url: str, params: dict[str, str]) -> None:
    """Fetch TwiML for the caller and carry it out until Twilio would wait for someone."""
    for _ in range(MAX_AUTO_STEPS):
        _, root = await _fetch(poster, sim, title, url, params, "caller")
        if root is None:
            sim.waiting, sim.ended = None, "application error: the caller hears Twilio's error"
            return
        follow = _carry_out(sim, [ET.tostring(el, encoding="unicode") for el in root], url)
        if follow is None:
            return
        url, extra = follow
        title, params = "Redirect", _call_params(sim, "in-progress", **extra)
    sim.waiting, sim.ended = None, "the simulator stopped: too many redirects"


def _carry_out(sim: SimCall, verbs: list[str], doc_url: str) -> tuple[str, dict] | None:
    """Run verbs until one waits (state kept on `sim`) or redirects (returned)."""
    sim.waiting, sim.wait, sim.remaining, sim.doc_url = None, {}, [], doc_url
    said = sim.steps[-1].said
    for i, raw in enumerate(verbs):
        el = ET.fromstring(raw)
        if el.tag == "Say" or el.tag == "Gather":
            said.extend(_says(el))
        if el.tag in ("Gather", "Record", "Dial"):
            sim.waiting = el.tag.lower()
            sim.remaining = verbs[i + 1 :]
            sim.wait = dict(el.attrib)
            if el.get("action") or el.tag != "Dial":  # a Dial without action goes on
                sim.wait["action"] = urljoin(doc_url, el.get("action") or doc_url)
            if el.tag == "Dial":
                number = el.find("Number")
                sim.wait["number"] = (
                    (number.text or "").strip() if number is not None else (el.text or "").strip()
                )
                if number is not None and number.get("url"):
                    sim.wait["number_url"] = urljoin(doc_url, number.get("url"))
            return None
        if el.tag == "Redirect":
            return urljoin(doc_url, (el.text or "").strip()), {}
        if el.tag == "Hangup":
            sim.ended = "the line hung up"
            return None
        if el.tag == "Reject":
            sim.ended = "the line rejected the call"
            return None
    sim.ended = "the call ended (no more TwiML)"
    return None


async def _continue(poster: Poster, sim: SimCall) -> None:
    """Twilio moves on to the verbs after the one that waited."""
    sim.steps.append(Step("Nothing pressed or recorded: Twilio goes on", "", {}, 0, ""))
    follow = _carry_out(sim, sim.remaining, sim.doc_url)
    if follow is not None:
        await _run(poster, sim, "Redirect", follow[0], _call_params(sim, "in-progress"))


async def _dial(poster: Poster, sim: SimCall, choice: str) -> None:
    wait = dict(sim.wait)
    number = wait.get("number", "")
    child_sid = _sid("CA")
    child = {
        **_call_params(sim, "in-progress"),
        "CallSid": child_sid,
        "From": wait.get("callerId") or sim.caller,
        "Caller": wait.get("callerId") or sim.caller,
        "To": number,
        "Called": number,
        "Direction": "outbound-dial",
        "ParentCallSid": sim.call_sid,
    }
    status, bridged, duration = "no-answer", False, 0
    if choice in ("accept", "voicemail"):
        status, duration = "completed", 30
        url = wait.get("number_url")
        if url:
            _, root = await _fetch(
                poster, sim, f"The therapist's phone ({number}) answers", url, child, "therapist"
            )
            gather = root.find("Gather") if root is not None else None
            if choice == "accept" and gather is not None:
                action = urljoin(url, gather.get("action") or url)
                _, answer = await _fetch(
                    poster,
                    sim,
                    "The therapist presses 1",
                    action,
                    {**child, "Digits": "1", "FinishedOnKey": ""},
                    "therapist",
                )
                bridged = answer is not None and answer.find("Hangup") is None
        else:
            bridged = choice == "accept"
    params = _call_params(
        sim,
        "in-progress",
        DialCallStatus=status,
        DialCallSid=child_sid,
        DialCallDuration=str(duration),
        DialBridged="true" if bridged else "false",
    )
    label = {"accept": "accepted", "voicemail": "voicemail answered", "no-answer": "no answer"}
    title = f"Dial action: {label[choice]}" + (", bridged" if bridged else "")
    if "action" in wait:
        await _run(poster, sim, title, wait["action"], params)
    else:
        await _continue(poster, sim)


async def _hang_up(poster: Poster, sim: SimCall) -> None:
    sim.waiting, sim.ended = None, "the caller hung up"
    params = _call_params(sim, "completed", CallDuration="60")
    response = await poster.post(poster.base + "/twilio/voice/status", params)
    sim.steps.append(
        Step(
            "Status callback: completed",
            "/twilio/voice/status",
            params,
            response.status_code,
            response.text,
        )
    )


# ---- the pages ------------------------------------------------------------------------------


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


def _sim_for(form: Any) -> SimCall | None:
    _expire()
    return _CALLS.get(field_text(form, "call", 64))


@router.get("/simulator")
async def simulator_page(ctx: AdminPageDep, call: str = "") -> HTMLResponse:
    _expire()
    return _show(ctx, _CALLS.get(call[:64]))


@router.post("/simulator/call")
async def start_call(ctx: AdminPageDep, form: Form) -> HTMLResponse:
    caller = field_text(form, "caller", 32)
    allowed = {number for number, _ in _people(ctx)}
    if caller not in allowed:
        return _show(ctx, error="Choose who dials the line.")
    _expire()
    sim = SimCall(
        id=secrets.token_urlsafe(12),
        caller=caller,
        line_number=_line_number(ctx),
        call_sid=_sid("CA"),
        started=time.monotonic(),
    )
    _CALLS[sim.id] = sim
    poster = Poster(ctx.request)
    await _run(
        poster,
        sim,
        "Voice URL: the call comes in",
        poster.base + "/twilio/voice",
        _call_params(sim, "ringing"),
    )
    return _show(ctx, sim)


@router.post("/simulator/step")
async def step(ctx: AdminPageDep, form: Form) -> HTMLResponse:
    sim = _sim_for(form)
    if sim is None:
        return _show(ctx, error="That simulated call has ended or expired. Start a new one.")
    action = field_text(form, "action", 20)
    poster = Poster(ctx.request)
    if sim.waiting is None:
        return _show(ctx, sim, error="This call has ended. Start a new one.")
    if action == "hangup":
        await _hang_up(poster, sim)
    elif sim.waiting == "gather" and action == "keys":
        keys = field_text(form, "keys", 20)
        if not keys or not set(keys) <= DTMF:
            return _show(ctx, sim, error="Press keys on the keypad: 0-9, * and #.")
        finish = sim.wait.get("finishOnKey", "#")
        digits = keys.split(finish[0])[0] if finish and finish[0] in keys else keys
        if sim.wait.get("numDigits", "").isdigit():
            digits = digits[: int(sim.wait["numDigits"])]
        params = _call_params(sim, "in-progress", Digits=digits, FinishedOnKey="")
        await _run(poster, sim, f"Gather action: pressed {keys}", sim.wait["action"], params)
    elif sim.waiting == "gather" and action == "silence":
        await _continue(poster, sim)
    elif sim.waiting == "record" and action == "message":
        rec = _sid("RE")
        params = _call_params(
            sim,
            "in-progress",
            RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{rec}",
            RecordingSid=rec,
            RecordingDuration="12",
            Digits="#",
        )
        await _run(poster, sim, "Record action: a message was left", sim.wait["action"], params)
    elif sim.waiting == "record" and action == "silence":
        await _continue(poster, sim)
    elif sim.waiting == "dial" and action in ("accept", "voicemail", "no-answer"):
        await _dial(poster, sim, action)
    else:
        return _show(ctx, sim, error="Twilio is not waiting for that now.")
    return _show(ctx, sim)


@router.post("/simulator/text")
async def text_line(ctx: AdminPageDep, form: Form) -> HTMLResponse:
    sender = field_text(form, "sender", 32)
    body = field_text(form, "body", 1600)
    if sender not in {number for number, _ in _people(ctx)} or not body:
        return _show(ctx, error="Choose who texts the line and write a message.")
    sid = _sid("SM")
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
    poster = Poster(ctx.request)
    response = await poster.post(poster.base + "/twilio/sms", params)
    root = _root(response.text) if response.status_code == 200 else None
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
