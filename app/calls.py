"""Call records: one per CallSid, however often Twilio sends a webhook about the call."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_once
from app.models import Call


def call_record(session: Session, call_sid: str, **fields: Any) -> Call:
    """The call record for a CallSid, made once even when Twilio retries the webhook (INSERT
    .. ON CONFLICT DO NOTHING); a retry keeps the first."""
    insert_once(session, Call.__table__, "call_sid", {"call_sid": call_sid, **fields})
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    assert call is not None
    return call
