"""Signing in to the dashboard: passwords, the session cookie, CSRF, the pause after repeated
failures, signing out, and `coachline set-password`. (Sessions on the server, their expiry and
ending them: tests/test_sessions.py.)"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app import cli_support as cli_module
from app import users
from app.cli import cli
from app.main import create_app
from app.models import AuditEntry, Lockout, PracticeSetting, User
from app.users import set_password
from app.web.session import COOKIE
from tests.conftest import NOW
from tests.helpers import audit_log, fresh
from tests.test_web_support import (
    ADMIN_EMAIL,
    DANA_EMAIL,
    PASSWORD,
    csrf_of,
    sign_in,
    texts_of,
)

GENERIC = "The email or password is not right."

pytest_plugins = ["tests.test_web_support"]


def set_cookie_header(response) -> str:
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie")


# ---- signing in and out --------------------------------------------------------------------------


def test_pages_send_a_stranger_to_sign_in(web, staff, people):
    first = web.get("/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/login")
    deep = web.get(f"/clients/{people['riley']}", follow_redirects=False)
    assert deep.headers["location"] == f"/login?next=/clients/{people['riley']}"
    page = web.get("/login")
    assert page.status_code == 200
    assert 'type="password"' in page.text and 'autocomplete="current-password"' in page.text


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(web, staff):
    response = sign_in(web, ADMIN_EMAIL)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = set_cookie_header(response).lower()
    assert cookie.startswith(COOKIE + "=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    today = web.get("/")
    assert today.status_code == 200 and ADMIN_EMAIL in today.text
    assert "On call now" in texts_of(today.text)
    # the dashboard's own headers: no framing, no inline script, nothing cached
    assert today.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in today.headers["content-security-policy"]
    assert today.headers["cache-control"] == "no-store"

    out = web.post("/logout", data={"csrf_token": csrf_of(today.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert "You are signed out." in web.get("/login").text
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"


def test_sign_in_returns_to_the_page_asked_for_but_only_on_this_site(web, staff):
    assert sign_in(web, ADMIN_EMAIL, next_path="/schedule").headers["location"] == "/schedule"
    web.cookies.clear()
    for evil in ("//evil.example.org/", "https://evil.example.org/", "/\\evil.example.org"):
        assert sign_in(web, ADMIN_EMAIL, next_path=evil).headers["location"] == "/"
        web.cookies.clear()


def test_the_cookie_is_not_secure_when_the_line_is_served_over_http(settings, staff):
    app = create_app(settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"}))
    with TestClient(app) as client:
        response = sign_in(client, ADMIN_EMAIL)
        assert response.status_code == 303
        cookie = set_cookie_header(response).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    app.state.line.engine.dispose()


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(web, staff):
    wrong = sign_in(web, ADMIN_EMAIL, "not the password")
    unknown = sign_in(web, "nobody@example.org", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert GENERIC in response.text
        assert COOKIE not in dict(response.cookies) or "uid" not in response.text
    assert texts_of(wrong.text).replace(ADMIN_EMAIL, "X") == texts_of(unknown.text).replace(
        "nobody@example.org", "X"
    )
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_user_without_a_password_cannot_sign_in(web, db):
    db.add(User(email="token-only@example.org", role="admin"))
    db.commit()
    response = sign_in(web, "token-only@example.org", "")
    assert response.status_code == 422
    assert sign_in(web, "token-only@example.org", PASSWORD).status_code == 401


def fail_from_two_addresses(app, email: str, times: int = 5) -> None:
    """`times` wrong passwords from each of two addresses (one address alone is stopped
    sooner: tests/test_sign_in_limits.py)."""
    for address in ("203.0.113.7", "198.51.100.9"):
        with TestClient(app, base_url="https://testserver", client=(address, 5000)) as there:
            for _ in range(times):
                assert sign_in(there, email, "guess").status_code == 401


def test_ten_failures_in_a_row_pause_the_account_for_five_minutes(app, web, staff, db, line):
    fail_from_two_addresses(app, DANA_EMAIL, 4)
    user = fresh(db, User, staff["dana"])
    assert (user.failed_logins, user.login_locked_until) == (8, None)
    fail_from_two_addresses(app, DANA_EMAIL, 1)
    user = fresh(db, User, staff["dana"])
    assert user.login_locked_until == NOW + timedelta(minutes=5)
    [entry] = audit_log(db, "user", staff["dana"])[-1:]
    assert entry.action == "login_paused" and entry.actor == "dashboard"

    # while paused, even the right password waits (429, no argon2), from a new address too
    paused = sign_in(web, DANA_EMAIL)
    assert paused.status_code == 429 and paused.headers["retry-after"] == "300"
    assert "Wait 5 minutes, then try again." in texts_of(paused.text)
    # another user is not affected
    assert sign_in(web, ADMIN_EMAIL).status_code == 303
    web.cookies.clear()

    line.clock = lambda: NOW + timedelta(minutes=5)
    assert sign_in(web, DANA_EMAIL).status_code == 303
    user = fresh(db, User, staff["dana"])
    assert (user.failed_logins, user.login_locked_until) == (0, None)


def test_a_success_resets_the_count_of_failures(web, staff, db):
    for _ in range(3):
        sign_in(web, DANA_EMAIL, "guess")
    assert sign_in(web, DANA_EMAIL).status_code == 303
    assert fresh(db, User, staff["dana"]).failed_logins == 0


def test_a_new_password_signs_out_every_other_session(web, staff, db):
    assert sign_in(web, DANA_EMAIL).status_code == 303
    assert web.get("/").status_code == 200
    set_password(db, "test", NOW, DANA_EMAIL, "a brand new password")
    db.commit()
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"


def test_sign_ins_hash_one_at_a_time_and_leave_the_request_threads_free(web, staff, monkeypatch):
    """Twelve wrong passwords at once: argon2 runs for one of them at a time, and while they
    wait, a page served by the request threads (as Twilio's webhooks are) still answers."""
    real = users.hasher
    guard = threading.Lock()
    release = threading.Event()
    seen = {"running": 0, "most": 0, "calls": 0}

    class Watched:
        def verify(self, stored: str, password: str) -> bool:
            with guard:
                seen["running"] += 1
                seen["calls"] += 1
                seen["most"] = max(seen["most"], seen["running"])
            try:
                release.wait(10)  # held until the page below has answered
                return real.verify(stored, password)
            finally:
                with guard:
                    seen["running"] -= 1

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(users, "hasher", Watched())
    token = csrf_of(web.get("/login").text)
    answers: list[int] = []

    def attempt(i: int) -> None:
        email = DANA_EMAIL if i % 2 else f"nobody{i}@example.org"
        form = {"email": email, "password": f"guess {i}", "csrf_token": token, "next": "/"}
        answers.append(web.post("/login", data=form, follow_redirects=False).status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while seen["calls"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the other eleven are in by now, waiting for their turn
    started = time.monotonic()
    page = web.get("/login")
    answered_in = time.monotonic() - started
    waiting = seen["calls"]
    release.set()
    for thread in threads:
        thread.join(30)
    assert page.status_code == 200 and answered_in < 5
    assert waiting == 1  # the others had not started hashing
    assert answers == [401] * 12
    assert seen["calls"] == 12 and seen["most"] == 1


# ---- CSRF ----------------------------------------------------------------------------------------


def test_a_form_without_this_sessions_csrf_token_is_refused(as_dana, people, db):
    client_page = f"/clients/{people['riley']}"
    assert as_dana.get(client_page).status_code == 200
    for token in (None, "", "forged-token-0123456789abcdef"):
        data = {"occurred_at": "2026-11-27T20:00", "note": "x"}
        if token is not None:
            data["csrf_token"] = token
        refused = as_dana.post(f"/clients/{people['riley']}/lockouts", data=data)
        assert refused.status_code == 403
        assert "This form has expired" in refused.text and "reload the page" in refused.text
    db.rollback()
    assert db.scalars(select(Lockout)).all() == []
    # signing out needs the token too, so another site cannot sign anyone out
    assert as_dana.post("/logout", data={}).status_code == 403
    assert as_dana.get("/").status_code == 200


def test_the_sign_in_form_needs_its_csrf_token_too(web, staff):
    web.get("/login")
    response = web.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 403
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_token_from_another_session_is_refused(app, staff, people):
    with (
        TestClient(app, base_url="https://testserver") as alice,
        TestClient(app, base_url="https://testserver") as mallory,
    ):
        sign_in(alice, DANA_EMAIL)
        sign_in(mallory, ADMIN_EMAIL)
        token = csrf_of(mallory.get("/").text)
        response = alice.post(
            f"/clients/{people['riley']}/lockouts",
            data={"occurred_at": "2026-11-27T20:00", "csrf_token": token},
        )
        assert response.status_code == 403


# ---- sessions kept in the database ---------------------------------------------------------------


def test_every_worker_honours_a_session_kept_in_the_database(settings, staff, db):
    first = create_app(settings)
    second = create_app(settings)  # another worker
    try:
        with (
            TestClient(first, base_url="https://testserver") as a,
            TestClient(second, base_url="https://testserver") as b,
        ):
            assert sign_in(a, ADMIN_EMAIL).status_code == 303
            b.cookies.update(a.cookies)
            assert b.get("/").status_code == 200  # the other worker honours the cookie
            assert ADMIN_EMAIL in b.get("/").text
        db.rollback()
        # no signing key is made or kept: the cookie is only an id
        assert db.get(PracticeSetting, "_session_secret") is None
    finally:
        first.state.line.engine.dispose()
        second.state.line.engine.dispose()


def test_the_api_and_the_webhooks_get_no_session_cookie(web, admin):
    response = web.get("/api/clients", headers=admin)
    assert response.status_code == 200 and "set-cookie" not in response.headers
    assert "content-security-policy" not in response.headers
    assert web.get("/healthz").headers.get("set-cookie") is None


# ---- coachline set-password ----------------------------------------------------------------------

runner = CliRunner()


def test_set_password_prompts_twice_and_stores_only_an_argon2_hash(line, db, monkeypatch):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    db.add(User(email="ines@example.org", role="admin"))
    db.commit()
    result = runner.invoke(
        cli, ["set-password", "Ines@Example.org"], input="a long passphrase\na long passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert "Set the dashboard password for ines@example.org." in result.stdout
    assert "a long passphrase" not in result.stdout  # hidden input
    db.rollback()
    user = db.scalar(select(User).where(User.email == "ines@example.org"))
    assert user.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in user.password_hash
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "set_password")).one()
    assert entry.entity_id == user.id and entry.actor.startswith("cli:")


def test_set_password_refuses_short_passwords_and_unknown_users(line, db, monkeypatch):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    db.add(User(email="ines@example.org", role="admin"))
    db.commit()
    short = runner.invoke(cli, ["set-password", "ines@example.org"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    unknown = runner.invoke(
        cli, ["set-password", "who@example.org"], input="a long passphrase\na long passphrase\n"
    )
    assert unknown.exit_code == 1 and "no user with that email" in unknown.output
    mismatch = runner.invoke(
        cli, ["set-password", "ines@example.org"], input="a long passphrase\nanother one!!\n"
    )
    assert mismatch.exit_code != 0
    db.rollback()
    assert db.scalar(select(User.password_hash)) is None


def test_set_password_lifts_a_pause(app, web, staff, db, line, monkeypatch):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    fail_from_two_addresses(app, DANA_EMAIL)
    assert fresh(db, User, staff["dana"]).login_locked_until is not None
    result = runner.invoke(
        cli, ["set-password", DANA_EMAIL], input="fresh passphrase 1\nfresh passphrase 1\n"
    )
    assert result.exit_code == 0, result.output
    assert sign_in(web, DANA_EMAIL, "fresh passphrase 1").status_code == 303
