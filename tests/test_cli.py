"""`coachline`, the command line: what a user sees, and the rows it saves.

Most tests run the commands against the test database through the `line` fixture (its clock
pinned at NOW); the first ones go through DATABASE_URL as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import cli_support as cli_module
from app.cli import cli
from app.models import AuditEntry, Client, Lockout, Therapist, User
from tests.conftest import NOW
from tests.helpers import audit_log, fresh

runner = CliRunner()


@pytest.fixture
def use_line(monkeypatch, line):
    """Commands act on the test database, at the pinned instant."""
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    return line


def run(*args: str):
    return runner.invoke(cli, list(args))


# ---- through the environment, as a user runs it -------------------------------------------


def test_migrate_then_add_a_therapist_on_the_database_url_of_the_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.chdir(tmp_path)  # alembic.ini is found beside the package, not in the cwd
    monkeypatch.setenv("DATABASE_URL", url)

    migrated = run("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "latest schema" in migrated.stdout
    engine = create_engine(url)
    assert {"therapists", "clients", "lockouts", "audit_log"} <= set(
        inspect(engine).get_table_names()
    )

    added = run("add-therapist", "Ines Kowalczyk", "(314) 555-0160")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "Added therapist 1: Ines Kowalczyk, +13145550160."
    with Session(engine) as session:
        therapist = session.scalars(select(Therapist)).one()
        assert (therapist.name, therapist.phone) == ("Ines Kowalczyk", "+13145550160")
        entry = session.scalars(select(AuditEntry)).one()
        assert entry.actor.startswith("cli:")
    engine.dispose()


def test_a_database_without_tables_says_to_migrate(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run("locked-out")
    assert result.exit_code == 1
    assert "coachline migrate" in result.stderr


def test_bad_settings_are_reported_plainly(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRACTICE_TIMEZONE", "America/Atlantis")
    result = run("locked-out")
    assert result.exit_code == 1
    assert "bad settings: PRACTICE_TIMEZONE: " in result.stderr
    assert "Value error" not in result.stderr


def test_an_unusable_database_url_is_reported_plainly(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "nosuchdb://somewhere/x")
    for command in (["migrate"], ["locked-out"]):
        result = run(*command)
        assert result.exit_code == 1, command
        assert "DATABASE_URL is not a database" in result.stderr


def test_serve_runs_uvicorn_on_the_app_with_the_port_from_the_environment(monkeypatch):
    seen = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("PORT", "8123")
    assert run("serve").exit_code == 0
    assert seen == {"app": "app.main:app", "host": "127.0.0.1", "port": 8123}
    monkeypatch.delenv("PORT")
    assert run("serve", "--host", "0.0.0.0").exit_code == 0
    assert (seen["host"], seen["port"]) == ("0.0.0.0", 8000)


def test_the_console_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("create-user", "serve", "migrate", "record-lockout", "locked-out"):
        assert command in result.stdout


# ---- users --------------------------------------------------------------------------------


def test_create_user_prints_a_working_token_as_its_last_line(use_line, http, db, people):
    result = run("create-user", "Admin2@Example.org", "--role", "admin")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("cl_")
    assert "admin2@example.org" in result.stdout

    response = http.get("/api/clients", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    db.rollback()
    user = db.scalars(select(User).where(User.email == "admin2@example.org")).one()
    assert user.role == "admin"
    assert token not in str([t.token_hash for t in user.tokens])


def test_a_therapist_user_acts_as_their_therapist(use_line, http, db, people):
    dana = str(people["dana"])
    result = run("create-user", "dana@example.org", "--role", "therapist", "--therapist-id", dana)
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {result.stdout.strip().splitlines()[-1]}"}
    assert http.get("/api/clients", headers=headers).status_code == 403
    riley_lockouts = http.get(f"/api/clients/{people['riley']}/lockouts", headers=headers)
    assert riley_lockouts.status_code == 200
    db.rollback()
    user = db.scalars(select(User).where(User.email == "dana@example.org")).one()
    assert (user.role, user.therapist_id) == ("therapist", people["dana"])


def _therapist_user(db, people, email: str = "dana@example.org") -> tuple[User, str]:
    from app.users import issue_token

    user = User(email=email, role="therapist", therapist_id=people["dana"])
    db.add(user)
    token = issue_token(db, user)
    db.commit()
    return user, token


def test_disable_user_revokes_their_tokens_and_enable_user_lets_them_back(
    use_line, http, admin, db, people
):
    user, token = _therapist_user(db, people)
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get("/api/attention", headers=headers).status_code == 200

    disabled = run("disable-user", "Dana@Example.org", "--reason", "left the practice")
    assert disabled.exit_code == 0, disabled.output
    assert disabled.stdout.strip() == (
        "Disabled dana@example.org: signed out everywhere, 1 API token revoked."
    )
    assert http.get("/api/attention", headers=headers).status_code == 401
    [entry] = [e for e in audit_log(db, "user", user.id) if e.action == "disable"]
    assert entry.actor.startswith("cli:") and entry.reason == "left the practice"
    again = run("disable-user", "dana@example.org")
    assert again.exit_code == 1 and "already disabled" in again.stderr

    enabled = run("enable-user", "dana@example.org")
    assert enabled.exit_code == 0, enabled.output
    assert "Enabled dana@example.org" in enabled.stdout
    assert fresh(db, User, user.id).disabled_at is None
    assert http.get("/api/attention", headers=headers).status_code == 401  # stays revoked
    fresh_token = run("new-token", "dana@example.org")
    assert fresh_token.exit_code == 0, fresh_token.output
    new_headers = {"Authorization": f"Bearer {fresh_token.stdout.strip().splitlines()[-1]}"}
    assert http.get("/api/attention", headers=new_headers).status_code == 200


def test_the_last_admin_is_not_disabled(use_line, admin, db):
    result = run("disable-user", "admin@example.org")
    assert result.exit_code == 1 and "only enabled admin" in result.stderr
    assert db.scalars(select(User)).one().disabled_at is None


def test_revoke_token_by_id_or_every_token_of_a_user(use_line, http, admin, db, people):
    from app.models import ApiToken
    from app.users import issue_token

    user, first = _therapist_user(db, people)
    second = issue_token(db, db.get(User, user.id))
    db.commit()
    first_id = db.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id)).first()

    one = run("revoke-token", str(first_id))
    assert one.exit_code == 0, one.output
    assert one.stdout.strip() == f"Revoked API token {first_id} of dana@example.org."
    assert (
        http.get("/api/attention", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    )
    assert (
        http.get("/api/attention", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    )
    twice = run("revoke-token", str(first_id))
    assert twice.exit_code == 1 and "already revoked" in twice.stderr

    every = run("revoke-token", "dana@example.org")
    assert every.exit_code == 0, every.output
    assert every.stdout.strip() == "Revoked 1 API token of dana@example.org."
    assert (
        http.get("/api/attention", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    )
    assert [e.action for e in audit_log(db, "user", user.id)] == ["revoke_tokens", "revoke_tokens"]
    for bad, message in (
        ("nobody@example.org", "no user"),
        ("999", "no API token"),
        ("x", "a number"),
    ):
        result = run("revoke-token", bad)
        assert result.exit_code == 1 and message in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["dana@example.org", "--role", "therapist"], "needs --therapist-id"),
        (["dana@example.org", "--role", "therapist", "--therapist-id", "99"], "unknown therapist"),
        (["not-an-email", "--role", "admin"], "not a valid email"),
        (["x" * 190 + "@example.org", "--role", "admin"], "longer than 200"),
        (["admin@example.org", "--role", "admin"], "already exists"),
    ],
)
def test_create_user_refusals(use_line, admin, db, people, args, message):
    result = run("create-user", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    db.rollback()
    assert [u.email for u in db.scalars(select(User))] == ["admin@example.org"]


def test_create_user_rejects_an_unknown_role(use_line):
    result = run("create-user", "x@example.org", "--role", "owner")
    assert result.exit_code == 2


# ---- therapists and clients ---------------------------------------------------------------


def test_add_therapist_refuses_a_bad_or_taken_phone(use_line, db, people):
    bad = run("add-therapist", "Ines Kowalczyk", "555-0160")
    assert bad.exit_code == 1
    assert "error: phone is not a valid phone number" in bad.stderr
    taken = run("add-therapist", "Ines Kowalczyk", "314.555.0142")  # Riley's
    assert taken.exit_code == 1
    assert "already belongs to a client" in taken.stderr
    blank = run("add-therapist", "  ", "314.555.0160")
    assert blank.exit_code == 1
    db.rollback()
    assert len(db.scalars(select(Therapist)).all()) == 2


def test_add_client_with_the_rule_waived(use_line, db, people):
    result = run(
        "add-client", "Ari Lund", "314.555.0151", "--therapist-id", str(people["marcus"]),
        "--no-lockout-rule",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the 24-hour rule is waived" in result.stdout
    db.rollback()
    client = db.scalars(select(Client).where(Client.phone == "+13145550151")).one()
    assert (client.name, client.therapist_id, client.lockout_rule_applies) == (
        "Ari Lund",
        people["marcus"],
        False,
    )
    [entry] = audit_log(db, "client", client.id)
    assert entry.action == "create"
    assert entry.actor.startswith("cli:")


def test_add_client_applies_the_rule_by_default_and_refuses_an_unknown_therapist(use_line, db):
    from app import therapists

    therapist = therapists.create_therapist(db, "t", NOW, name="Dana", phone="314 555 0111")
    db.commit()
    ok = run("add-client", "Sam Okafor", "(314) 555-0150", "--therapist-id", str(therapist.id))
    assert ok.exit_code == 0
    assert "the 24-hour rule applies" in ok.stdout
    unknown = run("add-client", "Lee Park", "314.555.0153", "--therapist-id", "77")
    assert unknown.exit_code == 1
    assert "unknown therapist 77" in unknown.stderr
    db.rollback()
    assert [c.phone for c in db.scalars(select(Client))] == ["+13145550150"]


# ---- lockouts -----------------------------------------------------------------------------


def test_record_a_lockout_now_shows_its_end_in_the_practice_time_zone(use_line, db, people):
    result = run("record-lockout", str(people["riley"]), "--note", "reported by phone")
    assert result.exit_code == 0, result.output
    # NOW is Friday 21:42 in St. Louis.
    assert "from Fri 2026-11-27 21:42 CST until Sat 2026-11-28 21:42 CST" in result.stdout
    db.rollback()
    lockout = db.scalars(select(Lockout)).one()
    assert (lockout.starts_at, lockout.ends_at) == (NOW, NOW + timedelta(hours=24))
    assert lockout.note == "reported by phone"
    assert lockout.created_by.startswith("cli:")


def test_record_a_lockout_at_a_given_instant(use_line, db, people):
    result = run("record-lockout", str(people["riley"]), "--at", "2026-11-27T18:00:00-06:00")
    assert result.exit_code == 0, result.output
    assert "until Sat 2026-11-28 18:00 CST" in result.stdout
    db.rollback()
    assert db.scalars(select(Lockout)).one().starts_at == datetime.fromisoformat(
        "2026-11-28T00:00:00+00:00"
    )


@pytest.mark.parametrize(
    "at, starts",
    [
        # NOW is Fri 2026-11-27 21:42 in St. Louis (CST, -06:00).
        ("2026-11-27 18:00", "2026-11-27T18:00-06:00"),  # the practice's wall clock
        ("2026-11-27T18:00", "2026-11-27T18:00-06:00"),
        ("9:30pm", "2026-11-27T21:30-06:00"),  # the most recent 9:30 pm: tonight
        ("21:30", "2026-11-27T21:30-06:00"),
        ("10pm", "2026-11-26T22:00-06:00"),  # tonight's is ahead: last night's
        ("yesterday 9pm", "2026-11-26T21:00-06:00"),
        ("2026-11-27T18:00:00-08:00", "2026-11-27T20:00-06:00"),  # an offset is an instant
        ("2026-11-28T02:00Z", "2026-11-27T20:00-06:00"),
    ],
)
def test_at_is_read_in_the_practice_time_zone(use_line, db, people, at, starts):
    result = run("record-lockout", str(people["riley"]), "--at", at)
    assert result.exit_code == 0, result.output
    starts_at = datetime.fromisoformat(starts)
    db.rollback()
    assert db.scalars(select(Lockout)).one().starts_at == starts_at
    assert f"from {starts_at:%a %Y-%m-%d %H:%M} CST" in result.stdout


def test_at_follows_the_practice_time_zone_of_the_settings(use_line, monkeypatch, db, people):
    settings = use_line.settings.model_copy(update={"practice_timezone": "America/New_York"})
    monkeypatch.setattr(use_line, "settings", settings)
    result = run("record-lockout", str(people["riley"]), "--at", "2026-11-27 18:00")
    assert result.exit_code == 0, result.output
    assert "from Fri 2026-11-27 18:00 EST until Sat 2026-11-28 18:00 EST" in result.stdout
    db.rollback()
    assert db.scalars(select(Lockout)).one().starts_at == datetime.fromisoformat(
        "2026-11-27T23:00:00+00:00"
    )


@pytest.mark.parametrize(
    "at, message",
    [
        ("last night", "--at 'last night' is not a time we can read: write 2026-11-27 09:00"),
        ("2026-11-27", "--at '2026-11-27' is a day without a time: add one"),
        ("25:00", "is not a time we can read"),
        ("2026-02-30 10:00", "2026-02-30 is not a day of the calendar"),
        (
            "2026-11-28T18:00:00-06:00",
            "--at Sat 2026-11-28 18:00 CST is in the future (it is Fri 2026-11-27 21:42 CST now)",
        ),
        ("2026-11-28 09:00", "--at Sat 2026-11-28 09:00 CST is in the future"),
        ("tomorrow 9am", "is in the future"),
        (
            "2026-11-01 01:30",
            "2026-11-01 01:30 happened twice in America/Chicago (the clocks went back an "
            "hour): add the offset, 2026-11-01 01:30-05:00 for the first (CDT) or "
            "2026-11-01 01:30-06:00 for the second (CST)",
        ),
        ("2026-03-08 02:30", "2026-03-08 02:30 did not happen in America/Chicago"),
    ],
)
def test_record_lockout_refusals(use_line, db, people, at, message):
    result = run("record-lockout", str(people["riley"]), "--at", at)
    assert result.exit_code == 1
    assert message in result.stderr
    db.rollback()
    assert db.scalars(select(Lockout)).all() == []


def test_record_lockout_for_an_unknown_client(use_line, people):
    result = run("record-lockout", "4242")
    assert result.exit_code == 1
    assert "client 4242 not found" in result.stderr
    zero = run("record-lockout", "0")
    assert zero.exit_code == 2
    assert "0 is not an id: ids are whole numbers from 1" in zero.stderr


def test_lift_a_lockout_with_a_reason(use_line, db, people):
    run("record-lockout", str(people["riley"]))
    db.rollback()
    lockout_id = db.scalars(select(Lockout.id)).one()

    missing = run("lift-lockout", str(lockout_id))
    assert missing.exit_code == 2  # --reason is required
    blank = run("lift-lockout", str(lockout_id), "--reason", "  ")
    assert blank.exit_code == 1
    assert "reason is required" in blank.stderr

    lifted = run("lift-lockout", str(lockout_id), "--reason", "entered for the wrong client")
    assert lifted.exit_code == 0, lifted.output
    assert lifted.stdout.splitlines() == [
        f"Lifted lockout {lockout_id} for Riley Tran (client {people['riley']}).",
        "Riley Tran can reach coaching.",
    ]
    row = fresh(db, Lockout, lockout_id)
    assert (row.lifted_at, row.lift_reason) == (NOW, "entered for the wrong client")
    assert row.lifted_by.startswith("cli:")
    [*_, entry] = audit_log(db, "lockout", lockout_id)
    assert (entry.action, entry.reason) == ("lift", "entered for the wrong client")

    again = run("lift-lockout", str(lockout_id), "--reason", "again")
    assert again.exit_code == 1
    assert "already lifted" in again.stderr
    unknown = run("lift-lockout", "4242", "--reason", "x")
    assert unknown.exit_code == 1
    assert "lockout 4242 not found" in unknown.stderr


def test_locked_out_lists_who_is_locked_out_now(use_line, db, people):
    assert run("locked-out").stdout.strip() == "Nobody is locked out now."
    run("record-lockout", str(people["riley"]), "--at", "2026-11-27T20:00:00-06:00")
    run("record-lockout", str(people["jordan"]), "--at", "2026-11-26T20:00:00-06:00")  # ended
    result = run("locked-out")
    assert result.exit_code == 0
    riley_lockout = db.scalars(select(Lockout.id).where(Lockout.client_id == people["riley"]))
    assert result.stdout.splitlines() == [
        "Locked out now (times in America/Chicago):",
        f"  client {people['riley']}  Riley Tran  until Sat 2026-11-28 20:00 CST  "
        f"(lockout {riley_lockout.one()})",
    ]


def test_locked_out_counts_24_hours_as_an_instant_across_the_dst_change(use_line, people):
    line = use_line
    line.clock = lambda: datetime.fromisoformat("2026-11-01T12:00:00-06:00")
    recorded = run("record-lockout", str(people["riley"]), "--at", "2026-11-01T01:30:00-05:00")
    assert "from Sun 2026-11-01 01:30 CDT until Mon 2026-11-02 00:30 CST" in recorded.stdout

    line.clock = lambda: datetime.fromisoformat("2026-11-02T00:29:00-06:00")
    assert "until Mon 2026-11-02 00:30 CST" in run("locked-out").stdout
    line.clock = lambda: datetime.fromisoformat("2026-11-02T00:30:00-06:00")
    assert run("locked-out").stdout.strip() == "Nobody is locked out now."


def test_a_lifted_lockout_is_not_listed(use_line, db, people):
    run("record-lockout", str(people["riley"]))
    db.rollback()
    lockout_id = db.scalars(select(Lockout.id)).one()
    run("lift-lockout", str(lockout_id), "--reason", "mistake")
    assert run("locked-out").stdout.strip() == "Nobody is locked out now."


def test_worker_once_escalates_and_delivers_what_is_due(use_line, fake_twilio, db, people):
    from app.models import Message

    db.add(
        Message(
            direction="outbound",
            kind="notification",
            to_phone="+13145550111",
            from_phone="+13145550100",
            body="Missed coaching call from Riley.",
            status="queued",
            attempts=0,
            next_attempt_at=NOW,
        )
    )
    db.commit()
    result = run("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "delivered: {'sent': 1}" in result.stdout
    assert [m.form["Body"] for m in fake_twilio.messages] == ["Missed coaching call from Riley."]


def test_set_away_and_back(use_line, db, people):
    away = run("set-away", str(people["dana"]), "--until", "2026-11-30 09:00")
    assert away.exit_code == 0, away.output
    assert away.stdout.strip() == (
        f"Therapist {people['dana']} (Dana Whitfield) is away until Mon 2026-11-30 09:00 CST."
    )
    db.expire_all()
    assert db.get(Therapist, people["dana"]).away_until == datetime.fromisoformat(
        "2026-11-30T15:00:00+00:00"
    )
    back = run("set-away", str(people["dana"]), "--back")
    assert back.exit_code == 0 and "available" in back.stdout
    db.expire_all()
    assert db.get(Therapist, people["dana"]).away_until is None
    assert run("set-away", str(people["dana"])).exit_code == 1
    # A time of day alone is the next one; a time that has passed is refused.
    tomorrow = run("set-away", str(people["dana"]), "--until", "9am")
    assert "is away until Sat 2026-11-28 09:00 CST." in tomorrow.stdout
    passed = run("set-away", str(people["dana"]), "--until", "2026-11-27 09:00")
    assert passed.exit_code == 1
    assert "--until Fri 2026-11-27 09:00 CST has passed (it is Fri" in passed.stderr


def test_set_hours(use_line, db, people):
    done = run("set-hours", str(people["dana"]), "0 09:00-17:00", "4 20:00-02:00")
    assert done.exit_code == 0, done.output
    assert "0 09:00-17:00, 4 20:00-02:00" in done.stdout
    db.expire_all()
    assert [(h.weekday, str(h.start)) for h in db.get(Therapist, people["dana"]).hours] == [
        (0, "09:00:00"),
        (4, "20:00:00"),
    ]
    assert run("set-hours", str(people["dana"]), "Monday 9-5").exit_code == 1
