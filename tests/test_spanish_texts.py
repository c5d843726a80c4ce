"""Spanish by text (issue 24): what a Spanish-speaking client reads, end to end through signed
SMS webhooks, and the pure rules under it (ivr.texts, ivr.replies, ivr.diary).

The leak test gathers every English sentence from the word tables (replies, the diary card,
the English skills, the English crisis resources) and asserts none appears in any text a
Spanish client is sent."""

from __future__ import annotations

import re
import unicodedata
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from app.diary import prompt_pass
from app.models import (
    AttentionItem,
    CheckIn,
    Client,
    DiaryEntry,
    Lockout,
    Message,
    PracticeSetting,
    Success,
)
from ivr import diary, diary_words, replies, texts
from ivr.gsm import MAX_BODY_CHARS, is_gsm7, segments, to_gsm7
from ivr.language import Language
from ivr.replies import UnderLockout
from ivr.scripts import CrisisLine, Practice, crisis_texted, speaking
from ivr.skills import builtin_skills
from ivr.texts import (
    CRISIS_PHRASES,
    SPANISH_CRISIS_PHRASES,
    IntentKind,
    classify,
    crisis_language,
    fold,
)
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.twilio_driver import TwilioDriver

RILEY = "+13145550142"  # set to Spanish
JORDAN = "+13145550143"  # English
DANA = "+13145550111"
TZ = ZoneInfo("America/Chicago")
BOTH = (Language.ENGLISH, Language.SPANISH)
ES = Practice(name="Riverbend DBT", tz=TZ, languages=BOTH, language=Language.SPANISH)
EN = Practice(name="Riverbend DBT", tz=TZ, languages=BOTH)
ES_LINE = Practice(
    name="Riverbend DBT",
    tz=TZ,
    languages=BOTH,
    language=Language.SPANISH,
    local_crisis_line=CrisisLine("Gateway Regional Crisis Line", "+13145550142"),
)
SPANISH_SKILLS = builtin_skills(language=Language.SPANISH)
ENGLISH_SKILLS = builtin_skills()
LOCKOUT = UnderLockout(NOW + timedelta(hours=4), NOW)


# --- the English sentences a Spanish client must never read ------------------------------------


def _fragments(text: str) -> list[str]:
    """The English word runs of a template: split at placeholders and sentence marks, kept
    when three words or more (shorter ones, like "Riverbend DBT", are no sentence)."""
    parts = re.split(r"\{[a-z_]+\}|[.!?;:,()]", text)
    return [p.strip() for p in parts if len(re.findall(r"[A-Za-z]{2,}", p)) >= 3]


def english_sentences() -> set[str]:
    tables = [replies._WORDS[Language.ENGLISH], diary_words.WORDS[Language.ENGLISH]]
    found = {f for table in tables for value in vars(table).values() for f in _fragments(value)}
    found |= {f for q in diary.QUESTIONS for f in _fragments(q.ask)}
    found |= set(_fragments(diary_words.SKILLS_LEGEND))
    found |= {f for s in ENGLISH_SKILLS for f in _fragments(s.text)}
    found |= set(_fragments(crisis_texted(EN)))
    found |= set(_fragments(replies.therapist_usage_reply(EN)))
    return found


ENGLISH = english_sentences()
ENGLISH_KEYWORDS = re.compile(r"\b(CHECK-IN|WIN|HELP|DIARY|SKIP|START)\b")


def assert_spanish(text: str | None, *, crisis: bool = True) -> str:
    """A text a Spanish client reads: GSM-7, bounded, no English sentence or keyword, and the
    crisis resources (988 and 911) when `crisis`."""
    assert text is not None
    assert is_gsm7(text) and 0 < len(text) <= MAX_BODY_CHARS, text
    lowered = text.lower()
    leaked = [s for s in ENGLISH if s.lower() in lowered]
    assert not leaked, (leaked, text)
    assert not ENGLISH_KEYWORDS.search(text), text
    if crisis:
        assert "988" in text and "911" in text, text
    return text


def test_the_leak_test_finds_english():
    assert len(ENGLISH) > 100
    with pytest.raises(AssertionError):
        assert_spanish(replies.help_reply(EN, None), crisis=False)
    with pytest.raises(AssertionError):
        assert_spanish(replies.check_in_prompt(ES, ENGLISH_SKILLS[0]), crisis=False)


