"""Therapists' text commands (AWAY, BACK, LOCK, YES, NO), from their registered phone.

`ivr.commands` reads the text; this saves what it asks for through the service modules
(which write the audit entries), in the caller's transaction, and returns the reply. The
Messaging webhook calls it for a therapist's text that is not crisis language; None means
"not a command" (an opt-out word) and the webhook's usual therapist flow answers.

Decisions where the issue is silent:

- The audit actor is "sms:therapist:<id>": the text is authenticated by caller ID only, not by
  a user's API token, so it is not attributed to a user account.
- LOCK looks only among the therapist's own clients, whatever their state; a name that is not
  one of them gets "No client of yours named X." (nothing about other therapists' clients).
- LOCK for a client whose 24-hour rule is waived is refused at once (not after YES).
- One LOCK waits for YES at a time: a new LOCK replaces the one before. YES confirms the
  latest LOCK of the last 10 minutes; NO, or an opt-out word (STOP, CANCEL...), cancels it.
- At YES the client is checked again (still theirs, 24 hours not over, rule not waived).
- An inactive therapist's commands are refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import domain, lockouts, therapists
from app.line import Line
from app.models import Client, PendingConfirmation, Therapist
from ivr import commands
from ivr.commands import Away, Back, ClientRef, Lock, No, Refused, Unknown, Yes
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
        return commands.inactive_reply()
    try:
        match command:
            case Away(until=until):
                therapists.set_away(session, actor(therapist), now, therapist.id, until)
                return commands.away_reply(until, tz)
            case Back():
                was_away = therapist.away_until is not None and therapist.away_until > now
                therapists.clear_away(session, actor(therapist), now, therapist.id)
                return commands.back_reply(was_away)
            case Lock():
                return _lock(session, line, therapist, command, now)
            case Yes():
                return _confirm(session, line, therapist, now)
            case No():
                return _cancel(session, therapist, now)
            case Refused(reason=reason):
                return reason
            case Unknown(problem=problem):
                return commands.usage_reply(problem)
    except domain.DomainError as refused:
        return commands.failed_reply(refused.message)
    return commands.usage_reply()


def _own_clients(session: Session, therapist: Therapist) -> list[Client]:
    return list(
        session.scalars(
            select(Client).where(Client.therapist_id == therapist.id).order_by(Client.id)
        )
    )


def _first(client: Client) -> str:
    return commands.first_name(client.name)


def _lock(session: Session, line: Line, therapist: Therapist, command: Lock, now: datetime) -> str:
    tz = line.settings.practice.tz
    clients = {c.id: c for c in _own_clients(session, therapist)}
    refs = [ClientRef(c.id, c.name, c.code) for c in clients.values()]
    matches = commands.match_clients(command.who, refs)
    if not matches:
        return commands.no_client_reply(command.who)
    if len(matches) > 1:
        codes = [commands.client_code(ref) for ref in matches]
        return commands.ambiguous_reply(command.who, codes, command.when)
    client = clients[matches[0].id]
    if not client.lockout_rule_applies:
        return commands.waived_reply(_first(client))
    _cancel_pending(session, therapist, now)
    session.add(
        PendingConfirmation(
            therapist_id=therapist.id,
            action=LOCKOUT_ACTION,
            client_id=client.id,
            occurred_at=command.occurred_at,
            expires_at=now + CONFIRM_WITHIN,
            created_at=now,
        )
    )
    return commands.lock_prompt(_first(client), lockout_ends_at(command.occurred_at), tz)


def _pending(session: Session, therapist: Therapist, now: datetime) -> PendingConfirmation | None:
    """The therapist's LOCK waiting for YES, locked so that two YES texts confirm it once."""
    return session.scalar(
        select(PendingConfirmation)
        .where(
            PendingConfirmation.therapist_id == therapist.id,
            PendingConfirmation.action == LOCKOUT_ACTION,
            PendingConfirmation.confirmed_at.is_(None),
            PendingConfirmation.expires_at > now,
        )
        .order_by(PendingConfirmation.created_at.desc(), PendingConfirmation.id.desc())
        .limit(1)
        .with_for_update()
    )


def _cancel_pending(session: Session, therapist: Therapist, now: datetime) -> Client | None:
    """End whatever waits for YES (it expires now); the client of the latest, if any."""
    latest = _pending(session, therapist, now)
    if latest is None:
        return None
    live = session.scalars(
        select(PendingConfirmation).where(
            PendingConfirmation.therapist_id == therapist.id,
            PendingConfirmation.confirmed_at.is_(None),
            PendingConfirmation.expires_at > now,
        )
    )
    for pending in live:
        pending.expires_at = now
    session.flush()
    return session.get(Client, latest.client_id)


def _confirm(session: Session, line: Line, therapist: Therapist, now: datetime) -> str:
    pending = _pending(session, therapist, now)
    if pending is None:
        return commands.nothing_to_confirm_reply()
    client = session.get(Client, pending.client_id)
    if client is None or client.therapist_id != therapist.id:
        pending.expires_at = now
        return commands.not_your_client_reply()
    if lockout_ends_at(pending.occurred_at) <= now:
        pending.expires_at = now
        return commands.lock_over_reply()
    if not client.lockout_rule_applies:
        pending.expires_at = now
        return commands.waived_reply(_first(client))
    lockout = lockouts.record_lockout(
        session, actor(therapist), now, client.id, occurred_at=pending.occurred_at
    )
    pending.confirmed_at = now
    return commands.lock_done_reply(_first(client), lockout.ends_at, line.settings.practice.tz)


def _cancel(session: Session, therapist: Therapist, now: datetime) -> str:
    client = _cancel_pending(session, therapist, now)
    if client is None:
        return commands.nothing_to_cancel_reply()
    return commands.cancelled_reply(_first(client))
