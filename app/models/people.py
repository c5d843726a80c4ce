"""The practice's people: therapists (with their coaching hours) and clients, and the
lockouts of the 24-hour rule."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.models.common import PHONE, new_secret


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
    # "en" or "es" (`ivr.language`): what the line speaks and texts to this client, when the
    # practice offers it.
    language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")

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
