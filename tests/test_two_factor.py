"""TOTP two-factor sign-in: the code step, enrolling (QR, secret, recovery codes), who must have
it, codes not taken twice, recovery codes once each, an admin's reset (dashboard and
`coachline reset-two-factor`), and strong passwords."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app import cli_support as cli_module
from app import two_factor, users
from app.cli import cli
from app.domain import Invalid
from app.models import PracticeSetting, RecoveryCode, User
from tests.conftest import NOW
from tests.helpers import audit_log
from tests.test_web_support import (
    ADMIN_EMAIL,
    ADMIN_TOTP_SECRET,
    CODE_STEP,
    DANA_EMAIL,
    ENROL_STEP,
    PASSWORD,
    csrf_of,
    enter_code,
    post_form,
    sign_in,
    sign_in_with_password,
    texts_of,
)

pytest_plugins = ["tests.test_web_support"]

runner = CliRunner()


def fresh(db, model, row_id: int):
    """The row as the database has it now (nothing kept from before: this file's tests change
    users through the test's own session too)."""
    db.rollback()
    db.expunge_all()
    return db.get(model, row_id)


def code_at(when=NOW, secret: str = ADMIN_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(when)


def is_signed_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


# ---- the code step ---------------------------------------------------------------------------


def test_the_password_alone_does_not_sign_in_a_user_with_two_factor(web, staff, db):
    first = sign_in_with_password(web, ADMIN_EMAIL, next_path="/schedule")
    assert (first.status_code, first.headers["location"]) == (303, CODE_STEP)
    assert not is_signed_in(web)
    # every page sends them back to the code, not to the password
    assert web.get("/clients", follow_redirects=False).headers["location"].startswith("/login")
    assert web.get("/login", follow_redirects=False).headers["location"] == CODE_STEP
    page = web.get(CODE_STEP)
    assert 'autocomplete="one-time-code"' in page.text
    done = enter_code(web, code_at())
    assert (done.status_code, done.headers["location"]) == (303, "/schedule")
    assert is_signed_in(web)


def test_a_wrong_code_is_refused_and_counts_as_a_failure(web, staff, db):
    sign_in_with_password(web, ADMIN_EMAIL)
    wrong = enter_code(web, "000000" if code_at() != "000000" else "111111")
    assert wrong.status_code == 401 and "That code is not right" in texts_of(wrong.text)
    assert not is_signed_in(web)
    assert fresh(db, User, staff["admin"]).failed_logins == 1


def test_codes_one_step_either_side_are_taken_and_no_further(web, staff):
    for offset, taken in ((-60, False), (60, False), (-30, True)):
        web.cookies.clear()
        sign_in_with_password(web, ADMIN_EMAIL)
        answer = enter_code(web, code_at(NOW + timedelta(seconds=offset)))
        assert (answer.status_code == 303) is taken, offset


def test_a_code_is_not_taken_twice(app, web, staff):
    sign_in_with_password(web, ADMIN_EMAIL)
    assert enter_code(web, code_at()).status_code == 303
    # someone who saw the code (and knows the password) tries it again, on another browser
    with TestClient(app, base_url="https://testserver") as other:
        sign_in_with_password(other, ADMIN_EMAIL)
        assert enter_code(other, code_at()).status_code == 401
        # nor an earlier one, still in the window; the next step's code is taken
        assert enter_code(other, code_at(NOW - timedelta(seconds=30))).status_code == 401
        assert enter_code(other, code_at(NOW + timedelta(seconds=30))).status_code == 303


def test_the_code_step_expires_ten_minutes_after_the_password(web, staff, line):
    sign_in_with_password(web, ADMIN_EMAIL)
    line.clock = lambda: NOW + timedelta(minutes=11)
    late = enter_code(web, code_at(NOW + timedelta(minutes=11)))
    assert (late.status_code, late.headers["location"]) == (303, "/login")


def test_a_recovery_code_works_once(web, staff, db):
    admin = fresh(db, User, staff["admin"])
    codes = two_factor.new_recovery_codes(db, NOW, admin)
    db.commit()
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.scalars(select(RecoveryCode.code_hash)).all()
    assert not any(code in stored for code in codes)  # kept as SHA-256 only

    sign_in_with_password(web, ADMIN_EMAIL)
    assert enter_code(web, codes[3].upper()).status_code == 303
    assert [e.action for e in audit_log(db, "user", admin.id)][-1] == "recovery_code_used"
    web.cookies.clear()
    sign_in_with_password(web, ADMIN_EMAIL)
    assert enter_code(web, codes[3]).status_code == 401
    assert two_factor.recovery_codes_left(db, admin.id) == 9


# ---- enrolling -------------------------------------------------------------------------------


def _enrol_page(client: TestClient) -> tuple[str, str]:
    page = client.get(ENROL_STEP)
    assert page.status_code == 200
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    return secret, page.text


def test_an_admin_without_two_factor_must_enrol_before_any_page(web, staff, db):
    admin = fresh(db, User, staff["admin"])
    admin.totp_secret = admin.totp_confirmed_at = None
    db.commit()
    first = sign_in_with_password(web, ADMIN_EMAIL, next_path="/users")
    assert first.headers["location"] == ENROL_STEP
    for path in ("/", "/users", "/settings"):
        assert web.get(path, follow_redirects=False).status_code != 200
    assert web.get("/login", follow_redirects=False).headers["location"] == ENROL_STEP

    secret, html = _enrol_page(web)
    assert "<svg" in html and "otpauth" not in html.split("<svg")[0]
    uri = two_factor.otpauth_uri(secret, ADMIN_EMAIL, "St. Louis DBT")
    assert uri.startswith("otpauth://totp/St.%20Louis%20DBT:admin%40example.org?secret=")
    assert "issuer=St.%20Louis%20DBT" in uri
    # the same secret while they enrol (a reload does not change the QR code)
    assert _enrol_page(web)[0] == secret

    wrong = web.post(ENROL_STEP, data={"code": "12345", "csrf_token": csrf_of(html)})
    assert wrong.status_code == 422 and fresh(db, User, admin.id).totp_confirmed_at is None
    codes = web.post(ENROL_STEP, data={"code": code_at(secret=secret), "csrf_token": csrf_of(html)})
    assert codes.status_code == 200
    shown = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", codes.text)
    assert len(shown) == 10
    assert is_signed_in(web)
    admin = fresh(db, User, admin.id)
    assert admin.totp_confirmed_at == NOW and admin.totp_secret == secret
    assert "two_factor_on" in [e.action for e in audit_log(db, "user", admin.id)]
    done = web.post(
        "/two-factor/done",
        data={"next": "/users", "csrf_token": csrf_of(codes.text)},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/users"


def test_enrolling_cannot_replace_a_code_that_is_on(web, staff, db):
    sign_in_with_password(web, ADMIN_EMAIL)
    assert web.get(ENROL_STEP, follow_redirects=False).headers["location"] == "/login"
    assert fresh(db, User, staff["admin"]).totp_secret == ADMIN_TOTP_SECRET


def test_therapists_enrol_when_the_practice_asks(web, staff, db):
    assert sign_in(web, DANA_EMAIL).status_code == 303  # not asked by default
    web.cookies.clear()
    db.add(PracticeSetting(key="require_two_factor_for_therapists", value=True, updated_at=NOW))
    db.commit()
    assert sign_in_with_password(web, DANA_EMAIL).headers["location"] == ENROL_STEP
    assert sign_in(web, DANA_EMAIL).status_code == 303  # the helper enrols
    assert fresh(db, User, staff["dana"]).totp_confirmed_at == NOW


def test_the_settings_page_has_the_therapists_checkbox(as_admin, db):
    page = as_admin.get("/settings")
    assert 'name="require_two_factor_for_therapists"' in page.text


def test_a_signed_in_therapist_may_enrol_by_choice(as_dana, db, staff):
    secret, html = _enrol_page(as_dana)
    answer = as_dana.post(
        ENROL_STEP, data={"code": code_at(secret=secret), "csrf_token": csrf_of(html)}
    )
    assert answer.status_code == 200 and "shown only once" in answer.text
    assert fresh(db, User, staff["dana"]).totp_confirmed_at == NOW


# ---- an admin's reset ------------------------------------------------------------------------


def test_an_admin_resets_a_users_two_factor_on_the_users_page(app, as_admin, staff, db):
    dana = fresh(db, User, staff["dana"])
    dana.totp_secret, dana.totp_confirmed_at = pyotp.random_base32(), NOW
    db.commit()
    page = as_admin.get("/users")
    assert f"/users/{staff['dana']}/reset-two-factor" in page.text
    assert f"/users/{staff['admin']}/reset-two-factor" not in page.text  # not oneself
    post_form(as_admin, "/users", f"/users/{staff['dana']}/reset-two-factor", {})
    dana = fresh(db, User, staff["dana"])
    assert (dana.totp_secret, dana.totp_confirmed_at) == (None, None)
    entry = audit_log(db, "user", dana.id)[-1]
    assert (entry.action, entry.actor) == ("reset_two_factor", ADMIN_EMAIL)


def test_coachline_reset_two_factor(line, staff, db, monkeypatch):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    result = runner.invoke(cli, ["reset-two-factor", ADMIN_EMAIL])
    assert result.exit_code == 0, result.output
    assert "Reset two-factor sign-in for admin@example.org" in result.stdout
    admin = fresh(db, User, staff["admin"])
    assert admin.totp_confirmed_at is None
    entry = audit_log(db, "user", admin.id)[-1]
    assert entry.action == "reset_two_factor" and entry.actor.startswith("cli:")
    unknown = runner.invoke(cli, ["reset-two-factor", "who@example.org"])
    assert unknown.exit_code == 1 and "no user with that email" in unknown.output


# ---- passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("aaaaaaaaaa", "too easy to guess"),
        ("1234567890", "common password"),
        ("password123!", "too easy to guess"),
        ("dana.whitfield-2026", "must not contain your email"),
        ("Dana.Whitfield@Example.org!", "must not contain your email"),
        ("short", "at least 10 characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, says):
    with pytest.raises(Invalid) as refused:
        users.check_password_rules(password, "dana.whitfield@example.org")
    assert says in refused.value.message


def test_a_strong_password_passes():
    users.check_password_rules(PASSWORD, "dana@example.org")
    users.check_password_rules("plum kettle orbit lantern", "dana@example.org")


def test_set_password_refuses_a_common_password(line, db, monkeypatch):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    db.add(User(email="ines@example.org", role="admin"))
    db.commit()
    result = runner.invoke(
        cli, ["set-password", "ines@example.org"], input="1234567890\n1234567890\n"
    )
    assert result.exit_code == 1 and "common password" in result.output


def test_the_qr_code_scales_whole_rather_than_being_cropped():
    """The page's CSS sizes the code: an SVG with a fixed width and height and no viewBox was
    cropped to that box (a cropped code does not scan)."""
    from app.two_factor import qr_svg

    svg = qr_svg("otpauth://totp/St.%20Louis%20DBT:dana%40example.org?secret=JBSWY3DPEHPK3PXP")
    opening = svg[: svg.index(">")]
    assert "viewBox=" in opening
    assert "width=" not in opening and "height=" not in opening
