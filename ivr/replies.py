"""What the line texts back, and the texts therapists get. Pure: strings in, a string out.

A client's reply is in the language of the practice's view it is given (`Practice.language`,
see `ivr.scripts.speaking`): English or Spanish, one word table each (`_WORDS`). Spanish is
written as a native speaker would text it (usted, gender-neutral), with its accents; texts to
therapists stay English.

Every function returns GSM-7 text of at most 1600 characters, whatever the settings hold:
fields that come from settings or the database (practice name, local crisis line name,
first names, practice-added skills) are folded into GSM-7 and bounded first. Spanish keeps
the é, ñ, ü, ¿ and ¡ GSM-7 has and loses the accent on á, í, ó and ú, which GSM-7 lacks: a
segment stays 160 characters, not UCS-2's 70 (docs/spanish.md has the figures,
bench/sms_segments.py measures them). With the built-in skills and no local line, every
English reply except the under-lockout ones fits in 320 characters; tests pin the numbers.

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
from ivr.language import Language
from ivr.scripts import CrisisLine, Practice, crisis_texted, local_crisis_texted
from ivr.skills import MAX_NAME, MAX_TEXT, Skill

_MAX_PRACTICE_NAME = 60
_MAX_LINE_NAME = 60
_MAX_FIRST_NAME = 30


@dataclass(frozen=True)
class _Words:
    """What a client reads, in one language. {skill}, {name} and {window} are filled in."""

    practice: str  # when the practice has no name
    local_line: str  # when the local crisis line has no name
    a_skill: str  # when a skill has no name
    check_in_question: str
    check_in_prompt: str
    low: str
    middle: str
    high: str
    call_for_coaching: str
    reminder: str
    success: str
    success_bare: str
    therapist_sees: str
    saved: str
    help: str
    opt_in: str
    opt_out: str
    plea_locked: str
    plea: str
    crisis: str
    crisis_told: str
    crisis_end: str
    unknown_sender: str
    lockout_skill: str
    lockout_note: str
    hour: str
    hours: str
    minutes: str


_ENGLISH = _Words(
    practice="the practice",
    local_line="your local crisis line",
    a_skill="A skill",
    check_in_question="How strong are your urges right now, 0-5? Reply with a number.",
    check_in_prompt="A skill to try now, {skill}",
    low="Thanks for checking in. Noticing how you are is a skill too. One to practice today, "
    "{skill}",
    middle="Thanks for checking in. Those urges are real, and you reached out. Try this now, "
    "{skill}",
    high="Thanks for telling us; your care team knows. Try {skill}",
    call_for_coaching="Call this number for coaching.",
    reminder="To finish your check-in, reply with a number 0-5.",
    success="Thank you for sharing your win! Using skills when it is hard takes real effort.",
    success_bare="Thank you for sharing a win! Next time, add a few words after WIN about what "
    "went well.",
    therapist_sees="Your therapist will see it.",
    saved="It is saved for your therapist.",
    help="{name} coaching line: text CHECK-IN for a skill, WIN and what went well to share a "
    "success, or STOP to opt out.",
    opt_in="You will get texts from the {name} coaching line again. Text CHECK-IN for a skill, "
    "HELP for options, or STOP to opt out.",
    opt_out="You won't get texts from the {name} coaching line now. Text START to get them again.",
    plea_locked="Thank you for reaching out. We have let your care team know you texted.",
    plea="Thank you for reaching out. We have let your coach know you asked for a call; a call "
    "back usually comes within {window}. You can also call this number now for coaching.",
    crisis="Please call or text 988 now, any time, to reach the Suicide and Crisis Lifeline. "
    "If you are hurt or in danger, call 911.",
    crisis_told="We have let your care team know you texted.",
    crisis_end="Reaching out was the right thing to do.",
    unknown_sender="This is the {name} coaching line, for the practice's enrolled clients.",
    lockout_skill="A skill for now, {skill}",
    # Under the 24-hour rule: no "24-hour rule" and no end time (see the module's docstring).
    lockout_note="Phone coaching isn't available right now; your therapist can tell you more "
    "at your next session.",
    hour="1 hour",
    hours="{n} hours",
    minutes="{n} minutes",
)
_SPANISH = _Words(
    practice="su consultorio",
    local_line="su línea de crisis local",
    a_skill="Una habilidad",
    check_in_question="¿Qué tan fuertes son sus impulsos en este momento, del 0 al 5? Responda "
    "con un número.",
    check_in_prompt="Una habilidad para practicar ahora. {skill}",
    low="Gracias por hacer su chequeo. Notar cómo se siente también es una habilidad. "
    "Una para practicar hoy. {skill}",
    middle="Gracias por hacer su chequeo. Esos impulsos son reales, y usted buscó apoyo. "
    "Pruebe esto ahora. {skill}",
    high="Gracias por contarnos; su equipo de atención ya lo sabe. Pruebe esto. {skill}",
    call_for_coaching="Llame a este número para recibir coaching.",
    reminder="Para terminar su chequeo, responda con un número del 0 al 5.",
    success="¡Gracias por compartir su logro! Usar las habilidades cuando cuesta requiere mucho "
    "esfuerzo.",
    success_bare="¡Gracias por compartir un logro! La próxima vez, escriba después de LOGRO "
    "unas palabras sobre lo que salió bien.",
    therapist_sees="Su terapeuta lo verá.",
    saved="Quedó guardado para su terapeuta.",
    help="Línea de coaching de {name}: envíe CHEQUEO para recibir una habilidad, LOGRO y lo que "
    "salió bien para compartir un logro, o STOP para darse de baja.",
    opt_in="Volverá a recibir mensajes de la línea de coaching de {name}. Envíe CHEQUEO para "
    "recibir una habilidad, AYUDA para ver las opciones, o STOP para darse de baja.",
    opt_out="Ya no recibirá mensajes de la línea de coaching de {name}. Envíe COMENZAR para "
    "volver a recibirlos.",
    plea_locked="Gracias por escribirnos. Le avisamos a su equipo de atención que usted escribió.",
    plea="Gracias por escribirnos. Le avisamos a su equipo de atención que pidió una llamada; "
    "por lo general le devuelven la llamada en menos de {window}. También puede llamar ahora "
    "a este número para recibir coaching.",
    crisis="Por favor, llame ahora al 988 (oprima 2 para español) o envíe AYUDA al 988 para "
    "hablar con la Línea de Prevención del Suicidio y Crisis, a cualquier hora. Si se hizo "
    "daño o corre peligro, llame al 911.",
    crisis_told="Le avisamos a su equipo de atención que usted escribió.",
    crisis_end="Hizo bien en buscar ayuda.",
    unknown_sender="Esta es la línea de coaching de {name}, solo para las personas inscritas en "
    "su programa.",
    lockout_skill="Una habilidad para este momento. {skill}",
    lockout_note="El coaching telefónico no está disponible en este momento; su terapeuta le "
    "puede explicar más en su próxima sesión.",
    hour="1 hora",
    hours="{n} horas",
    minutes="{n} minutos",
)
_WORDS = {Language.ENGLISH: _ENGLISH, Language.SPANISH: _SPANISH}

CHECK_IN_QUESTION = _ENGLISH.check_in_question
LOCKOUT_NOTE = _ENGLISH.lockout_note
SUCCESS_DIGEST = "You have new success reports from clients to read in coachline."


def words(practice: Practice) -> _Words:
    """The word table for the language this answer is in."""
    return _WORDS[practice.language]


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
        line_name = _field(line.name, _MAX_LINE_NAME) or words(practice).local_line
        line = CrisisLine(line_name, line.number)
    name = _field(practice.name, _MAX_PRACTICE_NAME) or words(practice).practice
    return dataclasses.replace(practice, name=name, local_crisis_line=line)


def crisis_resources(practice: Practice) -> str:
    return crisis_texted(_safe(practice))


def _skill(skill: Skill, practice: Practice) -> str:
    name = _field(skill.name, MAX_NAME) or words(practice).a_skill
    return f"{name}: {_sentence(_field(skill.text, 2 * MAX_TEXT))}"


def _duration(minutes: int, practice: Practice) -> str:
    """ "2 hours", "90 minutes", "1 hour" for a call-back window ("2 horas" in Spanish)."""
    w = words(practice)
    if minutes % 60 == 0:
        hours = minutes // 60
        return w.hour if hours == 1 else w.hours.format(n=hours)
    return w.minutes.format(n=minutes)


def _lockout_tail(practice: Practice, lockout: UnderLockout, skill: Skill | None) -> str:
    """What replies under the 24-hour rule add: a skill (when the reply has none of its own),
    that phone coaching isn't available now, and the crisis resources."""
    w = words(practice)
    parts = [w.lockout_skill.format(skill=_skill(skill, practice))] if skill is not None else []
    parts += [w.lockout_note, crisis_resources(practice)]
    return " ".join(parts)


