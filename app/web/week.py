"""A client's week on one page, for the session (issue 25, item 2): a chart per diary-card
measure over the last 1 to 4 weeks, the calls, texts, check-ins and lockouts of each day
(practice-local days), and the coaching notes of those weeks; to print (week.css's print
rules) or as a PDF (`app.web.week_pdf`). Seen by whoever may see the client's page; both
the page and the PDF are audited as an export of clinical data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select

from app.audit import audit
from app.models import Call, CheckIn, Client, DiaryEntry, Lockout, Message
from app.web import words
from app.web.charts import Measure, line_chart
from app.web.clients import visible
from app.web.errors import WebError
from app.web.notes import NoteRow, note_rows
from app.web.pages import Page, PageDep
from ivr.codes import MessageKind
from ivr.diary import diary_day

router = APIRouter(include_in_schema=False)

MAX_WEEKS = 4
# The client's own texts and the line's to them (not the therapists' notifications about them).
CLIENT_TEXTS = (MessageKind.INBOUND, MessageKind.REPLY, MessageKind.PROMPT)
# (field, name, top of the scale, the field saying whether they acted on it)
MEASURES: tuple[tuple[str, str, int, str | None], ...] = (
    ("urge_self_harm", "Urge to self-harm", 5, "acted_self_harm"),
    ("urge_suicide", "Urge to end their life", 5, "acted_suicide"),
    ("urge_use", "Urge to use", 5, "acted_use"),
    ("misery", "Misery / sadness", 5, None),
    ("shame", "Shame", 5, None),
    ("anger", "Anger", 5, None),
    ("fear", "Fear", 5, None),
    ("joy", "Joy", 5, None),
    ("skills", "Skills used", 7, None),
)


def parse_weeks(raw: str | None) -> int:
    """1 to 4 weeks (1 when not given); anything else is explained, never guessed."""
    if raw is None or raw == "":
        return 1
    text = raw.strip()
    if not (text.isdigit() and len(text) <= 2 and 1 <= int(text) <= MAX_WEEKS):
        raise WebError(
            400,
            "Choose 1 to 4 weeks",
            f"The week page shows the last 1, 2, 3 or 4 weeks; “{raw[:20]}” is not one of "
            "those. Choose a number of weeks from the page.",
        )
    return int(text)


@dataclass
class Day:
    day: date
    entry: DiaryEntry | None = None
    calls: list[str] = field(default_factory=list)
    texts_in: int = 0
    texts_out: int = 0
    check_ins: list[str] = field(default_factory=list)
    lockouts: list[str] = field(default_factory=list)
    notes: int = 0


@dataclass
class Week:
    client: Client
    weeks: int
    days: list[Day]
    measures: list[Measure]
    notes: list[NoteRow]
    first: date
    last: date

    @property
    def dates(self) -> list[date]:
        return [d.day for d in self.days]

    @property
    def title(self) -> str:
        return f"{self.client.name}'s {'week' if self.weeks == 1 else f'{self.weeks} weeks'}"

    @property
    def span(self) -> str:
        first, last = self.first, self.last
        year = f", {first.year}" if first.year != last.year else ""
        return f"{first:%a %b} {first.day}{year} to {last:%a %b} {last.day}, {last.year}"


def _local_midnight(day: date, ctx: Page) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ctx.tz)


def _bucket(days: dict[date, Day], instant: datetime, ctx: Page) -> Day | None:
    return days.get(instant.astimezone(ctx.tz).date())


def gather(ctx: Page, client: Client, weeks: int) -> Week:
    """The client's last `weeks` weeks, ending today (the practice's day)."""
    last = diary_day(ctx.now, ctx.tz)
    first = last - timedelta(days=7 * weeks - 1)
    start, end = _local_midnight(first, ctx), _local_midnight(last + timedelta(days=1), ctx)
    days = {first + timedelta(days=i): Day(first + timedelta(days=i)) for i in range(7 * weeks)}
    db, fmt = ctx.db, ctx.fmt

    for entry in db.scalars(
        select(DiaryEntry).where(
            DiaryEntry.client_id == client.id, DiaryEntry.day >= first, DiaryEntry.day <= last
        )
    ):
        days[entry.day].entry = entry
    for call in db.scalars(
        select(Call)
        .where(Call.client_id == client.id, Call.started_at >= start, Call.started_at < end)
        .order_by(Call.started_at)
    ):
        bucket = _bucket(days, call.started_at, ctx)
        if bucket is not None:
            what = words.OUTCOMES.get(call.outcome, call.outcome)
            length = fmt.seconds(call.duration_seconds) if call.accepted_therapist_id else ""
            bucket.calls.append(
                f"{fmt.clock(call.started_at)} {what}{f' ({length})' if length else ''}"
            )
    for sent_at, direction in db.execute(
        select(Message.created_at, Message.direction).where(
            Message.client_id == client.id,
            Message.kind.in_(CLIENT_TEXTS),
            Message.created_at >= start,
            Message.created_at < end,
        )
    ):
        bucket = _bucket(days, sent_at, ctx)
        if bucket is not None:
            if direction == "inbound":
                bucket.texts_in += 1
            else:
                bucket.texts_out += 1
    for check_in in db.scalars(
        select(CheckIn)
        .where(CheckIn.client_id == client.id, CheckIn.asked_at >= start, CheckIn.asked_at < end)
        .order_by(CheckIn.asked_at)
    ):
        bucket = _bucket(days, check_in.asked_at, ctx)
        if bucket is not None:
            rating = check_in.urge_rating
            said = f"urge {rating}" if rating is not None else "no answer"
            bucket.check_ins.append(f"{fmt.clock(check_in.asked_at)} {said}")
    for lockout in db.scalars(
        select(Lockout)
        .where(Lockout.client_id == client.id, Lockout.starts_at < end, Lockout.ends_at > start)
        .order_by(Lockout.starts_at)
    ):
        _mark_lockout(days, lockout, ctx)

    notes = note_rows(db, client.id, since=start, until=end)
    for row in notes:
        bucket = _bucket(days, row.call_started_at, ctx)
        if bucket is not None:
            bucket.notes += 1
    ordered = [days[d] for d in sorted(days)]
    return Week(client, weeks, ordered, _measures(ordered), notes, first, last)


def _mark_lockout(days: dict[date, Day], lockout: Lockout, ctx: Page) -> None:
    """The event's day, each day the rule ran through, and a lifting."""
    ends = lockout.lifted_at if lockout.lifted_at and lockout.lifted_at < lockout.ends_at else None
    start_day = lockout.starts_at.astimezone(ctx.tz).date()
    end_day = (ends or lockout.ends_at).astimezone(ctx.tz).date()
    for day, bucket in days.items():
        if day == start_day:
            bucket.lockouts.append(f"self-harm event {ctx.fmt.clock(lockout.starts_at)}")
        elif start_day < day < end_day:
            bucket.lockouts.append("24-hour rule all day")
        if day == end_day and ends is not None:
            bucket.lockouts.append(f"rule lifted {ctx.fmt.clock(ends)}")
        elif day == end_day:
            bucket.lockouts.append(f"rule ends {ctx.fmt.clock(lockout.ends_at)}")


