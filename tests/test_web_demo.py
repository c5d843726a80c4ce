"""The demo practice: `coachline serve` with no Twilio credentials and an empty database
creates one, with an admin login it prints once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import cli_support as cli_module
from app import lockouts
from app.cli import cli
from app.demo import ADMIN_EMAIL, seed_demo
from app.line import Line
from app.models import Client, Rotation, Therapist, User
from tests.conftest import NOW
from tests.test_web_support import sign_in, texts_of


def demo_line(settings) -> Line:
    """The test database, as a line without Twilio credentials, at the pinned instant."""
    line = Line(settings.model_copy(update={"twilio_account_sid": "", "twilio_auth_token": ""}))
    line.clock = lambda: NOW
    return line


def count(db, model) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_an_empty_database_without_twilio_gets_a_demo_practice(settings, app, db):
    line = demo_line(settings)
    try:
        login = seed_demo(line)
    finally:
        line.engine.dispose()
    assert login is not None
    email, password = login
    assert email == ADMIN_EMAIL and len(password) >= 16

    assert count(db, Therapist) == 2 and count(db, Client) == 3
    phones = db.scalars(select(Client.phone)).all() + db.scalars(select(Therapist.phone)).all()
    assert all(p.startswith("+1314555") and p[-4:-2] == "01" for p in phones)
    locked = lockouts.locked_out_now(db, NOW)
    assert [c.name for c, _ in locked] == ["Sam Okafor"]
    rotation = db.scalars(select(Rotation)).one()
    assert len(rotation.members) == 2 and rotation.active
    admin = db.scalars(select(User)).one()
    assert (admin.email, admin.role) == (ADMIN_EMAIL, "admin")
    assert admin.password_hash.startswith("$argon2id$") and password not in admin.password_hash

    # the printed login works, and the newcomer sees the practice
    with TestClient(app, base_url="https://testserver") as web:
        assert sign_in(web, email, password).status_code == 303
        today = texts_of(web.get("/").text)
        assert "24-hour rule in effect 1" in today and "Sam Okafor" in today
        assert "Jordan Pike" in today  # a missed call waiting
        assert "On call now Dana Whitfield (rotation" in today


def test_the_demo_is_made_once(settings, app, db):
    line = demo_line(settings)
    try:
        assert seed_demo(line) is not None
        assert seed_demo(line) is None
    finally:
        line.engine.dispose()
    assert count(db, Therapist) == 2 and count(db, User) == 1


def test_no_demo_when_twilio_is_configured(settings, app, db):
    line = Line(settings)  # the test settings carry Twilio credentials
    try:
        assert seed_demo(line) is None
    finally:
        line.engine.dispose()
    assert count(db, Therapist) == 0 and count(db, User) == 0


def test_no_demo_when_the_practice_has_therapists_or_users(settings, app, db, people):
    line = demo_line(settings)
    try:
        assert seed_demo(line) is None
        db.query(Client).delete()
        db.query(Therapist).delete()
        db.add(User(email="someone@example.org", role="admin"))
        db.commit()
        assert seed_demo(line) is None
    finally:
        line.engine.dispose()
    assert count(db, Therapist) == 0 and count(db, User) == 1


def test_serve_prints_the_demo_login_before_serving(settings, app, db, monkeypatch):
    import uvicorn

    served = []
    monkeypatch.setattr(cli_module, "build_line", lambda: demo_line(settings))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kw: served.append((args, kw)))
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "Created a demo practice" in result.stdout
    assert "http://127.0.0.1:8123/" in result.stdout
    assert f"Sign in as {ADMIN_EMAIL} with the password " in result.stdout
    assert served and served[0][1]["port"] == 8123

    again = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    assert again.exit_code == 0 and "demo" not in again.stdout
    assert len(served) == 2
    # the demo login is a real one
    db.rollback()
    password = result.stdout.split("with the password ")[1].split()[0]
    with TestClient(app, base_url="https://testserver") as web:
        assert sign_in(web, ADMIN_EMAIL, password).status_code == 303
