"""The Messaging webhook: loads who texted, asks `ivr.sms_flow`, saves the decision and the
messages in one transaction, and replies with TwiML. On any failure: the crisis resources.

Like the incoming call (`app.twilio.voice.incoming_call`), a text is answered on the event
loop (`Line.database_work`), together with the other texts of the same moment
(`answer_texts`), with Core statements compiled once and run on the driver
(`app.db.DriverStatement`): one read for the clients, their therapists, their lockouts and
their open check-ins (`app.callers.texters_by_phone`, on the autocommit webhook engine), the
practice's skills and settings from the line's cache, then the rows the decisions write, in
one transaction on the main engine. The inbound text is written first, once per MessageSid
(INSERT .. ON CONFLICT DO NOTHING RETURNING id): when Twilio retries, the insert writes nothing
and the webhook answers the reply it gave the first time, doing nothing twice. The ORM is used
only where `app.notify` and the therapists' commands need it (crisis notices, the daily success
text, therapists' texts), in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from app.callers import (
    SET_LAST_SKILL,
    Texter,
    skills_cached,
    texters_by_phone,
    therapists_by_phone,
)
from app.context import Line
from app.db import DriverStatement, InsertOnce
from app.models import CheckIn, Client, Message, Success, Therapist
from app.notify import queue_text
from app.oncall import on_call_cached
from app.phones import caller_number, mask
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

# --- the statements, built once --------------------------------------------------------------

_messages = Message.__table__
_m = _messages.c
_check_ins = CheckIn.__table__
_clients = Client.__table__

# The inbound text, once per MessageSid: nothing (no id) when Twilio retries it.
_NEW_INBOUND = InsertOnce(
    _messages,
    "twilio_sid",
    (
        "direction",
        "kind",
        "client_id",
        "therapist_id",
        "from_phone",
        "to_phone",
        "body",
        "status",
        "attempts",
        "twilio_sid",
        "created_at",
    ),
)
_NEW_REPLY = DriverStatement(
    insert(_messages),
    keys=(
        "direction",
        "kind",
        "client_id",
        "therapist_id",
        "reply_to_id",
        "from_phone",
        "to_phone",
        "body",
        "status",
        "attempts",
        "created_at",
    ),
)
_INBOUND_ID = DriverStatement(select(_m.id).where(_m.twilio_sid == bindparam("sid")))
# The reply was written after its inbound text, in the same transaction: its id is larger, so
# the primary key finds it among the few rows after the inbound one (reply_to_id has no index).
_EARLIER_REPLY = DriverStatement(
    select(_m.body)
    .where(_m.reply_to_id == bindparam("inbound_id"), _m.id > bindparam("inbound_id"))
    .order_by(_m.id)
    .limit(1)
)
_SET_OPTED_OUT = DriverStatement(
    update(_clients)
    .where(_clients.c.id == bindparam("client_id"))
    .values(sms_opted_out=bindparam("opted_out"))
)
_CLOSE_CHECK_IN = DriverStatement(
    update(_check_ins)
    .where(_check_ins.c.id == bindparam("check_in_id"))
    .values(expires_at=bindparam("until"))
)
_ANSWER_CHECK_IN = DriverStatement(
    update(_check_ins)
    .where(_check_ins.c.id == bindparam("check_in_id"))
    .values(urge_rating=bindparam("rating"), answered_at=bindparam("at"))
)
_NEW_CHECK_IN = DriverStatement(insert(_check_ins), keys=("client_id", "asked_at", "expires_at"))
_NEW_SUCCESS = DriverStatement(insert(Success.__table__), keys=("client_id", "body", "received_at"))
_DIGEST_SENT = DriverStatement(
    select(_m.id)
    .where(
        _m.kind == "success_digest",
        _m.therapist_id == bindparam("therapist_id"),
        _m.created_at >= bindparam("since", type_=_m.created_at.type),
    )
    .limit(1)
)


# --- the webhook -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingText:
    sid: str
    sender: str | None  # E.164, or None when Twilio's From is no phone number
    body: str


@router.post("", summary="Messaging URL: an incoming text")
async def incoming_text(request: Request) -> Response:
    """On the event loop, like the incoming call: the texts of the same moment are answered
    together (`answer_texts`)."""
    form = await verified_form(request)
    line: Line = request.app.state.line
    text = IncomingText(
        form_field(form, "MessageSid"),
        caller_number(form_field(form, "From", 40)),
        form_field(form, "Body", MAX_BODY),
    )
    if not line.rate_limits.text_allowed(text.sender or form_field(form, "From", 40)):
        # A loop with an auto-responder, or a flood: answering would feed it. Crisis language
        # still gets the crisis resources. No database either way.
        log.warning("text rate limit reached for sender %s", mask(text.sender))
        reply = crisis_texted(line.settings.practice) if crisis_match(text.body) else None
        return twiml(message_twiml(reply))
    with line.database_work():
        reply = await line.gather(answer_texts)(text)
    return twiml(message_twiml(reply))


def answer_texts(line: Line, texts: list[IncomingText]) -> list[str | None | Exception]:
    """The reply to each text of one turn of the event loop (None: no reply), with everything
    the texts change saved in one transaction: one read for who texted, one commit for the
    group (`Line.gather(answer_texts)`).

    Each text is answered as it would be alone: a sender's second text of the moment waits
    for the first to be saved (the next round), and when the group's transaction fails on
    one text, each is done again in its own, so that only that text fails. A database that
    cannot be reached fails the round's texts at once."""
    now = line.now()
    replies: list[str | None | Exception] = [None] * len(texts)
    for round_ in _rounds(texts):
        try:
            answered = _answer_round(line, [texts[i] for i in round_], now)
        except (OperationalError, PoolTimeout) as exc:  # only this round's texts: an earlier
            answered = [exc] * len(round_)  # round's were saved, and get their replies
        for i, reply in zip(round_, answered, strict=True):
            replies[i] = reply
    return replies


