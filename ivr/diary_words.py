"""The diary card's words: its questions in the standard order, in English and Spanish, the
names and words a client may answer with (folded), and what the card says. `ivr.diary` reads
the answers and decides the replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ivr.language import Language


@dataclass(frozen=True)
class Question:
    field: str
    kind: Literal["scale", "yes_no", "note"]
    ask: str
    top: int = 5  # a scale's highest value


SKILLS_LEGEND = (
    "0 not thought of, 1-2 thought of, 3 tried but couldn't, 4-5 tried and used (5 helped), "
    "6-7 used without trying (7 helped)"
)

QUESTIONS: tuple[Question, ...] = (
    Question("urge_self_harm", "scale", "Urge to self-harm today, 0-5?"),
    Question("urge_suicide", "scale", "Urge to end your life, 0-5?"),
    Question("urge_use", "scale", "Urge to use drugs or alcohol, 0-5?"),
    Question("acted_self_harm", "yes_no", "Did you self-harm today? Y or N"),
    Question("acted_suicide", "yes_no", "Did you act on urges to end your life? Y or N"),
    Question("acted_use", "yes_no", "Did you use drugs or alcohol? Y or N"),
    Question("misery", "scale", "Misery or sadness at its highest today, 0-5?"),
    Question("shame", "scale", "Shame at its highest, 0-5?"),
    Question("anger", "scale", "Anger at its highest, 0-5?"),
    Question("fear", "scale", "Fear at its highest, 0-5?"),
    Question("joy", "scale", "Joy at its highest, 0-5?"),
    Question("skills", "scale", f"Skills used today, 0-7? {SKILLS_LEGEND}", top=7),
    Question("note", "note", "Anything to add for your therapist? A short note, or N for none."),
)
FIELDS = tuple(q.field for q in QUESTIONS)
BY_FIELD = {q.field: q for q in QUESTIONS}
INDEX = {q.field: i for i, q in enumerate(QUESTIONS)}
# The card's words in Spanish, as the Spanish DBT diary card ("tarjeta diaria") puts them.
SPANISH_LEGEND = (
    "0 ni pensó en ellas, 1-2 pensó en ellas, 3 lo intentó y no pudo, 4-5 las intentó y usó "
    "(5: ayudaron), 6-7 las usó sin proponérselo (7: ayudaron)"
)
SPANISH_ASK = {
    "urge_self_harm": "¿Impulso de hacerse daño hoy? Del 0 al 5.",
    "urge_suicide": "¿Impulso de quitarse la vida? Del 0 al 5.",
    "urge_use": "¿Impulso de consumir alcohol o drogas? Del 0 al 5.",
    "acted_self_harm": "¿Se hizo daño hoy? S o N",
    "acted_suicide": "¿Actuó según el impulso de quitarse la vida? S o N",
    "acted_use": "¿Consumió alcohol o drogas? S o N",
    "misery": "¿Tristeza o sufrimiento hoy, en su punto más alto? Del 0 al 5.",
    "shame": "¿Vergüenza, en su punto más alto? Del 0 al 5.",
    "anger": "¿Enojo, en su punto más alto? Del 0 al 5.",
    "fear": "¿Miedo, en su punto más alto? Del 0 al 5.",
    "joy": "¿Alegría, en su punto más alto? Del 0 al 5.",
    "skills": f"¿Habilidades usadas hoy? Del 0 al 7. {SPANISH_LEGEND}",
    "note": "¿Algo más para su terapeuta? Una nota breve, o N si no hay nada.",
}


def _names(table: str) -> dict[str, str]:
    """ "misery: misery sad | joy: joy" as {"misery": "misery", "sad": "misery", "joy": ...}."""
    pairs = (entry.split(":") for entry in table.replace("\n", "|").split("|") if entry.strip())
    return {name: field.strip() for field, names in pairs for name in names.split()}


def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _list(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# Names a client may put before a value (folded words). Spanish's "si" is "yes", not a name.
_LABELS = _names("""
    urge_self_harm: sh | urge_suicide: si | urge_use: use using | skills: skills skill
    misery: misery miserable sad sadness | shame: shame ashamed | anger: anger angry mad
    fear: fear afraid scared anxious | joy: joy happy
