"""Coaching notes on the dashboard: the form for a bridged call's note (write or change it),
and `coaching_notes_for`, the client page's list (a template global, read in the page's own
session as the navigation's badge is). Notes are shown, never texted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app import coaching_notes
from app.callers import all_skills
from app.coaching_notes import Author
from app.domain import DomainError
from app.models import Call, Client, CoachingNote, Therapist
from app.web.errors import not_found
from app.web.forms import Form, field_text
from app.web.pages import Page, PageDep
from app.web.paging import row_or_404
from app.web.render import templates
from ivr.skills import MODULES, Skill

router = APIRouter(include_in_schema=False)

MODULE_NAMES = {
    "mindfulness": "Mindfulness",
    "distress_tolerance": "Distress tolerance",
    "emotion_regulation": "Emotion regulation",
    "interpersonal_effectiveness": "Interpersonal effectiveness",
}


@dataclass(frozen=True)
class NoteRow:
    note: CoachingNote
    call_started_at: datetime
    skill_names: list[str]
    therapist_name: str


@dataclass
class ClientNotes:
    rows: list[NoteRow] = field(default_factory=list)
    by_call: dict[int, CoachingNote] = field(default_factory=dict)


def note_rows(
    session: Session, client_id: int, since: datetime | None = None, until: datetime | None = None
) -> list[NoteRow]:
    notes = coaching_notes.notes_for_client(session, client_id, since=since, until=until)
    if not notes:
        return []
    library = all_skills(session)
    started = dict(
        session.execute(
            select(Call.id, Call.started_at).where(Call.id.in_([n.call_id for n in notes]))
        ).all()
    )
    names = dict(session.execute(select(Therapist.id, Therapist.name)).all())
    return [
        NoteRow(
            note=n,
            call_started_at=started[n.call_id],
            skill_names=coaching_notes.skill_names(n.skills or [], library),
            therapist_name=names.get(n.therapist_id, "") if n.therapist_id else "",
        )
        for n in notes
    ]


def coaching_notes_for(client: Client) -> ClientNotes:
    """The client's notes, for the client page (the client was loaded by a page that checked
    it may be seen)."""
    session = object_session(client)
    if session is None:
        return ClientNotes()
    rows = note_rows(session, client.id)
    return ClientNotes(rows=rows, by_call={r.note.call_id: r.note for r in rows})


templates.env.globals["coaching_notes_for"] = coaching_notes_for


def _author(ctx: Page) -> Author:
    return Author(is_admin=ctx.is_admin, therapist_id=ctx.therapist_id)


def _writable_call(ctx: Page, call_id: str) -> tuple[Call, Client]:
    """A bridged call whose note the signed-in user may write; anything else is not found."""
    call = row_or_404(ctx.db, Call, call_id, "call")
    client = ctx.db.get(Client, call.client_id) if call.client_id is not None else None
    if client is None or not coaching_notes.may_write(call, client, _author(ctx)):
        raise not_found("call")
    if not coaching_notes.is_bridged(call):
        raise not_found("call with a therapist")
    return call, client


def _grouped(library: list[Skill]) -> list[tuple[str, list[Skill]]]:
    groups = [(MODULE_NAMES.get(m, m), [s for s in library if s.module == m]) for m in MODULES]
    return [(name, skills) for name, skills in groups if skills]


def _form(ctx: Page, call: Call, client: Client, values: dict, error: str | None, status=200):
    library = all_skills(ctx.db)
    taker = ctx.db.get(Therapist, call.accepted_therapist_id)
    return ctx.render(
        "coaching_note.html",
        status,
        call=call,
        client=client,
        taker_name=taker.name if taker else "",
        groups=_grouped(library),
        values=values,
        error=error,
        existing=coaching_notes.note_for_call(ctx.db, call.id),
        client_visible=ctx.is_admin or client.therapist_id == ctx.therapist_id,
        plan_max=coaching_notes.PLAN_MAX,
        follow_up_max=coaching_notes.FOLLOW_UP_MAX,
    )


@router.get("/calls/{call_id}/note")
def note_form(ctx: PageDep, call_id: str):
    call, client = _writable_call(ctx, call_id)
    note = coaching_notes.note_for_call(ctx.db, call.id)
    values = {
        "skills": list(note.skills or []) if note else [],
        "plan": note.plan if note else "",
        "follow_up": (note.follow_up or "") if note else "",
    }
    return _form(ctx, call, client, values, None)


@router.post("/calls/{call_id}/note")
def save_note(ctx: PageDep, form: Form, call_id: str):
    call, client = _writable_call(ctx, call_id)
    chosen = [k[:80] for k in form.getlist("skills") if isinstance(k, str)][:50]
    values = {
        "skills": chosen,
        "plan": field_text(form, "plan", 2000),
        "follow_up": field_text(form, "follow_up", 2000),
    }
    try:
        coaching_notes.save_note(
            ctx.db,
            ctx.actor,
            ctx.now,
            call.id,
            author=_author(ctx),
            skills=chosen,
            plan=values["plan"],
            follow_up=values["follow_up"],
            library=all_skills(ctx.db),
        )
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _form(ctx, call, client, values, exc.message, 422)
    ctx.flash("Coaching note saved.")
    if ctx.is_admin or client.therapist_id == ctx.therapist_id:
        return ctx.redirect(f"/clients/{client.id}#notes")
    return ctx.redirect(f"/calls/{call.id}/note")
