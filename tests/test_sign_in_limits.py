"""Sign-in limits: per account and address, per address, overall, and the account's short pause;
each refusal is a cheap 429 with Retry-After (no argon2); and an attacker's failures elsewhere
do not keep the owner out. Also: /docs, /redoc and /openapi.json for signed-in users only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from app import users
from app.web.sign_in_limits import SignInLimits
from tests.conftest import NOW
from tests.test_web_support import (
    ADMIN_EMAIL,
    DANA_EMAIL,
    MARCUS_EMAIL,
    enter_code,
    sign_in,
    sign_in_with_password,
)

pytest_plugins = ["tests.test_web_support"]

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"


@contextmanager
def from_address(app, address: str) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", client=(address, 5000)) as client:
        yield client


def count_hashing(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = users.verify_password

    def counted(user, password):
        calls.append(1)
        return real(user, password)

    monkeypatch.setattr(users, "verify_password", counted)
    return calls


def test_five_failures_from_one_address_stop_that_address_for_that_account(app, staff, monkeypatch):
    with from_address(app, ATTACKER) as attacker:
        for _ in range(5):
            assert sign_in(attacker, DANA_EMAIL, "guess").status_code == 401
        hashed = count_hashing(monkeypatch)
        refused = sign_in(attacker, DANA_EMAIL)  # even the right password
        assert refused.status_code == 429
        assert 800 < int(refused.headers["retry-after"]) <= 900
        assert "Too many sign-in attempts." in refused.text
        assert hashed == []  # refused before argon2
        # another account from the same address is still tried
        assert sign_in(attacker, MARCUS_EMAIL).status_code == 303
    # the owner, from their own address, is not kept out
    with from_address(app, OWNER) as owner:
        assert sign_in(owner, DANA_EMAIL).status_code == 303


def test_an_unknown_email_is_limited_the_same_way(app, staff):
    with from_address(app, ATTACKER) as attacker:
        for _ in range(5):
            assert sign_in(attacker, "nobody@example.org", "guess").status_code == 401
        assert sign_in(attacker, "nobody@example.org", "guess").status_code == 429


def test_one_address_failing_on_many_accounts_is_stopped(app, staff):
    with from_address(app, ATTACKER) as attacker:
        for n in range(20):
            assert sign_in(attacker, f"person{n}@example.org", "guess").status_code == 401
        assert sign_in(attacker, "person99@example.org", "guess").status_code == 429
        assert sign_in(attacker, DANA_EMAIL).status_code == 429
    with from_address(app, OWNER) as owner:
        assert sign_in(owner, DANA_EMAIL).status_code == 303


def test_an_overall_ceiling_stops_a_spray_from_many_addresses(app, staff):
    app.state.sign_in_limits = SignInLimits(overall="6 per minute")
    for n in range(6):
        with from_address(app, f"192.0.2.{n + 1}") as sprayer:
            assert sign_in(sprayer, f"person{n}@example.org", "guess").status_code == 401
    with from_address(app, "192.0.2.99") as late:
        refused = sign_in(late, DANA_EMAIL)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) <= 60


def test_the_owners_known_address_passes_the_pause_and_the_ceiling(app, staff, db):
    app.state.sign_in_limits = SignInLimits(overall="11 per minute")
    with from_address(app, OWNER) as owner:
        assert sign_in(owner, DANA_EMAIL).status_code == 303
    # an attacker spread over addresses pauses the account, and fills the ceiling
    for n in range(5):
        with from_address(app, f"192.0.2.{n + 1}") as attacker:
            for _ in range(2):
                assert sign_in(attacker, DANA_EMAIL, "guess").status_code == 401
    with from_address(app, "192.0.2.200") as stranger:
        assert sign_in(stranger, DANA_EMAIL).status_code == 429
    # the owner, from where they signed in before, is not kept out
    with from_address(app, OWNER) as owner:
        assert sign_in(owner, DANA_EMAIL).status_code == 303


def test_wrong_codes_count_toward_the_limits(app, staff):
    with from_address(app, ATTACKER) as attacker:
        sign_in_with_password(attacker, ADMIN_EMAIL)
        for _ in range(5):
            assert enter_code(attacker, "000000").status_code == 401
        refused = enter_code(attacker, "000000")
        assert refused.status_code == 429 and "retry-after" in refused.headers


# ---- the API's documentation -----------------------------------------------------------------


def test_signed_out_the_docs_send_to_sign_in_and_the_schema_is_401(http, staff):
    for path in ("/docs", "/redoc"):
        response = http.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (
            303,
            f"/login?next={path}",
        )
    schema = http.get("/openapi.json")
    assert schema.status_code == 401 and schema.headers["www-authenticate"] == "Bearer"
    bad = http.get("/openapi.json", headers={"Authorization": "Bearer cl_not-a-token"})
    assert bad.status_code == 401


def test_the_docs_are_read_with_a_token_or_a_signed_in_session(http, web, staff, db):
    admin = {"Authorization": "Bearer " + users.new_token(db, "test", NOW, staff["admin"])}
    db.commit()
    assert "/api/clients" in http.get("/openapi.json", headers=admin).json()["paths"]
    assert http.get("/docs", headers=admin).status_code == 200
    # half signed in (the password, not the code) is not signed in
    sign_in_with_password(web, ADMIN_EMAIL)
    assert web.get("/openapi.json").status_code == 401
    web.cookies.clear()
    assert sign_in(web, DANA_EMAIL).status_code == 303
    assert web.get("/openapi.json").status_code == 200
    assert "swagger" in web.get("/docs").text.lower()
    assert web.get("/redoc").status_code == 200


def test_public_api_docs_opens_them(settings):
    from app.main import create_app

    app = create_app(settings.model_copy(update={"public_api_docs": True}))
    with TestClient(app) as anyone:
        assert anyone.get("/openapi.json").status_code == 200
        assert anyone.get("/docs").status_code == 200
    app.state.line.engine.dispose()
