"""`coachline` and the 24-hour rule when lockouts meet: a second event while a client is
locked out, an event whose 24 hours are over, lifting one of two, and `coachline lockouts`.

NOW is Fri 2026-11-27 21:42 in St. Louis (CST)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app import cli_support
from app.cli import cli
from app.models import Client, Lockout
from tests.conftest import NOW
from tests.helpers import fresh

runner = CliRunner()


@pytest.fixture
def use_line(monkeypatch, line):
    monkeypatch.setattr(cli_support, "build_line", lambda: line)
    return line


def run(*args: str, columns: int = 120):
    return runner.invoke(cli, list(args), env={"COLUMNS": str(columns)})


def _record(client_id: int, at: str):
    result = run("record-lockout", str(client_id), "--at", at)
    assert result.exit_code == 0, result.output
    return result


def _cells(output: str) -> list[list[str]]:
    """A printed table's lines, split into cells (two spaces or more apart)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def _lockouts(db, client_id: int) -> list[Lockout]:
    db.rollback()
    stmt = select(Lockout).where(Lockout.client_id == client_id).order_by(Lockout.id)
    return list(db.scalars(stmt))


def test_a_later_event_extends_the_lockout_and_says_so(use_line, db, people):
    riley = people["riley"]
    _record(riley, "2026-11-27 12:00")
    [first] = _lockouts(db, riley)

    second = _record(riley, "2026-11-27 20:00")
    first_row, second_row = _lockouts(db, riley)
    assert first_row.id == first.id
    assert second.stdout.splitlines() == [
        f"Recorded lockout {second_row.id} for Riley Tran (client {riley}), "
        "from Fri 2026-11-27 20:00 CST until Sat 2026-11-28 20:00 CST.",
        f"They were already locked out until Sat 2026-11-28 12:00 CST by lockout {first.id}; "
        "the later end wins: they are now locked out until Sat 2026-11-28 20:00 CST.",
    ]
    # Each event keeps its own 24 hours; the later end is the one that counts.
    assert (first_row.ends_at, second_row.ends_at) == (
        first_row.starts_at + timedelta(hours=24),
        second_row.starts_at + timedelta(hours=24),
    )
    assert "until Sat 2026-11-28 20:00 CST" in run("locked-out").stdout


def test_an_earlier_event_inside_a_lockout_changes_nothing_and_says_so(use_line, db, people):
    riley = people["riley"]
    _record(riley, "2026-11-27 20:00")
    earlier = _record(riley, "2026-11-27 12:00")
    later_row, earlier_row = _lockouts(db, riley)
    assert earlier.stdout.splitlines()[1] == (
        f"They were already locked out until Sat 2026-11-28 20:00 CST by lockout {later_row.id},"
        " which is later: that is still when they can reach coaching again."
    )
    assert earlier_row.starts_at == NOW - timedelta(hours=9, minutes=42)
    assert "until Sat 2026-11-28 20:00 CST" in run("locked-out").stdout


def test_an_event_over_24_hours_ago_is_recorded_and_said_to_have_expired(use_line, db, people):
    riley = people["riley"]
    old = _record(riley, "2026-11-25 09:00")
    [row] = _lockouts(db, riley)
    assert old.stdout.splitlines() == [
        f"Recorded lockout {row.id} for Riley Tran (client {riley}), "
        "from Wed 2026-11-25 09:00 CST until Thu 2026-11-26 09:00 CST.",
        "Its 24 hours were already over: it has expired. They can reach coaching.",
    ]
    assert run("locked-out").stdout.strip() == "Nobody is locked out now."

    # An expired event while another lockout holds them says which one.
    _record(riley, "2026-11-27 20:00")
    older = _record(riley, "2026-11-24 09:00")
    holding = _lockouts(db, riley)[1]
    assert older.stdout.splitlines()[1] == (
        "Its 24 hours were already over: it has expired. They are still locked out until "
        f"Sat 2026-11-28 20:00 CST by lockout {holding.id}."
    )


