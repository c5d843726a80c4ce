"""/api/clients: enrolment, phone numbers as people write them, and `locked_until`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import Client, Lockout, Therapist
from tests.conftest import NOW
from tests.helpers import audit_log, fresh, instant, user_headers

CLIENT_FIELDS = {
    "id",
    "name",
    "phone",
    "therapist_id",
    "lockout_rule_applies",
    "sms_opted_out",
    "language",
    "spoken_language",
    "diary_opt_in",
    "diary_prompt_time",
    "created_at",
    "locked_until",
}


def _count_clients(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Client))


@pytest.mark.parametrize(
    "written, e164",
    [
        ("(314) 555-0150", "+13145550150"),
        ("314.555.0150", "+13145550150"),
        ("314-555-0150", "+13145550150"),
        ("+1 314 555 0150", "+13145550150"),
        ("1 (314) 555 0150", "+13145550150"),
    ],
)
def test_admin_enrols_a_client_and_the_phone_is_stored_in_e164(
    http, admin, db, people, written, e164
):
    response = http.post(
        "/api/clients",
        json={"name": "Sam Okafor", "phone": written, "therapist_id": people["dana"]},
        headers=admin,
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == CLIENT_FIELDS
    assert body["phone"] == e164
    assert body["lockout_rule_applies"] is True
    assert body["sms_opted_out"] is False
    assert body["locked_until"] is None

    row = fresh(db, Client, body["id"])
    assert (row.name, row.phone, row.therapist_id) == ("Sam Okafor", e164, people["dana"])
    [entry] = audit_log(db, "client", body["id"])
    assert (entry.actor, entry.action) == ("admin@example.org", "create")
    assert entry.changes["therapist_id"] == people["dana"]


def test_an_adolescent_program_client_can_be_enrolled_with_the_rule_waived(http, admin, people):
    response = http.post(
        "/api/clients",
        json={
            "name": "Ari Lund",
            "phone": "314 555 0151",
            "therapist_id": people["marcus"],
            "lockout_rule_applies": False,
        },
        headers=admin,
    )
    assert response.status_code == 201
    assert response.json()["lockout_rule_applies"] is False


def test_a_duplicate_phone_is_409_however_it_is_written(http, admin, db, people):
    before = _count_clients(db)
    for phone in ("(314) 555-0142", "314.555.0142", "+13145550142", "314 555 0111"):
        response = http.post(
            "/api/clients",
            json={"name": "Sam Okafor", "phone": phone, "therapist_id": people["dana"]},
            headers=admin,
        )
        assert response.status_code == 409, phone
    assert _count_clients(db) == before


@pytest.mark.parametrize(
    "change",
    [
        {"therapist_id": 999},  # unknown therapist
        {"name": ""},
        {"name": "   "},
        {"phone": "555-0150"},
        {"phone": "314 555 015"},
        {"phone": ""},
        {"phone": "x" * 41},
        {"therapist_id": "abc"},
        {"therapist_id": 99999999999999999999},
        {"therapist_id": 0},
        {"lockout_rule_applies": "yes"},
        {"sms_opted_out": None},
        {"favourite_colour": "teal"},
    ],
)
def test_bad_client_input_is_422(http, admin, db, people, change):
    body = {"name": "Sam Okafor", "phone": "314.555.0150", "therapist_id": people["dana"], **change}
    response = http.post("/api/clients", json=body, headers=admin)
    assert response.status_code == 422
    assert _count_clients(db) == 2


def test_a_client_cannot_be_given_an_inactive_therapist(http, admin, db, people):
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    body = {"name": "Sam Okafor", "phone": "314.555.0150", "therapist_id": people["marcus"]}
    response = http.post("/api/clients", json=body, headers=admin)
    assert response.status_code == 422
    assert "not active" in response.json()["detail"]


def test_a_body_that_is_not_json_is_422(http, admin, people):
    response = http.post(
        "/api/clients",
        content=b"name=Sam",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_clients_are_admin_only(http, db, people):
    as_dana = user_headers(db, "dana@example.org", therapist_id=people["dana"])
    riley = people["riley"]
    body = {"name": "Sam", "phone": "314.555.0150", "therapist_id": people["dana"]}
    assert http.post("/api/clients", json=body, headers=as_dana).status_code == 403
    assert http.get("/api/clients", headers=as_dana).status_code == 403
    assert http.get(f"/api/clients/{riley}", headers=as_dana).status_code == 403
    assert (
        http.patch(f"/api/clients/{riley}", json={"name": "R"}, headers=as_dana).status_code == 403
    )
    assert http.get("/api/clients").status_code == 401


def test_list_is_paginated_and_filters_by_therapist(http, admin, people):
    page = http.get("/api/clients", headers=admin).json()
    assert page["total"] == 2
    assert [c["id"] for c in page["items"]] == [people["riley"], people["jordan"]]
    assert all(set(c) == CLIENT_FIELDS for c in page["items"])

    second = http.get("/api/clients?limit=1&offset=1", headers=admin).json()
    assert [c["id"] for c in second["items"]] == [people["jordan"]]
    assert second["total"] == 2

    marcus = http.get(f"/api/clients?therapist_id={people['marcus']}", headers=admin).json()
    assert [c["name"] for c in marcus["items"]] == ["Jordan Pike"]


def test_get_one_includes_locked_until(http, admin, db, people):
    riley = people["riley"]
    response = http.get(f"/api/clients/{riley}", headers=admin)
    assert response.status_code == 200
    assert response.json()["locked_until"] is None

    starts = NOW - timedelta(hours=3)
    db.add(
        Lockout(
            client_id=riley, starts_at=starts, ends_at=starts + timedelta(hours=24), created_by="t"
        )
    )
    db.commit()
    body = http.get(f"/api/clients/{riley}", headers=admin).json()
    assert instant(body["locked_until"]) == starts + timedelta(hours=24)
    listed = http.get("/api/clients", headers=admin).json()["items"]
    assert {c["id"]: c["locked_until"] is not None for c in listed} == {
        riley: True,
        people["jordan"]: False,
    }


def test_get_unknown_client_is_404(http, admin):
    assert http.get("/api/clients/4242", headers=admin).status_code == 404


def test_admin_patches_a_client_and_the_change_is_audited(http, admin, db, people):
    riley = people["riley"]
    response = http.patch(
        f"/api/clients/{riley}",
        json={"phone": "(314) 555-0152", "therapist_id": people["marcus"], "sms_opted_out": True},
        headers=admin,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["phone"], body["therapist_id"], body["sms_opted_out"]) == (
        "+13145550152",
        people["marcus"],
        True,
    )
    row = fresh(db, Client, riley)
    assert (row.phone, row.therapist_id, row.sms_opted_out) == (
        "+13145550152",
        people["marcus"],
        True,
    )
    [entry] = audit_log(db, "client", riley)
    assert (entry.actor, entry.action) == ("admin@example.org", "update")
    assert entry.changes == {
        "phone": {"from": "+13145550142", "to": "+13145550152"},
        "therapist_id": {"from": people["dana"], "to": people["marcus"]},
        "sms_opted_out": {"from": False, "to": True},
    }


def test_a_client_keeping_their_own_phone_is_not_a_conflict(http, admin, db, people):
    response = http.patch(
        f"/api/clients/{people['riley']}", json={"phone": "314.555.0142"}, headers=admin
    )
    assert response.status_code == 200
    assert audit_log(db) == []


@pytest.mark.parametrize(
    "body, status",
    [
        ({"phone": "314.555.0143"}, 409),  # Jordan's
        ({"phone": "314.555.0112"}, 409),  # Marcus's (a therapist)
        ({"phone": "555"}, 422),
        ({"therapist_id": 999}, 422),
        ({"name": None}, 422),
        ({"name": ""}, 422),
        ({"lockout_rule_applies": None}, 422),
        ({"id": 7}, 422),
    ],
)
def test_bad_client_patches(http, admin, db, people, body, status):
    response = http.patch(f"/api/clients/{people['riley']}", json=body, headers=admin)
    assert response.status_code == status
    row = fresh(db, Client, people["riley"])
    assert (row.name, row.phone, row.therapist_id) == (
        "Riley Tran",
        "+13145550142",
        people["dana"],
    )
    assert audit_log(db) == []


def test_patching_an_unknown_client_is_404(http, admin):
    assert http.patch("/api/clients/4242", json={"name": "X"}, headers=admin).status_code == 404


def test_waiving_the_rule_unlocks_a_locked_client(http, admin, db, people):
    riley = people["riley"]
    db.add(
        Lockout(client_id=riley, starts_at=NOW, ends_at=NOW + timedelta(hours=24), created_by="t")
    )
    db.commit()
    assert http.get(f"/api/clients/{riley}", headers=admin).json()["locked_until"] is not None
    response = http.patch(
        f"/api/clients/{riley}", json={"lockout_rule_applies": False}, headers=admin
    )
    assert response.status_code == 200
    assert response.json()["locked_until"] is None
