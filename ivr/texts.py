"""What an inbound text means: `classify(body) -> Intent`, with the spellings people type, in
English and in Spanish (every client may use either; `Intent.language` says which language the
words that decided were in).

Order matters, and crisis language comes first on every message, whatever else it says:

1. crisis language (`ivr.phrases`): a "win" text or a check-in that contains it is
   crisis, because a missed crisis costs far more than an unneeded crisis reply;
2. Twilio's opt-out words, then its opt-in words (the whole message, one word), and ours in
   Spanish (see below);
3. help ("help", "info", "?"; "ayuda", "información");
4. check-in ("check-in", "check in", "checkin", "checking in", after a greeting; "chequeo"),
   then the diary card ("diary", "diary card", "my diary please"; "diario", "tarjeta diaria");
5. a success ("win ..." / "success ..."; "logro ...", "éxito ..."; the text after the keyword
   is kept);
6. a plea for contact (`ivr.phrases`): "can someone call me", "I'm really struggling",
   "llámeme", "ya no puedo más";
7. a number: a rating 0-5 ("3", "4/5", "maybe a 2", "como un 3", "tres de cinco"), or a
   number outside 0-5;
8. anything else is unknown.

Spanish keywords (docs/spanish.md): CHEQUEO for a check-in ("registro" is left out: Spanish
DBT materials call the diary card a "registro diario"), DIARIO for the diary card, LOGRO for a
success, AYUDA for help. Twilio acts only on its English opt-out words (STOP, ...), so the line
itself honours a one-word Spanish opt-out, "parar", "cancelar", "detener", "desuscribir(me)"
or "darme de baja" (not "alto" or "baja", which also answer "how strong?"), and "comenzar" or
"reanudar" to opt back in; Twilio sends no confirmation for these, so the line does.

A rating means something only while a check-in is open; `ivr.sms_flow` decides that.

Crisis language
---------------
Matched as whole words on a folded copy of the text: accents dropped, case folded,
apostrophes removed ("don't" -> "dont", and a curly one the same), every other non-letter,
non-digit a space, whitespace collapsed. So "Kill   MYSELF", "self-harm", "self harm",
"suicidal!!", "I don’t want to be alive" all match, and "skill myself" or "self-harmony" do not.

The list is conservative: phrases that, texted to a coaching line, speak of suicide or
self-harm, never a lone ambiguous word ("die", "cut", "pills", "end").

Known false positives (matched, and pinned by tests as known behaviour):
- "My character died of an overdose in the show" (overdose)
- "We watched Suicide Squad" (suicide)
- "I'm not suicidal, just tired" (negation is not understood)
- "Win: I didn't cut myself today" (negation; a win with crisis words is crisis)
- "I want to die my hair blue" (a misspelt "dye")
- "I nearly killed myself laughing" (an idiom)
- "I hurt myself at the gym", "I cut myself cooking" (accidents)
- "Ran 5 kms this morning" ("kms", kilometres here, is texting shorthand for "kill myself")

One idiom is removed before matching because DBT clients say it as self-compassion:
"cut(ting) myself some slack". Another crisis phrase in the same message still matches.

In Spanish (`SPANISH_CRISIS_PHRASES`, matched the same way, so "Me corté", "me corte" and
"ME CORTÉ" are one phrase): "quiero morir", "me quiero matar", "suicidarme", "me corté",
"hacerme daño", "no quiero vivir" and their kin. Idioms taken out first (`SPANISH_IDIOMS`):
"mi mamá va a matarme", "me quiero morir de la vergüenza", "me corté el pelo", "se me cortó
la llamada", "matarme de risa" (never "se me cortó" alone: "no sé, me corté" folds to it).
A Spanish phrase gets the crisis reply in Spanish whatever the client's language
(`crisis_language`). Known false positives in Spanish (matched):
- "Ayer me corté cocinando" (an accident)
- "Escuadrón Suicida es mi película favorita" (a title)
- "No quiero vivir en esta ciudad" (a place, not a life)
- "Corrí 5 kms hoy" (English "kms" again: kilometres are common in Spanish)
Known false negatives in Spanish (not matched):
- "ya no quiero estar aquí", "quiero desaparecer", "me mato trabajando" (left out: an idiom)
- "quemarme" (left out: "quemarse" is burnout), "me tomé todo", "sucidarme"

Known false negatives (not matched; the help reply still carries the crisis resources):
- "I can't do this anymore", "I want to disappear", "nobody would miss me", "I'm done"
- misspellings and obfuscations: "kil myself", "suicde", "k1ll myself", "s u i c i d e"
- "I took all my meds", "I'm going to jump off the bridge", "sewer slide"
- ("help me" and "please help" are pleas for contact: the therapist is told.)

Pleas for contact
-----------------
Matched the same way (folded, whole words), after a win and a check-in: a client asking for a
person ("call me", "need to talk", "help me"; "llámeme", "necesito hablar") or saying they are
not coping ("struggling", "cant cope", "not okay"; "no puedo más", "no estoy bien"). A false
positive costs a therapist a text; a false negative leaves a client who asked for someone with
the keyword menu, so the list leans wide. "help" and "ayuda" alone are still the keyword.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from ivr.language import Language
from ivr.phrases import (
    CRISIS_IDIOMS,
    CRISIS_PHRASES,
    PLEA_PHRASES,
    SPANISH_CRISIS_PHRASES,
    SPANISH_IDIOMS,
    SPANISH_PLEA_PHRASES,
)


class IntentKind(StrEnum):
    CRISIS = "crisis"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CHECK_IN = "check_in"
    DIARY = "diary"  # start or continue today's diary card (ivr.diary)
    SUCCESS = "success"
    PLEA = "plea"  # asks for a person, or says they are not coping
    RATING = "rating"  # a number 0-5
    NUMBER = "number"  # a bare number outside 0-5 (a mistyped rating, perhaps)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    rating: int | None = None  # RATING: 0-5
    number: int | None = None  # NUMBER: the number outside 0-5
    text: str = ""  # SUCCESS: what followed the keyword, as typed (may be empty)
    matched: str = ""  # CRISIS, PLEA: the phrase that matched, folded; OPT_OUT/OPT_IN: the word
    language: Language = Language.ENGLISH  # the language of the words that decided the kind

    @property
    def by_twilio(self) -> bool:
        """An opt-out or opt-in word Twilio itself acts on (and answers) before we see it."""
        return self.matched in OPT_OUT_WORDS | OPT_IN_WORDS


# Twilio's own keyword lists: it acts on them before our webhook runs.
OPT_OUT_WORDS = frozenset(
    {"stop", "unsubscribe", "end", "quit", "cancel", "stopall", "revoke", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
HELP_MESSAGES = frozenset({"help", "info", "information"})
# Ours in Spanish (folded, the whole message): Twilio does not act on them (module docstring).
SPANISH_OPT_OUT_WORDS = frozenset(
    {"parar", "cancelar", "detener", "desuscribir", "desuscribirme", "darme de baja", "dar de baja"}
)
SPANISH_OPT_IN_WORDS = frozenset({"comenzar", "reanudar"})
SPANISH_HELP_MESSAGES = frozenset({"ayuda", "informacion"})

_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u02bc\u0060\u00b4\u2032]")


def _words(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b")


_CRISIS = {
    Language.ENGLISH: _words(CRISIS_PHRASES),
    Language.SPANISH: _words(SPANISH_CRISIS_PHRASES),
}
_PLEA = _words(PLEA_PHRASES)
_SPANISH_PLEA = _words(SPANISH_PLEA_PHRASES)
_IDIOMS = _words(CRISIS_IDIOMS + SPANISH_IDIOMS)

_GREETINGS = frozenset({"hi", "hey", "hello", "ok", "okay", "just", "please", "pls", "yo", "um"})
_SPANISH_GREETINGS = frozenset({"hola", "buenas", "oye", "porfa", "por", "favor", "quiero"})
_CHECK_IN_STARTS: tuple[tuple[str, ...], ...] = (
    ("check", "in"),
    ("checkin",),
    ("checking", "in"),
)
_SPANISH_CHECK_IN_STARTS: tuple[tuple[str, ...], ...] = (
    ("chequeo",),
    ("chequear",),
    ("chequearme",),
    ("hacer", "chequeo"),
    ("hacer", "el", "chequeo"),
    ("hacer", "un", "chequeo"),
    ("mi", "chequeo"),
    ("un", "chequeo"),
)
_DIARY_STARTS: tuple[tuple[str, ...], ...] = (("diary", "card"), ("diary",), ("diarycard",))
_SPANISH_DIARY_STARTS: tuple[tuple[str, ...], ...] = (
    ("tarjeta", "diaria"),
    ("tarjeta",),
    ("diario",),
)
_SUCCESS = re.compile(
    r"^[\W_]*(?:(?:my|a|small|big|little|another|quick|tiny|huge|today'?s|new"
    r"|mi|un|otro|peque[ñn]o|gran|nuevo|buen)[\W_]+){0,2}"
    r"(?P<word>wins?|success(?:es)?|logros?|[eé]xitos?)\b[\W_]*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_RATING_FILLER = (
    r"(?:id say|i d say|i would say|i say|maybe|about|around|like|probably|prob|honestly"
    r"|its|it s|it is|im at|im|i am|at|a|an|um|uh|ok|okay|hmm"
    r"|como|un|una|tal vez|talvez|quizas|quiza|yo diria|diria|creo que|mas o menos|estoy en"
    r"|es|pues|eh)"
)
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER_WORDS |= {"cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5}
_RATING = re.compile(
    rf"^(?:{_RATING_FILLER} )*(?P<n>[0-9]{{1,6}}|{'|'.join(_NUMBER_WORDS)})"
    r"(?: ?(?:/|out of|of|de|sobre) ?(?:5|five|cinco))?$"
)
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def fold(text: str, keep: str = "") -> str:
    """Text reduced for matching: accents dropped, case folded, apostrophes removed, every
    other character outside a-z, 0-9 (and `keep`) a space, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = _APOSTROPHES.sub("", text)
    text = re.sub(rf"[^a-z0-9{re.escape(keep)}]+", " ", text)
    return text.strip()


