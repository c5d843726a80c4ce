"""The phone simulator in Chromium: the TwiML panels wrap inside the page at desktop and phone
widths, and a call left while it rings (the page closed, or another page opened) ends, shown
in Logs as a missed call rather than "Ringing" forever."""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here)
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.models import Call, Client
from tests.test_web_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    _dial_as,
    _phone_of,
    _sign_in,
    browser,
    expect,
    served,
    shots,
)

WIDER = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _context(browser, size: str):
    if size == "phone":
        return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return browser.new_context(viewport=DESKTOP)


def _calls_of(served, name: str) -> list[Call]:
    with served.line.sessions() as session:
        client_id = session.scalar(select(Client.id).where(Client.name == name))
        calls = session.scalars(select(Call).where(Call.client_id == client_id).order_by(Call.id))
        return list(calls)


def _until_ended(served, name: str, seconds: float = 10) -> Call:
    deadline = time.monotonic() + seconds
    while True:
        call = _calls_of(served, name)[-1]
        if call.ended_at is not None or time.monotonic() > deadline:
            return call
        time.sleep(0.1)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_twiml_panels_wrap_inside_the_page(browser, served, shots, size):
    context = _context(browser, size)
    page = context.new_page()
    try:
        _sign_in(page, served)
        _dial_as(page, served, _phone_of(served.line, "Riley Tran"))
        expect(page.locator(".sim-next")).to_contain_text("The line is ringing")
        for summary in page.locator(".sim-steps summary").all():
            summary.click()  # every "TwiML returned" and "Request posted" panel open
        expect(page.locator(".sim-steps pre").first).to_contain_text("<Response>")
        wider = page.evaluate(WIDER)
        page.screenshot(path=str(shots / f"{size}-simulator-twiml-open.png"), full_page=True)
        assert wider <= 1, f"the simulator is {wider}px wider than the {size} screen"
        # the text reply's panels too
        page.get_by_label("Who texts").select_option(_phone_of(served.line, "Riley Tran"))
        page.get_by_label("Message").fill("check-in")
        with page.expect_navigation():
            page.get_by_role("button", name="Send").click()
        for summary in page.locator(".sim-text summary").all():
            summary.click()
        expect(page.locator(".sim-text pre").first).to_contain_text("<Message>")
        assert page.evaluate(WIDER) <= 1
    finally:
        context.close()


def test_closing_the_page_while_it_rings_ends_the_call(browser, served, shots):
    context = _context(browser, "desktop")
    page = context.new_page()
    try:
        _sign_in(page, served)
        _dial_as(page, served, _phone_of(served.line, "Riley Tran"))
        expect(page.locator(".sim-next")).to_contain_text("The line is ringing")
        assert _calls_of(served, "Riley Tran")[-1].outcome == "ringing"
        page.close()  # the tab is closed before anyone answers
        call = _until_ended(served, "Riley Tran")
        assert (call.outcome, call.twilio_status) == ("caller_hung_up", "completed")

        logs = context.new_page()
        logs.goto(served.base + "/logs")
        row = logs.locator("main tr", has_text="Riley Tran")
        expect(row).to_have_count(1)
        assert "Ringing" not in row.inner_text()
        logs.screenshot(path=str(shots / "desktop-logs-after-closed-simulator.png"), full_page=True)
    finally:
        context.close()


def test_a_step_keeps_the_call_and_leaving_for_another_page_ends_it(browser, served):
    context = _context(browser, "desktop")
    page = context.new_page()
    try:
        _sign_in(page, served)
        _dial_as(page, served, _phone_of(served.line, "Riley Tran"))
        with page.expect_navigation():
            page.get_by_role("button", name="Don't answer").click()
        # a step of the call is not leaving it: the wait-time script now waits for a key
        expect(page.locator(".sim-steps")).to_contain_text("Dial action: no answer")
        expect(page.locator(".sim-next")).to_contain_text("Press keys")
        time.sleep(0.5)
        assert _calls_of(served, "Riley Tran")[-1].ended_at is None
        sim_id = page.locator("[data-waiting-call]").get_attribute("data-waiting-call")
        page.goto(served.base + "/clients")  # another page: the caller is gone
        call = _until_ended(served, "Riley Tran")
        assert call.twilio_status == "completed"
        page.goto(f"{served.base}/simulator?call={sim_id}")  # the call shows as over
        expect(page.locator(".sim-ended")).to_contain_text("the simulator's page was closed")
    finally:
        context.close()