def _finish(text: str) -> str:
    return clamp(to_gsm7(text))


# --- to clients ------------------------------------------------------------------------------


def check_in_prompt(practice: Practice, skill: Skill, lockout: UnderLockout | None = None) -> str:
    """ "check-in": one skill to do now, then the diary-card question."""
    w = words(practice)
    text = f"{w.check_in_prompt.format(skill=_skill(skill, practice))} {w.check_in_question}"
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
    w = words(practice)
    template = w.low if rating <= 2 else w.middle if rating == 3 else w.high
    text = template.format(skill=_skill(skill, practice))
    # 4-5 tells the client's coach (`ivr.attention`): the reply says so.
    if rating >= 4 and lockout is None:
        text += f" {w.call_for_coaching} {crisis_resources(practice)}"
    if lockout is not None:
        text += " " + _lockout_tail(practice, lockout, None)
    return _finish(text)


def check_in_reminder(practice: Practice, lockout: UnderLockout | None = None) -> str:
    """Something not understood while a check-in is open: ask for the number again, with help.
    Under a lockout it adds no skill of its own: the check-in prompt just gave one."""
    return _finish(words(practice).reminder + " " + help_reply(practice, lockout))


def success_reply(
    practice: Practice,
    *,
    detailed: bool = True,
    lockout: UnderLockout | None = None,
    skill: Skill | None = None,
) -> str:
    """A success was stored. Warm, and it never repeats what the client wrote."""
    w = words(practice)
    text = w.success if detailed else w.success_bare
    if lockout is None:
        text += " " + w.therapist_sees
    else:
        text += f" {w.saved} {_lockout_tail(practice, lockout, skill)}"
    return _finish(text)


