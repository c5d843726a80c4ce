"""Clients: the list (with search), adding and editing (admin), and each client's page with
their voice messages, calls, texts, check-ins, successes and the 24-hour rule (record a
self-harm event, or lift a lockout with a reason). A therapist sees only their own clients:
others are a 404.

Phone numbers appear only on the edit form, where they are needed.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from fastapi import APIRouter
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app import clients, diary, domain, lockouts
from app.domain import Conflict, DomainError, Invalid, NotFound
from app.models import Call, CheckIn, Client, Lockout, Message, Success, Therapist
from app.web.errors import not_found
from app.web.forms import Form, field_checked, field_text, parse_local
from app.web.pages import AdminPageDep, Page, PageDep
from app.web.paging import PAGE_SIZE, Pager, page_number, row_or_404
from app.web.voice_messages import voice_message_url
from ivr.language import LANGUAGE_NAMES, Language, parse_language
from ivr.rules import NewLockout

router = APIRouter(include_in_schema=False)

RECENT = 25  # rows of each kind on a client's page; the logs have the rest
SEARCH_MAX = 100  # matches shown for a search (one page)
# The form's choices, each named in its own language, as its speakers look for it.
FORM_LANGUAGES = ((Language.ENGLISH.value, "English"), (Language.SPANISH.value, "Español"))


def visible(ctx: Page, client_id: int | str) -> Client:
    """A client the signed-in user may see; anyone else's is "not found"."""
    client = row_or_404(ctx.db, Client, client_id, "client")
    if not ctx.is_admin and client.therapist_id != ctx.therapist_id:
        raise not_found("client")
    return client


def as_written(e164: str) -> str:
    """A stored number as people write it: (314) 555-0142 at home, +44 20 … abroad."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def therapists(ctx: Page, *, active_only: bool = False) -> list[Therapist]:
    stmt = select(Therapist).order_by(Therapist.name, Therapist.id)
    if active_only:
        stmt = stmt.where(Therapist.active.is_(True))
    return list(ctx.db.scalars(stmt).all())


# ---- the list ----------------------------------------------------------------------------------


def _clients(ctx: Page, query: str, page: str) -> Any:
    stmt = select(Client)
    if not ctx.is_admin:
        stmt = stmt.where(Client.therapist_id == ctx.therapist_id)
    if query:
        like = "%" + query.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            or_(func.lower(Client.name).like(like), func.lower(Client.code).like(like))
        )
    total = ctx.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    size = SEARCH_MAX if query else PAGE_SIZE
    pager = Pager(page_number(page), size, total, "/clients")
    rows = list(
        ctx.db.scalars(
            stmt.order_by(func.lower(Client.name), Client.id).limit(pager.size).offset(pager.offset)
        ).all()
    )
    names = {t.id: t.name for t in therapists(ctx)}
    locked = lockouts.locked_until_by_client(ctx.db, rows, ctx.now)
    practice = ctx.line.practice(ctx.db)
    return ctx.render(
        "clients.html",
        clients=rows,
        q=query,
        pager=pager,
        names=names,
        locked=locked,
        language_names={c.id: language_name(c) for c in rows},
        not_offered={c.id: clients.language_not_offered(practice, c) for c in rows},
    )


def language_name(client: Client) -> str:
    return LANGUAGE_NAMES[parse_language(client.language)]


@router.get("/clients")
def client_list(ctx: PageDep, page: str = "1"):
    return _clients(ctx, "", page)


@router.post("/clients")
def client_search(ctx: PageDep, form: Form):
    """A search is POSTed, so that a client's name never lands in an access log or in the
    browser's history as part of a URL."""
    return _clients(ctx, field_text(form, "q", 100), "1")


# ---- adding and editing (admin) --------------------------------------------------------------


def _form_values(form) -> dict[str, Any]:
    therapist = field_text(form, "therapist_id", 12)
    return {
        "name": field_text(form, "name", 400),
        "phone": field_text(form, "phone", 40),
        "therapist_id": int(therapist) if therapist.isdigit() and len(therapist) < 11 else None,
        "lockout_rule_applies": field_checked(form, "lockout_rule_applies"),
        "sms_opted_out": field_checked(form, "sms_opted_out"),
        # Absent (a form from before the field): an edit keeps the client's, an addition is
        # English.
        "language": field_text(form, "language", 8) or None,
        "diary_opt_in": field_checked(form, "diary_opt_in"),
        "diary_prompt_time": field_text(form, "diary_prompt_time", 8),
    }


