"""Managing people on the dashboard (issue 26, item 1): the Therapists page (the list, adding,
editing, deactivating and reactivating), adding a login, and giving a login a password (typed by
the admin, or a one-time link its owner opens). What the admin reads, the rows saved, the audit
entries; and a therapist refused."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.jsonlog import redact
from app.models import ApiToken, Therapist, User
from tests.conftest import NOW
from tests.helpers import audit_log, fresh
from tests.test_web_support import (
    ADMIN_EMAIL,
    DANA_EMAIL,
    MARCUS_EMAIL,
    PASSWORD,
    csrf_of,
    post_form,
    sign_in,
    texts_of,
)

pytest_plugins = ["tests.test_web_support"]

GOOD_PASSWORD = "lantern orchard quietly 58"
_LINK = re.compile(r"https://line\.example\.org(/password-link/[A-Za-z0-9_-]+)")


def row_of(html: str, element_id: str) -> str:
    """The text of one table row, found by its id."""
    match = re.search(rf'<tr id="{element_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {element_id}"
    return texts_of(match.group(1))


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="{name}-error"[^>]*>(.*?)</p>', html, re.S)
    return texts_of(match.group(1)) if match else ""


# ---- the Therapists page -----------------------------------------------------------------------


def test_the_therapists_page_says_what_each_therapist_needs(as_admin, staff, people, db):
    marcus = db.get(Therapist, people["marcus"])
    marcus.sms_opted_out, marcus.pin_hash = True, None
    db.commit()
    page = as_admin.get("/therapists")
    assert page.status_code == 200
    dana = row_of(page.text, f"therapist-{people['dana']}")
    assert dana.startswith("Dana Whitfield Edit Dana Whitfield · 1 client")
    assert "•••11ending in 11 active set Change the PIN" in dana
    assert f"{DANA_EMAIL} Add a login for Dana Whitfield can receive" in dana
    marcus_row = row_of(page.text, f"therapist-{people['marcus']}")
    assert "not set Set the PIN for Marcus Oyelaran" in marcus_row
    assert "blocked (they replied STOP; START undoes it)" in marcus_row
    assert f'href="/schedule/pin/{people["marcus"]}"' in page.text
    # only the last two digits, in any form
    for shown in ("+13145550111", "555-0111", "5550111"):
        assert shown not in page.text
    # the way there: the navigation, and the Users page
    assert '<a href="/therapists" aria-current="page">Therapists</a>' in page.text
    assert 'href="/therapists"' in as_admin.get("/users").text


def test_an_admin_adds_a_therapist_and_mistakes_are_said_beside_their_field(as_admin, db):
    refused = post_form(
        as_admin, "/therapists/new", "/therapists/new", {"name": "  ", "phone": "555"}
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "name") == "Name must not be empty."
    assert field_error(refused.text, "phone") == "Phone is not a valid phone number."
    assert "Not saved: 2 things to fix" in texts_of(refused.text)
    assert 'value="555"' in refused.text  # what was typed stays, to be corrected

    taken = post_form(
        as_admin,
        "/therapists/new",
        "/therapists/new",
        {"name": "Priya Natarajan", "phone": "+1 314 555 0142"},  # Riley's
    )
    assert field_error(taken.text, "phone") == "That phone number already belongs to a client."
    assert "Riley" not in taken.text
    assert db.scalar(select(Therapist).where(Therapist.name == "Priya Natarajan")) is None

    done = post_form(
        as_admin,
        "/therapists/new",
        "/therapists/new",
        {"name": "Priya Natarajan", "phone": "(314) 555-0177"},
    )
    assert done.status_code == 200 and done.url.path == "/therapists"
    said = texts_of(done.text)
    assert "Added Priya Natarajan. Next: their phone-menu PIN and a login" in said
    priya = db.scalar(select(Therapist).where(Therapist.name == "Priya Natarajan"))
    assert (priya.phone, priya.active, priya.pin_hash) == ("+13145550177", True, None)
    row = row_of(done.text, f"therapist-{priya.id}")
    assert "•••77ending in 77 active not set" in row and "none Add a login" in row
    [entry] = audit_log(db, "therapist", priya.id)
    assert (entry.actor, entry.action) == (ADMIN_EMAIL, "create")

    abroad = post_form(
        as_admin,
        "/therapists/new",
        "/therapists/new",
        {"name": "Ada Brennan", "phone": "+44 20 7946 0958"},
    )
    assert abroad.url.path == "/therapists"
    assert db.scalar(select(Therapist.phone).where(Therapist.name == "Ada Brennan")) == (
        "+442079460958"
    )


def test_an_admin_edits_a_therapist(as_admin, people, db):
    dana = people["dana"]
    form = as_admin.get(f"/therapists/{dana}/edit")
    assert 'value="(314) 555-0111"' in form.text  # the whole number, where it is needed
    taken = post_form(
        as_admin,
        f"/therapists/{dana}/edit",
        f"/therapists/{dana}/edit",
        {"name": "Dana Whitfield", "phone": "314 555 0112"},  # Marcus's
    )
    assert taken.status_code == 422
    assert field_error(taken.text, "phone") == "That phone number already belongs to a therapist."

    done = post_form(
        as_admin,
        f"/therapists/{dana}/edit",
        f"/therapists/{dana}/edit",
        {"name": "Dana Whitfield-Cole", "phone": "314.555.0118"},
    )
    assert "Saved Dana Whitfield-Cole." in texts_of(done.text)
    row = fresh(db, Therapist, dana)
    assert (row.name, row.phone) == ("Dana Whitfield-Cole", "+13145550118")
    entry = audit_log(db, "therapist", dana)[-1]
    assert (entry.actor, entry.action) == (ADMIN_EMAIL, "update")
    assert entry.changes["name"] == {"from": "Dana Whitfield", "to": "Dana Whitfield-Cole"}


def test_deactivating_a_therapist_ends_their_access_and_reactivating_does_not_restore_it(
    app, as_admin, staff, people, db
):
    dana = people["dana"]
    with TestClient(app, base_url="https://testserver") as dana_browser:
        assert sign_in(dana_browser, DANA_EMAIL).status_code == 303
        edit = as_admin.get(f"/therapists/{dana}/edit")
        assert "calls from their 1 client go to whoever is on call" in texts_of(edit.text)
        assert "Their login is disabled at once: signed out everywhere" in texts_of(edit.text)
        done = post_form(as_admin, f"/therapists/{dana}/edit", f"/therapists/{dana}/deactivate", {})
        said = texts_of(done.text)
        assert (
            "Dana Whitfield is inactive: the line no longer rings or texts them. Their login is "
            "disabled: signed out everywhere, its API tokens revoked." in said
        )
        assert "Riley" not in said
        assert "inactive" in row_of(done.text, f"therapist-{dana}")
        assert fresh(db, Therapist, dana).active is False
        assert fresh(db, User, staff["dana"]).disabled_at == NOW
        signed_out = dana_browser.get("/", follow_redirects=False)
        assert signed_out.headers["location"] == "/login"

    therapist_entry = audit_log(db, "therapist", dana)[-1]
    assert therapist_entry.changes == {"active": {"from": True, "to": False}}
    user_entry = audit_log(db, "user", staff["dana"])[-1]
    assert (user_entry.action, user_entry.reason) == ("disable", "therapist deactivated")

    done = post_form(as_admin, f"/therapists/{dana}/edit", f"/therapists/{dana}/reactivate", {})
    assert (
        "Dana Whitfield is active again: the line can ring and text them. Their login stays "
        "disabled until you enable it on the Users page." in texts_of(done.text)
    )
    assert fresh(db, Therapist, dana).active is True
    assert fresh(db, User, staff["dana"]).disabled_at is not None
    assert audit_log(db, "therapist", dana)[-1].changes == {"active": {"from": False, "to": True}}


# ---- logins ------------------------------------------------------------------------------------


def test_an_admin_adds_a_login_and_types_its_password(app, as_admin, staff, people, db):
    form = as_admin.get(f"/users/new?therapist_id={people['marcus']}")
    assert f'<option value="{people["marcus"]}" selected>' in form.text

    no_therapist = post_form(
        as_admin, "/users/new", "/users/new", {"email": "lee@example.org", "role": "therapist"}
    )
    assert no_therapist.status_code == 422
    assert field_error(no_therapist.text, "therapist_id") == (
        "Choose the therapist this login is for."
    )
    for email, said in (
        ("not an email", "Not a valid email address."),
        (MARCUS_EMAIL, "A user with that email already exists."),
    ):
        refused = post_form(
            as_admin,
            "/users/new",
            "/users/new",
            {"email": email, "role": "therapist", "therapist_id": str(people["marcus"])},
        )
        assert refused.status_code == 422 and field_error(refused.text, "email") == said

    made = post_form(
        as_admin,
        "/users/new",
        "/users/new",
        {"email": "M.Oyelaran@Example.org", "role": "therapist", "therapist_id": people["marcus"]},
    )
    user = db.scalar(select(User).where(User.email == "m.oyelaran@example.org"))
    assert made.url.path == f"/users/{user.id}/password"
    assert "Added the login m.oyelaran@example.org." in texts_of(made.text)
    assert "no password yet: they cannot sign in" in texts_of(made.text)
    assert (user.role, user.therapist_id, user.password_hash) == (
        "therapist",
        people["marcus"],
        None,
    )
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []
    [created] = audit_log(db, "user", user.id)
    assert (created.actor, created.action) == (ADMIN_EMAIL, "create")

    page = f"/users/{user.id}/password"
    weak = post_form(
        as_admin, page, page, {"password": "password123", "password_again": "password123"}
    )
    assert weak.status_code == 422
    assert field_error(weak.text, "password").startswith("That password is too easy to guess")
    assert "password123" not in weak.text
    differ = post_form(
        as_admin, page, page, {"password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD + "x"}
    )
    assert field_error(differ.text, "password") == "The two passwords are not the same."
    assert fresh(db, User, user.id).password_hash is None

    done = post_form(
        as_admin, page, page, {"password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}
    )
    assert done.url.path == "/users"
    assert "Set a new password for m.oyelaran@example.org" in texts_of(done.text)
    assert GOOD_PASSWORD not in done.text
    assert audit_log(db, "user", user.id)[-1].action == "set_password"
    with TestClient(app, base_url="https://testserver") as marcus:
        assert sign_in(marcus, "m.oyelaran@example.org", GOOD_PASSWORD).status_code == 303


def test_a_password_link_works_once_for_its_owner(app, as_admin, staff, db):
    marcus = staff["marcus"]
    page = f"/users/{marcus}/password"
    made = post_form(as_admin, page, f"/users/{marcus}/password-link", {})
    assert made.status_code == 200
    said = texts_of(made.text)
    assert "It is shown only now" in said and "until Sat Nov 28, 9:42 PM" in said
    path = _LINK.search(made.text).group(1)
    assert made.text.count(path) == 1
    entry = audit_log(db, "user", marcus)[-1]
    assert (entry.actor, entry.action) == (ADMIN_EMAIL, "password_link")
    assert path.rsplit("/", 1)[1] not in json.dumps(entry.changes)
    # the access log never holds it
    assert path.rsplit("/", 1)[1] not in redact(f'127.0.0.1 - "GET {path} HTTP/1.1" 200')

    with TestClient(app, base_url="https://testserver") as owner:
        opened = owner.get(path)
        assert opened.status_code == 200
        assert f"Choose your password For {MARCUS_EMAIL}" in texts_of(opened.text)
        # until it is used, the old password still signs in
        assert sign_in(owner, MARCUS_EMAIL, PASSWORD).status_code == 303
        owner.cookies.clear()
        opened = owner.get(path)
        weak = owner.post(
            path,
            data={
                "password": "marcus12345",
                "password_again": "marcus12345",
                "csrf_token": csrf_of(opened.text),
            },
        )
        assert weak.status_code == 422
        assert field_error(weak.text, "password") == (
            "The password must not contain your email or the part before the @."
        )
        done = owner.post(
            path,
            data={
                "password": GOOD_PASSWORD,
                "password_again": GOOD_PASSWORD,
                "csrf_token": csrf_of(weak.text),
            },
        )
        assert done.url.path == "/login"
        assert "Your password is set. Sign in with marcus@example.org" in texts_of(done.text)
        assert sign_in(owner, MARCUS_EMAIL, PASSWORD).status_code == 401
        assert sign_in(owner, MARCUS_EMAIL, GOOD_PASSWORD).status_code == 303
        used = owner.get(path)
        assert used.status_code == 404 and "This link no longer works" in used.text
    entry = audit_log(db, "user", marcus)[-1]
    assert (entry.actor, entry.action) == (MARCUS_EMAIL, "set_password")


def test_a_password_link_that_is_altered_or_old_does_not_work(app, as_admin, staff):
    page = f"/users/{staff['dana']}/password"
    path = _LINK.search(post_form(as_admin, page, f"/users/{staff['dana']}/password-link", {}).text)
    path = path.group(1)
    user_id, expires, signature = path.rsplit("/", 1)[1].split("-", 2)
    with TestClient(app, base_url="https://testserver") as stranger:
        for altered in (
            f"/password-link/{staff['marcus']}-{expires}-{signature}",  # another user's
            f"/password-link/{user_id}-{int(expires) + 86400}-{signature}",  # a longer life
            "/password-link/nothing",
        ):
            refused = stranger.get(altered)
            assert refused.status_code == 404 and "This link no longer works" in refused.text
        assert stranger.get(path).status_code == 200
        app.state.line.clock = lambda: NOW + timedelta(hours=24, seconds=1)
        assert stranger.get(path).status_code == 404


def test_an_admin_gives_no_password_to_themself_here(as_admin, staff):
    refused = as_admin.get(f"/users/{staff['admin']}/password")
    assert refused.status_code == 403
    assert "coachline set-password" in texts_of(refused.text)
    users_page = as_admin.get("/users")
    assert f'href="/users/{staff["admin"]}/password"' not in users_page.text
    assert f'href="/users/{staff["dana"]}/password"' in users_page.text


def test_a_therapist_is_refused_every_people_page(as_dana, staff, people, db):
    for path in (
        "/therapists",
        "/therapists/new",
        f"/therapists/{people['marcus']}/edit",
        "/users/new",
        f"/users/{staff['marcus']}/password",
    ):
        refused = as_dana.get(path)
        assert refused.status_code == 403 and "Admins only" in refused.text, path
    token = csrf_of(as_dana.get("/").text)
    for action, data in (
        ("/therapists/new", {"name": "Eve Mallory", "phone": "(314) 555-0190"}),
        (f"/therapists/{people['marcus']}/deactivate", {}),
        ("/users/new", {"email": "eve@example.org", "role": "admin"}),
        (f"/users/{staff['marcus']}/password", {"password": GOOD_PASSWORD}),
        (f"/users/{staff['marcus']}/password-link", {}),
    ):
        refused = as_dana.post(action, data={**data, "csrf_token": token})
        assert refused.status_code == 403, action
    assert db.scalar(select(Therapist).where(Therapist.name == "Eve Mallory")) is None
    assert db.scalar(select(User).where(User.email == "eve@example.org")) is None
    assert fresh(db, Therapist, people["marcus"]).active is True
    assert [e.action for e in audit_log(db, "user", staff["marcus"])] == ["set_password"]


@pytest.mark.parametrize("path", ["/therapists/new", "/users/new"])
def test_the_forms_need_their_csrf_token(as_admin, path):
    refused = as_admin.post(path, data={"name": "Eve Mallory", "email": "eve@example.org"})
    assert refused.status_code == 403 and "This form has expired" in refused.text
