"""Therapists' text commands (AWAY, BACK, LOCK, YES, NO), from their registered phone.

`ivr.commands` reads the text; this saves what it asks for through the service modules
(which write the audit entries), in the caller's transaction, and returns the reply. The
Messaging webhook calls it for a therapist's text that is not crisis language; None means
"not a command" (an opt-out word) and the webhook's usual therapist flow answers.

Decisions where the issue is silent:

- The audit actor is "sms:therapist:<id>": the text is authenticated by caller ID only, not by
  a user's API token, so it is not attributed to a user account.
- LOCK looks only among the therapist's own clients, whatever their state.
- LOCK answers the same whatever it matched (`ivr.commands`' docstring: caller ID is a claim):
  it keeps one pending confirmation per client the name fits (none when it fits nobody), and
  YES with the right PIN (`app.pins`) then records it, or says the name fit nobody, or lists
  the codes of the clients who share it. A waived 24-hour rule is told after the PIN too.
- One LOCK waits for YES at a time: a new LOCK replaces the one before. YES confirms the
  latest LOCK of the last 10 minutes; NO, or an opt-out word (STOP, CANCEL...), cancels it.
- At YES the client is checked again (still theirs, 24 hours not over, rule not waived).
- An inactive therapist's commands are refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import domain, lockouts, pins, therapists
from app.line import Line
from app.models import Client, PendingConfirmation, Therapist
from ivr import command_replies, commands
from ivr import pin as pin_rules
from ivr.commands import Away, Back, ClientRef, Lock, No, Refused, Unknown, Yes
from ivr.pin import PinCheck
from ivr.rules import lockout_ends_at
from ivr.texts import IntentKind, classify

CONFIRM_WITHIN = timedelta(minutes=10)
LOCKOUT_ACTION = "lockout"


def actor(therapist: Therapist) -> str:
    return f"sms:therapist:{therapist.id}"


def handle_therapist_text(
    session: Session, line: Line, therapist: Therapist, body: str, now: datetime
) -> str | None:
    """The reply to a therapist's command, with its changes made in `session`; None when the
    text is not a command (crisis language, opt-out words)."""
    tz = line.settings.practice.tz
    command = commands.parse_command(body, now, tz)
    if command is None:
        if classify(body).kind is IntentKind.OPT_OUT:
            _cancel_pending(session, therapist, now)
        return None
    if not therapist.active:
        return command_replies.inactive_reply()
    try:
        match command:
            case Away(until=until):
                therapists.set_away(session, actor(therapist), now, therapist.id, until)
                return command_replies.away_reply(until, tz)
            case Back():
                was_away = therapist.away_until is not None and therapist.away_until > now
                therapists.clear_away(session, actor(therapist), now, therapist.id)
                return command_replies.back_reply(was_away)
            case Lock():
                return _lock(session, line, therapist, command, now)
            case Yes(pin=pin):
                return _confirm_with_pin(session, line, therapist, pin, now)
            case No():
                return _cancel(session, therapist, now)
            case Refused(reason=reason):
                return reason
            case Unknown(problem=problem):
                return command_replies.usage_reply(problem)
    except domain.DomainError as refused:
        return command_replies.failed_reply(refused.message)
    return command_replies.usage_reply()


def _own_clients(session: Session, therapist: Therapist) -> list[Client]:
    return list(
        session.scalars(
            select(Client).where(Client.therapist_id == therapist.id).order_by(Client.id)
        )
    )


def _first(client: Client) -> str:
    return commands.first_name(client.name)


def _lock(session: Session, line: Line, therapist: Therapist, command: Lock, now: datetime) -> str:
    """A pending confirmation for each client the name fits; the answer is the same for any."""
    refs = [ClientRef(c.id, c.name, c.code) for c in _own_clients(session, therapist)]
    _cancel_pending(session, therapist, now)
    for match in commands.match_clients(command.who, refs):
        session.add(
            PendingConfirmation(
                therapist_id=therapist.id,
                action=LOCKOUT_ACTION,
                client_id=match.id,
                occurred_at=command.occurred_at,
                expires_at=now + CONFIRM_WITHIN,
                created_at=now,
            )
        )
    return command_replies.lock_prompt(command.who, command.occurred_at, line.settings.practice.tz)


def _live(therapist: Therapist, now: datetime):
    return select(PendingConfirmation).where(
        PendingConfirmation.therapist_id == therapist.id,
        PendingConfirmation.action == LOCKOUT_ACTION,
        PendingConfirmation.confirmed_at.is_(None),
        PendingConfirmation.expires_at > now,
    )


def _pending(session: Session, therapist: Therapist, now: datetime) -> list[PendingConfirmation]:
    """The therapist's latest LOCK waiting for YES (a row per client its name fit), locked so
    that two YES texts confirm it once."""
    rows = list(
        session.scalars(
            _live(therapist, now)
            .order_by(PendingConfirmation.created_at.desc(), PendingConfirmation.id)
            .with_for_update()
        )
    )
    return [row for row in rows if row.created_at == rows[0].created_at]


def _cancel_pending(session: Session, therapist: Therapist, now: datetime) -> None:
    """End whatever waits for YES (it expires now)."""
    for pending in session.scalars(_live(therapist, now).with_for_update()):
        pending.expires_at = now
    session.flush()


def _confirm_with_pin(
    session: Session, line: Line, therapist: Therapist, pin: str, now: datetime
) -> str:
    """YES: nothing about any client until the PIN is right (the same answers otherwise)."""
    if not pin:
        return pin_rules.pin_needed_reply()
    check = pins.check_pin(session, line, now, therapist, pin)
    if check is not PinCheck.RIGHT:
        return pin_rules.text_reply(check, pin_rules.minutes_left(therapist.pin_locked_until, now))
    return _confirm(session, line, therapist, now)


def _confirm(session: Session, line: Line, therapist: Therapist, now: datetime) -> str:
    waiting = _pending(session, therapist, now)
    if not waiting:
        return command_replies.nothing_to_confirm_reply()
    if len(waiting) > 1:
        _cancel_pending(session, therapist, now)
        clients = [session.get(Client, p.client_id) for p in waiting]
        refs = [ClientRef(c.id, c.name, c.code) for c in clients if c is not None]
        return command_replies.ambiguous_reply([commands.client_code(ref) for ref in refs])
    pending = waiting[0]
    client = session.get(Client, pending.client_id)
    if client is None or client.therapist_id != therapist.id:
        pending.expires_at = now
        return command_replies.not_your_client_reply()
    if lockout_ends_at(pending.occurred_at) <= now:
        pending.expires_at = now
        return command_replies.lock_over_reply()
    if not client.lockout_rule_applies:
        pending.expires_at = now
        return command_replies.waived_reply(_first(client))
    lockout = lockouts.record_lockout(
        session, actor(therapist), now, client.id, occurred_at=pending.occurred_at
    )
    pending.confirmed_at = now
    return command_replies.lock_done_reply(
        _first(client), lockout.ends_at, line.settings.practice.tz
    )


def _cancel(session: Session, therapist: Therapist, now: datetime) -> str:
    _cancel_pending(session, therapist, now)
    return command_replies.cancelled_reply()
