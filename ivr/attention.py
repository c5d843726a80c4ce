"""What needs a person after a call or a text (safety invariant 7): the attention items, the
text that tells someone of one, and how an item nobody acknowledges goes further.

Decisions where the issue is silent:
- An item is for the therapist who is told of it (`ringing.notice_recipient`): the client's
  own therapist when they can be texted, else the one on call. With nobody to text it is
  still for the client's therapist, and stays on the dashboard until escalation finds someone.
- Under the 24-hour rule a sign of distress still opens an item and tells a therapist: the
  rule pauses coaching for the client; it does not silence a sign that someone is at risk.
- The texts carry a first name and no clinical words (invariant 4): "asked for a call",
  "may need support", never the rating or the words the client used.
- Escalation: an item still open after the practice's call-back window goes to the one on
  call (someone not told yet); one still open a window later goes to the practice's admin
  phone, if set. With nobody else on call it goes straight to the admin phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from ivr.codes import AttentionKind
from ivr.replies import therapist_crisis_notice, therapist_notice
from ivr.ringing import Therapist, textable
from ivr.scripts import Practice, clock_time

# An urge rating this high, answering a check-in, opens an item.
HIGH_URGE = 4


@dataclass(frozen=True)
class Notice:
    """A text to a therapist, written with the record that causes it and delivered by the
    worker (invariant 6)."""

    therapist_id: int
    phone: str
    body: str


_WHAT = {
    AttentionKind.MISSED_CALL: "coaching call",
    AttentionKind.VOICE_MESSAGE: "voice message",
    AttentionKind.CRISIS_TEXT: "text",
    AttentionKind.HIGH_URGE: "check-in",
    AttentionKind.CONTACT_PLEA: "request for a call",
    AttentionKind.DIARY_URGE: "diary card",
}


def alert_body(kind: AttentionKind, first_name: str) -> str:
    """The text that tells a therapist of a new item about a client (a missed call's text
    is the flow's own, with the time: `ivr.voice`)."""
    if kind is AttentionKind.VOICE_MESSAGE:
        return therapist_notice(first_name, "left a voice message on the coaching line.")
    if kind is AttentionKind.CRISIS_TEXT:
        return therapist_crisis_notice(first_name)
    if kind is AttentionKind.HIGH_URGE:
        return therapist_notice(
            first_name, "answered a check-in on the coaching line and may need support."
        )
    if kind is AttentionKind.CONTACT_PLEA:
        return therapist_notice(first_name, "texted the coaching line and asked for a call.")
    if kind is AttentionKind.DIARY_URGE:
        return therapist_notice(
            first_name, "filled in a diary card on the coaching line and may need support."
        )
    raise ValueError(f"no alert text for {kind}")


def unreachable_body(therapist_first_name: str) -> str:
    """To the one on call when a therapist replied STOP: their alerts come here instead."""
    return therapist_notice(
        therapist_first_name,
        "replied STOP to the coaching line, which can't text them now. Their alerts come to "
        "whoever is on call until they text START.",
    )


def escalation_body(
    kind: AttentionKind, first_name: str, since: datetime, practice: Practice
) -> str:
    """An item nobody acknowledged within the window, to the next person."""
    at = clock_time(since, practice.tz)
    whose = f"{first_name.strip() or 'a client'}'s"
    if kind is AttentionKind.MISSED_CALL:
        return therapist_notice(whose, f"{at} coaching call hasn't been returned.")
    if kind is AttentionKind.THERAPIST_UNREACHABLE:
        return therapist_notice(first_name, f"still can't get texts from the coaching line ({at}).")
    if kind is AttentionKind.PIN_LOCKED:  # about a therapist, not a client
        return therapist_notice(
            f"{first_name.strip() or 'A therapist'}'s",
            f"coaching line PIN was locked at {at} after wrong PINs; someone may be using "
            "their number.",
        )
    return therapist_notice(whose, f"{at} {_WHAT[kind]} on the coaching line needs a follow-up.")


class Stage(IntEnum):
    """How far an item has gone: its first alert, the one on call, the admin phone."""

    ALERTED = 0
    ON_CALL = 1
    ADMIN = 2


def escalation_due(
    escalations: int,
    created_at: datetime,
    escalated_at: datetime | None,
    now: datetime,
    window: timedelta,
) -> bool:
    """An open item goes one stage further once a whole window passed since it was raised
    or last escalated; after the admin phone there is nowhere further to go."""
    if escalations >= Stage.ADMIN:
        return False
    since = escalated_at if escalations and escalated_at else created_at
    return now - since >= window


@dataclass(frozen=True)
class Escalation:
    """Where an item goes next: a therapist on call, or the admin phone."""

    stage: Stage
    therapist: Therapist | None = None
    phone: str | None = None


def first_textable(on_call: list[Therapist], besides: set[int], now: datetime) -> Therapist | None:
    """The first therapist on call who can be texted now and is none of `besides`: who is
    told of an item about someone else, or next told of one nobody acknowledged."""
    return next((t for t in on_call if t.id not in besides and textable(t, now)), None)


def next_escalation(
    escalations: int, on_call: list[Therapist], told: set[int], admin_phone: str, now: datetime
) -> Escalation | None:
    """The next person for an open, due item: a reachable, textable therapist on call who
    was not told yet; else (or at the next stage) the admin phone; None when there is neither."""
    if escalations < Stage.ON_CALL:
        therapist = first_textable(on_call, told, now)
        if therapist is not None:
            return Escalation(Stage.ON_CALL, therapist=therapist)
    if admin_phone:
        return Escalation(Stage.ADMIN, phone=admin_phone)
    return None
