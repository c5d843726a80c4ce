"""A client's language (`en` or `es`) in the admin API and on the command line: the row saved,
the JSON read back, the 422 in words, the audit entry, and what `coachline` prints. The line
speaks a client's Spanish only while the practice offers it (OFFER_SPANISH); until then the
language is kept and the reader is told so."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app import cli_support
from app.cli import cli
from app.models import Client, PracticeSetting
from tests.conftest import NOW
from tests.helpers import audit_log, fresh
from tests.test_web_support import csrf_of, post_form, texts_of

pytest_plugins = ["tests.test_web_support"]

runner = CliRunner()

NOT_OFFERED = (
    "Spanish is not offered on this line yet: the line speaks English to them until Offer "
    "Spanish is turned on in the dashboard's Settings."
)


def offer_spanish(db) -> None:
    db.add(PracticeSetting(key="offer_spanish", value=True, updated_at=NOW, updated_by="test"))
    db.commit()


def _enrol(http, admin, people, **fields):
    body = {"name": "Lucía Ortega", "phone": "(314) 555-0150", "therapist_id": people["dana"]}
    return http.post("/api/clients", json={**body, **fields}, headers=admin)


# ---- the API --------------------------------------------------------------------------------


def test_a_client_is_english_unless_said_otherwise(http, admin, db, people):
    response = _enrol(http, admin, people)
    assert response.status_code == 201
    body = response.json()
    assert (body["language"], body["spoken_language"]) == ("en", "en")
    assert fresh(db, Client, body["id"]).language == "en"
    listed = http.get("/api/clients", headers=admin).json()["items"]
    assert {c["name"]: c["language"] for c in listed} == {
        "Riley Tran": "en",
        "Jordan Pike": "en",
        "Lucía Ortega": "en",
    }


def test_spanish_is_kept_while_the_line_offers_only_english_and_spoken_once_it_does(
    http, admin, db, people
):
    response = _enrol(http, admin, people, language="es")
    assert response.status_code == 201
    body = response.json()
    # Kept as given; the line speaks English to her until the practice offers Spanish.
    assert (body["language"], body["spoken_language"]) == ("es", "en")
    assert fresh(db, Client, body["id"]).language == "es"
    [entry] = audit_log(db, "client", body["id"])
    assert entry.changes["language"] == "es"

    offer_spanish(db)
    read = http.get(f"/api/clients/{body['id']}", headers=admin).json()
    assert (read["language"], read["spoken_language"]) == ("es", "es")
    listed = http.get("/api/clients", headers=admin).json()["items"]
    assert {c["name"]: c["spoken_language"] for c in listed}["Lucía Ortega"] == "es"
    assert {c["name"]: c["spoken_language"] for c in listed}["Riley Tran"] == "en"


def test_a_language_change_is_saved_and_audited(http, admin, db, people):
    offer_spanish(db)
    riley = people["riley"]
    response = http.patch(f"/api/clients/{riley}", json={"language": "es"}, headers=admin)
    assert response.status_code == 200
    assert (response.json()["language"], response.json()["spoken_language"]) == ("es", "es")
    assert fresh(db, Client, riley).language == "es"
    [entry] = audit_log(db, "client", riley)
    assert entry.action == "update"
    assert entry.changes == {"language": {"from": "en", "to": "es"}}

    # The same language again changes nothing, and is not logged.
    again = http.patch(f"/api/clients/{riley}", json={"language": "es"}, headers=admin)
    assert again.status_code == 200
    assert len(audit_log(db, "client", riley)) == 1


@pytest.mark.parametrize("language", ["fr", "ES", "spanish", "", " es", 2, True, ["es"]])
def test_anything_but_en_or_es_is_a_422_in_words(http, admin, db, people, language):
    response = _enrol(http, admin, people, language=language)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "language"]
    assert error["msg"] == 'The language must be "en" (English) or "es" (Spanish).'
    db.rollback()
    assert db.scalar(select(Client).where(Client.phone == "+13145550150")) is None

    patched = http.patch(
        f"/api/clients/{people['riley']}", json={"language": language}, headers=admin
    )
    assert patched.status_code == 422
    assert patched.json()["detail"][0]["msg"] == error["msg"]
    assert fresh(db, Client, people["riley"]).language == "en"


def test_a_null_language_is_refused_on_a_change(http, admin, db, people):
    response = http.patch(f"/api/clients/{people['riley']}", json={"language": None}, headers=admin)
    assert response.status_code == 422
    assert "cannot be null" in response.json()["detail"][0]["msg"]
    assert fresh(db, Client, people["riley"]).language == "en"


def test_the_openapi_document_says_what_the_language_does(http, admin):
    schemas = http.get("/openapi.json", headers=admin).json()["components"]["schemas"]
    for name in ("ClientCreate", "ClientPatch"):
        field = schemas[name]["properties"]["language"]
        enum = field.get("enum") or next(v["enum"] for v in field["anyOf"] if "enum" in v)
        assert enum == ["en", "es"], name
        assert "OFFER_SPANISH" in field["description"], name
        assert "what the line speaks and texts to them" in field["description"], name
    assert schemas["ClientCreate"]["properties"]["language"]["default"] == "en"
    spoken = schemas["ClientOut"]["properties"]["spoken_language"]["description"]
    assert "while the practice offers it" in spoken


# ---- the command line -----------------------------------------------------------------------


@pytest.fixture
def use_line(monkeypatch, line):
    monkeypatch.setattr(cli_support, "build_line", lambda: line)
    return line


def run(*args: str, columns: int = 120):
    return runner.invoke(cli, list(args), env={"COLUMNS": str(columns)})


def _cells(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def test_add_client_with_spanish_says_the_line_does_not_offer_it_yet(use_line, db, people):
    result = run(
        "add-client", "Lucía Ortega", "(314) 555-0150", "--therapist-id", str(people["dana"]),
        "--language", "es",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("the 24-hour rule applies; language Spanish.")
    assert lines[1] == NOT_OFFERED
    db.rollback()
    client = db.scalars(select(Client).where(Client.phone == "+13145550150")).one()
    assert client.language == "es"
    [entry] = audit_log(db, "client", client.id)
    assert entry.changes["language"] == "es"
    assert entry.actor.startswith("cli:")


def test_add_client_is_english_by_default_and_spanish_is_plain_once_offered(use_line, db, people):
    english = run(
        "add-client", "Sam Okafor", "(314) 555-0150", "--therapist-id", str(people["dana"])
    )
    assert english.exit_code == 0, english.output
    assert english.stdout.strip().endswith("; language English.")
    offer_spanish(db)
    spanish = run(
        "add-client", "Lucía Ortega", "(314) 555-0151", "--therapist-id", str(people["dana"]),
        "--language", "ES",
    )  # fmt: skip
    assert spanish.exit_code == 0, spanish.output
    assert spanish.stdout.strip().splitlines()[-1].endswith("; language Spanish.")
    db.rollback()
    phones = {c.phone: c.language for c in db.scalars(select(Client))}
    assert (phones["+13145550150"], phones["+13145550151"]) == ("en", "es")


def test_a_language_the_line_does_not_have_is_refused_and_adds_nobody(use_line, db, people):
    result = run(
        "add-client", "Lucía Ortega", "(314) 555-0150", "--therapist-id", str(people["dana"]),
        "--language", "fr",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "'fr' is not a language of the line: en (English) or es (Spanish)" in " ".join(
        re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split()
    )
    db.rollback()
    assert db.scalar(select(Client).where(Client.phone == "+13145550150")) is None


def test_set_language_changes_it_audited_and_refuses_others(use_line, db, people):
    riley = people["riley"]
    result = run("set-language", str(riley), "es")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [
        f"Riley Tran (client {riley}): language Spanish.",
        NOT_OFFERED,
    ]
    assert fresh(db, Client, riley).language == "es"
    [entry] = audit_log(db, "client", riley)
    assert entry.changes == {"language": {"from": "en", "to": "es"}}

    offer_spanish(db)
    assert run("set-language", str(riley), "es").stdout.strip() == (
        f"Riley Tran (client {riley}): language Spanish."
    )
    back = run("set-language", str(riley), "en")
    assert back.stdout.strip() == f"Riley Tran (client {riley}): language English."
    assert fresh(db, Client, riley).language == "en"

    bad = run("set-language", str(riley), "spanish")
    assert bad.exit_code == 2
    assert "'spanish' is not a language of the line" in bad.stderr
    unknown = run("set-language", "4242", "es")
    assert unknown.exit_code == 1 and "client 4242 not found" in unknown.stderr


def test_the_client_list_shows_each_language_and_marks_one_not_offered(use_line, db, people):
    db.get(Client, people["jordan"]).language = "es"
    db.commit()
    listed = run("clients")
    assert listed.exit_code == 0, listed.output
    cells = _cells(listed.stdout)
    assert cells[1] == [
        "Id", "Name", "Therapist (id)", "Language", "24-hour rule", "Locked out until"
    ]  # fmt: skip
    rows = [row for row in cells[2:] if row[0].isdigit()]
    assert {row[1]: row[3] for row in rows} == {"Jordan Pike": "Spanish*", "Riley Tran": "English"}
    below = listed.stdout[listed.stdout.index("\n* ") :]
    assert " ".join(below.split()) == "* " + NOT_OFFERED

    offer_spanish(db)
    offered = run("clients")
    rows = [row for row in _cells(offered.stdout)[2:] if row[0].isdigit()]
    assert {row[1]: row[3] for row in rows} == {"Jordan Pike": "Spanish", "Riley Tran": "English"}
    assert "not offered" not in offered.stdout


# ---- the dashboard --------------------------------------------------------------------------

HINT = "Spanish is not offered on this line yet — turn on Offer Spanish in Settings"


def _row(html: str, name: str) -> str:
    match = re.search(rf"<tr>\s*<th scope=\"row\"><a [^>]*>{name}</a>.*?</tr>", html, re.S)
    assert match, f"no row for {name}"
    return texts_of(match.group(0))


def test_the_admin_adds_a_spanish_speaking_client_and_reads_it_plainly(as_admin, db, people):
    form = as_admin.get("/clients/new")
    assert HINT in texts_of(form.text)
    assert '<option value="es" lang="es">Español</option>' in form.text
    assert '<option value="en" lang="en" selected>English</option>' in form.text
    added = as_admin.post(
        "/clients/new",
        data={
            "name": "Lucía Ortega",
            "phone": "(314) 555-0150",
            "therapist_id": str(people["dana"]),
            "lockout_rule_applies": "on",
            "language": "es",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert added.status_code == 200 and "Added Lucía Ortega." in added.text
    page = texts_of(added.text)
    assert "Therapist: Dana Whitfield · Language: Spanish · Texts: on" in page
    assert HINT + ". Until then the line speaks English to Lucía." in page, (
        "the client's page says the line does not speak her language yet"
    )
    db.rollback()
    lucia = db.scalar(select(Client).where(Client.name == "Lucía Ortega"))
    assert lucia.language == "es"
    [entry] = audit_log(db, "client", lucia.id)
    assert entry.changes["language"] == "es"

    listed = as_admin.get("/clients").text
    assert _row(listed, "Lucía Ortega") == (
        "Lucía Ortega Dana Whitfield Spanish (not offered yet) applies on"
    )
    assert _row(listed, "Riley Tran") == "Riley Tran Dana Whitfield English applies on"

    offer_spanish(db)
    assert _row(as_admin.get("/clients").text, "Lucía Ortega") == (
        "Lucía Ortega Dana Whitfield Spanish applies on"
    )
    page = texts_of(as_admin.get(f"/clients/{lucia.id}").text)
    assert "Language: Spanish" in page and "not offered" not in page
    assert "not offered" not in texts_of(as_admin.get("/clients/new").text)


def test_the_admin_changes_a_language_and_the_change_is_audited(as_admin, db, people):
    riley = people["riley"]
    edit = as_admin.get(f"/clients/{riley}/edit")
    assert '<option value="en" lang="en" selected>English</option>' in edit.text
    fields = {
        "name": "Riley Tran",
        "phone": "(314) 555-0142",
        "therapist_id": str(people["dana"]),
        "lockout_rule_applies": "on",
    }
    saved = post_form(as_admin, f"/clients/{riley}/edit", f"/clients/{riley}/edit",
                      {**fields, "language": "es"})  # fmt: skip
    assert "Saved." in saved.text and "Language: Spanish" in texts_of(saved.text)
    assert fresh(db, Client, riley).language == "es"
    [entry] = audit_log(db, "client", riley)
    assert entry.changes == {"language": {"from": "en", "to": "es"}}
    # The audit page says it in words, not codes.
    audit = texts_of(as_admin.get("/audit").text)
    assert "Language: English → Spanish" in audit and "en → es" not in audit
    assert (
        '<option value="es" lang="es" selected>Español</option>'
        in as_admin.get(f"/clients/{riley}/edit").text
    )

    # A form without the field (sent before it existed) keeps the client's language.
    kept = post_form(as_admin, f"/clients/{riley}/edit", f"/clients/{riley}/edit", fields)
    assert "Saved." in kept.text
    assert fresh(db, Client, riley).language == "es"

    refused = post_form(as_admin, f"/clients/{riley}/edit", f"/clients/{riley}/edit",
                        {**fields, "language": "fr"})  # fmt: skip
    assert refused.status_code == 422
    said = html.unescape(texts_of(refused.text))
    assert 'The language must be "en" (English) or "es" (Spanish).' in said
    assert fresh(db, Client, riley).language == "es"


def test_a_therapist_reads_the_language_and_who_can_turn_spanish_on(as_dana, db, people):
    db.get(Client, people["riley"]).language = "es"
    db.commit()
    page = texts_of(as_dana.get(f"/clients/{people['riley']}").text)
    assert "Language: Spanish" in page
    assert (
        "Spanish is not offered on this line yet — the practice admin can turn on Offer Spanish "
        "in Settings. Until then the line speaks English to Riley." in page
    )
