"""/api/therapists: create, read, update, and "away until"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import Therapist
from tests.conftest import NOW
from tests.helpers import audit_log, fresh, instant, user_headers

THERAPIST_FIELDS = {"id", "name", "phone", "active", "away_until", "sms_opted_out", "created_at"}


@pytest.fixture
def as_dana(db, people):
    """Dana, a therapist, signed in as herself."""
    return user_headers(db, "dana@example.org", therapist_id=people["dana"])


def test_admin_creates_a_therapist_with_the_phone_as_people_write_it(http, admin, db):
    response = http.post(
        "/api/therapists",
        json={"name": "  Ines Kowalczyk ", "phone": "(314) 555-0160"},
        headers=admin,
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == THERAPIST_FIELDS
    assert body["name"] == "Ines Kowalczyk"
    assert body["phone"] == "+13145550160"
    assert body["active"] is True
    assert body["away_until"] is None
    assert body["sms_opted_out"] is False

    row = fresh(db, Therapist, body["id"])
    assert (row.name, row.phone) == ("Ines Kowalczyk", "+13145550160")
    [entry] = audit_log(db, "therapist", body["id"])
    assert (entry.actor, entry.action) == ("admin@example.org", "create")
    assert entry.changes["phone"] == "+13145550160"
    assert instant(body["created_at"]) == NOW


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "phone": "314.555.0160"},
        {"name": "   ", "phone": "314.555.0160"},
        {"name": "Ines\x00", "phone": "314.555.0160"},
        {"name": "Ines", "phone": "555-0160"},  # no area code
        {"name": "Ines", "phone": "not a phone"},
        {"name": "Ines", "phone": 3145550160},  # wrong type
        {"name": 42, "phone": "314.555.0160"},
        {"name": "Ines"},
        {"name": "Ines", "phone": "314.555.0160", "active": "maybe"},
        {"name": "Ines", "phone": "314.555.0160", "role": "admin"},  # unknown field
        {"name": "x" * 201, "phone": "314.555.0160"},
    ],
)
def test_bad_therapist_input_is_422_and_saves_nothing(http, admin, db, body):
    response = http.post("/api/therapists", json=body, headers=admin)
    assert response.status_code == 422
    assert audit_log(db) == []


@pytest.mark.parametrize(
    "raw",
    [
        # JSON can escape half of a UTF-16 surrogate pair; it is not text, so no database can
        # store it and no answer can quote it back.
        rb'{"name": "Ines\ud800", "phone": "314.555.0160"}',
        rb'{"name": "Ines", "phone": "314.555.0160\udfff"}',
        rb'{"name": "Ines", "phone": "314.555.0160", "\ud800": true}',
        # Nesting and numbers beyond what any field needs.
        b'{"name": "Ines", "phone": "314.555.0160", "active": ' + b"[" * 300 + b"]" * 300 + b"}",
        b'{"name": "Ines", "phone": "314.555.0160", "active": ' + b"1" * 5000 + b"}",
    ],
)
def test_a_body_that_is_not_unicode_json_is_422_and_saves_nothing(http, admin, db, raw):
    headers = {**admin, "Content-Type": "application/json"}
    response = http.post("/api/therapists", content=raw, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert audit_log(db) == []


def test_a_whole_surrogate_pair_is_just_a_character(http, admin):
    raw = rb'{"name": "Ines \ud83c\udf3b", "phone": "314.555.0160"}'
    headers = {**admin, "Content-Type": "application/json"}
    response = http.post("/api/therapists", content=raw, headers=headers)
    assert response.status_code == 201
    assert response.json()["name"] == "Ines \U0001f33b"


def test_a_phone_already_in_use_is_409(http, admin, people):
    # Another therapist's number, and a client's, written differently.
    for phone in ("314-555-0111", "+1 314 555 0142"):
        response = http.post(
            "/api/therapists", json={"name": "Ines Kowalczyk", "phone": phone}, headers=admin
        )
        assert response.status_code == 409, phone
        assert "already belongs" in response.json()["detail"]


def test_a_missing_or_unknown_token_is_401(http, people):
    assert http.get("/api/therapists").status_code == 401
    assert (
        http.get("/api/therapists", headers={"Authorization": "Bearer cl_nope"}).status_code == 401
    )
    assert http.get("/api/therapists", headers={"Authorization": "Basic YTpi"}).status_code == 401
    response = http.post("/api/therapists", json={"name": "X", "phone": "3145550160"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_is_401(http, admin, db):
    from app.models import ApiToken

    token = db.query(ApiToken).one()
    token.revoked_at = NOW
    db.commit()
    assert http.get("/api/therapists", headers=admin).status_code == 401


def test_a_therapist_reads_therapists_but_cannot_create_or_change_them(http, as_dana, people):
    listed = http.get("/api/therapists", headers=as_dana)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["items"]] == [people["dana"], people["marcus"]]
    assert http.get(f"/api/therapists/{people['marcus']}", headers=as_dana).status_code == 200

    created = http.post(
        "/api/therapists", json={"name": "Ines", "phone": "314.555.0160"}, headers=as_dana
    )
    assert created.status_code == 403
    patched = http.patch(f"/api/therapists/{people['dana']}", json={"name": "D"}, headers=as_dana)
    assert patched.status_code == 403


def test_list_is_paginated_by_id_and_filters_on_active(http, admin, db, people):
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    page = http.get("/api/therapists?limit=1&offset=1", headers=admin).json()
    assert page["total"] == 2
    assert (page["limit"], page["offset"]) == (1, 1)
    assert [t["id"] for t in page["items"]] == [people["marcus"]]

    active = http.get("/api/therapists?active=true", headers=admin).json()
    assert [t["id"] for t in active["items"]] == [people["dana"]]
    assert active["total"] == 1


def test_get_one(http, admin, people):
    response = http.get(f"/api/therapists/{people['dana']}", headers=admin)
    assert response.status_code == 200
    assert response.json()["name"] == "Dana Whitfield"
    assert http.get("/api/therapists/999", headers=admin).status_code == 404


@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", "99999999999999999999", "1.5"])
def test_an_id_that_cannot_exist_is_422(http, admin, bad_id):
    assert http.get(f"/api/therapists/{bad_id}", headers=admin).status_code == 422


def test_admin_patches_a_therapist_and_the_change_is_audited(http, admin, db, people):
    response = http.patch(
        f"/api/therapists/{people['dana']}",
        json={"phone": "314.555.0161", "active": False},
        headers=admin,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["phone"], body["active"], body["name"]) == (
        "+13145550161",
        False,
        "Dana Whitfield",
    )
    [entry] = audit_log(db, "therapist", people["dana"])
    assert entry.action == "update"
    assert entry.changes == {
        "phone": {"from": "+13145550111", "to": "+13145550161"},
        "active": {"from": True, "to": False},
    }


def test_a_patch_that_changes_nothing_writes_no_audit(http, admin, db, people):
    response = http.patch(
        f"/api/therapists/{people['dana']}", json={"phone": "(314) 555-0111"}, headers=admin
    )
    assert response.status_code == 200
    assert audit_log(db) == []


@pytest.mark.parametrize(
    "body, status",
    [
        ({"name": None}, 422),
        ({"name": " "}, 422),
        ({"phone": "12"}, 422),
        ({"active": None}, 422),
        ({"nickname": "D"}, 422),
        ({"phone": "314 555 0112"}, 409),  # Marcus's
    ],
)
def test_bad_patches(http, admin, db, people, body, status):
    response = http.patch(f"/api/therapists/{people['dana']}", json=body, headers=admin)
    assert response.status_code == status
    assert fresh(db, Therapist, people["dana"]).phone == "+13145550111"


def test_patching_an_unknown_therapist_is_404(http, admin):
    assert http.patch("/api/therapists/999", json={"name": "X"}, headers=admin).status_code == 404


def test_admin_sets_and_clears_away(http, admin, db, people):
    url = f"/api/therapists/{people['marcus']}/away"
    response = http.post(url, json={"until": "2026-12-01T09:00:00-06:00"}, headers=admin)
    assert response.status_code == 200
    assert instant(response.json()["away_until"]) == instant("2026-12-01T15:00:00+00:00")
    assert fresh(db, Therapist, people["marcus"]).away_until == instant("2026-12-01T15:00:00Z")

    cleared = http.delete(url, headers=admin)
    assert cleared.status_code == 200
    assert cleared.json()["away_until"] is None
    assert fresh(db, Therapist, people["marcus"]).away_until is None
    actions = [(e.action, e.actor) for e in audit_log(db, "therapist", people["marcus"])]
    assert actions == [("set_away", "admin@example.org"), ("clear_away", "admin@example.org")]


def test_a_therapist_sets_their_own_away_but_not_a_colleagues(http, as_dana, db, people):
    own = http.post(
        f"/api/therapists/{people['dana']}/away",
        json={"until": "2026-11-29T08:00:00-06:00"},
        headers=as_dana,
    )
    assert own.status_code == 200
    [entry] = audit_log(db, "therapist", people["dana"])
    assert entry.actor == "dana@example.org"

    url = f"/api/therapists/{people['marcus']}/away"
    other = http.post(url, json={"until": "2026-11-29T08:00:00-06:00"}, headers=as_dana)
    assert other.status_code == 403
    assert http.delete(url, headers=as_dana).status_code == 403
    assert http.delete(f"/api/therapists/{people['dana']}/away", headers=as_dana).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"until": "2026-12-01T09:00:00"},  # no offset: a wall-clock time is not an instant
        {"until": "next tuesday"},
        {"until": (NOW - timedelta(minutes=1)).isoformat()},  # already past
        {"until": NOW.isoformat()},
        {"until": 1796137200},  # seconds since 1970 (or milliseconds?): ISO 8601 text only
        {"until": "1796137200"},
        {},
        {"until": "2026-12-01T09:00:00Z", "reason": "x"},
    ],
)
def test_bad_away_is_422(http, admin, people, body):
    response = http.post(f"/api/therapists/{people['dana']}/away", json=body, headers=admin)
    assert response.status_code == 422


def test_away_for_an_unknown_therapist_is_404(http, admin):
    body = {"until": "2026-12-01T09:00:00Z"}
    assert http.post("/api/therapists/999/away", json=body, headers=admin).status_code == 404
    assert http.delete("/api/therapists/999/away", headers=admin).status_code == 404
