"""The dashboard's pages: what each role sees, and the changes made from them, down to what a
caller then hears (the 24-hour rule, the practice's settings)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.models import (
    AttentionItem,
    AuditEntry,
    Call,
    CheckIn,
    Client,
    CoachingHours,
    Lockout,
    Message,
    OnCallOverride,
    PracticeSetting,
    Rotation,
    RotationMember,
    Success,
    Therapist,
)
from tests.conftest import NOW
from tests.helpers import audit_log, fresh
from tests.test_web_support import (
    DANA,
    MARCUS_EMAIL,
    RILEY,
    csrf_of,
    post_form,
    sign_in,
    texts_of,
)
from tests.twilio_driver import Leg, Scenario

PAGES = ("/", "/clients", "/schedule", "/logs", "/logs?show=messages")
ADMIN_PAGES = ("/audit", "/settings", "/clients/new")

pytest_plugins = ["tests.test_web_support"]


def add_call(db, client_id: int | None, minutes_ago: int, outcome: str, **kw) -> Call:
    call = Call(
        call_sid=f"CA{minutes_ago:032d}",
        client_id=client_id,
        route="coaching",
        outcome=outcome,
        started_at=NOW - timedelta(minutes=minutes_ago),
        **kw,
    )
    db.add(call)
    db.commit()
    return call


# ---- every page answers --------------------------------------------------------------------------


def test_every_page_answers_for_the_admin(as_admin, people):
    for path in (*PAGES, *ADMIN_PAGES, f"/clients/{people['riley']}"):
        response = as_admin.get(path)
        assert response.status_code == 200, path
        assert '<main id="main"' in response.text and 'href="#main"' in response.text
        assert 'aria-current="page"' in response.text or path.startswith("/clients/")


def test_a_therapist_sees_no_admin_pages(as_dana):
    for path in ADMIN_PAGES:
        response = as_dana.get(path)
        assert response.status_code == 403, path
        assert "Only the practice admin" in response.text
    nav = as_dana.get("/").text
    assert 'href="/audit"' not in nav and 'href="/settings"' not in nav


def test_an_unknown_page_or_record_is_a_friendly_404(as_admin):
    for path in ("/clients/999999", "/clients/abc", "/clients/99999999999", "/nope"):
        response = as_admin.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text and "<!doctype html>" in response.text.lower()


# ---- a therapist's own clients -------------------------------------------------------------------


def test_a_therapist_cannot_see_another_therapists_client(as_dana, people, db):
    riley, jordan = people["riley"], people["jordan"]
    listing = texts_of(as_dana.get("/clients").text)
    assert "Riley Tran" in listing and "Jordan Pike" not in listing
    assert as_dana.get(f"/clients/{riley}").status_code == 200
    hidden = as_dana.get(f"/clients/{jordan}")
    assert hidden.status_code == 404 and "Jordan" not in hidden.text
    # nor act on them, nor find them in the logs
    token = csrf_of(as_dana.get("/clients").text)
    refused = as_dana.post(
        f"/clients/{jordan}/lockouts", data={"occurred_at": "", "csrf_token": token}
    )
    assert refused.status_code == 404
    assert as_dana.get(f"/logs?client={jordan}").status_code == 404
    add_call(db, jordan, 30, "wait_script")
    add_call(db, riley, 20, "bridged")
    calls = texts_of(as_dana.get("/logs").text)
    assert "Riley Tran" in calls and "Jordan Pike" not in calls
    assert "Jordan Pike" not in texts_of(as_dana.get("/").text)
    db.rollback()
    assert db.scalars(select(Lockout)).all() == []


def test_a_therapist_cannot_lift_another_therapists_lockout(web, staff, people, db):
    lockout = Lockout(
        client_id=people["jordan"],
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=23),
        created_by="marcus@example.org",
    )
    db.add(lockout)
    db.commit()
    sign_in(web, "dana@example.org")
    token = csrf_of(web.get("/").text)
    response = web.post(
        f"/lockouts/{lockout.id}/lift", data={"reason": "mine now", "csrf_token": token}
    )
    assert response.status_code == 404
    assert fresh(db, Lockout, lockout.id).lifted_at is None


# ---- the 24-hour rule from a client's page, heard on the next call -------------------------------


def test_record_and_lift_a_lockout_from_the_client_page_and_hear_it_on_a_call(
    as_dana, web_driver, people, db
):
    riley = people["riley"]
    page = as_dana.get(f"/clients/{riley}")
    # the time picker defaults to now, in the practice's zone (NOW is 9:42 PM in St. Louis)
    assert 'type="datetime-local"' in page.text and 'value="2026-11-27T21:42"' in page.text

    recorded = post_form(
        as_dana,
        f"/clients/{riley}",
        f"/clients/{riley}/lockouts",
        {"occurred_at": "2026-11-27T18:42", "note": "told me in session"},
    )
    assert recorded.status_code == 200
    assert "Recorded. The 24-hour rule applies to Riley Tran until Sat Nov 28, 6:42 PM." in (
        recorded.text
    )
    db.rollback()
    lockout = db.scalars(select(Lockout)).one()
    assert lockout.starts_at == datetime(2026, 11, 28, 0, 42, tzinfo=UTC)
    assert lockout.ends_at == lockout.starts_at + timedelta(hours=24)
    assert (lockout.created_by, lockout.note) == ("dana@example.org", "told me in session")
    assert "Locked out until Sat Nov 28, 6:42 PM (21 h left)" in texts_of(recorded.text)

    heard = web_driver.call(from_=RILEY)
    assert "Phone coaching isn't available on this line right now." in heard.text
    assert "call or text 9 8 8" in heard.text and not heard.dials

    # lifting needs a reason
    no_reason = post_form(
        as_dana, f"/clients/{riley}", f"/lockouts/{lockout.id}/lift", {"reason": "  "}
    )
    assert "Not lifted: reason is required." in no_reason.text
    assert fresh(db, Lockout, lockout.id).lifted_at is None

    lifted = post_form(
        as_dana,
        f"/clients/{riley}",
        f"/lockouts/{lockout.id}/lift",
        {"reason": "recorded for the wrong client"},
    )
    assert "Lifted. Riley Tran can reach coaching again." in lifted.text
    row = fresh(db, Lockout, lockout.id)
    assert (row.lifted_at, row.lifted_by, row.lift_reason) == (
        NOW,
        "dana@example.org",
        "recorded for the wrong client",
    )
    [entry] = [e for e in audit_log(db, "lockout", lockout.id) if e.action == "lift"]
    assert entry.actor == "dana@example.org" and entry.reason == "recorded for the wrong client"

    through = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert through.bridged_number == DANA


def test_a_lockout_defaults_to_now_and_refuses_the_future(as_dana, people, db):
    riley = people["riley"]
    later = post_form(
        as_dana,
        f"/clients/{riley}",
        f"/clients/{riley}/lockouts",
        {"occurred_at": "2026-11-28T09:00"},
    )
    assert "Not recorded: the time of the event is in the future." in later.text
    garbled = post_form(
        as_dana, f"/clients/{riley}", f"/clients/{riley}/lockouts", {"occurred_at": "yesterday"}
    )
    assert "Not recorded: When it happened: enter a date and time." in garbled.text
    db.rollback()
    assert db.scalars(select(Lockout)).all() == []
    now = post_form(as_dana, f"/clients/{riley}", f"/clients/{riley}/lockouts", {})
    assert "until Sat Nov 28, 9:42 PM" in now.text
    db.rollback()
    assert db.scalars(select(Lockout)).one().starts_at == NOW


def test_no_lockout_for_a_client_whose_rule_is_waived(as_dana, people, db):
    db.get(Client, people["riley"]).lockout_rule_applies = False
    db.commit()
    page = as_dana.get(f"/clients/{people['riley']}")
    assert "waived" in page.text and "Start the 24-hour rule" not in page.text


# ---- Today ---------------------------------------------------------------------------------------


def test_today_shows_missed_calls_lockouts_and_successes(as_dana, people, db):
    riley, jordan = people["riley"], people["jordan"]
    # Missed calls reach Today as attention items (tests/test_web_attention.py has the rest).
    for minutes_ago, outcome, client in (
        (150, "wait_script", riley),  # past the 120-minute window
        (30, "caller_hung_up", riley),
        (10, "wait_script", jordan),  # Marcus's client
    ):
        call = add_call(db, client, minutes_ago, outcome)
        therapist = people["dana"] if client == riley else people["marcus"]
        db.add(
            AttentionItem(
                kind="missed_call",
                client_id=client,
                therapist_id=therapist,
                call_id=call.id,
                created_at=call.started_at,
            )
        )
    db.add(
        Lockout(
            client_id=riley,
            starts_at=NOW - timedelta(hours=20),
            ends_at=NOW + timedelta(hours=4),
            created_by="dana@example.org",
        )
    )
    db.add(Success(client_id=riley, body="Used opposite action", received_at=NOW))
    db.add(Success(client_id=jordan, body="Went to group", received_at=NOW))
    db.commit()
    text = texts_of(as_dana.get("/").text)
    assert "Needs attention 2" in text
    assert "Missed call: Riley Tran Fri Nov 27, 9:12 PM (30 min ago)" in text
    assert "Missed: hung up while ringing." in text
    assert "Fri Nov 27, 7:12 PM (2 h 30 min ago), for you past the call-back window" in text
    assert "Jordan" not in text
    assert "24-hour rule in effect 1" in text
    assert "Riley Tran until Sat Nov 28, 1:42 AM (4 h left)" in text
    assert "Used opposite action" in text and "Went to group" not in text


def test_today_names_who_is_on_call_now_and_next(as_admin, people, db):
    db.add(
        OnCallOverride(
            therapist_id=people["marcus"],
            starts_at=NOW - timedelta(hours=1),
            ends_at=NOW + timedelta(hours=3),
        )
    )
    db.add(
        OnCallOverride(
            therapist_id=people["dana"],
            starts_at=NOW + timedelta(hours=3),
            ends_at=NOW + timedelta(hours=9),
        )
    )
    db.commit()
    text = texts_of(as_admin.get("/").text)
    assert "On call now Marcus Oyelaran (override, until Sat Nov 28, 12:42 AM)" in text
    assert (
        "Next, from Sat Nov 28, 12:42 AM Dana Whitfield (override, until Sat Nov 28, 6:42 AM)"
        in (text)
    )
    assert "Nobody is on call for part of the coming week" in text


# ---- clients: list, search, add, edit ------------------------------------------------------------


def test_the_admin_adds_searches_and_edits_clients(as_admin, people, db):
    form = as_admin.get("/clients/new")
    assert 'name="phone"' in form.text
    added = as_admin.post(
        "/clients/new",
        data={
            "name": "Avery Lindqvist",
            "phone": "(314) 555-0150",
            "therapist_id": str(people["marcus"]),
            "lockout_rule_applies": "on",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert added.status_code == 200 and "Added Avery Lindqvist." in added.text
    db.rollback()
    avery = db.scalar(select(Client).where(Client.name == "Avery Lindqvist"))
    assert (avery.phone, avery.therapist_id, avery.lockout_rule_applies) == (
        "+13145550150",
        people["marcus"],
        True,
    )
    assert "555-0150" not in added.text and "+13145550150" not in added.text  # not shown there

    duplicate = post_form(
        as_admin,
        "/clients/new",
        "/clients/new",
        {"name": "Someone Else", "phone": "314.555.0150", "therapist_id": str(people["dana"])},
    )
    assert duplicate.status_code == 422
    assert "That phone number already belongs to a client." in duplicate.text
    assert 'value="Someone Else"' in duplicate.text  # what was typed is kept

    found = texts_of(post_form(as_admin, "/clients", "/clients", {"q": "lindq"}).text)
    assert "Avery Lindqvist" in found and "Riley Tran" not in found and "1 found." in found
    missing = post_form(as_admin, "/clients", "/clients", {"q": "zzz"})
    assert "No client matches" in missing.text

    edit = as_admin.get(f"/clients/{avery.id}/edit")
    assert 'value="(314) 555-0150"' in edit.text  # the one place a phone number is shown
    saved = as_admin.post(
        f"/clients/{avery.id}/edit",
        data={
            "name": "Avery Lindqvist",
            "phone": "+13145550150",
            "therapist_id": str(people["dana"]),
            "csrf_token": csrf_of(edit.text),
        },
    )
    assert "Saved." in saved.text
    avery = fresh(db, Client, avery.id)
    assert (avery.therapist_id, avery.lockout_rule_applies) == (people["dana"], False)
    actions = [(e.action, e.actor) for e in audit_log(db, "client", avery.id)]
    assert actions == [("create", "admin@example.org"), ("update", "admin@example.org")]


def test_a_therapist_cannot_add_or_edit_clients(as_dana, people):
    token = csrf_of(as_dana.get("/").text)
    for path in ("/clients/new", f"/clients/{people['riley']}/edit"):
        assert as_dana.post(path, data={"name": "X", "csrf_token": token}).status_code == 403
    assert "+1314" not in as_dana.get(f"/clients/{people['riley']}").text


def test_the_client_page_shows_calls_texts_checkins_and_successes(as_dana, people, db):
    riley = people["riley"]
    add_call(db, riley, 90, "bridged", therapist_id=people["dana"], duration_seconds=610)
    db.add(
        Message(
            direction="inbound",
            kind="inbound",
            client_id=riley,
            from_phone=RILEY,
            body="check-in",
            status="replied",
            created_at=NOW - timedelta(hours=2),
        )
    )
    db.add(
        CheckIn(
            client_id=riley,
            asked_at=NOW - timedelta(hours=2),
            expires_at=NOW,
            urge_rating=3,
            answered_at=NOW - timedelta(hours=2),
        )
    )
    db.add(Success(client_id=riley, body="Paced breathing on the bus", received_at=NOW))
    db.commit()
    text = texts_of(as_dana.get(f"/clients/{riley}").text)
    assert "Calls 1" in text and "Talked with a coach" in text and "10:10" in text
    assert "Texts 1" in text and "check-in" in text
    assert "Check-in ratings 1" in text and "Fri Nov 27, 7:42 PM 3" in text
    assert "Paced breathing on the bus" in text
    assert RILEY not in text


# ---- schedule ------------------------------------------------------------------------------------


@pytest.fixture
def rotation(db, people) -> int:
    row = Rotation(
        name="Weekly on call",
        starts_on=datetime(2026, 11, 23).date(),
        handoff_time=time(9),
        turn_days=7,
        members=[
            RotationMember(therapist_id=people["dana"], position=0),
            RotationMember(therapist_id=people["marcus"], position=1),
        ],
    )
    db.add(row)
    db.add(CoachingHours(therapist_id=people["dana"], weekday=0, start=time(9), end=time(17)))
    db.add(CoachingHours(therapist_id=people["marcus"], weekday=4, start=time(18), end=time(1)))
    db.commit()
    return row.id


def test_the_schedule_shows_rotation_hours_and_who_is_on_call(as_dana, rotation):
    text = texts_of(as_dana.get("/schedule").text)
    assert "Weekly on call" in text and "Dana Whitfield → Marcus Oyelaran" in text
    assert "now Mon Nov 30, 9:00 AM Dana Whitfield (rotation)" in text
    assert "Someone is on call the whole week." in text
    assert "9 AM – 5 PM" in text and "6 PM – 1 AM (next day)" in text


def test_a_therapist_sets_their_own_away_and_hours_but_not_anothers(as_dana, people, db):
    dana, marcus = people["dana"], people["marcus"]
    away = post_form(as_dana, "/schedule", f"/schedule/away/{dana}", {"until": "2026-11-28T08:00"})
    assert "Dana Whitfield is away until Sat Nov 28, 8:00 AM." in away.text
    assert fresh(db, Therapist, dana).away_until == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    back = post_form(as_dana, "/schedule", f"/schedule/away/{dana}/clear", {})
    assert "Dana Whitfield is back." in back.text
    assert fresh(db, Therapist, dana).away_until is None

    hours = post_form(
        as_dana,
        f"/schedule/hours/{dana}",
        f"/schedule/hours/{dana}",
        {
            "start-0-0": "09:00",
            "end-0-0": "12:00",
            "start-0-1": "13:00",
            "end-0-1": "17:00",
            "start-5-0": "22:00",
            "end-5-0": "02:00",
        },
    )
    assert "Saved Dana Whitfield's coaching hours." in texts_of(hours.text)
    db.rollback()
    rows = db.scalars(
        select(CoachingHours)
        .where(CoachingHours.therapist_id == dana)
        .order_by(CoachingHours.weekday, CoachingHours.start)
    ).all()
    assert [(h.weekday, h.start, h.end) for h in rows] == [
        (0, time(9), time(12)),
        (0, time(13), time(17)),
        (5, time(22), time(2)),
    ]
    half = post_form(
        as_dana, f"/schedule/hours/{dana}", f"/schedule/hours/{dana}", {"start-2-0": "09:00"}
    )
    assert half.status_code == 422 and "Wednesday: give both a start and an end" in half.text

    assert as_dana.get(f"/schedule/hours/{marcus}").status_code == 403
    token = csrf_of(as_dana.get("/schedule").text)
    refused = as_dana.post(
        f"/schedule/away/{marcus}", data={"until": "2026-11-28T08:00", "csrf_token": token}
    )
    assert refused.status_code == 403
    assert fresh(db, Therapist, marcus).away_until is None
    actions = [e.action for e in audit_log(db, "therapist", dana)]
    assert actions == ["set_away", "clear_away", "set_hours"]


def test_the_admin_manages_overrides_and_rotations(as_admin, people, rotation, db):
    added = post_form(
        as_admin,
        "/schedule",
        "/schedule/overrides",
        {
            "therapist_id": str(people["marcus"]),
            "starts_at": "2026-11-27T22:00",
            "ends_at": "2026-11-28T08:00",
            "reason": "swap",
        },
    )
    assert "Override added: Fri Nov 27, 10:00 PM to Sat Nov 28, 8:00 AM." in added.text
    db.rollback()
    override = db.scalars(select(OnCallOverride)).one()
    assert override.starts_at == datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    backwards = post_form(
        as_admin,
        "/schedule",
        "/schedule/overrides",
        {
            "therapist_id": str(people["marcus"]),
            "starts_at": "2026-11-28T08:00",
            "ends_at": "2026-11-27T22:00",
        },
    )
    assert "Override not added: the override must end after it starts." in backwards.text
    removed = post_form(as_admin, "/schedule", f"/schedule/overrides/{override.id}/delete", {})
    assert "Override removed." in removed.text
    db.rollback()
    assert db.scalars(select(OnCallOverride)).all() == []

    form = as_admin.get(f"/schedule/rotations/{rotation}")
    saved = as_admin.post(
        f"/schedule/rotations/{rotation}",
        data={
            "name": "Weekly on call",
            "starts_on": "2026-11-23",
            "handoff_time": "09:00",
            "turn_days": "7",
            "member-0": str(people["marcus"]),
            "member-1": str(people["dana"]),
            "active": "on",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert "Rotation saved." in saved.text
    db.rollback()
    members = db.scalars(
        select(RotationMember.therapist_id)
        .where(RotationMember.rotation_id == rotation)
        .order_by(RotationMember.position)
    ).all()
    assert members == [people["marcus"], people["dana"]]
    assert "now Mon Nov 30, 9:00 AM Marcus Oyelaran (rotation)" in texts_of(
        as_admin.get("/schedule").text
    )


def test_a_therapist_cannot_change_rotations_or_overrides(as_dana, people, rotation):
    token = csrf_of(as_dana.get("/schedule").text)
    assert as_dana.get(f"/schedule/rotations/{rotation}").status_code == 403
    response = as_dana.post(
        "/schedule/overrides",
        data={"therapist_id": str(people["dana"]), "csrf_token": token},
    )
    assert response.status_code == 403


# ---- logs and audit ------------------------------------------------------------------------------


def test_logs_and_audit_are_paginated_newest_first(as_admin, people, db):
    for minutes in range(1, 56):
        add_call(db, people["riley"], minutes, "bridged")
    first = as_admin.get("/logs")
    assert "Page 1 of 3" in first.text and "55 in all." in first.text
    assert first.text.index("Fri Nov 27, 9:41 PM") < first.text.index("Fri Nov 27, 9:40 PM")
    last = as_admin.get("/logs?show=calls&page=3")
    assert "Page 3 of 3" in last.text and "Fri Nov 27, 8:47 PM" in last.text
    assert "Fri Nov 27, 9:41 PM" not in last.text
    assert as_admin.get("/logs?page=-3").status_code == 200

    for i in range(52):
        db.add(
            AuditEntry(
                actor="a@example.org",
                action="update",
                entity="client",
                entity_id=1,
                at=NOW - timedelta(minutes=i),
                changes={"phone": {"from": "+13145550142", "to": "+13145550149"}},
            )
        )
    db.commit()
    audit = as_admin.get("/audit")
    assert "Page 1 of 2" in audit.text
    assert "+1314555014" not in audit.text and "(a phone number)" in audit.text


def test_the_message_log_names_people_not_numbers(as_admin, people, db):
    db.add(
        Message(
            direction="inbound",
            kind="inbound",
            from_phone="+13145550199",
            body="hello?",
            status="received",
            created_at=NOW,
        )
    )
    db.add(
        Message(
            direction="outbound",
            kind="notification",
            therapist_id=people["dana"],
            to_phone=DANA,
            body="Riley called at 9:42 PM.",
            status="sent",
            attempts=1,
            created_at=NOW,
        )
    )
    db.commit()
    text = texts_of(as_admin.get("/logs?show=messages").text)
    assert "unknown number" in text and "Dana Whitfield" in text
    assert "555" not in text


# ---- settings ------------------------------------------------------------------------------------


def test_a_settings_change_is_audited_and_heard_on_the_next_call(as_admin, web_driver, people, db):
    form = as_admin.get("/settings")
    assert 'value="St. Louis DBT"' in form.text
    saved = as_admin.post(
        "/settings",
        data={
            "practice_name": "Riverside DBT",
            "greeting": "Welcome to {practice}. Finding your coach.",
            "local_crisis_line_name": "Behavioral Health Response",
            "local_crisis_line_number": "(314) 555-0190",
            "call_time_limit_minutes": "12",
            "callback_window_minutes": "90",
            "dial_timeout_seconds": "25",
            "offer_voice_message": "on",
            "offer_lifeline": "on",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert "Saved. The next call uses the new settings." in saved.text
    assert "Riverside DBT" in saved.text  # the header too
    db.rollback()
    stored = dict(db.execute(select(PracticeSetting.key, PracticeSetting.value)).all())
    assert stored["practice_name"] == "Riverside DBT"
    assert stored["local_crisis_line_number"] == "+13145550190"
    assert stored["call_time_limit_minutes"] == 12
    entry = db.scalars(select(AuditEntry).where(AuditEntry.entity == "practice_settings")).one()
    assert entry.actor == "admin@example.org"
    assert entry.changes["practice_name"] == {"from": "St. Louis DBT", "to": "Riverside DBT"}
    assert "offer_voice_message" not in entry.changes  # unchanged

    call = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert (
        call.said[0] == "Welcome to Riverside DBT. Finding your coach. Connecting you to a coach."
    )
    assert (call.dials[0].time_limit, call.dials[0].timeout) == (12 * 60, 25)

    reset = post_form(as_admin, "/settings", "/settings/reset", {"key": "practice_name"})
    assert "Practice name is back to the value the service was started with." in reset.text
    again = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert (
        again.said[0] == "Welcome to St. Louis DBT. Finding your coach. Connecting you to a coach."
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("call_time_limit_minutes", "0", "enter 5 to 60 minutes"),
        ("call_time_limit_minutes", "ten", "enter a whole number"),
        ("callback_window_minutes", "100000", "enter 10 to 1440 minutes"),
        ("greeting", "Hello {name}", "may use only {practice}; found {name}"),
        ("greeting", "", "required"),
        ("practice_name", "   ", "required"),
        ("local_crisis_line_number", "not a number", "not a valid phone number"),
    ],
)
def test_an_invalid_setting_is_refused_and_nothing_is_saved(as_admin, db, field, value, message):
    data = {
        "practice_name": "St. Louis DBT",
        "greeting": "Thank you for calling {practice}.",
        "call_time_limit_minutes": "20",
        "callback_window_minutes": "120",
        "dial_timeout_seconds": "20",
        field: value,
    }
    refused = post_form(as_admin, "/settings", "/settings", data)
    assert refused.status_code == 422
    assert message in refused.text and "Nothing was saved" in refused.text
    db.rollback()
    assert (
        db.scalars(select(PracticeSetting).where(PracticeSetting.key != "_session_secret")).all()
        == []
    )


def test_a_therapist_cannot_change_settings(as_dana, db):
    token = csrf_of(as_dana.get("/").text)
    response = as_dana.post("/settings", data={"practice_name": "Mine", "csrf_token": token})
    assert response.status_code == 403
    db.rollback()
    assert db.get(PracticeSetting, "practice_name") is None


def test_marcus_sees_his_own_client_and_not_danas(web, staff, people):
    sign_in(web, MARCUS_EMAIL)
    assert web.get(f"/clients/{people['jordan']}").status_code == 200
    assert web.get(f"/clients/{people['riley']}").status_code == 404
