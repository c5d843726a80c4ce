"""The therapist's leg of a coaching call: call screening, so that only a person who
accepts is bridged and a voicemail box never is (safety invariant 3).

The prompt names the practice's line, never the client: a voicemail box records what it
hears, and a client's name in a therapist's voicemail is more than the call needs. The
client's first name comes after the therapist pressed 1, with the call's time limit, since
Twilio's <Dial timeLimit> cuts the call without a warning to either person."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ivr.language import ENGLISH_VOICE
from ivr.scripts import Practice, say, spoken_duration
from ivr.urls import Urls
from ivr.voice import ACCEPT_DIGIT, SCREEN_TIMEOUT_SECONDS


def screen(practice: Practice, parent_sid: str, therapist_id: int, urls: Urls) -> str:
    """Call screening: only a person who presses 1 is bridged; a voicemail box hears the
    prompt, presses nothing, and is hung up on. `practice` is the view in the client's
    language (the call's), which the prompt names."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1,
        timeout=SCREEN_TIMEOUT_SECONDS,
        action=urls.screen_answer(parent_sid, therapist_id),
        method="POST",
    )
    # The therapist hears English whatever the client's language; they are told it is a call
    # in Spanish before they accept, so they can decide whether they can take it.
    call = "Coaching call in Spanish" if practice.spanish else "Coaching call"
    prompt = f"{call} from the {practice.name} line. Press 1 to accept."
    say(gather, prompt, ENGLISH_VOICE)
    gather.pause(length=1)
    say(gather, prompt, ENGLISH_VOICE)
    response.hangup()
    return str(response)


def screen_answer(
    digits: str | None, client_first_name: str | None, practice: Practice
) -> tuple[bool, str]:
    """(accepted, TwiML for the therapist's leg). An empty answer lets Twilio bridge."""
    response = VoiceResponse()
    if (digits or "").strip() == ACCEPT_DIGIT:
        who = f" with {client_first_name}" if client_first_name else ""
        limit = spoken_duration(practice.call_time_limit_seconds // 60)
        say(
            response,
            f"Connecting you now{who}. The line ends the call after {limit}.",
            ENGLISH_VOICE,
        )
        return True, str(response)
    response.hangup()
    return False, str(response)
