"""The diary card by text, as pure rules: the questions in the standard order, reading short
answers (several at once), the day a card is for, and the replies. `app.diary` loads a
client's card (`Card`), asks here, and saves the `Turn`.

How answers are read (decisions where the issue is silent; tests/test_ivr_diary.py):

- The card waits on one question at a time (`Card.next_question`). Numbers and yes/no words
  fill the questions in order from there: "3 0 1 n" answers the three urges and whether the
  client acted on the first. Commas, slashes and other punctuation separate answers too.
- A name and a value answer that question wherever the card is, e.g. "shame 2", "joy=4",
  "si 1", "skills 6", "acted use n" (out of order, or to correct an answer); the card stays on
  the question it was waiting on. "note ..." keeps the rest of the text as the note.
- "skip" (or "x", "pass") leaves the question it reaches blank and moves on. The card moves
  only forward: a question skipped stays blank unless its name is used. Missing answers and
  missing days are fine.
- An answer that does not fit its question ("7" for an urge, "3" for yes/no, a word) stops
  the reading there: what came before it is kept, and the reply asks that question again
  with its range. "y" and "n" are the only words taken for yes/no ("yes", "yeah", "no", ...).
- At the note, the whole text is the note ("n", "no", "none" or "skip": no note); when the
  answers in one text run past the last number, what follows them is the note.
- An urge of 4 or 5, or a yes to acting on an urge, is a sign for the attention list: once a
  card (`Turn.sign`); the reply says the care team knows and gives the crisis resources.
- In Spanish (the practice view's language) the card asks and answers in Spanish: "s"/"sí" and
  "n"/"no" answer yes/no ("s" is not SKIP there: SALTAR, PASO or X skip), "y" between answers
  is "and" (skipped), NOTA gives the note, and the names are Spanish ("vergüenza 2",
  "actué consumo n") as well as the English ones but "si" (which is "yes").
- A card is for the practice-local date it was started on. It stays open for answers for
  `OPEN_FOR` after its last question; "diary" reopens today's card where it was left, or
  says it is done.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.diary_words import (
    BY_FIELD,
    INDEX,
    QUESTIONS,
    READING,
    SPANISH_ASK,
    SPANISH_DAYS,
    SPANISH_MONTHS,
    TOKEN,
    WORDS,
    Question,
    Reading,
)
from ivr.gsm import clamp, to_gsm7
from ivr.language import Language
from ivr.replies import crisis_resources
from ivr.scripts import Practice
from ivr.texts import fold

OPEN_FOR = timedelta(hours=6)
HIGH_URGE = 4

Answer = int | bool | str | None


def _ask(q: Question, practice: Practice) -> str:
    return SPANISH_ASK[q.field] if practice.spanish else q.ask


@dataclass(frozen=True)
class Card:
    """A client's card for one day, as the rules need it."""

    day: date
    answers: dict[str, Answer] = field(default_factory=dict)
    next_question: str | None = None  # the question waiting for an answer
    asked_at: datetime | None = None
    alerted: bool = False  # the card raised its attention item already
    completed: bool = False
    started: bool = False

    def value(self, name: str) -> Answer:
        return self.answers.get(name)


@dataclass(frozen=True)
class Turn:
    """What one text does to the card: the card to save, the reply, and whether it is a new
    sign for the attention list."""

    card: Card
    reply: str
    sign: bool = False