def _crisis_matches(body: str) -> dict[Language, str]:
    """The crisis phrase found in `body` for each language whose list has one (folded)."""
    folded = _IDIOMS.sub(" ", fold(body))
    found = {language: pattern.search(folded) for language, pattern in _CRISIS.items()}
    return {language: m.group(0) for language, m in found.items() if m}


def crisis_match(body: str) -> str | None:
    """The crisis phrase in `body` (folded), English or Spanish, or None."""
    matches = _crisis_matches(body)
    return next(iter(matches.values()), None)


def crisis_language(body: str, prefer: Language = Language.ENGLISH) -> Language | None:
    """The language of the crisis language in `body` (None: there is none). When both lists
    match, the longer phrase says ("me suicidé" is Spanish, though "suicide" is English), and
    on a tie `prefer` (the client's own)."""
    matches = _crisis_matches(body)
    if not matches:
        return None
    return max(matches, key=lambda language: (len(matches[language]), language == prefer))


def _whole_word(body: str) -> str:
    """The message as Twilio compares keywords: trimmed of space and punctuation, case folded."""
    return _EDGES.sub("", unicodedata.normalize("NFKC", body)).casefold()


def _starts(words: list[str], skip: frozenset[str], starts: tuple[tuple[str, ...], ...]) -> bool:
    """`words`, after any of `skip`, begin with one of `starts`, and only `skip` follows."""
    while words and words[0] in skip:
        words = words[1:]
    return any(
        tuple(words[: len(start)]) == start and set(words[len(start) :]) <= skip for start in starts
    )


