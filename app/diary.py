"""The diary card by text: a client's card loaded for the text flow and saved from it, and
the daily prompt from the worker's pass (`ivr.diary` holds the rules).

The card's place in the conversation lives in its row (`DiaryEntry.next_question`,
`asked_at`), so a card survives a restart and any instance can take the next answer.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import audit
from app.db import insert_once
from app.domain import Invalid
from app.errors import describe
from app.line import Line
from app.models import Client, DiaryEntry
from app.notify import queue_text
from ivr import diary, diary_words
from ivr.codes import MessageKind
from ivr.language import parse_language
from ivr.scripts import speaking

log = logging.getLogger("coachline.diary")

# A prompt the worker could not send within this long after its time (it was down) is
# skipped for the day: a prompt at midnight for a 7 PM card would only wake someone.
PROMPT_LATE = timedelta(hours=2)
ANSWERS = diary_words.FIELDS


SETTINGS = ("diary_opt_in", "diary_prompt_time")
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::[0-5][0-9])?$")  # seconds ignored


def parse_prompt_time(text: str) -> time | None:
    """A prompt time as a form sends it ("20:30"); empty: no daily prompt."""
    text = text.strip()
    if not text:
        return None
    match = _CLOCK.fullmatch(text)
    if not match:
        raise Invalid("the diary prompt time must be a time of day, like 20:30")
    return time(int(match[1]), int(match[2]))


def _clock(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def set_diary(
    session: Session, actor: str, now: datetime, client: Client, changes: dict[str, Any]
) -> None:
    """Turn the diary card on or off for a client, or change their prompt time (a key left
    out stays as it is; a prompt time of None means no daily prompt), with an audit entry."""
    done: dict[str, dict[str, Any]] = {}
    if "diary_opt_in" in changes and changes["diary_opt_in"] != client.diary_opt_in:
        done["diary_opt_in"] = {"from": client.diary_opt_in, "to": changes["diary_opt_in"]}
        client.diary_opt_in = bool(changes["diary_opt_in"])
    if "diary_prompt_time" in changes and changes["diary_prompt_time"] != client.diary_prompt_time:
        at = changes["diary_prompt_time"]
        done["diary_prompt_time"] = {"from": _clock(client.diary_prompt_time), "to": _clock(at)}
        client.diary_prompt_time = at
    if done:
        session.flush()
        audit(session, actor, "update", "client", client.id, changes=done, at=now)


def latest_entry(session: Session, client_id: int) -> DiaryEntry | None:
    """The client's most recent card by day (today's, or an earlier one still open)."""
    return session.scalar(
        select(DiaryEntry)
        .where(DiaryEntry.client_id == client_id)
        .order_by(DiaryEntry.day.desc())
        .limit(1)
    )


def as_card(entry: DiaryEntry | None) -> diary.Card | None:
    if entry is None:
        return None
    return diary.Card(
        day=entry.day,
        answers={name: getattr(entry, name) for name in ANSWERS},
        next_question=entry.next_question,
        asked_at=entry.asked_at,
        alerted=entry.alerted_at is not None,
        completed=entry.completed_at is not None,
        started=entry.started_at is not None,
    )


def opted_in(session: Session, client_id: int) -> bool:
    return bool(session.scalar(select(Client.diary_opt_in).where(Client.id == client_id)))


def save_card(
    session: Session, client_id: int, card: diary.Card, now: datetime, loaded: DiaryEntry | None
) -> DiaryEntry:
    """Write the card the text flow decided on: its answers and where it is."""
    entry = loaded if loaded is not None and loaded.day == card.day else None
    if entry is None:
        entry = session.scalar(
            select(DiaryEntry).where(DiaryEntry.client_id == client_id, DiaryEntry.day == card.day)
        )
    if entry is None:
        entry = DiaryEntry(client_id=client_id, day=card.day, updated_at=now)
        session.add(entry)
    for name in ANSWERS:
        setattr(entry, name, card.value(name))
    entry.next_question, entry.asked_at = card.next_question, card.asked_at
    if card.started and entry.started_at is None:
        entry.started_at = now
    if card.completed and entry.completed_at is None:
        entry.completed_at = now
    if card.alerted and entry.alerted_at is None:
        entry.alerted_at = now
    entry.updated_at = now
    return entry


def prompt_due(session: Session, line: Line, now: datetime) -> int:
    """Queue today's prompt for each client whose time has come: opted in to the card, not
    opted out of texts, once a practice-local day (claimed on the day's row, so two workers
    never both send it), and not when they already started today's card. How many."""
    practice = line.practice(session)
    today = diary.diary_day(now, practice.tz)
    clients = session.execute(
        select(Client.id, Client.phone, Client.diary_prompt_time, Client.language).where(
            Client.diary_opt_in.is_(True),
            Client.diary_prompt_time.is_not(None),
            Client.sms_opted_out.is_(False),
        )
    ).all()
    queued = 0
    for client_id, phone, at, language in clients:
        if not diary.prompt_due(at, now, practice.tz, PROMPT_LATE):
            continue
        values = {"client_id": client_id, "day": today, "updated_at": now}
        insert_once(session, DiaryEntry.__table__, ("client_id", "day"), values)
        claimed = session.execute(
            update(DiaryEntry)
            .where(
                DiaryEntry.client_id == client_id,
                DiaryEntry.day == today,
                DiaryEntry.prompted_at.is_(None),
                DiaryEntry.started_at.is_(None),
            )
            .values(prompted_at=now),
            execution_options={"synchronize_session": False},
        ).rowcount
        if claimed:
            queue_text(
                session,
                line,
                to_phone=phone,
                # In the client's language, when the line offers it.
                body=diary.prompt_text(speaking(practice, parse_language(language))),
                kind=MessageKind.PROMPT,
                client_id=client_id,
            )
            queued += 1
    return queued


def prompt_pass(line: Line) -> int:
    """The worker's pass: the day's prompts that are due, in one transaction."""
    try:
        with line.sessions() as session, session.begin():
            return prompt_due(session, line, line.now())
    except Exception as exc:
        log.error("diary prompt pass failed: %s", describe(exc))
        return 0


# ---- exports for the clinical record ------------------------------------------------------------

EXPORT_DAYS = 28  # with no dates given: the last four weeks, today included
EXPORT_MAX_DAYS = 366
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _day(text: str | None, name: str) -> date | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"'{name}' must be a date written as YYYY-MM-DD, e.g. 2026-11-27") from None


def export_span(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The practice-local days an export covers, both included: `start` and `end` as given
    (YYYY-MM-DD), else the four weeks up to today (or from `start`)."""
    first, last = _day(start, "from"), _day(end, "to")
    if last is None:
        last = today if first is None else first + timedelta(days=EXPORT_DAYS - 1)
    if first is None:
        first = last - timedelta(days=EXPORT_DAYS - 1)
    if first > last:
        raise Invalid("'from' must be on or before 'to'")
    if (last - first).days >= EXPORT_MAX_DAYS:
        raise Invalid(f"an export covers at most {EXPORT_MAX_DAYS} days: choose a shorter span")
    return first, last


def entries_between(session: Session, client_id: int, first: date, last: date) -> list[DiaryEntry]:
    """The client's cards for these days, oldest first: those they started (a day that was
    only prompted has nothing to export)."""
    return list(
        session.scalars(
            select(DiaryEntry)
            .where(
                DiaryEntry.client_id == client_id,
                DiaryEntry.day >= first,
                DiaryEntry.day <= last,
                DiaryEntry.started_at.is_not(None),
            )
            .order_by(DiaryEntry.day)
        )
    )
