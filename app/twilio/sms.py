"""The Messaging webhook: loads who texted, asks `ivr.sms_flow`, saves the decision and the
messages in one transaction, and replies with TwiML. On any failure: the crisis resources.

Like the incoming call (`app.twilio.voice.incoming_call`), a text is answered on the event
loop (`Line.database_work`), together with the other texts of the same moment
(`answer_texts`), with Core statements compiled once and run on the driver
(`app.db.DriverStatement`): one read for the clients, their therapists, their lockouts and
their open check-ins (`app.callers.texters_by_phone`, on the autocommit webhook engine), the
practice's skills and settings from the line's cache, then, in one transaction on the main
engine, each text's answer worked out (`_answer`: every read before the first write) and the
rows they write, each kind in one statement for them all (`_save_round`). The inbound texts
are written first, once per MessageSid (INSERT .. ON CONFLICT DO NOTHING RETURNING id): when
Twilio retries, the insert writes nothing and the webhook answers the reply it gave the first
time, doing nothing twice. The ORM is used only where `app.notify` and the therapists'
commands need it (crisis notices, the daily success text, therapists' texts), in the same
transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
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
from ivr.sms_flow import ClientState, SmsState, handle_sms
from ivr.texts import crisis_match

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
        with line.webhook_connection() as conn:
            texters = texters_by_phone(conn, senders, now)
            strangers = [s for s in senders if s not in texters]
            if strangers:
                therapists = {p: t.id for p, t in therapists_by_phone(conn, strangers).items()}

    def save(conn: Connection, some: list[IncomingText]) -> list[str | None]:
        return _save_round(line, conn, practice, some, texters, therapists, now)

    try:
        with line.engine.begin() as conn:
            return list(save(conn, texts))
    except (OperationalError, PoolTimeout):
        raise
    except Exception:
        if len(texts) == 1:
            raise
    replies: list[str | None | Exception] = []
    for text in texts:
        try:
            with line.engine.begin() as conn:
                replies += save(conn, [text])
        except (OperationalError, PoolTimeout):
            raise
        except Exception as exc:
            replies.append(exc)
    return replies


@dataclass
class _Answer:
    """One text's answer, worked out before anything is written: its inbound row, its reply,
    and what it changes, which is written only when the inbound text is new (not a retry)."""

    text: IncomingText
    inbound: dict[str, Any]
    reply: str | None = None
    # The rows it changes: each statement runs once for the round's texts together.
    writes: list[tuple[DriverStatement, dict[str, Any]]] = field(default_factory=list)
    # Texts to therapists (`queue_text`'s arguments; through the ORM, seldom).
    queued: list[dict[str, Any]] = field(default_factory=list)
    # A therapist's text: the reply is their command's, run once the text is known to be new.
    therapist_id: int | None = None


def _save_round(
    line: Line,
    conn: Connection,
    practice: Practice,
    texts: list[IncomingText],
    texters: dict[str, Texter],
    therapists: dict[str, int],
    now: datetime,
) -> list[str | None]:
    """The replies to a round's texts (at most one per sender), with what they change written
    in `conn`'s transaction: every read first, then each kind of row in one statement for
    them all (the inbound texts, the replies, the check-ins, ...), not one per text."""
    answers = [
        _answer(
            line,
            conn,
            practice,
            text,
            texters.get(text.sender or ""),
            therapists.get(text.sender or ""),
            now,
        )
        for text in texts
    ]
    inbound_ids = _record_inbounds(conn, [a.inbound for a in answers])
    new: list[tuple[_Answer, int]] = []
    for answer, inbound_id in zip(answers, inbound_ids, strict=True):
        if inbound_id is None:  # Twilio retried: the same reply, nothing done twice
            answer.reply = _earlier_reply(conn, answer.text.sid)
        else:
            if answer.therapist_id is not None:
                answer.reply = _therapist_reply(line, conn, practice, answer, now)
            new.append((answer, inbound_id))
    _NEW_REPLY.execute_many(
        conn,
        [_reply_row(a.inbound, inbound_id, a.reply, now) for a, inbound_id in new if a.reply],
    )
    writes: dict[DriverStatement, list[dict[str, Any]]] = {}
    for answer, _ in new:
        for statement, params in answer.writes:
            writes.setdefault(statement, []).append(params)
    for statement, params_list in writes.items():
        statement.execute_many(conn, params_list)
    queued = _one_digest_each([q for answer, _ in new for q in answer.queued])
    if queued:
        with _orm(line, conn) as session:
            for arguments in queued:
                queue_text(session, line, **arguments)
            session.flush()
    return [a.reply for a in answers]


def _answer(
    line: Line,
    conn: Connection,
    practice: Practice,
    text: IncomingText,
    texter: Texter | None,
    therapist_id: int | None,
    now: datetime,
) -> _Answer:
    inbound = {
        "direction": "inbound",
        "kind": "inbound",
        "client_id": texter.enrolled.caller.client_id if texter else None,
        "therapist_id": therapist_id,
        "from_phone": text.sender,
        "to_phone": line.settings.twilio_phone_number or None,
        "body": text.body,
        "status": "received",
        "attempts": 0,
        "twilio_sid": text.sid or None,
        "created_at": now,
    }
    if texter is not None:
        return _client_answer(line, conn, practice, text, texter, inbound, now)
    if therapist_id is not None:
        return _Answer(text, inbound, therapist_id=therapist_id)
    return _Answer(text, inbound, handle_sms(SmsState.for_unknown(practice), text.body, now).reply)


def _client_answer(
    line: Line,
    conn: Connection,
    practice: Practice,
    text: IncomingText,
    texter: Texter,
    inbound: dict[str, Any],
    now: datetime,
) -> _Answer:
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
        seed=text.sid,
    )
    decision = handle_sms(state, text.body, now)
    answer = _Answer(text, inbound, decision.reply)
    client_id = caller.client_id
    write = answer.writes.append
    if decision.skill_key:
        write((SET_LAST_SKILL, {"client_id": client_id, "skill": decision.skill_key}))
    if decision.opt_out or decision.opt_in:
        write((_SET_OPTED_OUT, {"client_id": client_id, "opted_out": decision.opt_out}))
    if check_in is not None:
        if (decision.close_check_in or decision.open_check_in_until) and check_in.expires_at > now:
            write((_CLOSE_CHECK_IN, {"check_in_id": check_in.id, "until": now}))
        if decision.urge_rating is not None:
            write(
                (
                    _ANSWER_CHECK_IN,
                    {"check_in_id": check_in.id, "rating": decision.urge_rating, "at": now},
                )
            )
    if decision.open_check_in_until:
        write(
            (
                _NEW_CHECK_IN,
                {
                    "client_id": client_id,
                    "asked_at": now,
                    "expires_at": decision.open_check_in_until,
                },
            )
        )
    if decision.success_body is not None:
        # Successes are for the client's own therapist. Nothing reaches the therapist during
        # a lockout: the success waits in the log.
        write(
            (
                _NEW_SUCCESS,
                {"client_id": client_id, "body": decision.success_body, "received_at": now},
            )
        )
        primary = caller.primary
        if (
            primary.active
            and not decision.under_lockout
            and _digest_due(conn, line, primary.id, now)
        ):
            answer.queued.append(
                {
                    "to_phone": primary.phone,
                    "body": replies.therapist_success_digest(),
                    "kind": "success_digest",
                    "therapist_id": primary.id,
                }
            )
    if decision.notice:
        notice_to = voice.notice_recipient(caller, on_call_cached(line, now), now)
        if notice_to is not None:
            answer.queued.append(
                {
                    "to_phone": notice_to.phone,
                    "body": decision.notice.body,
                    "therapist_id": notice_to.id,
                    "client_id": client_id,
                }
            )
    return answer


def _therapist_reply(
    line: Line, conn: Connection, practice: Practice, answer: _Answer, now: datetime
) -> str | None:
    """The reply to a therapist's text: crisis language first, then their text commands,
    then the usual flow. Their commands work through the ORM, in `conn`'s transaction."""
    body = answer.text.body
    with _orm(line, conn) as session:
        therapist = session.get(Therapist, answer.therapist_id)
        assert therapist is not None
        command_reply = (
            None
            if crisis_match(body)
            else handle_therapist_text(session, line, therapist, body, now)
        )
        session.flush()
    if command_reply is not None:
        return command_reply
    return handle_sms(SmsState.for_therapist(practice), body, now).reply


