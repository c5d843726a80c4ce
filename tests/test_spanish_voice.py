"""A Spanish-speaking caller hears Spanish (issue 24), end to end through signed webhooks: on
every path the English voice tests cover, no English sentence, every <Say> in the es-US voice,
988 and 911 in every script; callers the line doesn't know are offered Spanish by 2; the
therapist's screening says the call is in Spanish; with Spanish not offered, English.

Timing as in tests/test_first_minute.py: 0.4 s a word, each unanswered ring its timeout.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from string import Formatter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.models import Call, Client
from ivr import endings, voice
from ivr.language import SPANISH_VOICES, Language, voice_for
from ivr.ringing import Caller, Therapist
from ivr.scripts import (
    DEFAULT_GREETING,
    Practice,
    crisis_spoken,
    lifeline_offer,
    speaking,
)
from ivr.skills import DISTRESS_TOLERANCE, builtin_skills
from ivr.urls import Urls
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.test_first_minute import (
    LIFELINE_LEG,
    SECONDS_PER_WORD,
    limit_every_number,
    lock,
    nobody_to_ring,
    put_on_call,
    set_practice,
    timeline,
)
from tests.twilio_driver import NO_ANSWER, CallResult, Leg, Recording, Scenario, TwilioDriver

RILEY = "+13145550142"
DANA = "+13145550111"
MARCUS = "+13145550112"
STRANGER = "+13145550199"
SPANISH_VOICE = ("Polly.Lupe-Neural", "es-US")
ENGLISH_VOICE = ("Polly.Joanna", "en-US")
# The US Spanish (es-US) voices of Amazon Polly, which Twilio's <Say> offers as Polly.<Name>
# (and Polly.<Name>-Neural for a neural one): Lupe (neural and standard), Pedro (neural),
# Penelope and Miguel (standard). Twilio gives no sign during a call that it refused a voice
# (warning 13511 reaches the Debugger afterwards, and "an invalid combination of voice and
# language may result in ... <Say> instruction failure"), so only such a voice is ever sent.
TWILIO_ES_US_VOICES = {
    "Polly.Lupe-Neural",
    "Polly.Pedro-Neural",
    "Polly.Lupe",
    "Polly.Penelope",
    "Polly.Miguel",
}


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


@pytest.fixture
def spanish(db, line, people) -> None:
    """The line offers Spanish (read as the line last knew it, for the answers made without
    the database), and Riley's language is Spanish."""
    set_practice(db, "offer_spanish", True)
    line.current_settings(db)
    db.get(Client, people["riley"]).language = "es"
    db.commit()


# --- what English sounds like -----------------------------------------------------------

_EN = Practice(name="St. Louis DBT", tz=ZoneInfo("America/Chicago"))


def _fragments(template: str) -> list[str]:
    """The fixed words of a template, sentence by sentence, without its placeholders."""
    pieces = [text for text, *_ in Formatter().parse(template)]
    found = []
    for piece in pieces:
        for sentence in re.split(r"(?<=[.;?!])\s+", piece):
            sentence = sentence.strip(" .;,")
            if len(sentence.split()) >= 2:
                found.append(sentence)
    return found


def english_sentences() -> list[str]:
    """Every sentence the line can say to a caller in English, from its word tables."""
    templates = [
        *voice.WORDS[Language.ENGLISH].values(),
        *endings.WORDS[Language.ENGLISH].values(),
        DEFAULT_GREETING,
        crisis_spoken(_EN),
        crisis_spoken(_EN, after_offer=True),
        lifeline_offer(_EN),
    ]
    return sorted({f for t in templates for f in _fragments(t)})


ENGLISH = english_sentences()


def test_the_english_sentences_are_found_in_english():
    """The leak check can fail: the English wait-time script is full of them."""
    step = voice.incoming(
        Caller(7, "Riley Tran", Therapist(1, "Dana Whitfield", DANA, active=False)),
        [],
        "CA" + "a" * 32,
        NOW,
        _EN,
        Urls(PUBLIC_BASE_URL),
        builtin_skills(),
    )
    heard = [s for s in ENGLISH if s in step.twiml]
    assert len(heard) >= 6 and "Take good care" in heard
    assert len(ENGLISH) >= 30


