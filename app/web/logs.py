"""Logs (calls and texts, newest first, filtered and a page at a time) and the audit log (admin).

A therapist's logs hold their own clients' calls and texts, and the texts to or from them.
Phone numbers are never shown here: a person is named, or "unknown number". A client who is
not the therapist's own (a text to them as the one on call) is named by first name, without a
link, as on Today.

Each column means one thing: "Client's therapist" is the therapist the client is assigned to;
"Rang" is the therapist the line rang for that call (the one who answered, when one did).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from sqlalchemy import select

from app.models import AuditEntry, Call, Client, Message, Therapist
from app.web import audit_words
from app.web.log_filters import LogFilters, call_conditions, message_conditions, read_filters
from app.web.pages import AdminPageDep, Page, PageDep
from app.web.paging import PAGE_SIZE, page_of, query_string
from app.web.words import KINDS, OUTCOMES, ROUTES, message_status, why_not_sent
from ivr.codes import Route
from ivr.scripts import first_name

router = APIRouter(include_in_schema=False)

# 20 rows a page: on a 390 px phone a page of texts is about 3,000 px (50 were about 7,000),
# and a desktop page stays one or two screens.
LOG_PAGE_SIZE = 20


@dataclass(frozen=True)
class Person:
    name: str
    href: str | None = None
    unknown: bool = False


UNKNOWN = Person("unknown number", unknown=True)
THE_LINE = Person("the line")


@dataclass(frozen=True)
class CallRow:
    started_at: datetime
    client: Person | None
    clients_therapist: str | None
    call: str
    outcome: str
    rang: str | None
    length: str
    returned_at: datetime | None
    caller_id_check: str | None


@dataclass(frozen=True)
class TextRow:
    created_at: datetime
    sender: Person
    recipient: Person
    kind: str
    about: Person | None
    body: str
    status: str
    why: str | None
    attempts: int


class _Names:
    """The people a page of rows names, loaded once."""

    def __init__(self, ctx: Page, client_ids: set[int]) -> None:
        self.ctx = ctx
        self.therapists = dict(ctx.db.execute(select(Therapist.id, Therapist.name)).all())
        rows = ctx.db.execute(
            select(Client.id, Client.name, Client.therapist_id).where(
                Client.id.in_(sorted(client_ids))
            )
        ).all()
        self.clients = {cid: (name, therapist_id) for cid, name, therapist_id in rows}

    def client(self, client_id: int | None) -> Person:
        if client_id is None or client_id not in self.clients:
            return UNKNOWN
        name, therapist_id = self.clients[client_id]
        if self.ctx.is_admin or therapist_id == self.ctx.therapist_id:
            return Person(name, f"/clients/{client_id}")
        return Person(first_name(name))

    def therapist(self, therapist_id: int | None) -> str | None:
        return self.therapists.get(therapist_id) if therapist_id is not None else None

    def clients_therapist(self, client_id: int | None) -> str | None:
        found = self.clients.get(client_id) if client_id is not None else None
        return self.therapist(found[1]) if found else None


def call_rows(ctx: Page, calls: list[Call]) -> list[CallRow]:
    names = _Names(ctx, {c.client_id for c in calls if c.client_id})
    rows = []
    for c in calls:
        by_therapist = c.route == Route.THERAPIST
        call = ROUTES.get(c.route, c.route)
        if by_therapist and names.therapist(c.therapist_id):
            call = f"{call}: {names.therapist(c.therapist_id)}"
        rows.append(
            CallRow(
                started_at=c.started_at,
                client=names.client(c.client_id) if c.client_id or not by_therapist else None,
                clients_therapist=names.clients_therapist(c.client_id),
                call=call,
                outcome=OUTCOMES.get(c.outcome, c.outcome)
                + ("; put through to 988" if c.lifeline_at else ""),
                rang=None if by_therapist else names.therapist(c.therapist_id),
                length=ctx.fmt.seconds(c.duration_seconds),
                returned_at=c.returned_at,
                caller_id_check=c.stir_verstat,
            )
        )
    return rows


def text_rows(ctx: Page, messages: list[Message]) -> list[TextRow]:
    names = _Names(ctx, {m.client_id for m in messages if m.client_id})
    rows = []
    for m in messages:
        therapist = names.therapist(m.therapist_id)
        if m.therapist_id is not None:
            person = Person(therapist or "a therapist no longer listed")
        elif m.client_id is not None:
            person = names.client(m.client_id)
        else:
            person = UNKNOWN
        # A text to a therapist about a client (an alert) names the client it is about.
        about = names.client(m.client_id) if m.therapist_id and m.client_id else None
        inbound = m.direction == "inbound"
        rows.append(
            TextRow(
                created_at=m.created_at,
                sender=person if inbound else THE_LINE,
                recipient=THE_LINE if inbound else person,
                kind=KINDS.get(m.kind, m.kind),
                about=about,
                body=m.body,
                status=message_status(m.direction, m.status),
                why=why_not_sent(m.last_error) if m.status in ("failed", "not_sent") else None,
                attempts=m.attempts,
            )
        )
    return rows


def filter_lists(ctx: Page) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The clients (a therapist: their own) and therapists the filters offer, by name."""
    clients = select(Client.id, Client.name).order_by(Client.name, Client.id)
    if not ctx.is_admin:
        clients = clients.where(Client.therapist_id == ctx.therapist_id)
    therapists = select(Therapist.id, Therapist.name).order_by(Therapist.name, Therapist.id)
    return (
        [tuple(r) for r in ctx.db.execute(clients).all()],
        [tuple(r) for r in ctx.db.execute(therapists).all()],
    )


@router.get("/logs")
def logs(ctx: PageDep, request: Request, show: str = "calls", page: str = "1"):
    show = "messages" if show == "messages" else "calls"
    filters: LogFilters = read_filters(ctx, show, dict(request.query_params))
    if show == "calls":
        stmt = select(Call).where(*call_conditions(ctx, filters))
        order = (Call.started_at.desc(), Call.id.desc())
    else:
        stmt = select(Message).where(*message_conditions(ctx, filters))
        order = (Message.created_at.desc(), Message.id.desc())
    found, pager = page_of(ctx.db, stmt, page, LOG_PAGE_SIZE, "/logs", filters.params(), *order)
    clients, therapists = filter_lists(ctx)
    return ctx.render(
        "logs.html",
        show=show,
        filters=filters,
        rows=call_rows(ctx, found) if show == "calls" else text_rows(ctx, found),
        pager=pager,
        client_choices=clients,
        therapist_choices=therapists,
        tab_query={
            tab: query_string({**filters.params(with_outcome=False), "show": tab})
            for tab in ("calls", "messages")
        },
    )


@router.get("/audit")
def audit_page(ctx: AdminPageDep, page: str = "1"):
    rows, pager = page_of(
        ctx.db,
        select(AuditEntry),
        page,
        PAGE_SIZE,
        "/audit",
        {},
        AuditEntry.at.desc(),
        AuditEntry.id.desc(),
    )
    return ctx.render("audit.html", rows=audit_words.describe(ctx.db, ctx.fmt, rows), pager=pager)
