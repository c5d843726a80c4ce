"""The languages the line speaks, and the voice it speaks each in.

A client has one language (`en` or `es`); the practice chooses which the line offers (English
only by default). Every answer is in one language: the practice's view that the flow gets
(`Practice.language`) says which, set by the service for the person the answer is for. The
words themselves sit beside the code that says them, one table per language.
"""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    ENGLISH = "en"
    SPANISH = "es"


LANGUAGE_NAMES = {Language.ENGLISH: "English", Language.SPANISH: "Spanish"}

# Twilio's <Say>: a voice and the locale it reads in.
Voice = tuple[str, str]
ENGLISH_VOICE: Voice = ("Polly.Joanna", "en-US")
# Spanish is read in Amazon Polly's US Spanish: the neural voice by default, or the standard
# voice of the same locale. The practice's line chooses (SPANISH_VOICE, `app.settings`), and
# switches to the standard one by itself when Twilio reports it refused the neural one
# (`app.twilio.debugger`): Twilio says so only afterwards, never during the call.
SPANISH_LOCALE = "es-US"
NEURAL_SPANISH_VOICE = "Polly.Lupe-Neural"
STANDARD_SPANISH_VOICE = "Polly.Penelope"
SPANISH_VOICES = (NEURAL_SPANISH_VOICE, STANDARD_SPANISH_VOICE)


def voice_for(language: Language, spanish_voice: str = NEURAL_SPANISH_VOICE) -> Voice:
    """The <Say> voice and locale for `language`. A Spanish voice that is not one of the two
    is read as the standard one: nothing unlisted is ever sent to Twilio."""
    if language == Language.SPANISH:
        chosen = spanish_voice if spanish_voice in SPANISH_VOICES else STANDARD_SPANISH_VOICE
        return (chosen, SPANISH_LOCALE)
    return ENGLISH_VOICE


def parse_language(value: str | None) -> Language:
    """`en` or `es` (any case, surrounding space allowed); anything else is English, the
    language every practice offers."""
    try:
        return Language((value or "").strip().lower())
    except ValueError:
        return Language.ENGLISH
