"""A client's diary cards for the clinical record, as JSON or CSV: the same rows, each export
audited. Admins for any client, a therapist for their own (another's is not found)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app import diary
from app.api.deps import (
    ApiRoute,
    LineDep,
    PathId,
    SessionDep,
    UserDep,
    actor,
    refusals,
    visible_client,
)
from app.audit import audit
from app.line import Line
from app.models import DiaryEntry, User
from ivr.diary import diary_day

router = APIRouter(tags=["diary"], route_class=ApiRoute)

_DAY = "a practice-local day, YYYY-MM-DD (both ends included); default: the four weeks to today"
FromDay = Annotated[str | None, Query(alias="from", max_length=20, description=_DAY)]
ToDay = Annotated[str | None, Query(alias="to", max_length=20, description=_DAY)]


class DiaryEntryOut(BaseModel):
    day: date = Field(description="the practice-local day the card is for")
    urge_self_harm: int | None = Field(description="0-5; null: not answered")
    urge_suicide: int | None
    urge_use: int | None
    acted_self_harm: bool | None
    acted_suicide: bool | None
    acted_use: bool | None
    misery: int | None = Field(description="0-5 at its highest that day")
    shame: int | None
    anger: int | None
    fear: int | None
    joy: int | None
    skills: int | None = Field(description="0-7, the diary card's skills scale")
    note: str | None
    started_at: datetime | None = Field(description="in the practice's time zone")
    completed_at: datetime | None = Field(description="null: the card was left unfinished")


class DiaryExport(BaseModel):
    client_id: int
    time_zone: str
    from_day: date = Field(serialization_alias="from")
    to_day: date = Field(serialization_alias="to")
    entries: list[DiaryEntryOut]


COLUMNS = tuple(DiaryEntryOut.model_fields)


def _rows(
    session: Session,
    line: Line,
    user: User,
    client_id: int,
    start: str | None,
    end: str | None,
    what: str,
) -> tuple[DiaryExport, list[DiaryEntryOut]]:
    visible_client(session, user, client_id)
    now = line.now()
    tz = line.current_settings(session).tz
    first, last = diary.export_span(start, end, diary_day(now, tz))
    entries = [_out(e, tz) for e in diary.entries_between(session, client_id, first, last)]
    audit(
        session,
        actor(user),
        "export",
        "client",
        client_id,
        changes={"what": what, "from": first, "to": last, "entries": len(entries)},
        at=now,
    )
    session.commit()
    export = DiaryExport(
        client_id=client_id, time_zone=tz.key, from_day=first, to_day=last, entries=entries
    )
    return export, entries


def _out(entry: DiaryEntry, tz: ZoneInfo) -> DiaryEntryOut:
    fields = {name: getattr(entry, name) for name in COLUMNS}
    for name in ("started_at", "completed_at"):
        if fields[name] is not None:
            fields[name] = fields[name].astimezone(tz)
    return DiaryEntryOut(**fields)


@router.get(
    "/clients/{client_id}/diary",
    summary="A client's diary cards",
    responses=refusals(404),
)
def diary_json(
    client_id: PathId,
    line: LineDep,
    session: SessionDep,
    user: UserDep,
    start: FromDay = None,
    end: ToDay = None,
) -> DiaryExport:
    """The cards the client filled in by text, oldest first, for the practice-local days
    `from` to `to` (default: the four weeks up to today). A question not answered is null;
    a day with no card is left out. Audited."""
    export, _ = _rows(session, line, user, client_id, start, end, "diary card (JSON)")
    return export


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula: the note is the client's own text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get(
    "/clients/{client_id}/diary.csv",
    summary="A client's diary cards as CSV",
    response_class=Response,
    responses={**refusals(404), 200: {"content": {"text/csv": {}}}},
)
def diary_csv(
    client_id: PathId,
    line: LineDep,
    session: SessionDep,
    user: UserDep,
    start: FromDay = None,
    end: ToDay = None,
) -> Response:
    """The same rows as the JSON, one a day, with a header row; yes/no for the acted
    questions, an empty cell for a question not answered, times in the practice's zone.
    Audited."""
    export, entries = _rows(session, line, user, client_id, start, end, "diary card (CSV)")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([_cell(getattr(entry, name)) for name in COLUMNS])
    name = f"diary-client-{client_id}-{export.from_day}-to-{export.to_day}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
