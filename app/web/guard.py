"""Who is signed in: the session names a user, and holds a fingerprint of their password hash,
so a new password signs every other session out."""

from __future__ import annotations

import hashlib
import secrets

from fastapi import Request
from sqlalchemy.orm import Session

from app.models import User


def password_fingerprint(user: User) -> str:
    """Kept in the session: a new password signs every other session out."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def signed_in_user(request: Request, session: Session) -> User | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = session.get(User, uid)
    if user is None or not user.password_hash:
        return None
    if not secrets.compare_digest(str(request.session.get("pw", "")), password_fingerprint(user)):
        return None
    return user
