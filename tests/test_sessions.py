"""Dashboard sessions live on the server: the cookie is an opaque id, signing out ends the session
for good, sessions expire (two idle hours, twelve in all), and a user's access ends at once when
they are disabled or their therapist is deactivated, on the dashboard's Users page or the API."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import ApiToken, User, UserSession
from app.users import issue_token
from app.web.session import COOKIE
from tests.conftest import NOW
from tests.helpers import audit_log, fresh
from tests.test_web_support import (
    ADMIN_EMAIL,
    DANA_EMAIL,
    MARCUS_EMAIL,
    csrf_of,
    post_form,
    sign_in,
    texts_of,
)

pytest_plugins = ["tests.test_web_support"]


def cookie_of(client: TestClient) -> str:
    return client.cookies[COOKIE]


def with_cookie(app, value: str) -> TestClient:
    """A browser that has nothing but a saved copy of a session cookie."""
    client = TestClient(app, base_url="https://testserver")
    client.cookies.set(COOKIE, value)
    return client


def goes_to_sign_in(client: TestClient, path: str) -> bool:
    response = client.get(path, follow_redirects=False)
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def set_cookies(response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie"]


@pytest.fixture
def dana_token(db, staff) -> str:
    token = issue_token(db, db.get(User, staff["dana"]))
    db.commit()
    return token


@pytest.fixture
def admin_api(db, staff) -> dict[str, str]:
    """Headers for the API as the admin of `staff`."""
    token = issue_token(db, db.get(User, staff["admin"]))
    db.commit()
    return bearer(token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- signing out ----------------------------------------------------------------------------


def test_an_old_cookie_no_longer_reads_clients_or_audit_after_sign_out(app, as_admin, db):
    saved = cookie_of(as_admin)
    with with_cookie(app, saved) as thief:
        assert thief.get("/audit").status_code == 200  # the copy works while signed in
        today = as_admin.get("/")
        as_admin.post("/logout", data={"csrf_token": csrf_of(today.text)})
        assert goes_to_sign_in(thief, "/clients")
        assert goes_to_sign_in(thief, "/audit")
    db.rollback()
    row = db.get(UserSession, hashlib.sha256(saved.encode()).hexdigest())
    assert row is not None and row.ended_at == NOW


def test_the_cookie_is_an_opaque_id_with_no_user_csrf_or_client_name(as_dana, people, db):
    value = cookie_of(as_dana)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)  # secrets.token_urlsafe(32), no payload
    decoded = base64.urlsafe_b64decode(value + "=")
    assert b"uid" not in decoded and b"dana" not in decoded.lower()
    riley = f"/clients/{people['riley']}"
    page = as_dana.get(riley)
    assert csrf_of(page.text) not in value
    # a flash naming a client stays on the server
    recorded = as_dana.post(
        f"{riley}/lockouts",
        data={"occurred_at": "2026-11-27T18:42", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    assert not any("Riley" in c for c in set_cookies(recorded))
    assert cookie_of(as_dana) == value
    db.rollback()
    stored = db.get(UserSession, hashlib.sha256(value.encode()).hexdigest())
    assert "Riley Tran" in str(stored.data["flash"])  # kept here, keyed by the id's hash
    assert db.get(UserSession, value) is None
    shown = as_dana.get(riley)
    assert "The 24-hour rule applies to Riley Tran" in texts_of(shown.text)
    assert not any("Riley" in c for c in set_cookies(shown))


def test_signing_in_gives_a_new_id_and_completes_sign_in_without_totp(app, web, staff, db):
    web.get("/login")
    before = cookie_of(web)
    assert sign_in(web, DANA_EMAIL).status_code == 303
    after = cookie_of(web)
    assert after != before
    db.rollback()
    row = db.get(UserSession, hashlib.sha256(after.encode()).hexdigest())
    assert (row.user_id, row.second_factor_at, row.expires_at) == (
        staff["dana"],
        NOW,
        NOW + timedelta(hours=12),
    )
    # the id known before sign-in (say, planted by someone else) signs nobody in
    with with_cookie(app, before) as planted:
        assert goes_to_sign_in(planted, "/")


def test_an_unknown_or_malformed_cookie_is_no_session_and_is_cleared(app, staff):
    for value in ("x" * 43, "not-a-session", "eyJ1aWQiOiAxfQ==.signed.old"):
        with with_cookie(app, value) as client:
            response = client.get("/", follow_redirects=False)
            assert response.headers["location"] == "/login"
            assert any(c.startswith(f"{COOKIE}=;") for c in set_cookies(response))


# ---- expiry, with the line's clock ----------------------------------------------------------


def test_a_session_ends_after_two_idle_hours(as_dana, line):
    line.clock = lambda: NOW + timedelta(hours=1, minutes=59)
    assert as_dana.get("/clients").status_code == 200
    line.clock = lambda: NOW + timedelta(hours=3, minutes=58)  # 1 h 59 min after that
    assert as_dana.get("/clients").status_code == 200
    line.clock = lambda: NOW + timedelta(hours=5, minutes=59)  # 2 h 1 min idle
    assert goes_to_sign_in(as_dana, "/clients")


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(as_dana, line):
    for hours in range(1, 12):
        line.clock = lambda h=hours: NOW + timedelta(hours=h)
        assert as_dana.get("/").status_code == 200
    line.clock = lambda: NOW + timedelta(hours=12)
    assert goes_to_sign_in(as_dana, "/")


def test_signing_in_clears_away_sessions_nobody_can_use(web, staff, db, line):
    assert sign_in(web, DANA_EMAIL).status_code == 303
    web.post("/logout", data={"csrf_token": csrf_of(web.get("/").text)})
    web.cookies.clear()
    assert sign_in(web, MARCUS_EMAIL).status_code == 303
    line.clock = lambda: NOW + timedelta(hours=13)
    web.cookies.clear()
    assert sign_in(web, ADMIN_EMAIL).status_code == 303
    db.rollback()
    left = db.scalars(select(UserSession)).all()
    assert [(s.user_id, s.ended_at) for s in left] == [(staff["admin"], None)]


# ---- access ends with the person ------------------------------------------------------------


def test_deactivating_a_therapist_ends_their_session_and_token_at_once(
    app, http, admin_api, staff, dana_token, people, db
):
    with TestClient(app, base_url="https://testserver") as dana:
        assert sign_in(dana, DANA_EMAIL).status_code == 303
        assert http.get("/api/attention", headers=bearer(dana_token)).status_code == 200
        response = http.patch(
            f"/api/therapists/{people['dana']}", json={"active": False}, headers=admin_api
        )
        assert response.status_code == 200
        assert goes_to_sign_in(dana, "/clients")
        assert http.get("/api/attention", headers=bearer(dana_token)).status_code == 401
        dana.cookies.clear()
        refused = sign_in(dana, DANA_EMAIL)
        assert refused.status_code == 401 and "The email or password is not right." in refused.text
    [entry] = [e for e in audit_log(db, "user", staff["dana"]) if e.action == "disable"]
    assert (entry.actor, entry.reason) == (ADMIN_EMAIL, "therapist deactivated")
    assert entry.changes["sessions_ended"] == 1 and len(entry.changes["token_ids_revoked"]) == 1


def test_an_admin_disables_and_enables_a_user_on_the_users_page(
    app, as_admin, http, staff, dana_token, db
):
    with TestClient(app, base_url="https://testserver") as dana:
        assert sign_in(dana, DANA_EMAIL).status_code == 303
        page = texts_of(as_admin.get("/users").text)
        assert "dana@example.org therapist Dana Whitfield active 1 session 1 in use" in page

        done = post_form(as_admin, "/users", f"/users/{staff['dana']}/disable", {})
        assert "dana@example.org is disabled: signed out everywhere" in texts_of(done.text)
        assert "disabled since" in texts_of(done.text)
        assert goes_to_sign_in(dana, "/")
        assert http.get("/api/attention", headers=bearer(dana_token)).status_code == 401
        assert sign_in(dana, DANA_EMAIL).status_code == 401

        done = post_form(as_admin, "/users", f"/users/{staff['dana']}/enable", {})
        assert "dana@example.org can sign in again." in texts_of(done.text)
        assert sign_in(dana, DANA_EMAIL).status_code == 303
        # the token revoked with the disabling stays revoked
        assert http.get("/api/attention", headers=bearer(dana_token)).status_code == 401
    actions = [e.action for e in audit_log(db, "user", staff["dana"])]
    assert actions[-2:] == ["disable", "enable"]
    assert all(e.actor == ADMIN_EMAIL for e in audit_log(db, "user", staff["dana"])[-2:])


def test_an_admin_ends_a_users_sessions_and_revokes_their_tokens(
    app, as_admin, http, staff, dana_token, db
):
    with TestClient(app, base_url="https://testserver") as dana:
        assert sign_in(dana, DANA_EMAIL).status_code == 303
        done = post_form(as_admin, "/users", f"/users/{staff['dana']}/end-sessions", {})
        assert "Ended 1 dashboard session of dana@example.org." in texts_of(done.text)
        assert goes_to_sign_in(dana, "/")
        assert http.get("/api/attention", headers=bearer(dana_token)).status_code == 200

        done = post_form(as_admin, "/users", f"/users/{staff['dana']}/revoke-tokens", {})
        assert "Revoked 1 API token of dana@example.org." in texts_of(done.text)
        assert http.get("/api/attention", headers=bearer(dana_token)).status_code == 401
        assert sign_in(dana, DANA_EMAIL).status_code == 303  # not disabled: may sign in
    entries = audit_log(db, "user", staff["dana"])[-2:]
    assert [(e.action, e.actor) for e in entries] == [
        ("end_sessions", ADMIN_EMAIL),
        ("revoke_tokens", ADMIN_EMAIL),
    ]
    assert entries[0].changes == {"ended": 1}
    token_id = db.scalars(select(ApiToken.id).where(ApiToken.user_id == staff["dana"])).one()
    assert entries[1].changes == {"token_ids": [token_id]}


def test_an_admin_cannot_disable_themself(as_admin, staff, db):
    page = as_admin.get("/users")
    assert f'action="/users/{staff["admin"]}/disable"' not in page.text
    refused = post_form(as_admin, "/users", f"/users/{staff['admin']}/disable", {})
    assert "You cannot disable yourself; another admin can." in texts_of(refused.text)
    assert fresh(db, User, staff["admin"]).disabled_at is None


def test_the_users_page_is_for_admins_only(app, as_dana, staff, db):
    refused = as_dana.get("/users")
    assert refused.status_code == 403 and "Admins only" in refused.text
    token = csrf_of(as_dana.get("/").text)
    action = as_dana.post(f"/users/{staff['marcus']}/disable", data={"csrf_token": token})
    assert action.status_code == 403
    assert fresh(db, User, staff["marcus"]).disabled_at is None
    with TestClient(app, base_url="https://testserver") as stranger:
        assert stranger.get("/users", follow_redirects=False).headers["location"] == (
            "/login?next=/users"
        )


def test_the_users_page_actions_need_the_csrf_token(as_admin, staff, db):
    as_admin.get("/users")
    refused = as_admin.post(f"/users/{staff['dana']}/disable", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert fresh(db, User, staff["dana"]).disabled_at is None