def _check_in(words: list[str]) -> Language | None:
    """ "check-in", "hi, check in please", "chequeo", "hola, quiero hacer un chequeo": the
    language of the keyword (what follows it may be anything: "check in, rough day")."""
    greetings = _GREETINGS | _SPANISH_GREETINGS
    while words and words[0] in greetings:
        words = words[1:]
    for language, starts in (
        (Language.ENGLISH, _CHECK_IN_STARTS),
        (Language.SPANISH, _SPANISH_CHECK_IN_STARTS),
    ):
        if any(tuple(words[: len(start)]) == start for start in starts):
            return language
    return None


def _diary(words: list[str]) -> Language | None:
    """ "diary", "diary card", "hi, diary please", "diario", "tarjeta diaria por favor": the
    message is about starting the card."""
    skip = _GREETINGS | _SPANISH_GREETINGS | {"my", "the", "mi", "la"}
    if _starts(words, skip, _DIARY_STARTS):
        return Language.ENGLISH
    if _starts(words, skip, _SPANISH_DIARY_STARTS):
        return Language.SPANISH
    return None


def classify(body: str) -> Intent:
    """What an inbound text asks for. Never raises, for any string."""
    language = crisis_language(body)
    if language is not None:
        matched = _crisis_matches(body)[language]
        return Intent(IntentKind.CRISIS, matched=matched, language=language)

    word = _whole_word(body)
    if word in OPT_OUT_WORDS:
        return Intent(IntentKind.OPT_OUT, matched=word)
    if word in OPT_IN_WORDS:
        return Intent(IntentKind.OPT_IN, matched=word)

    folded = fold(body)
    spanish = Language.SPANISH
    if folded in SPANISH_OPT_OUT_WORDS:
        return Intent(IntentKind.OPT_OUT, matched=folded, language=spanish)
    if folded in SPANISH_OPT_IN_WORDS:
        return Intent(IntentKind.OPT_IN, matched=folded, language=spanish)
    if folded in HELP_MESSAGES or (not folded and "?" in body):
        return Intent(IntentKind.HELP)
    if folded in SPANISH_HELP_MESSAGES:
        return Intent(IntentKind.HELP, language=spanish)
    check_in = _check_in(folded.split())
    if check_in:
        return Intent(IntentKind.CHECK_IN, language=check_in)
    diary = _diary(folded.split())
    if diary:
        return Intent(IntentKind.DIARY, language=diary)

    success = _SUCCESS.match(unicodedata.normalize("NFKC", body).strip())
    if success:
        in_spanish = fold(success.group("word")).startswith(("logro", "exito"))
        language = spanish if in_spanish else Language.ENGLISH
        return Intent(IntentKind.SUCCESS, text=success.group("rest").strip(), language=language)

    plea = _PLEA.search(folded)
    if plea:
        return Intent(IntentKind.PLEA, matched=plea.group(0))
    plea = _SPANISH_PLEA.search(folded)
    if plea:
        return Intent(IntentKind.PLEA, matched=plea.group(0), language=spanish)

    rating = _RATING.match(fold(body, keep="/"))
    if rating:
        raw = rating.group("n")
        number = _NUMBER_WORDS[raw] if raw in _NUMBER_WORDS else int(raw)
        if 0 <= number <= 5:
            return Intent(IntentKind.RATING, rating=number)
        return Intent(IntentKind.NUMBER, number=number)
    return Intent(IntentKind.UNKNOWN)
