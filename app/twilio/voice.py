"""Voice webhooks. Each loads state, asks `ivr.voice` for the step, and saves the result.

No caller ever hears Twilio's "application error": any failure on these routes (database
down, a bug) answers 200 with the crisis resources (`app.twilio.safe`). Only a bad signature
gets a 403.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.callers import (
    SET_LAST_SKILL,
    Enrolled,
    TherapistByPhone,
    callers_by_phone,
    enrolled_by_id,
    skills_cached,
    therapists_by_phone,
)
from app.context import Line
from app.db import DriverStatement, InsertOnce
from app.errors import describe
from app.models import Call, Client, Message, Therapist
from app.notify import queue_text
from app.oncall import on_call_cached
from app.phones import caller_number, mask
from app.twilio import callbacks
from app.twilio.safe import crisis_on_error, twiml
from app.twilio.signature import form_field, verified_form
from ivr import callbacks as ivr_callbacks
from ivr import voice
from ivr.scripts import Practice, first_name

log = logging.getLogger("coachline.voice")

TERMINAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}


router = APIRouter(
    prefix="/twilio/voice", route_class=crisis_on_error(voice.error_fallback), tags=["twilio"]
)
Form = Annotated[FormData, Depends(verified_form)]


def _line(request: Request) -> Line:
    return request.app.state.line


def _urls(line: Line) -> voice.Urls:
    return voice.Urls(line.settings.public_base_url)


_CALL_COLUMNS = ("call_sid", "client_id", "route", "outcome", "therapist_id", "started_at")
# The call record as the incoming call writes it (the benchmark's bare webhook writes it too).
NEW_CALL = InsertOnce(Call.__table__, "call_sid", _CALL_COLUMNS)


@dataclass(frozen=True)
class CallStart:
    """A call record as the incoming call writes it: how the call began."""

    call_sid: str
    route: str
    outcome: str
    started_at: datetime
    client_id: int | None = None
    therapist_id: int | None = None


def _record_starts(conn: Connection, starts: list[CallStart]) -> list[IntegrityError | None]:
    """The call records of a group, in one INSERT: one round trip and one commit for them all.
    A CallSid already recorded (Twilio retried the webhook) keeps its first record. When the
    group breaks a constraint (a client deleted in the meantime), each is written alone, so
    that only that call fails."""
    if not starts:
        return []
    try:
        NEW_CALL.many(conn, [_call_row(start) for start in starts])
        return [None] * len(starts)
    except IntegrityError:
        if len(starts) == 1:
            raise
    failed: list[IntegrityError | None] = []
    for start in starts:
        try:
            NEW_CALL(conn, _call_row(start))
            failed.append(None)
        except IntegrityError as exc:
            failed.append(exc)
    return failed


def _call_row(start: CallStart) -> dict[str, Any]:
    return {column: getattr(start, column) for column in _CALL_COLUMNS}


_CALL_ID = DriverStatement(
    select(Call.__table__.c.id).where(Call.__table__.c.call_sid == bindparam("sid"))
)


def _record_call(
    conn: Connection,
    call_sid: str,
    *,
    route: str,
    outcome: str,
    started_at: datetime,
    client_id: int | None = None,
    therapist_id: int | None = None,
) -> int:
    """The id of the call record for a CallSid, made once even when Twilio retries the
    webhook (one INSERT .. ON CONFLICT DO NOTHING); a retry keeps the first."""
    made = NEW_CALL(
        conn,
        {
            "call_sid": call_sid,
            "client_id": client_id,
            "route": route,
            "outcome": outcome,
            "therapist_id": therapist_id,
            "started_at": started_at,
        },
    )
    if made is not None:
        return made
    return _CALL_ID.scalar(conn, {"sid": call_sid})


def _call_for(session: Session, call_sid: str, **fields: Any) -> Call:
    """The call record for a CallSid, as `_record_call` makes it, to change."""
    call = session.get(Call, _record_call(session.connection(), call_sid, **fields))
    assert call is not None
    return call


def _notify_once(
    session: Session, line: Line, call_id: int, client_id: int | None, notice: voice.Notice | None
) -> None:
    """A missed-call text, written in the call record's transaction, at most once per call."""
    if notice is None:
        return
    session.flush()
    exists = session.scalar(
        select(Message.id).where(Message.call_id == call_id, Message.kind == "notification")
    )
    if exists is None:
        queue_text(
            session,
            line,
            to_phone=notice.phone,
            body=notice.body,
            therapist_id=notice.therapist_id,
            client_id=client_id,
            call_id=call_id,
        )


def _apply(call: Call, step: voice.VoiceStep) -> None:
    if step.route:
        call.route = step.route
    call.outcome = step.outcome
    if step.ringing:
        call.therapist_id = step.ringing.id


@dataclass(frozen=True)
class IncomingCall:
    call_sid: str
    caller: str | None  # E.164, or None when Twilio's From is no phone number


