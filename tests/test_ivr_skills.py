"""ivr.skills: the library as data, practice additions, and which skill comes next. Pure."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections import Counter
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.gsm import is_gsm7
from ivr.language import Language
from ivr.skills import (
    DISTRESS_TOLERANCE,
    EMOTION_REGULATION,
    MAX_TEXT,
    MODULES,
    Skill,
    builtin_skills,
    library,
    pick_skill,
    skill_problems,
)

BUILTIN = builtin_skills()
BY_KEY = {s.key: s for s in BUILTIN}

# --- the library as data -----------------------------------------------------------------------


def test_the_library_is_package_data_read_with_importlib_resources():
    raw = resources.files("ivr").joinpath("skills.json").read_text(encoding="utf-8")
    rows = json.loads(raw)
    assert [Skill(**row) for row in rows] == BUILTIN
    assert all(set(row) == {"key", "module", "name", "text"} for row in rows)


def test_at_least_28_skills_and_7_per_module():
    assert len(BUILTIN) >= 28
    counts = Counter(s.module for s in BUILTIN)
    assert set(counts) == set(MODULES)
    assert all(n >= 7 for n in counts.values()), counts


def test_keys_names_and_texts_are_unique():
    for field in ("key", "name", "text"):
        values = [getattr(s, field) for s in BUILTIN]
        assert len(set(values)) == len(values), field


@pytest.mark.parametrize("skill", BUILTIN, ids=lambda s: s.key)
def test_each_builtin_skill(skill):
    assert skill_problems(skill) == []
    # Plain ASCII: no smart quotes, en dashes or emoji; hence GSM-7 too.
    assert skill.text.isascii() and skill.name.isascii()
    assert is_gsm7(skill.text + skill.name)
    # One or two sentences, ending as a sentence, short enough for a 320-character reply.
    sentences = re.findall(r"[.!?](?:\s|$)", skill.text)
    assert 1 <= len(sentences) <= 2, skill.text
    assert skill.text.endswith(".")
    assert len(skill.text) <= 145
    assert len(skill.name) <= 24
    assert "  " not in skill.text
    # The voice flow reads "try {name}. {text}" aloud.
    assert not skill.name.endswith((".", ":"))


def test_builtin_skills_is_a_fresh_list_each_time():
    # app.callers does `builtin_skills() + [...]`: a list, and mutating it changes nothing.
    first = builtin_skills()
    assert isinstance(first, list)
    first.clear()
    assert builtin_skills() == BUILTIN


def test_skills_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BUILTIN[0].key = "other"  # type: ignore[misc]


# --- practice additions -----------------------------------------------------------------------

OWN = Skill("porch_sit", "mindfulness", "Porch Sit", "Sit outside for three minutes and listen.")


def test_library_adds_practice_skills():
    skills = library([OWN])
    assert skills[: len(BUILTIN)] == BUILTIN
    assert skills[-1] == OWN
    assert library() == BUILTIN


def test_english_is_the_default_language():
    # Callers that name no language (and those that name English) get what they always got.
    assert builtin_skills(language=Language.ENGLISH) == BUILTIN
    assert library([OWN], language=Language.ENGLISH) == library([OWN])
    assert skill_problems(OWN, language=Language.ENGLISH) == skill_problems(OWN) == []


def test_a_practice_skill_with_a_builtin_key_replaces_it():
    reworded = Skill("wise_mind", "mindfulness", "Wise Mind", "Our own wording.")
    skills = library([reworded])
    assert len(skills) == len(BUILTIN)
    assert reworded in skills
    assert BY_KEY["wise_mind"] not in skills


@pytest.mark.parametrize(
    ("skill", "field"),
    [
        (Skill("Bad Key", "mindfulness", "n", "t."), "key"),
        (Skill("", "mindfulness", "n", "t."), "key"),
        (Skill("k" * 81, "mindfulness", "n", "t."), "key"),
        (Skill("k", "yoga", "n", "t."), "module"),
        (Skill("k", "mindfulness", "", "t."), "name"),
        (Skill("k", "mindfulness", "n" * 41, "t."), "name"),
        (Skill("k", "mindfulness", "n", ""), "text"),
        (Skill("k", "mindfulness", "n", "t" * (MAX_TEXT + 1)), "text"),
        (Skill("k", "mindfulness", "n", "Breathe \u2014 slowly."), "plain"),
        (Skill("k", "mindfulness", "n", "Breathe \U0001f33f"), "plain"),
        (Skill("k", "mindfulness", "n", "It\u2019s fine."), "plain"),
    ],
)
def test_skill_problems(skill, field):
    problems = skill_problems(skill)
    assert len(problems) == 1
    assert problems[0].startswith(field) or field in problems[0]


def test_a_skill_in_no_known_module_is_accepted_by_the_flow():
    # Construction never raises: a bad database row must not break a call or a text.
    odd = Skill("odd", "custom", "Odd", "Do a thing.")
    assert skill_problems(odd)
    picks = {pick_skill([*BUILTIN, odd], last_key=None, seed=i).key for i in range(400)}
    assert "odd" in picks


# --- picking ----------------------------------------------------------------------------------


@pytest.mark.parametrize("last", BUILTIN, ids=lambda s: s.key)
def test_never_the_same_skill_twice(last):
    for seed in range(60):
        assert pick_skill(BUILTIN, last_key=last.key, seed=seed).key != last.key
        restricted = pick_skill(BUILTIN, last_key=last.key, seed=seed, modules=[last.module])
        assert restricted.key != last.key
        assert restricted.module == last.module


@pytest.mark.parametrize("last", BUILTIN, ids=lambda s: s.key)
def test_the_next_skill_comes_from_another_module(last):
    for seed in range(30):
        assert pick_skill(BUILTIN, last_key=last.key, seed=seed).module != last.module


def test_deterministic_for_a_seed_whatever_the_input_order():
    shuffled = BUILTIN[:]
    random.Random(7).shuffle(shuffled)
    for seed in ["SM0123", "x", 0, 12345]:
        first = pick_skill(BUILTIN, last_key="observe", seed=seed)
        assert pick_skill(BUILTIN, last_key="observe", seed=seed) == first
        assert pick_skill(shuffled, last_key="observe", seed=seed) == first


def test_different_seeds_give_different_skills():
    picks = {pick_skill(BUILTIN, last_key=None, seed=f"SM{i}").key for i in range(300)}
    assert len(picks) == len(BUILTIN)


def test_a_client_texting_check_in_again_and_again_sees_every_module_evenly():
    last: str | None = None
    modules: Counter[str] = Counter()
    seen = set()
    previous_module = None
    for i in range(800):
        skill = pick_skill(BUILTIN, last_key=last, seed=f"SM{i}")
        assert skill.key != last
        assert skill.module != previous_module
        modules[skill.module] += 1
        seen.add(skill.key)
        last, previous_module = skill.key, skill.module
    assert seen == set(BY_KEY)
    for module in MODULES:
        assert 0.18 < modules[module] / 800 < 0.32, modules


def test_restricted_to_modules():
    for seed in range(200):
        skill = pick_skill(BUILTIN, last_key=None, seed=seed, modules=[DISTRESS_TOLERANCE])
        assert skill.module == DISTRESS_TOLERANCE
        both = pick_skill(
            BUILTIN, last_key=None, seed=seed, modules=(DISTRESS_TOLERANCE, EMOTION_REGULATION)
        )
        assert both.module in (DISTRESS_TOLERANCE, EMOTION_REGULATION)


def test_the_restriction_is_ignored_when_nothing_matches():
    # Some skill is better than none (a practice library with no distress tolerance skill).
    only = [OWN, BY_KEY["observe"]]
    assert pick_skill(only, last_key="observe", seed=1, modules=["distress_tolerance"]) == OWN
    assert pick_skill(BUILTIN, last_key=None, seed=1, modules=[]) in BUILTIN


def test_the_last_skill_comes_back_only_when_it_is_the_only_one():
    assert pick_skill([OWN], last_key=OWN.key, seed=3) == OWN


def test_no_skills_at_all_raises():
    with pytest.raises(ValueError):
        pick_skill([], last_key=None, seed=1)


def test_an_unknown_last_key_is_fine():
    assert pick_skill(BUILTIN, last_key="deleted_practice_skill", seed=1) in BUILTIN


@given(
    seed=st.one_of(st.text(), st.integers()),
    last=st.one_of(st.none(), st.sampled_from(sorted(BY_KEY)), st.text()),
    modules=st.one_of(st.none(), st.lists(st.sampled_from(MODULES), max_size=4)),
)
def test_any_seed_never_repeats_and_always_answers(seed, last, modules):
    skill = pick_skill(BUILTIN, last_key=last, seed=seed, modules=modules)
    assert skill in BUILTIN
    assert skill.key != last
    if modules:
        assert skill.module in modules
