"""Therapists (admin): the list, with what each needs to work on the line (active, a PIN for the
phone menu, a login, texts not blocked); adding one, editing their name and phone, and
deactivating or reactivating them. Everything goes through `app.therapists` (audited there):
deactivating ends their therapist logins' access in the same transaction.

Phones show only their last two digits in the list, as the rest of the dashboard keeps numbers
out of sight; the edit form shows the whole number, where it is needed. A form's mistakes are
said beside the field they are about, in the API's own words (the same checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import therapists
from app.domain import DomainError, check_phone_free, clean_name, normalise_phone
from app.models import Client, Therapist, User
from app.phones import mask
from app.web.clients import as_written
from app.web.forms import Form, field_text
from app.web.pages import AdminPageDep, Page
from app.web.paging import row_or_404
from ivr import pin as pin_rules

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class TherapistRow:
    therapist: Therapist
    phone_end: str  # the last two digits
    pin_locked: bool
    logins: list[User]
    clients: int


def therapist_rows(ctx: Page) -> list[TherapistRow]:
    everyone = list(
        ctx.db.scalars(
            select(Therapist).order_by(Therapist.active.desc(), Therapist.name, Therapist.id)
        )
    )
    logins: dict[int, list[User]] = {}
    for user in ctx.db.scalars(
        select(User).where(User.therapist_id.is_not(None)).order_by(User.email)
    ):
        logins.setdefault(user.therapist_id or 0, []).append(user)
    per_therapist = select(Client.therapist_id, func.count()).group_by(Client.therapist_id)
    clients = dict(ctx.db.execute(per_therapist).all())
    return [
        TherapistRow(
            therapist=t,
            phone_end=mask(t.phone).lstrip("*"),
            pin_locked=pin_rules.is_locked(t.pin_locked_until, ctx.now),
            logins=logins.get(t.id, []),
            clients=clients.get(t.id, 0),
        )
        for t in everyone
    ]


def clients_of(ctx: Page, therapist_id: int) -> int:
    stmt = select(func.count()).where(Client.therapist_id == therapist_id)
    return ctx.db.scalar(stmt) or 0


@router.get("/therapists")
def therapist_list(ctx: AdminPageDep):
    return ctx.render("therapists.html", rows=therapist_rows(ctx))


# ---- adding and editing ------------------------------------------------------------------------


def _said(exc: DomainError) -> str:
    return exc.message[:1].upper() + exc.message[1:] + "."


def field_errors(ctx: Page, values: dict[str, str], therapist_id: int | None) -> dict[str, str]:
    """What is wrong with each field, checked as the API checks it (`app.domain`)."""
    errors: dict[str, str] = {}
    try:
        clean_name(values["name"])
    except DomainError as exc:
        errors["name"] = _said(exc)
    try:
        phone = normalise_phone(values["phone"])
        existing = ctx.db.get(Therapist, therapist_id) if therapist_id else None
        if existing is None or existing.phone != phone:
            check_phone_free(ctx.db, phone, therapist_id=therapist_id)
    except DomainError as exc:
        errors["phone"] = _said(exc)
    return errors


def _form(
    ctx: Page,
    values: dict[str, Any],
    therapist: Therapist | None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
):
    failed = bool(errors or error)
    return ctx.render(
        "therapist_form.html",
        422 if failed else 200,
        therapist=therapist,
        values=values,
        errors=errors or {},
        error=error,
        clients=clients_of(ctx, therapist.id) if therapist else 0,
        logins=list(ctx.db.scalars(select(User).where(User.therapist_id == therapist.id)))
        if therapist
        else [],
    )


def _values(form) -> dict[str, str]:
    return {"name": field_text(form, "name", 400), "phone": field_text(form, "phone", 40)}


@router.get("/therapists/new")
def new_therapist_form(ctx: AdminPageDep):
    return _form(ctx, {"name": "", "phone": ""}, None)


@router.post("/therapists/new")
def create_therapist(ctx: AdminPageDep, form: Form):
    values = _values(form)
    errors = field_errors(ctx, values, None)
    if errors:
        return _form(ctx, values, None, errors)
    try:
        therapist = therapists.create_therapist(ctx.db, ctx.actor, ctx.now, **values)
        ctx.db.commit()
    except (DomainError, IntegrityError) as exc:  # a phone taken a moment ago, by another form
        ctx.db.rollback()
        return _form(ctx, values, None, error=_refusal(exc))
    ctx.flash(
        f"Added {therapist.name}. Next: their phone-menu PIN and a login, from their row here."
    )
    return ctx.redirect(f"/therapists#therapist-{therapist.id}")


def _refusal(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return _said(exc)
    return "That phone number was just taken by someone else. Check it and try again."


@router.get("/therapists/{therapist_id}/edit")
def edit_therapist_form(ctx: AdminPageDep, therapist_id: str):
    therapist = row_or_404(ctx.db, Therapist, therapist_id, "therapist")
    values = {"name": therapist.name, "phone": as_written(therapist.phone)}
    return _form(ctx, values, therapist)


@router.post("/therapists/{therapist_id}/edit")
def update_therapist(ctx: AdminPageDep, form: Form, therapist_id: str):
    therapist = row_or_404(ctx.db, Therapist, therapist_id, "therapist")
    values = _values(form)
    errors = field_errors(ctx, values, therapist.id)
    if errors:
        return _form(ctx, values, therapist, errors)
    try:
        therapists.update_therapist(ctx.db, ctx.actor, ctx.now, therapist.id, **values)
        ctx.db.commit()
    except (DomainError, IntegrityError) as exc:
        ctx.db.rollback()
        return _form(ctx, values, ctx.db.get(Therapist, therapist.id), error=_refusal(exc))
    ctx.flash(f"Saved {therapist.name}.")
    return ctx.redirect(f"/therapists#therapist-{therapist.id}")


# ---- deactivating and reactivating -------------------------------------------------------------


def _enabled_therapist_logins(ctx: Page, therapist_id: int) -> int:
    stmt = select(func.count()).where(
        User.therapist_id == therapist_id, User.role == "therapist", User.disabled_at.is_(None)
    )
    return ctx.db.scalar(stmt) or 0


@router.post("/therapists/{therapist_id}/deactivate")
def deactivate(ctx: AdminPageDep, _form: Form, therapist_id: str):
    therapist = row_or_404(ctx.db, Therapist, therapist_id, "therapist")
    if not therapist.active:
        ctx.flash(f"{therapist.name} is already inactive.", "error")
        return ctx.redirect("/therapists")
    logins = _enabled_therapist_logins(ctx, therapist.id)
    therapists.update_therapist(ctx.db, ctx.actor, ctx.now, therapist.id, active=False)
    ctx.db.commit()
    ended = (
        " Their login is disabled: signed out everywhere, its API tokens revoked."
        if logins == 1
        else f" Their {logins} logins are disabled: signed out everywhere, API tokens revoked."
        if logins
        else ""
    )
    ctx.flash(f"{therapist.name} is inactive: the line no longer rings or texts them.{ended}")
    return ctx.redirect(f"/therapists#therapist-{therapist.id}")


@router.post("/therapists/{therapist_id}/reactivate")
def reactivate(ctx: AdminPageDep, _form: Form, therapist_id: str):
    therapist = row_or_404(ctx.db, Therapist, therapist_id, "therapist")
    if therapist.active:
        ctx.flash(f"{therapist.name} is already active.", "error")
        return ctx.redirect("/therapists")
    therapists.update_therapist(ctx.db, ctx.actor, ctx.now, therapist.id, active=True)
    ctx.db.commit()
    disabled = ctx.db.scalar(
        select(func.count()).where(User.therapist_id == therapist.id, User.disabled_at.is_not(None))
    )
    after = " Their login stays disabled until you enable it on the Users page." if disabled else ""
    ctx.flash(f"{therapist.name} is active again: the line can ring and text them.{after}")
    return ctx.redirect(f"/therapists#therapist-{therapist.id}")