# --- pure: every Spanish reply ----------------------------------------------------------------


def every_reply(practice: Practice, skill) -> dict[str, tuple[str, bool]]:
    """Every reply a client can read, by name, with whether the English one carries 988/911."""
    out = {
        "prompt": (replies.check_in_prompt(practice, skill), False),
        "reminder": (replies.check_in_reminder(practice), True),
        "success": (replies.success_reply(practice), False),
        "success_bare": (replies.success_reply(practice, detailed=False), False),
        "help": (replies.help_reply(practice), True),
        "opt_in": (replies.opt_in_reply(practice), False),
        "opt_out": (replies.opt_out_reply(practice), True),
        "plea": (replies.plea_reply(practice), True),
        "crisis": (replies.crisis_reply(practice, therapist_told=True), True),
        "crisis_unknown": (replies.crisis_reply(practice, therapist_told=False), True),
        "unknown_sender": (replies.unknown_sender_reply(practice), True),
        "diary_prompt": (diary.prompt_text(practice), False),
        "diary_not_on": (diary.not_on_reply(practice), False),
    }
    for r in range(6):
        out[f"rating_{r}"] = (replies.rating_reply(practice, r, skill), r >= 4)
    out |= {
        "lock_prompt": (replies.check_in_prompt(practice, skill, LOCKOUT), True),
        "lock_reminder": (replies.check_in_reminder(practice, LOCKOUT), True),
        "lock_success": (replies.success_reply(practice, lockout=LOCKOUT, skill=skill), True),
        "lock_help": (replies.help_reply(practice, LOCKOUT, skill), True),
        "lock_opt_in": (replies.opt_in_reply(practice, LOCKOUT, skill), True),
        "lock_plea": (replies.plea_reply(practice, LOCKOUT, skill), True),
    }
    for r in range(6):
        out[f"lock_rating_{r}"] = (replies.rating_reply(practice, r, skill, LOCKOUT), True)
    return out


@pytest.mark.parametrize("skill", SPANISH_SKILLS, ids=lambda s: s.key)
def test_every_spanish_reply_is_spanish_with_988_and_911_where_english_has_them(skill):
    english = every_reply(EN, ENGLISH_SKILLS[0])
    for practice in (ES, ES_LINE):
        for name, (text, crisis) in every_reply(practice, skill).items():
            english_text = english[name][0]
            assert crisis == ("988" in english_text and "911" in english_text), name
            assert_spanish(text, crisis=crisis)
            if practice is ES_LINE and crisis:
                assert "Gateway Regional Crisis Line" in text, name


@pytest.mark.parametrize("skill", SPANISH_SKILLS, ids=lambda s: s.key)
def test_spanish_replies_fit_their_segments(skill):
    # bench/sms_segments.py prints the figures (docs/spanish.md): GSM-7, folded.
    for name, (text, _crisis) in every_reply(ES, skill).items():
        assert segments(text) <= (5 if name.startswith("lock") else 3), (name, len(text))


def test_spanish_keeps_what_gsm7_has_and_folds_the_rest():
    text = replies.crisis_reply(ES, therapist_told=True)
    assert "español" in text and "Línea" not in text and "Linea de Prevencion" in text
    assert replies.success_reply(ES).startswith("¡Gracias por compartir su logro!")
    assert replies.check_in_prompt(ES, SPANISH_SKILLS[0]).endswith(
        "¿Qué tan fuertes son sus impulsos en este momento, del 0 al 5? Responda con un numero."
    )


def test_the_crisis_reply_in_spanish_leads_with_988_and_its_spanish_options():
    text = replies.crisis_reply(ES, therapist_told=True)
    assert text.startswith("Por favor, llame ahora al 988 (oprima 2 para español)")
    assert "envie AYUDA al 988" in text and "llame al 911" in text
    assert "Le avisamos a su equipo de atencion" in text
    assert "avisamos" not in replies.crisis_reply(ES, therapist_told=False)


