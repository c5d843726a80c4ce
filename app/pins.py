"""A therapist's PIN: set and cleared (the dashboard, `coachline set-pin`), and checked when
their phone menu opens or a text confirms a care change. Only its argon2 hash is kept (the
users' hasher); it is never logged or audited, only that it changed. `ivr.pin` holds the rules
and the words; a function that acts takes `(session, actor|line, now, ...)` and the caller
commits.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import attention
from app.audit import audit
from app.domain import Invalid, found
from app.line import Line
from app.models import AttentionItem, Therapist
from app.users import hasher
from ivr import pin as pin_rules
from ivr.attention import Notice
from ivr.codes import AttentionKind
from ivr.pin import PinCheck

log = logging.getLogger("coachline.pins")

# PIN checks run inside Twilio's webhooks (`Line.database`, a ~2 s budget): one argon2 at a
# time (~0.1 s and 64 MiB each), so a burst of guesses cannot take every webhook thread's
# memory and cores. A check that cannot start within a second counts nothing (BUSY).
_PIN_HASHING = threading.BoundedSemaphore(1)
PIN_WAIT_SECONDS = 1.0


def set_pin(session: Session, actor: str, now: datetime, therapist_id: int, pin: str) -> Therapist:
    """Set a therapist's PIN (4-8 digits; only its hash is kept; audited without it). It also
    lifts a lock and clears the failures."""
    therapist = found(session, Therapist, therapist_id, "therapist")
    problem = pin_rules.pin_problem(pin)
    if problem is not None:
        raise Invalid(problem)
    therapist.pin_hash = hasher.hash(pin)
    therapist.pin_failures = 0
    therapist.pin_locked_until = None
    session.flush()
    audit(session, actor, "set_pin", "therapist", therapist.id, at=now)
    return therapist


def clear_pin(session: Session, actor: str, now: datetime, therapist_id: int) -> Therapist:
    """No PIN: the therapist's phone menu and care changes by text are closed until one is set."""
    therapist = found(session, Therapist, therapist_id, "therapist")
    if therapist.pin_hash is not None or therapist.pin_locked_until is not None:
        therapist.pin_hash = None
        therapist.pin_failures = 0
        therapist.pin_locked_until = None
        session.flush()
        audit(session, actor, "clear_pin", "therapist", therapist.id, at=now)
    return therapist


def check_pin(
    session: Session, line: Line, now: datetime, therapist: Therapist, digits: str
) -> PinCheck:
    """Whether `digits` is the therapist's PIN, counting a wrong one (five in a row lock it and
    raise an item). Runs argon2 once; the caller commits."""
    if therapist.pin_hash is None:
        return PinCheck.NO_PIN
    if pin_rules.is_locked(therapist.pin_locked_until, now):
        return PinCheck.LOCKED
    if pin_rules.well_formed(digits):
        if not _PIN_HASHING.acquire(timeout=PIN_WAIT_SECONDS):
            log.warning("a PIN check for therapist %s waited too long to start", therapist.id)
            return PinCheck.BUSY
        try:
            right = _pin_matches(therapist.pin_hash, digits)
        finally:
            _PIN_HASHING.release()
    else:
        right = False
    if right:
        therapist.pin_failures = 0
        therapist.pin_locked_until = None
        return PinCheck.RIGHT
    return _pin_failed(session, line, now, therapist)


def _pin_matches(pin_hash: str, digits: str) -> bool:
    try:
        return hasher.verify(pin_hash, digits)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _pin_failed(session: Session, line: Line, now: datetime, therapist: Therapist) -> PinCheck:
    # Counted in the database, so a call's and a text's failures add up.
    session.execute(
        update(Therapist)
        .where(Therapist.id == therapist.id)
        .values(pin_failures=Therapist.pin_failures + 1)
    )
    session.refresh(therapist)
    if not pin_rules.locks_now(therapist.pin_failures):
        return PinCheck.WRONG
    therapist.pin_failures = 0
    therapist.pin_locked_until = now + pin_rules.LOCK_FOR
    session.flush()
    audit(
        session,
        "line",
        "pin_locked",
        "therapist",
        therapist.id,
        reason=f"{pin_rules.MAX_FAILURES} wrong PINs in a row",
        changes={"pin_locked_until": therapist.pin_locked_until},
        at=now,
    )
    log.warning("the PIN of therapist %s is locked after repeated failures", therapist.id)
    _raise_pin_locked(session, line, now, therapist)
    return PinCheck.LOCKED


def _raise_pin_locked(session: Session, line: Line, now: datetime, therapist: Therapist) -> None:
    """An item for the therapist (admins see every item), texted to their own number; one at a
    time while it is open."""
    open_item = session.scalar(
        select(AttentionItem.id).where(
            AttentionItem.kind == AttentionKind.PIN_LOCKED,
            AttentionItem.therapist_id == therapist.id,
            AttentionItem.acknowledged_at.is_(None),
        )
    )
    if open_item is not None:
        return
    notice = None
    if not therapist.sms_opted_out:
        notice = Notice(therapist.id, therapist.phone, pin_rules.locked_notice_body())
    attention.raise_item(
        session,
        line,
        now,
        AttentionKind.PIN_LOCKED,
        client_id=None,
        responsible_id=therapist.id,
        notice=notice,
        for_therapist_id=therapist.id,
    )
