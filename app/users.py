"""The users of the dashboard and the API: their passwords (argon2), signing in with a pause
after repeated failures, and their API tokens.

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
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import audit
from app.domain import Conflict, Invalid, NotFound
from app.models import ApiToken, Therapist, User

log = logging.getLogger("coachline.users")

MAX_FAILURES = 5
PAUSE = timedelta(minutes=15)
PASSWORD_MIN = 10
PASSWORD_MAX = 200
TOKEN_PREFIX = "cl_"

hasher = PasswordHasher()
# Verified against when the email is unknown, so that answer takes as long as any other.
_DUMMY_HASH = hasher.hash("not a password of anyone's")


# ---- passwords -----------------------------------------------------------------------------


def by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def check_password_rules(password: str, email: str) -> None:

    if len(password) < PASSWORD_MIN:
        raise Invalid(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise Invalid(f"a password has at most {PASSWORD_MAX} characters")
    if password.strip().lower() == email.strip().lower():
        raise Invalid("the password must not be the email")


def set_password(session: Session, actor: str, now: datetime, email: str, password: str) -> User:
    """Set a user's dashboard password (audited; the hash only). It also lifts a sign-in pause,
    and signs the user's other sessions out."""

    user = by_email(session, email)
    if user is None:
        raise NotFound("no user with that email; create one with `coachline create-user`")
    check_password_rules(password, user.email)
    user.password_hash = hasher.hash(password)
    user.failed_logins = 0
    user.login_locked_until = None
    session.flush()
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


def attempt_login(session: Session, now: datetime, email: str, password: str) -> User | None:
    """The user, if the password is right and the account is not paused; failures are counted
    (5 in a row pause the account for 15 minutes). The caller commits.

    Runs argon2 once (twice when an old hash is upgraded): call it off the event loop, on a
    limiter of its own, as the dashboard's sign-in does."""
    user = by_email(session, email)
    paused = (
        user is not None and user.login_locked_until is not None and user.login_locked_until > now
    )
    ok = verify_password(user, password)  # always run: the same time for every answer
    if user is None:
        return None
    if paused:
        return None
    if ok:
        user.failed_logins = 0
        user.login_locked_until = None
        if user.password_hash and hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        return user
    # Counted in the database, so two workers' failures add up.
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
    return None


# ---- API tokens: random, shown once, stored only as their SHA-256 ---------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """A new token for the user; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(token)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    return session.scalar(
        select(User)
        .join(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
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
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid("not a valid email address")
    if len(email) > EMAIL_MAX:
        raise Invalid(f"email is longer than {EMAIL_MAX} characters")
    if role not in ROLES:
        raise Invalid(f"role must be one of: {', '.join(ROLES)}")
    if role == "therapist" and therapist_id is None:
        raise Invalid("a therapist user needs --therapist-id")
    if therapist_id is not None and session.get(Therapist, therapist_id) is None:
        raise Invalid(f"unknown therapist {therapist_id}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with that email already exists")
    user = User(email=email, role=role, therapist_id=therapist_id, created_at=now)
    session.add(user)
    token = issue_token(session, user)
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
    return user, token
