"""Coaching notes after a bridged call (issue 25, item 4): written and changed on the dashboard
by the client's therapist, the therapist who took the call, or an admin; listed on the client's
page; audited; never texted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import Call, CoachingNote, Message
from tests.conftest import NOW
from tests.helpers import audit_log
from tests.test_web_support import DANA_EMAIL, MARCUS_EMAIL, post_form, sign_in, texts_of

pytest_plugins = ["tests.test_web_support"]


def add_call(db, client_id: int, *, taker: int | None, minutes_ago: int, sid: str) -> int:
    call = Call(
        call_sid=sid,
        client_id=client_id,
        route="coaching",
        outcome="bridged" if taker else "wait_script",
        therapist_id=taker,
        accepted_therapist_id=taker,
        started_at=NOW - timedelta(minutes=minutes_ago),
        duration_seconds=600 if taker else None,
    )
    db.add(call)
    db.commit()
    return call.id


@pytest.fixture
def calls(db, people, staff) -> dict[str, int]:
    return {
        "riley_bridged": add_call(
            db, people["riley"], taker=people["dana"], minutes_ago=90, sid="CA" + "1" * 32
        ),
        "riley_missed": add_call(
            db, people["riley"], taker=None, minutes_ago=60, sid="CA" + "2" * 32
        ),
        # Dana on call took Jordan's call (Jordan is Marcus's client)
        "jordan_by_dana": add_call(
            db, people["jordan"], taker=people["dana"], minutes_ago=30, sid="CA" + "3" * 32
        ),
    }


def messages(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Message))


def test_the_clients_therapist_writes_a_note_and_reads_it_on_the_clients_page(
    as_dana, calls, people, db
):
    page = as_dana.get(f"/clients/{people['riley']}")
    said = texts_of(page.text)
    assert "Coaching notes 0 No coaching notes yet." in said
    assert f'<a href="/calls/{calls["riley_bridged"]}/note">Write a coaching note</a>' in page.text
    assert f"/calls/{calls['riley_missed']}/note" not in page.text  # nobody took it

    form = as_dana.get(f"/calls/{calls['riley_bridged']}/note")
    assert form.status_code == 200
    assert "Riley Tran's call" in texts_of(form.text) and "taken by Dana Whitfield" in form.text
    assert 'value="tipp_cold_water"' in form.text and "Distress tolerance" in form.text
    before = messages(db)
    done = post_form(
        as_dana,
        f"/calls/{calls['riley_bridged']}/note",
        f"/calls/{calls['riley_bridged']}/note",
        {
            "skills": ["wise_mind", "observe"],
            "plan": "Ice on the face when the urge rises; call back if it passes 4.",
            "follow_up": "Bring the chain analysis to Tuesday's session.",
        },
    )
    assert done.status_code == 200 and done.url.path == f"/clients/{people['riley']}"
    said = texts_of(done.text)
    assert "Coaching note saved." in said
    assert (
        "Coaching notes 1 Call Fri Nov 27, 8:12 PM · Dana Whitfield · Edit Skills: Wise Mind, "
        "Observe Plan: Ice on the face when the urge rises; call back if it passes 4. "
        "Follow-up: Bring the chain analysis to Tuesday's session."
    ) in said
    assert "Edit the coaching note" in done.text
    note = db.scalar(select(CoachingNote))
    assert (note.call_id, note.client_id, note.therapist_id) == (
        calls["riley_bridged"],
        people["riley"],
        people["dana"],
    )
    assert note.skills == ["wise_mind", "observe"] and note.created_by == DANA_EMAIL
    [entry] = audit_log(db, "coaching_note", note.id)
    assert (entry.actor, entry.action) == (DANA_EMAIL, "create")
    assert entry.changes["skills"] == ["wise_mind", "observe"]
    assert "Ice" not in str(entry.changes)  # the plan's words stay out of the audit log
    assert messages(db) == before  # never texted

    # changed: the form shows what was saved, and the change is audited
    again = as_dana.get(f"/calls/{calls['riley_bridged']}/note")
    assert "Edit the coaching note" in again.text and 'value="observe" checked' in again.text
    post_form(
        as_dana,
        f"/calls/{calls['riley_bridged']}/note",
        f"/calls/{calls['riley_bridged']}/note",
        {"skills": ["observe"], "plan": "Ice on the face.", "follow_up": ""},
    )
    db.rollback()
    note = db.scalar(select(CoachingNote))
    assert (note.skills, note.plan, note.follow_up) == (["observe"], "Ice on the face.", None)
    assert [e.action for e in audit_log(db, "coaching_note", note.id)] == ["create", "update"]
    assert messages(db) == before


def test_a_bad_note_is_explained_and_nothing_is_saved(as_dana, calls, db):
    path = f"/calls/{calls['riley_bridged']}/note"
    unknown = post_form(as_dana, path, path, {"skills": ["not_a_skill"], "plan": "Breathe."})
    assert unknown.status_code == 422
    assert "Not saved: choose the skills from the list." in texts_of(unknown.text)
    empty = post_form(as_dana, path, path, {"skills": ["observe"], "plan": "  "})
    assert empty.status_code == 422
    assert "Not saved: the plan is required." in texts_of(empty.text)
    assert 'value="observe" checked' in empty.text  # what was chosen stays
    long = post_form(as_dana, path, path, {"plan": "x" * 501})
    assert "the plan is longer than 500 characters" in texts_of(long.text)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CoachingNote)) == 0


def test_who_may_write_a_note(web, calls, people, db):
    assert sign_in(web, DANA_EMAIL).status_code == 303
    # a call nobody took has no note
    assert web.get(f"/calls/{calls['riley_missed']}/note").status_code == 404
    assert web.get("/calls/99999/note").status_code == 404
    assert web.get("/calls/nonsense/note").status_code == 404
    # Dana took Jordan's call while on call: she may write its note, though Jordan's page
    # is Marcus's
    path = f"/calls/{calls['jordan_by_dana']}/note"
    done = post_form(
        web, path, path, {"skills": ["tipp_cold_water"], "plan": "Cold water, then call."}
    )
    assert done.url.path == path and "Coaching note saved." in texts_of(done.text)
    assert web.get(f"/clients/{people['jordan']}").status_code == 404

    web.cookies.clear()
    assert sign_in(web, MARCUS_EMAIL).status_code == 303
    # Marcus neither took Riley's call nor is Riley's therapist
    assert web.get(f"/calls/{calls['riley_bridged']}/note").status_code == 404
    # Jordan is his: he reads Dana's note on Jordan's page
    said = texts_of(web.get(f"/clients/{people['jordan']}").text)
    assert "Coaching notes 1" in said and "Plan: Cold water, then call." in said
