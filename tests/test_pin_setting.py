"""Setting a therapist's PIN: `coachline set-pin` and the dashboard (the therapist their own,
the admin anyone's), hashed, 4-8 digits, audited without the PIN. And the call log shows
Twilio's StirVerstat."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app import cli_support
from app.cli import cli
from app.models import AuditEntry, Call, Therapist
from app.users import hasher
from tests.conftest import NOW, THERAPIST_PIN
from tests.test_web_support import DANA, MARCUS, csrf_of, texts_of

pytest_plugins = ["tests.test_web_support"]
runner = CliRunner()


@pytest.fixture
def use_line(monkeypatch, line):
    monkeypatch.setattr(cli_support, "build_line", lambda: line)
    return line


def therapist(db, therapist_id: int) -> Therapist:
    db.expire_all()
    found = db.get(Therapist, therapist_id)
    assert found is not None
    return found


def pin_entries(db) -> list[AuditEntry]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEntry).where(AuditEntry.action.in_(("set_pin", "clear_pin"))))
    )


def is_pin(stored: str | None, pin: str) -> bool:
    try:
        return stored is not None and hasher.verify(stored, pin)
    except Exception:
        return False


# ---- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["(314) 555-0111", "dana@example.org"])
def test_set_pin_by_phone_or_email_asks_twice_and_keeps_only_a_hash(
    use_line, db, staff, people, who
):
    result = runner.invoke(cli, ["set-pin", who], input="730514\n730514\n")
    assert result.exit_code == 0, result.output
    assert f"Set the PIN of therapist {people['dana']}." in result.output
    assert "730514" not in result.output  # hidden as typed
    stored = therapist(db, people["dana"]).pin_hash
    assert stored.startswith("$argon2") and "730514" not in stored and is_pin(stored, "730514")
    [entry] = pin_entries(db)
    assert (entry.action, entry.entity_id, entry.actor[:4]) == ("set_pin", people["dana"], "cli:")
    assert "730514" not in str(entry.changes) + str(entry.reason)


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "１２３４"])
def test_set_pin_refuses_anything_but_4_to_8_digits(use_line, db, people, pin):
    result = runner.invoke(cli, ["set-pin", DANA], input=f"{pin}\n{pin}\n")
    assert result.exit_code == 1 and "a PIN" in result.output
    assert is_pin(therapist(db, people["dana"]).pin_hash, THERAPIST_PIN)  # unchanged


def test_set_pin_for_nobody_and_clearing_one(use_line, db, people):
    assert (
        "no therapist with that phone"
        in runner.invoke(cli, ["set-pin", "+13145550199"], input="1234\n1234\n").output
    )
    result = runner.invoke(cli, ["set-pin", MARCUS, "--clear"])
    assert result.exit_code == 0 and "Cleared the PIN" in result.output
    assert therapist(db, people["marcus"]).pin_hash is None


# ---- the dashboard ----------------------------------------------------------------------------


def post_pin(client, therapist_id: int, pin: str, again: str | None = None):
    token = csrf_of(client.get(f"/schedule/pin/{therapist_id}").text)
    data = {"pin": pin, "pin_again": pin if again is None else again, "csrf_token": token}
    return client.post(f"/schedule/pin/{therapist_id}", data=data, follow_redirects=False)


def test_a_therapist_sets_their_own_pin_on_the_dashboard(as_dana, db, people):
    page = as_dana.get("/schedule")
    assert f'href="/schedule/pin/{people["dana"]}"' in page.text
    form = as_dana.get(f"/schedule/pin/{people['dana']}")
    assert form.status_code == 200 and "A PIN is set." in texts_of(form.text)
    short = post_pin(as_dana, people["dana"], "123")
    assert short.status_code == 422 and "A PIN has 4 to 8 digits" in texts_of(short.text)
    differ = post_pin(as_dana, people["dana"], "12345", "12346")
    assert differ.status_code == 422 and "The two PINs are not the same" in texts_of(differ.text)
    assert "12345" not in differ.text  # never echoed back
    saved = post_pin(as_dana, people["dana"], "90817")
    assert saved.status_code == 303
    assert is_pin(therapist(db, people["dana"]).pin_hash, "90817")
    [entry] = pin_entries(db)
    assert (entry.actor, entry.entity_id, entry.at) == ("dana@example.org", people["dana"], NOW)
    assert "PIN saved" in texts_of(as_dana.get(saved.headers["location"]).text)


def test_a_therapist_cannot_set_or_clear_anothers_pin(as_dana, db, people):
    assert as_dana.get(f"/schedule/pin/{people['marcus']}").status_code == 403
    token = csrf_of(as_dana.get(f"/schedule/pin/{people['dana']}").text)
    clear = as_dana.post(
        f"/schedule/pin/{people['dana']}/clear", data={"csrf_token": token}, follow_redirects=False
    )
    assert clear.status_code == 403
    assert is_pin(therapist(db, people["dana"]).pin_hash, THERAPIST_PIN)


def test_the_admin_sets_and_clears_anyones_pin(as_admin, db, people):
    assert post_pin(as_admin, people["marcus"], "24681357").status_code == 303
    assert is_pin(therapist(db, people["marcus"]).pin_hash, "24681357")
    token = csrf_of(as_admin.get(f"/schedule/pin/{people['marcus']}").text)
    cleared = as_admin.post(
        f"/schedule/pin/{people['marcus']}/clear",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    assert therapist(db, people["marcus"]).pin_hash is None
    page = as_admin.get(f"/schedule/pin/{people['marcus']}")
    assert "No PIN is set: the phone menu stays closed." in texts_of(page.text)
    assert [e.action for e in pin_entries(db)] == ["set_pin", "clear_pin"]


# ---- the call log -------------------------------------------------------------------------------


def test_the_call_log_shows_stir_verstat(as_admin, web_driver, db, people):
    web_driver.call(from_=DANA, extra_params={"StirVerstat": "TN-Validation-Passed-A"})
    db.expire_all()
    assert db.scalar(select(Call)).stir_verstat == "TN-Validation-Passed-A"
    page = as_admin.get("/logs")
    assert "Caller ID check" in page.text and "TN-Validation-Passed-A" in page.text