def help_reply(
    practice: Practice, lockout: UnderLockout | None = None, skill: Skill | None = None
) -> str:
    """ "help", "info", or not understood: the keywords and the crisis resources, short."""
    w = words(practice)
    text = w.help.format(name=_safe(practice).name)
    if lockout is None:
        text += f" {w.call_for_coaching} {crisis_resources(practice)}"
    else:
        text += " " + _lockout_tail(practice, lockout, skill)
    return _finish(text)


def opt_in_reply(
    practice: Practice, lockout: UnderLockout | None = None, skill: Skill | None = None
) -> str:
    """START, UNSTOP or YES (or COMENZAR)."""
    text = words(practice).opt_in.format(name=_safe(practice).name)
    if lockout is not None:
        text += " " + _lockout_tail(practice, lockout, skill)
    return _finish(text)


def opt_out_reply(practice: Practice) -> str:
    """An opt-out word Twilio does not act on (PARAR): the line stops its own texts, and says
    so (Twilio answers its own words itself), with how to start again and the crisis
    resources."""
    text = words(practice).opt_out.format(name=_safe(practice).name)
    return _finish(f"{text} {crisis_resources(practice)}")


def plea_reply(
    practice: Practice, lockout: UnderLockout | None = None, skill: Skill | None = None
) -> str:
    """A client asked for a person or said they are not coping: their coach has been told.
    Under the 24-hour rule phone coaching stays paused, and the crisis resources lead."""
    w = words(practice)
    if lockout is not None:
        return _finish(f"{w.plea_locked} {_lockout_tail(practice, lockout, skill)}")
    window = _duration(practice.callback_window_minutes, practice)
    return _finish(f"{w.plea.format(window=window)} {crisis_resources(practice)}")


def crisis_reply(practice: Practice, *, therapist_told: bool) -> str:
    """Crisis language: leads with 988 (call or text) and 911, then the practice's local line."""
    w = words(practice)
    text = w.crisis + local_crisis_texted(_safe(practice))
    if therapist_told:
        text += " " + w.crisis_told
    return _finish(f"{text} {w.crisis_end}")


def unknown_sender_reply(practice: Practice) -> str:
    """A number that is no enrolled client's: what the line is, and the crisis resources."""
    text = words(practice).unknown_sender.format(name=_safe(practice).name)
    return _finish(f"{text} {crisis_resources(practice)}")


def therapist_usage_reply(practice: Practice) -> str:
    """A therapist texted the line: there are no text commands yet (therapists read English)."""
    name = _field(practice.name, _MAX_PRACTICE_NAME) or _ENGLISH.practice
    return _finish(
        f"This is the {name} coaching line. Text commands for therapists are not available "
        "yet: please use the coachline dashboard."
    )


# --- to therapists (in English: therapists keep their language) -------------------------------


def therapist_notice(first_name: str, rest: str) -> str:
    """A text to a therapist that starts with a first name (GSM-7, bounded), e.g. "Riley" +
    "left a voice message on the coaching line." Never anything clinical in `rest`."""
    name = _field(first_name, _MAX_FIRST_NAME) or "A client"
    name = name[:1].upper() + name[1:]  # it starts the sentence (scripts.first_name: "a client")
    return _finish(f"{name} {rest}")


def therapist_crisis_notice(first_name: str, *, in_spanish: bool = False) -> str:
    """Crisis language from a client: a first name, and nothing clinical (but the language,
    when it was Spanish: whoever calls back knows which to speak)."""
    where = "the line in Spanish" if in_spanish else "the line"
    return therapist_notice(first_name, f"texted {where} and may need support.")


def therapist_success_digest() -> str:
    """At most once a day, when there are successes the therapist has not read."""
    return SUCCESS_DIGEST
