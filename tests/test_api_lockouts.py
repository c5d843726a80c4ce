"""The 24-hour rule through the API: record, read, lift; `active` and `locked_until` at the
instant of the request, 24 hours as an instant (also across the end of daylight saving time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import Client, Lockout
from tests.conftest import NOW
from tests.helpers import audit_log, fresh, instant, user_headers

LOCKOUT_FIELDS = {
    "id",
    "client_id",
    "starts_at",
    "ends_at",
    "note",
    "created_by",
    "created_at",
    "lifted_at",
    "lifted_by",
    "lift_reason",
    "active",
}


@pytest.fixture
def as_dana(db, people):
    """Dana, a therapist: Riley is her client, Jordan is Marcus's."""
    return user_headers(db, "dana@example.org", therapist_id=people["dana"])


def _record(http, headers, client_id, **body):
    return http.post(f"/api/clients/{client_id}/lockouts", json=body, headers=headers)


def _locked_until(http, admin, client_id):
    value = http.get(f"/api/clients/{client_id}", headers=admin).json()["locked_until"]
    return instant(value) if value else None


def test_a_lockout_recorded_now_runs_24_hours(http, admin, db, people):
    response = _record(http, admin, people["riley"], note="self-harm reported in session")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == LOCKOUT_FIELDS
    assert body["client_id"] == people["riley"]
    assert instant(body["starts_at"]) == NOW
    assert instant(body["ends_at"]) == NOW + timedelta(hours=24)
    assert body["note"] == "self-harm reported in session"
    assert body["created_by"] == "admin@example.org"
    assert (body["lifted_at"], body["active"]) == (None, True)

    row = fresh(db, Lockout, body["id"])
    assert (row.starts_at, row.ends_at) == (NOW, NOW + timedelta(hours=24))
    [entry] = audit_log(db, "lockout", body["id"])
    assert (entry.actor, entry.action) == ("admin@example.org", "create")
    assert entry.changes["client_id"] == people["riley"]
    assert _locked_until(http, admin, people["riley"]) == NOW + timedelta(hours=24)


def test_occurred_at_with_an_offset_is_the_instant_it_names(http, admin, people):
    response = _record(http, admin, people["riley"], occurred_at="2026-11-27T18:15:00-06:00")
    assert response.status_code == 201
    body = response.json()
    assert instant(body["starts_at"]) == datetime(2026, 11, 28, 0, 15, tzinfo=UTC)
    assert instant(body["ends_at"]) == datetime(2026, 11, 29, 0, 15, tzinfo=UTC)
    assert body["note"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"occurred_at": "2026-11-27T18:15:00"},  # naive: a wall-clock time, not an instant
        {"occurred_at": "yesterday"},
        {"occurred_at": "2026-13-01T00:00:00Z"},
        {"occurred_at": 1764300000.5e30},
        {"occurred_at": 1795821300},  # seconds since 1970 (or milliseconds?): ISO 8601 only
        {"occurred_at": "1795821300"},
        {"occurred_at": (NOW + timedelta(minutes=5, seconds=1)).isoformat()},  # future
        {"occurred_at": "2027-11-27T18:15:00-06:00"},
        {"occurred_at": "0001-01-01T00:00:00+05:00"},  # before the start of time in UTC
        {"note": "nul\x00byte"},
        {"note": 12},
        {"note": "x" * 5000},
        {"reason": "not a field here"},
    ],
)
def test_bad_lockout_input_is_422_and_records_nothing(http, admin, db, people, body):
    response = _record(http, admin, people["riley"], **body)
    assert response.status_code == 422
    assert audit_log(db) == []
    assert _locked_until(http, admin, people["riley"]) is None


