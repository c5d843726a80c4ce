"""Retention: calls and texts older than RETENTION_DAYS are purged, audited, at most daily;
their voice messages are deleted at Twilio (the local stand-in) first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from app import cli_support as cli_module
from app.cli import cli
from app.line import Line
from app.models import AttentionItem, AuditEntry, Call, Lockout, Message
from app.retention import purge, purge_if_due
from app.worker import run_once
from tests.conftest import AUTH_TOKEN, NOW
from tests.fake_twilio import Failure
from tests.helpers import audit_log, fresh

YEAR = timedelta(days=365)


def _call(db, sid: str, started_at, client_id=None) -> Call:
    call = Call(
        call_sid=sid,
        client_id=client_id,
        route="coaching",
        outcome="bridged",
        started_at=started_at,
    )
    db.add(call)
    db.flush()
    return call


def _text(db, body: str, created_at, **kw) -> Message:
    message = Message(
        direction="inbound",
        kind="inbound",
        body=body,
        status="received",
        created_at=created_at,
        **kw,
    )
    db.add(message)
    db.flush()
    return message


def _seed(db, people) -> dict[str, int]:
    """Two old calls and three old texts (one of them replying to an old text, one tied to a
    recent call), beside recent ones and a lockout older than a year."""
    riley = people["riley"]
    old_call = _call(db, "CA-old-1", NOW - YEAR - timedelta(days=3), riley)
    _call(db, "CA-old-2", NOW - YEAR - timedelta(minutes=1))
    recent_call = _call(db, "CA-recent", NOW - YEAR + timedelta(minutes=1), riley)
    old_text = _text(db, "old", NOW - YEAR - timedelta(days=1), client_id=riley)
    _text(db, "old reply", NOW - YEAR - timedelta(hours=1), reply_to_id=old_text.id)
    _text(db, "old, on an old call", NOW - YEAR - timedelta(days=3), call_id=old_call.id)
    recent_reply = _text(db, "recent reply to an old text", NOW, reply_to_id=old_text.id)
    recent_on_old_call = _text(db, "recent on an old call", NOW, call_id=old_call.id)
    _text(db, "recent, on a recent call", NOW - timedelta(days=2), call_id=recent_call.id)
    lockout = Lockout(
        client_id=riley,
        starts_at=NOW - 2 * YEAR,
        ends_at=NOW - 2 * YEAR + timedelta(hours=24),
        created_by="cli:test",
        created_at=NOW - 2 * YEAR,
    )
    db.add(lockout)
    db.commit()
    return {
        "recent_call": recent_call.id,
        "recent_reply": recent_reply.id,
        "recent_on_old_call": recent_on_old_call.id,
        "lockout": lockout.id,
    }


def _purges(db) -> list[AuditEntry]:
    return [e for e in audit_log(db, entity="records") if e.action == "purge"]


def test_old_calls_and_texts_go_recent_ones_stay_and_the_purge_is_audited(line, db, people):
    ids = _seed(db, people)
    done = purge(line)
    before = (NOW - YEAR).isoformat()
    assert done == {"calls": 2, "messages": 3, "before": before}

    db.expire_all()
    assert db.scalars(select(Call.call_sid)).all() == ["CA-recent"]
    bodies = sorted(db.scalars(select(Message.body)))
    assert bodies == [
        "recent on an old call",
        "recent reply to an old text",
        "recent, on a recent call",
    ]
    # What pointed at a purged row is kept, no longer pointing at it.
    assert db.get(Message, ids["recent_reply"]).reply_to_id is None
    assert db.get(Message, ids["recent_on_old_call"]).call_id is None
    assert db.get(Lockout, ids["lockout"]) is not None

    (entry,) = _purges(db)
    assert (entry.actor, entry.action, entry.entity, entry.entity_id) == (
        "system:retention",
        "purge",
        "records",
        None,
    )
    assert entry.changes == {"calls": 2, "messages": 3, "before": before}
    assert entry.at == NOW


def test_nothing_old_enough_writes_nothing(line, db, people):
    _call(db, "CA-recent", NOW - YEAR + timedelta(seconds=1))
    _text(db, "recent", NOW - timedelta(days=30))
    db.commit()
    audit_before = db.scalar(select(func.count()).select_from(AuditEntry))
    assert purge(line) == {}
    assert purge_if_due(line) == {}
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Call)) == 1
    assert db.scalar(select(func.count()).select_from(Message)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_retention_days_is_a_setting(line, db, people):
    _call(db, "CA-40-days", NOW - timedelta(days=40))
    _call(db, "CA-20-days", NOW - timedelta(days=20))
    db.commit()
    assert line.settings.retention_days == 365
    assert purge(line) == {}
    line.settings = line.settings.model_copy(update={"retention_days": 30})
    assert purge(line)["calls"] == 1
    db.expire_all()
    assert db.scalars(select(Call.call_sid)).all() == ["CA-20-days"]


def test_the_worker_purges_at_most_once_a_day_even_across_a_restart(line, db, people):
    clock = {"now": NOW}
    line.clock = lambda: clock["now"]
    _call(db, "CA-old", NOW - YEAR - timedelta(days=1))
    db.commit()

    run_once(line)
    assert len(_purges(db)) == 1
    assert db.scalar(select(func.count()).select_from(Call)) == 0

    # More becomes old an hour later: a second pass, and a new Line (a restart, or another
    # instance), both leave it for tomorrow.
    clock["now"] = NOW + timedelta(hours=1)
    _call(db, "CA-old-later", NOW - YEAR - timedelta(minutes=30))
    db.commit()
    run_once(line)
    restarted = Line(line.settings, clock=lambda: NOW + timedelta(hours=23, minutes=59))
    run_once(restarted)
    assert len(_purges(db)) == 1
    assert db.scalar(select(func.count()).select_from(Call)) == 1

    # A day after the last purge, it runs again.
    restarted.clock = lambda: NOW + timedelta(hours=24)
    run_once(restarted)
    purges = _purges(db)
    assert len(purges) == 2
    assert purges[1].changes["calls"] == 1
    assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_a_failing_purge_is_logged_and_delivery_still_runs(line, monkeypatch, caplog):
    import app.worker

    def broken(_line):
        raise RuntimeError("database down")

    monkeypatch.setattr(app.worker, "purge_if_due", broken)
    monkeypatch.setattr(app.worker, "deliver_due", lambda _line: {"sent": 1})
    assert run_once(line) == {"sent": 1}
    assert "retention pass failed" in caplog.text


def test_the_purge_command(monkeypatch, line, db, people):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    runner = CliRunner()
    empty = runner.invoke(cli, ["purge"])
    assert empty.exit_code == 0, empty.output
    assert "Nothing older than 365 days." in empty.stdout

    _seed(db, people)
    result = runner.invoke(cli, ["purge"])
    assert result.exit_code == 0, result.output
    assert f"Purged 2 calls and 3 texts from before {(NOW - YEAR).isoformat()}." in result.stdout
    assert len(_purges(db)) == 1


# ---- voice messages at Twilio, and attention items ---------------------------------------------


def _message_call(db, sid: str, started_at, recording_sid: str) -> Call:
    call = _call(db, sid, started_at)
    call.recording_sid, call.voice_message_seconds = recording_sid, 30
    call.recording_url = (
        f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{recording_sid}"
    )
    db.commit()
    return call


def _deletes(fake_twilio) -> list[str]:
    return [r.path for r in fake_twilio.recording_requests if r.method == "DELETE"]


def test_an_old_voice_message_is_deleted_at_twilio_with_its_call(line, db, people, fake_twilio):
    fake_twilio.auth_token = AUTH_TOKEN
    account = line.settings.twilio_account_sid
    old = fake_twilio.add_recording(account)
    recent = fake_twilio.add_recording(account)
    _message_call(db, "CA-old", NOW - YEAR - timedelta(days=1), old)
    _message_call(db, "CA-recent", NOW - timedelta(days=1), recent)
    done = purge(line)
    assert done == {"calls": 1, "messages": 0, "before": (NOW - YEAR).isoformat(), "recordings": 1}
    assert _deletes(fake_twilio) == [f"/2010-04-01/Accounts/{account}/Recordings/{old}.json"]
    assert list(fake_twilio.recordings) == [recent]
    db.expire_all()
    assert db.scalars(select(Call.call_sid)).all() == ["CA-recent"]


def test_a_recording_twilio_no_longer_has_counts_as_gone(line, db, people, fake_twilio):
    _message_call(db, "CA-old", NOW - YEAR - timedelta(days=1), "RE" + "d" * 32)
    assert purge(line)["recordings"] == 1  # Twilio answered 404
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_a_recording_twilio_could_not_delete_keeps_its_call_for_the_next_purge(
    line, db, people, fake_twilio
):
    account = line.settings.twilio_account_sid
    first = fake_twilio.add_recording(account)
    second = fake_twilio.add_recording(account)
    _message_call(db, "CA-old-1", NOW - YEAR - timedelta(days=2), first)
    _message_call(db, "CA-old-2", NOW - YEAR - timedelta(days=1), second)
    _call(db, "CA-old-plain", NOW - YEAR - timedelta(days=1))
    db.commit()
    fake_twilio.fail_next(Failure(503, method="DELETE"))

    done = purge(line)
    # The first refusal ends the purge's deletes at Twilio: one request, not one a recording.
    assert len(_deletes(fake_twilio)) == 1
    assert (done["calls"], done["calls_kept_for_recordings"]) == (1, 2)
    assert "recordings" not in done
    db.expire_all()
    kept = {c.call_sid: c.recording_sid for c in db.scalars(select(Call))}
    assert kept == {"CA-old-1": first, "CA-old-2": second}

    # Twilio answers again: the next purge deletes both, and then their calls.
    again = purge(line)
    assert (again["calls"], again["recordings"]) == (2, 2)
    assert "calls_kept_for_recordings" not in again
    assert fake_twilio.recordings == {}
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_without_twilio_credentials_a_call_with_a_recording_is_kept(line, db, people, fake_twilio):
    line.settings = line.settings.model_copy(update={"twilio_auth_token": ""})
    sid = fake_twilio.add_recording(line.settings.twilio_account_sid)
    _message_call(db, "CA-old", NOW - YEAR - timedelta(days=1), sid)
    assert purge(line) == {}
    assert fake_twilio.recording_requests == []
    db.expire_all()
    assert db.scalar(select(Call.recording_sid)) == sid


def test_the_purge_deletes_old_handled_attention_items_and_unlinks_open_ones(line, db, people):
    riley = people["riley"]
    old_call = _call(db, "CA-old", NOW - YEAR - timedelta(days=3), riley)
    old_text = _text(db, "call me", NOW - YEAR - timedelta(days=3), client_id=riley)

    def item(kind: str, acknowledged_at=None, **kw) -> int:
        row = AttentionItem(
            kind=kind,
            client_id=riley,
            therapist_id=people["dana"],
            created_at=NOW - YEAR - timedelta(days=3),
            acknowledged_at=acknowledged_at,
            acknowledged_by="dana@example.org" if acknowledged_at else None,
            escalations=0,
            **kw,
        )
        db.add(row)
        db.flush()
        return row.id

    handled_long_ago = item("missed_call", NOW - YEAR - timedelta(days=2), call_id=old_call.id)
    handled_lately = item("contact_plea", NOW - timedelta(days=2), message_id=old_text.id)
    still_open = item("voice_message", call_id=old_call.id)
    db.commit()

    done = purge(line)
    assert (done["calls"], done["messages"], done["attention_items"]) == (1, 1, 1)
    assert fresh(db, AttentionItem, handled_long_ago) is None
    lately = fresh(db, AttentionItem, handled_lately)
    assert lately is not None and lately.message_id is None
    open_item = fresh(db, AttentionItem, still_open)
    assert open_item is not None and open_item.call_id is None
    assert open_item.acknowledged_at is None
