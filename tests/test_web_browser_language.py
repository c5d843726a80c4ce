"""A client's language in Chromium, at desktop and phone widths (issue 24, item 1): the admin adds
a client whose language is Spanish (the form says the line does not offer it yet), reads it on the
client's page and in the list, follows the hint to Settings, turns on Offer Spanish, and the hint
is gone. Every page is screenshotted (WEB_SCREENSHOTS) and must fit the screen."""

from __future__ import annotations

import pytest

from tests.test_web_browser import (  # noqa: F401 (fixtures)
    _sign_in,
    browser,
    expect,
    served,
    shots,
)
from tests.test_web_browser_people import _context, _fits

HINT = "Spanish is not offered on this line yet — turn on Offer Spanish in Settings"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_add_a_spanish_speaking_client_then_offer_spanish(browser, served, shots, size):  # noqa: F811
    context = _context(browser, size)
    page = context.new_page()

    def shot(name: str) -> None:
        _fits(page, size, name)
        page.screenshot(path=str(shots / f"{size}-language-{name}.png"), full_page=True)

    try:
        _sign_in(page, served)
        page.goto(served.base + "/clients/new")
        language = page.get_by_label("Language")
        expect(language).to_have_value("en")
        expect(page.locator("#language-hint")).to_contain_text(HINT)
        assert language.locator("option").all_inner_texts() == ["English", "Español"]
        page.get_by_label("Full name").fill("Lucía Ortega")
        page.get_by_label("Mobile phone").fill("(314) 555-0150")
        page.get_by_label("Primary therapist").select_option(label="Dana Whitfield")
        language.select_option("es")
        shot("client-form")
        page.get_by_role("button", name="Add client").click()

        expect(page.get_by_role("status").first).to_contain_text("Added Lucía Ortega.")
        expect(page.locator("main")).to_contain_text("Language: Spanish")
        note = page.locator("#language-not-offered")
        expect(note).to_have_text(HINT + ". Until then the line speaks English to Lucía.")
        shot("client-not-offered")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
        row = page.locator("tr", has_text="Lucía Ortega")
        expect(row).to_contain_text("Spanish (not offered yet)")
        expect(page.locator("tr", has_text="Riley Tran")).to_contain_text("English")
        shot("clients-not-offered")

        row.get_by_role("link", name="Lucía Ortega").click()
        note.get_by_role("link", name="Settings").click()
        offer = page.get_by_label("Offer Spanish")
        expect(offer).not_to_be_checked()
        offer.check()
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("status").first).to_contain_text("Saved.")
        voice = page.get_by_label("Spanish voice")
        expect(voice).to_have_value("Polly.Lupe-Neural")
        voice.scroll_into_view_if_needed()
        shot("settings-spanish")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
        row = page.locator("tr", has_text="Lucía Ortega")
        expect(row).to_contain_text("Spanish")
        expect(row).not_to_contain_text("not offered")
        shot("clients-offered")
        row.get_by_role("link", name="Lucía Ortega").click()
        expect(page.locator("main")).to_contain_text("Language: Spanish")
        expect(page.locator("#language-not-offered")).to_have_count(0)
        shot("client-offered")

        page.get_by_role("link", name="Edit").click()
        expect(page.get_by_label("Language")).to_have_value("es")
        expect(page.locator("#language-hint")).not_to_contain_text("not offered")
        shot("client-edit-offered")
    finally:
        context.close()