def diary_day(now: datetime, tz: ZoneInfo) -> date:
    """The day a card started at `now` is for: the practice-local date."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz).date()


def is_open(card: Card | None, now: datetime) -> bool:
    """The card is waiting for an answer, and was asked recently enough to take one."""
    return (
        card is not None
        and not card.completed
        and card.next_question is not None
        and card.asked_at is not None
        and now - card.asked_at < OPEN_FOR
    )


def has_sign(answers: dict[str, Answer]) -> bool:
    """An urge of 4 or 5, or a yes to acting on one."""
    urges = (answers.get(f) for f in ("urge_self_harm", "urge_suicide", "urge_use"))
    acted = (answers.get(f) for f in ("acted_self_harm", "acted_suicide", "acted_use"))
    return any(isinstance(u, int) and u >= HIGH_URGE for u in urges) or any(
        a is True for a in acted
    )


def _finish(text: str) -> str:
    return clamp(to_gsm7(text))


def _first_open(answers: dict[str, Answer], start: int) -> str | None:
    """The first question from `start` on that has no answer (None: past the last)."""
    for q in QUESTIONS[start:]:
        if answers.get(q.field) is None:
            return q.field
    return None


def _day_name(day: date, practice: Practice) -> str:
    """ "Fri Nov 27"; in Spanish "viernes 27 de noviembre" (as a Spanish speaker writes it)."""
    if practice.spanish:
        weekday, month = SPANISH_DAYS[day.weekday()], SPANISH_MONTHS[day.month - 1]
        return f"{weekday} {day.day} de {month}"
    return day.strftime("%a %b ") + str(day.day)


def start(card: Card | None, practice: Practice, now: datetime) -> Turn:
    """ "diary": today's card from where it was left (a new one when there is none yet), or a
    word that it is done."""
    w = WORDS[practice.language]
    today = diary_day(now, practice.tz)
    if is_open(card, now):
        assert card is not None
        today = card.day  # an open card continues, even past midnight
    elif card is None or card.day != today:
        card = Card(day=today)
    if card.completed:
        return Turn(card, _finish(w.done.format(day=_day_name(card.day, practice))))
    position = INDEX.get(card.next_question or "", 0) if card.started else 0
    nxt = _first_open(card.answers, position) or "note"
    intro = "" if card.started else w.intro.format(day=_day_name(card.day, practice)) + " "
    card = dataclasses.replace(card, next_question=nxt, asked_at=now, started=True)
    return Turn(card, _finish(intro + _ask(BY_FIELD[nxt], practice)))


def prompt_due(at: time, now: datetime, tz: ZoneInfo, late: timedelta) -> bool:
    """The client's prompt time today (practice-local wall clock) has come, and is less than
    `late` ago. A time the clocks skip (DST) comes an hour later, as zoneinfo reads it."""
    local = now.astimezone(tz)
    due = datetime.combine(local.date(), at, tzinfo=tz)
    return due <= local < due + late


def prompt_text(practice: Practice) -> str:
    """The daily prompt, in the client's language: discreet on a lock screen (no question in
    it)."""
    w = WORDS[practice.language]
    name = " ".join(to_gsm7(practice.name).split())[:60] or w.line
    return _finish(w.prompt.format(name=name))


def not_on_reply(practice: Practice | None = None) -> str:
    """A client who has not opted in texted "diary"."""
    return _finish(WORDS[practice.language if practice else Language.ENGLISH].not_on)


def _read(q: Question, word: str, r: Reading) -> tuple[bool, Answer]:
    """(fits, value) for one word answering `q`."""
    if q.kind == "yes_no":
        if word in r.yes:
            return True, True
        if word in r.no:
            return True, False
        return False, None
    number = r.numbers.get(word, int(word) if word.isdigit() else None)
    if number is not None and 0 <= number <= q.top:
        return True, number
    return False, None


def _tokens(body: str) -> list[tuple[str, int]]:
    """Each word of `body`, folded, with where it starts in `body`."""
    normal = unicodedata.normalize("NFKC", body)
    return [(fold(m.group(0)), m.start()) for m in TOKEN.finditer(normal) if fold(m.group(0))]


def _problem(q: Question, practice: Practice) -> str:
    w = WORDS[practice.language]
    return w.yes_no if q.kind == "yes_no" else w.number.format(top=q.top)


def answer(card: Card, body: str, practice: Practice, now: datetime) -> Turn:
    """One text answering an open card."""
    body = unicodedata.normalize("NFKC", body)
    r = READING[practice.language]
    answers = dict(card.answers)
    position = INDEX.get(card.next_question or "", 0)
    tokens = [(word, at) for word, at in _tokens(body) if word not in r.ignored]
    note: str | None = None
    done = False
    problem: Question | None = None
    i = 0
    if QUESTIONS[position].kind == "note":
        named = tokens and tokens[0][0] in r.note
        text = body[tokens[0][1] + len(tokens[0][0]) :] if named else body
        note, done = _note(text, r), True
        tokens = []
    while i < len(tokens):
        word, at = tokens[i]
        after = tokens[i + 1][0] if i + 1 < len(tokens) else None
        if word in r.note:
            note = _note(body[at + len(word) :], r)
            done = done or QUESTIONS[position].kind == "note"
            break
        if word in r.acted and (after in r.acted_labels or after in r.yes | r.no):
            target = r.acted_labels.get(after or "")
            skip = 2 if target else 1
            if target is None:  # "acted y": the yes/no question waiting, or the first open one
                waiting = QUESTIONS[position]
                target = waiting.field if waiting.kind == "yes_no" else None
                target = target or next(
                    (f for f in r.acted_labels.values() if answers.get(f) is None),
                    "acted_self_harm",
                )
            value_word = tokens[i + skip][0] if i + skip < len(tokens) else ""
            fits, value = _read(BY_FIELD[target], value_word, r)
            if not fits:
                problem = BY_FIELD[target]
                break
            answers[target] = value
            i += skip + 1
            continue
        if word in r.acted_labels and after in r.yes | r.no:  # "use n": acted on it or not
            answers[r.acted_labels[word]] = after in r.yes
            i += 2
            continue
        if word in r.labels and after is not None:
            target = r.labels[word]
            fits, value = _read(BY_FIELD[target], after, r)
            if not fits:
                problem = BY_FIELD[target]
                break
            answers[target] = value
            i += 2
            continue
        q = QUESTIONS[position]
        if q.kind == "note":
            rest = body[at:]
            note, done = _note(rest, r), True
            break
        if word in r.skip:
            fits, value = True, None
        else:
            fits, value = _read(q, word, r)
        if not fits:
            problem = q
            break
        answers[q.field] = value
        i += 1
        nxt = _first_open(answers, position + 1)
        if nxt is None:  # the note was given by name: nothing left to ask
            done = True
            break
        position = INDEX[nxt]
    if note:
        answers["note"] = note
    if not done:  # a name may have answered the question waiting: ask the next open one
        nxt = _first_open(answers, position)
        done = nxt is None
        position = INDEX[nxt] if nxt else position
    sign = has_sign(answers) and not card.alerted
    card = dataclasses.replace(
        card,
        answers=answers,
        next_question=None if done else QUESTIONS[position].field,
        asked_at=now,
        alerted=card.alerted or sign,
        completed=done,
        started=True,
    )
    w = WORDS[practice.language]
    parts: list[str] = []
    if sign:
        parts.append(f"{w.sign} {crisis_resources(practice)}")
    if done:
        parts.append(w.saved.format(day=_day_name(card.day, practice)))
    elif problem is not None:
        parts.append(f"{_problem(problem, practice)} {_ask(problem, practice)}")
        if problem.field != card.next_question:
            parts.append(_ask(QUESTIONS[position], practice))
    else:
        parts.append(_ask(QUESTIONS[position], practice))
    return Turn(card, _finish(" ".join(parts)), sign)


def _note(text: str, r: Reading) -> str | None:
    """The note as the client typed it; None for "no note"."""
    text = " ".join(text.split()).strip(" :=-")
    if not text or fold(text) in r.no_note:
        return None
    return text[:1000]
