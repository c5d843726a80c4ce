"""The Logs page and the audit log as a person reads them: one meaning per column, statuses in
words, filters that narrow the rows and survive paging, bad filter values explained, and the
audit log with names and plain words (what is stored stays as it was)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.models import AuditEntry, Call, Message, Rotation
from tests.conftest import NOW
from tests.test_web_support import DANA, texts_of

pytest_plugins = ["tests.test_web_support"]


def add_call(db, client_id, at, outcome="bridged", **kw) -> Call:
    call = Call(
        call_sid=f"CA{len(db.scalars(select(Call.id)).all()):032d}",
        client_id=client_id,
        route=kw.pop("route", "coaching"),
        outcome=outcome,
        started_at=at,
        **kw,
    )
    db.add(call)
    db.commit()
    return call


def add_text(db, at, **kw) -> Message:
    values = {"direction": "outbound", "kind": "reply", "body": "hello", "status": "sent"}
    message = Message(created_at=at, attempts=1, **{**values, **kw})
    db.add(message)
    db.commit()
    return message


def rows_of(html: str) -> list[str]:
    """Each table row's text, header row first."""
    return [texts_of(r) for r in re.findall(r"<tr>.*?</tr>", html, flags=re.S)]


# ---- one meaning per column ----------------------------------------------------------------------


def test_calls_name_the_clients_therapist_and_the_therapist_rung_apart(as_admin, people, db):
    # Jordan (Marcus's client) called while Marcus was away: the line rang Dana, who answered.
    add_call(db, people["jordan"], NOW - timedelta(minutes=5), therapist_id=people["dana"])
    # Dana calling the line back for Riley.
    add_call(
        db,
        people["riley"],
        NOW - timedelta(minutes=2),
        "returned",
        route="therapist",
        therapist_id=people["dana"],
    )
    page = as_admin.get("/logs")
    header, returned, answered = rows_of(page.text)
    assert header == (
        "When Client Client's therapist Call What happened Rang Length Returned Caller ID check"
    )
    assert "Jordan Pike Marcus Oyelaran Coaching Talked with a coach Dana Whitfield" in answered
    assert (
        "Riley Tran Dana Whitfield Therapist calling: Dana Whitfield "
        "Call-back reached the client —" in returned
    )
    assert "“Rang” is the therapist the line rang for the call" in texts_of(page.text)
    # the client's page says the same: Jordan's therapist is Marcus; the line rang Dana
    client_page = as_admin.get(f"/clients/{people['jordan']}").text
    assert "Therapist: Marcus Oyelaran" in texts_of(client_page)
    assert "When What happened Rang Length Returned" in rows_of(client_page)
    assert "Talked with a coach Dana Whitfield" in texts_of(client_page)


def test_texts_say_from_and_to_and_their_status_in_words(as_admin, people, db):
    add_text(
        db,
        NOW - timedelta(minutes=9),
        kind="notification",
        therapist_id=people["dana"],
        client_id=people["riley"],
        to_phone=DANA,
        status="not_sent",
        last_error="recipient opted out",
        body="Riley called at 9:30 PM.",
    )
    add_text(db, NOW - timedelta(minutes=8), status="failed", last_error="twilio 400 code 21211")
    add_text(
        db,
        NOW - timedelta(minutes=7),
        direction="inbound",
        kind="inbound",
        client_id=people["riley"],
        status="replied",
        body="check-in",
    )
    add_text(db, NOW - timedelta(minutes=6), client_id=people["riley"], status="replied")
    add_text(db, NOW - timedelta(minutes=5), client_id=people["riley"], status="queued")
    page = as_admin.get("/logs?show=messages")
    header, queued, reply, inbound, failed, alert = rows_of(page.text)
    assert header == "When From To Kind Text Status"
    assert "the line Riley Tran Reply hello Waiting to be sent" in queued
    assert reply.endswith("Sent as the line's answer")
    assert "Riley Tran the line Text in check-in Answered" in inbound
    assert "unknown number Reply hello Could not be sent: Twilio refused it (error 21211)" in failed
    assert (
        "the line Dana Whitfield To a therapist, about Riley Tran Riley called at 9:30 PM. "
        "Not sent: they replied STOP to the line" in alert
    )
    for raw in ("not_sent", "queued", "recipient opted out", "twilio 400"):
        assert raw not in texts_of(page.text)
    # the client's page says the same words for the same statuses
    client_page = texts_of(as_admin.get(f"/clients/{people['riley']}").text)
    assert "Waiting to be sent" in client_page and "queued" not in client_page