def assert_spanish(twiml: str) -> str:
    """Every <Say> in the es-US voice, and no English sentence: the words said, as one string."""
    said = []
    for say in ET.fromstring(twiml).iter("Say"):
        assert (say.get("voice"), say.get("language")) == SPANISH_VOICE, twiml
        said.append(say.text or "")
    text = " ".join(said)
    leaked = [s for s in ENGLISH if s in text]
    assert not leaked, f"English in Spanish: {leaked}\n{text}"
    return text


def caller_documents(result: CallResult, after_key: str | None = None) -> list[str]:
    """The TwiML the caller's leg was given (after the Gather that took `after_key`)."""
    exchanges = [e for e in result.exchanges if e.leg == "caller" and e.twiml]
    if after_key is not None:
        first = next(
            i
            for i, e in enumerate(exchanges)
            if e.kind == "gather-action" and e.params.get("Digits") == after_key
        )
        exchanges = exchanges[first:]
    return [e.body for e in exchanges if "<Say" in e.body]


def assert_all_spanish(result: CallResult, after_key: str | None = None) -> str:
    documents = caller_documents(result, after_key)
    assert documents, result.debug()
    text = " ".join(assert_spanish(d) for d in documents)
    assert "9 8 8" in text and "9 1 1" in text
    return text


# --- a Spanish client, on every path the English voice tests cover ----------------------


def test_ringing_greets_in_spanish_and_the_first_ring_comes_within_4_seconds(
    driver, spanish, people
):
    result = driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    assert result.said[0] == "Ha llamado a St. Louis DBT. Un momento, le comunicamos."
    assert (result.says[0].voice, result.says[0].language) == SPANISH_VOICE
    assert timeline(result).first_ring <= 4.0  # 10 words: 4.0 s, as in English
    assert_all_spanish(result)


def test_a_custom_english_greeting_is_not_read_to_a_spanish_caller(driver, db, spanish, people):
    set_practice(db, "greeting", "Hello, you have reached {practice}.")
    result = driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    assert result.said[0] == "Ha llamado a St. Louis DBT. Un momento, le comunicamos."
    english = driver.call(from_="+13145550143", scenario=Scenario(default_leg=NO_ANSWER))
    assert english.said[0].startswith("Hello, you have reached St. Louis DBT.")


def test_still_trying_and_the_wait_script_are_spanish_and_988_within_10_seconds(
    driver, db, spanish, people
):
    put_on_call(db, people["marcus"])
    result = driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    assert [d.number for d in result.dials] == [DANA, MARCUS]
    text = assert_all_spanish(result)
    assert "Seguimos intentando comunicarle con alguien del equipo." in text
    assert (
        "Nadie pudo contestar; ya avisamos que llamó. Suelen devolverle la llamada en menos "
        "de 2 horas. Para hablar ahora con la Línea 9 8 8" in text
    )
    assert "Si quiere dejarle un mensaje a su terapeuta" in text
    assert result.said[-1] == "Cuídese mucho. Adiós."
    assert timeline(result).lifeline_after_rings() <= 10.0


def test_the_wait_skill_is_from_the_spanish_library(driver, db, spanish, people):
    put_on_call(db, people["marcus"])
    result = driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    skill_said = next(s for s in result.said if s.startswith("Mientras espera"))
    spanish_skills = builtin_skills(language=Language.SPANISH)
    skill = next(s for s in spanish_skills if f"la habilidad {s.name}." in skill_said)
    assert skill.module == DISTRESS_TOLERANCE and skill.text in skill_said
    db.expire_all()
    assert db.get(Client, people["riley"]).last_skill == skill.key


def test_nobody_to_ring_is_spanish_and_988_comes_within_10_seconds(driver, db, spanish, people):
    nobody_to_ring(db, people)
    result = driver.call(from_=RILEY)
    assert not result.dials
    assert result.said[0].startswith("Nadie pudo contestar; su equipo verá que llamó.")
    assert_all_spanish(result)
    assert timeline(result).lifeline <= 10.0