def test_the_diary_card_in_spanish_asks_every_question_in_spanish():
    turn = diary.start(None, ES, NOW)
    assert turn.reply.startswith("Tarjeta diaria del viernes 27 de noviembre.")
    assert_spanish(turn.reply, crisis=False)
    for q in diary.QUESTIONS:
        assert_spanish(to_gsm7(diary.SPANISH_ASK[q.field]), crisis=False)
        card = diary.Card(day=turn.card.day, next_question=q.field, asked_at=NOW, started=True)
        wrong = diary.answer(card, "9" if q.kind != "note" else "n", ES, NOW)
        assert_spanish(wrong.reply, crisis=False)
    sign = diary.answer(turn.card, "5", ES, NOW)
    assert sign.sign and assert_spanish(sign.reply).startswith("Gracias por contarnos")


@pytest.mark.parametrize(
    ("body", "expected", "waiting"),
    [
        ("3 0 y 1", {"urge_self_harm": 3, "urge_suicide": 0, "urge_use": 1}, "acted_self_harm"),
        ("3, 0 y 1 n sí", {"urge_use": 1, "acted_self_harm": False}, "acted_use"),
        ("s", {"urge_self_harm": None}, "urge_self_harm"),  # not SKIP: a wrong answer here
        ("saltar 2", {"urge_self_harm": None, "urge_suicide": 2}, "urge_use"),
        ("vergüenza 2", {"shame": 2}, "urge_self_harm"),
        ("cinco", {"urge_self_harm": 5}, "urge_suicide"),
        ("actué consumo s", {"acted_use": True}, "urge_self_harm"),
    ],
)
def test_spanish_answers_to_the_card(body, expected, waiting):
    card = diary.start(None, ES, NOW).card
    turn = diary.answer(card, body, ES, NOW)
    for name, value in expected.items():
        assert turn.card.value(name) == value, name
    assert turn.card.next_question == waiting


def test_a_spanish_note_and_no_note():
    card = diary.Card(day=NOW.date(), next_question="note", asked_at=NOW, started=True)
    assert diary.answer(card, "nota: fue un día difícil", ES, NOW).card.value("note") == (
        "fue un día difícil"
    )
    assert diary.answer(card, "nada", ES, NOW).card.value("note") is None


# --- pure: keywords and crisis words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("ayuda", IntentKind.HELP),
        ("AYUDA!", IntentKind.HELP),
        ("Información", IntentKind.HELP),
        ("chequeo", IntentKind.CHECK_IN),
        ("Hola, quiero hacer un chequeo", IntentKind.CHECK_IN),
        ("CHEQUEO por favor", IntentKind.CHECK_IN),
        ("diario", IntentKind.DIARY),
        ("Tarjeta diaria, por favor", IntentKind.DIARY),
        ("logro: salí a caminar", IntentKind.SUCCESS),
        ("Éxito hablé con mi hermana", IntentKind.SUCCESS),
        ("parar", IntentKind.OPT_OUT),
        ("Cancelar", IntentKind.OPT_OUT),
        ("darme de baja", IntentKind.OPT_OUT),
        ("comenzar", IntentKind.OPT_IN),
        ("llámeme por favor", IntentKind.PLEA),
        ("ya no puedo más", IntentKind.PLEA),
        ("necesito ayuda", IntentKind.PLEA),
        ("como un 3", IntentKind.RATING),
        ("tres de cinco", IntentKind.RATING),
        ("baja", IntentKind.UNKNOWN),  # not an opt-out: "low" answers "how strong?"
        ("alto", IntentKind.UNKNOWN),
    ],
)
def test_spanish_keywords(body, kind):
    assert classify(body).kind is kind


def test_what_twilio_answers_and_what_the_line_answers():
    assert classify("STOP").by_twilio and classify("cancel").by_twilio
    assert not classify("parar").by_twilio and not classify("comenzar").by_twilio
    assert classify("logro corrí").text == "corrí" and classify("logro corrí").language == "es"


