"""A therapist's PIN on the dashboard: the phone menu and care changes by text need it, since
caller ID can be faked (`ivr.pin`). A therapist sets their own; the admin sets or clears
anyone's. Through `app.pins` (argon2, audited without the PIN); the PIN is never shown, echoed
back into the form, or put in a flash message.
"""

from __future__ import annotations

from fastapi import APIRouter

from app import pins
from app.domain import DomainError, Invalid
from app.models import Therapist
from app.web.errors import WebError, admin_only
from app.web.forms import Form
from app.web.pages import Page, PageDep
from app.web.paging import row_or_404
from ivr import pin as pin_rules

router = APIRouter(include_in_schema=False)


def _therapist(ctx: Page, raw: str) -> Therapist:
    therapist = row_or_404(ctx.db, Therapist, raw, "therapist")
    if not ctx.can_manage_therapist(therapist.id):
        raise WebError(
            403, "Not yours to change", "A therapist sets their own PIN; the admin sets anyone's."
        )
    return therapist


def _page(ctx: Page, therapist: Therapist, error: str | None = None):
    locked = pin_rules.is_locked(therapist.pin_locked_until, ctx.now)
    return ctx.render(
        "pin_form.html",
        422 if error else 200,
        therapist=therapist,
        has_pin=therapist.pin_hash is not None,
        locked_until=therapist.pin_locked_until if locked else None,
        own=ctx.therapist_id == therapist.id,
        pin_min=pin_rules.PIN_MIN,
        pin_max=pin_rules.PIN_MAX,
        error=error,
    )


def _posted(form, name: str) -> str:
    value = form.get(name)
    return value.strip()[:64] if isinstance(value, str) else ""


@router.get("/schedule/pin/{therapist_id}")
def pin_form(ctx: PageDep, therapist_id: str):
    return _page(ctx, _therapist(ctx, therapist_id))


@router.post("/schedule/pin/{therapist_id}")
def set_pin(ctx: PageDep, form: Form, therapist_id: str):
    therapist = _therapist(ctx, therapist_id)
    pin, again = _posted(form, "pin"), _posted(form, "pin_again")
    try:
        if pin != again:
            raise Invalid("the two PINs are not the same")
        pins.set_pin(ctx.db, ctx.actor, ctx.now, therapist.id, pin)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _page(ctx, therapist, exc.message)
    ctx.flash("PIN saved. The phone menu and care changes by text ask for it.")
    return ctx.redirect(f"/schedule/pin/{therapist.id}")


@router.post("/schedule/pin/{therapist_id}/clear")
def clear_pin(ctx: PageDep, _form: Form, therapist_id: str):
    therapist = _therapist(ctx, therapist_id)
    if not ctx.is_admin:
        raise admin_only()
    pins.clear_pin(ctx.db, ctx.actor, ctx.now, therapist.id)
    ctx.db.commit()
    ctx.flash("PIN cleared. Their phone menu stays closed until a PIN is set.")
    return ctx.redirect(f"/schedule/pin/{therapist.id}")
