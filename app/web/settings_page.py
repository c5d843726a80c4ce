"""Settings (admin): the practice's name, greeting, local crisis line, the call time limit and
the call-back window, and the rest of `app.settings.EDITABLE`.

A change is kept in `practice_settings`, wins over the environment's value, and is audited.
The call flow reads `line.practice(session)` on every call, so it takes effect on the next
one. Each value is checked as `Settings.with_changes` checks it (as if it came from the
environment), within the bounds `Settings` declares (the form shows the same ones); an
invalid one is refused with a message and nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from app.audit import audit
from app.models import PracticeSetting
from app.practice_settings import SWITCHED_BY_TWILIO, save_changes, stored_rows
from app.settings import EDITABLE, Settings, bounds
from app.web.forms import Form, field_checked, field_text
from app.web.pages import AdminPageDep, Page
from ivr.language import NEURAL_SPANISH_VOICE, STANDARD_SPANISH_VOICE
from ivr.scripts import greeting_problem

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    help: str
    kind: str = "text"  # text | textarea | number | tel | checkbox | select
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    required: bool = False
    unit: str = ""
    # A select's choices, (value, what the page says).
    options: tuple[tuple[str, str], ...] = ()


def setting(
    key: str, label: str, help: str, kind: str = "text", *, max_length: int = 200, **kw: Any
) -> Field:
    """The form's field for a setting, with the bounds `Settings` gives it."""
    minimum, maximum, declared_length = bounds(key)
    return Field(
        key,
        label,
        help,
        kind,
        minimum=minimum,
        maximum=maximum,
        max_length=declared_length or max_length,
        **kw,
    )


FIELDS = (
    setting(
        "practice_name",
        "Practice name",
        "Spoken and texted to callers.",
        required=True,
    ),
    setting(
        "greeting",
        "Greeting",
        'The one sentence a client hears before "Connecting you to a coach" and the first '
        "ring: keep it short, each word is about 0.4 s of a caller's wait. {practice} is "
        "replaced by the practice name; nothing else may stand in braces.",
        kind="textarea",
        required=True,
    ),
    setting(
        "local_crisis_line_name",
        "Local crisis line: name",
        "Given beside 988 and 911, which are always given.",
    ),
    setting(
        "local_crisis_line_number",
        "Local crisis line: number",
        "Leave empty for none.",
        kind="tel",
        max_length=40,
    ),
    setting(
        "call_time_limit_minutes",
        "Call time limit",
        "A coaching call is cut off after this long (the agreement says 10 to 15 minutes).",
        kind="number",
        unit="minutes",
    ),
    setting(
        "callback_window_minutes",
        "Call-back window",
        "How soon a call-back usually comes, as the wait-time script says; an unreturned "
        "missed call is flagged after this long.",
        kind="number",
        unit="minutes",
    ),
    setting(
        "dial_timeout_seconds",
        "Ring time",
        "How long each therapist's phone rings before the line tries the next.",
        kind="number",
        unit="seconds",
    ),
    setting(
        "admin_phone",
        "Admin phone",
        "Texted when a missed call or another sign of distress is still not followed up "
        "after the one on call was told. Leave empty for none.",
        kind="tel",
        max_length=40,
    ),
    setting(
        "offer_voice_message",
        "Offer a voice message",
        "The wait-time script offers the caller a 60-second message for their therapist.",
        kind="checkbox",
    ),
    setting(
        "offer_lifeline",
        "Offer 988 by one key",
        "Every call that ends without a therapist offers: press 1 to be put through to the "
        "988 Lifeline now. 911 is always said, never dialled.",
        kind="checkbox",
    ),
    setting(
        "offer_spanish",
        "Offer Spanish",
        "Clients whose language is Spanish hear the line and get its texts in Spanish, and "
        "callers the line doesn't know are first offered Spanish (press 2).",
        kind="checkbox",
    ),
    setting(
        "spanish_voice",
        "Spanish voice",
        "The voice Spanish is read in on calls: Lupe, Amazon Polly's US Spanish neural voice "
        "(the default, and the more natural), or Penelope, its standard voice. If Twilio "
        "refuses the neural voice, the line switches to the standard one by itself, and the "
        "audit log says so.",
        kind="select",
        options=(
            (NEURAL_SPANISH_VOICE, "Lupe, neural (US Spanish)"),
            (STANDARD_SPANISH_VOICE, "Penelope, standard (US Spanish)"),
        ),
    ),
    setting(
        "require_two_factor_for_therapists",
        "Therapists sign in with a code too",
        "Two-factor sign-in (an authenticator app) for therapists, as for admins: each is "
        "asked to set it up at their next sign-in.",
        kind="checkbox",
    ),
)
assert {f.key for f in FIELDS} == set(EDITABLE), "every editable setting has a field"
assert all(f.minimum is not None and f.maximum is not None for f in FIELDS if f.kind == "number"), (
    "every number has its bounds in Settings"
)


