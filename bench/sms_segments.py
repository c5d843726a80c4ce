"""SMS segments per reply, Spanish and English: what each text costs as the line sends it
(GSM-7: accents GSM-7 lacks folded, 160 characters a segment, 153 when split) against the
same text with every accent kept (UCS-2: 70, then 67). The figures behind docs/spanish.md.

    .venv/bin/python -m bench.sms_segments [--local-line]

Pure: no server, no database. A reply that carries a skill is measured with every built-in
skill of its language (the least and the most segments are printed). "As written" is the
reply built with the folding into GSM-7 turned off (`to_gsm7` replaced by a space-tidy in
`ivr.replies` and `ivr.diary` for the run), so it keeps á í ó ú: what UCS-2 would send.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from ivr import diary, replies
from ivr.gsm import is_gsm7, segments
from ivr.language import Language
from ivr.replies import UnderLockout
from ivr.scripts import CrisisLine, Practice
from ivr.skills import Skill, builtin_skills

NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)  # a Friday evening in St. Louis
LOCKOUT = UnderLockout(NOW + timedelta(hours=5), NOW)
BOTH = (Language.ENGLISH, Language.SPANISH)


def practice(language: Language, local_line: bool) -> Practice:
    line = CrisisLine("Gateway Regional Crisis Line", "+13145550142") if local_line else None
    return Practice(
        name="Riverbend DBT",
        tz=ZoneInfo("America/Chicago"),
        local_crisis_line=line,
        languages=BOTH,
        language=language,
    )


Reply = Callable[[Practice, Skill], str]


def _diary_turns(p: Practice) -> dict[str, str]:
    """Every diary card text: the start, each question as asked next, a wrong answer asked
    again, the sign, the end, the prompt and the reply when the card is off."""
    out = {"diary start": diary.start(None, p, NOW).reply}
    card = diary.start(None, p, NOW).card
    for q in diary.QUESTIONS[1:]:
        asked = dataclasses.replace(card, next_question=diary.QUESTIONS[0].field)
        # Skip to just before `q`: every earlier question answered with its lowest value.
        answers = {
            e.field: (False if e.kind == "yes_no" else 0)
            for e in diary.QUESTIONS[: diary.QUESTIONS.index(q)]
        }
        asked = dataclasses.replace(asked, answers=answers, next_question=q.field)
        previous = diary.QUESTIONS[diary.QUESTIONS.index(q) - 1]
        prior = dataclasses.replace(asked, answers={**answers, previous.field: None})
        prior = dataclasses.replace(prior, next_question=previous.field)
        value = "n" if previous.kind == "yes_no" else "0"
        out[f"diary ask {q.field}"] = diary.answer(prior, value, p, NOW).reply
    out["diary wrong answer"] = diary.answer(card, "9", p, NOW).reply
    out["diary sign (urge 5)"] = diary.answer(card, "5", p, NOW).reply
    last = dataclasses.replace(card, next_question="note")
    out["diary saved"] = diary.answer(last, "n", p, NOW).reply
    done = dataclasses.replace(card, completed=True, next_question=None)
    out["diary done"] = diary.start(done, p, NOW).reply
    out["diary prompt"] = diary.prompt_text(p)
    out["diary not on"] = diary.not_on_reply(p)
    return out


def every_reply(p: Practice, skill: Skill) -> dict[str, str]:
    """Every text a client can be sent, by name, with `skill` where one is carried."""
    out = {
        "check-in prompt": replies.check_in_prompt(p, skill),
        "check-in reminder": replies.check_in_reminder(p),
        "success": replies.success_reply(p),
        "success, bare WIN/LOGRO": replies.success_reply(p, detailed=False),
        "help": replies.help_reply(p),
        "opt-in (START/COMENZAR)": replies.opt_in_reply(p),
        "opt-out (PARAR)": replies.opt_out_reply(p),
        "plea": replies.plea_reply(p),
        "crisis": replies.crisis_reply(p, therapist_told=True),
        "crisis, unknown sender": replies.crisis_reply(p, therapist_told=False),
        "unknown sender": replies.unknown_sender_reply(p),
    }
    out |= {f"rating {r}": replies.rating_reply(p, r, skill) for r in range(6)}
    out |= {
        "lockout: check-in prompt": replies.check_in_prompt(p, skill, LOCKOUT),
        "lockout: reminder": replies.check_in_reminder(p, LOCKOUT),
        "lockout: success": replies.success_reply(p, lockout=LOCKOUT, skill=skill),
        "lockout: help": replies.help_reply(p, LOCKOUT, skill),
        "lockout: opt-in": replies.opt_in_reply(p, LOCKOUT, skill),
        "lockout: plea": replies.plea_reply(p, LOCKOUT, skill),
        "lockout: rating 5": replies.rating_reply(p, 5, skill, LOCKOUT),
    }
    return out | _diary_turns(p)


def _tidy(text: str) -> str:
    return re.sub(" {2,}", " ", text).strip()


@contextmanager
def as_written() -> Iterator[None]:
    """Replies built without folding into GSM-7: every accent kept."""
    with mock.patch.object(replies, "to_gsm7", _tidy), mock.patch.object(diary, "to_gsm7", _tidy):
        yield


def measure(language: Language, local_line: bool) -> list[tuple[str, int, int, int, int]]:
    """(reply, most characters, GSM-7 segments as sent (least-most), UCS-2 as written)."""
    p = practice(language, local_line)
    rows: dict[str, list[tuple[int, int, int]]] = {}
    for skill in builtin_skills(language=language):
        sent = every_reply(p, skill)
        with as_written():
            written = every_reply(p, skill)
        for name, text in sent.items():
            assert is_gsm7(text), (name, text)
            rows.setdefault(name, []).append((len(text), segments(text), segments(written[name])))
    table = []
    for name, figures in rows.items():
        gsm = [f[1] for f in figures]
        ucs = [f[2] for f in figures]
        table.append((name, max(f[0] for f in figures), min(gsm), max(gsm), max(ucs)))
    return table


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local-line", action="store_true", help="with a local crisis line")
    args = parser.parse_args()
    english = {row[0]: row for row in measure(Language.ENGLISH, args.local_line)}
    spanish = measure(Language.SPANISH, args.local_line)
    print(
        f"{'reply':28} {'es chars':>8} {'es GSM-7':>9} {'es UCS-2':>9} {'en chars':>8} "
        f"{'en GSM-7':>9}"
    )
    totals = [0, 0, 0]
    for name, chars, low, high, ucs2 in spanish:
        en = english.get(name)
        en_chars = str(en[1]) if en else "-"
        en_segments = _span(en[2], en[3]) if en else "-"
        print(
            f"{name:28} {chars:>8} {_span(low, high):>9} {ucs2:>9} {en_chars:>8} {en_segments:>9}"
        )
        totals[0] += high
        totals[1] += ucs2
        totals[2] += en[3] if en else 0
    print(
        f"{'total (most of each)':28} {'':>8} {totals[0]:>9} {totals[1]:>9} {'':>8} {totals[2]:>9}"
    )
    print(
        f"Spanish as sent (GSM-7, folded) costs {totals[0] / totals[1]:.0%} of Spanish with "
        f"every accent (UCS-2), and {totals[0] / totals[2]:.0%} of English."
    )


if __name__ == "__main__":
    main()
