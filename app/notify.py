"""Outbound texts: written in the caller's transaction, delivered later through Twilio's REST API.

A text is a `Message` row in status `queued`. `deliver_due` claims due rows (a lease: the
row becomes `sending` with `next_attempt_at` in the future, so a worker that dies mid-send
leaves it to be claimed again once the lease runs out), sends each outside any transaction,
and records the result: `sent`, a retry with backoff for a 5xx, 429 or timeout, `failed`
for any other refusal. Error 21610 (the recipient texted STOP) marks that client or therapist
opted out.

Exactly once, across instances: claims use FOR UPDATE SKIP LOCKED (PostgreSQL), so two
workers never hold the same row; the lease is renewed just before each send, so a row waiting
in a long batch is not taken over while its worker is still on its way to it; and a row that
was tried before (its worker died mid-send, or the send timed out) may already be in Twilio,
so before sending again we look for it in Twilio's Messages list (`_already_sent`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from app.line import Line
from app.models import Client, Message, Therapist
from ivr.codes import MessageKind

log = logging.getLogger("coachline.notify")
# The twilio library logs each request at INFO, query included: the Messages list's To and
# From are phone numbers, which stay out of our logs at any log level (minimum necessary).
_twilio_http_log = logging.getLogger("coachline.notify.twilio_http")
_twilio_http_log.setLevel(logging.WARNING)

BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP = timedelta(minutes=15)
OPTED_OUT_ERROR = 21610


def queue_text(
    session: Session,
    line: Line,
    *,
    to_phone: str,
    body: str,
    kind: str = MessageKind.NOTIFICATION,
    therapist_id: int | None = None,
    client_id: int | None = None,
    call_id: int | None = None,
) -> Message:
    """Add an outbound text to the caller's transaction; the worker delivers it after commit.

    Without Twilio credentials (development) it is recorded as not sent, and so is anything
    to a client who opted out (nothing proactive ever reaches them) or a therapist who did
    (Twilio would refuse it: the flow texts the one on call instead).
    """
    configured = line.settings.twilio_configured
    opted_out = session.scalar(
        select(Client.id).where(Client.phone == to_phone, Client.sms_opted_out.is_(True))
    ) or session.scalar(
        select(Therapist.id).where(Therapist.phone == to_phone, Therapist.sms_opted_out.is_(True))
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
        http_client=TwilioHttpClient(
            timeout=settings.twilio_http_timeout_seconds, logger=_twilio_http_log
        ),
    )


@dataclass
class _Claimed:
    id: int
    to_phone: str
    from_phone: str
    body: str
    attempts: int  # counting this one
    created_at: datetime

    @property
    def in_doubt(self) -> bool:
        """Tried before: that attempt may have reached Twilio even though we never recorded
        it (its worker was killed while waiting for Twilio's answer, or the answer timed out)."""
        return self.attempts > 1


def _lease(line: Line) -> timedelta:
    return timedelta(seconds=line.settings.notification_lease_seconds)


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
            row.next_attempt_at = now + _lease(line)
        return [
            _Claimed(r.id, r.to_phone or "", r.from_phone or "", r.body, r.attempts, r.created_at)
            for r in rows
        ]


def _renew(line: Line, claimed: _Claimed) -> bool:
    """Extend our lease just before sending, so each send (not the whole batch) has a full
    lease. False when another worker took the row over after our lease ran out (its claim
    counted another attempt): then it is that worker's to send, not ours."""
    with line.sessions() as session, session.begin():
        renewed = session.execute(
            update(Message)
            .where(
                Message.id == claimed.id,
                Message.status == "sending",
                Message.attempts == claimed.attempts,
            )
            .values(next_attempt_at=line.now() + _lease(line))
        )
        return renewed.rowcount == 1


def _already_sent(line: Line, client: TwilioClient, claimed: _Claimed) -> str | None:
    """The SID of the message Twilio already has for this row, if an earlier attempt got there.

    Twilio's Messages list, filtered by To, From and DateSent>= (from the day before the row
    was queued, in case our clock and Twilio's disagree around midnight), has every text the
    line sent this number since. One with the same body whose SID no row of ours records is
    the earlier attempt's: Twilio accepted it, its worker died before recording it.

    Two missed calls from one client can queue two identical texts to one therapist: each
    row takes a different unrecorded SID (once recorded it is taken, and `twilio_sid` is
    unique), so two rows never count one message, and the second text is still sent.
    """
    since = (claimed.created_at - timedelta(days=1)).date().isoformat()
    listed = client.messages.list(
        to=claimed.to_phone, from_=claimed.from_phone, date_sent_after=since
    )
    sids = [m.sid for m in listed if m.body == claimed.body and m.sid]
    if not sids:
        return None
    with line.sessions() as session:
        taken = set(session.scalars(select(Message.twilio_sid).where(Message.twilio_sid.in_(sids))))
    # Twilio lists newest first; take the oldest free one.
    return next((sid for sid in reversed(sids) if sid not in taken), None)


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)), BACKOFF_CAP)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TwilioRestException):
        return exc.status >= 500 or exc.status == 429
    return True  # timeouts and connection errors


def _record(line: Line, claimed: _Claimed, *, sid: str | None, error: Exception | None) -> str:
    try:
        return _save(line, claimed, sid=sid, error=error)
    except IntegrityError:
        # The SID is already another row's: an in-doubt row with the same To and Body took
        # this message as its own while we were sending it (or took the same earlier message
        # we are adopting). Either way that row stands for this message; ours goes back to the
        # queue, due now, and its next attempt looks in Twilio again before sending.
        with line.sessions() as session, session.begin():
            session.execute(
                update(Message)
                .where(
                    Message.id == claimed.id,
                    Message.status == "sending",
                    Message.attempts == claimed.attempts,
                )
                .values(status="queued", next_attempt_at=line.now())
            )
        return "queued"


def _save(line: Line, claimed: _Claimed, *, sid: str | None, error: Exception | None) -> str:
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
                # The number replied STOP at some point: record it as such. For a therapist
                # the escalation pass raises the attention item and reroutes their alerts.
                for model in (Client, Therapist):
                    session.execute(
                        update(model)
                        .where(model.phone == message.to_phone)
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
        status = _deliver(line, client, item)
        counts[status] = counts.get(status, 0) + 1
    return counts


def _deliver(line: Line, client: TwilioClient, item: _Claimed) -> str:
    if not _renew(line, item):
        return "stale"
    if item.in_doubt:
        try:
            sid = _already_sent(line, client, item)
        except Exception as exc:
            # Decision: when Twilio cannot tell us, send anyway. A therapist who never hears
            # of a missed coaching call is worse off than one who gets the same text twice,
            # and credentials that may send but not read messages would otherwise keep every
            # retried text from going out.
            log.warning("text %s: no answer from Twilio's list (%s)", item.id, _describe(exc))
            sid = None
        if sid is not None:
            log.info("text %s was already accepted by Twilio; recorded, not sent again", item.id)
            return _record(line, item, sid=sid, error=None)
    sid, error = None, None
    try:
        sent = client.messages.create(to=item.to_phone, from_=item.from_phone, body=item.body)
        sid = sent.sid
    except Exception as exc:  # Twilio's refusals, timeouts, anything: recorded, never lost
        error = exc
    status = _record(line, item, sid=sid, error=error)
    if error is not None:
        log.warning("text %s not delivered (%s): %s", item.id, _describe(error), status)
    return status
