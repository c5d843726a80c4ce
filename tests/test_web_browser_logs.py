"""Logs and the audit log in Chromium, at desktop and phone widths: the filters narrow the rows
and paging keeps them; on a 390 px phone a full page of texts is a few screens, not 7,000 px;
the audit log reads in names and words. Screenshots: logs-*, texts-*, audit-* in WEB_SCREENSHOTS.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here)
from __future__ import annotations

from datetime import timedelta

import pytest

from app.line import Line
from app.models import AuditEntry, Call, Message
from tests.conftest import NOW
from tests.test_web_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    _client_id,
    _sign_in,
    _therapist_id,
    browser,
    expect,
    served,
    shots,
)

BODIES = (
    "check-in",
    "Thanks. I used the TIPP skill and the urge went down to a 3.",
    "Riley called at 9:30 PM and heard the wait-time script. Call back through the line.",
    "Hi, it's the coaching line. Reply with how strong your urges are, 0 to 5.",
    "having a really hard night, I'm not sure what to do with myself right now, it keeps "
    "getting worse and I can't sleep",
)
STATUSES = ("replied", "sent", "not_sent", "failed", "queued")


def _add_logs(line: Line) -> None:
    """60 texts and 40 calls between the demo's clients and therapists, newest a minute ago."""
    riley = _client_id(line, "Riley Tran")
    jordan = _client_id(line, "Jordan Pike")
    dana = _therapist_id(line, "Dana Whitfield")
    marcus = _therapist_id(line, "Marcus Oyelaran")
    with line.sessions() as session:
        for i in range(60):
            client = riley if i % 3 else jordan
            inbound = i % 2 == 0
            to_therapist = not inbound and i % 5 in (1, 3)
            session.add(
                Message(
                    direction="inbound" if inbound else "outbound",
                    kind="inbound" if inbound else "notification" if to_therapist else "reply",
                    client_id=client,
                    therapist_id=(dana if client == riley else marcus) if to_therapist else None,
                    body=BODIES[i % len(BODIES)],
                    status="received" if inbound else STATUSES[i % len(STATUSES)],
                    last_error="recipient opted out" if i % 5 == 2 else None,
                    attempts=0 if inbound else 1 + (i % 3 == 0),
                    created_at=NOW - timedelta(minutes=1 + 7 * i),
                )
            )
        for i in range(40):
            session.add(
                Call(
                    call_sid=f"CA{i:032d}",
                    client_id=riley if i % 2 else jordan,
                    route="coaching",
                    outcome=("bridged", "wait_script", "caller_hung_up")[i % 3],
                    therapist_id=dana if i % 4 else marcus,
                    duration_seconds=300 + i if i % 3 == 0 else None,
                    started_at=NOW - timedelta(minutes=3 + 11 * i),
                )
            )
        session.add(
            AuditEntry(
                at=NOW - timedelta(minutes=1),
                actor="admin@example.org",
                action="update",
                entity="client",
                entity_id=riley,
                changes={
                    "sms_opted_out": {"from": False, "to": True},
                    "therapist_id": {"from": dana, "to": marcus},
                },
            )
        )
        session.commit()


def _context(browser, size: str):
    if size == "phone":
        return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return browser.new_context(viewport=DESKTOP)


def _fits(page, size: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the {size} screen"


def _height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_texts_filter_and_page_at_both_widths(browser, served, shots, size):
    _add_logs(served.line)
    riley = _client_id(served.line, "Riley Tran")
    context = _context(browser, size)
    page = context.new_page()
    try:
        _sign_in(page, served)
        page.goto(served.base + "/logs?show=messages")
        _fits(page, size)
        height = _height(page)
        page.screenshot(path=str(shots / f"texts-{size}.png"), full_page=True)
        page.screenshot(path=str(shots / f"texts-{size}-top.png"))
        page.locator("table.log").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"texts-{size}-screen.png"))
        rows = page.locator("table.log tbody tr")
        assert rows.count() == 20
        if size == "phone":
            # a full page of 20 texts: about 3,000 px (50 rows were about 7,000)
            assert height < 3400, f"the Texts tab is {height}px long on a phone"
        first = rows.first.inner_text()
        assert "Received" in first and "received" not in first.replace("Received", "")

        # filter: Riley's texts that were not sent
        page.get_by_label("Client", exact=True).select_option(label="Riley Tran")
        page.get_by_label("Status").select_option(label="Not sent")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**/logs?show=messages&client={riley}&**")
        assert "outcome=not_sent" in page.url
        rows = page.locator("table.log tbody tr")
        assert rows.count() >= 1
        for text in rows.all_inner_texts():
            assert "Not sent" in text and "Riley" in text and "Jordan" not in text
        page.screenshot(path=str(shots / f"texts-filtered-{size}.png"), full_page=True)
        _fits(page, size)
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_calls_filter_by_date_and_paging_keeps_the_filters(browser, served, shots, size):
    _add_logs(served.line)
    context = _context(browser, size)
    page = context.new_page()
    try:
        _sign_in(page, served)
        page.goto(served.base + "/logs")
        _fits(page, size)
        page.screenshot(path=str(shots / f"logs-{size}.png"), full_page=True)
        page.locator("table.log").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"logs-{size}-screen.png"))
        header = page.locator("table.log thead").inner_text()
        assert "Client's therapist" in header and "Rang" in header

        page.get_by_label("What happened").select_option(label="Missed (either way)")
        page.get_by_label("From").fill("2026-11-27")
        page.get_by_label("To").fill("2026-11-27")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**outcome=missed**")
        assert "from=2026-11-27&to=2026-11-27" in page.url
        expect(page.get_by_label("What happened")).to_have_value("missed")
        total = page.locator(".pager + p, p.small").filter(has_text="in all.").inner_text()
        assert total == "27 in all."  # the missed calls of Friday, the practice's day
        page.get_by_role("link", name="Older →").click()
        page.wait_for_url("**page=2**")
        assert "outcome=missed" in page.url and "from=2026-11-27" in page.url
        texts = page.locator("table.log tbody tr").all_inner_texts()
        assert len(texts) == 7 and all("Missed" in t for t in texts)
        expect(page.get_by_label("From")).to_have_value("2026-11-27")
        page.screenshot(path=str(shots / f"logs-filtered-page-2-{size}.png"), full_page=True)
        _fits(page, size)

        # a value that can't be used: explained, the rest shown
        page.goto(served.base + "/logs?from=yesterday")
        expect(page.get_by_role("status")).to_contain_text("“yesterday” is not a date")
        page.screenshot(path=str(shots / f"logs-bad-filter-{size}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_audit_log_reads_in_names_and_words(browser, served, shots, size):
    _add_logs(served.line)
    context = _context(browser, size)
    page = context.new_page()
    try:
        _sign_in(page, served)
        page.goto(served.base + "/audit")
        _fits(page, size)
        page.screenshot(path=str(shots / f"audit-{size}.png"), full_page=True)
        page.locator("main table tbody tr").last.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"audit-{size}-screen.png"))
        first = page.locator("main table tbody tr").filter(has_text="no → yes").inner_text()
        assert "Changed" in first and "client Riley Tran" in first
        assert "Opted out of texts: no → yes" in first
        assert "Therapist: Dana Whitfield → Marcus Oyelaran" in first
        text = page.locator("main").inner_text()
        assert "client id" not in text and "sms opted out" not in text
    finally:
        context.close()
