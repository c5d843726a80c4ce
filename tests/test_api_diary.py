"""/api/clients/{id}/diary and diary.csv: a client's diary cards for the clinical record, the
same rows in both, read against the saved entries; audited; a therapist sees only their own
clients'; bad dates a 422 in words."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEntry, Client, DiaryEntry
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.helpers import audit_log, user_headers
from tests.twilio_driver import TwilioDriver

RILEY = "+13145550142"
FRIDAY = date(2026, 11, 27)  # NOW is Friday 9:42 PM in St. Louis


@pytest.fixture
def cards(http, db, people) -> dict[str, int]:
    """Riley's card for today filled in by text; two earlier days saved (one unfinished, with
    a note a spreadsheet would run); a day that was only prompted; Jordan's card."""
    db.get(Client, people["riley"]).diary_opt_in = True
    earlier = datetime(2026, 11, 20, 2, 0, tzinfo=NOW.tzinfo)
    db.add_all(
        [
            DiaryEntry(
                client_id=people["riley"],
                day=date(2026, 11, 19),
                urge_self_harm=4,
                acted_self_harm=True,
                note='=HYPERLINK("x"), then "we talked"\nsecond line',
                started_at=earlier,
                completed_at=earlier,
                updated_at=earlier,
            ),
            DiaryEntry(
                client_id=people["riley"],
                day=date(2026, 11, 25),
                urge_self_harm=1,
                started_at=earlier + timedelta(days=5),
                updated_at=earlier + timedelta(days=5),
            ),
            DiaryEntry(
                client_id=people["riley"],
                day=date(2026, 11, 26),
                prompted_at=earlier,
                updated_at=earlier,
            ),
            DiaryEntry(
                client_id=people["jordan"],
                day=FRIDAY,
                urge_use=2,
                started_at=NOW,
                updated_at=NOW,
            ),
        ]
    )
    db.commit()
    driver = TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )
    for body in ("diary", "2 0 1 n n n 3 2 1 0 4 5 Went to group"):
        assert driver.sms(from_=RILEY, body=body).error is None
    return people


def test_the_json_export_is_the_saved_entries_in_the_practice_zone(http, admin, db, cards):
    answer = http.get(f"/api/clients/{cards['riley']}/diary", headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["client_id"], body["time_zone"]) == (cards["riley"], "America/Chicago")
    assert (body["from"], body["to"]) == ("2026-10-31", "2026-11-27")  # four weeks to today
    assert [e["day"] for e in body["entries"]] == ["2026-11-19", "2026-11-25", "2026-11-27"]
    today = body["entries"][-1]
    riley_today = (DiaryEntry.day == FRIDAY) & (DiaryEntry.client_id == cards["riley"])
    row = db.scalar(select(DiaryEntry).where(riley_today))
    for name in ("urge_self_harm", "urge_use", "acted_use", "misery", "joy", "skills", "note"):
        assert today[name] == getattr(row, name), name
    assert (today["urge_self_harm"], today["acted_use"], today["note"]) == (
        2,
        False,
        "Went to group",
    )
    assert today["started_at"] == "2026-11-27T21:42:00-06:00"
    unfinished = body["entries"][1]
    assert (unfinished["urge_self_harm"], unfinished["misery"]) == (1, None)
    assert unfinished["completed_at"] is None

    narrow = http.get(
        f"/api/clients/{cards['riley']}/diary?from=2026-11-20&to=2026-11-26", headers=admin
    ).json()
    assert [e["day"] for e in narrow["entries"]] == ["2026-11-25"]

    wide, narrowed = [e for e in audit_log(db, "client", cards["riley"]) if e.action == "export"]
    assert wide.actor == "admin@example.org"
    assert wide.changes == {
        "what": "diary card (JSON)",
        "from": "2026-10-31",
        "to": "2026-11-27",
        "entries": 3,
    }
    assert (narrowed.changes["from"], narrowed.changes["entries"]) == ("2026-11-20", 1)


def test_the_csv_export_has_the_same_rows(http, admin, db, cards):
    path = f"/api/clients/{cards['riley']}/diary"
    as_json = http.get(path, headers=admin).json()["entries"]
    answer = http.get(path + ".csv", headers=admin)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="diary-client-1-2026-10-31-to-2026-11-27.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["day"] for r in rows] == [e["day"] for e in as_json]
    first, unfinished, today = rows
    # A formula-like note is kept as text; its quotes, comma and line break survive.
    assert first["note"] == '\'=HYPERLINK("x"), then "we talked"\nsecond line'
    assert (first["urge_self_harm"], first["acted_self_harm"]) == ("4", "yes")
    assert (unfinished["misery"], unfinished["completed_at"]) == ("", "")
    assert (today["acted_use"], today["skills"], today["note"]) == ("no", "5", "Went to group")
    assert today["started_at"] == "2026-11-27T21:42-06:00"
    exports = [e for e in audit_log(db, "client", cards["riley"]) if e.action == "export"]
    assert [e.changes["what"] for e in exports] == ["diary card (JSON)", "diary card (CSV)"]


def test_a_therapist_exports_their_own_clients_cards_only(http, db, cards):
    dana = user_headers(db, "dana@example.org", therapist_id=cards["dana"])
    marcus = user_headers(db, "marcus@example.org", therapist_id=cards["marcus"])
    own = http.get(f"/api/clients/{cards['riley']}/diary.csv", headers=dana)
    assert own.status_code == 200 and "Went to group" in own.text
    for path in ("/diary", "/diary.csv"):
        other = http.get(f"/api/clients/{cards['riley']}{path}", headers=marcus)
        assert other.status_code == 404, other.text
        assert "Went to group" not in other.text
    db.rollback()
    actors = [e.actor for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "export"))]
    assert actors == ["dana@example.org"]  # a refusal exports nothing, so audits nothing


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=2026-13-01", "'from' must be a date written as YYYY-MM-DD"),
        ("to=yesterday", "'to' must be a date written as YYYY-MM-DD"),
        ("from=2026-11-27T00:00", "'from' must be a date written as YYYY-MM-DD"),
        ("from=2026-11-28&to=2026-11-27", "'from' must be on or before 'to'"),
        ("from=2024-01-01&to=2026-11-27", "an export covers at most 366 days"),
    ],
)
def test_bad_dates_are_a_422_in_words(http, admin, db, cards, query, words):
    for suffix in ("", ".csv"):
        answer = http.get(f"/api/clients/{cards['riley']}/diary{suffix}?{query}", headers=admin)
        assert answer.status_code == 422
        assert words in answer.json()["detail"]
    db.rollback()
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "export")) is None