def _one_digest_each(queued: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one success digest per therapist: two of their clients' wins in one round both
    found today's digest still to send."""
    seen: set[int] = set()
    kept = []
    for arguments in queued:
        if arguments.get("kind") == "success_digest":
            if arguments["therapist_id"] in seen:
                continue
            seen.add(arguments["therapist_id"])
        kept.append(arguments)
    return kept


# --- the pieces --------------------------------------------------------------------------------


def _orm(line: Line, conn: Connection) -> Session:
    """A Session inside `conn`'s transaction (for code written for the ORM): it writes when
    flushed and never commits; the webhook's transaction commits or rolls back everything."""
    return line.sessions(bind=conn, join_transaction_mode="rollback_only")


def _record_inbounds(conn: Connection, inbounds: list[dict[str, Any]]) -> list[int | None]:
    """Each inbound text's id, written together for those with a MessageSid; None for a
    MessageSid recorded before (a retry), or twice in this round."""
    with_sid: dict[str, dict[str, Any]] = {}
    for inbound in inbounds:
        if inbound["twilio_sid"] is not None:
            with_sid.setdefault(inbound["twilio_sid"], inbound)
    made = _NEW_INBOUND.many(conn, list(with_sid.values()))
    ids: list[int | None] = []
    for inbound in inbounds:
        sid = inbound["twilio_sid"]
        if sid is None:  # no MessageSid to know a retry by: recorded as it comes
            ids.append(_NEW_INBOUND(conn, inbound))
        else:
            ids.append(made.pop(sid, None) if with_sid.get(sid) is inbound else None)
    return ids


def _earlier_reply(conn: Connection, sid: str) -> str | None:
    """What the line answered the first time this MessageSid came in."""
    inbound_id = _INBOUND_ID.scalar(conn, {"sid": sid})
    if inbound_id is None:
        return None
    return _EARLIER_REPLY.scalar(conn, {"inbound_id": inbound_id})


def _reply_row(
    inbound: dict[str, Any], inbound_id: int, reply: str, now: datetime
) -> dict[str, Any]:
    return {
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
    }


def _start_of_local_day(now: datetime, practice: Practice) -> datetime:
    local = now.astimezone(practice.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _digest_due(conn: Connection, line: Line, therapist_id: int, now: datetime) -> bool:
    """At most one text a day (the practice's day) saying there are successes to read."""
    since = _start_of_local_day(now, line.settings.practice)
    return _DIGEST_SENT.scalar(conn, {"therapist_id": therapist_id, "since": since}) is None