def test_lifting_one_of_two_says_the_client_is_still_locked_out_and_by_which(use_line, db, people):
    riley = people["riley"]
    _record(riley, "2026-11-27 12:00")
    _record(riley, "2026-11-27 20:00")
    first, second = _lockouts(db, riley)
    listed = run("locked-out")
    assert f"(lockouts {second.id}, {first.id})" in listed.stdout

    lifted = run("lift-lockout", str(second.id), "--reason", "entered twice")
    assert lifted.exit_code == 0, lifted.output
    assert lifted.stdout.splitlines() == [
        f"Lifted lockout {second.id} for Riley Tran (client {riley}).",
        f"Riley Tran is still locked out until Sat 2026-11-28 12:00 CST by lockout {first.id} "
        f"(`coachline lift-lockout {first.id} --reason ...` lifts it too).",
    ]
    assert fresh(db, Lockout, second.id).lift_reason == "entered twice"
    assert fresh(db, Lockout, first.id).lifted_at is None

    last = run("lift-lockout", str(first.id), "--reason", "entered for the wrong client")
    assert last.stdout.splitlines()[-1] == "Riley Tran can reach coaching."


def test_lifting_a_lockout_that_had_ended_says_so(use_line, db, people):
    _record(people["riley"], "2026-11-25 09:00")
    [row] = _lockouts(db, people["riley"])
    lifted = run("lift-lockout", str(row.id), "--reason", "wrong client")
    assert lifted.exit_code == 0, lifted.output
    assert "It had already ended, Thu 2026-11-26 09:00 CST." in lifted.stdout


def test_the_lockouts_list_shows_ids_clients_times_and_states(use_line, db, people):
    riley, jordan = people["riley"], people["jordan"]
    assert run("lockouts").stdout.strip() == "No lockouts recorded."
    _record(riley, "2026-11-27 12:00")
    _record(jordan, "2026-11-25 09:00")  # ended
    _record(riley, "2026-11-27 20:00")
    [lifted_id, in_force_id] = [lo.id for lo in _lockouts(db, riley)]
    [ended_id] = [lo.id for lo in _lockouts(db, jordan)]
    run("lift-lockout", str(lifted_id), "--reason", "entered twice")

    listed = run("lockouts")
    assert listed.exit_code == 0, listed.output
    title, headers, *rows = _cells(listed.stdout)
    assert title == ["Lockouts (times in America/Chicago):"]
    assert headers == ["Id", "Client (id)", "Event", "Until", "State"]
    assert rows == [  # the latest event first
        [
            str(in_force_id),
            f"Riley Tran ({riley})",
            "Fri 2026-11-27 20:00",
            "Sat 2026-11-28 20:00",
            "in force",
        ],
        [
            str(lifted_id),
            f"Riley Tran ({riley})",
            "Fri 2026-11-27 12:00",
            "Sat 2026-11-28 12:00",
            "lifted",
        ],
        [
            str(ended_id),
            f"Jordan Pike ({jordan})",
            "Wed 2026-11-25 09:00",
            "Thu 2026-11-26 09:00",
            "ended",
        ],
    ]

    active = run("lockouts", "--active").stdout
    assert [line.split()[0] for line in active.splitlines()[2:]] == [str(in_force_id)]
    jordans = run("lockouts", "--client-id", str(jordan)).stdout
    assert [line.split()[0] for line in jordans.splitlines()[2:]] == [str(ended_id)]
    one = run("lockouts", "--last", "1").stdout.splitlines()
    assert [line.split()[0] for line in one[2:-1]] == [str(in_force_id)]
    assert one[-1] == (
        "Only the latest 1 are shown: --last N shows more, and --client-id ID one client's."
    )


def test_a_waived_rule_shows_in_the_list_and_is_not_in_force(use_line, db, people):
    riley = people["riley"]
    _record(riley, "2026-11-27 20:00")
    db.get(Client, riley).lockout_rule_applies = False
    db.commit()
    assert "rule waived for them" in run("lockouts").stdout
    assert run("lockouts", "--active").stdout.strip() == "No lockouts in force now."
    assert run("locked-out").stdout.strip() == "Nobody is locked out now."


def test_the_lockouts_list_refuses_an_unknown_client_and_a_bad_count(use_line, people):
    unknown = run("lockouts", "--client-id", "4242")
    assert unknown.exit_code == 1 and "client 4242 not found" in unknown.stderr
    zero = run("lockouts", "--last", "0")
    assert zero.exit_code == 2 and "0 is fewer than one" in zero.stderr
