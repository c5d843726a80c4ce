"""The dashboard end to end, in headless Chromium driven by Playwright.

The app is served by uvicorn on a free 127.0.0.1 port against the test database, with the demo
practice in it. Chromium is the system's (/usr/bin/chromium, or CHROMIUM_PATH): Playwright's
own browser download cannot work here. Without it these tests are skipped, saying why; under
CI=true that is a failure (`make test` installs it).

Each page is screenshotted at a desktop and at a phone size, into WEB_SCREENSHOTS when it is
set (a folder), else into the test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import delete, select

from app.demo import seed_demo
from app.line import Line
from app.main import create_app
from app.models import AttentionItem, Call, Client, Lockout, Message, Therapist, User
from ivr.codes import AttentionKind
from tests.conftest import IN_CI, NOW
from tests.test_web_support import add_user

try:
    from playwright.sync_api import expect
except ImportError:  # the tests skip (or fail under CI) in the `browser` fixture
    expect = None

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = (
    ("today", "/", "Today"),
    ("clients", "/clients", "Clients"),
    ("client", None, "Sam Okafor"),  # the locked-out client, found by name
    ("client-edit", None, "Edit Riley Tran"),
    ("schedule", "/schedule", "Schedule"),
    ("hours", None, "coaching hours"),
    ("logs", "/logs", "Logs"),
    ("texts", "/logs?show=messages", "Logs"),
    ("audit", "/audit", "Audit log"),
    ("settings", "/settings", "Practice settings"),
)


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, and tests after this module run their own (anyio.run, asyncio.run).
@pytest.fixture(scope="module")
def browser():
    reason = _why_no_browser()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests need Chromium: {reason} (required under CI=true)")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("WEB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, base: str, email: str, password: str, line: Line) -> None:
        self.base = base
        self.email = email
        self.password = password
        self.line = line


@pytest.fixture
def served(app, settings) -> Iterator[Served]:
    """The demo practice served over http on 127.0.0.1 (the `app` fixture cleans up after)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    demo = settings.model_copy(
        update={"twilio_account_sid": "", "twilio_auth_token": "", "public_base_url": base}
    )
    application = create_app(demo)
    line = application.state.line
    line.clock = lambda: NOW
    login = seed_demo(line)
    assert login is not None
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Served(base, *login, line)
    finally:
        server.should_exit = True
        thread.join(10)
        line.engine.dispose()


def _sign_in(page, served: Served, email: str | None = None, password: str | None = None):
    page.goto(served.base + "/")
    assert page.url == served.base + "/login"
    page.get_by_label("Email").fill(email or served.email)
    page.get_by_label("Password").fill(password or served.password)
    page.get_by_role("button", name="Sign in").click()
    if page.url == served.base + "/two-factor/enrol":  # the demo's admin sets up two-factor
        _enrol(page)
    page.wait_for_url(served.base + "/")


def _enrol(page, shots: Path | None = None, size: str = "desktop") -> None:
    """Two-factor with the secret the page shows, the code at the line's pinned clock."""
    import pyotp

    if shots is not None:
        page.screenshot(path=str(shots / f"two-factor-enrol-{size}.png"), full_page=True)
    secret = page.locator("#secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(NOW))
    page.get_by_role("button", name="Turn on two-factor").click()
    if shots is not None:
        page.screenshot(path=str(shots / f"two-factor-codes-{size}.png"), full_page=True)
    page.get_by_role("button", name="I have saved them: continue").click()


def _client_id(line: Line, name: str) -> int:
    with line.sessions() as session:
        return session.scalar(select(Client.id).where(Client.name == name))


def _therapist_id(line: Line, name: str) -> int:
    with line.sessions() as session:
        return session.scalar(select(Therapist.id).where(Therapist.name == name))


def _visit_every_page(page, served: Served, shots: Path, size: str) -> None:
    sam = _client_id(served.line, "Sam Okafor")
    riley = _client_id(served.line, "Riley Tran")
    for name, path, heading in PAGES:
        if name == "client":
            path = f"/clients/{sam}"
        elif name == "client-edit":
            path = f"/clients/{riley}/edit"
        elif name == "hours":
            path = f"/schedule/hours/{_therapist_id(served.line, 'Marcus Oyelaran')}"
        response = page.goto(served.base + path)
        assert response is not None and response.status == 200, path
        assert heading.lower() in page.locator("h1").inner_text().lower(), path
        # nothing wider than the screen: tables fold into rows on a phone
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} is {overflow}px wider than the {size} screen"
        page.screenshot(path=str(shots / f"{size}-{name}.png"), full_page=True)


