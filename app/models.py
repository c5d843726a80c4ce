"""The line's records. Instants are UTC (`UTCDateTime`); phone numbers are E.164."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    column,
    false,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from ivr.codes import MISSED

PHONE = String(20)


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class Therapist(Base):
    __tablename__ = "therapists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(PHONE, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Vacations and time in session: no coaching calls ring before this instant.
    away_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # They texted STOP to the line: Twilio refuses every text to them until they text START,
    # so what would be texted to them goes to the one on call (`ivr.ringing.textable`).
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The PIN that opens their phone menu and confirms care changes by text (caller ID can be
    # faked): an argon2 hash; five wrong PINs lock it for a while.
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The secret in this therapist's calendar-feed URL.
    ical_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hours: Mapped[list[CoachingHours]] = relationship(
        back_populates="therapist", cascade="all, delete-orphan", order_by="CoachingHours.weekday"
    )


class CoachingHours(Base):
    """A weekly window in the practice's time zone; `end` before `start` runs past midnight."""

    __tablename__ = "coaching_hours"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapists.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(SmallInteger)  # Monday = 0
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)

    therapist: Mapped[Therapist] = relationship(back_populates="hours")


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(PHONE, unique=True)
    # A short code for texts when first names collide ("LOCK RT2 9:30pm").
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    # Adolescent programs often waive the 24-hour rule.
    lockout_rule_applies: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last skill offered, so that the next one differs.
    last_skill: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The diary card by text (`app.diary`): on for this client, and the practice-local time of
    # day its daily prompt comes (None: no prompt; "diary" still starts one).
    diary_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    diary_prompt_time: Mapped[time | None] = mapped_column(Time)

    therapist: Mapped[Therapist] = relationship()


class Lockout(Base):
    """A recorded self-harm event: the 24-hour rule runs from `starts_at` to `ends_at`."""

    __tablename__ = "lockouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_lockouts_client_ends", "client_id", "ends_at"),
    )


class OnCallShift(Base):
    __tablename__ = "on_call_shifts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_on_call_shifts_window", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    therapist: Mapped[Therapist] = relationship()


class Rotation(Base):
    """An on-call rotation: members take turns of `turn_days`, handing off at `handoff_time`
    (the practice's local time), the first turn starting on `starts_on`."""

    __tablename__ = "rotations"
    __table_args__ = (CheckConstraint("turn_days >= 1", name="turn_days_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    handoff_time: Mapped[time] = mapped_column(Time)
    turn_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ical_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[RotationMember]] = relationship(
        back_populates="rotation", cascade="all, delete-orphan", order_by="RotationMember.position"
    )


class RotationMember(Base):
    __tablename__ = "rotation_members"
    __table_args__ = (UniqueConstraint("rotation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id", ondelete="CASCADE"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)

    rotation: Mapped[Rotation] = relationship(back_populates="members")
    therapist: Mapped[Therapist] = relationship()


class OnCallOverride(Base):
    """A one-off swap: this therapist is on call instead of the rotation for the period."""

    __tablename__ = "on_call_overrides"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_on_call_overrides_window", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    therapist: Mapped[Therapist] = relationship()


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


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(12))  # admin | therapist
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    # Dashboard login: an argon2 hash; repeated failures lock the login for a while.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    login_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A disabled user can't sign in; their sessions and tokens end when this is set.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP two-factor: the base32 secret, in use once confirmed with a first code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class UserSession(Base):
    """A dashboard session, kept on the server: the cookie holds only an opaque id, kept
    here as its SHA-256. Ended by logout, expiry, or disabling the user."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # What the dashboard keeps between requests (the CSRF token, flash messages).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Signed in with the password, and (when the user has TOTP) with a code too.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code, kept as its SHA-256."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An API token, kept only as its SHA-256: the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


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


class PracticeSkill(Base):
    """A skill the practice added to the built-in library."""

    __tablename__ = "practice_skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    module: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PracticeSetting(Base):
    """A setting the practice changed from the dashboard; it wins over the environment's."""

    __tablename__ = "practice_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(254))


class DiaryEntry(Base):
    """A client's diary card for one practice-local day, answered by text (`ivr.diary`).
    Every answer is nullable: a question not answered yet, or never (missing days and
    skipped questions are fine)."""

    __tablename__ = "diary_entries"
    __table_args__ = (UniqueConstraint("client_id", "day", name="uq_diary_client_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    urge_self_harm: Mapped[int | None] = mapped_column(SmallInteger)
    urge_suicide: Mapped[int | None] = mapped_column(SmallInteger)
    urge_use: Mapped[int | None] = mapped_column(SmallInteger)
    acted_self_harm: Mapped[bool | None] = mapped_column(Boolean)
    acted_suicide: Mapped[bool | None] = mapped_column(Boolean)
    acted_use: Mapped[bool | None] = mapped_column(Boolean)
    misery: Mapped[int | None] = mapped_column(SmallInteger)
    shame: Mapped[int | None] = mapped_column(SmallInteger)
    anger: Mapped[int | None] = mapped_column(SmallInteger)
    fear: Mapped[int | None] = mapped_column(SmallInteger)
    joy: Mapped[int | None] = mapped_column(SmallInteger)
    skills: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)
    # The card's place in the conversation: the question waiting for an answer (an
    # ivr.diary field name; None: the card is not waiting) and when it was asked.
    next_question: Mapped[str | None] = mapped_column(String(20))
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The daily prompt for this day was queued (once a day), and the card raised its
    # attention item (once a card).
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CoachingNote(Base):
    """A therapist's short note after a bridged call (`app.coaching_notes`): the skills
    coached (skill keys from the library), the plan and any follow-up. Read on the
    dashboard only: a note never travels by text."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    plan: Mapped[str] = mapped_column(Text)
    follow_up: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