def _save_diary(ctx: Page, client: Client, values: dict[str, Any]) -> None:
    """The diary card's settings, kept apart from the client's other fields (`app.diary`)."""
    card = {
        "diary_opt_in": values["diary_opt_in"],
        "diary_prompt_time": diary.parse_prompt_time(values["diary_prompt_time"]),
    }
    diary.set_diary(ctx.db, ctx.actor, ctx.now, client, card)


def _without_diary(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in diary.SETTINGS}


def _client_form(ctx: Page, values: dict[str, Any], client: Client | None, error: str | None):
    return ctx.render(
        "client_form.html",
        422 if error else 200,
        client=client,
        values=values,
        therapists=therapists(ctx, active_only=True),
        languages=FORM_LANGUAGES,
        offered=[language.value for language in ctx.line.practice(ctx.db).languages],
        error=error,
    )


@router.get("/clients/new")
def new_client_form(ctx: AdminPageDep):
    values = {
        "name": "",
        "phone": "",
        "therapist_id": None,
        "lockout_rule_applies": True,
        "sms_opted_out": False,
        "language": Language.ENGLISH.value,
        "diary_opt_in": False,
        "diary_prompt_time": "",
    }
    return _client_form(ctx, values, None, None)


@router.post("/clients/new")
def create_client(ctx: AdminPageDep, form: Form):
    values = _form_values(form)
    try:
        if values["therapist_id"] is None:
            raise Invalid("choose the client's therapist")
        diary.parse_prompt_time(values["diary_prompt_time"])  # a bad time adds nobody
        fields = _without_diary(values)
        fields["language"] = fields["language"] or Language.ENGLISH.value
        client = clients.create_client(ctx.db, ctx.actor, ctx.now, **fields)
        _save_diary(ctx, client, values)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _client_form(ctx, values, None, exc.message)
    except IntegrityError:
        ctx.db.rollback()
        return _client_form(ctx, values, None, "That conflicts with an existing record.")
    ctx.flash(f"Added {client.name}.")
    return ctx.redirect(f"/clients/{client.id}")


@router.get("/clients/{client_id}/edit")
def edit_client_form(ctx: AdminPageDep, client_id: str):
    client = visible(ctx, client_id)
    values = {
        "name": client.name,
        "phone": as_written(client.phone),
        "therapist_id": client.therapist_id,
        "lockout_rule_applies": client.lockout_rule_applies,
        "sms_opted_out": client.sms_opted_out,
        "language": client.language,
        "diary_opt_in": client.diary_opt_in,
        "diary_prompt_time": client.diary_prompt_time.strftime("%H:%M")
        if client.diary_prompt_time
        else "",
    }
    return _client_form(ctx, values, client, None)


@router.post("/clients/{client_id}/edit")
def update_client(ctx: AdminPageDep, form: Form, client_id: str):
    client = visible(ctx, client_id)
    values = _form_values(form)
    try:
        if values["therapist_id"] is None:
            raise Invalid("choose the client's therapist")
        diary.parse_prompt_time(values["diary_prompt_time"])  # a bad time changes nothing
        clients.update_client(ctx.db, ctx.actor, ctx.now, client.id, **_without_diary(values))
        _save_diary(ctx, client, values)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _client_form(ctx, values, ctx.db.get(Client, client.id), exc.message)
    except IntegrityError:
        ctx.db.rollback()
        return _client_form(
            ctx, values, ctx.db.get(Client, client.id), "That conflicts with an existing record."
        )
    ctx.flash("Saved.")
    return ctx.redirect(f"/clients/{client.id}")


# ---- a client's page -------------------------------------------------------------------------


def _recent(ctx: Page, stmt, *order) -> tuple[list[Any], int]:
    total = ctx.db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(ctx.db.scalars(stmt.order_by(*order).limit(RECENT)).all())
    return rows, total


