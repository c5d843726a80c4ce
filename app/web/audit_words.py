"""The audit log in words, for the admin: who did what to which record, each change with its
field named as the forms name it and its value as a person reads it (names for ids, times in
the practice's zone, yes/no), never a phone number. What is stored is not touched.

An action, field or actor this module does not know yet is shown readably all the same
("some_new_field" reads "Some new field"), so a new audit call never breaks the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AuditEntry,
    Client,
    Lockout,
    OnCallOverride,
    OnCallShift,
    Rotation,
    Therapist,
    User,
)
from app.web.attention import WHAT as ATTENTION_KINDS
from app.web.settings_page import FIELDS as SETTING_FIELDS
from app.web.times import Fmt
from ivr.language import LANGUAGE_NAMES, parse_language

PHONE_KEYS = ("phone", "from_phone", "to_phone", "admin_phone", "local_crisis_line_number")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_TEXT = 160
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")

ACTIONS = {
    "create": "Added",
    "update": "Changed",
    "delete": "Removed",
    "lift": "Lifted",
    "set_away": "Set away",
    "clear_away": "Ended away",
    "set_hours": "Set coaching hours",
    "reset_calendar": "Gave a new calendar link",
    "set_password": "Set a new password",
    "login_paused": "Paused sign-in",
    "end_sessions": "Signed out everywhere",
    "revoke_tokens": "Revoked API tokens",
    "new_token": "Issued an API token",
    "disable": "Disabled",
    "enable": "Enabled",
    "set_pin": "Set the PIN",
    "clear_pin": "Cleared the PIN",
    "pin_locked": "Locked the PIN",
    "two_factor_on": "Turned on two-factor sign-in",
    "recovery_code_used": "Used a recovery code",
    "reset_two_factor": "Reset two-factor sign-in",
    "acknowledge": "Acknowledged",
    "play_voice_message": "Played a voice message",
    "reset": "Reset to the default",
    "purge": "Deleted old records",
    "export": "Exported",
    "password_link": "Made a one-time password link",
}
ENTITIES = {
    "client": "client",
    "therapist": "therapist",
    "lockout": "24-hour rule",
    "rotation": "rotation",
    "on_call_override": "on-call override",
    "on_call_shift": "on-call shift",
    "user": "login",
    "attention_item": "attention item",
    "call": "call",
    "practice_settings": "practice settings",
    "records": "old records",
    "coaching_note": "coaching note",
}
# Field names as the dashboard's forms and pages call them.
FIELDS = {
    "name": "Name",
    "language": "Language",
    "phone": "Mobile phone",
    "therapist_id": "Therapist",
    "therapist_ids": "Therapists",
    "client_id": "Client",
    "lockout_rule_applies": "The 24-hour rule applies",
    "sms_opted_out": "Opted out of texts",
    "active": "Active",
    "starts_at": "Starts",
    "ends_at": "Ends",
    "lifted_at": "Lifted at",
    "away_until": "Away until",
    "hours": "Coaching hours",
    "starts_on": "First day",
    "handoff_time": "Hand-over time",
    "turn_days": "Days per turn",
    "email": "Email",
    "role": "Role",
    "ended": "Sessions ended",
    "sessions_ended": "Sessions ended",
    "token_ids": "API tokens revoked (numbers)",
    "token_ids_revoked": "API tokens revoked (numbers)",
    "disabled_at": "Disabled at",
    "two_factor_was_on": "Two-factor sign-in was on",
    "kind": "About",
    "login_locked_until": "Sign-in paused until",
    "pin_locked_until": "PIN locked until",
    "calls": "Calls deleted",
    "messages": "Texts deleted",
    "recordings": "Voice messages deleted",
    "attention_items": "Attention items deleted",
    "calls_kept_for_recordings": "Calls kept for their voice messages",
    "before": "Older than",
    **{f.key: f.label for f in SETTING_FIELDS},
}
UNITS = {f.key: f.unit for f in SETTING_FIELDS if f.unit}


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    who: str
    did: str
    target: str
    href: str | None
    changes: list[tuple[str, str]]
    reason: str | None


class _Names:
    """The names the page's entries refer to, loaded once per page."""

    def __init__(self, db: Session, entries: list[AuditEntry]) -> None:
        ids: dict[str, set[int]] = {}

        def note(kind: str, value: Any) -> None:
            if isinstance(value, int) and not isinstance(value, bool):
                ids.setdefault(kind, set()).add(value)

        for e in entries:
            note(e.entity, e.entity_id)
            for key, value in (e.changes or {}).items():
                kind = {"client_id": "client", "therapist_id": "therapist"}.get(key)
                kind = kind or ("therapist" if key == "therapist_ids" else None)
                if kind is None:
                    continue
                for one in _values(value):
                    for item in one if isinstance(one, list) else [one]:
                        note(kind, item)
            actor = _actor_therapist(e.actor)
            if actor is not None:
                note("therapist", actor)

        def load(*columns, where) -> dict[int, Any]:
            chosen = sorted(ids.get(where, ()))
            if not chosen:
                return {}
            id_column = columns[0]
            rows = db.execute(select(*columns).where(id_column.in_(chosen))).all()
            return {r[0]: (r[1] if len(r) == 2 else tuple(r[1:])) for r in rows}

        self.lockouts = load(Lockout.id, Lockout.client_id, where="lockout")
        ids.setdefault("client", set()).update(self.lockouts.values())
        self.overrides = load(
            OnCallOverride.id, OnCallOverride.therapist_id, where="on_call_override"
        )
        self.shifts = load(OnCallShift.id, OnCallShift.therapist_id, where="on_call_shift")
        ids.setdefault("therapist", set()).update(self.overrides.values(), self.shifts.values())
        self.clients = load(Client.id, Client.name, where="client")
        self.therapists = load(Therapist.id, Therapist.name, where="therapist")
        self.users = load(User.id, User.email, where="user")
        self.rotations = load(Rotation.id, Rotation.name, where="rotation")

    def client(self, client_id: Any) -> str:
        return self.clients.get(client_id) or f"a client no longer listed (no. {client_id})"

    def therapist(self, therapist_id: Any) -> str:
        if therapist_id is None:
            return "none"
        return (
            self.therapists.get(therapist_id)
            or f"a therapist no longer listed (no. {therapist_id})"
        )


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return [value["from"], value["to"]]
    return [value]


