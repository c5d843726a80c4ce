"""A client's week on one page (issue 25, item 2), through the HTTP client: the diary card's
charts carry the values of the entries (a missing day a gap, never a zero), the day-by-day
timeline, the coaching notes, a bad number of weeks explained, another therapist's client
refused, and the PDF."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, date, datetime, timedelta

from app.models import Call, CheckIn, CoachingNote, DiaryEntry, Lockout, Message
from app.web.words import OUTCOMES
from tests.helpers import audit_log
from tests.test_web_support import ADMIN_EMAIL, DANA_EMAIL, MARCUS_EMAIL, sign_in, texts_of

pytest_plugins = ["tests.test_web_support"]

# NOW is Fri Nov 27 2026, 9:42 PM in the practice's zone (Chicago, UTC-6).


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """Nov `day` 2026 at hour:minute, Chicago time, as a UTC instant."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) + timedelta(hours=6)


def add_week(db, people) -> None:
    riley = people["riley"]
    entries = {
        23: {"urge_self_harm": 2, "acted_self_harm": False, "misery": 3, "skills": 5},
        25: {
            "urge_self_harm": 4,
            "acted_self_harm": True,
            "misery": 4,
            "skills": 2,
            "note": "Hard day at work",
        },
        26: {"urge_self_harm": 3, "acted_self_harm": False, "joy": 1},
        27: {"urge_self_harm": 1, "joy": 3},
        10: {"urge_self_harm": 5, "acted_self_harm": False},  # three weeks back
    }
    for day, answers in entries.items():
        db.add(
            DiaryEntry(
                client_id=riley,
                day=date(2026, 11, day),
                started_at=local(day, 20),
                completed_at=local(day, 20, 5) if day != 27 else None,
                **answers,
            )
        )
    call = Call(
        call_sid="CA" + "4" * 32,
        client_id=riley,
        route="coaching",
        outcome="bridged",
        therapist_id=people["dana"],
        accepted_therapist_id=people["dana"],
        started_at=local(25, 20),
        duration_seconds=600,
    )
    db.add(call)
    db.add(
        Call(
            call_sid="CA" + "5" * 32,
            client_id=riley,
            route="coaching",
            outcome="wait_script",
            started_at=local(22, 23, 15),
        )
    )
    db.flush()
    db.add(
        CoachingNote(
            call_id=call.id,
            client_id=riley,
            therapist_id=people["dana"],
            skills=["tipp_cold_water"],
            plan="Cold water before calling back.",
            follow_up="Chain analysis on Tuesday.",
            created_by=DANA_EMAIL,
        )
    )
    for minute, direction, kind in ((0, "inbound", "inbound"), (1, "outbound", "reply")):
        db.add(
            Message(
                direction=direction,
                kind=kind,
                client_id=riley,
                body="check-in" if direction == "inbound" else "How strong is the urge?",
                status="received" if direction == "inbound" else "sent",
                created_at=local(26, 9, minute),
            )
        )
    db.add(
        Message(  # a notification to Dana about Riley: not one of Riley's texts
            direction="outbound",
            kind="notification",
            client_id=riley,
            therapist_id=people["dana"],
            body="Missed call",
            status="sent",
            created_at=local(26, 9, 2),
        )
    )
    db.add(
        CheckIn(client_id=riley, asked_at=local(26, 9, 1), expires_at=local(26, 10), urge_rating=3)
    )
    db.add(
        Lockout(
            client_id=riley,
            starts_at=local(25, 22),
            ends_at=local(25, 22) + timedelta(hours=24),
            created_by=DANA_EMAIL,
        )
    )
    db.commit()


def chart(html: str, key: str) -> str:
    match = re.search(rf'<svg[^>]*id="chart-{key}".*?</svg>', html, re.S)
    assert match, f"no chart {key}"
    return match.group(0)


def points(svg: str) -> dict[str, int]:
    return {d: int(v) for d, v in re.findall(r'data-day="([\d-]+)" data-value="(\d+)"', svg)}


