"""A therapist calling the line: their PIN, the missed-call menu, call-backs through the line,
and recording a self-harm event by keypad (`ivr.therapist_menu` and `ivr.pin` say what is
heard).

Caller ID is a claim, not an identity (DESIGN.md, invariant 9): the Voice URL makes the
therapist's call record (route "therapist", outcome "no_pin") and asks for the PIN; /pin checks
it (`app.pins`). The right PIN is kept on that call record as `answered_at`, "the line accepted
this therapist at", which no other path sets on a therapist's call. Every later step of the
menu finds the record by its CallSid and goes on only when it is this therapist's and its PIN
was accepted lately (`ivr.pin.verified_call`); otherwise the crisis resources and nothing
about clients. No step makes the record: one posted with another CallSid has none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app import pins
from app.callers import therapist_by_phone
from app.calls import alerted, call_record, return_missed_calls
from app.domain import DomainError
from app.errors import describe
from app.line import Line
from app.lockouts import record_lockout
from app.models import UNRETURNED_MISSED, Call, Client, Therapist
from app.twilio.safe import crisis_on_error, twiml, voice_fallback
from app.twilio.signature import form_field, verified_form
from ivr import pin as pin_flow
from ivr import therapist_menu as menu_flow
from ivr import voice
from ivr.codes import Outcome, Route
from ivr.scripts import Practice

log = logging.getLogger("coachline.therapist_menu")

WAITING_DAYS = 7  # missed calls older than this no longer fill the menu

router = APIRouter(
    prefix="/twilio/voice/therapist",
    route_class=crisis_on_error(voice_fallback),
    tags=["twilio"],
)
Form = Annotated[FormData, Depends(verified_form)]


def missed_calls_for(session: Session, therapist_id: int, now: datetime) -> list[menu_flow.Missed]:
    """Clients waiting for a call-back from this therapist: every missed call that alerted
    them (their own client's, one that rang them, one they were texted about as the one on
    call or escalated to), oldest first."""
    rows = session.execute(
        select(Call.client_id, Client.name, Call.started_at)
        .join(Client, Client.id == Call.client_id)
        .where(
            UNRETURNED_MISSED,
            Call.started_at >= now - timedelta(days=WAITING_DAYS),
            alerted(therapist_id),
        )
        .order_by(Call.started_at)
    ).all()
    waiting: dict[int, menu_flow.Missed] = {}
    for client_id, name, started_at in rows:
        earlier = waiting.get(client_id)
        calls = earlier.calls + 1 if earlier else 1
        waiting[client_id] = menu_flow.Missed(client_id, name, started_at, calls)
    return sorted(waiting.values(), key=lambda m: m.called_at)


def menu_for(
    session: Session,
    line: Line,
    practice: Practice,
    therapist: Therapist,
    call_sid: str,
    stir_verstat: str | None = None,
) -> str:
    """Entry point from the Voice URL when the caller is a registered therapist: their call
    record, and the PIN asked for before anything else."""
    now = line.now()
    call_record(
        session,
        call_sid,
        route=Route.THERAPIST,
        outcome=Outcome.NO_PIN,
        therapist_id=therapist.id,
        started_at=now,
        stir_verstat=stir_verstat,
    )
    return pin_flow.entry(
        therapist.pin_hash is not None, therapist.pin_locked_until, now, practice, _pin_urls(line)
    )


def _urls(line: Line) -> menu_flow.MenuUrls:
    return menu_flow.MenuUrls(line.settings.public_base_url)


def _pin_urls(line: Line) -> pin_flow.PinUrls:
    return pin_flow.PinUrls(line.settings.public_base_url)


def _call(session: Session, call_sid: str) -> Call | None:
    if not call_sid:
        return None
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


def _pin_accepted(call: Call | None, therapist_id: int | None, now: datetime) -> bool:
    """This call gave the right PIN (its record's `answered_at`, see the module's docstring)."""
    if call is None or therapist_id is None:
        return False
    return pin_flow.verified_call(
        call.route, call.therapist_id, therapist_id, call.answered_at, now
    )


@dataclass
class _Step:
    line: Line
    session: Session
    therapist: Therapist
    call: Call
    index: int
    now: datetime
    practice: Practice
    urls: menu_flow.MenuUrls


class _Menu:
    """One of the menu's webhooks: the therapist on this call (recognised by their registered
    phone, and by the PIN this call gave) and the step's work, in one transaction
    (`Line.database`)."""

    def __init__(self, request: Request, form: FormData) -> None:
        self.line: Line = request.app.state.line
        self.phone = form_field(form, "From", 40)
        self.call_sid = form_field(form, "CallSid")
        index = request.query_params.get("i", "0")
        self.index = int(index) if index.isdigit() and len(index) < 6 else 0

    async def run(self, work: Callable[[_Step], str], needs_pin: bool = True) -> Response:
        """`work` for the therapist whose call this is; `needs_pin`: only once this call gave
        the right PIN (every step but /pin itself)."""

        def in_session(session: Session) -> str:
            practice = self.line.practice(session)
            therapist = therapist_by_phone(session, self.phone)
            if therapist is None or not voice.hears_therapist_menu(therapist.active):
                return voice_fallback(self.line)
            now = self.line.now()
            call = _call(session, self.call_sid)
            if call is None or call.route != Route.THERAPIST or call.therapist_id != therapist.id:
                return voice_fallback(self.line)  # the Voice URL never made this call
            if needs_pin and not _pin_accepted(call, therapist.id, now):
                return voice_fallback(self.line)
            step = _Step(
                self.line, session, therapist, call, self.index, now, practice, _urls(self.line)
            )
            return work(step)

        return twiml(await self.line.database(in_session))


@router.post("/pin", summary="The therapist entered their PIN")
async def pin(request: Request, form: Form) -> Response:
    digits = form_field(form, "Digits", 12)
    attempt = pin_flow.parse_attempt(request.query_params.get("try"))

    def work(step: _Step) -> str:
        therapist, call = step.therapist, step.call
        if not _pin_accepted(call, therapist.id, step.now):
            check = pins.check_pin(step.session, step.line, step.now, therapist, digits)
            minutes = pin_flow.minutes_left(therapist.pin_locked_until, step.now)
            refused = pin_flow.after_check(
                check, attempt, step.practice, _pin_urls(step.line), minutes
            )
            if refused is not None:
                return refused
            call.answered_at, call.outcome = step.now, Outcome.MENU
        missed = missed_calls_for(step.session, therapist.id, step.now)
        return menu_flow.menu(missed, 0, step.now, step.practice, step.urls)

    return await _Menu(request, form).run(work, needs_pin=False)


def _client_in_menu(step: _Step, raw_id: str | None) -> menu_flow.Missed | None:
    """Only a client in this therapist's own menu can be called or recorded for."""
    missed = missed_calls_for(step.session, step.therapist.id, step.now)
    return next((m for m in missed if str(m.client_id) == raw_id), None)