def effective(ctx: Page) -> Settings:
    """The settings as the practice has them now, read from the database (never a cached
    copy), so the form shows what was just saved."""
    rows = {key: row.value for key, row in stored(ctx).items()}
    return ctx.line.settings.with_changes(rows) if rows else ctx.line.settings


def stored(ctx: Page) -> dict[str, PracticeSetting]:
    return stored_rows(ctx.db)


def _pydantic_message(exc: ValidationError) -> str:
    message = exc.errors()[0].get("msg", "not a valid value")
    return message.removeprefix("Value error, ")


def check(field: Field, raw: str, base: Settings) -> tuple[Any, str | None]:
    """The posted value as the setting holds it, or an error message."""
    value: Any = raw
    if field.kind == "number":
        try:
            value = int(raw)
        except ValueError:
            return raw, "enter a whole number"
        if not (field.minimum or 0) <= value <= (field.maximum or value):
            return raw, f"enter {field.minimum} to {field.maximum} {field.unit}".strip()
    elif field.kind == "checkbox":
        value = raw == "on"
    elif field.kind == "select":
        if raw not in {option for option, _ in field.options}:
            return raw, "choose " + " or ".join(label for _, label in field.options)
    else:
        if field.required and not raw:
            return raw, "required"
        if len(raw) > field.max_length:
            return raw, f"at most {field.max_length} characters"
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in raw):
            return raw, "must not contain control characters"
    if field.key == "greeting":
        # The check `Settings` makes too, in the form's words (it says "GREETING ...").
        problem = greeting_problem(raw)
        if problem:
            return raw, problem
    try:
        checked = Settings.model_validate({**base.model_dump(), field.key: value})
    except ValidationError as exc:
        return raw, _pydantic_message(exc)
    return getattr(checked, field.key), None


def _changed_by(actor: str) -> str:
    """An admin's email, or the line itself in words."""
    return "the line itself" if actor == SWITCHED_BY_TWILIO else actor


def _render(ctx: Page, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    overridden = stored(ctx)
    return ctx.render(
        "settings.html",
        status,
        fields=_fields(ctx, overridden),
        values=values,
        errors=errors,
        overridden=overridden,
        # Who changed each: a person's email, or the line itself in words.
        changed_by={key: _changed_by(row.updated_by) for key, row in overridden.items()},
        environment=ctx.line.settings,
    )


def _fields(ctx: Page, overridden: dict[str, PracticeSetting]) -> tuple[Field, ...]:
    """The form's fields; the Spanish voice says so beside it when the line switched it."""
    row = overridden.get("spanish_voice")
    if row is None or row.updated_by != SWITCHED_BY_TWILIO:
        return FIELDS
    note = (
        f" The line switched to the standard voice on {ctx.fmt.when(row.updated_at)}: "
        "Twilio refused the neural one. Choose Lupe again to try it once more."
    )
    return tuple(replace(f, help=f.help + note) if f.key == "spanish_voice" else f for f in FIELDS)


@router.get("/settings")
def settings_form(ctx: AdminPageDep):
    current = effective(ctx)
    return _render(ctx, {f.key: getattr(current, f.key) for f in FIELDS}, {})


@router.post("/settings")
def save_settings(ctx: AdminPageDep, form: Form):
    current = effective(ctx)
    posted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        raw = (
            ("on" if field_checked(form, field.key) else "")
            if field.kind == "checkbox"
            else field_text(form, field.key, 2000).replace("\r\n", "\n")
        )
        if field.kind == "select" and field.key not in form:
            # A form from before the select existed (or a script) keeps the value it has.
            raw = getattr(current, field.key)
        value, error = check(field, raw, ctx.line.settings)
        posted[field.key] = value
        if error:
            errors[field.key] = error
    if errors:
        return _render(ctx, posted, errors, 422)
    changes = {
        key: {"from": getattr(current, key), "to": value}
        for key, value in posted.items()
        if value != getattr(current, key)
    }
    if not changes:
        ctx.flash("Nothing changed.")
        return ctx.redirect("/settings")
    save_changes(ctx.db, changes, actor=ctx.actor, now=ctx.now)
    ctx.db.commit()
    ctx.flash("Saved. The next call uses the new settings.")
    return ctx.redirect("/settings")


@router.post("/settings/reset")
def reset_setting(ctx: AdminPageDep, form: Form):
    key = field_text(form, "key", 60)
    row = stored(ctx).get(key)
    if row is None:
        ctx.flash("That setting already has its default value.")
        return ctx.redirect("/settings")
    default = getattr(ctx.line.settings, key)
    audit(
        ctx.db,
        ctx.actor,
        "reset",
        "practice_settings",
        None,
        changes={key: {"from": row.value, "to": default}},
        at=ctx.now,
    )
    ctx.db.delete(row)
    ctx.db.commit()
    label = next(f.label for f in FIELDS if f.key == key)
    ctx.flash(f"{label} is back to the value the service was started with.")
    return ctx.redirect("/settings")