def _rounds(texts: list[IncomingText]) -> list[list[int]]:
    """The texts' indexes in rounds where each sender has at most one text."""
    rounds: list[tuple[set[str | None], list[int]]] = []
    for i, text in enumerate(texts):
        for senders, indexes in rounds:
            if text.sender is None or text.sender not in senders:
                senders.add(text.sender)
                indexes.append(i)
                break
        else:
            rounds.append(({text.sender}, [i]))
    return [indexes for _, indexes in rounds]


def _answer_round(
    line: Line, texts: list[IncomingText], now: datetime
) -> list[str | None | Exception]:
    practice = line.practice()
    senders = sorted({t.sender for t in texts if t.sender})
    # Who texted: one read on the webhook engine (autocommit); the writes, together, in one
    # transaction on the main engine.
    texters: dict[str, Texter] = {}
    therapists: dict[str, int] = {}
    if senders:
        with line.webhook_engine.connect() as conn:
            texters = texters_by_phone(conn, senders, now)
            strangers = [s for s in senders if s not in texters]
            if strangers:
                therapists = {p: t.id for p, t in therapists_by_phone(conn, strangers).items()}

    def answer(conn: Connection, text: IncomingText) -> str | None:
        sender = text.sender or ""
        return _answer_text(
            line, conn, practice, text, texters.get(sender), therapists.get(sender), now
        )

    try:
        with line.engine.begin() as conn:
            return [answer(conn, text) for text in texts]
    except (OperationalError, PoolTimeout):
        raise
    except Exception:
        if len(texts) == 1:
            raise
    replies: list[str | None | Exception] = []
    for text in texts:
        try:
            with line.engine.begin() as conn:
                replies.append(answer(conn, text))
        except (OperationalError, PoolTimeout):
            raise
        except Exception as exc:
            replies.append(exc)
    return replies


def _answer_text(
    line: Line,
    conn: Connection,
    practice: Practice,
    text: IncomingText,
    texter: Texter | None,
    therapist_id: int | None,
    now: datetime,
) -> str | None:
    """The reply to one text (None: no reply), its changes written in `conn`'s transaction."""
    sid, sender, body = text.sid, text.sender, text.body
    inbound = {
        "direction": "inbound",
        "kind": "inbound",
        "client_id": texter.enrolled.caller.client_id if texter else None,
        "therapist_id": therapist_id,
        "from_phone": sender,
        "to_phone": line.settings.twilio_phone_number or None,
        "body": body,
        "status": "received",
        "attempts": 0,
        "twilio_sid": sid or None,
        "created_at": now,
    }
    if texter is not None:
        return _client_text(line, conn, practice, texter, inbound, sid, body, now)
    if therapist_id is None:
        decision = handle_sms(SmsState.for_unknown(practice), body, now)
        return _save_messages(conn, inbound, decision.reply, now)
    inbound_id = _record_inbound(conn, inbound)
    if inbound_id is None:
        return _earlier_reply(conn, sid)
    with _orm(line, conn) as session:
        therapist = session.get(Therapist, therapist_id)
        assert therapist is not None
        # Crisis language first, then the therapists' text commands, then the usual flow.
        command_reply = (
            None
            if crisis_match(body)
            else handle_therapist_text(session, line, therapist, body, now)
        )
        session.flush()
    decision = (
        handle_sms(SmsState.for_therapist(practice), body, now)
        if command_reply is None
        else SmsDecision(IntentKind.UNKNOWN, command_reply)
    )
    _save_reply(conn, inbound, inbound_id, decision.reply, now)
    return decision.reply


