"""Coaching notes: a therapist's short structured note after a bridged call (the skills
coached, the plan, any follow-up), written and read on the dashboard only. A note is
clinical: it is never queued as a text, and nothing here touches `messages`.

Who may write one: an admin, the client's own therapist, or the therapist who took the call
(on call for someone else's client). Who may read them: whoever may see the client's page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import audit
from app.domain import Invalid, NotFound, clean_text, found
from app.models import Call, Client, CoachingNote
from ivr.skills import Skill

PLAN_MAX = 500  # a short plan; the clinical record lives elsewhere
FOLLOW_UP_MAX = 500
SKILLS_MAX = 12


@dataclass(frozen=True)
class Author:
    """Who is writing: `therapist_id` is None for an admin without a therapist record."""

    is_admin: bool
    therapist_id: int | None


def is_bridged(call: Call) -> bool:
    """A call a therapist accepted on screening: the only calls a note is for."""
    return call.accepted_therapist_id is not None and call.client_id is not None


def may_write(call: Call, client: Client, author: Author) -> bool:
    if author.is_admin:
        return True
    return author.therapist_id is not None and author.therapist_id in (
        client.therapist_id,
        call.accepted_therapist_id,
    )


def _skill_keys(chosen: Iterable[str], library: Sequence[Skill]) -> list[str]:
    known = {s.key for s in library}
    keys: list[str] = []
    for key in chosen:
        if key not in known:
            raise Invalid("choose the skills from the list")
        if key not in keys:
            keys.append(key)
    if len(keys) > SKILLS_MAX:
        raise Invalid(f"choose at most {SKILLS_MAX} skills")
    return keys


def note_for_call(session: Session, call_id: int) -> CoachingNote | None:
    return session.scalar(select(CoachingNote).where(CoachingNote.call_id == call_id))


def save_note(
    session: Session,
    actor: str,
    now: datetime,
    call_id: int,
    *,
    author: Author,
    skills: Iterable[str],
    plan: str | None,
    follow_up: str | None,
    library: Sequence[Skill],
) -> CoachingNote:
    """Write the call's note, or change it. The caller commits."""
    call = found(session, Call, call_id, "call")
    if not is_bridged(call):
        raise Invalid("a coaching note is for a call a therapist took")
    client = found(session, Client, call.client_id, "client")
    if not may_write(call, client, author):
        raise NotFound(f"call {call_id} not found")
    values = {
        "skills": _skill_keys(skills, library),
        "plan": clean_text(plan, "the plan", required=True, limit=PLAN_MAX),
        "follow_up": clean_text(follow_up, "the follow-up", limit=FOLLOW_UP_MAX),
    }
    note = note_for_call(session, call.id)
    if note is None:
        note = CoachingNote(
            call_id=call.id,
            client_id=client.id,
            therapist_id=call.accepted_therapist_id,
            created_at=now,
            created_by=actor,
            updated_at=now,
            **values,
        )
        session.add(note)
        session.flush()
        action = "create"
    else:
        changed = [k for k, v in values.items() if getattr(note, k) != v]
        for key in changed:
            setattr(note, key, values[key])
        if not changed:
            return note
        note.updated_at = now
        action = "update"
    # The audit log says which parts were written and the skills, not the plan's words.
    written = changed if action == "update" else [k for k, v in values.items() if v]
    audit(
        session,
        actor,
        action,
        "coaching_note",
        note.id,
        changes={"call_id": call.id, "skills": note.skills, "fields": written},
        at=now,
    )
    return note


def notes_for_client(
    session: Session,
    client_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[CoachingNote]:
    """The client's notes, newest call first; `since`/`until` bound the call's start."""
    stmt = (
        select(CoachingNote)
        .join(Call, Call.id == CoachingNote.call_id)
        .where(CoachingNote.client_id == client_id)
    )
    if since is not None:
        stmt = stmt.where(Call.started_at >= since)
    if until is not None:
        stmt = stmt.where(Call.started_at < until)
    return list(session.scalars(stmt.order_by(Call.started_at.desc(), CoachingNote.id.desc())))


def skill_names(keys: Iterable[str], library: Sequence[Skill]) -> list[str]:
    """The skills' names as the library has them now (a key since removed reads as itself)."""
    by_key = {s.key: s.name for s in library}
    return [by_key.get(key, key) for key in keys]