def test_sign_in_visit_every_page_record_and_lift_a_lockout(browser, served, shots):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(served.base + "/login")
        page.screenshot(path=str(shots / "desktop-login.png"), full_page=True)
        # a wrong password first: the generic answer
        page.get_by_label("Email").fill(served.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("The email or password is not right.")
        page.screenshot(path=str(shots / "desktop-login-failed.png"), full_page=True)

        _sign_in(page, served)
        assert page.get_by_role("heading", name="On call now").is_visible()
        _visit_every_page(page, served, shots, "desktop")

        # a settings change, as the admin makes it
        page.goto(served.base + "/settings")
        page.get_by_label("Call time limit (minutes)").fill("12")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("status").first).to_contain_text("Saved.")
        assert page.get_by_label("Call time limit (minutes)").input_value() == "12"
        page.screenshot(path=str(shots / "desktop-settings-saved.png"), full_page=True)
        page.get_by_label("Call time limit (minutes)").fill("0")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
        page.screenshot(path=str(shots / "desktop-settings-refused.png"), full_page=True)

        # record a self-harm event for Riley from the client page, through the navigation
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
        page.get_by_label("Search by name or code").fill("rile")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        results = page.locator("main table").inner_text()
        assert "Riley Tran" in results and "Jordan Pike" not in results
        assert "rile" not in page.url  # a name typed in the search stays out of the URL
        page.get_by_role("link", name="Riley Tran").click()
        assert page.get_by_label("When it happened").input_value() == "2026-11-27T21:42"
        page.get_by_label("When it happened").fill("2026-11-27T20:00")
        page.get_by_label("Note (optional)").fill("Recorded from the browser test.")
        page.get_by_role("button", name="Start the 24-hour rule").click()
        expect(page.get_by_role("status").first).to_contain_text("until Sat Nov 28, 8:00 PM")
        expect(page.locator("#rule")).to_contain_text("Locked out until Sat Nov 28, 8:00 PM")
        page.screenshot(path=str(shots / "desktop-client-recorded.png"), full_page=True)

        # lifting without a reason: the browser asks for one; with one, it is lifted
        page.get_by_role("button", name="Lift lockout").click()
        assert page.get_by_label("Reason for lifting it").evaluate("e => !e.validity.valid")
        page.get_by_label("Reason for lifting it").fill("Recorded in error")
        page.get_by_role("button", name="Lift lockout").click()
        expect(page.get_by_role("status").first).to_contain_text(
            "Lifted. Riley Tran can reach coaching again."
        )
        expect(page.locator("#rule")).to_contain_text("Not locked out")
        page.screenshot(path=str(shots / "desktop-client-lifted.png"), full_page=True)
        with served.line.sessions() as session:
            lockout = session.scalars(
                select(Lockout).where(Lockout.client_id == _client_id(served.line, "Riley Tran"))
            ).one()
            assert (lockout.lifted_by, lockout.lift_reason) == (served.email, "Recorded in error")

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(served.base + "/login")
        assert "You are signed out." in page.content()
        page.goto(served.base + "/schedule")
        assert page.url.startswith(served.base + "/login")
    finally:
        context.close()


def test_every_page_fits_a_phone(browser, served, shots):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(served.base + "/login")
        page.screenshot(path=str(shots / "phone-login.png"), full_page=True)
        _sign_in(page, served)
        _visit_every_page(page, served, shots, "phone")
    finally:
        context.close()


def test_keyboard_skip_link_and_a_therapists_view(browser, served):
    dana = _therapist_id(served.line, "Dana Whitfield")
    with served.line.sessions() as session:
        add_user(session, "dana@example.org", therapist_id=dana)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, served, "dana@example.org", "correct horse battery")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        assert focused == "Skip to main content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        nav = page.get_by_role("navigation", name="Main").inner_text()
        assert "Audit" not in nav and "Settings" not in nav
        jordan = _client_id(served.line, "Jordan Pike")  # Marcus's client
        response = page.goto(f"{served.base}/clients/{jordan}")
        assert response is not None and response.status == 404
        assert "Not found" in page.locator("h1").inner_text()
    finally:
        context.close()


