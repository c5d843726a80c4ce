"""/api/attention: the attention list each role sees, and acknowledging an item (audited);
a therapist's STOP on /api/therapists."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import AttentionItem, Call, Therapist
from ivr.codes import AttentionKind
from tests.conftest import NOW
from tests.helpers import audit_log, fresh, instant, user_headers

ITEM_FIELDS = {
    "id",
    "kind",
    "client_id",
    "therapist_id",
    "created_at",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledge_note",
    "escalations",
}


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


@pytest.fixture
def items(db, people) -> dict[str, int]:
    """Riley is Dana's client, Jordan is Marcus's. One item each way Dana may see one, one of
    Marcus's, and one already acknowledged."""
    riley, jordan = people["riley"], people["jordan"]
    dana, marcus = people["dana"], people["marcus"]
    return {
        "riley_plea": add_item(db, AttentionKind.CONTACT_PLEA, riley, dana, 5),
        # Riley's, but for Marcus (on call while Dana could not be texted): Dana sees it too.
        "riley_urge_for_marcus": add_item(db, AttentionKind.HIGH_URGE, riley, marcus, 10),
        "jordan_missed": add_item(db, AttentionKind.MISSED_CALL, jordan, marcus, 20),
        # Jordan's, escalated to Dana as the one on call: hers to see and handle.
        "jordan_voice_escalated": add_item(
            db,
            AttentionKind.VOICE_MESSAGE,
            jordan,
            marcus,
            200,
            escalations=1,
            escalated_at=NOW - timedelta(minutes=80),
            escalated_to_id=dana,
        ),
        # Dana replied STOP: the item is about her, and Marcus, on call, was texted of it.
        "dana_unreachable": add_item(
            db, AttentionKind.THERAPIST_UNREACHABLE, None, dana, 30, alerted_id=marcus
        ),
        "riley_crisis_done": add_item(
            db,
            AttentionKind.CRISIS_TEXT,
            riley,
            dana,
            60,
            acknowledged_at=NOW - timedelta(minutes=50),
            acknowledged_by="dana@example.org",
            acknowledge_note="Called her; she is safe.",
        ),
    }


@pytest.fixture
def as_dana(db, people):
    return user_headers(db, "dana@example.org", therapist_id=people["dana"])


@pytest.fixture
def as_marcus(db, people):
    return user_headers(db, "marcus@example.org", therapist_id=people["marcus"])


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_admin_sees_every_open_item_newest_first(http, admin, items):
    response = http.get("/api/attention", headers=admin)
    assert ids(response) == [
        items["riley_plea"],
        items["riley_urge_for_marcus"],
        items["jordan_missed"],
        items["dana_unreachable"],
        items["jordan_voice_escalated"],
    ]
    body = response.json()
    assert body["total"] == 5
    first = body["items"][0]
    assert set(first) == ITEM_FIELDS
    assert first["kind"] == "contact_plea"
    assert instant(first["created_at"]) == NOW - timedelta(minutes=5)
    assert (first["acknowledged_at"], first["acknowledged_by"]) == (None, None)


def test_all_true_adds_the_acknowledged_ones(http, admin, items):
    listed = http.get("/api/attention", params={"all": "true"}, headers=admin).json()
    assert listed["total"] == 6
    [done] = [i for i in listed["items"] if i["id"] == items["riley_crisis_done"]]
    assert done["acknowledged_by"] == "dana@example.org"
    assert done["acknowledge_note"] == "Called her; she is safe."
    assert instant(done["acknowledged_at"]) == NOW - timedelta(minutes=50)


def test_a_therapist_sees_their_own_and_their_clients_items_not_anothers(
    http, as_dana, as_marcus, items
):
    assert ids(http.get("/api/attention", headers=as_dana)) == [
        items["riley_plea"],
        items["riley_urge_for_marcus"],  # about her client
        items["dana_unreachable"],  # about her
        items["jordan_voice_escalated"],  # escalated to her
    ]
    assert ids(http.get("/api/attention?all=true", headers=as_dana)) == [
        items["riley_plea"],
        items["riley_urge_for_marcus"],
        items["dana_unreachable"],
        items["riley_crisis_done"],
        items["jordan_voice_escalated"],
    ]
    # Marcus: his own (for him, or texted to him), not Riley's plea.
    assert ids(http.get("/api/attention", headers=as_marcus)) == [
        items["riley_urge_for_marcus"],
        items["jordan_missed"],
        items["dana_unreachable"],
        items["jordan_voice_escalated"],
    ]


