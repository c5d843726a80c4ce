"""The codes the line records: how a call went in (its route) and how it ended (its
outcome), and what kind of text a message is. Stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Route(StrEnum):
    UNKNOWN_CALLER = "unknown_caller"
    LOCKED_OUT = "locked_out"
    COACHING = "coaching"
    FALLBACK = "fallback"
    # A therapist calling the line: their missed-call menu and call-backs.
    THERAPIST = "therapist"


class Outcome(StrEnum):
    RINGING = "ringing"
    BRIDGED = "bridged"
    WAIT_SCRIPT = "wait_script"
    CALLER_HUNG_UP = "caller_hung_up"
    LOCKOUT_SCRIPT = "lockout_script"
    CRISIS_RESOURCES = "crisis_resources"
    # The client called while their therapist was calling them back: not put through twice.
    BEING_CALLED_BACK = "being_called_back"
    # A therapist's call: in the menu, calling a client back, and how the call-back went.
    MENU = "menu"
    CALLING_BACK = "calling_back"
    RETURNED = "returned"
    NOT_REACHED = "not_reached"
    # A therapist's call that has not given the right PIN (none set, wrong, locked, or not
    # yet): it heard nothing about clients. The right PIN makes it MENU.
    NO_PIN = "no_pin"


# A missed call: nobody was reached and the client has not been called back yet.
MISSED = (Outcome.WAIT_SCRIPT, Outcome.CALLER_HUNG_UP)


class MessageKind(StrEnum):
    INBOUND = "inbound"
    REPLY = "reply"
    # Texts to therapists: a missed call or crisis words, its escalation, the day's successes.
    NOTIFICATION = "notification"
    ESCALATION = "escalation"
    SUCCESS_DIGEST = "success_digest"
    # To a client: the daily diary-card prompt (app.diary).
    PROMPT = "prompt"


class AttentionKind(StrEnum):
    """What an attention item is about (`app.models.AttentionItem`)."""

    MISSED_CALL = "missed_call"
    VOICE_MESSAGE = "voice_message"
    CRISIS_TEXT = "crisis_text"
    HIGH_URGE = "high_urge"
    CONTACT_PLEA = "contact_plea"
    THERAPIST_UNREACHABLE = "therapist_unreachable"
    # Five wrong PINs in a row (phone menu or texts): the PIN is locked for a while, and
    # someone may be using the therapist's number.
    PIN_LOCKED = "pin_locked"
    # A diary card with an urge of 4 or 5, or a yes to acting on an urge (ivr.diary).
    DIARY_URGE = "diary_urge"