def test_a_therapist_sees_a_colleagues_client_by_first_name_in_a_text_to_them(as_dana, people, db):
    add_text(
        db,
        NOW - timedelta(minutes=3),
        kind="escalation",
        therapist_id=people["dana"],
        client_id=people["jordan"],
        body="Jordan called and nobody has called back.",
    )
    add_text(db, NOW - timedelta(minutes=2), client_id=people["jordan"], body="For Jordan only")
    page = as_dana.get("/logs?show=messages")
    text = texts_of(page.text)
    assert "Escalation, about Jordan" in text and "Jordan Pike" not in text
    assert f"/clients/{people['jordan']}" not in page.text
    assert "For Jordan only" not in text


# ---- filters -------------------------------------------------------------------------------------


@pytest.fixture
def calls(db, people):
    """Riley: 30 missed calls and 5 talked; Jordan: 4 talked; a day apart in the practice's
    time at the end (NOW is Fri Nov 27, 9:42 PM in St. Louis)."""
    for i in range(30):
        add_call(db, people["riley"], NOW - timedelta(hours=1, minutes=i), "wait_script")
    for i in range(5):
        add_call(db, people["riley"], NOW - timedelta(hours=2, minutes=i), "bridged")
    for i in range(4):
        add_call(db, people["jordan"], NOW - timedelta(minutes=10 + i), "bridged")
    # 11:30 PM on Thursday Nov 26 where the practice is, though Nov 27 in UTC
    add_call(db, people["jordan"], NOW - timedelta(hours=22, minutes=12), "crisis_resources")


def test_filters_narrow_the_calls(as_admin, people, calls):
    riley = people["riley"]
    everyone = as_admin.get("/logs")
    assert "40 in all." in everyone.text

    by_client = as_admin.get(f"/logs?client={people['jordan']}")
    assert "5 in all." in by_client.text and "Riley Tran" not in "".join(rows_of(by_client.text))
    assert "selected>Jordan Pike</option>" in by_client.text

    by_therapist = as_admin.get(f"/logs?therapist={people['dana']}")
    assert "35 in all." in by_therapist.text
    assert "Jordan Pike" not in "".join(rows_of(by_therapist.text))

    missed = as_admin.get(f"/logs?client={riley}&outcome=missed")
    assert "30 in all." in missed.text
    assert "Talked with a coach" not in "".join(rows_of(missed.text))

    thursday = as_admin.get("/logs?from=2026-11-26&to=2026-11-26")
    assert "1 in all." in thursday.text and "Crisis resources" in thursday.text
    friday = as_admin.get("/logs?from=2026-11-27")
    assert "39 in all." in friday.text
    nothing = as_admin.get("/logs?outcome=returned")
    assert "No calls match these filters." in texts_of(nothing.text)


def test_filters_narrow_the_texts_by_status(as_admin, people, db):
    add_text(db, NOW - timedelta(minutes=3), client_id=people["riley"], status="not_sent")
    add_text(db, NOW - timedelta(minutes=2), client_id=people["jordan"], status="sent")
    page = as_admin.get("/logs?show=messages&outcome=not_sent")
    assert "1 in all." in page.text and "Riley Tran" in texts_of(page.text)
    assert '<option value="not_sent" selected>Not sent</option>' in page.text


