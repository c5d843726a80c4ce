"""`coachline clients` and `coachline therapists` (the ids the other commands take), and help
that reads as sentences at 80 columns."""

from __future__ import annotations

import inspect
import re
from datetime import timedelta

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from app import cli_support
from app.cli import cli
from app.models import Client, Lockout, Therapist, User
from tests.conftest import NOW

runner = CliRunner()


@pytest.fixture
def use_line(monkeypatch, line):
    monkeypatch.setattr(cli_support, "build_line", lambda: line)
    return line


def run(*args: str, columns: int = 80):
    return runner.invoke(cli, list(args), env={"COLUMNS": str(columns)})


def _cells(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def test_clients_lists_ids_therapists_the_rule_and_who_is_locked_out(use_line, db, people):
    assert run("clients").exit_code == 0
    db.add(
        Client(name="Riley Tran", phone="+13145550144", therapist_id=people["marcus"],
               lockout_rule_applies=False)
    )  # fmt: skip
    db.add(
        Lockout(client_id=people["riley"], starts_at=NOW - timedelta(hours=2),
                ends_at=NOW + timedelta(hours=22), created_by="test")
    )  # fmt: skip
    db.commit()
    other_riley = db.query(Client).filter_by(phone="+13145550144").one().id

    listed = run("clients", columns=100)
    assert listed.exit_code == 0, listed.output
    title, headers, *rows = _cells(listed.stdout)
    assert title == ["Clients (times in America/Chicago):"]
    assert headers == [
        "Id", "Name", "Therapist (id)", "Language", "24-hour rule", "Locked out until"
    ]  # fmt: skip
    assert rows == [  # by name; the last four digits only where two share a name
        [str(people["jordan"]), "Jordan Pike", f"Marcus Oyelaran ({people['marcus']})",
         "English", "applies"],
        [str(people["riley"]), "Riley Tran (…0142)", f"Dana Whitfield ({people['dana']})",
         "English", "applies", "Sat 2026-11-28 19:42"],
        [str(other_riley), "Riley Tran (…0144)", f"Marcus Oyelaran ({people['marcus']})",
         "English", "waived"],
    ]  # fmt: skip
    assert "+1314" not in listed.stdout and "555" not in listed.stdout

    marcus = run("clients", "--therapist-id", str(people["marcus"]), columns=100)
    assert [row[0] for row in _cells(marcus.stdout)[2:]] == [
        str(people["jordan"]),
        str(other_riley),
    ]
    unknown = run("clients", "--therapist-id", "4242")
    assert unknown.exit_code == 1 and "therapist 4242 not found" in unknown.stderr


def test_no_clients_yet(use_line):
    assert run("clients").stdout.strip() == "No clients yet."
    assert run("therapists").stdout.strip() == (
        "No therapists yet: `coachline add-therapist NAME PHONE` adds one."
    )


def test_therapists_lists_ids_states_logins_and_client_counts(use_line, db, people):
    dana, marcus = db.get(Therapist, people["dana"]), db.get(Therapist, people["marcus"])
    marcus.away_until = NOW + timedelta(days=2)
    db.add(Therapist(name="Ines Kowalczyk", phone="+13145550160", active=False))
    db.add(User(email="dana@example.org", role="therapist", therapist_id=dana.id))
    db.add(User(email="dana.old@example.org", role="therapist", therapist_id=dana.id,
                disabled_at=NOW))  # fmt: skip
    db.commit()
    ines = db.query(Therapist).filter_by(name="Ines Kowalczyk").one().id

    listed = run("therapists", columns=120)
    assert listed.exit_code == 0, listed.output
    title, headers, *rows = _cells(listed.stdout)
    assert headers == ["Id", "Name", "State", "Login", "Clients"]
    assert rows == [
        [str(dana.id), "Dana Whitfield", "active",
         "dana@example.org, dana.old@example.org (disabled)", "1"],
        [str(ines), "Ines Kowalczyk", "inactive", "none", "0"],
        [str(marcus.id), "Marcus Oyelaran", "away until Sun 2026-11-29 21:42", "none", "1"],
    ]  # fmt: skip


def test_a_name_with_brackets_is_printed_as_typed(use_line, db, people):
    db.get(Client, people["riley"]).name = "[bold]Riley[/bold]"
    db.commit()
    assert "[bold]Riley[/bold]" in run("clients", columns=120).stdout


# ---- help --------------------------------------------------------------------------------


def _commands(group=None, prefix=()):
    group = group or get_command(cli)
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


def _flat(output: str) -> str:
    """Help text without its boxes, on one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


NOISE = ("<bool>", "<int", "<str>", "<list", "1<=x", "2147483647", "…", "[default: lockout")


def test_every_help_reads_as_sentences_at_80_columns():
    top = run("--help")
    assert top.exit_code == 0
    pages = {("coachline",): top.stdout}
    for path, _command in _commands():
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        pages[path] = result.stdout
    for path, page in pages.items():
        for noise in NOISE:
            assert noise not in page, (path, noise)
        assert max(len(line) for line in page.splitlines()) <= 80, path

    # Each command's summary is whole in the list: joined, never cut mid-sentence.
    listed = _flat(top.stdout)
    for path, command in _commands():
        if len(path) > 1:
            continue
        summary = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
        summary = summary.replace("`", "")
        assert summary in listed, path
        assert summary.endswith("."), path


def test_options_name_what_they_take():
    record = _flat(run("record-lockout", "--help").stdout)
    assert "CLIENT_ID The client's id (coachline clients lists them)." in record
    assert "--at TIME When it happened, in the practice's time zone: 2026-12-06 09:00" in record
    enrol = _flat(run("add-client", "--help").stdout)
    assert "--lockout-rule --no-lockout-rule Whether the 24-hour rule applies to them" in enrol
    assert "--therapist-id ID Their primary therapist's id" in enrol
