"""A simulated call, carried out as Twilio would: signed webhooks posted to the app itself, and
the TwiML that comes back run until Twilio would wait for someone (a <Gather>, a <Record>, a
<Dial>) or the call ends. The pages are `app.web.simulator`'s.

A call's state lives in a small in-memory dict, per process. A call is never left ringing:
the page hangs it up when it is closed (`/simulator/leave`, sent as a beacon), and a call nobody
has acted on for IDLE_SECONDS is hung up at the simulator's next request, as is one pushed out
of the dict; either way the line hears what Twilio would send when a caller hangs up.
"""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx
from fastapi import Request
from twilio.request_validator import RequestValidator

from app.twilio.signature import signing_token

TTL_SECONDS = 30 * 60  # an ended call stays viewable this long after its last step
IDLE_SECONDS = 15 * 60  # a waiting call nobody acts on this long is hung up
MAX_CALLS = 200
MAX_AUTO_STEPS = 20
ACCOUNT_SID = "AC" + "5" * 32


def new_sid(prefix: str) -> str:
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
    touched: float = 0.0  # the last step (time.monotonic())
    steps: list[Step] = field(default_factory=list)
    # What Twilio waits on: None (ended), "gather", "record" or "dial".
    waiting: str | None = None
    wait: dict[str, str] = field(default_factory=dict)
    remaining: list[str] = field(default_factory=list)  # verbs after the waiting one
    doc_url: str = ""
    ended: str = ""


CALLS: dict[str, SimCall] = {}


def last_step(sim: SimCall) -> float:
    return max(sim.started, sim.touched)


async def expire(poster: Poster) -> None:
    """Hang up the calls nobody acts on, and forget old ones (hanging up any still waiting)."""
    now = time.monotonic()
    for sim in list(CALLS.values()):
        if sim.waiting and last_step(sim) < now - IDLE_SECONDS:
            await hang_up(poster, sim, f"nobody acted for {IDLE_SECONDS // 60} minutes")
    for key in [k for k, c in CALLS.items() if last_step(c) < now - TTL_SECONDS]:
        CALLS.pop(key, None)
    while len(CALLS) >= MAX_CALLS:
        oldest = CALLS.pop(min(CALLS, key=lambda k: last_step(CALLS[k])))
        if oldest.waiting:
            await hang_up(poster, oldest, "too many simulated calls at once")


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


def call_params(sim: SimCall, status: str, **extra: str) -> dict[str, str]:
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


def twiml_root(body: str) -> ET.Element | None:
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
    root = twiml_root(response.text) if response.status_code == 200 else None
    step = Step(title, url, params, response.status_code, response.text, heard_by=who)
    if root is not None and who == "therapist":  # the caller's words come as the verbs run
        step.said = _says(root)
    sim.steps.append(step)
    return step, root


async def run(poster: Poster, sim: SimCall, title: str, url: str, params: dict[str, str]) -> None:
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
        title, params = "Redirect", call_params(sim, "in-progress", **extra)
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
                if number is not None and number.get("machineDetection"):
                    sim.wait["machine_detection"] = "on"
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


async def go_on(poster: Poster, sim: SimCall) -> None:
    """Twilio moves on to the verbs after the one that waited."""
    sim.steps.append(Step("Nothing pressed or recorded: Twilio goes on", "", {}, 0, ""))
    follow = _carry_out(sim, sim.remaining, sim.doc_url)
    if follow is not None:
        await run(poster, sim, "Redirect", follow[0], call_params(sim, "in-progress"))


async def dial(poster: Poster, sim: SimCall, choice: str) -> None:
    wait = dict(sim.wait)
    number = wait.get("number", "")
    child_sid = new_sid("CA")
    child = {
        **call_params(sim, "in-progress"),
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
        if wait.get("machine_detection"):
            # Twilio's answering-machine detection tells the Number's url who answered.
            child["AnsweredBy"] = "human" if choice == "accept" else "machine_start"
        if url:
            _, root = await _fetch(
                poster, sim, f"The phone dialed ({number}) answers", url, child, "therapist"
            )
            gather = root.find("Gather") if root is not None else None
            if gather is None:  # no screening: connected unless the url hangs up
                bridged = root is not None and root.find("Hangup") is None
            elif choice == "accept":
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
    params = call_params(
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
        await run(poster, sim, title, wait["action"], params)
    else:
        await go_on(poster, sim)


async def hang_up(poster: Poster, sim: SimCall, why: str = "") -> None:
    """The caller hangs up, as Twilio reports it: during a <Dial> it first requests the Dial
    action (CallStatus=completed, the dialed leg canceled; what it returns is not played), then
    the status callback."""
    wait, waiting = dict(sim.wait), sim.waiting
    sim.waiting, sim.ended = None, "the caller hung up" + (f" ({why})" if why else "")
    if waiting == "dial" and "action" in wait:
        params = call_params(
            sim,
            "completed",
            DialCallStatus="canceled",
            DialCallSid=new_sid("CA"),
            DialCallDuration="0",
            DialBridged="false",
        )
        await _fetch(
            poster,
            sim,
            "Dial action: the caller hung up while it rang",
            wait["action"],
            params,
            "nobody",
        )
    params = call_params(sim, "completed", CallDuration="60")
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