def _measures(days: list[Day]) -> list[Measure]:
    def values(name: str) -> list[Any]:
        return [getattr(d.entry, name) if d.entry is not None else None for d in days]

    return [
        Measure(key, name, top, values(key), values(acted) if acted else None)
        for key, name, top, acted in MEASURES
    ]


def _audit_export(ctx: Page, week: Week, what: str) -> None:
    audit(
        ctx.db,
        ctx.actor,
        "export",
        "client",
        week.client.id,
        changes={"what": what, "weeks": week.weeks, "from": week.first, "to": week.last},
        at=ctx.now,
    )
    ctx.db.commit()


@router.get("/clients/{client_id}/week")
def week_page(ctx: PageDep, client_id: str, weeks: str | None = None):
    client = visible(ctx, client_id)
    week = gather(ctx, client, parse_weeks(weeks))
    _audit_export(ctx, week, "week page")
    charts = [(m, Markup(line_chart(m, week.dates))) for m in week.measures]
    return ctx.render(
        "week.html",
        client=client,
        week=week,
        charts=charts,
        choices=range(1, MAX_WEEKS + 1),
    )


@router.get("/clients/{client_id}/week.pdf")
def week_pdf(ctx: PageDep, client_id: str, weeks: str | None = None):
    from app.web.week_pdf import render_pdf  # fpdf2 is loaded only when a PDF is asked for

    client = visible(ctx, client_id)
    week = gather(ctx, client, parse_weeks(weeks))
    body = render_pdf(week, ctx.fmt, ctx.now)
    _audit_export(ctx, week, "week PDF")
    filename = f"week-{client.id}-{week.last.isoformat()}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )
