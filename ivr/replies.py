"""What the line texts back, and the texts therapists get. Pure: strings in, a string out.

Every function returns GSM-7 text of at most 1600 characters, whatever the settings hold:
fields that come from settings or the database (practice name, local crisis line name,
first names, practice-added skills) are folded into GSM-7 and bounded first. With the
built-in skills and no local line, every reply except the under-lockout ones fits in 320
characters; tests pin the numbers.

Texts carry no clinical detail and never echo what the client wrote (minimum necessary).

Under the 24-hour rule a reply says that phone coaching isn't available right now and that
the client's therapist can tell them more, never until when: the rule ends exactly 24 hours
after a self-harm event, so its end dates the event. A text waits on a lock screen, and a
texting number can be faked (the reply goes to the real phone, but it is read by whoever
holds it), so it carries no more than the client needs: a skill, where to turn now (the
crisis resources), and that their therapist knows. No reply to a client names them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from ivr.gsm import clamp, to_gsm7
from ivr.scripts import (
    CrisisLine,
    Practice,
    crisis_texted,
    local_crisis_texted,
    spoken_duration,
)
from ivr.skills import MAX_NAME, MAX_TEXT, Skill

CHECK_IN_QUESTION = "How strong are your urges right now, 0-5? Reply with a number."
SUCCESS_DIGEST = "You have new success reports from clients to read in coachline."

_MAX_PRACTICE_NAME = 60
_MAX_LINE_NAME = 60
_MAX_FIRST_NAME = 30


@dataclass(frozen=True)
class UnderLockout:
    """The client is under the 24-hour rule until `until`; `now` is when we reply."""

    until: datetime
    now: datetime


def _field(text: str, limit: int) -> str:
    """A settings value made safe to text: one line, GSM-7, at most `limit` characters."""
    return clamp(to_gsm7(" ".join(text.split())), limit)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _safe(practice: Practice) -> Practice:
    line = practice.local_crisis_line
    if line is not None:
        try:
            local_crisis_texted(practice)
        except Exception:
            # A local number that does not parse must never cost the client 988 and 911.
            line = None
    if line is not None:
        line_name = _field(line.name, _MAX_LINE_NAME) or "your local crisis line"
        line = CrisisLine(line_name, line.number)
    name = _field(practice.name, _MAX_PRACTICE_NAME) or "the practice"
    return dataclasses.replace(practice, name=name, local_crisis_line=line)


def _crisis(practice: Practice) -> str:
    return crisis_texted(_safe(practice))


def _skill(skill: Skill) -> str:
    name = _field(skill.name, MAX_NAME) or "A skill"
    return f"{name}: {_sentence(_field(skill.text, 2 * MAX_TEXT))}"


# Under the 24-hour rule: no "24-hour rule" and no end time (see the module's docstring).
LOCKOUT_NOTE = (
    "Phone coaching isn't available right now; your therapist can tell you more at your next "
    "session."
)


def _lockout_tail(practice: Practice, lockout: UnderLockout, skill: Skill | None) -> str:
    """What replies under the 24-hour rule add: a skill (when the reply has none of its own),
    that phone coaching isn't available now, and the crisis resources."""
    parts = [f"A skill for now, {_skill(skill)}"] if skill is not None else []
    parts += [LOCKOUT_NOTE, _crisis(practice)]
    return " ".join(parts)


def _finish(text: str) -> str:
    return clamp(to_gsm7(text))


# --- to clients ------------------------------------------------------------------------------


def check_in_prompt(practice: Practice, skill: Skill, lockout: UnderLockout | None = None) -> str:
    """ "check-in": one skill to do now, then the diary-card question."""
    text = f"A skill to try now, {_skill(skill)} {CHECK_IN_QUESTION}"
    if lockout is not None:
        text += " " + _lockout_tail(practice, lockout, None)
    return _finish(text)


def rating_reply(
    practice: Practice, rating: int, skill: Skill, lockout: UnderLockout | None = None
) -> str:
    """The answer to the check-in question: warm, and a skill that fits the rating; 4-5 adds
    the crisis resources (and, outside a lockout, that this number takes coaching calls)."""
    if not 0 <= rating <= 5:
        raise ValueError(f"rating out of range: {rating}")
    if rating <= 2:
        text = (
            "Thanks for checking in. Noticing how you are is a skill too. "
            f"One to practice today, {_skill(skill)}"
        )
    elif rating == 3:
        text = (
            "Thanks for checking in. Those urges are real, and you reached out. "
            f"Try this now, {_skill(skill)}"
        )
    else:
        # 4-5 tells the client's coach (`ivr.attention`): the reply says so.
        text = f"Thanks for telling us; your care team knows. Try {_skill(skill)}"
        if lockout is None:
            text += f" Call this number for coaching. {_crisis(practice)}"
    if lockout is not None:
        text += " " + _lockout_tail(practice, lockout, None)
    return _finish(text)


def check_in_reminder(practice: Practice, lockout: UnderLockout | None = None) -> str:
    """Something not understood while a check-in is open: ask for the number again, with help.
    Under a lockout it adds no skill of its own: the check-in prompt just gave one."""
    return _finish(
        "To finish your check-in, reply with a number 0-5. " + help_reply(practice, lockout)
    )


def success_reply(
    practice: Practice,
    *,
    detailed: bool = True,
    lockout: UnderLockout | None = None,
    skill: Skill | None = None,
) -> str:
    """A success was stored. Warm, and it never repeats what the client wrote."""
    if detailed:
        text = "Thank you for sharing your win! Using skills when it is hard takes real effort."
    else:
        text = (
            "Thank you for sharing a win! Next time, add a few words after WIN about what "
            "went well."
        )
    if lockout is None:
        text += " Your therapist will see it."
    else:
        text += " It is saved for your therapist. " + _lockout_tail(practice, lockout, skill)
    return _finish(text)


def help_reply(
    practice: Practice, lockout: UnderLockout | None = None, skill: Skill | None = None
) -> str:
    """ "help", "info", or not understood: the keywords and the crisis resources, short."""
    name = _safe(practice).name
    text = (
        f"{name} coaching line: text CHECK-IN for a skill, WIN and what went well to share a "
        "success, or STOP to opt out."
    )
    if lockout is None:
        text += f" Call this number for coaching. {_crisis(practice)}"
    else:
        text += " " + _lockout_tail(practice, lockout, skill)
    return _finish(text)


def opt_in_reply(
    practice: Practice, lockout: UnderLockout | None = None, skill: Skill | None = None
) -> str:
    """START, UNSTOP or YES."""
    name = _safe(practice).name
    text = (
        f"You will get texts from the {name} coaching line again. Text CHECK-IN for a skill, "
        "HELP for options, or STOP to opt out."
    )
    if lockout is not None:
        text += " " + _lockout_tail(practice, lockout, skill)
    return _finish(text)


def plea_reply(
    practice: Practice, lockout: UnderLockout | None = None, skill: Skill | None = None
) -> str:
    """A client asked for a person or said they are not coping: their coach has been told.
    Under the 24-hour rule phone coaching stays paused, and the crisis resources lead."""
    if lockout is not None:
        return _finish(
            "Thank you for reaching out. We have let your care team know you texted. "
            + _lockout_tail(practice, lockout, skill)
        )
    window = spoken_duration(practice.callback_window_minutes)
    return _finish(
        "Thank you for reaching out. We have let your coach know you asked for a call; a "
        f"call back usually comes within {window}. You can also call this number now for "
        f"coaching. {_crisis(practice)}"
    )


def crisis_reply(practice: Practice, *, therapist_told: bool) -> str:
    """Crisis language: leads with 988 (call or text) and 911, then the practice's local line."""
    text = (
        "Please call or text 988 now, any time, to reach the Suicide and Crisis Lifeline. "
        "If you are hurt or in danger, call 911." + local_crisis_texted(_safe(practice))
    )
    if therapist_told:
        text += " We have let your care team know you texted."
    text += " Reaching out was the right thing to do."
    return _finish(text)


def unknown_sender_reply(practice: Practice) -> str:
    """A number that is no enrolled client's: what the line is, and the crisis resources."""
    name = _safe(practice).name
    return _finish(
        f"This is the {name} coaching line, for the practice's enrolled clients. "
        + _crisis(practice)
    )


def therapist_usage_reply(practice: Practice) -> str:
    """A therapist texted the line: there are no text commands yet."""
    name = _safe(practice).name
    return _finish(
        f"This is the {name} coaching line. Text commands for therapists are not available "
        "yet: please use the coachline dashboard."
    )


# --- to therapists ---------------------------------------------------------------------------


def therapist_notice(first_name: str, rest: str) -> str:
    """A text to a therapist that starts with a first name (GSM-7, bounded), e.g. "Riley" +
    "left a voice message on the coaching line." Never anything clinical in `rest`."""
    name = _field(first_name, _MAX_FIRST_NAME) or "A client"
    name = name[:1].upper() + name[1:]  # it starts the sentence (scripts.first_name: "a client")
    return _finish(f"{name} {rest}")


def therapist_crisis_notice(first_name: str) -> str:
    """Crisis language from a client: a first name, and nothing clinical."""
    return therapist_notice(first_name, "texted the line and may need support.")


def therapist_success_digest() -> str:
    """At most once a day, when there are successes the therapist has not read."""
    return SUCCESS_DIGEST