@router.get("/clients/{client_id}")
def client_page(ctx: PageDep, client_id: str):
    client = visible(ctx, client_id)
    db = ctx.db
    calls, calls_total = _recent(
        ctx, select(Call).where(Call.client_id == client.id), Call.started_at.desc(), Call.id.desc()
    )
    voice_messages, voice_messages_total = _recent(
        ctx,
        select(Call).where(Call.client_id == client.id, Call.recording_sid.is_not(None)),
        Call.started_at.desc(),
        Call.id.desc(),
    )
    texts, texts_total = _recent(
        ctx,
        select(Message).where(Message.client_id == client.id, Message.kind != "notification"),
        Message.created_at.desc(),
        Message.id.desc(),
    )
    checkins, checkins_total = _recent(
        ctx, select(CheckIn).where(CheckIn.client_id == client.id), CheckIn.asked_at.desc()
    )
    successes, successes_total = _recent(
        ctx,
        select(Success).where(Success.client_id == client.id),
        Success.received_at.desc(),
        Success.id.desc(),
    )
    client_lockouts = list(
        db.scalars(
            select(Lockout)
            .where(Lockout.client_id == client.id)
            .order_by(Lockout.starts_at.desc(), Lockout.id.desc())
        ).all()
    )
    names = {t.id: t.name for t in therapists(ctx)}
    return ctx.render(
        "client.html",
        client=client,
        language_name=language_name(client),
        language_not_offered=clients.language_not_offered(ctx.line.practice(db), client),
        therapist_name=names.get(client.therapist_id, ""),
        names=names,
        locked_until=lockouts.client_locked_until(db, client, ctx.now),
        voice_messages=voice_messages,
        voice_messages_total=voice_messages_total,
        voice_message_url=voice_message_url,
        calls=calls,
        calls_total=calls_total,
        texts=texts,
        texts_total=texts_total,
        checkins=checkins,
        checkins_total=checkins_total,
        successes=successes,
        successes_total=successes_total,
        lockouts=client_lockouts,
        lockout_status={lo.id: lockout_status(lo, ctx.now) for lo in client_lockouts},
        default_when=ctx.fmt.input_value(ctx.now),
        max_when=ctx.fmt.input_value(ctx.now + domain.FUTURE_SLACK),
        recent=RECENT,
    )


def lockout_status(lockout: Lockout, now) -> str:
    if lockout.lifted_at is not None and lockout.lifted_at <= now:
        return "lifted"
    if lockouts.lockout_is_active(lockout, now):
        return "active"
    if lockout.starts_at > now:
        return "upcoming"
    return "ended"


@router.post("/clients/{client_id}/lockouts")
def record_lockout(ctx: PageDep, form: Form, client_id: str):
    client = visible(ctx, client_id)
    when = field_text(form, "occurred_at", 40)
    try:
        occurred_at = parse_local(when, ctx.tz, "When it happened") if when else None
        lockout = lockouts.record_lockout(
            ctx.db,
            ctx.actor,
            ctx.now,
            client.id,
            occurred_at=occurred_at,
            note=field_text(form, "note", 2500) or None,
        )
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        ctx.flash(f"Not recorded: {exc.message}.", "error")
        return ctx.redirect(f"/clients/{client.id}#rule")
    ctx.flash(_recorded_words(ctx, client.name, lockouts.recorded_effect(ctx.db, lockout, ctx.now)))
    return ctx.redirect(f"/clients/{client.id}#rule")


def _recorded_words(ctx: Page, name: str, told: lockouts.RecordedEffect) -> str:
    """What recording the event did to the client's 24-hour rule (`ivr.rules` decided)."""
    effect = told.effect
    until = ctx.fmt.when(effect.locked_until) if effect.locked_until else ""
    was = ctx.fmt.when(effect.was_locked_until) if effect.was_locked_until else ""
    match effect.kind:
        case NewLockout.LOCKS:
            return f"Recorded. The 24-hour rule applies to {name} until {until}."
        case NewLockout.EXTENDS:
            return f"Recorded. {name} was locked out until {was}; now until {until}."
        case NewLockout.WITHIN:
            return (
                f"Recorded. {name} is already locked out until {was}, later than this "
                "event's 24 hours: nothing else changes."
            )
    if was:
        return (
            f"Recorded. Its 24 hours had already passed; {name} stays locked out until {was} "
            "by another event."
        )
    return f"Recorded. Its 24 hours had already passed, so {name} is not locked out now."


@router.post("/lockouts/{lockout_id}/lift")
def lift_lockout(ctx: PageDep, form: Form, lockout_id: str):
    lockout = row_or_404(ctx.db, Lockout, lockout_id, "lockout")
    client = visible(ctx, lockout.client_id)
    try:
        lockouts.lift_lockout(ctx.db, ctx.actor, ctx.now, lockout.id, field_text(form, "reason"))
        ctx.db.commit()
    except (Invalid, Conflict, NotFound) as exc:
        ctx.db.rollback()
        ctx.flash(f"Not lifted: {exc.message}.", "error")
        return ctx.redirect(f"/clients/{client.id}#rule")
    still = lockouts.client_locked_until(ctx.db, client, ctx.now)
    if still is None:
        ctx.flash(f"Lifted. {client.name} can reach coaching again.")
    else:
        ctx.flash(f"Lifted. Another lockout still applies until {ctx.fmt.when(still)}.")
    return ctx.redirect(f"/clients/{client.id}#rule")
