"""The Messaging webhook: loads who texted, asks `ivr.sms_flow`, saves the decision and the
messages in one transaction (`Line.database`), and replies with TwiML. On any failure: the
crisis resources.

The inbound text is written first, once per MessageSid (INSERT .. ON CONFLICT DO NOTHING):
when Twilio retries, nothing is written or done twice, and the webhook answers the reply it
gave the first time.

A client reads their own language (clients.language) when the line offers it, skills
included (`ivr.skills.library` in that language). When the line offers Spanish, the answer
given without the database (a failure: we do not know who texted) carries the crisis
resources in English and in Spanish.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from app import attention, oncall
from app import diary as diary_cards
from app.callers import (
    Enrolled,
    all_skills,
    enrolled_by_phone,
    open_check_in,
    set_last_skill,
    therapist_by_phone,
)
from app.db import insert_once
from app.line import Line
from app.models import CheckIn, Client, Message, Success, Therapist
from app.notify import queue_text
from app.phones import caller_number, mask
from app.therapist_texts import handle_therapist_text
from app.twilio.safe import crisis_on_error, twiml
from app.twilio.signature import form_field, verified_form
from ivr import commands, replies, ringing, rules
from ivr.attention import Notice
from ivr.codes import MessageKind
from ivr.language import Language
from ivr.scripts import Practice, crisis_texted, first_name, speaking
from ivr.sms_flow import (
    ClientState,
    SmsDecision,
    SmsState,
    TherapistNotice,
    crisis_view,
    handle_sms,
)
from ivr.texts import IntentKind, classify, crisis_match

log = logging.getLogger("coachline.sms")

MAX_BODY = 1600


def message_twiml(body: str | None) -> str:
    response = MessagingResponse()
    if body:
        response.message(body)
    return str(response)


def crisis_reply_twiml(practice: Practice) -> str:
    """The crisis resources for someone we could not look up: in English, and in Spanish too
    when the line offers it (their language is unknown)."""
    text = crisis_texted(practice)
    if Language.SPANISH in practice.languages:
        text += " " + crisis_texted(speaking(practice, Language.SPANISH))
    return message_twiml(text)


router = APIRouter(
    prefix="/twilio/sms",
    route_class=crisis_on_error(lambda line: crisis_reply_twiml(line.known_practice())),
    tags=["twilio"],
)


@router.post("", summary="Messaging URL: an incoming text")
async def incoming_text(request: Request) -> Response:
    form = await verified_form(request)
    line: Line = request.app.state.line
    sid = form_field(form, "MessageSid")
    raw_from = form_field(form, "From", 40)
    sender = caller_number(raw_from)
    body = form_field(form, "Body", MAX_BODY)
    if not await line.rate_limits.text_allowed(sender or raw_from):
        # A loop with an auto-responder, or a flood: answering would feed it. Crisis language
        # still gets the crisis resources. No database either way.
        log.warning("text rate limit reached for sender %s", mask(sender))
        practice = line.known_practice()
        crisis = crisis_match(body)
        reply = crisis_texted(crisis_view(practice, body)) if crisis else None
        return twiml(message_twiml(reply))

    def answer(session: Session) -> str | None:
        return answer_text(session, line, sid, sender, body)

    return twiml(message_twiml(await line.database(answer)))


def answer_text(
    session: Session, line: Line, sid: str, sender: str | None, body: str
) -> str | None:
    """The reply to one text (None: no reply), with everything it changes, in `session`."""
    now = line.now()
    practice = line.practice(session)
    client = enrolled_by_phone(session, sender, now)
    therapist = None if client else therapist_by_phone(session, sender)
    inbound = _record_inbound(session, line, sid, sender, body, client, therapist, now)
    if inbound is None:  # Twilio retried: the same reply, nothing done twice
        return _earlier_reply(session, sid)
    if client is not None:
        reply = _client_reply(session, line, practice, client, inbound, body, now)
    elif therapist is not None:
        reply = _therapist_reply(session, line, practice, therapist, body, now)
    else:
        reply = handle_sms(SmsState.for_unknown(practice), body, now).reply
    if reply:
        session.add(
            Message(
                direction="outbound",
                kind=MessageKind.REPLY,
                client_id=inbound.client_id,
                therapist_id=inbound.therapist_id,
                reply_to_id=inbound.id,
                from_phone=inbound.to_phone,
                to_phone=inbound.from_phone,
                body=reply,
                status="replied",
                created_at=now,
            )
        )
    return reply


def _record_inbound(
    session: Session,
    line: Line,
    sid: str,
    sender: str | None,
    body: str,
    client: Enrolled | None,
    therapist: Therapist | None,
    now: datetime,
) -> Message | None:
    """The inbound text, written once per MessageSid; None when it was written before."""
    values = {
        "direction": "inbound",
        "kind": MessageKind.INBOUND,
        "client_id": client.caller.client_id if client else None,
        "therapist_id": therapist.id if therapist else None,
        "from_phone": sender,
        "to_phone": line.settings.twilio_phone_number or None,
        # A therapist's PIN (YES 4821) is never kept: the dashboard shows these texts.
        "body": commands.without_pin(body) if therapist else body,
        "status": "received",
        "created_at": now,
    }
    if not sid:  # no MessageSid to know a retry by: recorded as it comes
        message = Message(**values)
        session.add(message)
        session.flush()
        return message
    if not insert_once(session, Message.__table__, "twilio_sid", {**values, "twilio_sid": sid}):
        return None
    return session.scalar(select(Message).where(Message.twilio_sid == sid))


def _earlier_reply(session: Session, sid: str) -> str | None:
    """What the line answered the first time this MessageSid came in."""
    inbound_id = session.scalar(select(Message.id).where(Message.twilio_sid == sid))
    if inbound_id is None:
        return None
    # The reply was written after its inbound text, in the same transaction: its id is larger,
    # so the primary key finds it among the few rows after (reply_to_id has no index).
    return session.scalar(
        select(Message.body)
        .where(
            Message.id > inbound_id,
            Message.reply_to_id == inbound_id,
            Message.kind == MessageKind.REPLY,
        )
        .order_by(Message.id)
        .limit(1)
    )


def _client_reply(
    session: Session,
    line: Line,
    practice: Practice,
    client: Enrolled,
    inbound: Message,
    body: str,
    now: datetime,
) -> str | None:
    caller = client.caller
    check_in = open_check_in(session, caller.client_id)
    entry = diary_cards.latest_entry(session, caller.client_id)
    # The library in the language they will read: a Spanish client is never texted English.
    view = speaking(practice, caller.language)
    skills = all_skills(session, view.language)
    state = SmsState.for_client(
        practice,
        ClientState(
            first_name=first_name(caller.name),
            last_skill=caller.last_skill,
            opted_out=client.sms_opted_out,
            locked_until=caller.locked_until,
            check_in_expires_at=check_in.expires_at if check_in else None,
            diary_opt_in=diary_cards.opted_in(session, caller.client_id),
            diary_card=diary_cards.as_card(entry),
            language=caller.language,
        ),
        skills=skills,
        seed=inbound.twilio_sid or "",
    )
    decision = handle_sms(state, body, now)
    _save_client_decision(session, decision, caller.client_id, check_in, now)
    if decision.diary_card is not None:
        diary_cards.save_card(session, caller.client_id, decision.diary_card, now, entry)
    if decision.success_body is not None:
        _success(session, line, practice, caller, decision, now)
    if decision.notice:
        _raise_sign(session, line, practice, caller, inbound, decision.notice, now)
    return decision.reply


def _raise_sign(
    session: Session,
    line: Line,
    practice: Practice,
    caller: ringing.Caller,
    inbound: Message,
    notice: TherapistNotice,
    now: datetime,
) -> None:
    """A sign of distress in a text: an attention item, and a text to whoever the flow says
    is told (the client's therapist, or the one on call), with the inbound text."""
    to = ringing.notice_recipient(caller, oncall.on_call_now(session, now, practice.tz), now)
    attention.raise_item(
        session,
        line,
        now,
        notice.kind,
        client_id=caller.client_id,
        responsible_id=caller.primary.id,
        notice=Notice(to.id, to.phone, notice.body) if to else None,
        message_id=inbound.id,
    )


def _save_client_decision(
    session: Session,
    decision: SmsDecision,
    client_id: int,
    check_in: CheckIn | None,
    now: datetime,
) -> None:
    set_last_skill(session, client_id, decision.skill_key)
    if decision.opt_out or decision.opt_in:  # the client row is read only to change it
        row = session.get(Client, client_id)
        assert row is not None
        row.sms_opted_out = decision.opt_out
    if check_in is not None:
        if (decision.close_check_in or decision.open_check_in_until) and check_in.expires_at > now:
            check_in.expires_at = now
        if decision.urge_rating is not None:
            check_in.urge_rating = decision.urge_rating
            check_in.answered_at = now
    if decision.open_check_in_until:
        session.add(
            CheckIn(client_id=client_id, asked_at=now, expires_at=decision.open_check_in_until)
        )


def _success(
    session: Session,
    line: Line,
    practice: Practice,
    caller: ringing.Caller,
    decision: SmsDecision,
    now: datetime,
) -> None:
    """A success is kept for the client's own therapist, who gets at most one text a day
    saying there are successes to read (`ivr.rules.success_digest_due`)."""
    assert decision.success_body is not None
    session.add(Success(client_id=caller.client_id, body=decision.success_body, received_at=now))
    primary = caller.primary
    last_digest_at = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.kind == MessageKind.SUCCESS_DIGEST, Message.therapist_id == primary.id
        )
    )
    if rules.success_digest_due(
        last_digest_at, now, practice.tz, primary.active, decision.under_lockout
    ):
        queue_text(
            session,
            line,
            to_phone=primary.phone,
            body=replies.therapist_success_digest(),
            kind=MessageKind.SUCCESS_DIGEST,
            therapist_id=primary.id,
        )


