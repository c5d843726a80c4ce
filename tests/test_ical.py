"""The on-call calendar feeds, parsed back with a real iCal parser (`icalendar`).

The rotation hands off on Mondays at 9:00 in St. Louis: Dana from October 26, 2026 (CDT, so
14:00 UTC), Marcus from November 2 (CST, so 15:00 UTC), and so on. NOW is November 27, so the
feeds run from October 28, 2026 to May 26, 2027: turns 0 to 30.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from app.models import OnCallOverride, OnCallShift, Rotation, RotationMember, Therapist
from tests.conftest import NOW

HOST = "line.example.org"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def rotation(db, people) -> Rotation:
    row = Rotation(
        name="Weekly",
        starts_on=date(2026, 10, 26),
        handoff_time=time(9, 0),
        turn_days=7,
        members=[
            RotationMember(therapist_id=people["dana"], position=0),
            RotationMember(therapist_id=people["marcus"], position=1),
        ],
    )
    db.add(row)
    db.commit()
    return row


@pytest.fixture
def priya(db) -> Therapist:
    therapist = Therapist(name="Priya Nandakumar", phone="+13145550113")
    db.add(therapist)
    db.commit()
    return therapist


def feed(http, path: str) -> tuple[Calendar, list]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    text = response.text
    for private in ("Whitfield", "Oyelaran", "Nandakumar", "55501", "+1314"):
        assert private not in text  # first names only, no phone numbers
    calendar = Calendar.from_ical(response.content)
    return calendar, list(calendar.walk("VEVENT"))


def times(event) -> tuple[datetime, datetime]:
    return event.decoded("dtstart"), event.decoded("dtend")


def summary(event) -> str:
    return str(event["summary"])


def uid(event) -> str:
    return str(event["uid"])


def rotation_url(row: Rotation) -> str:
    return f"/ical/rotations/{row.ical_token}.ics"


def therapist_url(db, therapist_id: int) -> str:
    return f"/ical/therapists/{db.get(Therapist, therapist_id).ical_token}.ics"


def test_the_rotation_feed_has_every_turn_with_the_first_name(http, db, people, rotation):
    calendar, events = feed(http, rotation_url(rotation))
    assert str(calendar["x-wr-calname"]) == "St. Louis DBT on call: Weekly"
    assert str(calendar["version"]) == "2.0"
    assert len(events) == 31
    assert [uid(e) for e in events] == [
        f"rotation-{rotation.id}-turn-{k}@{HOST}" for k in range(31)
    ]
    assert [summary(e) for e in events[:4]] == [
        "On call: Dana",
        "On call: Marcus",
        "On call: Dana",
        "On call: Marcus",
    ]
    # November 1: the 9:00 handoff moves from 14:00 to 15:00 UTC; a 169-hour turn
    assert times(events[0]) == (utc(2026, 10, 26, 14), utc(2026, 11, 2, 15))
    assert times(events[1]) == (utc(2026, 11, 2, 15), utc(2026, 11, 9, 15))
    # March 14, 2027: back to 14:00 UTC; a 167-hour turn
    assert times(events[19]) == (utc(2027, 3, 8, 15), utc(2027, 3, 15, 14))
    assert times(events[20]) == (utc(2027, 3, 15, 14), utc(2027, 3, 22, 14))
    for before, after in zip(events, events[1:], strict=False):
        assert before.decoded("dtend") == after.decoded("dtstart")
    assert all(e.decoded("dtstamp") == NOW for e in events)
    assert events[-1].decoded("dtstart") < NOW + timedelta(days=180)
    assert events[0].decoded("dtend") > NOW - timedelta(days=30)


def test_a_feed_is_stable_between_fetches(http, rotation):
    first = http.get(rotation_url(rotation)).content
    assert http.get(rotation_url(rotation)).content == first


def test_the_rotation_feed_shows_the_overrides_that_replace_it(http, db, people, rotation, priya):
    override = OnCallOverride(
        therapist_id=priya.id,
        starts_at=utc(2026, 11, 25),
        ends_at=utc(2026, 11, 26),
        reason="Dana's appointment",
    )
    db.add(override)
    db.commit()
    _, events = feed(http, rotation_url(rotation))
    [event] = [e for e in events if uid(e) == f"override-{override.id}@{HOST}"]
    assert summary(event) == "On call: Priya (override)"
    assert times(event) == (utc(2026, 11, 25), utc(2026, 11, 26))
    assert "appointment" not in http.get(rotation_url(rotation)).text  # no reasons


def test_an_inactive_members_turns_are_marked_not_covered(http, db, people, rotation):
    db.get(Therapist, people["marcus"]).active = False
    db.commit()
    _, events = feed(http, rotation_url(rotation))
    assert summary(events[1]) == "On call: Marcus (inactive: not covered)"


def test_a_therapists_feed_has_what_they_serve(http, db, people, rotation, priya):
    dana, marcus = people["dana"], people["marcus"]
    swap = OnCallOverride(  # Marcus takes a day of Dana's turn 4 (November 23 to 30)
        therapist_id=marcus, starts_at=utc(2026, 11, 25), ends_at=utc(2026, 11, 26)
    )
    own = OnCallOverride(  # Dana takes a day of Marcus's turn 5
        therapist_id=dana, starts_at=utc(2026, 12, 2), ends_at=utc(2026, 12, 3)
    )
    shift = OnCallShift(therapist_id=dana, starts_at=utc(2027, 1, 9), ends_at=utc(2027, 1, 10))
    db.add_all([swap, own, shift])
    db.commit()

    calendar, events = feed(http, therapist_url(db, dana))
    assert str(calendar["x-wr-calname"]) == "St. Louis DBT on call: Dana"
    by_uid = {uid(e): e for e in events}
    assert len(by_uid) == len(events)
    turns = [e for e in events if uid(e).startswith("rotation-")]
    # Dana's even turns 0 to 30, and turn 4 in two pieces around Marcus's day
    assert len(turns) == 17
    assert all(summary(e) == "On call: Dana" for e in turns)
    assert times(by_uid[f"rotation-{rotation.id}-turn-0@{HOST}"]) == (
        utc(2026, 10, 26, 14),
        utc(2026, 11, 2, 15),
    )
    assert times(by_uid[f"rotation-{rotation.id}-turn-4@{HOST}"]) == (
        utc(2026, 11, 23, 15),
        utc(2026, 11, 25),
    )
    assert times(by_uid[f"rotation-{rotation.id}-turn-4-1@{HOST}"]) == (
        utc(2026, 11, 26),
        utc(2026, 11, 30, 15),
    )
    assert f"rotation-{rotation.id}-turn-1@{HOST}" not in by_uid  # Marcus's
    assert summary(by_uid[f"override-{own.id}@{HOST}"]) == "On call: Dana (override)"
    assert times(by_uid[f"override-{own.id}@{HOST}"]) == (utc(2026, 12, 2), utc(2026, 12, 3))
    assert summary(by_uid[f"shift-{shift.id}@{HOST}"]) == "On call: Dana (shift)"
    assert f"override-{swap.id}@{HOST}" not in by_uid
    starts = [e.decoded("dtstart") for e in events]
    assert starts == sorted(starts)

    _, marcus_events = feed(http, therapist_url(db, marcus))
    marcus_uids = {uid(e) for e in marcus_events}
    assert f"override-{swap.id}@{HOST}" in marcus_uids
    assert f"rotation-{rotation.id}-turn-5@{HOST}" in marcus_uids
    assert f"rotation-{rotation.id}-turn-5-1@{HOST}" in marcus_uids
    assert all(summary(e).startswith("On call: Marcus") for e in marcus_events)

    _, nobody = feed(http, therapist_url(db, priya.id))
    assert nobody == []


def test_inactive_therapists_and_rotations_get_feeds_without_events(http, db, people, rotation):
    url = therapist_url(db, people["dana"])
    db.get(Therapist, people["dana"]).active = False
    db.get(Rotation, rotation.id).active = False
    db.commit()
    assert feed(http, url)[1] == []
    assert feed(http, rotation_url(rotation))[1] == []


@pytest.mark.parametrize(
    "path",
    [
        "/ical/therapists/not-a-real-token-at-all.ics",
        "/ical/rotations/not-a-real-token-at-all.ics",
        "/ical/therapists/x.ics",
        "/ical/therapists/%00%00%00%00%00%00%00%00%00.ics",
        "/ical/therapists/" + "a" * 65 + ".ics",
    ],
)
def test_an_unknown_token_is_404(http, people, rotation, path):
    assert http.get(path).status_code == 404


def test_a_therapist_token_is_not_a_rotation_token(http, db, people, rotation):
    token = db.get(Therapist, people["dana"]).ical_token
    assert http.get(f"/ical/rotations/{token}.ics").status_code == 404
    assert http.get(f"/ical/therapists/{rotation.ical_token}.ics").status_code == 404
