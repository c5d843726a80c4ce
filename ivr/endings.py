"""How a call ends without a therapist: the crisis resources with 988 one key away, and the
offer of a voice message. Every such ending offers "press 1 for the 988 Lifeline" (unless the
practice turned it off); 1 dials 988 with the line's number as caller ID, and 911 is only
ever said, never dialled (safety invariant 2).

A caller whose language the line doesn't know (a number it doesn't know, a hidden one, one
answered without the database) hears "Para español, oprima 2" first when the line offers
Spanish; 2 says the same script again in Spanish (`Replay` names which, in the key's URL).
"""

from __future__ import annotations

from enum import StrEnum

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.language import Language
from ivr.scripts import Practice, crisis_spoken, lifeline_offer, say, speaking
from ivr.urls import Urls

LIFELINE_DIGIT = "1"
SPANISH_DIGIT = "2"
VOICE_MESSAGE_MAX_SECONDS = 60
# After the words that offer 988, how long the line waits for the key before it goes on.
LIFELINE_WAIT_SECONDS = 3
# The 988 Lifeline as Twilio dials it: Twilio routes voice calls to 988 from a US number to
# the Lifeline. Only ever dialled when the caller pressed 1.
LIFELINE_NUMBER = "988"
LIFELINE_RING_SECONDS = 60
# What the caller hears after the offer when they press no key (or another key).
THEN_GOODBYE = "goodbye"
THEN_MESSAGE = "message"
# Said in Spanish, before anything else, to a caller whose language the line doesn't know.
SPANISH_OFFER = "Para español, oprima 2."


class Replay(StrEnum):
    """The scripts said to a caller whose language the line doesn't know, which 2 says again
    in Spanish."""

    UNKNOWN = "unknown"
    HIDDEN = "hidden"
    BUSY = "busy"
    BUSY_HIDDEN = "busy-hidden"
    SORRY = "sorry"


WORDS = {
    Language.ENGLISH: {
        "goodbye": "Take good care. Goodbye.",
        "to_lifeline": "Connecting you to the 9 8 8 Lifeline.",
        "voice_message": (
            "To leave a message for your coach, speak after the tone, then press pound. Or hang up."
        ),
        "sorry": "We're sorry, the coaching line can't connect your call right now.",
        "unknown": "This is the coaching line of {practice}. It doesn't know your number.",
        "unknown_advice": (
            "If you are a client of {practice}, please call from the number you gave the "
            "practice, or ask your therapist to add this one."
        ),
        "hidden": "This is the coaching line of {practice}. Your number is hidden.",
        "hidden_advice": "If you are a client, please call again with your number shown.",
        "busy": "This number has called the coaching line many times in the last few minutes.",
        "busy_hidden": (
            "The coaching line is getting very many calls from hidden numbers right now."
        ),
    },
    Language.SPANISH: {
        "goodbye": "Cuídese mucho. Adiós.",
        # 988 answers with its own menu, where 2 is Spanish. The line never presses it for
        # the caller (<Number sendDigits>): Twilio sends those digits the moment the call is
        # answered, before the Lifeline's greeting has reached its menu, so they can be lost
        # or taken as another choice; and the menu is the Lifeline's, free to change. A key
        # the caller presses when they hear the menu is the one that is sure to count.
        "to_lifeline": (
            "Le comunicamos con la Línea 9 8 8. Cuando contesten, oprima 2 para español."
        ),
        "voice_message": (
            "Si quiere dejarle un mensaje a su terapeuta, hable después del tono y luego "
            "oprima la tecla numeral. O puede colgar."
        ),
        "sorry": "Lo sentimos, ahora no podemos conectar su llamada.",
        # Said after the caller pressed 2, so kept short: 988 comes within 8 seconds of it.
        "unknown": "Esta es la línea de coaching de {practice}. No reconocemos su número.",
        "unknown_advice": (
            "Si es cliente de {practice}, llame desde el número que registró con su "
            "terapeuta, o pídale que agregue este número."
        ),
        "hidden": "Esta es la línea de coaching de {practice}. Su número está oculto.",
        "hidden_advice": "Si es cliente, vuelva a llamar sin ocultar su número.",
        "busy": "Este número ha llamado muchas veces en los últimos minutos.",
        "busy_hidden": "La línea está recibiendo muchas llamadas de números privados ahora mismo.",
    },
}


def words(practice: Practice, key: str) -> str:
    """A sentence in the answer's language, with the practice's name put in."""
    text = WORDS[practice.language][key]
    return text.replace("{practice}", practice.name)


def offers_spanish(practice: Practice, replay: Replay | None) -> bool:
    """Whether this answer begins with "Para español, oprima 2": a script that can be said
    again in Spanish, in English now, on a line that offers Spanish."""
    return (
        replay is not None
        and Language.SPANISH in practice.languages
        and practice.language == Language.ENGLISH
    )