@router.post("/menu", summary="The missed-call menu (after a step ends)")
async def menu(request: Request, form: Form) -> Response:
    def work(step: _Step) -> str:
        missed = missed_calls_for(step.session, step.therapist.id, step.now)
        return menu_flow.menu(missed, step.index, step.now, step.practice, step.urls)

    return await _Menu(request, form).run(work)


@router.post("/choice", summary="A key pressed on the missed-call menu")
async def choice(request: Request, form: Form) -> Response:
    digit = form_field(form, "Digits", 4)

    def work(step: _Step) -> str:
        practice, urls = step.practice, step.urls
        missed = missed_calls_for(step.session, step.therapist.id, step.now)
        if not missed:
            return menu_flow.menu(missed, 0, step.now, practice, urls)
        index = step.index % len(missed)
        entry = missed[index]
        if digit == menu_flow.CALL_BACK:
            client = step.session.get(Client, entry.client_id)
            assert client is not None
            call = step.call
            call.client_id, call.outcome = client.id, Outcome.CALLING_BACK
            # This call-back's own start and answer (a call may hold several call-backs).
            call.call_back_started_at, call.answered_by = step.now, None
            return menu_flow.call_back(entry, client.phone, index, practice, urls, call.call_sid)
        if digit == menu_flow.NEXT:
            index += 1
        elif digit == menu_flow.RECORD_EVENT:
            return menu_flow.event_time_prompt(entry.name, entry.client_id, index, urls)
        return menu_flow.menu(missed, index, step.now, practice, urls)

    return await _Menu(request, form).run(work)


@router.post("/callback-answered", summary="The client's leg of a call-back answered (AMD)")
async def callback_answered(request: Request, form: Form) -> Response:
    """Twilio's answering-machine detection says who answered: recorded on the therapist's
    call, and a machine is hung up on. Also the AMD status callback (the same answer)."""
    line: Line = request.app.state.line
    answered_by = form_field(form, "AnsweredBy", 24) or None
    parent = request.query_params.get("parent", "")[:64] or form_field(form, "ParentCallSid")

    def record(session: Session) -> bool:
        """Whether the call-back belongs to a call that gave its PIN; recorded only then."""
        call = _call(session, parent)
        if not _pin_accepted(call, call.therapist_id if call else None, line.now()):
            return False
        assert call is not None
        if answered_by:
            call.answered_by = answered_by
        return True

    try:
        verified = await line.database(record)
    except Exception as exc:  # the answer stands without the record (the therapist is asked)
        log.error("could not record who answered a call-back: %s", describe(exc))
        verified = True  # only a verified call's menu step dials a call-back
    return twiml(menu_flow.answered(answered_by, verified))


