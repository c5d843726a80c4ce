"""What the records share: the phone column and new secrets."""

from __future__ import annotations

import secrets

from sqlalchemy import (
    String,
)

PHONE = String(20)


def new_secret() -> str:
    return secrets.token_urlsafe(24)
