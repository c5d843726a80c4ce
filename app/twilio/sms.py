"""The Messaging webhook: loads who texted, asks `ivr.sms_flow`, saves the decision and the
messages in one transaction, and replies with TwiML. On any failure: the crisis resources."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from twilio.twiml.messaging_response import MessagingResponse

from app.callers import all_skills, enrolled_by_phone
from app.context import Line
from app.models import CheckIn, Client, Message, Success, Therapist
from app.notify import queue_text
from app.oncall import on_call_now
from app.phones import mask, to_e164
from app.therapist_texts import handle_therapist_text
from app.twilio.safe import crisis_on_error, twiml
from app.twilio.signature import form_field, verified_form
from ivr import replies, voice
from ivr.scripts import Practice, crisis_texted, first_name
from ivr.sms_flow import ClientState, SmsDecision, SmsState, handle_sms
from ivr.texts import IntentKind, crisis_match

log = logging.getLogger("coachline.sms")

MAX_BODY = 1600


def message_twiml(body: str | None) -> str:
    response = MessagingResponse()
    if body:
        response.message(body)
    return str(response)


def crisis_reply_twiml(practice: Practice) -> str:
    return message_twiml(crisis_texted(practice))


router = APIRouter(
    prefix="/twilio/sms", route_class=crisis_on_error(crisis_reply_twiml), tags=["twilio"]
)


def _open_check_in(session: Session, client_id: int) -> CheckIn | None:
    """The client's latest unanswered check-in, expired or not (the flow decides)."""
    return session.scalar(
        select(CheckIn)
        .where(CheckIn.client_id == client_id, CheckIn.answered_at.is_(None))
        .order_by(CheckIn.asked_at.desc(), CheckIn.id.desc())
        .limit(1)
    )


def _start_of_local_day(now: datetime, practice: Practice) -> datetime:
    local = now.astimezone(practice.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _queue_success_digest(session: Session, line: Line, therapist: Therapist) -> None:
    """At most one text a day (the practice's day) saying there are successes to read."""
    since = _start_of_local_day(line.now(), line.settings.practice)
    sent_today = session.scalar(
        select(Message.id).where(
            Message.kind == "success_digest",
            Message.therapist_id == therapist.id,
            Message.created_at >= since,
        )
    )
    if sent_today is None:
        queue_text(
            session,
            line,
            to_phone=therapist.phone,
            body=replies.therapist_success_digest(),
            kind="success_digest",
            therapist_id=therapist.id,
        )


@router.post("", summary="Messaging URL: an incoming text")
def incoming_text(request: Request, form: Annotated[FormData, Depends(verified_form)]) -> Response:
    line: Line = request.app.state.line
    now = line.now()
    sid = form_field(form, "MessageSid")
    sender = to_e164(form_field(form, "From", 40))
    body = form_field(form, "Body", MAX_BODY)
    if not line.rate_limits.text_allowed(sender or form_field(form, "From", 40)):
        # A loop with an auto-responder, or a flood: answering would feed it. Crisis language
        # still gets the crisis resources.
        log.warning("text rate limit reached for sender %s", mask(sender))
        reply = crisis_texted(line.settings.practice) if crisis_match(body) else None
        return twiml(message_twiml(reply))

    with line.sessions() as session, session.begin():
        practice = line.practice(session)
        if sid:
            earlier = session.scalar(
                select(Message).where(Message.twilio_sid == sid, Message.direction == "inbound")
            )
            if earlier is not None:  # Twilio retried: the same reply, nothing done twice
                reply = session.scalar(
                    select(Message.body).where(Message.reply_to_id == earlier.id)
                )
                return twiml(message_twiml(reply))

        enrolled = enrolled_by_phone(session, sender, now) if sender else None
        client = session.get(Client, enrolled.caller.client_id) if enrolled else None
        therapist = (
            session.scalar(select(Therapist).where(Therapist.phone == sender))
            if sender and client is None
            else None
        )
        inbound = Message(
            direction="inbound",
            kind="inbound",
            client_id=client.id if client else None,
            therapist_id=therapist.id if therapist else None,
            from_phone=sender,
            to_phone=line.settings.twilio_phone_number or None,
            body=body,
            status="received",
            twilio_sid=sid or None,
            created_at=now,
        )
        session.add(inbound)

        if client is not None and enrolled is not None:
            caller = enrolled.caller
            check_in = _open_check_in(session, client.id)
            state = SmsState.for_client(
                practice,
                ClientState(
                    first_name=first_name(client.name),
                    last_skill=client.last_skill,
                    opted_out=client.sms_opted_out,
                    locked_until=caller.locked_until,
                    check_in_expires_at=check_in.expires_at if check_in else None,
                ),
                skills=all_skills(session),
                seed=sid,
            )
            decision = handle_sms(state, body, now)
            _apply(session, line, decision, client, caller, check_in, now)
        elif therapist is not None:
            # Crisis language first, then the therapists' text commands, then the usual flow.
            command_reply = (
                None
                if crisis_match(body)
                else handle_therapist_text(session, line, therapist, body, now)
            )
            decision = (
                handle_sms(SmsState.for_therapist(practice), body, now)
                if command_reply is None
                else SmsDecision(IntentKind.UNKNOWN, command_reply)
            )
        else:
            decision = handle_sms(SmsState.for_unknown(practice), body, now)

        if decision.reply:
            session.flush()
            session.add(
                Message(
                    direction="outbound",
                    kind="reply",
                    client_id=inbound.client_id,
                    therapist_id=inbound.therapist_id,
                    reply_to_id=inbound.id,
                    from_phone=inbound.to_phone,
                    to_phone=sender,
                    body=decision.reply,
                    status="replied",
                    created_at=now,
                )
            )
    return twiml(message_twiml(decision.reply))


def _apply(
    session: Session,
    line: Line,
    decision: SmsDecision,
    client: Client,
    caller: voice.Caller,
    check_in: CheckIn | None,
    now: datetime,
) -> None:
    if decision.skill_key:
        client.last_skill = decision.skill_key
    if decision.opt_out:
        client.sms_opted_out = True
    if decision.opt_in:
        client.sms_opted_out = False
    if check_in is not None and (decision.close_check_in or decision.open_check_in_until):
        check_in.expires_at = min(check_in.expires_at, now)
    if decision.urge_rating is not None and check_in is not None:
        check_in.urge_rating, check_in.answered_at = decision.urge_rating, now
    if decision.open_check_in_until:
        session.add(
            CheckIn(client_id=client.id, asked_at=now, expires_at=decision.open_check_in_until)
        )
    if decision.success_body is not None:
        session.add(Success(client_id=client.id, body=decision.success_body, received_at=now))
        # Successes are for the client's own therapist. Nothing reaches the therapist during
        # a lockout: the success waits in the log.
        if client.therapist.active and not decision.under_lockout:
            _queue_success_digest(session, line, client.therapist)
    if decision.notice:
        recipient = voice.notice_recipient(caller, on_call_now(session, now, line.settings.tz), now)
        if recipient is not None:
            queue_text(
                session,
                line,
                to_phone=recipient.phone,
                body=decision.notice.body,
                therapist_id=recipient.id,
                client_id=client.id,
            )