def _phone_of(line: Line, name: str) -> str:
    with line.sessions() as session:
        return session.scalar(select(Client.phone).where(Client.name == name))


def _dial_as(page, served: Served, phone: str) -> None:
    page.goto(served.base + "/simulator")
    page.get_by_label("Who dials").select_option(phone)
    with page.expect_navigation():
        page.get_by_role("button", name="Call", exact=True).click()


def test_the_simulator_follows_a_lockout_and_its_lifting(browser, served, shots):
    riley = _client_id(served.line, "Riley Tran")
    phone = _phone_of(served.line, "Riley Tran")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, served)
        # a self-harm event recorded on Riley's page starts the 24-hour rule
        page.goto(f"{served.base}/clients/{riley}")
        page.get_by_label("When it happened").fill("2026-11-27T20:00")
        page.get_by_role("button", name="Start the 24-hour rule").click()
        expect(page.locator("#rule")).to_contain_text("Locked out until")

        # dialing as Riley: the 24-hour-rule script, no therapist rung
        _dial_as(page, served, phone)
        steps = page.locator(".sim-steps")
        expect(steps).to_contain_text("The caller hears")
        expect(steps).to_contain_text("isn't available on this line right now")
        assert "The line is ringing" not in page.locator("main").inner_text()
        page.screenshot(path=str(shots / "desktop-simulator-locked-out.png"), full_page=True)

        # lift it with a reason on the client page
        page.goto(f"{served.base}/clients/{riley}")
        page.get_by_label("Reason for lifting it").fill("Recorded in error")
        page.get_by_role("button", name="Lift lockout").click()
        expect(page.locator("#rule")).to_contain_text("Not locked out")

        # dialing again: the line rings the therapist (the Dial step waits on them)
        _dial_as(page, served, phone)
        expect(page.locator(".sim-next")).to_contain_text("The line is ringing")
        page.screenshot(path=str(shots / "desktop-simulator-ringing.png"), full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="Answer and accept (press 1)").click()
        expect(steps).to_contain_text("The therapist hears")
        expect(steps).to_contain_text("The therapist presses 1")
        expect(steps).to_contain_text("Dial action: accepted, bridged")
        page.screenshot(path=str(shots / "desktop-simulator-bridged.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_simulator_answers_a_check_in_text(browser, served, shots, size):
    phone = _phone_of(served.line, "Riley Tran")
    if size == "phone":
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, served)
        page.goto(served.base + "/simulator")
        assert "Phone simulator" in page.locator("h1").inner_text()
        page.get_by_label("Who texts").select_option(phone)
        page.get_by_label("Message").fill("check-in")
        with page.expect_navigation():
            page.get_by_role("button", name="Send").click()
        expect(page.locator(".sim-replies")).to_contain_text(
            "How strong are your urges right now, 0-5?"
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        page.screenshot(path=str(shots / f"{size}-simulator-text.png"), full_page=True)
        if size == "phone":  # a call on the page too, for the screenshot
            _dial_as(page, served, phone)
            expect(page.locator(".sim-next")).to_contain_text("The line is ringing")
            page.screenshot(path=str(shots / "phone-simulator-ringing.png"), full_page=True)
            overflow = max(
                overflow,
                page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                ),
            )
        assert overflow <= 1, f"the simulator is {overflow}px wider than the {size} screen"
    finally:
        context.close()


def _add_attention_items(line: Line) -> None:
    """What Today's attention list shows: a crisis text, a plea, a voice message, a missed
    call past the call-back window and escalated, and a therapist who replied STOP."""
    riley = _client_id(line, "Riley Tran")
    jordan = _client_id(line, "Jordan Pike")
    dana = _therapist_id(line, "Dana Whitfield")
    marcus = _therapist_id(line, "Marcus Oyelaran")
    with line.sessions() as session:
        session.execute(delete(AttentionItem))  # the demo's own missed call: these instead

        def text(client_id: int, body: str, minutes_ago: int) -> int:
            message = Message(
                direction="inbound",
                kind="inbound",
                client_id=client_id,
                body=body,
                status="replied",
                created_at=NOW - timedelta(minutes=minutes_ago),
            )
            session.add(message)
            session.flush()
            return message.id

        def call(client_id: int, minutes_ago: int, **kw) -> int:
            row = Call(
                call_sid=f"CA{minutes_ago:032d}",
                client_id=client_id,
                route="coaching",
                outcome="wait_script",
                started_at=NOW - timedelta(minutes=minutes_ago),
                **kw,
            )
            session.add(row)
            session.flush()
            return row.id

        def item(kind: AttentionKind, client_id, therapist_id, minutes_ago: int, **kw) -> None:
            created = NOW - timedelta(minutes=minutes_ago)
            session.add(
                AttentionItem(
                    kind=kind,
                    client_id=client_id,
                    therapist_id=therapist_id,
                    created_at=created,
                    **kw,
                )
            )

        crisis = text(riley, "I don't think I can keep myself safe tonight, it's too much", 4)
        item(AttentionKind.CRISIS_TEXT, riley, dana, 4, message_id=crisis)
        plea = text(jordan, "having a really hard night can someone call me", 12)
        item(AttentionKind.CONTACT_PLEA, jordan, marcus, 12, message_id=plea)
        voice = call(riley, 35, voice_message_seconds=71)
        item(AttentionKind.VOICE_MESSAGE, riley, dana, 35, call_id=voice)
        missed = call(jordan, 170)
        item(
            AttentionKind.MISSED_CALL,
            jordan,
            marcus,
            170,
            call_id=missed,
            escalations=1,
            escalated_at=NOW - timedelta(minutes=50),
            escalated_to_id=dana,
        )
        session.get(Therapist, marcus).sms_opted_out = True
        item(AttentionKind.THERAPIST_UNREACHABLE, None, marcus, 60)
        session.commit()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_today_shows_the_attention_list_and_acknowledges_from_it(browser, served, shots, size):
    _add_attention_items(served.line)
    if size == "phone":
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, served)
        attention = page.locator("#attention")
        expect(attention).to_contain_text("Crisis words in a text: Riley Tran")
        expect(attention).to_contain_text("I don't think I can keep myself safe tonight")
        expect(page.get_by_role("navigation", name="Main")).to_contain_text("Today 5")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"Today is {overflow}px wider than the {size} screen"
        page.screenshot(path=str(shots / f"{size}-today-attention.png"), full_page=True)

        # A missed call needs a note: the browser asks for one; with it, it is returned.
        page.get_by_role("button", name="Mark returned (Missed call, Jordan Pike)").click()
        note = page.get_by_label("How you reached them (needed for a missed call)")
        assert note.evaluate("e => !e.validity.valid")
        note.fill("Reached Jordan on his cell; safety plan reviewed")
        page.get_by_role("button", name="Mark returned (Missed call, Jordan Pike)").click()
        expect(page.get_by_role("status").first).to_contain_text(
            "Marked returned: Jordan's missed call."
        )
        expect(attention).not_to_contain_text("Missed call: Jordan Pike")
        expect(page.get_by_role("navigation", name="Main")).to_contain_text("Today 4")
        page.screenshot(path=str(shots / f"{size}-today-acknowledged.png"), full_page=True)
    finally:
        context.close()