def test_half_a_surrogate_pair_in_a_note_is_422_and_records_nothing(http, admin, db, people):
    response = http.post(
        f"/api/clients/{people['riley']}/lockouts",
        content=rb'{"note": "cut \udfff"}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert audit_log(db) == []


def test_a_few_minutes_of_clock_skew_into_the_future_is_accepted(http, admin, people):
    at = NOW + timedelta(minutes=5)
    response = _record(http, admin, people["riley"], occurred_at=at.isoformat())
    assert response.status_code == 201
    # Not started yet at the instant of the request.
    assert response.json()["active"] is False


def test_an_event_more_than_24_hours_ago_is_recorded_but_not_active(http, admin, people):
    response = _record(
        http, admin, people["riley"], occurred_at=(NOW - timedelta(hours=25)).isoformat()
    )
    assert response.status_code == 201
    assert response.json()["active"] is False
    assert _locked_until(http, admin, people["riley"]) is None


def test_locked_until_ends_at_exactly_24_hours(http, admin, line, people):
    riley = people["riley"]
    starts = NOW - timedelta(hours=23, minutes=59, seconds=59)
    assert _record(http, admin, riley, occurred_at=starts.isoformat()).status_code == 201
    assert _locked_until(http, admin, riley) == starts + timedelta(hours=24)

    line.clock = lambda: starts + timedelta(hours=24) - timedelta(microseconds=1)
    assert _locked_until(http, admin, riley) == starts + timedelta(hours=24)
    line.clock = lambda: starts + timedelta(hours=24)
    assert _locked_until(http, admin, riley) is None


def test_24_hours_is_an_instant_across_the_end_of_daylight_saving_time(http, admin, line, people):
    riley = people["riley"]
    # 01:30 CDT on the night the clocks go back; 24 hours later it is 00:30 CST, not 01:30.
    line.clock = lambda: datetime.fromisoformat("2026-11-01T12:00:00-06:00")
    response = _record(http, admin, riley, occurred_at="2026-11-01T01:30:00-05:00")
    assert response.status_code == 201
    ends_at = datetime.fromisoformat("2026-11-02T00:30:00-06:00")
    assert instant(response.json()["ends_at"]) == ends_at

    line.clock = lambda: datetime.fromisoformat("2026-11-02T00:29:59-06:00")
    assert _locked_until(http, admin, riley) == ends_at
    line.clock = lambda: datetime.fromisoformat("2026-11-02T00:30:00-06:00")
    assert _locked_until(http, admin, riley) is None
    # A wall-clock "same time tomorrow" would still be locked here.
    line.clock = lambda: datetime.fromisoformat("2026-11-02T00:45:00-06:00")
    assert _locked_until(http, admin, riley) is None


def test_overlapping_lockouts_lock_until_the_later_end(http, admin, people):
    riley = people["riley"]
    first = _record(http, admin, riley, occurred_at=(NOW - timedelta(hours=10)).isoformat())
    second = _record(http, admin, riley, occurred_at=(NOW - timedelta(hours=2)).isoformat())
    assert _locked_until(http, admin, riley) == NOW + timedelta(hours=22)
    lifted = http.post(
        f"/api/lockouts/{second.json()['id']}/lift", json={"reason": "entered twice"}, headers=admin
    )
    assert lifted.status_code == 200
    assert _locked_until(http, admin, riley) == instant(first.json()["ends_at"])


def test_an_earlier_event_inside_a_lockout_is_recorded_and_never_shortens_it(
    http, admin, db, people
):
    riley = people["riley"]
    later = _record(http, admin, riley, occurred_at=(NOW - timedelta(hours=2)).isoformat())
    earlier = _record(http, admin, riley, occurred_at=(NOW - timedelta(hours=10)).isoformat())
    # Both are events of the record; neither is refused, and the later end still holds.
    assert (later.status_code, earlier.status_code) == (201, 201)
    assert earlier.json()["active"] is True
    assert _locked_until(http, admin, riley) == NOW + timedelta(hours=22)
    assert len(db.scalars(select(Lockout).where(Lockout.client_id == riley)).all()) == 2


def test_an_event_in_the_future_is_refused_in_words(http, admin, people):
    response = _record(http, admin, people["riley"], occurred_at="2027-11-27T18:15:00-06:00")
    assert response.status_code == 422
    assert response.json()["detail"] == "the time of the event is in the future"


def test_a_client_with_the_rule_waived_cannot_be_locked_out(http, admin, db, people):
    db.get(Client, people["jordan"]).lockout_rule_applies = False
    db.commit()
    response = _record(http, admin, people["jordan"])
    assert response.status_code == 409
    assert "waived" in response.json()["detail"]
    assert audit_log(db) == []


def test_unknown_client_is_404(http, admin):
    assert _record(http, admin, 4242).status_code == 404
    assert http.get("/api/clients/4242/lockouts", headers=admin).status_code == 404


def test_lockouts_are_listed_newest_first(http, admin, people):
    riley = people["riley"]
    for hours in (30, 2, 12):
        _record(http, admin, riley, occurred_at=(NOW - timedelta(hours=hours)).isoformat())
    _record(http, admin, people["jordan"])
    page = http.get(f"/api/clients/{riley}/lockouts", headers=admin).json()
    assert page["total"] == 3
    starts = [instant(lo["starts_at"]) for lo in page["items"]]
    assert starts == [NOW - timedelta(hours=h) for h in (2, 12, 30)]
    assert [lo["active"] for lo in page["items"]] == [True, True, False]

    second = http.get(f"/api/clients/{riley}/lockouts?limit=1&offset=1", headers=admin).json()
    assert [instant(lo["starts_at"]) for lo in second["items"]] == [NOW - timedelta(hours=12)]


def test_lifting_needs_a_reason_and_is_audited(http, admin, db, people):
    riley = people["riley"]
    lockout_id = _record(http, admin, riley).json()["id"]
    url = f"/api/lockouts/{lockout_id}/lift"
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": None}, {"reason": 5}):
        assert http.post(url, json=body, headers=admin).status_code == 422, body
    assert _locked_until(http, admin, riley) is not None

    response = http.post(url, json={"reason": "  recorded for the wrong client  "}, headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert instant(body["lifted_at"]) == NOW
    assert body["lifted_by"] == "admin@example.org"
    assert body["lift_reason"] == "recorded for the wrong client"
    assert body["active"] is False
    assert _locked_until(http, admin, riley) is None

    row = fresh(db, Lockout, lockout_id)
    assert (row.lifted_at, row.lifted_by) == (NOW, "admin@example.org")
    entries = audit_log(db, "lockout", lockout_id)
    assert [(e.action, e.reason) for e in entries] == [
        ("create", None),
        ("lift", "recorded for the wrong client"),
    ]


def test_lifting_twice_is_409(http, admin, db, people):
    lockout_id = _record(http, admin, people["riley"]).json()["id"]
    url = f"/api/lockouts/{lockout_id}/lift"
    assert http.post(url, json={"reason": "first"}, headers=admin).status_code == 200
    again = http.post(url, json={"reason": "second"}, headers=admin)
    assert again.status_code == 409
    assert fresh(db, Lockout, lockout_id).lift_reason == "first"


def test_lifting_an_unknown_lockout_is_404(http, admin):
    response = http.post("/api/lockouts/4242/lift", json={"reason": "x"}, headers=admin)
    assert response.status_code == 404
    assert http.post("/api/lockouts/0/lift", json={"reason": "x"}, headers=admin).status_code == 422


def test_a_therapist_records_reads_and_lifts_for_their_own_clients(http, as_dana, db, people):
    riley = people["riley"]
    response = _record(http, as_dana, riley)
    assert response.status_code == 201
    assert response.json()["created_by"] == "dana@example.org"
    listed = http.get(f"/api/clients/{riley}/lockouts", headers=as_dana)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    lifted = http.post(
        f"/api/lockouts/{response.json()['id']}/lift", json={"reason": "talked"}, headers=as_dana
    )
    assert lifted.status_code == 200
    assert lifted.json()["lifted_by"] == "dana@example.org"
    assert [e.actor for e in audit_log(db, "lockout")] == ["dana@example.org"] * 2


def test_another_therapists_client_is_not_found_for_a_therapist(http, admin, as_dana, db, people):
    jordan = people["jordan"]
    assert _record(http, as_dana, jordan).status_code == 404
    assert http.get(f"/api/clients/{jordan}/lockouts", headers=as_dana).status_code == 404
    lockout_id = _record(http, admin, jordan).json()["id"]
    response = http.post(f"/api/lockouts/{lockout_id}/lift", json={"reason": "x"}, headers=as_dana)
    assert response.status_code == 404
    # Indistinguishable from a lockout that does not exist.
    missing = http.post("/api/lockouts/4242/lift", json={"reason": "x"}, headers=as_dana)
    assert response.json()["detail"].replace(str(lockout_id), "N") == missing.json()[
        "detail"
    ].replace("4242", "N")
    assert fresh(db, Lockout, lockout_id).lifted_at is None


def test_a_therapist_user_without_a_therapist_sees_no_clients(http, db, people):
    headers = user_headers(db, "frontdesk@example.org", therapist_id=None)
    assert _record(http, headers, people["riley"]).status_code == 404


def test_lockouts_need_a_token(http, people):
    assert _record(http, {}, people["riley"]).status_code == 401
    assert http.get(f"/api/clients/{people['riley']}/lockouts").status_code == 401
    assert http.post("/api/lockouts/1/lift", json={"reason": "x"}).status_code == 401
