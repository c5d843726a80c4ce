"""What passed between the line and people: calls, texts, the therapist confirmations a
text waits for, the attention items they raise, check-ins and successes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    column,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.models.common import PHONE
from ivr.codes import MISSED

if TYPE_CHECKING:  # relationships resolve by name at runtime
    from app.models.people import Client


class PendingConfirmation(Base):
    """A therapist's text command waiting for YES (e.g. starting the 24-hour rule)."""

    __tablename__ = "pending_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))  # lockout
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _unreturned_missed(outcome: Any, returned_at: Any) -> ColumnElement[bool]:
    """A missed call nobody has returned yet (`UNRETURNED_MISSED`). The outcomes are literals
    in the SQL, as in the index: a bound parameter would keep SQLite from seeing that the
    index applies."""
    missed = [literal_column(f"'{outcome_}'") for outcome_ in MISSED]
    return and_(returned_at.is_(None), outcome.in_(missed))


_UNRETURNED = _unreturned_missed(column("outcome"), column("returned_at"))


class Call(Base):
    """One call through the line, keyed by Twilio's CallSid: a client's call in, or a
    therapist's (route "therapist") calling back through the line."""

    __tablename__ = "calls"
    __table_args__ = (
        # The calls of a time (the call log, retention), and of a client (their page; a
        # client's few calls sort fast): ix_calls_client_outcome_started leads with client_id.
        Index("ix_calls_started_at", "started_at"),
        # Missed calls waiting for a call-back, by age (`UNRETURNED_MISSED`).
        Index(
            "ix_calls_unreturned",
            "started_at",
            sqlite_where=_UNRETURNED,
            postgresql_where=_UNRETURNED,
        ),
        # "Is a therapist calling this client back?", asked on every incoming call and text:
        # straight to those rows, however many calls the client made.
        Index("ix_calls_client_outcome_started", "client_id", "outcome", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    # an ivr.codes.Route
    route: Mapped[str] = mapped_column(String(32))
    # an ivr.codes.Outcome
    outcome: Mapped[str] = mapped_column(String(32))
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    # Who accepted on screening (pressed 1): our own record, beside Twilio's DialBridged.
    accepted_therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    twilio_status: Mapped[str | None] = mapped_column(String(20))
    # A missed call is returned when a therapist calls the client back through the line,
    # and escalated once to the on-call therapist when nobody has within the window.
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A voice message the caller left (Twilio's Record action): fetched through the service
    # with the account's credentials, never by a public link, and deleted from Twilio by
    # retention's purge.
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    voice_message_seconds: Mapped[int | None] = mapped_column(Integer)
    # A therapist's call-back (route "therapist"): when its Dial to the client began, and
    # who answered the client's leg by Twilio's answering-machine detection (`AnsweredBy`:
    # human, machine_start, fax, unknown...). Only a person reached returns a missed call.
    call_back_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(24))
    # Twilio's caller-ID verification (SHAKEN/STIR `StirVerstat`), kept and shown; never proof.
    stir_verstat: Mapped[str | None] = mapped_column(String(40))
    # When the caller pressed 1 to be put through to the 988 Lifeline.
    lifeline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    client: Mapped[Client | None] = relationship()


# A missed call nobody has returned yet: what the therapists' phone menu, the dashboard and
# escalation look for, and exactly the rows of the partial index ix_calls_unreturned, which
# the incoming call's INSERT (a ringing call, on every call) never writes to.
UNRETURNED_MISSED = _unreturned_missed(Call.outcome, Call.returned_at)


class Message(Base):
    """A text in or out, including notifications to therapists (delivered by the worker)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_created_at", "created_at"),
        Index("ix_messages_delivery", "status", "next_attempt_at"),
        # A therapist's texts by time: the daily success text's "sent today?" and the
        # therapist_id foreign key.
        Index("ix_messages_therapist_created", "therapist_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    # an ivr.codes.MessageKind
    kind: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    # The inbound text this one answers, so a retried webhook gets the same reply.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    from_phone: Mapped[str | None] = mapped_column(PHONE)
    to_phone: Mapped[str | None] = mapped_column(PHONE)
    body: Mapped[str] = mapped_column(Text)
    # received | replied | queued | sending | sent | failed | not_sent
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AttentionItem(Base):
    """Something that needs a person: a missed call not yet returned, a voice message, a
    crisis-language text, a high urge, a plea for contact, a therapist the line cannot text.
    Open until someone acknowledges it (a missed call: by returning it)."""

    __tablename__ = "attention_items"
    __table_args__ = (
        # One item per kind and call, and per kind and text: a retried webhook adds none.
        UniqueConstraint("kind", "call_id", name="uq_attention_kind_call"),
        UniqueConstraint("kind", "message_id", name="uq_attention_kind_message"),
        # The open items, newest first (the Today page, escalation).
        Index("ix_attention_open", "acknowledged_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # an ivr.codes.AttentionKind
    kind: Mapped[str] = mapped_column(String(24))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    # Who it is for: the therapist responsible (for "therapist_unreachable", the therapist
    # the line cannot text).
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL"), index=True
    )
    # Who was texted of it first (None: nobody could be).
    alerted_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id", ondelete="SET NULL"))
    # What it came from: the call (a missed call, a voice message) or the client's text.
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    acknowledge_note: Mapped[str | None] = mapped_column(Text)
    # Escalation: how many times it went further (1: the one on call, 2: the practice's
    # admin phone), and when it last did.
    escalations: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )

    client: Mapped[Client | None] = relationship()


class CheckIn(Base):
    """A short diary-card check-in by text: asked, and perhaps answered, before it expires."""

    __tablename__ = "check_ins"
    __table_args__ = (
        # "The client's open check-in", asked on every incoming text: straight to it, however
        # many check-ins the client has answered (it walked all of them, 0.3 ms at 300).
        Index("ix_check_ins_client_open", "client_id", "answered_at", "asked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    urge_rating: Mapped[int | None] = mapped_column(SmallInteger)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Success(Base):
    """A success a client reported by text, for the therapist to read."""

    __tablename__ = "successes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
