"""The practice as the flow sees it, and the words the line says and texts.

Crisis resources are built here once, for voice and for text, so that every path
gives the same ones: 988 (call or text), 911 for a medical emergency, and the
practice's local line when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from string import Formatter
from zoneinfo import ZoneInfo

import phonenumbers
from twilio.twiml import TwiML

from ivr.gsm import to_gsm7
from ivr.language import ENGLISH_VOICE, NEURAL_SPANISH_VOICE, Language, Voice, voice_for

# The greeting names the line; "connecting you" follows it only when someone will be rung
# (`CONNECTING`). Short, because every word is 0.4 s before the first ring (150 words a minute):
# with a three-word practice name the two together take 4 s.
DEFAULT_GREETING = "This is {practice}."
CONNECTING = "Connecting you to a coach."
# The greeting as written. {practice} is spoken as the practice name (at most 120 characters, see
# app.settings), so even a greeting of nothing but placeholders is spoken in under 5,000.
GREETING_MAX_LENGTH = 400
# Spoken as digits, so that text to speech says "nine eight eight", not "nine hundred ...".
LIFELINE_SPOKEN = "9 8 8"


@dataclass(frozen=True)
class CrisisLine:
    name: str
    number: str  # E.164


@dataclass(frozen=True)
class Practice:
    name: str
    tz: ZoneInfo
    line_number: str = ""
    local_crisis_line: CrisisLine | None = None
    greeting: str = DEFAULT_GREETING
    callback_window_minutes: int = 120
    call_time_limit_seconds: int = 15 * 60
    dial_timeout_seconds: int = 20
    offer_voice_message: bool = True
    # Every path that ends without a therapist offers "press 1" for the 988 Lifeline.
    offer_lifeline: bool = True
    # The languages the line offers, and the one this answer is in: the service sets it to
    # the language of the person the answer is for (the client's, or the one a caller chose).
    languages: tuple[Language, ...] = (Language.ENGLISH,)
    language: Language = Language.ENGLISH
    # The voice Spanish is read in (`ivr.language.SPANISH_VOICES`): neural unless the
    # practice's line chose, or switched to, the standard one.
    spanish_voice: str = NEURAL_SPANISH_VOICE

    @property
    def spanish(self) -> bool:
        return self.language == Language.SPANISH

    @property
    def voice(self) -> Voice:
        """The <Say> voice and locale of this answer's language."""
        return self.voice_in(self.language)

    def voice_in(self, language: Language) -> Voice:
        """The line's voice for `language`, whatever this answer's language is (the offer of
        Spanish is said in Spanish before the caller chose it)."""
        return voice_for(language, self.spanish_voice)


def speaking(practice: Practice, language: Language) -> Practice:
    """The practice as the flow sees it for an answer to someone whose language is
    `language`: in that language when the line offers it, else in English."""
    chosen = language if language in practice.languages else Language.ENGLISH
    return practice if chosen == practice.language else replace(practice, language=chosen)


def greeting_problem(greeting: str) -> str | None:
    """What is wrong with a greeting, as the end of a sentence that starts with its name
    ("GREETING may use only {practice}; found {practice_name}"), or None when it is fine.

    The one placeholder is {practice}, exactly: no format spec, no conversion, no attribute
    or index (`{practice:>100000}` would speak 100 kB; `{practice.foo}` would raise).
    """
    if not greeting.strip():
        return "must not be empty"
    if len(greeting) > GREETING_MAX_LENGTH:
        return f"must be at most {GREETING_MAX_LENGTH} characters (it has {len(greeting)})"
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in greeting):
        return "must not contain control characters"
    try:
        parts = list(Formatter().parse(greeting))
    except ValueError:
        return "has a { or } without its pair (write {{ or }} for a brace itself)"
    for _text, name, spec, conversion in parts:
        if name is None or (name == "practice" and not spec and not conversion):
            continue
        found = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        return f"may use only {{practice}}; found {{{found}}}"
    return None


def spoken_greeting(practice: Practice) -> str:
    """The greeting with the practice's name in it: the one place a greeting is formatted.
    Settings are checked when they are set (`greeting_problem`); one that slipped through
    anyway is replaced by the default rather than fail a call."""
    greeting = practice.greeting
    if greeting_problem(greeting) is not None:
        greeting = DEFAULT_GREETING
    # Put together from the parse, not str.format: nothing in the text is ever evaluated.
    return "".join(
        text + (practice.name if name is not None else "")
        for text, name, _spec, _conversion in Formatter().parse(greeting)
    )


def first_name(full_name: str) -> str:
    """The first name alone: notices carry no more than that."""
    parts = full_name.split()
    return parts[0] if parts else "a client"


