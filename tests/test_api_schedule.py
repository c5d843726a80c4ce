"""The schedule: weekly coaching hours and on-call shifts."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from app.models import CoachingHours, OnCallShift, Therapist
from tests.conftest import NOW
from tests.helpers import audit_log, instant, user_headers

WEEK = [
    {"weekday": 4, "start": "18:00", "end": "22:00"},
    {"weekday": 0, "start": "09:00", "end": "12:30"},
    {"weekday": 5, "start": "22:00", "end": "02:00"},  # Saturday night into Sunday
]


@pytest.fixture
def as_dana(db, people):
    return user_headers(db, "dana@example.org", therapist_id=people["dana"])


def _hours_rows(db, therapist_id):
    db.rollback()
    stmt = (
        select(CoachingHours)
        .where(CoachingHours.therapist_id == therapist_id)
        .order_by(CoachingHours.weekday)
    )
    return [(h.weekday, h.start, h.end) for h in db.scalars(stmt)]


def test_admin_sets_weekly_hours_including_a_window_past_midnight(http, admin, db, people):
    url = f"/api/therapists/{people['dana']}/hours"
    assert http.get(url, headers=admin).json() == []

    response = http.put(url, json=WEEK, headers=admin)
    assert response.status_code == 200
    expected = [
        {"weekday": 0, "start": "09:00", "end": "12:30"},
        {"weekday": 4, "start": "18:00", "end": "22:00"},
        {"weekday": 5, "start": "22:00", "end": "02:00"},
    ]
    assert response.json() == expected
    assert http.get(url, headers=admin).json() == expected
    assert _hours_rows(db, people["dana"]) == [
        (0, time(9, 0), time(12, 30)),
        (4, time(18, 0), time(22, 0)),
        (5, time(22, 0), time(2, 0)),
    ]
    [entry] = audit_log(db, "therapist", people["dana"])
    assert (entry.action, entry.actor) == ("set_hours", "admin@example.org")
    assert entry.changes["hours"]["to"] == expected


def test_putting_hours_replaces_them(http, admin, db, people):
    url = f"/api/therapists/{people['dana']}/hours"
    http.put(url, json=WEEK, headers=admin)
    response = http.put(url, json=[{"weekday": 2, "start": "07:00", "end": "08:00"}], headers=admin)
    assert response.status_code == 200
    assert _hours_rows(db, people["dana"]) == [(2, time(7, 0), time(8, 0))]
    assert http.put(url, json=[], headers=admin).json() == []
    assert _hours_rows(db, people["dana"]) == []
    assert [e.action for e in audit_log(db, "therapist")] == ["set_hours"] * 3


@pytest.mark.parametrize(
    "body",
    [
        [{"weekday": 7, "start": "09:00", "end": "10:00"}],
        [{"weekday": -1, "start": "09:00", "end": "10:00"}],
        [{"weekday": "1", "start": "09:00", "end": "10:00"}],
        [{"weekday": 99999999999999999999, "start": "09:00", "end": "10:00"}],
        [{"weekday": 1, "start": "9:00", "end": "10:00"}],
        [{"weekday": 1, "start": "24:00", "end": "10:00"}],
        [{"weekday": 1, "start": "09:00:00", "end": "10:00"}],
        [{"weekday": 1, "start": "09:00+02:00", "end": "10:00"}],
        [{"weekday": 1, "start": "09:00\n", "end": "10:00"}],
        [{"weekday": 1, "start": "0\u0669:0\u0660", "end": "10:00"}],  # Arabic-Indic digits
        [{"weekday": 1, "start": 900, "end": "10:00"}],
        [{"weekday": 1, "start": "09:00", "end": "09:00"}],  # empty window
        [{"weekday": 1, "start": "09:00"}],
        [{"weekday": 1, "start": "09:00", "end": "10:00", "tz": "UTC"}],
        {"weekday": 1, "start": "09:00", "end": "10:00"},  # not a list
        [{"weekday": 1, "start": "09:00", "end": "10:00"}] * 51,
    ],
)
def test_bad_hours_are_422_and_keep_the_old_ones(http, admin, db, people, body):
    url = f"/api/therapists/{people['dana']}/hours"
    http.put(url, json=WEEK, headers=admin)
    response = http.put(url, json=body, headers=admin)
    assert response.status_code == 422
    assert len(_hours_rows(db, people["dana"])) == 3


def test_a_therapist_sets_their_own_hours_and_reads_anyones(http, as_dana, db, people):
    own = f"/api/therapists/{people['dana']}/hours"
    assert http.put(own, json=WEEK, headers=as_dana).status_code == 200
    assert audit_log(db, "therapist")[0].actor == "dana@example.org"

    other = f"/api/therapists/{people['marcus']}/hours"
    assert http.put(other, json=WEEK, headers=as_dana).status_code == 403
    assert _hours_rows(db, people["marcus"]) == []
    assert http.get(other, headers=as_dana).status_code == 200


def test_hours_of_an_unknown_therapist_are_404(http, admin):
    assert http.get("/api/therapists/999/hours", headers=admin).status_code == 404
    assert http.put("/api/therapists/999/hours", json=WEEK, headers=admin).status_code == 404


def test_hours_need_a_token(http, people):
    assert http.get(f"/api/therapists/{people['dana']}/hours").status_code == 401
    assert http.put(f"/api/therapists/{people['dana']}/hours", json=WEEK).status_code == 401


# ---- on-call shifts -----------------------------------------------------------------------

FRIDAY_NIGHT = {"starts_at": "2026-11-27T17:00:00-06:00", "ends_at": "2026-11-28T08:00:00-06:00"}


def test_admin_adds_an_on_call_shift(http, admin, db, people):
    body = {"therapist_id": people["marcus"], **FRIDAY_NIGHT}
    response = http.post("/api/on-call-shifts", json=body, headers=admin)
    assert response.status_code == 201
    shift = response.json()
    assert set(shift) == {"id", "therapist_id", "starts_at", "ends_at", "created_at"}
    assert instant(shift["starts_at"]) == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    assert instant(shift["ends_at"]) == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    assert instant(shift["created_at"]) == NOW

    db.rollback()
    row = db.get(OnCallShift, shift["id"])
    assert (row.therapist_id, row.starts_at) == (people["marcus"], instant(shift["starts_at"]))
    [entry] = audit_log(db, "on_call_shift", shift["id"])
    assert (entry.action, entry.actor) == ("create", "admin@example.org")


@pytest.mark.parametrize(
    "change, status",
    [
        ({"ends_at": "2026-11-27T16:00:00-06:00"}, 422),  # ends before it starts
        ({"ends_at": "2026-11-27T17:00:00-06:00"}, 422),  # zero length
        ({"ends_at": "2026-11-27T23:00:00+00:00"}, 422),  # the same instant, other offset
        ({"starts_at": "2026-11-27T17:00:00"}, 422),  # naive
        ({"starts_at": "friday"}, 422),
        ({"starts_at": 1795737600}, 422),  # seconds since 1970: ISO 8601 text only
        ({"therapist_id": 999}, 422),
        ({"therapist_id": "marcus"}, 422),
        ({"therapist_id": 2**40}, 422),
        ({"note": "x"}, 422),
    ],
)
def test_bad_shifts(http, admin, db, people, change, status):
    body = {"therapist_id": people["marcus"], **FRIDAY_NIGHT, **change}
    response = http.post("/api/on-call-shifts", json=body, headers=admin)
    assert response.status_code == status
    db.rollback()
    assert db.scalars(select(OnCallShift)).all() == []


def test_an_inactive_therapist_cannot_be_put_on_call(http, admin, db, people):
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    body = {"therapist_id": people["marcus"], **FRIDAY_NIGHT}
    assert http.post("/api/on-call-shifts", json=body, headers=admin).status_code == 422


def test_a_therapist_reads_shifts_but_only_an_admin_adds_them(http, admin, as_dana, db, people):
    body = {"therapist_id": people["dana"], **FRIDAY_NIGHT}
    assert http.post("/api/on-call-shifts", json=body, headers=as_dana).status_code == 403
    http.post("/api/on-call-shifts", json=body, headers=admin)
    listed = http.get("/api/on-call-shifts", headers=as_dana)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert http.get("/api/on-call-shifts").status_code == 401


def test_shifts_are_listed_newest_first_and_filter_by_therapist(http, admin, people):
    starts = ["2026-11-20T17:00:00Z", "2026-12-04T17:00:00Z", "2026-11-27T17:00:00Z"]
    for who, start in zip(("dana", "marcus", "dana"), starts, strict=True):
        body = {
            "therapist_id": people[who],
            "starts_at": start,
            "ends_at": start.replace("T17", "T23"),
        }
        assert http.post("/api/on-call-shifts", json=body, headers=admin).status_code == 201
    page = http.get("/api/on-call-shifts", headers=admin).json()
    assert page["total"] == 3
    assert [s["starts_at"][:10] for s in page["items"]] == [
        "2026-12-04",
        "2026-11-27",
        "2026-11-20",
    ]

    dana = http.get(f"/api/on-call-shifts?therapist_id={people['dana']}&limit=1", headers=admin)
    assert dana.json()["total"] == 2
    assert [s["starts_at"][:10] for s in dana.json()["items"]] == ["2026-11-27"]
