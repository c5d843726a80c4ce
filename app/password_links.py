"""A link to choose one's dashboard password: how the admin "sends" a password without email.

The admin makes the link on the Users page and passes it on (a message of their own, in
person); whoever opens it chooses the password, judged by `app.passwords` as any other. The
admin never learns the password, and the line never texts a credential (a text's body stays in
the messages table and on the Logs page).

Nothing is stored for a link. It is `<user id>-<expiry>-<signature>`, the signature an HMAC
(SHA-256) under a secret the practice keeps in the database (`Line.kept_secret`), over the
user's id, the expiry and what the link must not outlive: the user's password hash, email and
disabled time. So it works once (setting the password changes the hash, which ends every link
made before), until it expires, and never for a disabled user; a link for someone whose
password an admin set meanwhile no longer works either. The same idea as Django's password
reset tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app import users
from app.audit import audit
from app.domain import Conflict, Invalid
from app.models import User

SECRET_KEY = "password_link_key"  # the practice_settings row holding the HMAC key
LIFETIME = timedelta(hours=24)
_LINK = re.compile(r"^([1-9][0-9]{0,9})-([0-9]{1,11})-([A-Za-z0-9_-]{43})$")


def _signature(secret: str, user: User, expires: int) -> str:
    message = "|".join(
        [
            str(user.id),
            str(expires),
            user.password_hash or "",
            user.email,
            user.disabled_at.isoformat() if user.disabled_at else "",
        ]
    )
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_link(
    session: Session, actor: str, now: datetime, secret: str, user_id: int
) -> tuple[str, datetime]:
    """The link's token for an enabled user, and when it stops working (audited; the token
    itself is in no log or record)."""
    user = users.get_user(session, user_id)
    if user.disabled_at is not None:
        raise Conflict(f"{user.email} is disabled; enable them first")
    expires_at = (now + LIFETIME).replace(microsecond=0)
    expires = int(expires_at.timestamp())
    token = f"{user.id}-{expires}-{_signature(secret, user, expires)}"
    audit(
        session,
        actor,
        "password_link",
        "user",
        user.id,
        changes={"link_expires_at": expires_at},
        at=now,
    )
    return token, expires_at


def user_for_link(session: Session, secret: str, now: datetime, token: str) -> User | None:
    """The user whose link this is, while it still works; None for any other string."""
    match = _LINK.match(token or "")
    if match is None:
        return None
    user_id, expires = int(match.group(1)), int(match.group(2))
    if datetime.fromtimestamp(expires, UTC) <= now:
        return None
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        return None
    expected = _signature(secret, user, expires)
    return user if hmac.compare_digest(expected, match.group(3)) else None


def set_password_by_link(
    session: Session, now: datetime, secret: str, token: str, password: str
) -> User:
    """The link's user sets their password (audited as theirs): the link is then used up."""
    user = user_for_link(session, secret, now, token)
    if user is None:
        raise Invalid("this link no longer works")
    return users.set_password(session, user.email, now, user.email, password)