def _accented(phrase: str) -> list[str]:
    """A folded phrase as people write it: with its accents where Spanish puts them."""
    accents = {
        "dano": "daño",
        "corte": "corté",
        "lastime": "lastimé",
        "razon": "razón",
        "ojala": "ojalá",
        "autolesion": "autolesión",
        "tome": "tomé",
        "suicide": "suicidé",
        "suicidare": "suicidaré",
        "haciendome": "haciéndome",
        "cortandome": "cortándome",
        "lastimandome": "lastimándome",
        "suicidandome": "suicidándome",
        "autodano": "autodaño",
    }
    written = " ".join(accents.get(word, word) for word in phrase.split())
    return [phrase, written, written.upper(), written.capitalize()]


@pytest.mark.parametrize(
    "body", [v for p in SPANISH_CRISIS_PHRASES for v in _accented(p)], ids=lambda b: b
)
def test_every_spanish_crisis_phrase_with_and_without_accents_in_any_case(body):
    for sentence in (body, f"Hoy {body}, de verdad.", f"no sé... {body}!!"):
        intent = classify(sentence)
        assert intent.kind is IntentKind.CRISIS, sentence
        assert crisis_language(sentence) is Language.SPANISH, sentence


@pytest.mark.parametrize("phrase", CRISIS_PHRASES)
def test_every_english_crisis_phrase_still_holds_with_stray_accents(phrase):
    accented = unicodedata.normalize("NFC", phrase.replace("e", "é", 1).replace("i", "í", 1))
    for body in (phrase, accented, phrase.upper()):
        assert classify(f"honestly {body} tonight").kind is IntentKind.CRISIS, body
        assert crisis_language(body) is Language.ENGLISH, body


@pytest.mark.parametrize(
    "body",
    ["quiero morir", "Me corté", "suicidarme", "ME QUIERO MATAR", "no quiero vivir", "matarme"]
    + ["hacerme daño", "hacerme dano", "cortarme", "me corte", "Quiero Morirme"],
)
def test_the_examples_from_the_issue(body):
    assert classify(body).kind is IntentKind.CRISIS
    assert crisis_language(body, prefer=Language.ENGLISH) is Language.SPANISH


def test_when_both_languages_match_the_longer_phrase_then_the_clients_own_decides():
    assert crisis_language("me suicidé", prefer=Language.ENGLISH) is Language.SPANISH
    assert crisis_language("I want to kill myself, me corté") is Language.ENGLISH
    tie = "suicidal, me corté"  # eight letters each
    assert crisis_language(tie, prefer=Language.SPANISH) is Language.SPANISH
    assert crisis_language(tie, prefer=Language.ENGLISH) is Language.ENGLISH
    assert crisis_language("hola") is None


def test_no_se_me_corte_is_crisis_not_a_dropped_call():
    assert classify("no sé, me corté").kind is IntentKind.CRISIS
    assert classify("se me cortó la llamada").kind is IntentKind.UNKNOWN


@pytest.mark.parametrize(
    "body",
    [
        "mi mamá va a matarme si llego tarde",
        "me quiero morir de la vergüenza",
        "me corté el pelo ayer",
        "se me cortó la llamada",
        "casi me muero de risa",
        "hoy me fue bien",
        "la línea de crisis",
    ],
)
def test_spanish_idioms_are_not_crisis(body):
    assert classify(body).kind is not IntentKind.CRISIS


def test_an_idiom_does_not_hide_another_phrase():
    assert classify("me corté el pelo y luego me corté el brazo").kind is IntentKind.CRISIS


@pytest.mark.parametrize(
    "body",
    [
        "Ayer me corté cocinando",
        "Escuadrón Suicida es mi película favorita",
        "No quiero vivir en esta ciudad",
        "Corrí 5 kms hoy",
    ],
)
def test_known_spanish_false_positives(body):
    assert classify(body).kind is IntentKind.CRISIS
    assert body in texts.__doc__


@pytest.mark.parametrize(
    "body",
    ["ya no quiero estar aquí", "quiero desaparecer", "me mato trabajando", "quemarme"]
    + ["me tomé todo", "sucidarme"],
)
def test_known_spanish_false_negatives(body):
    assert classify(body).kind is not IntentKind.CRISIS
    assert fold(body) in fold(texts.__doc__)


_IDIOM_WORDS = {w for idiom in texts.SPANISH_IDIOMS for w in idiom.split()}


