"""TOTP two-factor sign-in (RFC 6238, with pyotp): enrolling, checking a code, recovery codes,
and an admin's reset. Nothing here is about HTTP: the dashboard's pages and the command line
call here.

- Enrolling: a new base32 secret is kept on the user, unconfirmed, until a first right code
  confirms it (`totp_confirmed_at`); then ten recovery codes are made, shown once, and kept
  only as their SHA-256.
- Checking: 6 digits, 30-second steps, one step either side for a phone's clock. The line's
  clock (`line.now()`) is the time, never `time.time()`.
- A code is not taken twice: the session a code completes keeps the code's time step in its
  data (`totp_step`), and a code whose step is not after the last step used by the same user in
  the last `user_sessions.CODE_MEMORY` is refused. Kept in the database (no new column), so every
  worker sees it; two requests with the same code at the very same moment on two workers could
  both pass (no lock), which needs the code before its owner used it anyway.
- Who must have it: every admin; therapists when the practice's setting
  `REQUIRE_TWO_FACTOR_FOR_THERAPISTS` is on.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import user_sessions, users
from app.audit import audit
from app.models import RecoveryCode, User, UserSession
from app.settings import Settings

STEP = timedelta(seconds=30)
RECOVERY_CODE_COUNT = 10


def required_for(user: User, settings: Settings) -> bool:
    """Whether the user must have two-factor before they are signed in."""
    if user.role == "admin":
        return True
    return user.role == "therapist" and settings.require_two_factor_for_therapists


def is_on(user: User) -> bool:
    return user.totp_secret is not None and user.totp_confirmed_at is not None


# ---- enrolling -------------------------------------------------------------------------------


def enrolment_secret(user: User) -> str:
    """The secret the user is enrolling with: the one waiting for its first code, or a new one.
    The caller commits."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        user.totp_secret = pyotp.random_base32()  # 32 characters: 160 bits
    return user.totp_secret


def otpauth_uri(secret: str, email: str, issuer: str) -> str:
    """What the QR code holds: authenticator apps show the issuer and the account."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG element (made here: the secret goes to no other service).
    With a viewBox and no fixed size, so the page's CSS scales it whole (a fixed size was
    cropped, not scaled, and a cropped code does not scan)."""
    return segno.make(uri, error="m").svg_inline(scale=5, omitsize=True, title="QR code to scan")


def confirm(session: Session, now: datetime, user: User, code: str) -> tuple[int, list[str]] | None:
    """The first code: if right, two-factor is on. The code's time step and the recovery codes
    (shown once), or None. Audited; the caller commits."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        return None
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return None
    user.totp_confirmed_at = now
    codes = new_recovery_codes(session, now, user)
    audit(session, user.email, "two_factor_on", "user", user.id, at=now)
    return step, codes


# ---- codes -----------------------------------------------------------------------------------


def looks_like_a_code(raw: str) -> bool:
    """Six digits (spaces aside): a TOTP code; anything else is tried as a recovery code."""
    digits = raw.replace(" ", "")
    return len(digits) == 6 and digits.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code is right for, within one step of now, or None."""
    code = code.replace(" ", "")
    if not looks_like_a_code(code):
        return None
    totp = pyotp.TOTP(secret)
    found = None
    for offset in (-1, 0, 1):  # every step is compared: the same time for every answer
        at = now + offset * STEP
        if hmac.compare_digest(totp.at(at), code):
            found = totp.timecode(at)
    return found


def last_step_used(session: Session, user_id: int, now: datetime) -> int | None:
    """The latest time step that completed a sign-in of the user's lately."""
    rows = session.scalars(
        select(UserSession.data).where(
            UserSession.user_id == user_id,
            UserSession.second_factor_at > now - user_sessions.CODE_MEMORY,
        )
    )
    steps = [data.get("totp_step") for data in rows if isinstance(data, dict)]
    return max((step for step in steps if isinstance(step, int)), default=None)


def check_code(session: Session, now: datetime, user: User, code: str) -> int | None:
    """A TOTP code for a user with two-factor on: its time step if it is right and not used
    before, else None."""
    if not is_on(user) or user.totp_secret is None:
        return None
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return None
    last = last_step_used(session, user.id, now)
    return step if last is None or step > last else None


# ---- recovery codes --------------------------------------------------------------------------


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def new_recovery_codes(session: Session, now: datetime, user: User) -> list[str]:
    """Ten new one-time codes (the old ones go); returned once, kept as their SHA-256."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        hashed = hash_recovery_code(code)
        session.add(RecoveryCode(user_id=user.id, code_hash=hashed, created_at=now))
    session.flush()
    return codes


def _recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits, and each is good once
    return f"{raw[:5]}-{raw[5:]}"


def use_recovery_code(session: Session, now: datetime, user: User, code: str) -> bool:
    """Whether the code is one of the user's unused ones; if so it is used up (one UPDATE, so
    two workers cannot both take it). Audited; the caller commits."""
    if not is_on(user) or not 8 <= len(_normal(code)) <= 40:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == hash_recovery_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    used = (result.rowcount or 0) == 1  # type: ignore[attr-defined]
    if used:
        audit(session, user.email, "recovery_code_used", "user", user.id, at=now)
    return used


def recovery_codes_left(session: Session, user_id: int) -> int:
    stmt = select(RecoveryCode.id).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return len(list(session.scalars(stmt)))


# ---- an admin's reset ------------------------------------------------------------------------


def reset(session: Session, actor: str, now: datetime, user_id: int) -> User:
    """Two-factor off for the user (a lost phone): secret and recovery codes gone, their
    sessions ended; they enrol again at their next sign-in if they must. Audited."""
    user = users.get_user(session, user_id)
    had = is_on(user)
    user.totp_secret = None
    user.totp_confirmed_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = user_sessions.end_sessions(session, user.id, now)
    changes = {"two_factor_was_on": had, "sessions_ended": ended}
    audit(session, actor, "reset_two_factor", "user", user.id, changes=changes, at=now)
    return user
