"""Voice webhooks. Each loads state, asks `ivr.voice` for the step, and saves the result, in
one session on the webhooks' own threads within a bounded wait (`Line.database`).

No caller ever hears Twilio's "application error": any failure on these routes (the database
down or hung, a bug) answers 200 with the crisis resources (`app.twilio.safe`). Only a bad
signature gets a 403.

A known client is answered in their language (`speaking`: when the line offers it). A caller
the line doesn't know is answered in English with "Para español, oprima 2" first when the
line offers Spanish. The webhooks that answer later in the call without the database (988,
screening, the voice message) read the call's language from their URL (`lang`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app import attention, oncall, voice_messages
from app.callers import (
    all_skills,
    enrolled_by_id,
    enrolled_by_phone,
    set_last_skill,
    therapist_by_phone,
)
from app.calls import call_record, note_lifeline, return_missed_calls
from app.db import insert_once
from app.errors import describe
from app.line import Line
from app.models import Call, Client
from app.phones import caller_number, is_withheld, mask
from app.twilio import therapist_menu
from app.twilio.safe import crisis_on_error, twiml, voice_fallback, voice_urls
from app.twilio.signature import form_field, verified_form
from ivr import endings, screening, voice
from ivr.codes import MISSED, AttentionKind, Outcome, Route
from ivr.language import Language, parse_language
from ivr.ringing import Caller
from ivr.scripts import first_name, speaking

log = logging.getLogger("coachline.voice")

TERMINAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}


router = APIRouter(
    prefix="/twilio/voice", route_class=crisis_on_error(voice_fallback), tags=["twilio"]
)
Form = Annotated[FormData, Depends(verified_form)]


def _line(request: Request) -> Line:
    return request.app.state.line


def _raise_missed(
    session: Session, line: Line, call: Call, caller: Caller, step: voice.VoiceStep
) -> None:
    """A missed call is an attention item, texted to whoever the flow says (`step.notice`),
    written in the call record's transaction, once per call."""
    if step.outcome in MISSED:
        attention.raise_item(
            session,
            line,
            line.now(),
            AttentionKind.MISSED_CALL,
            client_id=call.client_id,
            responsible_id=caller.primary.id,
            notice=step.notice,
            call_id=call.id,
        )


def _language(request: Request) -> Language:
    """The call's language, as the URL Twilio was given names it (English when it doesn't)."""
    return parse_language(request.query_params.get("lang", "")[:8])


def _apply(call: Call, step: voice.VoiceStep) -> None:
    if step.route:
        call.route = step.route
    call.outcome = step.outcome
    if step.ringing:
        call.therapist_id = step.ringing.id


@router.post("", summary="Voice URL: an incoming call")
async def incoming_call(request: Request, form: Form) -> Response:
    line = _line(request)
    raw_from = form_field(form, "From", 40)
    withheld = is_withheld(raw_from)
    caller = caller_number(raw_from)
    if not await line.rate_limits.call_allowed(None if withheld else caller or raw_from):
        # A loop or a flood: no ringing and no database, and still the crisis resources.
        log.warning(
            "call rate limit reached for caller %s", "(hidden)" if withheld else mask(caller)
        )
        return twiml(endings.too_many_calls(line.known_practice(), voice_urls(line), withheld))
    call_sid = form_field(form, "CallSid")
    # The carrier's caller-ID attestation (SHAKEN/STIR), kept with the call: never proof.
    stir_verstat = form_field(form, "StirVerstat", 40) or None

    def answer(session: Session) -> str:
        return answer_call(session, line, call_sid, caller, stir_verstat, withheld)

    return twiml(await line.database(answer))