def test_a_spanish_caller_presses_1_and_is_put_through_to_988_with_its_spanish_option(
    driver, db, spanish, people
):
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER, "988": LIFELINE_LEG}, digits=["1"])
    )
    text = assert_all_spanish(result)
    assert "Le comunicamos con la Línea 9 8 8. Cuando contesten, oprima 2 para español." in text
    lifeline = [d for d in result.dials if d.number == "988"]
    assert len(lifeline) == 1 and lifeline[0].caller_id == LINE_NUMBER
    # 2 is for the caller to press: the line sends no digits to the Lifeline.
    assert "sendDigits" not in lifeline[0].number_attributes
    db.expire_all()
    assert db.scalar(select(Call).where(Call.call_sid == result.call_sid)).lifeline_at == NOW


def test_locked_out_is_spanish_and_988_within_10_seconds(driver, db, spanish, people):
    lock(db, people["riley"])
    result = driver.call(from_=RILEY, scenario=Scenario(legs={"988": LIFELINE_LEG}, digits=["1"]))
    text = assert_all_spanish(result)
    assert text.startswith(
        "Gracias por llamar a St. Louis DBT. En este momento no hay coaching telefónico. "
        "Para hablar ahora con la Línea 9 8 8"
    )
    assert "Riley" not in text and "24" not in text
    assert text.count("9 1 1") == 2  # the script, and again after the Lifeline's call
    assert timeline(result).lifeline <= 10.0
    assert [d.number for d in result.dials] == ["988"]


def test_a_voice_message_and_after_it_in_spanish(driver, spanish, people):
    result = driver.call(
        from_=RILEY,
        scenario=Scenario(
            legs={DANA: NO_ANSWER, "988": LIFELINE_LEG},
            digits=[None, "1"],
            recordings=[Recording(duration=12)],
        ),
    )
    text = assert_all_spanish(result)
    assert "Gracias. Su mensaje quedó guardado para su terapeuta." in text
    record = result.requests("/twilio/voice/recorded")
    assert record and "lang=es" in record[0].url
    assert [d.number for d in result.dials] == [DANA, "988"]


def test_the_call_ended_in_spanish(driver, spanish, people):
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept("1", talk_seconds=300)})
    )
    assert result.bridged
    text = assert_all_spanish(result)
    assert "Terminó su llamada de coaching. Gracias por llamar. Si está en crisis" in text


def test_a_client_being_called_back_hears_it_in_spanish():
    practice = speaking(
        Practice("St. Louis DBT", ZoneInfo("America/Chicago"), languages=tuple(Language)),
        Language.SPANISH,
    )
    caller = Caller(7, "Riley Tran", Therapist(1, "Dana Whitfield", DANA), being_called_back=True)
    step = voice.incoming(caller, [], "CA" + "b" * 32, NOW, practice, Urls(PUBLIC_BASE_URL), [])
    text = assert_spanish(step.twiml)
    assert text.startswith("Su terapeuta le está devolviendo la llamada en este momento.")
    assert "9 8 8" in text and "9 1 1" in text


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(60, "una hora"), (120, "2 horas"), (90, "90 minutos"), (45, "45 minutos")],
)
def test_the_call_back_window_in_spanish_words(minutes, words):
    practice = speaking(
        Practice(
            "St. Louis DBT",
            ZoneInfo("America/Chicago"),
            languages=tuple(Language),
            callback_window_minutes=minutes,
        ),
        Language.SPANISH,
    )
    caller = Caller(7, "Riley Tran", Therapist(1, "Dana Whitfield", DANA, active=False))
    step = voice.incoming(caller, [], "CA" + "c" * 32, NOW, practice, Urls(PUBLIC_BASE_URL), [])
    assert f"Suelen devolverle la llamada en menos de {words}." in assert_spanish(step.twiml)


# --- the therapist's leg ------------------------------------------------------------------


def test_screening_stays_english_says_spanish_and_names_nobody(driver, spanish, people):
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept("1")}))
    leg = result.dials[0].leg
    assert "Coaching call in Spanish from the St. Louis DBT line. Press 1 to accept." in leg.text
    assert all((s.voice, s.language) == ENGLISH_VOICE for s in leg.says)
    pressed = leg.transcript.index("[pressed 1]")
    assert not any("Riley" in entry for entry in leg.transcript[:pressed])
    assert "Connecting you now with Riley. The line ends the call after 15 minutes." in leg.text
    assert result.bridged