@dataclass(frozen=True)
class Answered:
    """A group's answer to one incoming call: what the caller hears, the call recorded; or
    what is left for the webhook to do in a transaction of its own (rare: a therapist calling
    in, or a client nobody can be rung for)."""

    twiml: str | None = None
    therapist_id: int | None = None  # a therapist: their call-back menu
    caller: voice.Caller | None = None  # nobody to ring: the wait-time script's step
    waiting: voice.VoiceStep | None = None


@router.post("", summary="Voice URL: an incoming call")
async def incoming_call(request: Request) -> Response:
    """The hottest path of the line, on the event loop: answered together with the other
    calls of the same moment (`answer_calls`)."""
    form = await verified_form(request)
    line = _line(request)
    call = IncomingCall(form_field(form, "CallSid"), caller_number(form_field(form, "From", 40)))
    if not line.rate_limits.call_allowed(call.caller or form_field(form, "From", 40)):
        # A loop or a flood: no ringing and no database, and still the crisis resources.
        log.warning("call rate limit reached for caller %s", mask(call.caller))
        return twiml(voice.rate_limited(line.settings.practice))
    with line.database_work():
        answered = await line.gather(answer_calls)(call)
        if answered.twiml is not None:
            return twiml(answered.twiml)
        if answered.therapist_id is not None:
            with line.sessions() as session, session.begin():
                therapist = session.get(Therapist, answered.therapist_id)
                assert therapist is not None
                return twiml(callbacks.menu_for(session, line, therapist, call.call_sid))
        assert answered.caller is not None and answered.waiting is not None
        return twiml(_wait_for_call_back(line, call.call_sid, answered.caller, answered.waiting))


def answer_calls(line: Line, calls: list[IncomingCall]) -> list[Answered | Exception]:
    """The incoming calls of one turn of the event loop (`Line.gather(answer_calls)`): every
    caller looked up in one statement, each call decided by the flow (`ivr.voice`), and
    every call record written in one INSERT, all on one connection. Each call is decided as
    it would be alone; a call whose record breaks a constraint fails alone."""
    now = line.now()
    practice = line.practice()
    phones = sorted({c.caller for c in calls if c.caller})
    with line.webhook_connection() as conn:
        clients = callers_by_phone(conn, phones, now) if phones else {}
        strangers = [p for p in phones if p not in clients]
        therapists = therapists_by_phone(conn, strangers) if strangers else {}
        answers: list[Answered | Exception] = []
        starts: list[tuple[int, CallStart]] = []
        for call in calls:
            answered, start = _decide(
                line, call, clients.get(call.caller or ""), therapists, now, practice
            )
            if start is not None:
                starts.append((len(answers), start))
            answers.append(answered)
        for (i, _), failed in zip(
            starts, _record_starts(conn, [s for _, s in starts]), strict=True
        ):
            if failed is not None:
                answers[i] = failed
    return answers


def _decide(
    line: Line,
    call: IncomingCall,
    enrolled: Enrolled | None,
    therapists: dict[str, TherapistByPhone],
    now: datetime,
    practice: Practice,
) -> tuple[Answered, CallStart | None]:
    """One call's answer, and the record it writes with its group (None: none, or not yet)."""
    if not call.call_sid:
        return Answered(twiml=voice.unknown_caller(practice).twiml), None
    if enrolled is None:
        therapist = therapists.get(call.caller or "")
        if therapist is not None and therapist.active:  # never through the client flow
            return Answered(therapist_id=therapist.id), None
        step = voice.unknown_caller(practice)
        return Answered(twiml=step.twiml), CallStart(call.call_sid, step.route, step.outcome, now)
    caller = enrolled.caller
    if caller.locked_until is None and enrolled.being_called_back:
        return (
            Answered(twiml=ivr_callbacks.client_busy_with_call_back(practice)),
            CallStart(call.call_sid, voice.COACHING, "being_called_back", now, caller.client_id),
        )
    step = voice.incoming(
        caller,
        on_call_cached(line, now),
        call.call_sid,
        now,
        practice,
        _urls(line),
        skills_cached(line),
    )
    if step.skill_key or step.notice:
        return Answered(caller=caller, waiting=step), None
    ringing = step.ringing.id if step.ringing else None
    record = CallStart(
        call.call_sid, step.route or voice.COACHING, step.outcome, now, caller.client_id, ringing
    )
    return Answered(twiml=step.twiml), record


def _wait_for_call_back(
    line: Line, call_sid: str, caller: voice.Caller, step: voice.VoiceStep
) -> str:
    """Nobody to ring: the call record, the skill offered and the therapist's text, together."""
    with line.sessions() as session, session.begin():
        call_id = _record_call(
            session.connection(),
            call_sid,
            route=step.route or voice.COACHING,
            outcome=step.outcome,
            started_at=line.now(),
            client_id=caller.client_id,
        )
        if step.skill_key:
            SET_LAST_SKILL.execute(
                session.connection(), {"client_id": caller.client_id, "skill": step.skill_key}
            )
        _notify_once(session, line, call_id, caller.client_id, step.notice)
    return step.twiml