def test_a_therapist_cannot_acknowledge_another_therapists_item(http, as_dana, db, items):
    response = http.post(
        f"/api/attention/{items['jordan_missed']}/acknowledge",
        json={"note": "Reached him"},
        headers=as_dana,
    )
    assert response.status_code == 404
    assert fresh(db, AttentionItem, items["jordan_missed"]).acknowledged_at is None
    assert audit_log(db, "attention_item") == []
    unknown = http.post("/api/attention/999999/acknowledge", headers=as_dana)
    assert unknown.status_code == 404


def test_acknowledging_is_audited_and_a_second_time_is_a_conflict(http, as_dana, db, items):
    item_id = items["riley_plea"]
    response = http.post(
        f"/api/attention/{item_id}/acknowledge",
        json={"note": "  Called Riley back; made a plan for tonight. "},
        headers=as_dana,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == item_id
    assert instant(body["acknowledged_at"]) == NOW
    assert body["acknowledged_by"] == "dana@example.org"
    assert body["acknowledge_note"] == "Called Riley back; made a plan for tonight."
    [entry] = audit_log(db, "attention_item", item_id)
    assert (entry.actor, entry.action, entry.at) == ("dana@example.org", "acknowledge", NOW)
    assert entry.reason == "Called Riley back; made a plan for tonight."
    assert item_id not in ids(http.get("/api/attention", headers=as_dana))

    again = http.post(f"/api/attention/{item_id}/acknowledge", json={}, headers=as_dana)
    assert again.status_code == 409
    assert "already acknowledged" in again.json()["detail"]
    assert len(audit_log(db, "attention_item", item_id)) == 1


def test_the_note_is_optional_except_for_a_missed_call(http, admin, as_marcus, db, people, items):
    # No body at all: acknowledged without a note.
    plain = http.post(f"/api/attention/{items['dana_unreachable']}/acknowledge", headers=admin)
    assert plain.status_code == 200, plain.text
    assert plain.json()["acknowledge_note"] is None

    call = Call(
        call_sid="CA" + "7" * 32,
        client_id=people["jordan"],
        route="coaching",
        outcome="wait_script",
        started_at=NOW - timedelta(minutes=20),
    )
    db.add(call)
    db.commit()
    missed = add_item(
        db, AttentionKind.MISSED_CALL, people["jordan"], people["marcus"], 19, call_id=call.id
    )
    path = f"/api/attention/{missed}/acknowledge"
    for body in (None, {}, {"note": "   "}):
        refused = http.post(path, json=body, headers=as_marcus)
        assert refused.status_code == 422, body
        assert "note is required for a missed call" in refused.json()["detail"]
    assert fresh(db, AttentionItem, missed).acknowledged_at is None

    done = http.post(path, json={"note": "Reached Jordan on his cell"}, headers=as_marcus)
    assert done.status_code == 200
    # Acknowledged by hand, the missed call counts as returned, by Marcus.
    returned = fresh(db, Call, call.id)
    assert (returned.returned_at, returned.returned_by) == (NOW, people["marcus"])


@pytest.mark.parametrize(
    "body",
    [{"note": 5}, {"note": "x" * 5000}, {"reason": "typo"}, [], "note"],
)
def test_bad_input_is_422(http, admin, db, items, body):
    response = http.post(
        f"/api/attention/{items['riley_plea']}/acknowledge", json=body, headers=admin
    )
    assert response.status_code == 422
    assert fresh(db, AttentionItem, items["riley_plea"]).acknowledged_at is None


def test_the_attention_list_needs_a_token(http, items):
    assert http.get("/api/attention").status_code == 401
    response = http.post(f"/api/attention/{items['riley_plea']}/acknowledge", json={})
    assert response.status_code == 401
    bad = {"Authorization": "Bearer cl_not-a-token"}
    assert http.get("/api/attention", headers=bad).status_code == 401


def test_the_attention_routes_are_in_the_openapi_document(http):
    paths = http.app.openapi()["paths"]
    assert "get" in paths["/api/attention"]
    acknowledge = paths["/api/attention/{item_id}/acknowledge"]["post"]
    assert {"200", "401", "404", "409", "422"} <= set(acknowledge["responses"])


def test_a_therapists_stop_shows_as_sms_opted_out(http, as_dana, db, people):
    db.get(Therapist, people["marcus"]).sms_opted_out = True
    db.commit()
    marcus = http.get(f"/api/therapists/{people['marcus']}", headers=as_dana).json()
    assert marcus["sms_opted_out"] is True
    listed = http.get("/api/therapists", headers=as_dana).json()["items"]
    assert {t["name"]: t["sms_opted_out"] for t in listed} == {
        "Dana Whitfield": False,
        "Marcus Oyelaran": True,
    }
