"""The skills library: DBT skills in our own words, as data (`skills.json`, and
`skills_es.json` for Spanish), plus the practice's own additions, and the choice of which one
to offer next.

A skill's text is one or two sentences a client can do right now, alone. It is texted and
also read aloud by the voice flow ("While you wait, try {name}. {text}"), so it is plain
GSM-7 words: no symbols that read badly, no smart quotes.

The Spanish library holds the same skills (same keys, same modules), named as the Spanish
editions of the DBT skills handouts name them, in usted form. It is written with its accents,
for the voice to read right: á í ó ú are outside GSM-7, and the texting side folds them.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ivr.gsm import is_gsm7
from ivr.language import Language

MINDFULNESS = "mindfulness"
DISTRESS_TOLERANCE = "distress_tolerance"
EMOTION_REGULATION = "emotion_regulation"
INTERPERSONAL_EFFECTIVENESS = "interpersonal_effectiveness"
MODULES: tuple[str, ...] = (
    MINDFULNESS,
    DISTRESS_TOLERANCE,
    EMOTION_REGULATION,
    INTERPERSONAL_EFFECTIVENESS,
)

# Limits that keep every reply that carries a skill within 320 characters or close to it.
MAX_KEY = 80  # practice_skills.key is String(80)
MAX_NAME = 40
MAX_TEXT = 160
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# What Spanish writes beyond plain ASCII: a Spanish skill may use these and nothing else.
SPANISH_LETTERS = frozenset("áéíóúüñÁÉÍÓÚÜÑ¿¡")
_DATA = {Language.ENGLISH: "skills.json", Language.SPANISH: "skills_es.json"}


@dataclass(frozen=True)
class Skill:
    """One skill. Construction never validates: a bad practice row must not break a call or
    a text (see `skill_problems`, for the admin API to refuse it on the way in)."""

    key: str
    module: str
    name: str
    text: str


def skill_problems(skill: Skill, *, language: Language = Language.ENGLISH) -> list[str]:
    """Why a practice-added skill should be refused, in words for the admin; empty when fine.
    A Spanish skill may also use Spanish's accented letters and opening marks."""
    problems = []
    if not _KEY.match(skill.key) or len(skill.key) > MAX_KEY:
        problems.append(f"key: lowercase letters, digits, _ or -, at most {MAX_KEY} characters")
    if skill.module not in MODULES:
        problems.append(f"module: one of {', '.join(MODULES)}")
    if not skill.name.strip() or len(skill.name) > MAX_NAME:
        problems.append(f"name: 1 to {MAX_NAME} characters")
    if not skill.text.strip() or len(skill.text) > MAX_TEXT:
        problems.append(f"text: 1 to {MAX_TEXT} characters")
    words = skill.name + skill.text
    if Language(language) is Language.SPANISH:
        words = "".join(ch for ch in words if ch not in SPANISH_LETTERS)
    if not is_gsm7(words) or not words.isascii():
        problems.append("name and text: plain characters only (no smart quotes, dashes or emoji)")
    return problems


@cache
def _builtin(language: Language) -> tuple[Skill, ...]:
    name = _DATA[language]
    raw = resources.files("ivr").joinpath(name).read_text(encoding="utf-8")
    skills = tuple(Skill(s["key"], s["module"], s["name"], s["text"]) for s in json.loads(raw))
    keys = [s.key for s in skills]
    if len(set(keys)) != len(keys):
        raise ValueError(f"ivr/{name}: duplicate skill keys")
    return skills


def builtin_skills(*, language: Language = Language.ENGLISH) -> list[Skill]:
    """The built-in library in `language`, read once from `ivr/skills.json` (English) or
    `ivr/skills_es.json` (Spanish); a new list each call."""
    return list(_builtin(Language(language)))


def library(
    practice_skills: Iterable[Skill] = (), *, language: Language = Language.ENGLISH
) -> list[Skill]:
    """The built-in skills and the practice's own. A practice skill with a built-in's key
    replaces it, so a practice can reword a built-in without a second copy.

    In Spanish it is the built-in Spanish library alone: a practice's own skills are written
    in the practice's words, in English, and a Spanish client is never texted English. (A
    Spanish wording of a practice skill would need a field of its own on the practice skill.)
    """
    language = Language(language)
    if language is not Language.ENGLISH:
        return list(_builtin(language))
    by_key = {s.key: s for s in _builtin(language)}
    for skill in practice_skills:
        by_key[skill.key] = skill
    return list(by_key.values())


def pick_skill(
    skills: Sequence[Skill],
    *,
    last_key: str | None,
    seed: int | str,
    modules: Iterable[str] | None = None,
) -> Skill:
    """The next skill to offer: never `last_key` again, the same for the same seed, spread
    across the modules.

    The module is chosen first (seeded), leaving out the last skill's module when another
    one is possible, then a skill inside it, so consecutive offers move between modules
    and a module with many skills is not favoured. `modules` restricts the choice (a high
    urge rating asks for distress tolerance); when nothing matches it is ignored, because
    some skill is better than none. `last_key` comes back only when it is the only skill.
    Raises ValueError when `skills` is empty.
    """
    everything = sorted(skills, key=lambda s: s.key)  # input order never changes the pick
    if not everything:
        raise ValueError("no skills to pick from")
    wanted = set(modules) if modules is not None else None
    pool = [s for s in everything if wanted is None or s.module in wanted] or everything
    fresh = [s for s in pool if s.key != last_key] or pool

    by_module: dict[str, list[Skill]] = {}
    for skill in fresh:
        by_module.setdefault(skill.module, []).append(skill)
    order = sorted(by_module, key=lambda m: (MODULES.index(m) if m in MODULES else len(MODULES), m))
    last_module = next((s.module for s in everything if s.key == last_key), None)
    if len(order) > 1 and last_module in order:
        order.remove(last_module)

    rng = random.Random(f"skills|{seed}")
    module = rng.choice(order)
    return rng.choice(by_module[module])
