"""Managing people in Chromium, at desktop and phone widths (issue 26, item 1): the admin adds a
therapist (a mistake said beside its field first), gives them a login and a link to choose its
password; the therapist opens the link in their own browser, chooses a password and signs in;
the admin deactivates the therapist, which signs them out. Every page is screenshotted
(WEB_SCREENSHOTS) and must fit the screen."""

from __future__ import annotations

import pytest

from tests.test_web_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    _sign_in,
    browser,
    expect,
    served,
    shots,
)

EMAIL = "priya@example.org"
PASSWORD = "lantern orchard quietly 58"


def _fits(page, size: str, what: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{what} is {overflow}px wider than the {size} screen"


def _context(browser, size: str):  # noqa: F811
    if size == "phone":
        return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return browser.new_context(viewport=DESKTOP)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_add_a_therapist_give_a_login_by_link_and_deactivate(browser, served, shots, size):  # noqa: F811
    admin_context, owner_context = _context(browser, size), _context(browser, size)
    page, owner = admin_context.new_page(), owner_context.new_page()

    def shot(name: str, on=page) -> None:
        _fits(on, size, name)
        on.screenshot(path=str(shots / f"{size}-people-{name}.png"), full_page=True)

    try:
        _sign_in(page, served)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Therapists").click()
        expect(page.locator("h1")).to_have_text("Therapists")
        expect(page.locator("main table")).to_contain_text("Dana Whitfield")
        shot("therapists")

        page.get_by_role("link", name="Add a therapist").click()
        page.get_by_label("Full name").fill("Priya Natarajan")
        page.get_by_label("Mobile phone").fill("555 01")
        page.get_by_role("button", name="Add therapist").click()
        expect(page.locator("#phone-error")).to_be_visible()
        assert page.get_by_label("Mobile phone").get_attribute("aria-invalid") == "true"
        shot("therapist-refused")
        page.get_by_label("Mobile phone").fill("(314) 555-0177")
        page.get_by_role("button", name="Add therapist").click()
        expect(page.get_by_role("status").first).to_contain_text("Added Priya Natarajan.")
        row = page.locator("tr", has_text="Priya Natarajan")
        expect(row).to_contain_text("ending in 77")
        expect(row).to_contain_text("not set")
        shot("therapist-added")

        row.get_by_role("link", name="Add a login for Priya Natarajan").click()
        assert page.get_by_label("The therapist they are").input_value() != ""
        page.get_by_label("Email").fill(EMAIL)
        shot("login-form")
        page.get_by_role("button", name="Add login").click()
        expect(page.locator("#login-status")).to_contain_text("no password yet")
        shot("login-password")
        page.get_by_role("button", name="Make a link").click()
        link = page.get_by_label(f"Link for {EMAIL}").input_value()
        assert link.startswith(served.base + "/password-link/")
        shot("login-link")
        page.get_by_role("link", name="Done: back to Users").click()
        expect(page.locator("tr", has_text=EMAIL)).to_contain_text("no password yet")
        shot("users")

        # the therapist, in their own browser
        owner.goto(link)
        expect(owner.locator("h1")).to_have_text("Choose your password")
        owner.get_by_label("New password").fill("password123")
        owner.get_by_label("The same password again").fill("password123")
        owner.get_by_role("button", name="Save my password").click()
        expect(owner.get_by_role("alert")).to_contain_text("too easy to guess")
        shot("link-refused", owner)
        owner.get_by_label("New password").fill(PASSWORD)
        owner.get_by_label("The same password again").fill(PASSWORD)
        owner.get_by_role("button", name="Save my password").click()
        owner.wait_for_url(served.base + "/login")
        expect(owner.get_by_role("status").first).to_contain_text("Your password is set.")
        _sign_in(owner, served, EMAIL, PASSWORD)
        owner.goto(link)
        expect(owner.locator("h1")).to_have_text("This link no longer works")
        shot("link-used", owner)

        # the admin deactivates her: her open page is signed out
        page.goto(served.base + "/therapists")
        page.locator("tr", has_text="Priya Natarajan").get_by_role("link", name="Edit").click()
        shot("therapist-edit")
        page.get_by_role("button", name="Deactivate Priya Natarajan").click()
        expect(page.get_by_role("status").first).to_contain_text(
            "Priya Natarajan is inactive: the line no longer rings or texts them. Their login "
            "is disabled"
        )
        expect(page.locator("tr", has_text="Priya Natarajan")).to_contain_text("inactive")
        shot("therapist-deactivated")
        owner.goto(served.base + "/clients")
        assert owner.url.startswith(served.base + "/login")
    finally:
        admin_context.close()
        owner_context.close()
