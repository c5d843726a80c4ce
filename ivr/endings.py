"""How a call ends without a therapist: the crisis resources with 988 one key away, and the
offer of a voice message. Every such ending offers "press 1 for the 988 Lifeline" (unless the
practice turned it off); 1 dials 988 with the line's number as caller ID, and 911 is only
ever said, never dialled (safety invariant 2).
"""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.scripts import LIFELINE_SPOKEN, Practice, crisis_spoken, lifeline_offer, say
from ivr.urls import Urls

LIFELINE_DIGIT = "1"
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


def offering_lifeline(
    response: VoiceResponse, practice: Practice, urls: Urls, then: str
) -> VoiceResponse | Gather:
    """Where the words that offer 988 go: a Gather that takes the key 1 while they are said
    (and `LIFELINE_WAIT_SECONDS` after), or the response itself when the practice turned the
    offer off. Pressing nothing goes on to the TwiML after it."""
    if not practice.offer_lifeline:
        return response
    return response.gather(
        num_digits=1,
        timeout=LIFELINE_WAIT_SECONDS,
        action=urls.lifeline(then),
        method="POST",
        action_on_empty_result=False,
    )


def help_now(practice: Practice) -> str:
    """988 first (one key away), then 988 by their own phone, 911 and the local line."""
    offer = lifeline_offer(practice)
    resources = crisis_spoken(practice, after_offer=True)
    return f"{offer} {resources}" if offer else resources


def crisis_only(practice: Practice, urls: Urls, lead: str = "") -> str:
    """The crisis resources, with 988 one key away, and goodbye: the answer when anything
    else fails."""
    response = VoiceResponse()
    holder = offering_lifeline(response, practice, urls, THEN_GOODBYE)
    say(holder, (lead + " " if lead else "") + help_now(practice))
    say(response, "Take good care. Goodbye.")
    response.hangup()
    return str(response)


def error_fallback(practice: Practice, urls: Urls) -> str:
    return crisis_only(
        practice, urls, "We're sorry, the coaching line can't connect your call right now."
    )


def lifeline(digits: str | None, then: str, practice: Practice, urls: Urls) -> str:
    """The caller's key after the offer: 1 connects them to 988, with the line's number as
    caller ID; anything else goes on as silence would (the voice message, or goodbye)."""
    response = VoiceResponse()
    if (digits or "").strip() == LIFELINE_DIGIT:
        say(response, f"Connecting you to the {LIFELINE_SPOKEN} Lifeline.")
        dial = response.dial(timeout=LIFELINE_RING_SECONDS, caller_id=practice.line_number or None)
        dial.number(LIFELINE_NUMBER)
        # Heard if the Lifeline's call ends or could not be made.
        say(response, crisis_spoken(practice) + " Take good care. Goodbye.")
        response.hangup()
        return str(response)
    if then == THEN_MESSAGE and practice.offer_voice_message:
        voice_message(response, urls)
    say(response, "Take good care. Goodbye.")
    response.hangup()
    return str(response)


def voice_message(response: VoiceResponse, urls: Urls) -> None:
    say(
        response,
        "To leave a message for your coach, speak after the tone, then press pound. Or hang up.",
    )
    response.record(
        max_length=VOICE_MESSAGE_MAX_SECONDS,
        action=urls.recorded(),
        method="POST",
        finish_on_key="#",
        play_beep=True,
        timeout=5,
    )
