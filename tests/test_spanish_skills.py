"""ivr.skills in Spanish: the same skills as in English, in Spanish words, and no English."""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources

import pytest

from ivr.gsm import is_gsm7, to_gsm7
from ivr.language import Language
from ivr.skills import (
    DISTRESS_TOLERANCE,
    MODULES,
    Skill,
    builtin_skills,
    library,
    pick_skill,
    skill_problems,
)

ENGLISH = builtin_skills()
SPANISH = builtin_skills(language=Language.SPANISH)
EN = {s.key: s for s in ENGLISH}
ES = {s.key: s for s in SPANISH}

# The acronyms Spanish DBT materials keep from English, each explained in Spanish.
KEPT_ACRONYMS = {"TIP", "STOP", "PLEASE", "DEAR", "MAN", "GIVE", "FAST"}
# Common English words, and every word of the English library but those Spanish spells the
# same way: none may stand as a word in a Spanish skill.
SPANISH_TOO = {"a", "imagine", "observe", "pros", "radical", "real", "tense"}
COMMON_ENGLISH = {
    "the", "your", "you", "yourself", "and", "to", "of", "is", "it", "with", "for", "what",
    "when", "then", "now", "try", "this", "that", "be", "are", "do", "on", "if", "feel",
}  # fmt: skip
# Familiar (tú) forms: the line speaks to clients as usted.
TU_WORDS = {"tú", "tu", "tus", "te", "ti", "contigo"}


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", text.lower()))


ENGLISH_WORDS = (
    COMMON_ENGLISH | set().union(*(words(f"{s.name} {s.text}") for s in ENGLISH))
) - SPANISH_TOO


# --- the same library ---------------------------------------------------------------------------


def test_the_spanish_library_is_package_data_shaped_like_the_english():
    raw = resources.files("ivr").joinpath("skills_es.json").read_text(encoding="utf-8")
    rows = json.loads(raw)
    assert [Skill(**row) for row in rows] == SPANISH
    assert all(set(row) == {"key", "module", "name", "text"} for row in rows)


def test_the_same_skills_in_both_languages():
    assert [s.key for s in SPANISH] == [s.key for s in ENGLISH]
    assert {s.key: s.module for s in SPANISH} == {s.key: s.module for s in ENGLISH}
    assert Counter(s.module for s in SPANISH) == Counter(s.module for s in ENGLISH)
    assert set(s.module for s in SPANISH) == set(MODULES)


def test_spanish_names_and_texts_are_unique():
    for field in ("name", "text"):
        values = [getattr(s, field) for s in SPANISH]
        assert len(set(values)) == len(values), field


def test_english_is_the_default_and_a_language_code_works():
    assert builtin_skills(language=Language.ENGLISH) == ENGLISH
    assert builtin_skills(language="es") == SPANISH  # type: ignore[arg-type]
    fresh = builtin_skills(language=Language.SPANISH)
    fresh.clear()
    assert builtin_skills(language=Language.SPANISH) == SPANISH


def test_the_skills_spanish_materials_name_are_there():
    assert ES["wise_mind"].name == "Mente sabia"
    assert ES["radical_acceptance"].name == "Aceptación radical"
    assert ES["opposite_action"].name == "Acción opuesta"
    assert ES["check_the_facts"].name == "Revisar los hechos"
    assert ES["improve_moment"].name == "Mejorar el momento"
    assert ES["pros_and_cons"].name == "Pros y contras"
    assert "TIP" in ES["tipp_cold_water"].name
    assert "STOP" in ES["stop_skill"].name
    assert "PLEASE" in ES["please_skills"].name
    assert {ES[k].name for k in ("dear_man", "give_skills", "fast_skills")} == {
        "DEAR MAN",
        "GIVE",
        "FAST",
    }


# --- each Spanish skill -------------------------------------------------------------------------


@pytest.mark.parametrize("skill", SPANISH, ids=lambda s: s.key)
def test_each_spanish_skill(skill):
    assert skill_problems(skill, language=Language.SPANISH) == []
    # The same shape as the English: one or two sentences, short enough for one reply.
    sentences = re.findall(r"[.!?](?:\s|$)", skill.text)
    assert 1 <= len(sentences) <= 2, skill.text
    assert skill.text.endswith(".")
    assert len(skill.text) <= 145
    assert len(skill.name) <= 24
    assert "  " not in skill.text
    assert not skill.name.endswith((".", ":"))
    # Folded for a text, only the accents go: the same words, all GSM-7.
    for part in (skill.name, skill.text):
        folded = to_gsm7(part)
        assert is_gsm7(folded) and len(folded) == len(part)
    # A question is opened as Spanish opens it.
    assert skill.text.count("?") == skill.text.count("¿")


