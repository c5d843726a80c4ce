"""The call flow: who the caller is and what happened so far in, one TwiML step out.

Every step ends in one of three places (safety invariant 1): a therapist who accepted the
call is bridged, the wait-time script is read, or the crisis resources are given. Each
function here returns a `VoiceStep`: the TwiML, and what the service should record.

Every step speaks the language of the practice's view it is given (`Practice.language`, set
by the service for the caller, `ivr.scripts.speaking`): the words are in `WORDS`, English and
Spanish side by side, and each is said in that language's voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from twilio.twiml.voice_response import VoiceResponse

from ivr.attention import Notice
from ivr.codes import Outcome, Route
from ivr.endings import (
    THEN_GOODBYE,
    THEN_MESSAGE,
    crisis_only,
    goodbye,
    help_now,
    not_known,
    offering_lifeline,
    voice_message,
)
from ivr.language import Language
from ivr.ringing import (
    Caller,
    Therapist,
    notice_recipient,
    primary_rings_first,
    ring_order,
)
from ivr.scripts import (
    CONNECTING,
    Practice,
    clock_time,
    crisis_spoken,
    first_name,
    say,
    spoken_duration,
    spoken_greeting,
)
from ivr.skills import DISTRESS_TOLERANCE, Skill, pick_skill
from ivr.urls import Urls

ACCEPT_DIGIT = "1"
SCREEN_TIMEOUT_SECONDS = 10

# What a caller hears, by language. Spanish is written as it is said in the US, in usted and
# without a gendered word for the caller ("le comunicamos", "cliente"). A practice's GREETING
# is its own English words, so a Spanish caller hears the line's Spanish greeting with the
# practice's name instead: short, like the English one, since it comes before the first ring.
WORDS = {
    Language.ENGLISH: {
        "connecting": CONNECTING,
        "still_trying": "Still trying to reach a coach for you.",
        "told": "Your coach couldn't answer, and has been told you called.",
        "not_told": "No coach could answer; your care team will see that you called.",
        "window": "A call back usually comes within {window}.",
        "skill": "While you wait, try {name}. {text}",
        "call_ended": "Your coaching call has ended. Thank you for calling.",
        "locked_out": (
            "Thank you for calling {practice}. Phone coaching isn't available on this line "
            "right now."
        ),
        "locked_out_after": (
            "Your therapist can tell you more at your next session, and please keep your "
            "scheduled appointments; we want to see you there."
        ),
        "saved": "Thank you, your message was saved for your coach.",
        "not_saved": "Thank you.",
        "being_called_back": (
            "Your coach is calling you back right now. Please hang up so you can take their call."
        ),
    },
    Language.SPANISH: {
        "greeting": "Ha llamado a {practice}.",
        "connecting": "Un momento, le comunicamos.",
        "still_trying": "Seguimos intentando comunicarle con alguien del equipo.",
        "told": "Nadie pudo contestar; ya avisamos que llamó.",
        "not_told": "Nadie pudo contestar; su equipo verá que llamó.",
        "window": "Suelen devolverle la llamada en menos de {window}.",
        "skill": "Mientras espera, pruebe la habilidad {name}. {text}",
        "call_ended": "Terminó su llamada de coaching. Gracias por llamar.",
        "locked_out": (
            "Gracias por llamar a {practice}. En este momento no hay coaching telefónico."
        ),
        "locked_out_after": (
            "Su terapeuta le puede explicar más en su próxima sesión. Por favor, no falte a "
            "sus citas: ahí le esperamos."
        ),
        "saved": "Gracias. Su mensaje quedó guardado para su terapeuta.",
        "not_saved": "Gracias.",
        "being_called_back": (
            "Su terapeuta le está devolviendo la llamada en este momento. Por favor, "
            "cuelgue para poder contestarle."
        ),
    },
}


def _words(practice: Practice, key: str, **values: str) -> str:
    """A sentence in the answer's language, with the practice's name or other values put in
    (never str.format on anything but our own words)."""
    text = WORDS[practice.language][key]
    return text.format(practice=practice.name, **values) if "{" in text else text


def _greeting(practice: Practice) -> str:
    if practice.spanish:
        return _words(practice, "greeting")
    return spoken_greeting(practice)


def _duration(practice: Practice, minutes: int) -> str:
    """A call-back window in the answer's language: "2 horas", "una hora", "90 minutos"."""
    if not practice.spanish:
        return spoken_duration(minutes)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "una hora" if hours == 1 else f"{hours} horas"
    return "un minuto" if minutes == 1 else f"{minutes} minutos"


@dataclass(frozen=True)
class VoiceStep:
    twiml: str
    outcome: str
    route: str | None = None
    ringing: Therapist | None = None
    notice: Notice | None = None
    skill_key: str | None = None


