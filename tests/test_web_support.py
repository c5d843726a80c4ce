"""Shared fixtures and helpers for the dashboard's tests (no tests here).

The dashboard's cookie is Secure when PUBLIC_BASE_URL is https, as the test settings' is, so
the test client speaks https to the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import User
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


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/"):
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
