"""A call rings the on-call rotation, end to end through the Twilio test driver.

NOW is Friday 2026-11-27 21:42 in St. Louis. The weekly rotation (Mondays 9:00 local) has
Dana from November 16 and Marcus from November 23, so Marcus is on call at NOW, and Dana
again from Monday November 30, 9:00 CST (15:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.models import Call, Therapist
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, PUBLIC_BASE_URL
from tests.twilio_driver import NO_ANSWER, Leg, Scenario, TwilioDriver

RILEY = "+13145550142"  # Dana's client
JORDAN = "+13145550143"  # Marcus's client
DANA = "+13145550111"
MARCUS = "+13145550112"
PRIYA = "+13145550113"


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http,
        auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        line_number=LINE_NUMBER,
        status_callback_path="/twilio/voice/status",
    )


@pytest.fixture
def rotation(http, admin, people) -> dict:
    body = {
        "name": "Weekly",
        "starts_on": "2026-11-16",
        "handoff_time": "09:00",
        "turn_days": 7,
        "therapist_ids": [people["dana"], people["marcus"]],
    }
    response = http.post("/api/rotations", json=body, headers=admin)
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def priya(db) -> int:
    therapist = Therapist(name="Priya Nandakumar", phone=PRIYA)
    db.add(therapist)
    db.commit()
    return therapist.id


def answered_by(db, call_sid: str) -> int | None:
    db.expire_all()
    call = db.query(Call).filter(Call.call_sid == call_sid).one()
    assert call.outcome == "bridged"
    return call.therapist_id


def test_the_rotations_on_call_therapist_is_rung_after_the_primary(driver, db, people, rotation):
    result = driver.call(
        from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER, MARCUS: Leg.accept()})
    )
    assert [d.number for d in result.dials] == [DANA, MARCUS]
    assert result.bridged_number == MARCUS and not result.application_error
    assert (
        "Coaching call from the St. Louis DBT line. Press 1 to accept."
        in result.heard_by(MARCUS)[0]
    )
    assert answered_by(db, result.call_sid) == people["marcus"]


def test_an_override_rings_its_therapist_instead_of_the_rotation(
    driver, http, admin, db, people, rotation, priya
):
    body = {
        "therapist_id": priya,
        "starts_at": "2026-11-27T18:00:00-06:00",
        "ends_at": "2026-11-28T08:00:00-06:00",
        "reason": "covering for Marcus",
    }
    assert http.post("/api/on-call-overrides", json=body, headers=admin).status_code == 201
    result = driver.call(
        from_=RILEY,
        scenario=Scenario(legs={DANA: NO_ANSWER, MARCUS: Leg.accept(), PRIYA: Leg.accept()}),
    )
    assert [d.number for d in result.dials] == [DANA, PRIYA]
    assert result.bridged_number == PRIYA
    assert answered_by(db, result.call_sid) == priya


def test_after_monday_9am_handoff_the_next_member_is_rung(driver, line, db, people, rotation):
    line.clock = lambda: datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 9:00 CST
    result = driver.call(
        from_=JORDAN, scenario=Scenario(legs={MARCUS: NO_ANSWER, DANA: Leg.accept()})
    )
    assert [d.number for d in result.dials] == [MARCUS, DANA]
    assert answered_by(db, result.call_sid) == people["dana"]
    # a minute before, it was still Marcus's turn: nobody else to ring
    line.clock = lambda: datetime(2026, 11, 30, 14, 59, tzinfo=UTC)
    result = driver.call(from_=JORDAN, scenario=Scenario(legs={MARCUS: NO_ANSWER}))
    assert [d.number for d in result.dials] == [MARCUS]


def test_schedule_changes_are_rung_by_the_very_next_call(
    driver, http, admin, db, people, rotation, priya
):
    """No cache between a change and the next call: an override added, then Marcus away,
    each made through the API a moment before a call, is what that call rings."""
    legs = {DANA: NO_ANSWER, MARCUS: NO_ANSWER, PRIYA: NO_ANSWER}
    assert [d.number for d in driver.call(from_=RILEY, scenario=Scenario(legs=legs)).dials] == [
        DANA,
        MARCUS,
    ]
    body = {
        "therapist_id": priya,
        "starts_at": "2026-11-27T21:00:00-06:00",
        "ends_at": "2026-11-28T08:00:00-06:00",
        "reason": "covering",
    }
    assert http.post("/api/on-call-overrides", json=body, headers=admin).status_code == 201
    result = driver.call(from_=RILEY, scenario=Scenario(legs=legs))
    assert [d.number for d in result.dials] == [DANA, PRIYA]
    away = {"until": "2026-11-28T20:00:00Z"}
    path = f"/api/therapists/{people['dana']}/away"
    assert http.post(path, json=away, headers=admin).status_code == 200
    result = driver.call(from_=RILEY, scenario=Scenario(legs=legs))
    assert [d.number for d in result.dials] == [PRIYA]