@router.post("/callback-done", summary="Dial action: the call-back has ended")
async def callback_done(request: Request, form: Form) -> Response:
    client_id = _client_id(request)
    dial_status = form_field(form, "DialCallStatus", 20)
    dial_duration = form_field(form, "DialCallDuration", 9)
    dial_bridged = form_field(form, "DialBridged", 8) if "DialBridged" in form else None
    therapist_hung_up = form_field(form, "CallStatus", 20) == "completed"

    def work(step: _Step) -> str:
        client = step.session.get(Client, client_id)
        result = menu_flow.call_back_result(
            dial_status, dial_duration, dial_bridged, step.call.answered_by
        )
        reached = result is menu_flow.CallBack.REACHED
        step.call.outcome = Outcome.RETURNED if reached else Outcome.NOT_REACHED
        if client is None or step.call.client_id != client.id:
            return voice_fallback(step.line)
        if reached:
            _returned(step, client.id, "called back through the line and answered")
        if therapist_hung_up:
            return "<Response/>"  # nothing more to hear (and nobody to ask)
        return menu_flow.after_call_back(
            client.name, result, step.call.answered_by, client.id, step.index, step.urls
        )

    return await _Menu(request, form).run(work)


@router.post("/callback-confirm", summary="The therapist says whether they spoke with the client")
async def callback_confirm(request: Request, form: Form) -> Response:
    client_id = _client_id(request)
    spoke = form_field(form, "Digits", 4) == menu_flow.SPOKE

    def work(step: _Step) -> str:
        client = step.session.get(Client, client_id)
        # Only the client this call just called back, and only once.
        if client is None or step.call.client_id != client.id:
            return menu_flow.after_confirm("", False, step.index, step.urls)
        if spoke and step.call.outcome == Outcome.NOT_REACHED:
            step.call.outcome = Outcome.RETURNED
            _returned(step, client.id, "called back through the line; the therapist spoke to them")
        return menu_flow.after_confirm(client.name, spoke, step.index, step.urls)

    return await _Menu(request, form).run(work)


def _client_id(request: Request) -> int:
    raw = request.query_params.get("client", "0")
    return int(raw) if raw.isdigit() and len(raw) < 12 else 0


def _returned(step: _Step, client_id: int, why: str) -> None:
    """A person was reached: the client's missed calls are returned by this therapist."""
    return_missed_calls(step.session, step.now, client_id, step.therapist.id, why)


@router.post("/event-time", summary="The time of a self-harm event, keyed in")
async def event_time(request: Request, form: Form) -> Response:
    raw_client = request.query_params.get("client")
    digits = form_field(form, "Digits", 8)

    def work(step: _Step) -> str:
        entry = _client_in_menu(step, raw_client)
        urls, practice = step.urls, step.practice
        if entry is None:
            return menu_flow.cancelled(step.index, urls)
        at = menu_flow.parse_event_time(digits, step.now, practice)
        if at is None:
            return menu_flow.event_time_prompt(
                entry.name, entry.client_id, step.index, urls, retry=True
            )
        return menu_flow.event_confirm_prompt(
            entry.name, entry.client_id, step.index, at, step.now, practice, urls
        )

    return await _Menu(request, form).run(work)


@router.post("/event-confirm", summary="Confirming a self-harm event: the 24-hour rule starts")
async def event_confirm(request: Request, form: Form) -> Response:
    raw_client = request.query_params.get("client")
    raw_at = request.query_params.get("at", "")
    confirmed = form_field(form, "Digits", 4) == menu_flow.CONFIRM

    def work(step: _Step) -> str:
        entry = _client_in_menu(step, raw_client)
        urls, practice = step.urls, step.practice
        if entry is None or not raw_at.isdigit() or len(raw_at) > 12 or not confirmed:
            return menu_flow.cancelled(step.index, urls)
        at = datetime.fromtimestamp(int(raw_at), UTC)
        try:
            with step.session.begin_nested():
                lockout = record_lockout(
                    step.session,
                    f"voice:therapist:{step.therapist.id}",
                    step.now,
                    entry.client_id,
                    occurred_at=at,
                )
        except DomainError:
            return menu_flow.cancelled(step.index, urls)
        return menu_flow.event_recorded(
            entry.name, lockout.ends_at, step.now, practice, step.index, urls
        )

    return await _Menu(request, form).run(work)