""")
_SPANISH_LABELS = {k: v for k, v in _LABELS.items() if k != "si"} | _names("""
    urge_self_harm: autolesion | urge_suicide: suicidio | urge_use: consumo consumir
    misery: tristeza triste sufrimiento | shame: verguenza | anger: enojo ira rabia
    fear: miedo ansiedad | joy: alegria felicidad | skills: habilidades habilidad
""")
_ACTED_LABELS = _names("acted_self_harm: sh | acted_suicide: si | acted_use: use")
_SPANISH_ACTED_LABELS = _names(
    "acted_self_harm: sh autolesion | acted_suicide: suicidio | acted_use: use consumo"
)
_NUMBER_WORDS = {w: n for n, w in enumerate(_list("zero one two three four five six seven"))}
_SPANISH_NUMBER_WORDS = _NUMBER_WORDS | {
    w: n for n, w in enumerate(_list("cero uno dos tres cuatro cinco seis siete"))
}


@dataclass(frozen=True)
class Reading:
    """The words that answer a card, in one language (folded)."""

    yes: frozenset[str]
    no: frozenset[str]
    skip: frozenset[str]
    acted: frozenset[str]
    labels: dict[str, str]
    acted_labels: dict[str, str]
    numbers: dict[str, int]
    note: frozenset[str]
    ignored: frozenset[str] = frozenset()  # "and" between answers

    @property
    def no_note(self) -> frozenset[str]:
        return self.no | self.skip | word_set("nothing na nada ninguna")


READING = {
    Language.ENGLISH: Reading(
        yes=word_set("y yes yeah yep yup ya"),
        no=word_set("n no nope nah none"),
        skip=word_set("skip x pass s"),
        acted=word_set("acted act did"),
        labels=_LABELS,
        acted_labels=_ACTED_LABELS,
        numbers=_NUMBER_WORDS,
        note=word_set("note"),
    ),
    Language.SPANISH: Reading(
        yes=word_set("s si sip claro yes"),
        no=word_set("n no nop none"),
        skip=word_set("saltar salto paso omitir x skip"),
        acted=word_set("actue actuar acted"),
        labels=_SPANISH_LABELS,
        acted_labels=_SPANISH_ACTED_LABELS,
        numbers=_SPANISH_NUMBER_WORDS,
        note=word_set("nota note"),
        ignored=word_set("y e"),
    ),
}
TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Words:
    """What the card says, in one language."""

    intro: str
    done: str
    saved: str
    sign: str
    yes_no: str
    number: str
    prompt: str
    line: str  # the prompt's name when the practice has none
    not_on: str


WORDS = {
    Language.ENGLISH: Words(
        intro="Diary card for {day}. Answer one at a time or several at once (3 0 1 n). SKIP "
        "skips one.",
        done="Your diary card for {day} is done. Thank you!",
        saved="Your diary card for {day} is saved. Thank you!",
        sign="Thank you for telling us; your care team knows.",
        yes_no="Please answer Y or N.",
        number="Please answer with a number 0-{top}, or SKIP.",
        prompt="{name}: time for today's diary card. Reply DIARY to start.",
        line="Your coaching line",
        not_on="The diary card by text isn't on for you. Your therapist can turn it on if "
        "you'd like it.",
    ),
    Language.SPANISH: Words(
        intro="Tarjeta diaria del {day}. Responda una por una o varias a la vez (3 0 1 n). "
        "SALTAR deja una en blanco.",
        done="Su tarjeta diaria del {day} ya está completa. ¡Gracias!",
        saved="Su tarjeta diaria del {day} quedó guardada. ¡Gracias!",
        sign="Gracias por contarnos; su equipo de atención ya lo sabe.",
        yes_no="Por favor, responda S o N.",
        number="Por favor, responda con un número del 0 al {top}, o SALTAR.",
        prompt="{name}: es hora de la tarjeta diaria de hoy. Responda DIARIO para empezar.",
        line="Su línea de coaching",
        not_on="La tarjeta diaria por mensaje de texto no está activada para usted. Si la "
        "quiere, su terapeuta puede activarla.",
    ),
}
SPANISH_DAYS = _list("lunes martes miércoles jueves viernes sábado domingo")
SPANISH_MONTHS = _list(
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)