def parse_tried(raw: str | None) -> list[int]:
    """The therapists already rung on this call, from the action URL (signed by Twilio)."""
    tried = []
    for part in (raw or "").split(","):
        if part.isdigit() and len(part) < 12:
            tried.append(int(part))
    return tried


# --- the steps --------------------------------------------------------------------------


def hears_therapist_menu(therapist_active: bool | None) -> bool:
    """A caller who is no client hears the call-back menu only from an active therapist's
    registered number (None: no therapist's); an inactive therapist is a caller the line does
    not know. (A client's number always takes the client flow, checked first.)"""
    return bool(therapist_active)


def unknown_caller(practice: Practice, urls: Urls, withheld: bool = False) -> VoiceStep:
    """A number the line doesn't know, or a hidden one (`ivr.endings.not_known`)."""
    return VoiceStep(
        twiml=not_known(practice, urls, withheld),
        route=Route.UNKNOWN_CALLER,
        outcome=Outcome.CRISIS_RESOURCES,
    )


def locked_out(caller: Caller, now: datetime, practice: Practice, urls: Urls) -> VoiceStep:
    """The 24-hour rule: coaching isn't available, and the crisis resources, each once.

    Caller ID is a claim, not an identity (invariant 9): whoever has faked a client's number
    hears this too. So it names no one (no first name), and says neither "24-hour rule" nor
    when coaching is available again: the end of the rule is exactly 24 hours after a
    self-harm event, so that time dates the event for anyone who knows the agreement. The
    client needs less than that: that coaching isn't available on this call, where to turn
    now, and that their therapist can tell them more (they agreed to the rule with them, and
    know when it ends). The practice's name alone is said, as the greeting says it. What it
    cannot hide is that this number does not reach coaching right now."""
    assert caller.locked_until is not None
    response = VoiceResponse()
    holder = offering_lifeline(response, practice, urls, THEN_GOODBYE)
    say(holder, f"{_words(practice, 'locked_out')} {help_now(practice)}", practice.voice)
    say(holder, _words(practice, "locked_out_after"), practice.voice)
    goodbye(response, practice)
    return VoiceStep(twiml=str(response), route=Route.LOCKED_OUT, outcome=Outcome.LOCKOUT_SCRIPT)


@lru_cache(maxsize=4096)
def _ringing(
    lead: str, therapist_id: int, phone: str, tried: tuple[int, ...], practice: Practice, urls: Urls
) -> str:
    """What the caller hears while a therapist is rung: the lead, then the Dial whose Number
    runs screening on the therapist's leg. Nothing in it is particular to one call, so each
    such document is built once (by the TwiML library) and kept: on the line's busiest path
    building it was a sixth of the webhook's own work. (The practice's view, its language
    with it, is part of the key.)"""
    response = VoiceResponse()
    say(response, lead, practice.voice)
    dial = response.dial(
        action=urls.dial_result([*tried, therapist_id]),
        method="POST",
        timeout=practice.dial_timeout_seconds,
        time_limit=practice.call_time_limit_seconds,
        caller_id=practice.line_number or None,
    )
    dial.number(phone, url=urls.screen(therapist_id, practice.language), method="POST")
    return str(response)


def _ring(
    lead: str, therapist: Therapist, tried: list[int], practice: Practice, urls: Urls
) -> VoiceStep:
    twiml = _ringing(lead, therapist.id, therapist.phone, tuple(tried), practice, urls)
    return VoiceStep(twiml=twiml, route=Route.COACHING, outcome=Outcome.RINGING, ringing=therapist)


def incoming_needs_schedule(caller: Caller, now: datetime, practice: Practice) -> bool:
    """Whether `incoming` needs who is on call and the skills: only when the call is not
    refused first (the 24-hour rule, a call-back under way) and the client's own therapist
    cannot be rung first. Otherwise its answer is the same without them, so the service
    need not load them."""
    if caller.locked_until is not None or caller.being_called_back:
        return False
    return not primary_rings_first(caller, now, practice)


def incoming(
    caller: Caller,
    on_call: list[Therapist],
    call_sid: str,
    now: datetime,
    practice: Practice,
    urls: Urls,
    skills: list[Skill],
) -> VoiceStep:
    """An enrolled client calls: the 24-hour rule, else a short greeting and straight to ringing.
    `practice` is the view in the client's language; `skills` are in that language too."""
    if caller.locked_until is not None:
        return locked_out(caller, now, practice, urls)
    if caller.being_called_back:  # not put through twice
        return VoiceStep(
            twiml=_busy_with_call_back(practice),
            route=Route.COACHING,
            outcome=Outcome.BEING_CALLED_BACK,
        )
    order = ring_order(caller, on_call, [], now, practice)
    if order:
        lead = f"{_greeting(practice)} {_words(practice, 'connecting')}"
        return _ring(lead, order[0], [], practice, urls)
    # Nobody to ring: no "connecting you", straight to what happens next and to 988.
    return _wait_script(caller, on_call, call_sid, now, practice, urls, skills)


