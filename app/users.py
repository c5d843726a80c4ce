"""The users of the dashboard and the API: their passwords (argon2; the rules in
`app.passwords`), signing in with a short pause after repeated failures, their API tokens, and
disabling a user (their dashboard sessions are `app.user_sessions`).

The pause here is per account and counted in the database, so every worker's failures add up;
it is short (`PAUSE`) and needs `MAX_FAILURES` in a row, so that someone who knows an email
cannot keep its owner out for long. The sign-in page adds limits per address and overall, and
lets an address the owner signed in from pass the pause (`app.web.sign_in_limits`).

A disabled user can neither sign in nor use a token: disabling ends their dashboard sessions and
revokes their tokens in the same transaction, and so does deactivating their therapist.

Small functions on the `User` aggregate; a function that acts for someone takes
`(session, actor, now, ...)` and writes its audit entry in the caller's transaction. The caller
commits. Nothing here is about HTTP: the dashboard's sign-in page and the command line both
call here.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import audit
from app.domain import Conflict, Invalid, NotFound
from app.models import ApiToken, Therapist, User
from app.passwords import PASSWORD_MAX, PASSWORD_MIN, check_password_rules
from app.user_sessions import end_sessions

__all__ = ["PASSWORD_MAX", "PASSWORD_MIN", "check_password_rules"]

log = logging.getLogger("coachline.users")

# Failures in a row, from anywhere, before the account pauses; and how long. Short on purpose:
# the per-address limits stop one guesser long before this, so this only slows guessing spread
# over many addresses, and the owner waits minutes at most.
MAX_FAILURES = 10
PAUSE = timedelta(minutes=5)
TOKEN_PREFIX = "cl_"

hasher = PasswordHasher()
# Verified against when the email is unknown, so that answer takes as long as any other.
_DUMMY_HASH = hasher.hash("not a password of anyone's")


# ---- passwords -----------------------------------------------------------------------------


def by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def set_password(session: Session, actor: str, now: datetime, email: str, password: str) -> User:
    """Set a user's dashboard password (audited; the hash only). It also lifts a sign-in pause,
    and ends the user's dashboard sessions."""

    user = by_email(session, email)
    if user is None:
        raise NotFound("no user with that email; create one with `coachline create-user`")
    check_password_rules(password, user.email)
    user.password_hash = hasher.hash(password)
    clear_failures(user)
    session.flush()
    end_sessions(session, user.id, now)
    audit(session, actor, "set_password", "user", user.id, at=now)
    return user


def verify_password(user: User | None, password: str) -> bool:
    """Whether the password is the user's. Always runs one argon2 verification, against a dummy
    hash when there is no user or no password, so every answer takes as long."""
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        ok = hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


def pause_left(session: Session, now: datetime, email: str) -> timedelta | None:
    """How long the account's sign-in is still paused, if it is (no argon2: a cheap answer)."""
    until = session.scalar(select(User.login_locked_until).where(User.email == _email(email)))
    return until - now if until is not None and until > now else None


def _email(email: str) -> str:
    return email.strip().lower()


def attempt_login(
    session: Session, now: datetime, email: str, password: str, *, pause_applies: bool = True
) -> User | None:
    """The user, if the password is right and the account is not paused (`pause_applies`:
    False for an address its owner signed in from); failures are counted (`count_failure`).
    The caller commits.

    Runs argon2 once (twice when an old hash is upgraded): call it off the event loop, on a
    limiter of its own, as the dashboard's sign-in does."""
    user = by_email(session, email)
    paused = (
        pause_applies
        and user is not None
        and user.login_locked_until is not None
        and user.login_locked_until > now
    )
    ok = verify_password(user, password)  # always run: the same time for every answer
    if user is None:
        return None
    if paused or user.disabled_at is not None:
        return None
    if ok:
        if user.password_hash and hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        return user
    count_failure(session, now, user)
    return None


def clear_failures(user: User) -> None:
    """Signed in (the second factor too, where there is one): the count starts again."""
    user.failed_logins = 0
    user.login_locked_until = None


def count_failure(session: Session, now: datetime, user: User) -> None:
    """A wrong password or code; `MAX_FAILURES` in a row pause the account for `PAUSE`
    (audited). Counted in the database, so two workers' failures add up."""
    session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
    )
    session.refresh(user)
    if user.failed_logins >= MAX_FAILURES:
        user.failed_logins = 0
        user.login_locked_until = now + PAUSE
        audit(
            session,
            "dashboard",
            "login_paused",
            "user",
            user.id,
            reason=f"{MAX_FAILURES} failed sign-in attempts",
            changes={"login_locked_until": user.login_locked_until},
            at=now,
        )
        log.warning("dashboard sign-in paused for user %s after repeated failures", user.id)


