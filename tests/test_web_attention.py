"""The attention list on the dashboard's Today page: what each person reads there, and
acknowledging an item from its row (audited); a therapist's STOP shown on the schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import AttentionItem, Call, Message, Therapist
from ivr.codes import AttentionKind
from tests.conftest import NOW
from tests.helpers import audit_log, fresh
from tests.test_web_support import csrf_of, post_form, texts_of

pytest_plugins = ["tests.test_web_support"]


def add_item(db, kind: AttentionKind, client_id, therapist_id, minutes_ago: int, **kw) -> int:
    item = AttentionItem(
        kind=kind,
        client_id=client_id,
        therapist_id=therapist_id,
        created_at=NOW - timedelta(minutes=minutes_ago),
        **kw,
    )
    db.add(item)
    db.commit()
    return item.id


def add_text(db, client_id: int, body: str, minutes_ago: int) -> int:
    message = Message(
        direction="inbound",
        kind="inbound",
        client_id=client_id,
        body=body,
        status="replied",
        created_at=NOW - timedelta(minutes=minutes_ago),
    )
    db.add(message)
    db.commit()
    return message.id


def add_call(db, client_id: int, minutes_ago: int, outcome: str, **kw) -> int:
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
    return call.id


@pytest.fixture
def items(db, people) -> dict[str, int]:
    """Riley is Dana's client, Jordan is Marcus's (NOW is Fri Nov 27, 9:42 PM in St. Louis)."""
    riley, jordan = people["riley"], people["jordan"]
    dana, marcus = people["dana"], people["marcus"]
    crisis = add_text(db, riley, "I don't think I can keep myself safe tonight", 3)
    plea = add_text(db, riley, "I'm really struggling, can someone call me", 8)
    voice_call = add_call(db, riley, 40, "wait_script", voice_message_seconds=83)
    missed_call = add_call(db, riley, 150, "caller_hung_up")
    jordan_call = add_call(db, jordan, 200, "wait_script")
    return {
        "crisis": add_item(db, AttentionKind.CRISIS_TEXT, riley, dana, 3, message_id=crisis),
        "plea": add_item(db, AttentionKind.CONTACT_PLEA, riley, dana, 8, message_id=plea),
        "voice": add_item(db, AttentionKind.VOICE_MESSAGE, riley, dana, 40, call_id=voice_call),
        "missed": add_item(db, AttentionKind.MISSED_CALL, riley, dana, 150, call_id=missed_call),
        # Jordan's missed call, escalated to Dana as the one on call.
        "jordan_escalated": add_item(
            db,
            AttentionKind.MISSED_CALL,
            jordan,
            marcus,
            200,
            call_id=jordan_call,
            escalations=1,
            escalated_at=NOW - timedelta(minutes=80),
            escalated_to_id=dana,
        ),
        # Marcus's alone: Dana never sees it.
        "jordan_urge": add_item(
            db,
            AttentionKind.HIGH_URGE,
            jordan,
            marcus,
            15,
            message_id=add_text(db, jordan, "5 bad night", 15),
        ),
    }


def test_today_lists_what_needs_a_therapist_in_plain_words(as_dana, items):
    text = texts_of(as_dana.get("/").text)
    assert text.index("Needs attention 5") < text.index("On call now")
    # Newest first, each in words, with the client's own words for a text.
    assert (
        "Crisis words in a text: Riley Tran Fri Nov 27, 9:39 PM (3 min ago), for you "
        "I don't think I can keep myself safe tonight"
    ) in text
    assert "Asked for a call: Riley Tran Fri Nov 27, 9:34 PM (8 min ago)" in text
    assert "I'm really struggling, can someone call me" in text
    assert "Voice message: Riley Tran" in text and "1:23 long. On Riley Tran's page" in text
    assert (
        "Missed call: Riley Tran Fri Nov 27, 7:12 PM (2 h 30 min ago), for you "
        "past the call-back window Missed: hung up while ringing."
    ) in text
    # Escalated to her: Jordan's first name only (not her client), and who it was for.
    assert (
        "Missed call: Jordan Fri Nov 27, 6:22 PM (3 h 20 min ago), for Marcus Oyelaran "
        "past the call-back window sent to you as the one on call "
        "Missed: heard the wait-time script."
    ) in text
    # Marcus's own item, and his client's words, are not hers to see.
    assert "High urge" not in text and "bad night" not in text
    assert text.index("Crisis words") < text.index("Asked for a call") < text.index("Voice")
    html = as_dana.get("/").text
    assert "How you reached them (needed for a missed call)" in texts_of(html)
    assert html.count(">Mark returned<") == 2 and html.count(">Acknowledge<") == 3


def test_the_navigation_counts_the_open_items_on_every_page(as_dana, items):
    nav = texts_of(as_dana.get("/schedule").text)
    assert "Today 5 need attention Clients" in nav


def test_the_admin_sees_every_item(as_admin, items):
    text = texts_of(as_admin.get("/").text)
    assert "Needs attention 6" in text
    assert "High urge on a check-in: Jordan Pike" in text
    assert "5 bad night" in text and "for Marcus Oyelaran" in text
    assert "sent to the one on call (Dana Whitfield)" in text


def test_an_empty_list_says_so(as_dana, people):
    text = texts_of(as_dana.get("/").text)
    assert "Needs attention 0 Nothing needs you right now." in text
    assert "Today Clients" in text  # no badge


def test_acknowledging_from_its_row_removes_it_and_audits_it(as_dana, db, items):
    page = as_dana.post(
        f"/attention/{items['plea']}/acknowledge",
        data={
            "note": "Called her back; she used TIPP",
            "csrf_token": csrf_of(as_dana.get("/").text),
        },
    )
    text = texts_of(page.text)
    assert "Acknowledged: Riley's asked for a call." in text
    assert "Needs attention 4" in text
    assert "I'm really struggling" not in text
    [entry] = audit_log(db, "attention_item", items["plea"])
    assert (entry.actor, entry.action, entry.at) == ("dana@example.org", "acknowledge", NOW)
    assert entry.reason == "Called her back; she used TIPP"
    item = fresh(db, AttentionItem, items["plea"])
    assert (item.acknowledged_by, item.acknowledged_at) == ("dana@example.org", NOW)

    # The same form again (a second tab): nothing changes, and it says why.
    again = post_form(as_dana, "/", f"/attention/{items['plea']}/acknowledge", {"note": ""})
    assert "This was already acknowledged, by dana@example.org." in texts_of(again.text)
    assert len(audit_log(db, "attention_item", items["plea"])) == 1


def test_a_missed_call_needs_the_note_and_then_counts_as_returned(as_dana, db, people, items):
    path = f"/attention/{items['missed']}/acknowledge"
    refused = post_form(as_dana, "/", path, {"note": "  "})
    text = texts_of(refused.text)
    assert "Not acknowledged: note is required for a missed call" in text
    assert "Missed call: Riley Tran Fri Nov 27, 7:12 PM" in text
    assert fresh(db, AttentionItem, items["missed"]).acknowledged_at is None

    done = post_form(as_dana, "/", path, {"note": "Reached her on her cell"})
    text = texts_of(done.text)
    assert "Marked returned: Riley's missed call." in text
    assert "Missed call: Riley Tran Fri Nov 27, 7:12 PM" not in text
    call = fresh(db, Call, fresh(db, AttentionItem, items["missed"]).call_id)
    assert (call.returned_at, call.returned_by) == (NOW, people["dana"])


def test_a_therapist_cannot_acknowledge_another_therapists_item(as_dana, db, items):
    page = post_form(as_dana, "/", f"/attention/{items['jordan_urge']}/acknowledge", {})
    assert page.status_code == 404
    assert "Not found" in texts_of(page.text)
    assert fresh(db, AttentionItem, items["jordan_urge"]).acknowledged_at is None
    assert audit_log(db, "attention_item") == []
    for junk in ("999999", "abc", "99999999999"):
        assert post_form(as_dana, "/", f"/attention/{junk}/acknowledge", {}).status_code == 404


def test_acknowledging_needs_the_forms_token(as_dana, db, items):
    page = as_dana.post(f"/attention/{items['plea']}/acknowledge", data={"note": "x"})
    assert page.status_code == 403
    assert fresh(db, AttentionItem, items["plea"]).acknowledged_at is None


def test_a_therapist_who_replied_stop_is_shown_so(as_dana, db, people):
    db.get(Therapist, people["marcus"]).sms_opted_out = True
    add_item(db, AttentionKind.THERAPIST_UNREACHABLE, None, people["dana"], 5)
    db.get(Therapist, people["dana"]).sms_opted_out = True
    db.commit()
    schedule = texts_of(as_dana.get("/schedule").text)
    assert "Marcus Oyelaran: available can't receive texts (replied STOP)" in schedule
    today = texts_of(as_dana.get("/").text)
    assert "Can't receive texts: you" in today
    assert "You replied STOP to the coaching line, so it can't text you." in today