def _add_voice_messages(line: Line, client_id: int) -> None:
    """Two messages the client left (the demo line has no Twilio, so they list but can't
    play here: tests/test_voice_messages.py plays them)."""
    from datetime import timedelta

    from app.models import Call

    with line.sessions() as session:
        for minutes, seconds in ((35, 42), (60 * 26, 7)):
            session.add(
                Call(
                    call_sid=f"CA{minutes:032d}",
                    client_id=client_id,
                    route="coaching",
                    outcome="wait_script",
                    started_at=NOW - timedelta(minutes=minutes),
                    recording_sid=f"RE{minutes:032d}",
                    voice_message_seconds=seconds,
                )
            )
        session.commit()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_clients_voice_messages_are_listed_with_a_player(browser, served, shots, size):
    riley = _client_id(served.line, "Riley Tran")
    _add_voice_messages(served.line, riley)
    if size == "phone":
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, served)
        page.goto(f"{served.base}/clients/{riley}")
        section = page.locator("#voice-messages")
        expect(section.get_by_role("heading")).to_contain_text("Voice messages 2")
        rows = section.locator("li")
        expect(rows.first).to_contain_text("Fri Nov 27, 9:07 PM · 0:42")
        expect(rows.nth(1)).to_contain_text("Thu Nov 26, 7:42 PM · 0:07")
        player = rows.first.locator("audio")
        assert player.get_attribute("preload") == "none"
        assert player.get_attribute("src").endswith("/voice-message")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the client page is {overflow}px wider than the {size} screen"
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{size}-client-voice-messages.png"), full_page=True)
        section.screenshot(path=str(shots / f"{size}-voice-messages.png"))
    finally:
        context.close()