@given(
    prefix=st.text(),
    suffix=st.text(),
    phrase=st.sampled_from(SPANISH_CRISIS_PHRASES),
    separator=st.sampled_from([" ", "  ", "\n", "\t", " - ", "\u00a0"]),
)
def test_spanish_crisis_phrases_match_anywhere(prefix, suffix, phrase, separator):
    around = set(fold(prefix).split()[-3:] + fold(suffix).split()[:3])
    assume(not around & _IDIOM_WORDS)
    body = f"{prefix} {phrase.replace(' ', separator)} {suffix}"
    assert classify(body).kind is IntentKind.CRISIS


# --- end to end: signed texts in, replies out ------------------------------------------------


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


def offer_spanish(db, on: bool = True) -> None:
    db.merge(PracticeSetting(key="offer_spanish", value=on, updated_at=NOW))
    db.commit()


@pytest.fixture
def spanish(db, people) -> dict[str, int]:
    """The line offers Spanish; Riley reads Spanish and has the diary card on; Jordan reads
    English."""
    offer_spanish(db)
    riley = db.get(Client, people["riley"])
    riley.language, riley.diary_opt_in = "es", True
    db.commit()
    return people


def text(driver: TwilioDriver, body: str, sender: str = RILEY) -> str | None:
    result = driver.sms(from_=sender, body=body)
    assert result.error is None
    assert len(result.replies) <= 1
    return result.replies[0].body if result.replies else None


def notices(db) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.kind == "notification")))


def items(db, kind: str) -> list[AttentionItem]:
    db.expire_all()
    return list(db.scalars(select(AttentionItem).where(AttentionItem.kind == kind)))


SPANISH_NAMES = {s.name for s in SPANISH_SKILLS}


def spanish_skill_in(reply: str) -> str:
    names = [n for n in SPANISH_NAMES if n.translate(str.maketrans("áíóú", "aiou")) in reply]
    assert names, reply
    return max(names, key=len)


def test_a_check_in_and_every_rating_in_spanish(driver, db, spanish):
    for rating in range(6):
        prompt = assert_spanish(text(driver, "chequeo"), crisis=False)
        assert "¿Qué tan fuertes son sus impulsos" in prompt
        spanish_skill_in(prompt)
        reply = assert_spanish(text(driver, str(rating)), crisis=rating >= 4)
        spanish_skill_in(reply)
    db.expire_all()
    assert [c.urge_rating for c in db.scalars(select(CheckIn).order_by(CheckIn.id))] == [
        0,
        1,
        2,
        3,
        4,
        5,
    ]
    # The therapist reads English (and nothing clinical).
    assert [n.body for n in notices(db)] == [
        "Riley answered a check-in on the coaching line and may need support."
    ] * 2


def test_check_in_in_english_words_still_answers_in_spanish(driver, spanish):
    assert_spanish(text(driver, "check-in"), crisis=False)
    reminder = assert_spanish(text(driver, "no sé"))
    assert reminder.startswith("Para terminar su chequeo, responda con un numero del 0 al 5.")


def test_success_help_start_and_plea_in_spanish(driver, db, spanish):
    assert assert_spanish(text(driver, "logro: hablé con mi hermana"), crisis=False).endswith(
        "Su terapeuta lo vera."
    )
    assert "LOGRO" in assert_spanish(text(driver, "logro"), crisis=False)
    assert "CHEQUEO" in assert_spanish(text(driver, "ayuda"))
    assert_spanish(text(driver, "help"))
    assert_spanish(text(driver, "¿qué es esto?"))
    assert text(driver, "STOP") is None  # Twilio answers its own word
    assert assert_spanish(text(driver, "START"), crisis=False).startswith("Volvera a recibir")
    plea = assert_spanish(text(driver, "¿me pueden llamar? no estoy bien"))
    assert "menos de 2 horas" in plea
    db.expire_all()
    assert [s.body for s in db.scalars(select(Success).order_by(Success.id))] == [
        "hablé con mi hermana",
        "",
    ]
    assert [n.body for n in notices(db)] == ["Riley texted the coaching line and asked for a call."]