@dataclass(frozen=True)
class DialResult:
    """What Twilio reports on the Dial action, plus our own record of acceptance."""

    call_status: str  # the caller's leg: "completed" when they hung up
    dial_status: str  # completed | busy | no-answer | failed | canceled
    dial_bridged: str | None  # "true" | "false" | None when Twilio did not send it
    accepted_by: int | None  # therapist who pressed 1 on this call
    tried: list[int] = field(default_factory=list)


def was_bridged(result: DialResult) -> bool:
    """Bridged only if Twilio says so; a screened-out leg is `completed` but not bridged."""
    if result.dial_bridged is not None:
        return result.dial_bridged.lower() == "true" and result.dial_status == "completed"
    return result.accepted_by is not None and result.dial_status == "completed"


def after_dial_needs_schedule(result: DialResult) -> bool:
    """Whether `after_dial` needs who is on call and the skills: not after a bridged call."""
    return not was_bridged(result)


def after_dial(
    caller: Caller,
    on_call: list[Therapist],
    result: DialResult,
    call_sid: str,
    now: datetime,
    practice: Practice,
    urls: Urls,
    skills: list[Skill],
) -> VoiceStep:
    bridged = was_bridged(result)
    if result.call_status == "completed":
        # The caller hung up; nothing more is heard. An unanswered call is still a missed call.
        if bridged:
            return VoiceStep(twiml=str(VoiceResponse()), outcome=Outcome.BRIDGED)
        return VoiceStep(
            twiml=str(VoiceResponse()),
            outcome=Outcome.CALLER_HUNG_UP,
            notice=_missed_notice(caller, on_call, now, practice),
        )
    if bridged:
        return VoiceStep(
            twiml=_call_ended(practice),
            outcome=Outcome.BRIDGED,
        )
    order = ring_order(caller, on_call, result.tried, now, practice)
    if order:
        step = _ring(_words(practice, "still_trying"), order[0], result.tried, practice, urls)
        return replace(step, route=None)
    return _wait_script(caller, on_call, call_sid, now, practice, urls, skills)


def _missed_notice(
    caller: Caller, on_call: list[Therapist], now: datetime, practice: Practice
) -> Notice | None:
    recipient = notice_recipient(caller, on_call, now)
    if recipient is None:
        return None
    body = f"Missed coaching call from {first_name(caller.name)} at {clock_time(now, practice.tz)}."
    return Notice(recipient.id, recipient.phone, body)


def _call_ended(practice: Practice) -> str:
    """After a coaching call the client had: thanks, and the crisis resources."""
    response = VoiceResponse()
    say(response, f"{_words(practice, 'call_ended')} {crisis_spoken(practice)}", practice.voice)
    response.hangup()
    return str(response)


def _busy_with_call_back(practice: Practice) -> str:
    """The client calls in while their coach is calling them back: not put through twice."""
    response = VoiceResponse()
    text = f"{_words(practice, 'being_called_back')} {crisis_spoken(practice)}"
    say(response, text, practice.voice)
    response.hangup()
    return str(response)


def _wait_script(
    caller: Caller,
    on_call: list[Therapist],
    call_sid: str,
    now: datetime,
    practice: Practice,
    urls: Urls,
    skills: list[Skill],
) -> VoiceStep:
    """Nobody accepted. First what happens next (who was told, how soon a call-back comes)
    and the crisis resources with 988 one key away, then one skill for the wait, then the
    offer of a voice message."""
    notice = _missed_notice(caller, on_call, now, practice)
    skill = pick_wait_skill(skills, caller.last_skill, call_sid)
    told = _words(practice, "told" if notice else "not_told")
    window = _words(
        practice, "window", window=_duration(practice, practice.callback_window_minutes)
    )
    response = VoiceResponse()
    then = THEN_MESSAGE if practice.offer_voice_message else THEN_GOODBYE
    holder = offering_lifeline(response, practice, urls, then)
    say(holder, f"{told} {window} {help_now(practice)}", practice.voice)
    if skill:
        say(holder, _words(practice, "skill", name=skill.name, text=skill.text), practice.voice)
    if practice.offer_voice_message:
        voice_message(response, practice, urls)
    goodbye(response, practice)
    return VoiceStep(
        twiml=str(response),
        route=Route.COACHING,
        outcome=Outcome.WAIT_SCRIPT,
        notice=notice,
        skill_key=skill.key if skill else None,
    )


def pick_wait_skill(skills: list[Skill], last_key: str | None, call_sid: str) -> Skill | None:
    if not skills:
        return None
    return pick_skill(skills, last_key=last_key, seed=call_sid, modules=[DISTRESS_TOLERANCE])


def after_recording(practice: Practice, urls: Urls, saved: bool = True) -> str:
    return crisis_only(practice, urls, _words(practice, "saved" if saved else "not_saved"))
