"""Logs (calls and messages, newest first) and the audit log (admin), paginated.

A therapist's logs hold their own clients' calls and texts, and the texts sent to them.
Phone numbers are never shown here: a person is named, or "unknown number".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, or_, select

from app.models import AuditEntry, Call, Client, Lockout, Message, Therapist
from app.web.clients import visible
from app.web.pages import AdminPageDep, Page, PageDep
from app.web.paging import PAGE_SIZE, Pager, as_id, page_number
from app.web.times import Fmt

router = APIRouter(include_in_schema=False)

PHONE_KEYS = ("phone", "from_phone", "to_phone")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _page_of(ctx: Page, stmt, pager_base: str, params: dict[str, Any], page: str, *order):
    total = ctx.db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pager = Pager(page_number(page), PAGE_SIZE, total, pager_base, params)
    rows = list(ctx.db.scalars(stmt.order_by(*order).limit(pager.size).offset(pager.offset)))
    return rows, pager


@router.get("/logs")
def logs(ctx: PageDep, show: str = "calls", client: str = "", page: str = "1"):
    show = "messages" if show == "messages" else "calls"
    client_id = as_id(client) if client else None
    only = visible(ctx, client_id) if client_id is not None else None
    if client and client_id is None:
        visible(ctx, client)  # a malformed id: not found
    own = select(Client.id).where(Client.therapist_id == ctx.therapist_id)
    params = {"show": show, "client": only.id if only else None}
    if show == "calls":
        stmt = select(Call)
        if only is not None:
            stmt = stmt.where(Call.client_id == only.id)
        if not ctx.is_admin:
            stmt = stmt.where(Call.client_id.in_(own))
        rows, pager = _page_of(
            ctx, stmt, "/logs", params, page, Call.started_at.desc(), Call.id.desc()
        )
    else:
        stmt = select(Message)
        if only is not None:
            stmt = stmt.where(Message.client_id == only.id)
        if not ctx.is_admin:
            stmt = stmt.where(
                or_(Message.client_id.in_(own), Message.therapist_id == ctx.therapist_id)
            )
        rows, pager = _page_of(
            ctx, stmt, "/logs", params, page, Message.created_at.desc(), Message.id.desc()
        )
    clients = dict(ctx.db.execute(select(Client.id, Client.name)).all())
    therapists = dict(ctx.db.execute(select(Therapist.id, Therapist.name)).all())
    return ctx.render(
        "logs.html",
        show=show,
        rows=rows,
        pager=pager,
        only=only,
        clients=clients,
        therapists=therapists,
    )


def _masked(value: Any) -> Any:
    return "(a phone number)" if value else value


def readable_changes(changes: dict[str, Any] | None, fmt: Fmt) -> list[tuple[str, str]]:
    """An audit entry's changes as (field, "from → to" or value), phone numbers masked."""
    if not changes:
        return []
    result = []
    for key, value in changes.items():
        phone = key in PHONE_KEYS
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            old, new = value["from"], value["to"]
            if phone:
                old, new = _masked(old), _masked(new)
            text = f"{_short(old, fmt)} → {_short(new, fmt)}"
        else:
            text = _short(_masked(value) if phone else value, fmt)
        result.append((key.replace("_", " "), text))
    return result


def _short(value: Any, fmt: Fmt) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and {"weekday", "start", "end"} <= set(value):
        day = WEEKDAYS[value["weekday"]] if value["weekday"] in range(7) else "?"
        return f"{day} {value['start']}–{value['end']}"
    if isinstance(value, list):
        text = ", ".join(_short(v, fmt) for v in value) or "none"
    elif isinstance(value, dict):
        text = ", ".join(f"{k} {_short(v, fmt)}" for k, v in value.items())
    elif isinstance(value, str) and _INSTANT.match(value):
        # Instants are kept in UTC; shown in the practice's zone like every other time.
        try:
            text = fmt.when(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            text = value
    else:
        text = str(value)
    return text if len(text) <= 160 else text[:157] + "…"


def audit_targets(ctx: Page, rows: list[AuditEntry]) -> dict[int, str]:
    """What each entry changed, named: "client Riley Tran", "lockout 3 (Riley Tran)"."""
    ids: dict[str, set[int]] = {}
    for row in rows:
        if row.entity_id is not None:
            ids.setdefault(row.entity, set()).add(row.entity_id)
    clients = dict(
        ctx.db.execute(
            select(Client.id, Client.name).where(Client.id.in_(sorted(ids.get("client", ()))))
        ).all()
    )
    therapists = dict(
        ctx.db.execute(
            select(Therapist.id, Therapist.name).where(
                Therapist.id.in_(sorted(ids.get("therapist", ())))
            )
        ).all()
    )
    lockouts = dict(
        ctx.db.execute(
            select(Lockout.id, Client.name)
            .join(Client, Client.id == Lockout.client_id)
            .where(Lockout.id.in_(sorted(ids.get("lockout", ()))))
        ).all()
    )
    labels = {}
    for row in rows:
        kind = row.entity.replace("_", " ")
        name = {"client": clients, "therapist": therapists, "lockout": lockouts}.get(
            row.entity, {}
        ).get(row.entity_id)
        if row.entity == "client" and name:
            labels[row.id] = f"client {name}"
        elif name:
            labels[row.id] = f"{kind} {row.entity_id} ({name})"
        else:
            labels[row.id] = kind + (f" {row.entity_id}" if row.entity_id is not None else "")
    return labels


@router.get("/audit")
def audit_page(ctx: AdminPageDep, page: str = "1"):
    rows, pager = _page_of(
        ctx, select(AuditEntry), "/audit", {}, page, AuditEntry.at.desc(), AuditEntry.id.desc()
    )
    return ctx.render(
        "audit.html",
        targets=audit_targets(ctx, rows),
        rows=rows,
        pager=pager,
        changes={r.id: readable_changes(r.changes, ctx.fmt) for r in rows},
    )