def _actor_therapist(actor: str) -> int | None:
    parts = actor.split(":")
    if len(parts) == 3 and parts[1] == "therapist" and parts[2].isdigit():
        return int(parts[2])
    return None


def who(actor: str, names: _Names) -> str:
    """The actor as a person reads it: an email, "Dana Whitfield (by text)", "Automatic
    clean-up"."""
    therapist = _actor_therapist(actor)
    if therapist is not None:
        how = {"sms": "by text", "voice": "by phone"}.get(actor.split(":")[0], "")
        return f"{names.therapist(therapist)} ({how})" if how else names.therapist(therapist)
    if actor.startswith("cli:"):
        return f"{actor[4:]} (command line)"
    fixed = {
        "voice": "The phone line",
        "line": "The line",
        "dashboard": "The dashboard's sign-in",
        "system:retention": "Automatic clean-up",
        "demo-setup": "Demo set-up",
        "twilio:debugger": "Twilio's Debugger (the line itself)",
    }
    return fixed.get(actor, actor)


def target(entry: AuditEntry, names: _Names) -> tuple[str, str | None]:
    """What the entry changed, named, and its page when it has one."""
    changes = entry.changes or {}
    kind, number = entry.entity, entry.entity_id
    noun = ENTITIES.get(kind, kind.replace("_", " "))
    if kind == "client" and number is not None:
        if number in names.clients:
            return f"client {names.clients[number]}", f"/clients/{number}"
        return f"client: {names.client(number)}", None
    if kind == "therapist" and number is not None:
        return f"therapist {names.therapist(number)}", None
    if kind == "lockout":
        client_id = names.lockouts.get(number, changes.get("client_id"))
        if client_id is not None:
            href = f"/clients/{client_id}#rule" if client_id in names.clients else None
            return f"24-hour rule for {names.client(client_id)}", href
    if kind in ("on_call_override", "on_call_shift"):
        rows = names.overrides if kind == "on_call_override" else names.shifts
        therapist_id = changes.get("therapist_id", rows.get(number))
        if therapist_id is not None:
            return f"{noun} for {names.therapist(therapist_id)}", None
    if kind == "user" and number in names.users:
        return f"login {names.users[number]}", None
    if kind == "rotation" and number in names.rotations:
        return f"rotation {names.rotations[number]}", None
    if kind in ("attention_item", "call") and changes.get("client_id") is not None:
        # An attention item by its kind ("missed call"); a call by its voice message.
        what = ATTENTION_KINDS.get(changes.get("kind"), noun) if kind == "attention_item" else ""
        what = what.lower() if what else "voice message"
        client_id = changes["client_id"]
        href = f"/clients/{client_id}" if client_id in names.clients else None
        return f"{what}: {names.client(client_id)}", href
    return (f"{noun} no. {number}" if number is not None else noun), None