def _add_users(line: Line) -> None:
    """Dana signed in with an API token; Marcus disabled (his token revoked with it)."""
    from app import users

    dana = _therapist_id(line, "Dana Whitfield")
    marcus = _therapist_id(line, "Marcus Oyelaran")
    with line.sessions() as session:
        add_user(session, "dana@example.org", therapist_id=dana)
        marcus_user = add_user(session, "marcus@example.org", therapist_id=marcus)
        users.new_token(
            session, "test", NOW, session.scalar(select(User.id).where(User.therapist_id == dana))
        )
        users.new_token(session, "test", NOW, marcus_user.id)
        users.disable_user(session, "test", NOW, marcus_user.id, reason="on leave")
        session.commit()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_users_page_lists_users_and_disables_one(browser, served, shots, size):
    _add_users(served.line)
    if size == "phone":
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(viewport=DESKTOP)
    dana_context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    dana_page = dana_context.new_page()
    try:
        _sign_in(dana_page, served, "dana@example.org", "correct horse battery")
        _sign_in(page, served)
        response = page.goto(served.base + "/users")
        assert response is not None and response.status == 200
        dana_row = page.locator("tr", has_text="dana@example.org")
        expect(dana_row).to_contain_text("1 session")
        expect(dana_row).to_contain_text("1 in use")
        expect(page.locator("tr", has_text="marcus@example.org")).to_contain_text("disabled")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the Users page is {overflow}px wider than the {size} screen"
        page.screenshot(path=str(shots / f"{size}-users.png"), full_page=True)

        dana_row.get_by_role("button", name="Disable dana@example.org").click()
        expect(page.get_by_role("status")).to_contain_text("dana@example.org is disabled")
        expect(page.locator("tr", has_text="dana@example.org")).to_contain_text("disabled")
        page.screenshot(path=str(shots / f"{size}-users-disabled.png"), full_page=True)
        # Dana's open page is signed out at once
        dana_page.goto(served.base + "/clients")
        assert dana_page.url.startswith(served.base + "/login")
    finally:
        context.close()
        dana_context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_two_factor_enrol_then_sign_in_with_a_code(browser, served, shots, size):
    """The demo's admin sets up two-factor at the first sign-in (screenshotted: the QR code and
    the key, then the recovery codes), signs out, and signs in again with a code (the code step
    screenshotted)."""
    import pyotp

    viewport = PHONE if size == "phone" else DESKTOP
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone")
    page = context.new_page()
    try:
        page.goto(served.base + "/login")
        page.get_by_label("Email").fill(served.email)
        page.get_by_label("Password").fill(served.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(served.base + "/two-factor/enrol")
        expect(page.locator(".qr svg")).to_be_visible()
        secret = page.locator("#secret").inner_text().replace(" ", "")
        _enrol(page, shots, size)
        page.wait_for_url(served.base + "/")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("Email").fill(served.email)
        page.get_by_label("Password").fill(served.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(served.base + "/login/code")
        page.screenshot(path=str(shots / f"two-factor-code-{size}.png"), full_page=True)
        # the code just used is refused; the next step's is taken
        page.get_by_label("Code").fill(pyotp.TOTP(secret).at(NOW))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("That code is not right")
        page.get_by_label("Code").fill(pyotp.TOTP(secret).at(NOW + timedelta(seconds=30)))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(served.base + "/")
    finally:
        context.close()
