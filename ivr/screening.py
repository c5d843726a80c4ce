"""The therapist's leg of a coaching call: call screening, so that only a person who
accepts is bridged and a voicemail box never is (safety invariant 3)."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ivr.scripts import say
from ivr.voice import ACCEPT_DIGIT, SCREEN_TIMEOUT_SECONDS, Urls


def screen(caller_first_name: str, parent_sid: str, therapist_id: int, urls: Urls) -> str:
    """Call screening: only a person who presses 1 is bridged; a voicemail box hears the
    prompt, presses nothing, and is hung up on."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1,
        timeout=SCREEN_TIMEOUT_SECONDS,
        action=urls.screen_answer(parent_sid, therapist_id),
        method="POST",
    )
    prompt = f"Coaching call from {caller_first_name}. Press 1 to accept."
    say(gather, prompt)
    gather.pause(length=1)
    say(gather, prompt)
    response.hangup()
    return str(response)


def screen_answer(digits: str | None) -> tuple[bool, str]:
    """(accepted, TwiML for the therapist's leg). An empty answer lets Twilio bridge."""
    response = VoiceResponse()
    if (digits or "").strip() == ACCEPT_DIGIT:
        say(response, "Connecting you now.")
        return True, str(response)
    response.hangup()
    return False, str(response)
