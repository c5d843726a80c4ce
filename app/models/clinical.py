"""The clinical record the line keeps: diary cards and coaching notes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


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
