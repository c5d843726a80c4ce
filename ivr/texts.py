"""What an inbound text means: `classify(body) -> Intent`, with the spellings people type.

Order matters, and crisis language comes first on every message, whatever else it says:

1. crisis language (see `CRISIS_PHRASES`): a "win" text or a check-in that contains it is
   crisis, because a missed crisis costs far more than an unneeded crisis reply;
2. Twilio's opt-out words, then its opt-in words (the whole message, one word);
3. help ("help", "info", "?");
4. check-in ("check-in", "check in", "checkin", "checking in", after a greeting), then the
   diary card ("diary", "diary card", "my diary please");
5. a success ("win ..." / "success ..."; the text after the keyword is kept);
6. a plea for contact (see `PLEA_PHRASES`): "can someone call me", "I'm really struggling";
7. a number: a rating 0-5 ("3", "4/5", "maybe a 2"), or a number outside 0-5;
8. anything else is unknown.

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

Known false negatives (not matched; the help reply still carries the crisis resources):
- "I can't do this anymore", "I want to disappear", "nobody would miss me", "I'm done"
- misspellings and obfuscations: "kil myself", "suicde", "k1ll myself", "s u i c i d e"
- "I took all my meds", "I'm going to jump off the bridge", "sewer slide"
- ("help me" and "please help" are pleas for contact: the therapist is told.)

Pleas for contact
-----------------
Matched the same way (folded, whole words), after a win and a check-in: a client asking for a
person ("call me", "need to talk", "help me") or saying they are not coping ("struggling",
"cant cope", "not okay"). A false positive costs a therapist a text; a false negative leaves a
client who asked for someone with the keyword menu, so the list leans wide. "help" alone is
still the keyword.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


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


# Twilio's own keyword lists: it acts on them before our webhook runs.
OPT_OUT_WORDS = frozenset(
    {"stop", "unsubscribe", "end", "quit", "cancel", "stopall", "revoke", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
HELP_MESSAGES = frozenset({"help", "info", "information"})

# Folded forms (see the module docstring). Keep each one tested in tests/test_ivr_texts.py.
CRISIS_PHRASES: tuple[str, ...] = (
    # suicide, by name
    "suicide",
    "suicides",
    "suicidal",
    "kill myself",
    "kill my self",
    "killmyself",
    "killing myself",
    "killed myself",
    "kms",
    "unalive myself",
    "end my life",
    "ending my life",
    "end my own life",
    "end it all",
    "ending it all",
    "take my life",
    "take my own life",
    "taking my life",
    "taking my own life",
    "want to die",
    "wanna die",
    "want to be dead",
    "wish i was dead",
    "wish i were dead",
    "better off dead",
    "better off without me",
    "not want to be alive",
    "dont want to be alive",
    "not want to live",
    "dont want to live",
    "no reason to live",
    "not worth living",
    "hang myself",
    "shoot myself",
    # self-harm
    "hurt myself",
    "hurting myself",
    "harm myself",
    "harming myself",
    "self harm",
    "self harming",
    "self harmed",
    "selfharm",
    "self injury",
    "self injure",
    "self injuring",
    "cut myself",
    "cutting myself",
    "burn myself",
    "burning myself",
    # overdose
    "overdose",
    "overdosed",
    "overdosing",
    "too many pills",
    "going to od",
    "gonna od",
    "want to od",
)
PLEA_PHRASES: tuple[str, ...] = (
    # asking for a person
    "call me",
    "someone call",
    "somebody call",
    "anyone call",
    "can you call",
    "could you call",
    "please call",
    "pls call",
    "need a call",
    "want a call",
    "call back",
    "talk to someone",
    "talk to somebody",
    "talk to anyone",
    "talk to my therapist",
    "talk to my coach",
    "speak to someone",
    "speak with someone",
    "need to talk",
    "need someone",
    "need somebody",
    "need my therapist",
    "need my coach",
    "need help",
    "need support",
    "help me",
    "please help",
    "help please",
    # not coping
    "struggling",
    "cant cope",
    "can not cope",
    "cannot cope",
    "not coping",
    "falling apart",
    "cant do this",
    "cant take it",
    "cant take this",
    "freaking out",
    "panic attack",
    "panicking",
    "having a hard time",
    "really hard time",
    "not okay",
    "not ok",
    "losing it",
    "overwhelmed",
)
# Idioms taken out before matching (never a whole phrase above, so other phrases still match).
CRISIS_IDIOMS: tuple[str, ...] = ("cut myself some slack", "cutting myself some slack")

_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u02bc\u0060\u00b4\u2032]")
_CRISIS = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in CRISIS_PHRASES) + r")\b")
_PLEA = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in PLEA_PHRASES) + r")\b")
_IDIOMS = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in CRISIS_IDIOMS) + r")\b")

_GREETINGS = frozenset({"hi", "hey", "hello", "ok", "okay", "just", "please", "pls", "yo", "um"})
_CHECK_IN_STARTS: tuple[tuple[str, ...], ...] = (
    ("check", "in"),
    ("checkin",),
    ("checking", "in"),
)
_SUCCESS = re.compile(
    r"^[\W_]*(?:(?:my|a|small|big|little|another|quick|tiny|huge|today'?s|new)[\W_]+){0,2}"
    r"(?:wins?|success(?:es)?)\b[\W_]*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_RATING_FILLER = (
    r"(?:id say|i d say|i would say|i say|maybe|about|around|like|probably|prob|honestly"
    r"|its|it s|it is|im at|im|i am|at|a|an|um|uh|ok|okay|hmm)"
)
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(
    rf"^(?:{_RATING_FILLER} )*(?P<n>[0-9]{{1,6}}|zero|one|two|three|four|five)"
    r"(?: ?(?:/|out of|of) ?(?:5|five))?$"
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


def crisis_match(body: str) -> str | None:
    """The crisis phrase in `body` (folded), or None."""
    folded = _IDIOMS.sub(" ", fold(body))
    found = _CRISIS.search(folded)
    return found.group(0) if found else None


def _whole_word(body: str) -> str:
    """The message as Twilio compares keywords: trimmed of space and punctuation, case folded."""
    return _EDGES.sub("", unicodedata.normalize("NFKC", body)).casefold()


def _is_check_in(words: list[str]) -> bool:
    while words and words[0] in _GREETINGS:
        words = words[1:]
    return any(tuple(words[: len(start)]) == start for start in _CHECK_IN_STARTS)


def _is_diary(words: list[str]) -> bool:
    """ "diary", "diary card", "hi, diary please": the message is about starting the card."""
    while words and words[0] in _GREETINGS | {"my", "the"}:
        words = words[1:]
    rest = words[1:]
    if rest[:1] == ["card"]:
        rest = rest[1:]
    return bool(words) and words[0] in ("diary", "diarycard") and set(rest) <= _GREETINGS


def classify(body: str) -> Intent:
    """What an inbound text asks for. Never raises, for any string."""
    matched = crisis_match(body)
    if matched:
        return Intent(IntentKind.CRISIS, matched=matched)

    word = _whole_word(body)
    if word in OPT_OUT_WORDS:
        return Intent(IntentKind.OPT_OUT, matched=word)
    if word in OPT_IN_WORDS:
        return Intent(IntentKind.OPT_IN, matched=word)

    folded = fold(body)
    if folded in HELP_MESSAGES or (not folded and "?" in body):
        return Intent(IntentKind.HELP)
    if _is_check_in(folded.split()):
        return Intent(IntentKind.CHECK_IN)
    if _is_diary(folded.split()):
        return Intent(IntentKind.DIARY)

    success = _SUCCESS.match(unicodedata.normalize("NFKC", body).strip())
    if success:
        return Intent(IntentKind.SUCCESS, text=success.group("rest").strip())

    plea = _PLEA.search(folded)
    if plea:
        return Intent(IntentKind.PLEA, matched=plea.group(0))

    rating = _RATING.match(fold(body, keep="/"))
    if rating:
        raw = rating.group("n")
        number = _NUMBER_WORDS[raw] if raw in _NUMBER_WORDS else int(raw)
        if 0 <= number <= 5:
            return Intent(IntentKind.RATING, rating=number)
        return Intent(IntentKind.NUMBER, number=number)
    return Intent(IntentKind.UNKNOWN)