def test_spanish_opt_out_words_are_honoured_and_confirmed_by_the_line(driver, db, spanish):
    reply = assert_spanish(text(driver, "PARAR"))
    assert reply.startswith("Ya no recibira mensajes") and "COMENZAR" in reply
    db.expire_all()
    assert db.get(Client, spanish["riley"]).sms_opted_out is True
    assert text(driver, "chequeo") is None  # nothing proactive while opted out
    assert_spanish(text(driver, "comenzar"), crisis=False)
    db.expire_all()
    assert db.get(Client, spanish["riley"]).sms_opted_out is False
    # An English client who writes it reads the confirmation in English.
    reply = text(driver, "cancelar", sender=JORDAN)
    assert reply.startswith("You won't get texts from the") and "Text START" in reply


@pytest.mark.parametrize("body", ["quiero morir", "Me corté otra vez", "QUIERO SUICIDARME"])
def test_spanish_crisis_words_get_the_spanish_crisis_reply_and_alert(driver, db, spanish, body):
    reply = assert_spanish(text(driver, body))
    assert reply.startswith("Por favor, llame ahora al 988 (oprima 2 para español)")
    [item] = items(db, "crisis_text")
    assert item.client_id == spanish["riley"]
    [notice] = notices(db)
    assert (notice.to_phone, notice.body) == (
        DANA,
        "Riley texted the line in Spanish and may need support.",
    )


def test_an_english_client_who_writes_spanish_crisis_words_reads_spanish(driver, db, people):
    # English only on the line, and Jordan set to English: the crisis reply is still Spanish.
    reply = assert_spanish(text(driver, "me quiero matar", sender=JORDAN))
    assert "988" in reply
    [item] = items(db, "crisis_text")
    assert item.client_id == people["jordan"]
    [notice] = notices(db)
    assert notice.body == "Jordan texted the line in Spanish and may need support."
    # English crisis words get the English reply, as before.
    assert text(driver, "I want to die", sender=JORDAN).startswith("Please call or text 988")


def test_a_spanish_client_who_writes_english_crisis_words_reads_spanish(driver, db, spanish):
    assert_spanish(text(driver, "I want to kill myself"))
    [notice] = notices(db)
    assert notice.body == "Riley texted the line and may need support."


def test_an_unknown_sender_with_spanish_crisis_words(driver, spanish):
    reply = assert_spanish(text(driver, "quiero morir", sender="+13145550188"))
    assert "avisamos" not in reply
    assert_spanish(text(driver, "ayuda", sender="+13145550188"))
    assert "enrolled clients" in text(driver, "help", sender="+13145550188")


def test_without_spanish_on_the_line_a_spanish_client_reads_english(driver, db, spanish):
    offer_spanish(db, False)
    assert "How strong are your urges" in text(driver, "chequeo")
    assert "text CHECK-IN for a skill" in text(driver, "ayuda")
    # ...except the crisis reply to Spanish crisis words.
    assert_spanish(text(driver, "me corté"))
    assert notices(db)[0].body == "Riley texted the line in Spanish and may need support."


def test_under_a_lockout_every_reply_is_spanish_with_the_crisis_resources(driver, db, spanish):
    db.add(
        Lockout(
            client_id=spanish["riley"],
            starts_at=NOW - timedelta(hours=20),
            ends_at=NOW + timedelta(hours=4),
            created_by="dana@example.org",
        )
    )
    db.commit()
    for body in ["chequeo", "3", "no entiendo", "logro: llamé a una amiga", "ayuda"]:
        reply = assert_spanish(text(driver, body))
        assert "El coaching telefonico no esta disponible en este momento" in reply, body
        assert "1:42" not in reply and "24" not in reply, body
    for body in ["llámeme", "START"]:
        assert "no esta disponible" in assert_spanish(text(driver, body)), body
    assert_spanish(text(driver, "quiero morir"))
    assert [n.body for n in notices(db)] == [
        "Riley texted the coaching line and asked for a call.",
        "Riley texted the line in Spanish and may need support.",
    ]