@router.post("/dial-result", summary="Dial action: the therapist's leg has ended")
def dial_result(request: Request, form: Form) -> Response:
    line = _line(request)
    now = line.now()
    call_sid = form_field(form, "CallSid")
    with line.sessions() as session, session.begin():
        practice = line.practice(session)
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        enrolled = enrolled_by_id(session, call.client_id, now) if call and call.client_id else None
        if call is None or enrolled is None:
            return twiml(voice.error_fallback(practice))
        result = voice.DialResult(
            call_status=form_field(form, "CallStatus"),
            dial_status=form_field(form, "DialCallStatus"),
            dial_bridged=form.get("DialBridged") if "DialBridged" in form else None,
            accepted_by=call.accepted_therapist_id,
            tried=voice.parse_tried(request.query_params.get("tried")),
        )
        step = voice.after_dial(
            enrolled.caller,
            on_call_cached(line, now),
            result,
            call_sid,
            now,
            practice,
            _urls(line),
            skills_cached(line),
        )
        _apply(call, step)
        if step.outcome == voice.BRIDGED and call.accepted_therapist_id:
            call.therapist_id = call.accepted_therapist_id
        if step.skill_key:
            SET_LAST_SKILL.execute(
                session.connection(), {"client_id": call.client_id, "skill": step.skill_key}
            )
        _notify_once(session, line, call.id, call.client_id, step.notice)
    return twiml(step.twiml)


@router.post("/screen", summary="The therapist's leg answers: call screening")
def screen(request: Request, form: Form) -> Response:
    line = _line(request)
    # The therapist's leg is a child of the client's call: Twilio names it in ParentCallSid.
    parent = form_field(form, "ParentCallSid")
    therapist_id = voice.parse_tried(request.query_params.get("therapist"))
    name = "a client"
    try:
        with line.sessions() as session:
            call = session.scalar(select(Call).where(Call.call_sid == parent))
            if call and call.client_id:
                client = session.get(Client, call.client_id)
                name = first_name(client.name) if client else name
    except Exception as exc:  # screening still works without the name
        log.error("screen could not load the call: %s", describe(exc))
    return twiml(voice.screen(name, parent, therapist_id[0] if therapist_id else 0, _urls(line)))


@router.post("/screen/answer", summary="The therapist pressed a key on screening")
def screen_answer(request: Request, form: Form) -> Response:
    line = _line(request)
    accepted, body = voice.screen_answer(form_field(form, "Digits", 8))
    parent = request.query_params.get("parent", "")[:64]
    therapist_id = voice.parse_tried(request.query_params.get("therapist"))
    if accepted and therapist_id:
        try:
            with line.sessions() as session, session.begin():
                call = session.scalar(select(Call).where(Call.call_sid == parent))
                if call is not None:
                    call.accepted_therapist_id = therapist_id[0]
                    call.therapist_id = therapist_id[0]
                    call.answered_at = line.now()
        except Exception as exc:
            # A person pressed 1: bridge them even if the record could not be written.
            log.error("could not record acceptance: %s", describe(exc))
    return twiml(body)


@router.post("/recorded", summary="Record action: the caller left a voice message")
def recorded(request: Request, form: Form) -> Response:
    line = _line(request)
    url = form_field(form, "RecordingUrl", 500)
    with line.sessions() as session, session.begin():
        call = session.scalar(select(Call).where(Call.call_sid == form_field(form, "CallSid")))
        if call is not None and url.startswith("https://"):
            call.recording_url = url
        return twiml(voice.after_recording(line.practice(session)))


@router.post("/status", summary="Status callback: the call's progress, in any order")
def status(request: Request, form: Form) -> Response:
    line = _line(request)
    call_sid = form_field(form, "CallSid")
    new_status = form_field(form, "CallStatus", 20)
    if not call_sid or not new_status:
        return Response(status_code=204)
    with line.sessions() as session, session.begin():
        call = _call_for(
            session,
            call_sid,
            route=voice.FALLBACK,
            outcome=voice.CRISIS_RESOURCES,
            started_at=line.now(),
        )
        if call.twilio_status in TERMINAL_STATUSES and new_status not in TERMINAL_STATUSES:
            return Response(status_code=204)  # a late "ringing" after the end changes nothing
        call.twilio_status = new_status
        if new_status in TERMINAL_STATUSES:
            call.ended_at = call.ended_at or line.now()
            duration = form_field(form, "CallDuration", 9)
            if duration.isdigit():
                call.duration_seconds = int(duration)
    return Response(status_code=204)


@router.post("/fallback", summary="Voice Fallback URL: crisis resources, no database")
def fallback(request: Request, form: Form) -> Response:
    return twiml(voice.error_fallback(_line(request).settings.practice))