def test_screening_of_an_english_client_does_not_say_spanish(driver, spanish, people):
    result = driver.call(from_="+13145550143", scenario=Scenario(legs={MARCUS: Leg.accept("1")}))
    assert "Coaching call from the St. Louis DBT line." in result.dials[0].leg.text
    assert "Spanish" not in result.dials[0].leg.text


# --- callers the line doesn't know --------------------------------------------------------


def _seconds_to_988_after(result: CallResult, key: str) -> float:
    """From the key press to "9 8 8" heard after it, at 0.4 s a word."""
    after = result.transcript[result.transcript.index(f"[pressed {key}]") + 1 :]
    words = 0
    for entry in after:
        if entry.startswith("["):
            continue
        if "9 8 8" in entry:
            return (words + len(entry[: entry.index("9 8 8")].split())) * SECONDS_PER_WORD
        words += len(entry.split())
    raise AssertionError(f"no 9 8 8 after pressing {key}")


OFFER_SECONDS = len(endings.SPANISH_OFFER.split()) * SECONDS_PER_WORD  # 1.6 s


def _unknown(driver, line, digits):
    return driver.call(from_=STRANGER, scenario=Scenario(legs={"988": LIFELINE_LEG}, digits=digits))


def _hidden(driver, line, digits):
    return driver.call(
        from_="anonymous", scenario=Scenario(legs={"988": LIFELINE_LEG}, digits=digits)
    )


def _rate_limited(driver, line, digits):
    limit_every_number(line)
    driver.call(from_=STRANGER)
    return _unknown(driver, line, digits)


def _flooded(driver, line, digits):
    limit_every_number(line)
    driver.call(from_="anonymous")
    return _hidden(driver, line, digits)


def _fallback(driver, line, digits):
    """Twilio's Voice Fallback URL, made without the database."""
    return driver.call(
        "/twilio/voice/fallback",
        from_=RILEY,
        scenario=Scenario(legs={"988": LIFELINE_LEG}, digits=digits),
    )


UNKNOWN_PATHS = {
    "unknown caller": (_unknown, "No reconocemos su número."),
    "hidden number": (_hidden, "Su número está oculto."),
    "rate-limited": (_rate_limited, "Este número ha llamado muchas veces"),
    "hidden flood": (_flooded, "La línea está recibiendo muchas llamadas de números privados"),
    "fallback": (_fallback, "Lo sentimos, ahora no podemos conectar su llamada."),
}


@pytest.mark.parametrize(("path", "words"), UNKNOWN_PATHS.values(), ids=UNKNOWN_PATHS.keys())
def test_a_caller_the_line_does_not_know_is_offered_spanish_first(
    driver, line, spanish, path, words
):
    result = path(driver, line, [])
    first = result.says[0]
    assert (first.text, first.voice, first.language) == (
        "Para español, oprima 2.",
        *SPANISH_VOICE,
    )
    # Then the English script, in the English voice, in the same Gather (it takes 1 and 2).
    assert all((s.voice, s.language) == ENGLISH_VOICE for s in result.says[1:])
    assert result.gathers[0].prompts[0] == "Para español, oprima 2."
    assert "To talk with the 9 8 8 Suicide and Crisis Lifeline now, press 1." in result.text
    assert words not in result.text
    assert timeline(result).lifeline <= 10.0  # the English 988, after the offer of Spanish


@pytest.mark.parametrize(("path", "words"), UNKNOWN_PATHS.values(), ids=UNKNOWN_PATHS.keys())
def test_2_says_it_in_spanish_and_1_then_puts_them_through_to_988(
    driver, db, line, spanish, path, words
):
    result = path(driver, line, ["2", "1"])
    text = assert_all_spanish(result, after_key="2")
    assert words in text
    assert "Para hablar ahora con la Línea 9 8 8 de Prevención del Suicidio y Crisis" in text
    assert "Para español" not in text  # offered once
    assert "Le comunicamos con la Línea 9 8 8. Cuando contesten, oprima 2 para español." in text
    assert [d.number for d in result.dials] == ["988"]
    assert result.dials[0].caller_id == LINE_NUMBER
    # A caller who presses 2 as soon as it is offered hears 988 in Spanish within 10 s.
    assert OFFER_SECONDS + _seconds_to_988_after(result, "2") <= 10.0


