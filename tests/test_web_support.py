"""Shared fixtures and helpers for the dashboard's tests (no tests here).

The dashboard's cookie is Secure when PUBLIC_BASE_URL is https, as the test settings' is, so
the test client speaks https to the app.

Admins sign in with a TOTP code: the `staff` admin has two-factor on with `ADMIN_TOTP_SECRET`,
and `sign_in` completes the second step with the code at the pinned clock (NOW), or enrols a
user who must have it (the demo's admin) with the secret the enrol page shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User, UserSession
from app.users import set_password
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.twilio_driver import TwilioDriver

PASSWORD = "correct horse battery"
ADMIN_EMAIL = "admin@example.org"
DANA_EMAIL = "dana@example.org"
MARCUS_EMAIL = "marcus@example.org"
RILEY = "+13145550142"
DANA = "+13145550111"
MARCUS = "+13145550112"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET = re.compile(r'id="secret">([A-Z2-7 ]+)<')
CODE_STEP = "/login/code"
ENROL_STEP = "/two-factor/enrol"
# Invented, base32: the staff admin's authenticator.
ADMIN_TOTP_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
# Each user's TOTP secret, by email, as the helpers know it (enrolling adds to it).
TOTP_SECRETS: dict[str, str] = {ADMIN_EMAIL: ADMIN_TOTP_SECRET}


def add_user(
    db: Session,
    email: str,
    *,
    role: str = "therapist",
    therapist_id: int | None = None,
    password: str = PASSWORD,
) -> User:
    user = User(email=email, role=role, therapist_id=therapist_id)
    db.add(user)
    db.flush()
    set_password(db, "test", NOW, email, password)
    db.commit()
    return user


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def code_for(email: str, when=NOW) -> str:
    """The TOTP code of a user's authenticator at `when`."""
    return pyotp.TOTP(TOTP_SECRETS[email.lower()]).at(when)


def line_now(client: TestClient):
    """The time by the line's clock (pinned to NOW by the `app` fixture; a test may move it)."""
    return client.app.state.line.now()


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/"):
    """Sign in as a browser would, the second step included; the last answer (a 303 to
    `next_path` once signed in)."""
    response = sign_in_with_password(client, email, password, next_path)
    location = response.headers.get("location")
    if response.status_code != 303 or location not in (CODE_STEP, ENROL_STEP):
        return response
    if location == ENROL_STEP:
        return enrol(client, email)
    forget_used_codes(client, email)
    return enter_code(client, code_for(email, line_now(client)))


def sign_in_with_password(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/"
):
    """The first step alone: the password."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": next_path,
        },
        follow_redirects=False,
    )


def enter_code(client: TestClient, code: str):
    page = client.get(CODE_STEP)
    data = {"code": code, "csrf_token": csrf_of(page.text)}
    return client.post(CODE_STEP, data=data, follow_redirects=False)


def enrol(client: TestClient, email: str):
    """Enrol in two-factor with the secret the page shows; past the recovery codes."""
    page = client.get(ENROL_STEP)
    match = _SECRET.search(page.text)
    assert match, "no secret on the enrol page"
    TOTP_SECRETS[email.lower()] = match.group(1).replace(" ", "")
    data = {"code": code_for(email, line_now(client)), "csrf_token": csrf_of(page.text)}
    codes = client.post(ENROL_STEP, data=data)
    assert codes.status_code == 200, codes.text
    next_path = re.search(r'name="next" value="([^"]*)"', codes.text)
    data = {"next": next_path.group(1) if next_path else "/", "csrf_token": csrf_of(codes.text)}
    return client.post("/two-factor/done", data=data, follow_redirects=False)


def forget_used_codes(client: TestClient, email: str) -> None:
    """The pinned clock never moves, so a second sign-in in one test would offer the code of
    the first, which is refused (it was used): forget it, as 30 seconds passing would."""
    with client.app.state.line.sessions() as db:
        rows = db.scalars(select(UserSession).join(User).where(User.email == email.lower()))
        for row in rows:
            if row.data and "totp_step" in row.data:
                row.data = {k: v for k, v in row.data.items() if k != "totp_step"}
        db.commit()


def post_form(client: TestClient, page_path: str, action: str, data: dict[str, str]):
    """Submit a form as a browser would: load the page for its CSRF token, then POST."""
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": csrf_of(page.text)})


def texts_of(html: str) -> str:
    """The page's text, tags dropped and spaces squeezed: for asserting what a person reads."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"</?(a|time|span|strong|abbr|em|code|label)\b[^>]*>", "", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = text.replace("&amp;", "&").replace("&#39;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def web(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def staff(db, people) -> dict[str, int]:
    """An admin and two therapist users, each with a dashboard password."""
    admin = add_user(db, ADMIN_EMAIL, role="admin")
    admin.totp_secret, admin.totp_confirmed_at = ADMIN_TOTP_SECRET, NOW
    db.commit()
    dana = add_user(db, DANA_EMAIL, therapist_id=people["dana"])
    marcus = add_user(db, MARCUS_EMAIL, therapist_id=people["marcus"])
    return {"admin": admin.id, "dana": dana.id, "marcus": marcus.id}


@pytest.fixture
def as_admin(web, staff) -> TestClient:
    assert sign_in(web, ADMIN_EMAIL).status_code == 303
    return web


@pytest.fixture
def as_dana(web, staff) -> TestClient:
    assert sign_in(web, DANA_EMAIL).status_code == 303
    return web


@pytest.fixture
def web_driver(web) -> TwilioDriver:
    return TwilioDriver(
        web,
        auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        line_number=LINE_NUMBER,
        status_callback_path="/twilio/voice/status",
    )
