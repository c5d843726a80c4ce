"""The admin API speaks to the practice's admin (issue 26, items 3 and 4): a 422 for input it
cannot read keeps each field's place (`loc`) and kind (`type`) for programs and says what is
wrong in words (`msg`); its own refusals are sentences; the OpenAPI document describes the API
and each operation, and leaves Twilio's webhooks out; /docs and /redoc load nothing from
elsewhere; /favicon.ico is the line's icon."""

from __future__ import annotations

import re

from tests.helpers import user_headers


def _entries(response) -> dict[str, dict]:
    assert response.status_code == 422, response.text
    return {".".join(str(part) for part in e["loc"]): e for e in response.json()["detail"]}


def test_a_time_without_its_offset_is_said_in_words(http, admin, people):
    response = http.post(
        f"/api/clients/{people['riley']}/lockouts",
        json={"occurred_at": "2026-11-27T20:00"},
        headers=admin,
    )
    entry = _entries(response)["body.occurred_at"]
    assert entry["type"] == "timezone_aware"
    assert entry["msg"] == (
        "The time of the self-harm event needs a UTC offset, e.g. 2026-11-27T21:42:00-06:00."
    )
    assert "occurred_at" not in entry["msg"]


def test_each_field_is_named_in_words_where_it_is(http, admin, people):
    response = http.post(
        "/api/clients",
        json={"name": "A" * 401, "therapist_id": "x", "lockout_rule_applies": "yes", "nmae": 1},
        headers=admin,
    )
    entries = _entries(response)
    assert {k: e["msg"] for k, e in entries.items()} == {
        "body.name": "The name is too long: at most 400 characters.",
        "body.phone": "The phone number is required.",
        "body.therapist_id": "The therapist's id must be a whole number.",
        "body.lockout_rule_applies": "Whether the 24-hour rule applies must be true or false.",
        "body.nmae": "This request takes no “nmae”: leave it out, or check its spelling.",
    }
    assert entries["body.phone"]["type"] == "missing"


def test_lists_queries_paths_and_nulls(http, admin, people):
    hours = http.put(
        f"/api/therapists/{people['dana']}/hours",
        json=[{"weekday": 1, "start": "09:00", "end": "17:00"}, {"weekday": 9, "start": "25:00"}],
        headers=admin,
    )
    assert {k: e["msg"] for k, e in _entries(hours).items()} == {
        "body.1.weekday": "The day of the week (entry 2 of the list) must be 6 or less.",
        "body.1.start": 'The start time (entry 2 of the list) must be a time as "HH:MM", '
        "00:00 to 23:59.",
        "body.1.end": "The end time (entry 2 of the list) is required.",
    }
    page = _entries(http.get("/api/clients?limit=0", headers=admin))["query.limit"]
    assert page["msg"] == "The number of items per page must be 1 or more."
    path = _entries(http.get("/api/clients/abc", headers=admin))["path.client_id"]
    assert (path["type"], path["msg"]) == ("int_parsing", "The client's id must be a whole number.")
    null = _entries(
        http.patch(f"/api/clients/{people['riley']}", json={"name": None}, headers=admin)
    )["body"]
    assert null["msg"] == "The name cannot be null: leave a field out to keep it as it is."
    number = _entries(http.get("/api/on-call?at=1795821300", headers=admin))["query.at"]
    assert number["msg"].startswith("The time asked about must be ISO 8601 text")


def test_malformed_json_is_said_so(http, admin, people):
    response = http.post(
        f"/api/clients/{people['riley']}/lockouts",
        content=b"{nope",
        headers={**admin, "Content-Type": "application/json"},
    )
    [entry] = response.json()["detail"]
    assert entry["type"] == "json_invalid"
    assert entry["msg"].startswith("The request body is not valid JSON: ")


def test_the_apis_own_refusals_are_sentences(http, admin, db, people):
    assert http.get("/api/clients").json()["detail"] == (
        "This needs an API token the line knows, sent as “Authorization: Bearer <token>”."
    )
    dana = user_headers(db, "dana@example.org", therapist_id=people["dana"])
    assert http.get("/api/clients", headers=dana).json()["detail"] == "Only an admin may do this."
    marcus_hours = http.put(f"/api/therapists/{people['marcus']}/hours", json=[], headers=dana)
    assert marcus_hours.json()["detail"] == (
        "Only an admin, or the therapist themself, may do this."
    )
    backwards = http.get(
        "/api/on-call/gaps?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", headers=admin
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"] == (
        "The end of the period (to) must be after its start (from)."
    )


def test_the_document_describes_the_api_and_each_operation(http, admin):
    document = http.get("/openapi.json", headers=admin).json()
    about = document["info"]["description"]
    assert "Authorization: Bearer" in about and "coachline create-user" in about
    assert not [path for path in document["paths"] if path.startswith("/twilio")]
    for path, operations in document["paths"].items():
        if path.startswith("/ical/"):
            continue  # the calendar feeds (app/ical.py) have summaries only, for now
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("description"), f"{where} has no description"
            summary = operation["summary"]
            # a summary in words, not the function's name title-cased ("List Therapists")
            assert summary[:1].isupper() and not re.fullmatch(r"(?:[A-Z][a-z]* ?)+", summary), (
                where,
                summary,
            )
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert {"therapists", "clients", "lockouts", "on call", "logs"} <= set(tags)
    field_error = document["components"]["schemas"]["FieldError"]["properties"]
    assert "in words" in field_error["msg"]["description"]


def test_docs_pages_load_their_assets_from_the_line(http, admin):
    for path in ("/docs", "/redoc"):
        page = http.get(path, headers=admin)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), (path, sources)
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for source in sources:
            if source.startswith("/docs/assets/"):
                asset = http.get(source)
                assert asset.status_code == 200 and len(asset.content) > 100_000, source
    assert "validatorUrl" in http.get("/docs", headers=admin).text


def test_the_favicon(http, admin):
    icon = http.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in icon.text
    login = http.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login.text
    assert http.get("/static/favicon.svg").status_code == 200


def test_another_therapists_client_reads_as_no_such_client(http, db, people):
    # the API's own "not found" (app.api.deps.visible_client) must stay word for word the
    # records' own, or it would tell a therapist which ids are clients
    dana = user_headers(db, "dana@example.org", therapist_id=people["dana"])
    theirs = http.get(f"/api/clients/{people['jordan']}/lockouts", headers=dana)
    missing = http.get("/api/clients/4242/lockouts", headers=dana)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(str(people["jordan"]), "N") == missing.json()[
        "detail"
    ].replace("4242", "N")
