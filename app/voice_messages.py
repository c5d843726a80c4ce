"""Voice messages: what a caller leaves at the wait script's `<Record>` (safety invariant 7).

- Saved from Twilio's Record action: its RecordingSid, RecordingDuration (seconds) and
  RecordingUrl on the call, and raised as an attention item whose text tells the therapist a
  message was left. A SID not of Twilio's shape ("RE" and 32 hex digits) is no message: we
  could never fetch or delete it. Nor is one of 0 seconds (nothing said).
- Played on the dashboard through the service (`app.web.voice_messages`): fetched from the
  URL built here from the stored SID and the account's settings, never from the URL Twilio
  posted (a forged value would make us fetch anything), with the account's credentials.
- Deleted from Twilio by retention's purge (`delete_at_twilio`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException

from app import attention, oncall
from app.callers import enrolled_by_id
from app.line import Line
from app.models import Call
from app.notify import twilio_client
from app.settings import Settings
from ivr.attention import Notice, alert_body
from ivr.codes import AttentionKind
from ivr.ringing import notice_recipient
from ivr.scripts import first_name

RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class VoiceMessage:
    sid: str
    seconds: int | None  # None: Twilio did not say how long
    url: str | None


def from_record_action(sid: str, duration: str, url: str) -> VoiceMessage | None:
    """The message a Record action reports, or None when there is none."""
    if not RECORDING_SID.fullmatch(sid):
        return None
    seconds = int(duration) if duration.isdigit() and len(duration) <= 6 else None
    if seconds == 0:
        return None
    return VoiceMessage(sid, seconds, url if url.startswith("https://") else None)


def save(
    session: Session, line: Line, now: datetime, tz: tzinfo, call: Call, message: VoiceMessage
) -> bool:
    """Keep the message on its call and raise its attention item, with the therapist's text,
    in this transaction; once per call (a retried Record action raises nothing twice). `tz`
    is the practice's, for who is on call. True when the item is new."""
    call.recording_sid = message.sid
    call.voice_message_seconds = message.seconds
    call.recording_url = message.url
    client = enrolled_by_id(session, call.client_id, now) if call.client_id else None
    if client is None:
        # No longer enrolled (or no client at all): the item is an admin's to see.
        return attention.raise_item(
            session,
            line,
            now,
            AttentionKind.VOICE_MESSAGE,
            client_id=call.client_id,
            responsible_id=None,
            notice=None,
            call_id=call.id,
        )
    caller = client.caller
    on_call = oncall.on_call_now(session, now, tz)
    recipient = notice_recipient(caller, on_call, now)
    notice = (
        Notice(
            recipient.id,
            recipient.phone,
            alert_body(AttentionKind.VOICE_MESSAGE, first_name(caller.name)),
        )
        if recipient
        else None
    )
    return attention.raise_item(
        session,
        line,
        now,
        AttentionKind.VOICE_MESSAGE,
        client_id=caller.client_id,
        responsible_id=caller.primary.id,
        notice=notice,
        call_id=call.id,
    )


def media_url(settings: Settings, sid: str) -> str:
    """Where Twilio serves a recording's audio, built from our own settings and a SID we
    checked when it was saved (and check again: the column could hold anything)."""
    if not RECORDING_SID.fullmatch(sid):
        raise ValueError("not a recording SID")
    base = settings.twilio_api_base_url.rstrip("/")
    return f"{base}/{API_VERSION}/Accounts/{settings.twilio_account_sid}/Recordings/{sid}.mp3"


def delete_at_twilio(line: Line, sid: str) -> None:
    """Delete a recording from Twilio. A 404 means it is gone already (an earlier purge, or
    deleted by hand), and counts as done; so does a SID not of Twilio's shape, which names
    nothing there. Anything else raises."""
    if not RECORDING_SID.fullmatch(sid):
        return
    try:
        twilio_client(line).recordings(sid).delete()
    except TwilioRestException as exc:
        if exc.status != 404:
            raise