def _client_text(
    line: Line,
    conn: Connection,
    practice: Practice,
    texter: Texter,
    inbound: dict[str, Any],
    sid: str,
    body: str,
    now: datetime,
) -> str | None:
    enrolled, check_in = texter.enrolled, texter.check_in
    caller = enrolled.caller
    state = SmsState.for_client(
        practice,
        ClientState(
            first_name=first_name(caller.name),
            last_skill=caller.last_skill,
            opted_out=enrolled.sms_opted_out,
            locked_until=caller.locked_until,
            check_in_expires_at=check_in.expires_at if check_in else None,
        ),
        skills=skills_cached(line),
        seed=sid,
    )
    decision = handle_sms(state, body, now)
    # What needs reading is read before the first write (SQLite's write lock is held from the
    # first write to the commit).
    primary = caller.primary
    digest_due = (
        decision.success_body is not None
        and primary.active
        and not decision.under_lockout
        and _digest_due(conn, line, primary.id, now)
    )
    notice_to = (
        voice.notice_recipient(caller, on_call_cached(line, now), now) if decision.notice else None
    )

    inbound_id = _record_inbound(conn, inbound)
    if inbound_id is None:  # Twilio retried: the same reply, nothing done twice
        return _earlier_reply(conn, sid)
    _save_reply(conn, inbound, inbound_id, decision.reply, now)
    client_id = caller.client_id
    if decision.skill_key:
        SET_LAST_SKILL.execute(conn, {"client_id": client_id, "skill": decision.skill_key})
    if decision.opt_out or decision.opt_in:
        _SET_OPTED_OUT.execute(conn, {"client_id": client_id, "opted_out": decision.opt_out})
    if check_in is not None:
        if (decision.close_check_in or decision.open_check_in_until) and check_in.expires_at > now:
            _CLOSE_CHECK_IN.execute(conn, {"check_in_id": check_in.id, "until": now})
        if decision.urge_rating is not None:
            _ANSWER_CHECK_IN.execute(
                conn, {"check_in_id": check_in.id, "rating": decision.urge_rating, "at": now}
            )
    if decision.open_check_in_until:
        _NEW_CHECK_IN.execute(
            conn,
            {"client_id": client_id, "asked_at": now, "expires_at": decision.open_check_in_until},
        )
    if decision.success_body is not None:
        # Successes are for the client's own therapist. Nothing reaches the therapist during
        # a lockout: the success waits in the log.
        _NEW_SUCCESS.execute(
            conn, {"client_id": client_id, "body": decision.success_body, "received_at": now}
        )
    if digest_due or (decision.notice and notice_to is not None):
        with _orm(line, conn) as session:
            if digest_due:
                queue_text(
                    session,
                    line,
                    to_phone=primary.phone,
                    body=replies.therapist_success_digest(),
                    kind="success_digest",
                    therapist_id=primary.id,
                )
            if decision.notice and notice_to is not None:
                queue_text(
                    session,
                    line,
                    to_phone=notice_to.phone,
                    body=decision.notice.body,
                    therapist_id=notice_to.id,
                    client_id=client_id,
                )
            session.flush()
    return decision.reply


# --- the pieces --------------------------------------------------------------------------------


def _orm(line: Line, conn: Connection) -> Session:
    """A Session inside `conn`'s transaction (for code written for the ORM): it writes when
    flushed and never commits; the webhook's transaction commits or rolls back everything."""
    return line.sessions(bind=conn, join_transaction_mode="rollback_only")


def _record_inbound(conn: Connection, inbound: dict[str, Any]) -> int | None:
    """The inbound text's id; None when this MessageSid was recorded before (a retry)."""
    return _NEW_INBOUND(conn, inbound)


def _earlier_reply(conn: Connection, sid: str) -> str | None:
    """What the line answered the first time this MessageSid came in."""
    inbound_id = _INBOUND_ID.scalar(conn, {"sid": sid})
    if inbound_id is None:
        return None
    return _EARLIER_REPLY.scalar(conn, {"inbound_id": inbound_id})


def _save_reply(
    conn: Connection, inbound: dict[str, Any], inbound_id: int, reply: str | None, now: datetime
) -> None:
    if reply:
        _NEW_REPLY.execute(
            conn,
            {
                "direction": "outbound",
                "kind": "reply",
                "client_id": inbound["client_id"],
                "therapist_id": inbound["therapist_id"],
                "reply_to_id": inbound_id,
                "from_phone": inbound["to_phone"],
                "to_phone": inbound["from_phone"],
                "body": reply,
                "status": "replied",
                "attempts": 0,
                "created_at": now,
            },
        )


def _save_messages(
    conn: Connection, inbound: dict[str, Any], reply: str | None, now: datetime
) -> str | None:
    """The inbound text and the reply to it, for a text that changes nothing else."""
    inbound_id = _record_inbound(conn, inbound)
    if inbound_id is None:
        return _earlier_reply(conn, inbound["twilio_sid"])
    _save_reply(conn, inbound, inbound_id, reply, now)
    return reply


def _start_of_local_day(now: datetime, practice: Practice) -> datetime:
    local = now.astimezone(practice.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _digest_due(conn: Connection, line: Line, therapist_id: int, now: datetime) -> bool:
    """At most one text a day (the practice's day) saying there are successes to read."""
    since = _start_of_local_day(now, line.settings.practice)
    return _DIGEST_SENT.scalar(conn, {"therapist_id": therapist_id, "since": since}) is None
