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

# Twilio's <Say>: the voice and the locale it reads in. Spanish is Amazon Polly's US Spanish
# neural voice; `FALLBACK_VOICES` holds the standard voice of the same locale, used when the
# practice's voice setting names one Twilio does not list for that locale.
VOICES = {
    Language.ENGLISH: ("Polly.Joanna", "en-US"),
    Language.SPANISH: ("Polly.Lupe-Neural", "es-US"),
}
FALLBACK_VOICES = {
    Language.ENGLISH: ("Polly.Joanna", "en-US"),
    Language.SPANISH: ("Polly.Penelope", "es-US"),
}


def parse_language(value: str | None) -> Language:
    """`en` or `es` (any case, surrounding space allowed); anything else is English, the
    language every practice offers."""
    try:
        return Language((value or "").strip().lower())
    except ValueError:
        return Language.ENGLISH