def answer_call(
    session: Session,
    line: Line,
    call_sid: str,
    caller: str | None,
    stir_verstat: str | None = None,
    withheld: bool = False,
) -> str:
    """Who is calling, what the flow says to do, and the call record (with the therapist's
    text when nobody can be rung), in one transaction. A therapist's number is asked for
    their PIN first (`therapist_menu.menu_for`)."""
    now = line.now()
    practice = line.practice(session)
    urls = voice_urls(line)
    if not call_sid:
        return voice.unknown_caller(practice, urls, withheld).twiml
    client = enrolled_by_phone(session, caller, now)
    if client is None:
        therapist = therapist_by_phone(session, caller)
        if voice.hears_therapist_menu(therapist.active if therapist else None):
            assert therapist is not None
            return therapist_menu.menu_for(
                session, line, practice, therapist, call_sid, stir_verstat
            )
        step = voice.unknown_caller(practice, urls, withheld)
        call_record(
            session,
            call_sid,
            route=step.route,
            outcome=step.outcome,
            started_at=now,
            stir_verstat=stir_verstat,
        )
        return step.twiml
    practice = speaking(practice, client.caller.language)
    # Who is on call and the skills matter only when the client's own therapist can't be
    # rung first (`ivr.voice` says when): most calls need neither.
    needs_schedule = voice.incoming_needs_schedule(client.caller, now, practice)
    step = voice.incoming(
        client.caller,
        oncall.on_call_now(session, now, practice.tz) if needs_schedule else [],
        call_sid,
        now,
        practice,
        urls,
        all_skills(session, practice.language) if needs_schedule else [],
    )
    values = {
        "route": step.route or Route.COACHING,
        "outcome": step.outcome,
        "started_at": now,
        "client_id": client.caller.client_id,
        "therapist_id": step.ringing.id if step.ringing else None,
        "stir_verstat": stir_verstat,
    }
    if step.outcome not in MISSED and step.skill_key is None:  # the usual call: its record alone
        insert_once(session, Call.__table__, "call_sid", {"call_sid": call_sid, **values})
        return step.twiml
    call = call_record(session, call_sid, **values)
    set_last_skill(session, client.caller.client_id, step.skill_key)
    _raise_missed(session, line, call, client.caller, step)
    return step.twiml


@router.post("/dial-result", summary="Dial action: the therapist's leg has ended")
async def dial_result(request: Request, form: Form) -> Response:
    line = _line(request)
    call_sid = form_field(form, "CallSid")
    result = voice.DialResult(
        call_status=form_field(form, "CallStatus"),
        dial_status=form_field(form, "DialCallStatus"),
        dial_bridged=form_field(form, "DialBridged", 8) if "DialBridged" in form else None,
        accepted_by=None,
        tried=voice.parse_tried(request.query_params.get("tried")),
    )

    def answer(session: Session) -> str:
        now = line.now()
        practice = line.practice(session)
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        client = enrolled_by_id(session, call.client_id, now) if call and call.client_id else None
        if call is None or client is None:
            return endings.error_fallback(practice, voice_urls(line))
        practice = speaking(practice, client.caller.language)
        result_here = replace(result, accepted_by=call.accepted_therapist_id)
        needs_schedule = voice.after_dial_needs_schedule(result_here)
        step = voice.after_dial(
            client.caller,
            oncall.on_call_now(session, now, practice.tz) if needs_schedule else [],
            result_here,
            call_sid,
            now,
            practice,
            voice_urls(line),
            all_skills(session, practice.language) if needs_schedule else [],
        )
        _apply(call, step)
        if step.outcome == Outcome.BRIDGED and call.accepted_therapist_id:
            call.therapist_id = call.accepted_therapist_id
            # The client reached a coach: their earlier missed calls are answered too.
            return_missed_calls(
                session,
                now,
                client.caller.client_id,
                call.accepted_therapist_id,
                "the client reached a coach on a later call",
            )
        set_last_skill(session, client.caller.client_id, step.skill_key)
        _raise_missed(session, line, call, client.caller, step)
        return step.twiml

    return twiml(await line.database(answer))


@router.post("/screen", summary="The therapist's leg answers: call screening")
async def screen(request: Request, form: Form) -> Response:
    """No database: the prompt names the practice's line, never the client, so that a
    voicemail box records no name (`ivr.screening`), and says when the call is in Spanish."""
    line = _line(request)
    practice = speaking(line.known_practice(), _language(request))
    # The therapist's leg is a child of the client's call: Twilio names it in ParentCallSid.
    parent = form_field(form, "ParentCallSid")
    therapist_id = voice.parse_tried(request.query_params.get("therapist"))
    return twiml(
        screening.screen(practice, parent, therapist_id[0] if therapist_id else 0, voice_urls(line))
    )