def _national(number: str) -> str:
    parsed = phonenumbers.parse(number, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def _spoken_digits(number: str) -> str:
    """A number read digit by digit, grouped as it is written: "3 1 4, 5 5 5, 0 1 4 2"."""
    groups = []
    for group in _national(number).replace("(", " ").replace(")", " ").replace("-", " ").split():
        groups.append(" ".join(ch for ch in group if ch.isdigit()))
    return ", ".join(g for g in groups if g)


def crisis_spoken(practice: Practice, after_offer: bool = False) -> str:
    """The crisis resources, each said once: 988, 911, and the practice's local line.
    `after_offer`: said just after `lifeline_offer`, which named 988 a moment ago. In Spanish
    988 is given with its own Spanish option (press 2 when it answers)."""
    line = practice.local_crisis_line
    if practice.spanish:
        if after_offer and practice.offer_lifeline:
            # Said after the offer; on their own, 988 in Spanish is 2 when it answers, or the
            # word AYUDA by text.
            text = (
                "O, por su cuenta, llame al 9 8 8 y oprima 2 para español, o envíe AYUDA por "
                "texto al 9 8 8, a cualquier hora."
            )
        else:
            text = (
                "Si está en crisis, llame al 9 8 8, la Línea de Prevención del Suicidio y "
                "Crisis, y oprima 2 para español, o envíe AYUDA por texto al 9 8 8, a cualquier "
                "hora."
            )
        text += " Si se lastimó o necesita ayuda médica, cuelgue y marque el 9 1 1."
        if line:
            text += f" También puede llamar a {line.name} al {_spoken_digits(line.number)}."
        return text
    if after_offer and practice.offer_lifeline:
        text = "Or call or text 9 8 8 yourself, any time."
    else:
        text = (
            "If you are in crisis, call or text 9 8 8, the Suicide and Crisis Lifeline, any time."
        )
    text += " If you are hurt or need medical help, hang up and dial 9 1 1."
    if line:
        text += f" You can also call {line.name} at {_spoken_digits(line.number)}."
    return text


def lifeline_offer(practice: Practice) -> str:
    """The one-key way to 988, said first among the crisis resources ("" when the practice
    turned it off). 911 is only ever said, never dialled."""
    if not practice.offer_lifeline:
        return ""
    if practice.spanish:
        return (
            f"Para hablar ahora con la Línea {LIFELINE_SPOKEN} de Prevención del Suicidio y "
            "Crisis, oprima 1."
        )
    return f"To talk with the {LIFELINE_SPOKEN} Suicide and Crisis Lifeline now, press 1."


def crisis_texted(practice: Practice) -> str:
    """988 by call or text and 911, and the local line, in GSM-7 as every text (Spanish's
    á í ó ú folded, `ivr.gsm`). In Spanish, 988's Spanish text service answers the word AYUDA."""
    if practice.spanish:
        text = (
            "¿En crisis? Llame al 988 (oprima 2 para español) o envíe AYUDA al 988, a "
            "cualquier hora. ¿Se lastimó o necesita ayuda médica? Llame al 911."
        )
    else:
        text = "In crisis? Call or text 988 any time. Hurt or need medical help? Call 911."
    return to_gsm7(text + local_crisis_texted(practice))


def clock_time(at: datetime, tz: ZoneInfo) -> str:
    """ "9:42 PM" in the practice's time zone."""
    return at.astimezone(tz).strftime("%I:%M %p").lstrip("0")


def spoken_when(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """When an instant is, relative to now, as a person would say it in the practice's zone:
    "today at 3:40 PM", "tomorrow at 3:40 PM", "Saturday, March 8 at 3:40 PM"."""
    local_at = at.astimezone(tz)
    local_now = now.astimezone(tz)
    days = (local_at.date() - local_now.date()).days
    time = clock_time(at, tz)
    if days == 0:
        return f"today at {time}"
    if days == 1:
        return f"tomorrow at {time}"
    return f"{local_at.strftime('%A, %B')} {local_at.day} at {time}"


def spoken_duration(minutes: int) -> str:
    """ "2 hours", "90 minutes", "1 hour" for a call-back window."""
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def local_crisis_texted(practice: Practice) -> str:
    """The practice's local line as `crisis_texted` writes it (" Or call ..."), or ""."""
    line = practice.local_crisis_line
    if not line:
        return ""
    if practice.spanish:
        return f" O llame a {line.name}: {_national(line.number)}."
    return f" Or call {line.name}: {_national(line.number)}."


def say(response: TwiML, text: str, voice: Voice = ENGLISH_VOICE) -> None:
    """Speak `text` in `voice` (`Practice.voice` for the answer's language; therapists hear
    the English one). A Gather nests its own Say."""
    name, locale = voice
    response.say(text, voice=name, language=locale)