def test_the_whole_diary_card_in_spanish(driver, db, spanish):
    first = assert_spanish(text(driver, "diario"), crisis=False)
    assert first.startswith("Tarjeta diaria del viernes 27 de noviembre.")
    assert first.endswith("¿Impulso de hacerse daño hoy? Del 0 al 5.")
    assert text(driver, "3 0 y 1 n") == "¿Actuo segun el impulso de quitarse la vida? S o N"
    assert text(driver, "n, no") == "¿Tristeza o sufrimiento hoy, en su punto mas alto? Del 0 al 5."
    skills = assert_spanish(text(driver, "2 1 0 1 3"), crisis=False)
    assert skills.startswith("¿Habilidades usadas hoy? Del 0 al 7.")
    assert text(driver, "9") == (
        "Por favor, responda con un numero del 0 al 7, o SALTAR. " + skills
    )
    assert text(driver, "5").startswith("¿Algo mas para su terapeuta?")
    saved = text(driver, "Fue un día difícil pero llamé a mi hermana")
    assert saved == "Su tarjeta diaria del viernes 27 de noviembre quedo guardada. ¡Gracias!"
    db.expire_all()
    row = db.scalar(select(DiaryEntry).where(DiaryEntry.client_id == spanish["riley"]))
    assert (row.urge_self_harm, row.urge_suicide, row.urge_use) == (3, 0, 1)
    assert (row.acted_self_harm, row.acted_suicide, row.acted_use) == (False, False, False)
    assert (row.misery, row.shame, row.anger, row.fear, row.joy, row.skills) == (2, 1, 0, 1, 3, 5)
    assert row.note == "Fue un día difícil pero llamé a mi hermana"
    assert assert_spanish(text(driver, "diario"), crisis=False).endswith(
        "ya esta completa. ¡Gracias!"
    )


def test_a_high_urge_on_the_spanish_card_alerts_in_english(driver, db, spanish):
    text(driver, "diario")
    reply = assert_spanish(text(driver, "5"))
    assert reply.startswith("Gracias por contarnos; su equipo de atencion ya lo sabe.")
    assert reply.endswith("¿Impulso de quitarse la vida? Del 0 al 5.")
    [notice] = notices(db)
    assert notice.body == "Riley filled in a diary card on the coaching line and may need support."


def test_the_diary_card_off_says_so_in_spanish(driver, db, spanish):
    db.get(Client, spanish["riley"]).diary_opt_in = False
    db.commit()
    assert text(driver, "diario").startswith("La tarjeta diaria por mensaje de texto no esta")


def test_the_daily_diary_prompt_goes_in_the_clients_language(db, line, spanish):
    for client_id in (spanish["riley"], spanish["jordan"]):
        row = db.get(Client, client_id)
        row.diary_opt_in = True
        row.diary_prompt_time = time(21, 30)  # NOW is 9:42 PM in St. Louis
    db.commit()
    assert prompt_pass(line) == 2
    db.expire_all()
    prompts = {
        m.to_phone: m.body for m in db.scalars(select(Message).where(Message.kind == "prompt"))
    }
    assert prompts[RILEY].endswith(
        ": es hora de la tarjeta diaria de hoy. Responda DIARIO para empezar."
    )
    assert_spanish(prompts[RILEY], crisis=False)
    assert prompts[JORDAN].endswith("Reply DIARY to start.")


def test_without_the_database_the_crisis_resources_come_in_both_languages(
    driver, db, spanish, line, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    def refused():
        raise OperationalError("connect", {}, Exception("connection refused"))

    line.practice(db)  # the line knows the practice offers Spanish
    real_connect = line.engine.connect
    monkeypatch.setattr(line.engine, "connect", refused)
    try:
        reply = text(driver, "chequeo")
    finally:
        monkeypatch.setattr(line.engine, "connect", real_connect)
    practice = line.known_practice()
    both = crisis_texted(practice) + " " + crisis_texted(speaking(practice, Language.SPANISH))
    assert reply == to_gsm7(both)
    assert reply.startswith("In crisis? Call or text 988") and "oprima 2 para español" in reply
    assert is_gsm7(reply) and segments(reply) == 2


def test_a_rate_limited_spanish_crisis_text_still_gets_the_spanish_resources(
    driver, line, people, monkeypatch
):
    async def refused(sender: str) -> bool:
        return False

    monkeypatch.setattr(line.rate_limits, "text_allowed", refused)
    assert_spanish(text(driver, "quiero morir"))
    assert text(driver, "I want to die").startswith("In crisis? Call or text 988")
    assert text(driver, "hola") is None
