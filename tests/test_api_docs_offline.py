"""/docs and /redoc without internet (issue 26, item 4): Chromium with every request that is not
to the line itself aborted. Swagger UI must list the API's operations and run one with a token;
ReDoc must show the document; nothing may be asked of another host. Screenshots at desktop and
phone widths (WEB_SCREENSHOTS)."""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here)
from __future__ import annotations

import pytest

from app import users
from tests.conftest import NOW
from tests.test_web_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    _sign_in,
    browser,
    expect,
    served,
    shots,
)

WIDER = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _offline_page(browser, served, size: str):
    """A signed-in page whose requests to anywhere but the line are aborted and noted, with
    what the pages' Content-Security-Policy refused (noted too)."""
    if size == "phone":
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(viewport=DESKTOP)
    elsewhere: list[str] = []

    def only_the_line(route):
        if route.request.url.startswith(served.base + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_line)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            elsewhere.append(f"refused by the policy: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    _sign_in(page, served)
    return context, page, elsewhere


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_swagger_ui_renders_the_api_offline_and_runs_a_request(browser, served, shots, size):
    with served.line.sessions() as session:
        _user, token = users.create_user(
            session, "test", NOW, email="script@example.org", role="admin"
        )
        session.commit()
    context, page, elsewhere = _offline_page(browser, served, size)
    try:
        page.goto(served.base + "/docs")
        expect(page.locator(".swagger-ui .info")).to_contain_text(
            "Signing in: an API token", timeout=30_000
        )
        operations = page.locator(".opblock")
        expect(operations.first).to_be_visible()
        document = page.request.get(served.base + "/openapi.json").json()
        listed = sum(len(methods) for methods in document["paths"].values())
        assert listed > 30 and operations.count() == listed  # every operation, rendered
        summaries = page.locator(".opblock-summary-description")
        expect(summaries.filter(has_text="Record a self-harm event")).to_have_count(1)
        expect(page.locator(".opblock-tag-section h3").first).to_contain_text("therapists")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/clients/{client_id}/lockouts" in [p.replace("\u200b", "") for p in paths]
        assert not [p for p in paths if "twilio" in p]  # the webhooks are Twilio's alone
        page.screenshot(path=str(shots / f"{size}-api-docs-swagger.png"))

        # authorize with a token and run "List therapists" from the page
        page.get_by_role("button", name="Authorize").first.click()
        page.locator("#auth-bearer-value").fill(token)
        page.get_by_role("button", name="Apply credentials").click()
        page.locator(".auth-btn-wrapper .btn-done").click()
        listing = page.locator("#operations-therapists-list_therapists_api_therapists_get")
        listing.locator(".opblock-summary").click()
        listing.get_by_role("button", name="Try it out").click()
        listing.get_by_role("button", name="Execute").click()
        status = listing.locator(".live-responses-table tbody .response-col_status").first
        expect(status).to_have_text("200")
        expect(listing.locator(".live-responses-table")).to_contain_text("Dana Whitfield")
        status.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{size}-api-docs-swagger-run.png"))
        assert page.evaluate(WIDER) <= 1, f"/docs is wider than the {size} screen"
        assert elsewhere == [], f"/docs asked other hosts for {elsewhere}"
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_redoc_renders_the_api_offline(browser, served, shots, size):
    context, page, elsewhere = _offline_page(browser, served, size)
    try:
        page.goto(served.base + "/redoc")
        # ReDoc's one 1 MB bundle parses slowly on a busy machine: more than expect's 5 s.
        expect(page.locator("h1").first).to_contain_text("coachline", timeout=30_000)
        expect(page.get_by_role("heading", name="Signing in: an API token")).to_be_visible()
        record = page.get_by_role("heading", name="Record a self-harm event (the 24-hour rule)")
        expect(record).to_have_count(1)
        assert "/twilio/voice" not in page.locator("body").inner_text()
        page.screenshot(path=str(shots / f"{size}-api-docs-redoc.png"))
        # only ReDoc's own logo, which it always asks cdn.redoc.ly for, refused by the page's
        # policy before any request is made
        page.wait_for_timeout(500)
        assert len(elsewhere) <= 1 and all("cdn.redoc.ly" in e for e in elsewhere), elsewhere
        assert not [e for e in elsewhere if not e.startswith("refused by the policy")]
    finally:
        context.close()