# ---- API tokens: random, shown once, stored only as their SHA-256 ---------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, now: datetime | None = None) -> str:
    """A new token for the user; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    made = ApiToken(user=user, token_hash=hash_token(token))
    if now is not None:  # the line's clock, when the caller has it
        made.created_at = now
    session.add(made)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    return session.scalar(
        select(User)
        .join(ApiToken)
        .where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_at.is_(None),
            User.disabled_at.is_(None),
        )
    )


ROLES = ("admin", "therapist")
# The email is the actor in lockouts' created_by/lifted_by, which hold 200 characters.
EMAIL_MAX = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(
    session: Session,
    actor: str,
    now: datetime,
    *,
    email: str,
    role: str,
    therapist_id: int | None = None,
) -> tuple[User, str]:
    """A new user and their first API token (the token is returned once, stored hashed)."""
    user = create_login(session, actor, now, email=email, role=role, therapist_id=therapist_id)
    token = issue_token(session, user, now)
    session.flush()
    return user, token


def create_login(
    session: Session,
    actor: str,
    now: datetime,
    *,
    email: str,
    role: str,
    therapist_id: int | None = None,
) -> User:
    """A new user with neither a password nor an API token yet: the dashboard's "add a login"
    (its password is set next; `new_token` makes a token for someone who wants the API)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid("not a valid email address")
    if len(email) > EMAIL_MAX:
        raise Invalid(f"the email address is longer than {EMAIL_MAX} characters")
    if role not in ROLES:
        raise Invalid(f"the role must be {' or '.join(ROLES)}")
    if role == "therapist" and therapist_id is None:
        raise Invalid("a therapist user needs the therapist they are")
    if therapist_id is not None and session.get(Therapist, therapist_id) is None:
        raise Invalid(f"unknown therapist {therapist_id}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with that email already exists")
    user = User(email=email, role=role, therapist_id=therapist_id, created_at=now)
    session.add(user)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "user",
        user.id,
        changes={"email": email, "role": role, "therapist_id": therapist_id},
        at=now,
    )
    return user


def end_user_sessions(session: Session, actor: str, now: datetime, user_id: int) -> int:
    """An admin signs a user out everywhere (audited)."""
    user = get_user(session, user_id)
    ended = end_sessions(session, user.id, now)
    audit(session, actor, "end_sessions", "user", user.id, changes={"ended": ended}, at=now)
    return ended


# ---- revoking tokens and disabling users ----------------------------------------------------


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def user_by_email(session: Session, email: str) -> User:
    user = by_email(session, email)
    if user is None:
        raise NotFound("no user with that email")
    return user


def _revoke(
    session: Session, now: datetime, user_id: int, token_id: int | None = None
) -> list[int]:
    """Revoke the user's live tokens (or the one given); the ids revoked."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    tokens = list(session.scalars(stmt.order_by(ApiToken.id)))
    for token in tokens:
        token.revoked_at = now
    session.flush()
    return [token.id for token in tokens]


def revoke_tokens(session: Session, actor: str, now: datetime, user_id: int) -> list[int]:
    """Revoke every API token of the user (audited); the ids revoked."""
    user = get_user(session, user_id)
    revoked = _revoke(session, now, user.id)
    audit(session, actor, "revoke_tokens", "user", user.id, changes={"token_ids": revoked}, at=now)
    return revoked


def revoke_token(session: Session, actor: str, now: datetime, token_id: int) -> ApiToken:
    """Revoke one API token by its id (audited on its user)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token {token_id}")
    if token.revoked_at is not None:
        raise Conflict(f"API token {token_id} is already revoked")
    _revoke(session, now, token.user_id, token.id)
    changes = {"token_ids": [token.id]}
    audit(session, actor, "revoke_tokens", "user", token.user_id, changes=changes, at=now)
    return token


def new_token(session: Session, actor: str, now: datetime, user_id: int) -> str:
    """Another API token for an enabled user (audited; shown once), e.g. after a revocation."""
    user = get_user(session, user_id)
    if user.disabled_at is not None:
        raise Conflict("the user is disabled; enable them first")
    token = issue_token(session, user, now)
    session.flush()
    audit(session, actor, "new_token", "user", user.id, at=now)
    return token


def disable_user(
    session: Session, actor: str, now: datetime, user_id: int, *, reason: str | None = None
) -> User:
    """The user can no longer sign in or use a token: their sessions end and their tokens are
    revoked, in this transaction (audited). The last enabled admin is not disabled."""
    user = get_user(session, user_id)
    if user.disabled_at is not None:
        raise Conflict(f"{user.email} is already disabled")
    if user.role == "admin" and _enabled_admins(session) <= 1:
        raise Conflict("that is the only enabled admin; the practice would have none")
    user.disabled_at = now
    ended = end_sessions(session, user.id, now)
    revoked = _revoke(session, now, user.id)
    changes = {"disabled_at": now, "sessions_ended": ended, "token_ids_revoked": revoked}
    audit(session, actor, "disable", "user", user.id, reason=reason, changes=changes, at=now)
    return user


def enable_user(session: Session, actor: str, now: datetime, user_id: int) -> User:
    """A disabled user may sign in again (audited); revoked tokens stay revoked."""
    user = get_user(session, user_id)
    if user.disabled_at is None:
        raise Conflict(f"{user.email} is not disabled")
    therapist = session.get(Therapist, user.therapist_id) if user.therapist_id else None
    if therapist is not None and not therapist.active:
        raise Conflict("their therapist is inactive; activate the therapist first")
    old = user.disabled_at
    user.disabled_at = None
    session.flush()
    changes = {"disabled_at": {"from": old, "to": None}}
    audit(session, actor, "enable", "user", user.id, changes=changes, at=now)
    return user


def disable_therapist_users(session: Session, actor: str, now: datetime, therapist_id: int) -> int:
    """A deactivated therapist's therapist users are disabled with them; how many were.

    An admin user who is also a therapist keeps the admin's access: deactivating the therapist
    stops their coaching, not their running of the practice (disable the user for that)."""
    stmt = select(User.id).where(
        User.therapist_id == therapist_id, User.role == "therapist", User.disabled_at.is_(None)
    )
    user_ids = list(session.scalars(stmt))
    for user_id in user_ids:
        disable_user(session, actor, now, user_id, reason="therapist deactivated")
    return len(user_ids)


def _enabled_admins(session: Session) -> int:
    stmt = select(func.count()).where(User.role == "admin", User.disabled_at.is_(None))
    return session.scalar(stmt) or 0