def day_row(html: str, day: str) -> str:
    match = re.search(rf'<tr id="day-{day}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {day}"
    return texts_of(match.group(1))


def test_the_week_page_charts_each_measure_with_gaps_and_a_timeline(as_dana, people, db):
    add_week(db, people)
    page = as_dana.get(f"/clients/{people['riley']}/week")
    assert page.status_code == 200
    said = texts_of(page.text)
    assert "Riley Tran's week Sat Nov 21 to Fri Nov 27, 2026" in said

    urge = chart(page.text, "urge_self_harm")
    assert points(urge) == {
        "2026-11-23": 2,
        "2026-11-25": 4,
        "2026-11-26": 3,
        "2026-11-27": 1,
    }
    # Tuesday has no card: the line breaks there (a new M), it does not fall to 0
    [path] = re.findall(r'class="chart-line" d="([^"]+)"', urge)
    assert [c for c in path if c in "ML"] == ["M", "M", "L", "L"]
    assert re.findall(r'data-day="([\d-]+)" data-acted="yes"', urge) == ["2026-11-25"]
    assert "<title" in urge and 'role="img"' in urge
    assert (
        "4 of 7 days answered; highest 4 of 5 (Wed Nov 25); acted on it: Wed Nov 25; "
        "3 days without an answer."
    ) in urge
    assert points(chart(page.text, "joy")) == {"2026-11-26": 1, "2026-11-27": 3}
    assert points(chart(page.text, "skills")) == {"2026-11-23": 5, "2026-11-25": 2}
    assert points(chart(page.text, "fear")) == {}
    assert "<script" not in page.text
    # each chart's table says the same in words
    table = re.search(r'id="measure-urge_self_harm".*?</figure>', page.text, re.S).group(0)
    rows = texts_of(table)
    assert "Mon Nov 23 2 no Tue Nov 24 no answer — Wed Nov 25 4 yes" in rows
    assert "Fri Nov 27 1 —" in rows

    # the timeline, by the practice's day
    waited = OUTCOMES["wait_script"]
    assert day_row(page.text, "2026-11-22") == f"Sun Nov 22 none 11:15 PM {waited} — — —"
    wednesday = day_row(page.text, "2026-11-25")
    assert wednesday.startswith(
        "Wed Nov 25 filled in “Hard day at work” 8:00 PM Talked with a coach (10:00)"
    )
    assert "coaching note" in wednesday and "self-harm event 10:00 PM" in wednesday
    thursday = day_row(page.text, "2026-11-26")
    assert "1 from them, 1 from the line" in thursday  # the notification is not counted
    assert "9:01 AM urge 3" in thursday and "rule ends 10:00 PM" in thursday
    assert day_row(page.text, "2026-11-27").startswith("Fri Nov 27 partly")
    assert "Coaching notes 1" in said and "Plan: Cold water before calling back." in said
    assert "Skills: Cold Water (TIPP) Plan: Cold water before calling back." in said

    [entry] = [e for e in audit_log(db, "client", people["riley"]) if e.action == "export"]
    assert entry.actor == DANA_EMAIL
    assert entry.changes == {
        "what": "week page",
        "weeks": 1,
        "from": "2026-11-21",
        "to": "2026-11-27",
    }


def test_more_weeks_and_a_bad_number_of_weeks(as_dana, people, db):
    add_week(db, people)
    three = as_dana.get(f"/clients/{people['riley']}/week?weeks=3")
    assert "Riley Tran's 3 weeks Sat Nov 7 to Fri Nov 27, 2026" in texts_of(three.text)
    assert points(chart(three.text, "urge_self_harm"))["2026-11-10"] == 5
    assert len(re.findall(r'<tr id="day-', three.text)) == 21
    for bad in ("0", "5", "abc", "-1", "1.5", "9999999999999"):
        refused = as_dana.get(f"/clients/{people['riley']}/week?weeks={bad}")
        assert refused.status_code == 400, bad
        assert "Choose 1 to 4 weeks" in texts_of(refused.text)


def test_another_therapists_client_is_refused_and_an_admin_sees_everyone(web, people, db, staff):
    add_week(db, people)
    assert sign_in(web, MARCUS_EMAIL).status_code == 303
    for path in ("week", "week.pdf"):
        refused = web.get(f"/clients/{people['riley']}/{path}")
        assert refused.status_code == 404
        assert "Riley" not in refused.text
    assert web.get(f"/clients/{people['jordan']}/week").status_code == 200
    assert not [e for e in audit_log(db, "client", people["riley"]) if e.action == "export"]


def test_an_admin_sees_any_clients_week(as_admin, people, db):
    add_week(db, people)
    page = as_admin.get(f"/clients/{people['jordan']}/week?weeks=4")
    assert page.status_code == 200
    assert "Jordan Pike's 4 weeks Sat Oct 31 to Fri Nov 27, 2026" in texts_of(page.text)
    assert points(chart(page.text, "urge_self_harm")) == {}  # Riley's card is not Jordan's
    [entry] = [e for e in audit_log(db, "client", people["jordan"]) if e.action == "export"]
    assert entry.actor == ADMIN_EMAIL


def pdf_text(body: bytes) -> str:
    """The text drawn in the PDF, its streams inflated."""
    found = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            found.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            found.append(stream.decode("latin-1"))
    return "\n".join(found)


def test_the_pdf_has_the_clients_name_the_week_and_the_notes(as_dana, people, db):
    add_week(db, people)
    response = as_dana.get(f"/clients/{people['riley']}/week.pdf?weeks=2")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert "Riley" not in response.headers["content-disposition"]
    body = response.content
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    text = pdf_text(body)
    assert "Riley Tran's 2 weeks" in text
    assert "Sat Nov 14 to Fri Nov 27, 2026" in text
    assert "Plan: Cold water before calling back." in text
    assert "Td (8:00 PM Talked with a coach" in text  # the call, in the day-by-day table
    [entry] = [e for e in audit_log(db, "client", people["riley"]) if e.action == "export"]
    assert entry.changes["what"] == "week PDF" and entry.changes["weeks"] == 2
    assert as_dana.get(f"/clients/{people['riley']}/week.pdf?weeks=x").status_code == 400
    # four weeks run onto a second page, the table's heading repeated
    four = as_dana.get(f"/clients/{people['riley']}/week.pdf?weeks=4").content
    assert re.search(rb"/Count [2-9]\s*/Kids", four)
    assert pdf_text(four).count("(24-hour rule) Tj") >= 2
