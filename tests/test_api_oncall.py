"""The on-call rotation through the admin API: rotations, overrides, who is on call, gaps.

NOW is Friday 2026-11-27 21:42 in St. Louis (CST). The weekly rotation below hands off on
Mondays at 9:00 local: Dana from November 16, Marcus from November 23 (so at NOW), Dana again
from November 30 at 15:00 UTC.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select

from app.line import Line
from app.models import OnCallOverride, OnCallShift, Rotation, Therapist
from app.oncall import gaps, on_call_at, on_call_now, warn_about_gaps
from app.settings import Settings
from tests.conftest import NOW, PUBLIC_BASE_URL
from tests.helpers import audit_log, fresh, instant, user_headers

HANDOFF = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 9:00 CST
NEXT_HANDOFF = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.fixture
def as_dana(db, people):
    return user_headers(db, "dana@example.org", therapist_id=people["dana"])


@pytest.fixture
def weekly(people):
    return {
        "name": "Weekly",
        "starts_on": "2026-11-16",
        "handoff_time": "09:00",
        "turn_days": 7,
        "therapist_ids": [people["dana"], people["marcus"]],
    }


@pytest.fixture
def rotation(http, admin, weekly) -> dict:
    response = http.post("/api/rotations", json=weekly, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def priya(db) -> int:
    therapist = Therapist(name="Priya Nandakumar", phone="+13145550113")
    db.add(therapist)
    db.commit()
    return therapist.id


def override_body(therapist_id: int, start: datetime, end: datetime, **extra) -> dict:
    return {"therapist_id": therapist_id, "starts_at": z(start), "ends_at": z(end), **extra}


# ---- rotations ----------------------------------------------------------------------------


def test_admin_creates_a_rotation(http, admin, db, people, rotation):
    assert set(rotation) == {
        "id",
        "name",
        "starts_on",
        "handoff_time",
        "turn_days",
        "active",
        "therapist_ids",
        "created_at",
        "calendar_url",
    }
    assert rotation["name"] == "Weekly"
    assert (rotation["starts_on"], rotation["handoff_time"]) == ("2026-11-16", "09:00")
    assert (rotation["turn_days"], rotation["active"]) == (7, True)
    assert rotation["therapist_ids"] == [people["dana"], people["marcus"]]
    assert instant(rotation["created_at"]) == NOW
    row = fresh(db, Rotation, rotation["id"])
    assert rotation["calendar_url"] == f"{PUBLIC_BASE_URL}/ical/rotations/{row.ical_token}.ics"
    assert (row.starts_on, row.handoff_time) == (date(2026, 11, 16), time(9, 0))
    assert [(m.position, m.therapist_id) for m in row.members] == [
        (0, people["dana"]),
        (1, people["marcus"]),
    ]
    [entry] = audit_log(db, "rotation", rotation["id"])
    assert (entry.action, entry.actor) == ("create", "admin@example.org")
    assert entry.changes["therapist_ids"] == [people["dana"], people["marcus"]]
    assert entry.changes["handoff_time"] == "09:00"

    listed = http.get("/api/rotations", headers=admin).json()
    assert (listed["total"], listed["items"]) == (1, [rotation])
    assert http.get(f"/api/rotations/{rotation['id']}", headers=admin).json() == rotation


@pytest.mark.parametrize(
    "change",
    [
        {"therapist_ids": []},
        {"therapist_ids": [999]},
        {"therapist_ids": ["dana"]},
        {"therapist_ids": [2**40]},
        {"therapist_ids": "1,2"},
        {"turn_days": 0},
        {"turn_days": -7},
        {"turn_days": "7"},
        {"turn_days": 367},
        {"handoff_time": "9:00"},
        {"handoff_time": "24:00"},
        {"handoff_time": "09:00:00"},
        {"handoff_time": "09:00-06:00"},
        {"starts_on": "someday"},
        {"starts_on": "1900-01-01"},
        {"starts_on": "9999-12-31"},
        {"starts_on": 1795737600},  # midnight, in seconds since 1970: ISO 8601 text only
        {"handoff_time": "09:00\n"},
        {"name": ""},
        {"name": "x" * 121},
        {"name": "night\x00"},
        {"active": "yes"},
        {"tz": "UTC"},
    ],
)
def test_bad_rotations_are_422_and_save_nothing(http, admin, db, weekly, change):
    response = http.post("/api/rotations", json={**weekly, **change}, headers=admin)
    assert response.status_code == 422, response.text
    db.rollback()
    assert db.scalars(select(Rotation)).all() == []


@pytest.mark.parametrize("missing", ["name", "starts_on", "handoff_time", "therapist_ids"])
def test_a_rotation_needs_its_fields(http, admin, weekly, missing):
    body = {k: v for k, v in weekly.items() if k != missing}
    assert http.post("/api/rotations", json=body, headers=admin).status_code == 422


def test_an_inactive_therapist_cannot_join_a_rotation(http, admin, db, people, weekly):
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    response = http.post("/api/rotations", json=weekly, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"] == f"therapist {people['marcus']} is not active"


def test_admin_patches_a_rotation_and_the_change_is_audited(http, admin, db, people, rotation):
    url = f"/api/rotations/{rotation['id']}"
    body = {"therapist_ids": [people["marcus"], people["dana"]], "handoff_time": "08:30"}
    response = http.patch(url, json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["therapist_ids"] == [people["marcus"], people["dana"]]
    assert response.json()["handoff_time"] == "08:30"
    row = fresh(db, Rotation, rotation["id"])
    assert [(m.position, m.therapist_id) for m in row.members] == [
        (0, people["marcus"]),
        (1, people["dana"]),
    ]
    entry = audit_log(db, "rotation", rotation["id"])[-1]
    assert (entry.action, entry.actor) == ("update", "admin@example.org")
    assert entry.changes == {
        "handoff_time": {"from": "09:00", "to": "08:30"},
        "therapist_ids": {
            "from": [people["dana"], people["marcus"]],
            "to": [people["marcus"], people["dana"]],
        },
    }
    # a shorter list, then deactivation
    http.patch(url, json={"therapist_ids": [people["dana"]]}, headers=admin)
    response = http.patch(url, json={"active": False}, headers=admin)
    assert response.json()["active"] is False
    assert response.json()["therapist_ids"] == [people["dana"]]
    assert len(audit_log(db, "rotation", rotation["id"])) == 4
    # nothing changed: no audit entry
    http.patch(url, json={"active": False}, headers=admin)
    assert len(audit_log(db, "rotation", rotation["id"])) == 4
    listed = http.get("/api/rotations?active=true", headers=admin).json()
    assert listed["total"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"therapist_ids": []},
        {"therapist_ids": [999]},
        {"turn_days": 0},
        {"active": None},
        {"name": None},
        {"colour": "blue"},
    ],
)
def test_bad_rotation_patches_are_422(http, admin, db, people, rotation, body):
    response = http.patch(f"/api/rotations/{rotation['id']}", json=body, headers=admin)
    assert response.status_code == 422
    assert fresh(db, Rotation, rotation["id"]).turn_days == 7
    assert len(audit_log(db, "rotation")) == 1


def test_unknown_rotations_are_404(http, admin):
    assert http.get("/api/rotations/999", headers=admin).status_code == 404
    assert (
        http.patch("/api/rotations/999", json={"active": False}, headers=admin).status_code == 404
    )
    assert http.get("/api/rotations/0", headers=admin).status_code == 422


def test_therapists_read_the_schedule_and_only_an_admin_changes_it(
    http, admin, as_dana, db, people, weekly, rotation
):
    assert http.post("/api/rotations", json=weekly, headers=as_dana).status_code == 403
    url = f"/api/rotations/{rotation['id']}"
    assert http.patch(url, json={"active": False}, headers=as_dana).status_code == 403
    assert http.post(f"{url}/calendar/reset", headers=as_dana).status_code == 403
    body = override_body(people["dana"], NOW, NOW + timedelta(hours=4))
    assert http.post("/api/on-call-overrides", json=body, headers=as_dana).status_code == 403
    override = http.post("/api/on-call-overrides", json=body, headers=admin).json()
    delete = f"/api/on-call-overrides/{override['id']}"
    assert http.delete(delete, headers=as_dana).status_code == 403
    for read in (
        "/api/rotations",
        url,
        "/api/on-call-overrides",
        "/api/on-call",
        "/api/on-call/gaps",
    ):
        assert http.get(read, headers=as_dana).status_code == 200, read
        assert http.get(read).status_code == 401, read
    assert http.post("/api/rotations", json=weekly).status_code == 401
    assert http.delete(delete).status_code == 401


# ---- overrides ----------------------------------------------------------------------------


def test_admin_adds_lists_and_deletes_an_override(http, admin, db, people):
    body = {
        "therapist_id": people["dana"],
        "starts_at": "2026-11-27T17:00:00-06:00",
        "ends_at": "2026-11-28T08:00:00-06:00",
        "reason": "swapped with Marcus",
    }
    response = http.post("/api/on-call-overrides", json=body, headers=admin)
    assert response.status_code == 201, response.text
    override = response.json()
    assert set(override) == {"id", "therapist_id", "starts_at", "ends_at", "reason", "created_at"}
    assert instant(override["starts_at"]) == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    assert instant(override["ends_at"]) == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    assert override["reason"] == "swapped with Marcus"
    [entry] = audit_log(db, "on_call_override", override["id"])
    assert (entry.action, entry.actor, entry.reason) == (
        "create",
        "admin@example.org",
        "swapped with Marcus",
    )

    listed = http.get("/api/on-call-overrides", headers=admin).json()
    assert (listed["total"], listed["items"]) == (1, [override])
    other = http.get(f"/api/on-call-overrides?therapist_id={people['marcus']}", headers=admin)
    assert other.json()["total"] == 0

    url = f"/api/on-call-overrides/{override['id']}"
    assert http.delete(url, headers=admin).status_code == 204
    assert fresh(db, OnCallOverride, override["id"]) is None
    entries = audit_log(db, "on_call_override", override["id"])
    assert [e.action for e in entries] == ["create", "delete"]
    assert entries[1].changes["therapist_id"] == people["dana"]
    assert http.delete(url, headers=admin).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"ends_at": "2026-11-27T16:00:00-06:00"},
        {"ends_at": "2026-11-27T23:00:00+00:00"},  # the same instant as starts_at
        {"starts_at": "2026-11-27T17:00:00"},
        {"starts_at": "friday"},
        {"starts_at": 1795737600},
        {"starts_at": "2500-01-01T00:00:00Z", "ends_at": "2500-01-02T00:00:00Z"},
        {"therapist_id": 999},
        {"therapist_id": "dana"},
        {"reason": "a\x00b"},
        {"reason": "x" * 2001},
        {"note": "x"},
    ],
)
def test_bad_overrides_are_422(http, admin, db, people, change):
    body = {
        "therapist_id": people["dana"],
        "starts_at": "2026-11-27T17:00:00-06:00",
        "ends_at": "2026-11-28T08:00:00-06:00",
        **change,
    }
    assert http.post("/api/on-call-overrides", json=body, headers=admin).status_code == 422
    db.rollback()
    assert db.scalars(select(OnCallOverride)).all() == []


def test_an_inactive_therapist_cannot_take_an_override(http, admin, db, people):
    db.get(Therapist, people["dana"]).active = False
    db.commit()
    body = override_body(people["dana"], NOW, NOW + timedelta(hours=2))
    assert http.post("/api/on-call-overrides", json=body, headers=admin).status_code == 422


# ---- who is on call -----------------------------------------------------------------------


def test_who_is_on_call_now_until_when_and_who_is_next(http, admin, people, rotation):
    response = http.get("/api/on-call", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert instant(body["at"]) == NOW
    assert body["on_call"] == [
        {
            "therapist_id": people["marcus"],
            "name": "Marcus Oyelaran",
            "source": "rotation",
            "until": z(HANDOFF),
        }
    ]
    assert body["next"] == {
        "at": z(HANDOFF),
        "on_call": [
            {
                "therapist_id": people["dana"],
                "name": "Dana Whitfield",
                "source": "rotation",
                "until": z(NEXT_HANDOFF),
            }
        ],
    }
    assert body["warnings"] == []


def test_on_call_at_an_instant_given_with_an_offset(http, admin, people, rotation):
    # Monday November 30: 8:59 CST is still Marcus; 9:00 CST is Dana.
    before = http.get("/api/on-call", params={"at": "2026-11-30T08:59:00-06:00"}, headers=admin)
    assert [e["therapist_id"] for e in before.json()["on_call"]] == [people["marcus"]]
    after = http.get("/api/on-call", params={"at": "2026-11-30T09:00:00-06:00"}, headers=admin)
    assert instant(after.json()["at"]) == HANDOFF
    assert [e["therapist_id"] for e in after.json()["on_call"]] == [people["dana"]]
    # before the rotation starts, nobody
    early = http.get("/api/on-call", params={"at": "2026-11-01T12:00:00Z"}, headers=admin)
    assert early.json()["on_call"] == []
    assert instant(early.json()["next"]["at"]) == datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def test_an_override_wins_and_shifts_keep_working(http, admin, db, people, priya, rotation):
    ends = NOW + timedelta(hours=6)
    body = override_body(priya, NOW - timedelta(hours=1), ends)
    assert http.post("/api/on-call-overrides", json=body, headers=admin).status_code == 201
    db.add(
        OnCallShift(therapist_id=people["dana"], starts_at=NOW, ends_at=NOW + timedelta(hours=2))
    )
    db.commit()
    on_call = http.get("/api/on-call", headers=admin).json()["on_call"]
    assert on_call == [
        {"therapist_id": priya, "name": "Priya Nandakumar", "source": "override", "until": z(ends)},
        {
            "therapist_id": people["dana"],
            "name": "Dana Whitfield",
            "source": "shift",
            "until": z(NOW + timedelta(hours=2)),
        },
    ]


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-27T21:42:00",
        "tonight",
        "2500-01-01T00:00:00Z",
        "1800-01-01T00:00:00Z",
        "1795821300",  # seconds since 1970: ISO 8601 text only
    ],
)
def test_a_bad_at_is_422(http, admin, at):
    assert http.get("/api/on-call", params={"at": at}, headers=admin).status_code == 422


def test_warnings_list_the_gaps_in_the_coming_7_days(http, admin, db, people, rotation):
    # Marcus leaves: his turn, until Monday's handoff to Dana, is uncovered.
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    body = http.get("/api/on-call", headers=admin).json()
    assert body["on_call"] == []
    assert body["warnings"] == [
        {
            "kind": "gap",
            "from": z(NOW),
            "to": z(HANDOFF),
            "message": "on-call gap from 2026-11-27T21:42-06:00 to 2026-11-30T09:00-06:00",
        }
    ]
    # the warnings are about the coming week whatever `at` asks about
    later = http.get("/api/on-call", params={"at": "2026-12-20T12:00:00Z"}, headers=admin)
    assert later.json()["warnings"] == body["warnings"]


def test_with_no_rotation_the_whole_week_is_a_gap(http, admin, people):
    [warning] = http.get("/api/on-call", headers=admin).json()["warnings"]
    assert (instant(warning["from"]), instant(warning["to"])) == (NOW, NOW + timedelta(days=7))


def test_gaps_between_two_instants(http, admin, db, people, weekly):
    weekly["starts_on"] = "2026-12-07"
    http.post("/api/rotations", json=weekly, headers=admin)
    shift = OnCallShift(
        therapist_id=people["dana"],
        starts_at=datetime(2026, 12, 1, tzinfo=UTC),
        ends_at=datetime(2026, 12, 2, tzinfo=UTC),
    )
    db.add(shift)
    db.commit()
    params = {"from": "2026-11-28T00:00:00Z", "to": "2026-12-31T00:00:00-06:00"}
    response = http.get("/api/on-call/gaps", params=params, headers=admin)
    assert response.status_code == 200
    assert response.json() == [
        {"from": "2026-11-28T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        {"from": "2026-12-02T00:00:00Z", "to": "2026-12-07T15:00:00Z"},
    ]
    default = http.get("/api/on-call/gaps", headers=admin).json()
    assert default == [
        {"from": z(NOW), "to": "2026-12-01T00:00:00Z"},
        {"from": "2026-12-02T00:00:00Z", "to": z(NOW + timedelta(days=7))},
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        {"from": "2026-11-01T00:00:00Z", "to": "2027-02-01T00:00:01Z"},  # 92 days and a second
        {"from": "2026-11-01T00:00:00", "to": "2026-11-02T00:00:00Z"},
        {"from": "2026-11-01T00:00:00Z", "to": "soon"},
        {"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T00:00:00Z"},
    ],
)
def test_bad_gap_ranges_are_422(http, admin, params):
    assert http.get("/api/on-call/gaps", params=params, headers=admin).status_code == 422


def test_92_days_is_allowed(http, admin, people):
    params = {"from": "2026-11-01T00:00:00Z", "to": "2027-02-01T00:00:00Z"}
    response = http.get("/api/on-call/gaps", params=params, headers=admin)
    assert response.status_code == 200
    assert response.json() == [params]


# ---- calendar URLs ------------------------------------------------------------------------


def test_a_therapist_gets_and_resets_their_own_calendar_url(http, admin, as_dana, db, people):
    url = f"/api/therapists/{people['dana']}/calendar"
    token = fresh(db, Therapist, people["dana"]).ical_token
    own = http.get(url, headers=as_dana)
    assert own.json() == {"url": f"{PUBLIC_BASE_URL}/ical/therapists/{token}.ics"}
    assert (
        http.get(f"/api/therapists/{people['marcus']}/calendar", headers=as_dana).status_code == 403
    )
    assert (
        http.get(f"/api/therapists/{people['marcus']}/calendar", headers=admin).status_code == 200
    )
    assert http.get("/api/therapists/999/calendar", headers=admin).status_code == 404

    reset = http.post(f"{url}/reset", headers=as_dana)
    assert reset.status_code == 200
    new_token = fresh(db, Therapist, people["dana"]).ical_token
    assert new_token != token and reset.json()["url"].endswith(f"/{new_token}.ics")
    [entry] = audit_log(db, "therapist", people["dana"])
    assert (entry.action, entry.actor) == ("reset_calendar", "dana@example.org")
    assert new_token not in str(entry.changes) and token not in str(entry.changes)


def test_admin_resets_a_rotation_calendar_url(http, admin, db, rotation):
    response = http.post(f"/api/rotations/{rotation['id']}/calendar/reset", headers=admin)
    assert response.status_code == 200
    assert response.json()["calendar_url"] != rotation["calendar_url"]
    assert audit_log(db, "rotation", rotation["id"])[-1].action == "reset_calendar"


# ---- the service side ---------------------------------------------------------------------


def test_on_call_now_for_the_call_flow_reads_little(line, db, people, rotation, priya):
    db.add(OnCallShift(therapist_id=priya, starts_at=NOW, ends_at=NOW + timedelta(hours=1)))
    db.commit()
    statements: list[str] = []

    def count(*_args) -> None:
        statements.append("sql")

    event.listen(line.engine, "before_cursor_execute", count)
    try:
        db.expire_all()
        found = on_call_now(db, NOW, line.settings.tz)
    finally:
        event.remove(line.engine, "before_cursor_execute", count)
    assert [t.id for t in found] == [people["marcus"], priya]
    assert found[0].phone == "+13145550112"
    assert len(statements) <= 6
    assert [t.id for t in on_call_now(db, HANDOFF, line.settings.tz)] == [people["dana"]]


def test_on_call_at_and_gaps_in_the_service(line, db, people, rotation):
    [entry] = on_call_at(db, NOW, line.settings.tz)
    assert (entry.therapist.name, entry.source, entry.until) == (
        "Marcus Oyelaran",
        "rotation",
        HANDOFF,
    )
    start = datetime(2026, 11, 10, tzinfo=UTC)
    assert [(g.starts_at, g.ends_at) for g in gaps(db, start, NOW, line.settings.tz)] == [
        (start, datetime(2026, 11, 16, 15, 0, tzinfo=UTC))
    ]


def test_start_up_warns_of_gaps_without_names_or_numbers(line, db, people, rotation, caplog):
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    with caplog.at_level(logging.WARNING, logger="coachline.oncall"):
        found = warn_about_gaps(line)
    assert [(g.starts_at, g.ends_at) for g in found] == [(NOW, HANDOFF)]
    assert [r.getMessage() for r in caplog.records] == [
        "on-call gap from 2026-11-27T21:42-06:00 to 2026-11-30T09:00-06:00"
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_start_up_warning_skips_when_the_database_is_down(tmp_path, caplog):
    line = Line(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/missing/dir/line.db"))
    with caplog.at_level(logging.WARNING, logger="coachline.oncall"):
        assert warn_about_gaps(line) == []
    [record] = caplog.records
    assert record.getMessage().startswith("could not check on-call coverage: OperationalError")
    line.engine.dispose()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/api/on-call?at=1990-01-01T00:00:00Z", "the time asked about must be between"),
        ("/api/on-call/gaps?from=1990-01-01T00:00:00Z", "the start of the span must be between"),
        ("/api/on-call/gaps?to=2250-01-01T00:00:00Z", "the end of the span must be between"),
    ],
)
def test_a_time_out_of_range_is_refused_in_words(http, admin, path, words):
    refused = http.get(path, headers=admin)
    assert refused.status_code == 422
    assert words in refused.text and "2000-01-01" in refused.text