def test_the_2_for_spanish_answer_needs_no_database(driver, line, spanish, monkeypatch):
    """Like 1 for 988, the key's answer is made from the line's last-known settings (a use
    of the database here would raise, and be answered with the English fallback)."""
    offered = driver.call(from_=STRANGER)
    action = offered.gathers[0].action
    assert "replay=unknown" in action

    def no_database(*args, **kwargs):
        raise AssertionError("the database was used")

    monkeypatch.setattr(line, "database", no_database)
    monkeypatch.setattr(line, "sessions", no_database)
    response = driver.post(action, {"CallSid": offered.call_sid, "Digits": "2"})
    assert response.status_code == 200
    text = assert_spanish(response.text)
    assert "No reconocemos su número." in text and "9 1 1" in text


def test_an_unknown_caller_who_presses_nothing_hears_english_goodbye(driver, spanish, people):
    result = driver.call(from_=STRANGER)
    assert not result.dials and result.said[-1] == "Take good care. Goodbye."


def test_an_english_client_on_a_line_that_offers_spanish_hears_english(driver, spanish, people):
    """Jordan (English) on a line that offers Spanish hears no Spanish and no offer of it."""
    result = driver.call(from_="+13145550143", scenario=Scenario(default_leg=NO_ANSWER))
    assert result.said[0] == "This is St. Louis DBT. Connecting you to a coach."
    assert all((s.voice, s.language) == ENGLISH_VOICE for s in result.says)
    assert "español" not in result.text


# --- Spanish not offered ----------------------------------------------------------------


def test_spanish_not_offered_a_spanish_client_hears_english(driver, db, people):
    db.get(Client, people["riley"]).language = "es"
    db.commit()
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER, "988": LIFELINE_LEG}, digits=["1"])
    )
    assert result.said[0] == "This is St. Louis DBT. Connecting you to a coach."
    assert "Your coach couldn't answer, and has been told you called." in result.text
    assert "Connecting you to the 9 8 8 Lifeline." in result.text
    assert all((s.voice, s.language) == ENGLISH_VOICE for s in result.says)
    assert result.dials[0].url.endswith("/twilio/voice/screen?therapist=1")  # not in Spanish


def test_spanish_not_offered_no_offer_to_callers_the_line_does_not_know(driver, people):
    result = driver.call(from_=STRANGER, scenario=Scenario(digits=["2"]))
    assert "español" not in result.text and "replay" not in result.gathers[0].action
    # 2 goes on as silence would.
    assert not result.dials and result.said[-1] == "Take good care. Goodbye."


def test_a_replay_after_spanish_was_turned_off_goes_on_as_silence():
    practice = Practice("St. Louis DBT", ZoneInfo("America/Chicago"))  # English only now
    twiml = endings.lifeline("2", endings.THEN_GOODBYE, practice, Urls(PUBLIC_BASE_URL), "unknown")
    assert [s.text for s in ET.fromstring(twiml).iter("Say")] == ["Take good care. Goodbye."]


def test_the_lifeline_turned_off_still_offers_spanish_to_an_unknown_caller(
    driver, db, spanish, people
):
    set_practice(db, "offer_lifeline", False)
    result = driver.call(from_=STRANGER, scenario=Scenario(digits=["2"]))
    text = assert_all_spanish(result, after_key="2")
    assert "oprima 1" not in text and "llame al 9 8 8" in text and not result.dials


# --- the voice ------------------------------------------------------------------------


def test_the_spanish_voice_and_its_fallback_are_twilios_documented_es_us_voices():
    assert voice_for(Language.SPANISH) == SPANISH_VOICE  # the neural one, by default
    assert set(SPANISH_VOICES) <= TWILIO_ES_US_VOICES and len(SPANISH_VOICES) == 2
    assert {voice_for(Language.SPANISH, v) for v in SPANISH_VOICES} == {
        (v, "es-US") for v in SPANISH_VOICES
    }