def offering_lifeline(
    response: VoiceResponse, practice: Practice, urls: Urls, then: str, replay: Replay | None = None
) -> VoiceResponse | Gather:
    """Where the words that offer 988 go: a Gather that takes the key 1 while they are said
    (and `LIFELINE_WAIT_SECONDS` after), or the response itself when the practice turned the
    offer off. Pressing nothing goes on to the TwiML after it. With `replay`, on a line that
    offers Spanish, the Gather first says "Para español, oprima 2" and takes 2 too."""
    spanish = offers_spanish(practice, replay)
    if not practice.offer_lifeline and not spanish:
        return response
    gather = response.gather(
        num_digits=1,
        timeout=LIFELINE_WAIT_SECONDS,
        action=urls.lifeline(then, practice.language, replay if spanish else None),
        method="POST",
        action_on_empty_result=False,
    )
    if spanish:
        say(gather, SPANISH_OFFER, practice.voice_in(Language.SPANISH))
    return gather


def help_now(practice: Practice) -> str:
    """988 first (one key away), then 988 by their own phone, 911 and the local line."""
    offer = lifeline_offer(practice)
    resources = crisis_spoken(practice, after_offer=True)
    return f"{offer} {resources}" if offer else resources


def goodbye(response: VoiceResponse, practice: Practice) -> None:
    say(response, words(practice, "goodbye"), practice.voice)
    response.hangup()


def crisis_only(
    practice: Practice, urls: Urls, lead: str = "", replay: Replay | None = None
) -> str:
    """The crisis resources, with 988 one key away, and goodbye: the answer when anything
    else fails."""
    response = VoiceResponse()
    holder = offering_lifeline(response, practice, urls, THEN_GOODBYE, replay)
    say(holder, (lead + " " if lead else "") + help_now(practice), practice.voice)
    goodbye(response, practice)
    return str(response)


def error_fallback(practice: Practice, urls: Urls) -> str:
    """Said without knowing who calls, so in English with Spanish one key away when offered
    (and in Spanish when the caller chose it)."""
    return crisis_only(practice, urls, words(practice, "sorry"), Replay.SORRY)


def too_many_calls(practice: Practice, urls: Urls, withheld: bool = False) -> str:
    """A number that called many times in a few minutes (a loop, a flood), or, for a hidden
    number, the line's ceiling for all hidden numbers together: what is said is true for
    the caller who hears it."""
    if withheld:
        return crisis_only(practice, urls, words(practice, "busy_hidden"), Replay.BUSY_HIDDEN)
    return crisis_only(practice, urls, words(practice, "busy"), Replay.BUSY)


def not_known(practice: Practice, urls: Urls, withheld: bool = False) -> str:
    """A number the line doesn't know, or a hidden one: 988 first, then how a client gets
    through (a client calling from a new phone is the likeliest caller)."""
    response = VoiceResponse()
    replay = Replay.HIDDEN if withheld else Replay.UNKNOWN
    holder = offering_lifeline(response, practice, urls, THEN_GOODBYE, replay)
    lead, advice = ("hidden", "hidden_advice") if withheld else ("unknown", "unknown_advice")
    say(holder, f"{words(practice, lead)} {help_now(practice)}", practice.voice)
    say(holder, words(practice, advice), practice.voice)
    goodbye(response, practice)
    return str(response)


def in_spanish(replay: str, practice: Practice, urls: Urls) -> str | None:
    """The script `replay` names, said again in Spanish (988 one key away again, in Spanish),
    or None when there is no such script or the line no longer offers Spanish."""
    if Language.SPANISH not in practice.languages:
        return None
    spanish = speaking(practice, Language.SPANISH)
    if replay in (Replay.UNKNOWN, Replay.HIDDEN):
        return not_known(spanish, urls, withheld=replay == Replay.HIDDEN)
    if replay in (Replay.BUSY, Replay.BUSY_HIDDEN):
        return too_many_calls(spanish, urls, withheld=replay == Replay.BUSY_HIDDEN)
    if replay == Replay.SORRY:
        return error_fallback(spanish, urls)
    return None


def lifeline(
    digits: str | None, then: str, practice: Practice, urls: Urls, replay: str | None = None
) -> str:
    """The caller's key after the offer: 1 connects them to 988, with the line's number as
    caller ID; 2, where "Para español, oprima 2" was said (`replay`), says the script again in
    Spanish; anything else goes on as silence would (the voice message, or goodbye)."""
    if (digits or "").strip() == SPANISH_DIGIT and replay:
        again = in_spanish(replay, practice, urls)
        if again is not None:
            return again
    response = VoiceResponse()
    if (digits or "").strip() == LIFELINE_DIGIT:
        say(response, words(practice, "to_lifeline"), practice.voice)
        dial = response.dial(timeout=LIFELINE_RING_SECONDS, caller_id=practice.line_number or None)
        dial.number(LIFELINE_NUMBER)
        # Heard if the Lifeline's call ends or could not be made.
        say(
            response,
            crisis_spoken(practice) + " " + words(practice, "goodbye"),
            practice.voice,
        )
        response.hangup()
        return str(response)
    if then == THEN_MESSAGE and practice.offer_voice_message:
        voice_message(response, practice, urls)
    goodbye(response, practice)
    return str(response)


def voice_message(response: VoiceResponse, practice: Practice, urls: Urls) -> None:
    say(response, words(practice, "voice_message"), practice.voice)
    response.record(
        max_length=VOICE_MESSAGE_MAX_SECONDS,
        action=urls.recorded(practice.language),
        method="POST",
        finish_on_key="#",
        play_beep=True,
        timeout=5,
    )