def test_paging_keeps_the_filters(as_admin, people, calls):
    riley = people["riley"]
    first = as_admin.get(f"/logs?client={riley}&outcome=missed&from=2026-11-27")
    assert "Page 1 of 2" in first.text and "30 in all." in first.text
    older = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    assert older == f"/logs?show=calls&client={riley}&outcome=missed&from=2026-11-27&page=2"
    second = as_admin.get(older)
    rows = rows_of(second.text)[1:]
    assert "Page 2 of 2" in second.text and len(rows) == 10
    assert all("Missed: heard the wait-time script" in r and "Riley Tran" in r for r in rows)
    # the tabs keep the client and the days, not the call's outcome
    assert f'href="/logs?show=messages&amp;client={riley}&amp;from=2026-11-27"' in second.text


@pytest.mark.parametrize(
    ("query", "explained"),
    [
        ("client=abc", "The client “abc” is not one of the list, so every client is shown."),
        ("therapist=99999", "That therapist is not one of the list"),
        ("therapist=-1", "That therapist is not one of the list"),
        ("outcome=exploded", "The what happened “exploded” is not one of the list"),
        ("from=2026-13-45", "The “from” date “2026-13-45” is not a date, so it was left out."),
        ("to=" + "9" * 300, "The “to” date “" + "9" * 40 + "…” is not a date"),
        ("from=0001-01-01", "The “from” date “0001-01-01” is not a date"),
        ("from=2026-11-28&to=2026-11-26", "The “from” date was after the “to” date"),
    ],
)
def test_a_bad_filter_value_is_explained_and_set_aside(as_admin, calls, query, explained):
    page = as_admin.get(f"/logs?{query}")
    assert page.status_code == 200
    assert explained in texts_of(page.text)
    if "swapped" not in explained and "after" not in explained:
        assert "40 in all." in page.text  # nothing was narrowed by it


def test_a_page_past_the_last_is_the_last(as_admin, calls):
    page = as_admin.get("/logs?page=99999999999")
    assert page.status_code == 200 and "Page 2 of 2" in page.text


def test_a_therapists_filters_stay_within_what_they_may_see(as_dana, people, calls):
    assert as_dana.get(f"/logs?client={people['jordan']}").status_code == 404
    mine = as_dana.get("/logs")
    assert "35 in all." in mine.text  # Riley's only
    assert "Jordan Pike" not in mine.text  # not even in the client list
    colleague = as_dana.get(f"/logs?therapist={people['marcus']}")
    assert colleague.status_code == 200 and "No calls match these filters." in texts_of(
        colleague.text
    )


def _plans(line, run) -> list[str]:
    """Each log query `run` sends, explained by the database it ran on."""
    sent = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if re.search(r"FROM (calls|messages)\b", statement) and "LIMIT" in statement:
            sent.append((statement, parameters))

    event.listen(line.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(line.engine, "before_cursor_execute", capture)
    plans = []
    with line.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        for statement, parameters in sent:
            if conn.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
            else:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("EXPLAIN " + statement, parameters)
                plans.append("\n".join(str(row[0]) for row in cursor.fetchall()))
    return plans


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("client={riley}&outcome=missed", "ix_calls_client_outcome_started"),
        ("from=2026-11-27&to=2026-11-27", "ix_calls_started_at"),
        ("show=messages&outcome=failed", "ix_messages_delivery"),
        ("show=messages&client={riley}", "ix_messages_client_id"),
    ],
)
def test_the_filtered_queries_use_the_indexes(as_admin, line, people, calls, query, index):
    url = "/logs?" + query.format(riley=people["riley"])
    [plan] = _plans(line, lambda: as_admin.get(url))
    assert index in plan, plan
    assert not re.search(r"^SCAN (calls|messages)$|Seq Scan on (calls|messages)", plan, re.M), plan


# ---- the audit log in words ----------------------------------------------------------------------


