"""The Logs page's filters: client, client's therapist, what happened (a call's outcome or a
text's status) and a span of the practice's days, read from the query string.

A value that can't be used is set aside with a sentence saying so, never an error page; the
one exception is a client the user may not see, which is "not found" as everywhere else.
Each filter is a condition an existing index serves: calls by client (ix_calls_client_outcome_
started) or by time (ix_calls_started_at); texts by client, by status (ix_messages_delivery) or
by time (ix_messages_created_at); a therapist's clients by clients.therapist_id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, select

from app.models import Call, Client, Message, Therapist
from app.web.clients import visible
from app.web.pages import Page
from app.web.paging import as_id
from app.web.words import MESSAGE_STATUSES, OUTCOMES
from ivr.codes import MISSED

# Outcomes offered on the Calls tab: "missed" (either way) first, then each outcome.
MISSED_CHOICE = "missed"
CALL_CHOICES = {MISSED_CHOICE: "Missed (either way)", **OUTCOMES}
TEXT_CHOICES = dict(MESSAGE_STATUSES)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
_SHOWN = 40  # characters of a value we could not use, quoted back


@dataclass
class LogFilters:
    show: str  # "calls" | "messages"
    client: Client | None = None
    therapist: Therapist | None = None
    outcome: str = ""  # a key of CALL_CHOICES or TEXT_CHOICES
    first_day: date | None = None
    last_day: date | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(
            self.client or self.therapist or self.outcome or self.first_day or self.last_day
        )

    @property
    def choices(self) -> dict[str, str]:
        return CALL_CHOICES if self.show == "calls" else TEXT_CHOICES

    def params(self, *, with_outcome: bool = True) -> dict[str, Any]:
        """The query string that gives these filters again (for paging and the tabs)."""
        return {
            "show": self.show,
            "client": self.client.id if self.client else None,
            "therapist": self.therapist.id if self.therapist else None,
            "outcome": self.outcome if with_outcome else None,
            "from": self.first_day.isoformat() if self.first_day else None,
            "to": self.last_day.isoformat() if self.last_day else None,
        }

    def span(self, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
        """The instants the chosen days cover, from midnight to midnight where the practice is."""
        start = datetime.combine(self.first_day, time(0), tz) if self.first_day else None
        end = (
            datetime.combine(self.last_day + timedelta(days=1), time(0), tz)
            if self.last_day
            else None
        )
        return start, end


def _quoted(raw: str) -> str:
    text = raw.strip()
    return f"“{text[:_SHOWN]}{'…' if len(text) > _SHOWN else ''}”"


def _day(raw: str, what: str, problems: list[str]) -> date | None:
    if not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip()[:10]) if len(raw.strip()) == 10 else None
    except ValueError:
        day = None
    if day is None or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        problems.append(f"The {what} date {_quoted(raw)} is not a date, so it was left out.")
        return None
    return day


def read_filters(ctx: Page, show: str, query: dict[str, str]) -> LogFilters:
    """The filters the query asks for, each checked; what can't be used is explained."""
    found = LogFilters(show=show)
    problems = found.problems
    raw_client = query.get("client", "").strip()
    if raw_client:
        if as_id(raw_client) is None:
            problems.append(
                f"The client {_quoted(raw_client)} is not one of the list, "
                "so every client is shown."
            )
        else:
            found.client = visible(ctx, raw_client)  # another therapist's client: not found
    raw_therapist = query.get("therapist", "").strip()
    if raw_therapist:
        number = as_id(raw_therapist)
        found.therapist = ctx.db.get(Therapist, number) if number is not None else None
        if found.therapist is None:
            problems.append(
                "That therapist is not one of the list, so every therapist's clients are shown."
            )
    raw_outcome = query.get("outcome", "").strip()
    if raw_outcome:
        if raw_outcome in found.choices:
            found.outcome = raw_outcome
        else:
            what = "what happened" if show == "calls" else "status"
            problems.append(
                f"The {what} {_quoted(raw_outcome)} is not one of the list, so it was left out."
            )
    found.first_day = _day(query.get("from", ""), "“from”", problems)
    found.last_day = _day(query.get("to", ""), "“to”", problems)
    if found.first_day and found.last_day and found.first_day > found.last_day:
        found.first_day, found.last_day = found.last_day, found.first_day
        problems.append("The “from” date was after the “to” date, so the two were swapped.")
    return found


def own_clients(ctx: Page):
    return select(Client.id).where(Client.therapist_id == ctx.therapist_id)


def call_conditions(ctx: Page, filters: LogFilters) -> list[ColumnElement[bool]]:
    """Who may see which calls (a therapist: their own clients'), then the filters."""
    where: list[ColumnElement[bool]] = []
    if not ctx.is_admin:
        where.append(Call.client_id.in_(own_clients(ctx)))
    if filters.client is not None:
        where.append(Call.client_id == filters.client.id)
    if filters.therapist is not None:
        caseload = select(Client.id).where(Client.therapist_id == filters.therapist.id)
        where.append(Call.client_id.in_(caseload))
    if filters.outcome == MISSED_CHOICE:
        where.append(Call.outcome.in_([str(o) for o in MISSED]))
    elif filters.outcome:
        where.append(Call.outcome == filters.outcome)
    start, end = filters.span(ctx.tz)
    if start is not None:
        where.append(Call.started_at >= start)
    if end is not None:
        where.append(Call.started_at < end)
    return where


def message_conditions(ctx: Page, filters: LogFilters) -> list[ColumnElement[bool]]:
    """Who may see which texts (a therapist: their own clients', and those to or from them),
    then the filters."""
    where: list[ColumnElement[bool]] = []
    if not ctx.is_admin:
        where.append(
            Message.client_id.in_(own_clients(ctx)) | (Message.therapist_id == ctx.therapist_id)
        )
    if filters.client is not None:
        where.append(Message.client_id == filters.client.id)
    if filters.therapist is not None:
        caseload = select(Client.id).where(Client.therapist_id == filters.therapist.id)
        where.append(Message.client_id.in_(caseload))
    if filters.outcome:
        where.append(Message.status == filters.outcome)
    start, end = filters.span(ctx.tz)
    if start is not None:
        where.append(Message.created_at >= start)
    if end is not None:
        where.append(Message.created_at < end)
    return where
