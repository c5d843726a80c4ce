"""Outbound texts: written in the caller's transaction, delivered later through Twilio's REST API.

A text is a `Message` row in status `queued`. `deliver_due` claims due rows (a lease: the
row becomes `sending` with `next_attempt_at` in the future, so a worker that dies mid-send
leaves it to be claimed again once the lease runs out), sends each outside any transaction,
and records the result: `sent`, a retry with backoff for a 5xx, 429 or timeout, `failed`
for any other refusal. Error 21610 (the recipient texted STOP) marks that client opted out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from app.context import Line
from app.models import Client, Message

log = logging.getLogger("coachline.notify")

LEASE = timedelta(seconds=60)
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP = timedelta(minutes=15)
OPTED_OUT_ERROR = 21610


def queue_text(
    session: Session,
    line: Line,
    *,
    to_phone: str,
    body: str,
    kind: str = "notification",
    therapist_id: int | None = None,
    client_id: int | None = None,
    call_id: int | None = None,
) -> Message:
    """Add an outbound text to the caller's transaction; the worker delivers it after commit.

    Without Twilio credentials (development) it is recorded as not sent, and so is anything
    to a client who opted out: nothing proactive ever reaches them.
    """
    configured = line.settings.twilio_configured
    opted_out = session.scalar(
        select(Client.id).where(Client.phone == to_phone, Client.sms_opted_out.is_(True))
    )
    why_not = (
        "recipient opted out"
        if opted_out is not None
        else None
        if configured
        else "no Twilio credentials (development)"
    )
    message = Message(
        direction="outbound",
        kind=kind,
        therapist_id=therapist_id,
        client_id=client_id,
        call_id=call_id,
        from_phone=line.settings.twilio_phone_number or None,
        to_phone=to_phone,
        body=body,
        status="not_sent" if why_not else "queued",
        attempts=0,
        next_attempt_at=None if why_not else line.now(),
        last_error=why_not,
        created_at=line.now(),
    )
    session.add(message)
    return message


class _RoutedClient(TwilioClient):
    """Twilio's REST client, pointed at TWILIO_API_BASE_URL (a local stand-in in tests)."""

    def __init__(self, base_url: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._base_url = base_url

    def get_hostname(self, uri: str) -> str:
        uri = super().get_hostname(uri)
        return uri.replace("https://api.twilio.com", self._base_url, 1)


def twilio_client(line: Line) -> TwilioClient:
    settings = line.settings
    return _RoutedClient(
        settings.twilio_api_base_url,
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=settings.twilio_http_timeout_seconds),
    )


@dataclass
class _Claimed:
    id: int
    to_phone: str
    from_phone: str
    body: str
    attempts: int


def _claim(line: Line, limit: int) -> list[_Claimed]:
    now = line.now()
    with line.sessions() as session, session.begin():
        rows = session.scalars(
            select(Message)
            .where(
                Message.status.in_(("queued", "sending")),
                Message.next_attempt_at <= now,
            )
            .order_by(Message.next_attempt_at, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.status = "sending"
            row.attempts += 1
            row.next_attempt_at = now + LEASE
        return [
            _Claimed(r.id, r.to_phone or "", r.from_phone or "", r.body, r.attempts) for r in rows
        ]


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)), BACKOFF_CAP)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TwilioRestException):
        return exc.status >= 500 or exc.status == 429
    return True  # timeouts and connection errors


def _record(line: Line, claimed: _Claimed, *, sid: str | None, error: Exception | None) -> str:
    now = line.now()
    with line.sessions() as session, session.begin():
        message = session.get(Message, claimed.id, with_for_update=True)
        if message is None or message.status != "sending" or message.attempts != claimed.attempts:
            return "stale"  # another worker took it over after our lease ran out
        if error is None:
            message.status, message.twilio_sid, message.sent_at = "sent", sid, now
            message.next_attempt_at, message.last_error = None, None
        else:
            message.last_error = _describe(error)
            if _retryable(error) and message.attempts < line.settings.notification_max_attempts:
                message.status, message.next_attempt_at = "queued", now + _backoff(claimed.attempts)
            else:
                message.status, message.next_attempt_at = "failed", None
            if isinstance(error, TwilioRestException) and error.code == OPTED_OUT_ERROR:
                session.execute(
                    update(Client)
                    .where(Client.phone == message.to_phone)
                    .values(sms_opted_out=True)
                )
        return message.status


def _describe(error: Exception) -> str:
    if isinstance(error, TwilioRestException):
        return f"twilio {error.status} code {error.code}"
    return type(error).__name__


def deliver_due(line: Line, limit: int = 20) -> dict[str, int]:
    """Send what is due now; returns how many ended in each status."""
    counts: dict[str, int] = {}
    if not line.settings.twilio_configured:
        return counts
    claimed = _claim(line, limit)
    if not claimed:
        return counts
    client = twilio_client(line)
    for item in claimed:
        sid, error = None, None
        try:
            sent = client.messages.create(to=item.to_phone, from_=item.from_phone, body=item.body)
            sid = sent.sid
        except Exception as exc:  # Twilio's refusals, timeouts, anything: recorded, never lost
            error = exc
        status = _record(line, item, sid=sid, error=error)
        if error is not None:
            log.warning("text %s not delivered (%s): %s", item.id, _describe(error), status)
        counts[status] = counts.get(status, 0) + 1
    return counts