@router.post("/screen/answer", summary="The therapist pressed a key on screening")
async def screen_answer(request: Request, form: Form) -> Response:
    """A therapist who pressed 1 is recorded as having accepted, and hears the client's first
    name and the call's time limit before the bridge."""
    line = _line(request)
    digits = form_field(form, "Digits", 8)
    parent = request.query_params.get("parent", "")[:64]
    therapist_id = voice.parse_tried(request.query_params.get("therapist"))

    def record_acceptance(session: Session) -> str | None:
        call = session.scalar(select(Call).where(Call.call_sid == parent))
        if call is None:
            return None
        call.accepted_therapist_id = therapist_id[0]
        call.therapist_id = therapist_id[0]
        call.answered_at = line.now()
        client = session.get(Client, call.client_id) if call.client_id else None
        return first_name(client.name) if client else None

    name = None
    if digits.strip() == voice.ACCEPT_DIGIT and therapist_id:
        try:
            name = await line.database(record_acceptance)
        except Exception as exc:
            # A person pressed 1: bridge them even if the record could not be written.
            log.error("could not record acceptance: %s", describe(exc))
    _accepted, body = screening.screen_answer(digits, name, line.known_practice())
    return twiml(body)


@router.post("/recorded", summary="Record action: the caller left a voice message")
async def recorded(request: Request, form: Form) -> Response:
    """The message is kept on its call and raised as an attention item (its therapist is
    texted) in one transaction (`app.voice_messages`). The caller hears the thanks and the
    crisis resources whatever happens (without "saved" when it was not)."""
    line = _line(request)
    language = _language(request)
    call_sid = form_field(form, "CallSid")
    message = voice_messages.from_record_action(
        form_field(form, "RecordingSid", 64),
        form_field(form, "RecordingDuration", 9),
        form_field(form, "RecordingUrl", 500),
    )

    def save(session: Session) -> str:
        practice = speaking(line.practice(session), language)
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        saved = call is not None and message is not None
        if saved:
            voice_messages.save(session, line, line.now(), practice.tz, call, message)
        return voice.after_recording(practice, voice_urls(line), saved)

    try:
        return twiml(await line.database(save))
    except Exception as exc:
        # The SID (no personal data) lets someone find the message in Twilio.
        sid = message.sid if message else "(none)"
        log.error("voice message %s on call %s not saved: %s", sid, call_sid, describe(exc))
        practice = speaking(line.known_practice(), language)
        return twiml(voice.after_recording(practice, voice_urls(line), saved=False))


@router.post("/status", summary="Status callback: the call's progress, in any order")
async def status(request: Request, form: Form) -> Response:
    line = _line(request)
    call_sid = form_field(form, "CallSid")
    new_status = form_field(form, "CallStatus", 20)
    duration = form_field(form, "CallDuration", 9)
    if not call_sid or not new_status:
        return Response(status_code=204)

    def save(session: Session) -> None:
        now = line.now()
        call = call_record(
            session,
            call_sid,
            route=Route.FALLBACK,
            outcome=Outcome.CRISIS_RESOURCES,
            started_at=now,
        )
        if call.twilio_status in TERMINAL_STATUSES and new_status not in TERMINAL_STATUSES:
            return  # a late "ringing" after the end changes nothing
        call.twilio_status = new_status
        if new_status in TERMINAL_STATUSES:
            call.ended_at = call.ended_at or now
            if duration.isdigit():
                call.duration_seconds = int(duration)

    await line.database(save)
    return Response(status_code=204)


@router.post("/fallback", summary="Voice Fallback URL: crisis resources, no database")
async def fallback(request: Request, form: Form) -> Response:
    """No database, no thread and no lock: it answers whatever the database is doing."""
    return twiml(voice_fallback(_line(request)))


@router.post("/lifeline", summary="The caller's key after the offer of 988")
async def lifeline(request: Request, form: Form, background: BackgroundTasks) -> Response:
    """1 connects the caller to the 988 Lifeline; 2, where Spanish was offered, says the script
    again in Spanish (`replay`). No database before the answer: the connection is noted on
    the call afterwards (`app.calls.note_lifeline`), when it can be."""
    line = _line(request)
    digits = form_field(form, "Digits", 8)
    then = request.query_params.get("then", endings.THEN_GOODBYE)
    replay = request.query_params.get("replay", "")[:20] or None
    if digits.strip() == endings.LIFELINE_DIGIT:
        background.add_task(_note_lifeline, line, form_field(form, "CallSid"))
    practice = speaking(line.known_practice(), _language(request))
    return twiml(endings.lifeline(digits, then, practice, voice_urls(line), replay))


async def _note_lifeline(line: Line, call_sid: str) -> None:
    try:
        await line.database(lambda session: note_lifeline(session, call_sid, line.now()))
    except Exception as exc:
        log.error("could not note a call put through to 988: %s", describe(exc))
