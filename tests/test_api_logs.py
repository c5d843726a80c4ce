"""The logs: calls, notifications and the audit log, newest first and paginated; and what
every route of the admin API shares (a token, no token hashes in any answer).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app import users
from app.models import AuditEntry, Call, Message
from app.users import hash_token
from tests.conftest import NOW
from tests.helpers import user_headers


@pytest.fixture
def calls(db, people):
    """Four calls, an hour apart, oldest first: Riley, Jordan, an unknown caller, Riley."""
    rows = [
        Call(
            call_sid=f"CA{i:032d}",
            client_id=client,
            route=route,
            outcome=outcome,
            started_at=NOW - timedelta(hours=4 - i),
        )
        for i, (client, route, outcome) in enumerate(
            [
                (people["riley"], "coaching", "bridged"),
                (people["jordan"], "locked_out", "lockout_script"),
                (None, "unknown_caller", "crisis_resources"),
                (people["riley"], "coaching", "wait_script"),
            ]
        )
    ]
    db.add_all(rows)
    db.commit()
    return [c.call_sid for c in rows]


def test_admin_sees_every_call_newest_first(http, admin, calls):
    response = http.get("/api/calls", headers=admin)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 4
    assert [c["call_sid"] for c in page["items"]] == list(reversed(calls))
    first = page["items"][0]
    assert {"call_sid", "client_id", "route", "outcome", "started_at"} <= set(first)
    assert (first["route"], first["outcome"]) == ("coaching", "wait_script")


def test_calls_are_paginated(http, admin, calls):
    page = http.get("/api/calls?limit=2&offset=1", headers=admin).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [c["call_sid"] for c in page["items"]] == [calls[2], calls[1]]
    past_the_end = http.get("/api/calls?offset=10", headers=admin).json()
    assert (past_the_end["items"], past_the_end["total"]) == ([], 4)


def test_a_therapist_sees_only_their_own_clients_calls(http, db, people, calls):
    as_dana = user_headers(db, "dana@example.org", therapist_id=people["dana"])
    page = http.get("/api/calls", headers=as_dana).json()
    assert [c["call_sid"] for c in page["items"]] == [calls[3], calls[0]]
    assert page["total"] == 2
    own = http.get(f"/api/calls?client_id={people['riley']}", headers=as_dana)
    assert own.json()["total"] == 2
    assert http.get(f"/api/calls?client_id={people['jordan']}", headers=as_dana).status_code == 404


def test_calls_filter_by_client(http, admin, people, calls):
    page = http.get(f"/api/calls?client_id={people['jordan']}", headers=admin).json()
    assert [c["call_sid"] for c in page["items"]] == [calls[1]]


def test_notifications_are_notification_messages_newest_first(http, admin, db, people):
    db.add_all(
        [
            Message(
                direction="outbound",
                kind="notification",
                therapist_id=people["dana"],
                to_phone="+13145550111",
                body="A client called for coaching.",
                status="sent",
                attempts=1,
                created_at=NOW - timedelta(minutes=30),
                sent_at=NOW - timedelta(minutes=29),
            ),
            Message(
                direction="outbound",
                kind="notification",
                therapist_id=people["marcus"],
                to_phone="+13145550112",
                body="A client called for coaching.",
                status="queued",
                attempts=3,
                last_error="Twilio answered 503",
                created_at=NOW - timedelta(minutes=5),
            ),
            Message(
                direction="inbound",
                kind="inbound",
                client_id=people["riley"],
                from_phone="+13145550142",
                body="check-in",
                status="received",
                created_at=NOW,
            ),
        ]
    )
    db.commit()
    page = http.get("/api/notifications", headers=admin).json()
    assert page["total"] == 2
    latest, earlier = page["items"]
    assert set(latest) == {
        "id",
        "therapist_id",
        "to",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    }
    assert (latest["therapist_id"], latest["to"], latest["status"], latest["attempts"]) == (
        people["marcus"],
        "+13145550112",
        "queued",
        3,
    )
    assert (latest["last_error"], latest["sent_at"]) == ("Twilio answered 503", None)
    assert (earlier["therapist_id"], earlier["status"]) == (people["dana"], "sent")


def test_the_audit_log_is_newest_first_and_filters(http, admin, people):
    http.post(f"/api/clients/{people['riley']}/lockouts", json={}, headers=admin)
    http.patch(f"/api/clients/{people['jordan']}", json={"name": "Jordan P."}, headers=admin)
    page = http.get("/api/audit", headers=admin).json()
    assert page["total"] == 2
    assert [(e["entity"], e["action"]) for e in page["items"]] == [
        ("client", "update"),
        ("lockout", "create"),
    ]
    entry = page["items"][0]
    assert entry["actor"] == "admin@example.org"
    assert entry["entity_id"] == people["jordan"]
    assert entry["changes"] == {"name": {"from": "Jordan Pike", "to": "Jordan P."}}

    lockouts = http.get("/api/audit?entity=lockout", headers=admin).json()
    assert [e["entity"] for e in lockouts["items"]] == ["lockout"]
    by_id = http.get(f"/api/audit?entity=client&entity_id={people['jordan']}", headers=admin)
    assert by_id.json()["total"] == 1


@pytest.mark.parametrize("entity", ["\x00", "client\x00", "Client", "on call", "x" * 41])
def test_the_audit_filters_by_a_kind_of_record_or_says_422(http, admin, people, entity):
    # PostgreSQL refuses a NUL in text, even in a query: it must not get that far.
    response = http.get("/api/audit", params={"entity": entity}, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "entity"]


def test_notifications_and_audit_are_admin_only(http, db, people):
    as_dana = user_headers(db, "dana@example.org", therapist_id=people["dana"])
    assert http.get("/api/notifications", headers=as_dana).status_code == 403
    assert http.get("/api/audit", headers=as_dana).status_code == 403


def test_the_page_size_is_capped_at_200(http, admin, db):
    db.add_all(
        AuditEntry(at=NOW - timedelta(seconds=i), actor="t", action="x", entity="y")
        for i in range(205)
    )
    db.commit()
    page = http.get("/api/audit?limit=500", headers=admin).json()
    assert (page["limit"], len(page["items"]), page["total"]) == (200, 200, 205)
    assert page["items"][0]["at"] > page["items"][-1]["at"]
    rest = http.get("/api/audit?limit=200&offset=200", headers=admin).json()
    assert len(rest["items"]) == 5
    assert http.get("/api/audit", headers=admin).json()["limit"] == 50


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "offset=-1",
        "offset=99999999999999999999",
        "offset=1.5",
        "client_id=0",
        "client_id=99999999999999999999",
    ],
)
def test_bad_paging_is_422(http, admin, query):
    assert http.get(f"/api/calls?{query}", headers=admin).status_code == 422


# The issue's routes; every other /api route found in the OpenAPI document is checked too.
ISSUE_ROUTES = {
    ("post", "/api/therapists"),
    ("get", "/api/therapists"),
    ("patch", "/api/therapists/1"),
    ("post", "/api/therapists/1/away"),
    ("delete", "/api/therapists/1/away"),
    ("get", "/api/therapists/1/hours"),
    ("put", "/api/therapists/1/hours"),
    ("post", "/api/clients"),
    ("get", "/api/clients"),
    ("get", "/api/clients/1"),
    ("patch", "/api/clients/1"),
    ("post", "/api/clients/1/lockouts"),
    ("get", "/api/clients/1/lockouts"),
    ("post", "/api/lockouts/1/lift"),
    ("post", "/api/on-call-shifts"),
    ("get", "/api/on-call-shifts"),
    ("get", "/api/calls"),
    ("get", "/api/notifications"),
    ("get", "/api/audit"),
}


def api_routes(http) -> set[tuple[str, str]]:
    """Every /api operation in the OpenAPI document, with each path parameter set to 1."""
    paths = http.app.openapi()["paths"]
    return {
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method in operations
    }


def test_the_issues_routes_are_all_served(http):
    assert ISSUE_ROUTES - api_routes(http) == set()


@pytest.mark.parametrize("auth", [None, "Bearer cl_not-a-token", "Bearer ", "Token abc"])
def test_every_route_needs_a_known_token(http, people, auth):
    headers = {"Authorization": auth} if auth else {}
    for method, path in sorted(api_routes(http)):
        response = http.request(method, path, json={}, headers=headers)
        assert response.status_code == 401, (method, path)


def test_every_route_documents_401_and_422_with_what_their_detail_holds(http):
    document = http.app.openapi()
    api_paths = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/")}
    for path, operations in api_paths.items():
        for method, operation in operations.items():
            assert {"401", "422"} <= set(operation["responses"]), (method, path)
    # A 422 explains itself in a sentence (the records) or field by field (FastAPI).
    detail = document["components"]["schemas"]["BadInput"]["properties"]["detail"]
    assert [alternative["type"] for alternative in detail["anyOf"]] == ["string", "array"]


def test_every_body_must_be_unicode_json(http, admin, people):
    # Half of a UTF-16 surrogate pair: valid JSON syntax, but not text (each area's router must
    # make its routes `ApiRoute`s).
    paths = http.app.openapi()["paths"]
    with_body = [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) > 10
    headers = {**admin, "Content-Type": "application/json"}
    for method, path in with_body:
        response = http.request(method, path, content=rb'{"name": "\ud800"}', headers=headers)
        assert response.status_code == 422, (method, path)
        assert response.json()["detail"][0]["type"] == "json_invalid", (method, path)


def test_no_answer_carries_a_token_or_its_hash(http, admin, admin_token, db, people):
    _user, token = users.create_user(
        db, "test", NOW, email="dana@example.org", role="therapist", therapist_id=people["dana"]
    )
    db.commit()
    secrets = [token, hash_token(token), admin_token, hash_token(admin_token)]
    for path in ("/api/audit", "/api/therapists", "/api/clients", "/openapi.json"):
        text = http.get(path, headers=admin).text
        assert not any(secret in text for secret in secrets), path


def test_a_call_says_who_returned_it_and_how_long_its_voice_message_is(http, admin, db, people):
    returned = Call(
        call_sid="CA" + "1" * 32,
        client_id=people["riley"],
        route="coaching",
        outcome="wait_script",
        started_at=NOW - timedelta(hours=2),
        recording_sid="RE" + "1" * 32,
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        voice_message_seconds=42,
        returned_at=NOW - timedelta(hours=1),
        returned_by=people["dana"],
    )
    waiting = Call(
        call_sid="CA" + "2" * 32,
        client_id=people["riley"],
        route="coaching",
        outcome="wait_script",
        started_at=NOW - timedelta(minutes=5),
    )
    db.add_all([returned, waiting])
    db.commit()
    latest, earlier = http.get("/api/calls", headers=admin).json()["items"]
    assert (latest["returned_at"], latest["returned_by_therapist_id"]) == (None, None)
    assert latest["voice_message_seconds"] is None
    assert earlier["returned_at"] == "2026-11-28T02:42:00Z"
    assert earlier["returned_by_therapist_id"] == people["dana"]
    assert earlier["voice_message_seconds"] == 42
    # The recording itself is heard only on the dashboard: no SID or URL in the API.
    assert not {"recording_sid", "recording_url", "returned_by"} & set(earlier)