def _record_therapist_opt_out(
    session: Session, line: Line, therapist: Therapist, kind: IntentKind, now: datetime
) -> None:
    """Twilio stops every text to a number that replied STOP (and starts again on START,
    UNSTOP or YES), so the line keeps the same state: their alerts go to the one on call
    meanwhile, and an attention item says so."""
    if kind is IntentKind.OPT_OUT and not therapist.sms_opted_out:
        therapist.sms_opted_out = True
        attention.raise_unreachable(session, line, now, therapist)
    elif kind is IntentKind.OPT_IN and therapist.sms_opted_out:
        therapist.sms_opted_out = False
        attention.clear_unreachable(session, f"sms:therapist:{therapist.id}", now, therapist.id)


def _therapist_reply(
    session: Session,
    line: Line,
    practice: Practice,
    therapist: Therapist,
    body: str,
    now: datetime,
) -> str | None:
    """The reply to a therapist's text: crisis language first, then their text commands,
    then the usual flow. STOP and START are recorded first, whatever else the text does."""
    _record_therapist_opt_out(session, line, therapist, classify(body).kind, now)
    command_reply = (
        None if crisis_match(body) else handle_therapist_text(session, line, therapist, body, now)
    )
    if command_reply is not None:
        return command_reply
    return handle_sms(SmsState.for_therapist(practice), body, now).reply