def changes_in_words(
    changes: dict[str, Any] | None, fmt: Fmt, names: _Names
) -> list[tuple[str, str]]:
    """An entry's changes as (field, "old → new" or value), in words."""
    result = []
    for key, value in (changes or {}).items():
        field = FIELDS.get(key) or key.replace("_", " ").capitalize()
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            old, new = (_value(key, v, fmt, names) for v in (value["from"], value["to"]))
            text = f"{old} → {new}"
        else:
            text = _value(key, value, fmt, names)
        result.append((field, text))
    return result


def _value(key: str, value: Any, fmt: Fmt, names: _Names) -> str:
    if key in PHONE_KEYS:
        return "(a phone number)" if value else "none"
    if key == "client_id" and value is not None:
        return names.client(value)
    if key == "therapist_id":
        return names.therapist(value)
    if key == "therapist_ids" and isinstance(value, list):
        return ", ".join(names.therapist(v) for v in value) or "none"
    if key == "language" and isinstance(value, str):
        return LANGUAGE_NAMES.get(parse_language(value), value)
    if key == "kind" and isinstance(value, str):
        return ATTENTION_KINDS.get(value, value.replace("_", " "))
    if key in UNITS and isinstance(value, int) and not isinstance(value, bool):
        return f"{value} {UNITS[key]}"
    return _short(_plain(value, fmt))


def _plain(value: Any, fmt: Fmt) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and {"weekday", "start", "end"} <= set(value):
        day = WEEKDAYS[value["weekday"]] if value["weekday"] in range(7) else "?"
        return f"{day} {_plain(value['start'], fmt)}–{_plain(value['end'], fmt)}"
    if isinstance(value, list):
        return ", ".join(_plain(v, fmt) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_plain(v, fmt)}" for k, v in value.items())
    if isinstance(value, str):
        return _text(value, fmt)
    return str(value)


def _text(value: str, fmt: Fmt) -> str:
    """Instants in the practice's zone; days and clock times as the pages write them."""
    try:
        if _INSTANT.match(value):
            return fmt.when(datetime.fromisoformat(value.replace("Z", "+00:00")))
        if _DAY.match(value):
            day = date.fromisoformat(value)
            return f"{day:%a %b} {day.day}, {day.year}"
        if _CLOCK.match(value):
            return time.fromisoformat(value).strftime("%I:%M %p").lstrip("0")
    except ValueError:
        pass
    return value


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "…"


def describe(db: Session, fmt: Fmt, entries: list[AuditEntry]) -> list[AuditRow]:
    names = _Names(db, entries)
    rows = []
    for e in entries:
        label, href = target(e, names)
        rows.append(
            AuditRow(
                at=e.at,
                who=who(e.actor, names),
                did=ACTIONS.get(e.action, e.action.replace("_", " ").capitalize()),
                target=label,
                href=href,
                changes=changes_in_words(e.changes, fmt, names),
                reason=e.reason,
            )
        )
    return rows