def test_the_audit_log_names_people_and_says_fields_and_values_in_words(as_admin, people, db):
    dana, marcus, riley = people["dana"], people["marcus"], people["riley"]
    rotation = Rotation(name="Weekends", starts_on=NOW.date(), handoff_time=NOW.time(), turn_days=7)
    db.add(rotation)
    db.flush()
    stored = {
        "sms_opted_out": {"from": False, "to": True},
        "therapist_id": {"from": dana, "to": marcus},
        "phone": {"from": "+13145550142", "to": "+13145550149"},
    }
    entries = [
        AuditEntry(
            at=NOW - timedelta(minutes=5),
            actor="admin@example.org",
            action="update",
            entity="client",
            entity_id=riley,
            changes=stored,
        ),
        AuditEntry(
            at=NOW - timedelta(minutes=4),
            actor="admin@example.org",
            action="update",
            entity="rotation",
            entity_id=rotation.id,
            changes={
                "therapist_ids": {"from": [dana], "to": [dana, marcus]},
                "handoff_time": {"from": "09:00", "to": "17:30"},
            },
        ),
        AuditEntry(
            at=NOW - timedelta(minutes=3),
            actor=f"sms:therapist:{dana}",
            action="create",
            entity="lockout",
            entity_id=12345,
            changes={"client_id": riley, "starts_at": "2026-11-28T01:00:00Z"},
        ),
        AuditEntry(
            at=NOW - timedelta(minutes=2),
            actor="system:retention",
            action="purge",
            entity="records",
            entity_id=None,
            changes={"calls": 3, "messages": 0, "before": "2026-05-28T03:42:00+00:00"},
        ),
        AuditEntry(
            at=NOW - timedelta(minutes=1),
            actor="admin@example.org",
            action="update",
            entity="practice_settings",
            entity_id=None,
            changes={
                "call_time_limit_minutes": {"from": 10, "to": 15},
                "some_new_field": "x",
            },
        ),
    ]
    db.add_all(entries)
    db.commit()
    page = as_admin.get("/audit")
    rows = rows_of(page.text)
    assert rows[0] == "When Who Did To Changes Reason"

    def row(about: str) -> str:
        [found] = [r for r in rows if about in r]
        return found

    client, rota, lockout = row("client Riley Tran"), row("rotation"), row("24-hour rule")
    purge, settings = row("old records"), row("Call time limit")
    assert (
        "admin@example.org Changed client Riley Tran Opted out of texts: no → yes "
        "Therapist: Dana Whitfield → Marcus Oyelaran Mobile phone: (a phone number) → "
        "(a phone number)" in client
    )
    assert f'href="/clients/{riley}">client Riley Tran</a>' in page.text
    assert (
        "Changed rotation Weekends Therapists: Dana Whitfield → Dana Whitfield, Marcus Oyelaran "
        "Hand-over time: 9:00 AM → 5:30 PM" in rota
    )
    assert (
        "Dana Whitfield (by text) Added 24-hour rule for Riley Tran Client: Riley Tran "
        "Starts: Fri Nov 27, 7:00 PM" in lockout
    )
    assert (
        "Automatic clean-up Deleted old records old records Calls deleted: 3 Texts deleted: 0 "
        "Older than: Wed May 27, 10:42 PM" in purge
    )
    assert "Call time limit: 10 minutes → 15 minutes Some new field: x" in settings
    text = texts_of(page.text)
    for raw in ("client id", "therapist ids", "sms opted out", "+1314", "sms:therapist"):
        assert raw not in text
    # what is stored is as it was
    db.expire_all()
    saved = db.scalars(select(AuditEntry).where(AuditEntry.entity == "client")).one()
    assert saved.changes == stored


def test_the_audit_log_words_exports_and_coaching_notes(as_admin, people, db):
    riley = people["riley"]
    db.add_all(
        [
            AuditEntry(
                at=NOW - timedelta(minutes=2),
                actor="dana@example.org",
                action="export",
                entity="client",
                entity_id=riley,
                changes={"what": "week PDF", "weeks": 2},
            ),
            AuditEntry(
                at=NOW - timedelta(minutes=1),
                actor="dana@example.org",
                action="create",
                entity="coaching_note",
                entity_id=7,
                changes={"skills": ["tipp"]},
            ),
        ]
    )
    db.commit()
    page = texts_of(as_admin.get("/audit").text)
    assert "Exported client Riley Tran" in page
    assert "Added coaching note" in page
