"""ivr.gsm and ivr.replies: every reply variant, its words, its length and its encoding. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr import replies
from ivr.gsm import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_BODY_CHARS,
    clamp,
    is_gsm7,
    segments,
    to_gsm7,
)
from ivr.replies import CHECK_IN_QUESTION, UnderLockout
from ivr.scripts import CrisisLine, Practice, crisis_texted
from ivr.skills import Skill, builtin_skills

TZ = ZoneInfo("America/Chicago")
# A Friday evening in St. Louis (CST): 2026-11-27 21:42 local.
NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)
PRACTICE = Practice(name="Riverbend DBT", tz=TZ)
WITH_LINE = Practice(
    name="Riverbend Dialectical Behavior Therapy Associates",
    tz=TZ,
    local_crisis_line=CrisisLine("Gateway Regional Crisis Line", "+13145550142"),
)
ABSURD = Practice(
    name="The \u201cRiverbend\u201d Practice \U0001f33f \u2014 " + "very long name " * 40,
    tz=TZ,
    local_crisis_line=CrisisLine(
        "Gateway \u2018Crisis\u2019 Line \u2013 " + "a very long local line name " * 30,
        "+13145550142",
    ),
)
BUILTIN = builtin_skills()
LONGEST = max(BUILTIN, key=lambda s: len(s.name) + len(s.text))
HUGE_SKILL = Skill(
    "huge", "distress_tolerance", "Big \U0001f30a Wave " * 20, "Breathe \u2014 " * 400
)
# Lockouts: ending later today, tomorrow, and in two days.
LOCKOUTS = [
    UnderLockout(NOW + timedelta(hours=1), NOW),
    UnderLockout(NOW + timedelta(hours=20), NOW),
    UnderLockout(NOW + timedelta(hours=44), NOW),
]


def every_reply(practice: Practice, skill: Skill) -> dict[str, str]:
    """Every variant a client or therapist can be texted, by name."""
    out = {
        "prompt": replies.check_in_prompt(practice, skill),
        "reminder": replies.check_in_reminder(practice),
        "success": replies.success_reply(practice),
        "success_bare": replies.success_reply(practice, detailed=False),
        "help": replies.help_reply(practice),
        "opt_in": replies.opt_in_reply(practice),
        "crisis_told": replies.crisis_reply(practice, therapist_told=True),
        "crisis": replies.crisis_reply(practice, therapist_told=False),
        "unknown_sender": replies.unknown_sender_reply(practice),
        "therapist_usage": replies.therapist_usage_reply(practice),
        "notice": replies.therapist_crisis_notice("Maya"),
        "digest": replies.therapist_success_digest(),
    }
    for rating in range(6):
        out[f"rating_{rating}"] = replies.rating_reply(practice, rating, skill)
    for i, lockout in enumerate(LOCKOUTS):
        out.update(
            {
                f"lock{i}_prompt": replies.check_in_prompt(practice, skill, lockout),
                f"lock{i}_reminder": replies.check_in_reminder(practice, lockout),
                f"lock{i}_success": replies.success_reply(practice, lockout=lockout, skill=skill),
                f"lock{i}_help": replies.help_reply(practice, lockout, skill),
                f"lock{i}_opt_in": replies.opt_in_reply(practice, lockout, skill),
            }
        )
        for rating in range(6):
            out[f"lock{i}_rating_{rating}"] = replies.rating_reply(practice, rating, skill, lockout)
    return out


# --- gsm ----------------------------------------------------------------------------------------


def test_gsm7_alphabet():
    assert is_gsm7("Hello, world! 0-5? (yes) @ $ _ ; # % & / = <>")
    assert is_gsm7("caf\u00e9 \u00c5 \u00df \u00a3 \u00a5 \u00a7 \u00bf \u00a1 \u0394 \u03a9\n\r")
    assert is_gsm7("{}[]~|^\\\u20ac\f")  # the extension table
    for ch in ["\u2019", "\u201c", "\u2013", "\u2014", "\u2026", "`", "\U0001f600", "\u00e7", "\t"]:
        assert not is_gsm7(f"a{ch}b"), repr(ch)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),  # 160 septets: extension characters cost two
        ("{" * 81, 2),
        # An escape and its character are never split: the euro moves to segment two.
        ("a" * 152 + "\u20ac" + "a" * 152, 3),
        ("\u2019" * 70, 1),  # one smart quote makes it UCS-2: 70, then 67 per segment
        ("\u2019" * 71, 2),
        ("\u2019" * 134, 2),
        ("\u2019" * 135, 3),
        ("a" + "\U0001f600" * 34, 1),  # an emoji is two UTF-16 units
        ("\U0001f600" * 36, 2),
    ],
)
def test_segments(text, count):
    assert segments(text) == count


def test_to_gsm7():
    assert to_gsm7("It\u2019s \u201cfine\u201d \u2013 really\u2026") == 'It\'s "fine" - really...'
    assert (
        to_gsm7("Zo\u00eb \u0141ukasz Fran\u00e7ois caf\u00e9") == "Zoe Lukasz Francois caf\u00e9"
    )
    assert to_gsm7("hi \U0001f600 there") == "hi there"
    assert to_gsm7("\u674e") == ""
    assert to_gsm7("a\tb\u00a0c\u200bd") == "a b cd"


@given(st.text())
def test_to_gsm7_always_gives_gsm7(text):
    assert is_gsm7(to_gsm7(text))


@given(st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))))
def test_gsm7_text_is_kept_as_it_is(text):
    # Text already in GSM-7 (most replies) keeps every character; only runs of spaces close
    # up and the ends are trimmed.
    assert to_gsm7(text) == re.sub(" {2,}", " ", text).strip()


def test_clamp():
    assert clamp("short") == "short"
    long = "word " * 500
    cut = clamp(long)
    assert len(cut) <= MAX_BODY_CHARS and cut.endswith("word...")
    assert clamp("x" * 2000) == "x" * 1597 + "..."


# --- every reply: encoding and length ----------------------------------------------------------


@pytest.mark.parametrize(
    ("practice", "skill"),
    [
        (PRACTICE, LONGEST),
        (WITH_LINE, LONGEST),
        (ABSURD, LONGEST),
        (ABSURD, HUGE_SKILL),
        (PRACTICE, HUGE_SKILL),
    ],
    ids=["plain", "local-line", "absurd-settings", "absurd-everything", "huge-practice-skill"],
)
def test_every_reply_is_gsm7_and_at_most_1600_characters(practice, skill):
    for name, text in every_reply(practice, skill).items():
        assert is_gsm7(text), name
        assert text.isascii(), name  # our own words are plain ASCII, settings are folded
        assert 0 < len(text) <= MAX_BODY_CHARS, name
        assert text == text.strip() and "  " not in text, name


@pytest.mark.parametrize("skill", BUILTIN, ids=lambda s: s.key)
def test_replies_fit_320_characters_where_they_can(skill):
    # Outside a lockout, with the built-in skills and no local line: 320 characters.
    # Under a lockout the reply also carries when coaching resumes and the crisis
    # resources: 480 characters. A local line and a long practice name: 4 segments.
    for name, text in every_reply(PRACTICE, skill).items():
        limit = 480 if name.startswith("lock") else 320
        assert len(text) <= limit, (name, len(text))
    for name, text in every_reply(WITH_LINE, skill).items():
        assert segments(text) <= 4, (name, len(text))


def test_settings_text_is_folded_into_gsm7():
    text = replies.unknown_sender_reply(ABSURD)
    assert text.startswith('This is the The "Riverbend" Practice - very long name')
    assert "Gateway 'Crisis' Line - a very long" in replies.help_reply(ABSURD)
    assert "988" in text and "911" in text


# --- the words -------------------------------------------------------------------------------

SKILL = Skill("paced_breathing", "distress_tolerance", "Paced Breathing", "Breathe out slowly.")


def test_check_in_prompt():
    text = replies.check_in_prompt(PRACTICE, SKILL)
    assert text == (
        "A skill to try now, Paced Breathing: Breathe out slowly. "
        "How strong are your urges right now, 0-5? Reply with a number."
    )
    assert text.endswith(CHECK_IN_QUESTION)


def test_a_skill_text_without_a_full_stop_gets_one():
    skill = Skill("k", "mindfulness", "Notice", "Notice five sounds")
    assert "Notice: Notice five sounds. How strong" in replies.check_in_prompt(PRACTICE, skill)


@pytest.mark.parametrize("rating", [0, 1, 2])
def test_low_ratings(rating):
    text = replies.rating_reply(PRACTICE, rating, SKILL)
    assert text.startswith("Thanks for checking in.")
    assert "Paced Breathing: Breathe out slowly." in text
    assert "988" not in text


def test_a_middle_rating():
    text = replies.rating_reply(PRACTICE, 3, SKILL)
    assert text.startswith("Thanks for checking in.")
    assert "Try this now, Paced Breathing: Breathe out slowly." in text
    assert "988" not in text


@pytest.mark.parametrize("rating", [4, 5])
@pytest.mark.parametrize("practice", [PRACTICE, WITH_LINE])
def test_high_ratings_add_the_crisis_resources(rating, practice):
    text = replies.rating_reply(practice, rating, SKILL)
    assert "your care team knows. Try Paced Breathing: Breathe out slowly." in text
    assert "Call this number for coaching." in text
    assert text.endswith(crisis_texted(practice))


@pytest.mark.parametrize("rating", [-1, 6, 10])
def test_ratings_outside_the_scale_are_a_bug(rating):
    with pytest.raises(ValueError):
        replies.rating_reply(PRACTICE, rating, SKILL)


def test_success_reply_is_warm_and_echoes_nothing():
    text = replies.success_reply(PRACTICE)
    assert text.startswith("Thank you for sharing your win!")
    assert "Your therapist will see it." in text
    bare = replies.success_reply(PRACTICE, detailed=False)
    assert "add a few words after WIN" in bare


def test_help_reply():
    text = replies.help_reply(PRACTICE)
    for word in ("Riverbend DBT", "CHECK-IN", "WIN", "STOP", "Call this number for coaching."):
        assert word in text
    assert text.endswith(crisis_texted(PRACTICE))


def test_check_in_reminder_asks_for_the_number_then_helps():
    text = replies.check_in_reminder(PRACTICE)
    assert text == "To finish your check-in, reply with a number 0-5. " + replies.help_reply(
        PRACTICE
    )


def test_unknown_sender_reply():
    text = replies.unknown_sender_reply(WITH_LINE)
    assert text.startswith("This is the Riverbend Dialectical Behavior Therapy Associates")
    assert text.endswith(crisis_texted(WITH_LINE))
    assert "CHECK-IN" not in text  # the keywords are for enrolled clients


@pytest.mark.parametrize("practice", [PRACTICE, WITH_LINE])
def test_crisis_reply_leads_with_988_and_911(practice):
    text = replies.crisis_reply(practice, therapist_told=True)
    first_two = text.split(". ")[:2]
    assert text.startswith("Please call or text 988 now")
    assert "988" in first_two[0] and "911" in first_two[1]
    assert "We have let your care team know you texted." in text
    assert "care team" not in replies.crisis_reply(practice, therapist_told=False)
    if practice.local_crisis_line:
        assert "Or call Gateway Regional Crisis Line: (314) 555-0142." in text


def test_opt_in_reply():
    text = replies.opt_in_reply(PRACTICE)
    assert "again" in text and "STOP" in text and "CHECK-IN" in text


def test_therapist_usage_reply():
    text = replies.therapist_usage_reply(PRACTICE)
    assert "not available yet" in text and "dashboard" in text


def test_therapist_texts_carry_a_first_name_and_nothing_clinical():
    assert replies.therapist_crisis_notice("Maya") == "Maya texted the line and may need support."
    assert (
        replies.therapist_crisis_notice("Zo\u00eb") == "Zoe texted the line and may need support."
    )
    assert replies.therapist_crisis_notice("") == "A client texted the line and may need support."
    assert replies.therapist_crisis_notice("a client").startswith("A client texted")
    assert replies.therapist_crisis_notice("\u674e").startswith("A client texted")
    assert len(replies.therapist_crisis_notice("M" * 500)) < 100
    assert replies.therapist_success_digest() == (
        "You have new success reports from clients to read in coachline."
    )


# --- under a lockout --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lockout", "when"),
    [
        (LOCKOUTS[0], "today at 10:42 PM"),
        (LOCKOUTS[1], "tomorrow at 5:42 PM"),
        (LOCKOUTS[2], "Sunday, November 29 at 5:42 PM"),
    ],
)
def test_lockout_replies_teach_a_skill_say_the_minimum_and_give_the_crisis_resources(lockout, when):
    variants = {
        "prompt": replies.check_in_prompt(PRACTICE, SKILL, lockout),
        "success": replies.success_reply(PRACTICE, lockout=lockout, skill=SKILL),
        "help": replies.help_reply(PRACTICE, lockout, SKILL),
        "opt_in": replies.opt_in_reply(PRACTICE, lockout, SKILL),
        **{f"rating_{r}": replies.rating_reply(PRACTICE, r, SKILL, lockout) for r in range(6)},
    }
    for name, text in variants.items():
        assert "Paced Breathing: Breathe out slowly." in text, name
        assert replies.LOCKOUT_NOTE in text, name
        # No end time: it dates a self-harm event for whoever reads the phone.
        assert when.split(" at ")[-1] not in text and "24-hour" not in text, name
        assert text.endswith(crisis_texted(PRACTICE)), name
        assert text.count("988") == 1, name
        # Coaching is not on offer, and nothing says the therapist will see it now.
        assert "Call this number" not in text, name
        assert "will see it" not in text, name
    reminder = replies.check_in_reminder(PRACTICE, lockout)
    assert replies.LOCKOUT_NOTE in reminder and when.split(" at ")[-1] not in reminder
    assert reminder.endswith(crisis_texted(PRACTICE))


def test_lockout_replies_name_no_time_in_any_time_zone():
    tokyo = Practice(name="Riverbend DBT", tz=ZoneInfo("Asia/Tokyo"))
    text = replies.help_reply(tokyo, LOCKOUTS[1], SKILL)
    # 2026-11-28 23:42 UTC is 8:42 AM on the 29th in Tokyo: said nowhere.
    assert replies.LOCKOUT_NOTE in text and "8:42" not in text and "tomorrow" not in text


def test_a_broken_local_number_never_costs_the_crisis_resources():
    line = CrisisLine("Nowhere Line", "nope")
    broken = Practice(name="Riverbend DBT", tz=TZ, local_crisis_line=line)
    for name, text in every_reply(broken, LONGEST).items():
        assert "Nowhere" not in text, name
    crisis = replies.crisis_reply(broken, therapist_told=True)
    assert crisis.startswith("Please call or text 988 now") and "911" in crisis
    assert replies.help_reply(broken).endswith(crisis_texted(PRACTICE))