@pytest.mark.parametrize("skill", SPANISH, ids=lambda s: s.key)
def test_no_english_in_a_spanish_skill(skill):
    english = EN[skill.key]
    assert skill.text != english.text
    if english.name not in ("DEAR MAN", "GIVE", "FAST"):
        assert skill.name != english.name
    for part in (skill.name, skill.text):
        capitals = set(re.findall(r"\b[A-Z]{2,}\b", part))
        assert capitals <= KEPT_ACRONYMS, part
        without_acronyms = re.sub(r"\b[A-Z]{2,}\b", " ", part)
        assert not words(without_acronyms) & ENGLISH_WORDS, part
        for other in ENGLISH:
            if not other.name.isupper():  # an acronym Spanish keeps is no leak
                assert not re.search(rf"\b{re.escape(other.name)}\b", part), other.name


@pytest.mark.parametrize("skill", SPANISH, ids=lambda s: s.key)
def test_a_spanish_skill_speaks_as_usted(skill):
    assert not words(f"{skill.name} {skill.text}") & TU_WORDS


def test_spanish_letters_are_plain_for_a_spanish_skill_only():
    spanish = Skill("k", "mindfulness", "Atención", "¡Respire despacio y piense en algo útil!")
    assert skill_problems(spanish, language=Language.SPANISH) == []
    assert len(skill_problems(spanish)) == 1  # English stays plain ASCII
    smart = Skill("k", "mindfulness", "Atención", "Respire \u2014 despacio.")
    assert skill_problems(smart, language=Language.SPANISH)[0].startswith("name and text")


# --- the library a Spanish client gets ------------------------------------------------------------

OWN = Skill("porch_sit", "mindfulness", "Porch Sit", "Sit outside for three minutes and listen.")
REWORDED = Skill("wise_mind", "mindfulness", "Wise Mind", "Our own wording.")


def test_a_spanish_client_gets_the_spanish_builtins_only():
    assert library([OWN, REWORDED], language=Language.SPANISH) == SPANISH
    assert library(language=Language.SPANISH) == SPANISH


def test_an_english_client_gets_the_practice_skills_as_before():
    skills = library([OWN, REWORDED], language=Language.ENGLISH)
    assert skills == library([OWN, REWORDED])
    assert OWN in skills and REWORDED in skills and EN["wise_mind"] not in skills


# --- picking in Spanish -------------------------------------------------------------------------


@pytest.mark.parametrize("last", SPANISH, ids=lambda s: s.key)
def test_a_spanish_pick_never_repeats_and_keeps_to_the_module(last):
    for seed in range(40):
        assert pick_skill(SPANISH, last_key=last.key, seed=seed).key != last.key
        assert pick_skill(SPANISH, last_key=last.key, seed=seed).module != last.module
        restricted = pick_skill(SPANISH, last_key=last.key, seed=seed, modules=[last.module])
        assert restricted.key != last.key and restricted.module == last.module


def test_a_wait_skill_in_spanish_is_distress_tolerance():
    for seed in range(200):
        skill = pick_skill(
            SPANISH, last_key="paced_breathing", seed=f"CA{seed}", modules=[DISTRESS_TOLERANCE]
        )
        assert skill in SPANISH
        assert skill.module == DISTRESS_TOLERANCE
        assert skill.key != "paced_breathing"


def test_the_same_seed_picks_the_same_skill_in_either_language():
    # The last skill is saved by key: a client who changes language moves on the same way.
    for seed in range(300):
        last = ENGLISH[seed % len(ENGLISH)].key
        english = pick_skill(ENGLISH, last_key=last, seed=f"SM{seed}")
        spanish = pick_skill(SPANISH, last_key=last, seed=f"SM{seed}")
        assert spanish == ES[english.key]


def test_every_spanish_skill_comes_up():
    picks = {pick_skill(SPANISH, last_key=None, seed=f"SM{i}").key for i in range(300)}
    assert picks == set(ES)
