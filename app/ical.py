"""On-call calendars as iCal feeds at secret URLs, for the therapists' own calendar apps.

- `/ical/therapists/{token}.ics`: when this therapist is on call, from 30 days ago to 180 days
  ahead: the parts of their rotation turns that no override replaces, their overrides, and
  their explicit shifts.
- `/ical/rotations/{token}.ics`: every turn of the rotation ("On call: Dana"), and the
  overrides that replace it.

Minimum necessary: first names only, no phone numbers, no override reasons. An unknown token
is a 404; an inactive therapist or rotation gets a feed without events (so a subscribed
calendar empties rather than keeping stale turns). Times are UTC; the UIDs are stable, so a
calendar app updates an event in place when the schedule changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Response
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.deps import LineDep, SessionDep
from app.models import OnCallOverride, OnCallShift, Rotation, Therapist
from app.oncall import as_rotation, periods_overlapping
from ivr import oncall
from ivr.scripts import first_name

router = APIRouter(prefix="/ical", tags=["calendar"])

PAST = timedelta(days=30)
AHEAD = timedelta(days=180)
MEDIA_TYPE = "text/calendar"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

Row = TypeVar("Row", Therapist, Rotation)


def _by_token(session: Session, model: type[Row], token: str) -> Row:
    row = None
    if _TOKEN.match(token):
        row = session.scalar(select(model).where(model.ical_token == token))
    if row is None:
        raise HTTPException(status_code=404, detail="no such calendar")
    return row


def _calendar(name: str, events: Iterable[Event]) -> Response:
    calendar = Calendar()
    calendar.add("prodid", "-//coachline//on call//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for event in events:
        calendar.add_component(event)
    return Response(
        content=calendar.to_ical(),
        media_type=MEDIA_TYPE,
        headers={
            "Cache-Control": "private, no-cache",
            "Content-Disposition": 'inline; filename="on-call.ics"',
        },
    )


def _event(
    uid: str,
    summary: str,
    starts_at: datetime,
    ends_at: datetime,
    stamp: datetime,
    description: str | None = None,
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    event.add("transp", "OPAQUE")
    return event


def _host(line_base_url: str) -> str:
    return urlsplit(line_base_url).hostname or "coachline"


def _first_names(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, bool]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Therapist.id, Therapist.name, Therapist.active).where(Therapist.id.in_(wanted))
    ).all()
    return {row.id: (first_name(row.name), row.active) for row in rows}


def therapist_events(
    session: Session,
    therapist: Therapist,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    host: str,
    stamp: datetime,
) -> list[Event]:
    """When this therapist is on call in [start, end) (whole events, not clipped)."""
    first = first_name(therapist.name)
    events = []
    rows = session.scalars(
        select(Rotation).where(Rotation.active.is_(True)).order_by(Rotation.id)
    ).all()
    for row in rows:
        rotation = as_rotation(row)
        if therapist.id not in rotation.members:
            continue
        own = [t for t in oncall.turns(rotation, start, end, tz) if t.therapist_id == therapist.id]
        if not own:
            continue
        # Overrides cut the turns wherever they fall, even beyond the feed's range.
        cutting = periods_overlapping(session, OnCallOverride, own[0].starts_at, own[-1].ends_at)
        for piece in oncall.turn_pieces(rotation, start, end, tz, cutting):
            if piece.turn.therapist_id != therapist.id:
                continue
            uid = f"rotation-{row.id}-turn-{piece.turn.index}"
            if piece.part:
                uid += f"-{piece.part}"
            events.append(
                _event(
                    f"{uid}@{host}",
                    f"On call: {first}",
                    piece.starts_at,
                    piece.ends_at,
                    stamp,
                    f"{row.name} rotation",
                )
            )
    for kind, label in ((OnCallOverride, "override"), (OnCallShift, "shift")):
        for period in periods_overlapping(session, kind, start, end):
            if period.therapist_id == therapist.id:
                events.append(
                    _event(
                        f"{label}-{period.id}@{host}",
                        f"On call: {first} ({label})",
                        period.starts_at,
                        period.ends_at,
                        stamp,
                    )
                )
    return sorted(events, key=lambda e: (e.decoded("dtstart"), str(e["uid"])))


def rotation_events(
    session: Session,
    row: Rotation,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    host: str,
    stamp: datetime,
) -> list[Event]:
    """Every turn of the rotation in [start, end), and the overrides that replace it."""
    rotation = as_rotation(row)
    overrides = periods_overlapping(session, OnCallOverride, start, end)
    names = _first_names(session, [*rotation.members, *(o.therapist_id for o in overrides)])
    events = []
    for turn in oncall.turns(rotation, start, end, tz):
        first, active = names.get(turn.therapist_id, ("a therapist", False))
        summary = f"On call: {first}" + ("" if active else " (inactive: not covered)")
        events.append(
            _event(
                f"rotation-{row.id}-turn-{turn.index}@{host}",
                summary,
                turn.starts_at,
                turn.ends_at,
                stamp,
                f"{row.name} rotation, turn {turn.index + 1}",
            )
        )
    for override in overrides:
        first, _active = names.get(override.therapist_id, ("a therapist", False))
        events.append(
            _event(
                f"override-{override.id}@{host}",
                f"On call: {first} (override)",
                override.starts_at,
                override.ends_at,
                stamp,
                f"In place of the {row.name} rotation",
            )
        )
    return sorted(events, key=lambda e: (e.decoded("dtstart"), str(e["uid"])))


@router.get("/therapists/{token}.ics", response_class=Response, summary="A therapist's feed")
def therapist_feed(token: str, line: LineDep, session: SessionDep) -> Response:
    therapist = _by_token(session, Therapist, token)
    now = line.now()
    events: list[Event] = []
    if therapist.active:
        events = therapist_events(
            session,
            therapist,
            now - PAST,
            now + AHEAD,
            line.settings.tz,
            _host(line.settings.public_base_url),
            now,
        )
    name = f"{line.current_settings(session).practice_name} on call: {first_name(therapist.name)}"
    return _calendar(name, events)


@router.get("/rotations/{token}.ics", response_class=Response, summary="A rotation's feed")
def rotation_feed(token: str, line: LineDep, session: SessionDep) -> Response:
    rotation = _by_token(session, Rotation, token)
    now = line.now()
    events: list[Event] = []
    if rotation.active:
        events = rotation_events(
            session,
            rotation,
            now - PAST,
            now + AHEAD,
            line.settings.tz,
            _host(line.settings.public_base_url),
            now,
        )
    return _calendar(
        f"{line.current_settings(session).practice_name} on call: {rotation.name}", events
    )
