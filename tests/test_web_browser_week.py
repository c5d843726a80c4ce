"""A client's week and a coaching note in headless Chromium (issue 25, items 2 and 4): the
page at desktop and phone widths, its charts, its print layout (print media emulated), and a
note written through the form. Screenshots go to WEB_SCREENSHOTS when set."""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here)
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.line import Line
from app.models import Call, DiaryEntry
from tests.conftest import NOW
from tests.test_web_browser import (  # noqa: F401 (fixtures)
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

# urge to self-harm, acted on it, misery, joy, skills, by day of November (a gap on the 24th)
CARD = {
    21: (1, False, 2, 3, 6),
    22: (2, False, 3, 2, 5),
    23: (3, False, 4, 1, 4),
    25: (4, True, 5, 0, 2),
    26: (2, False, 3, 2, 5),
    27: (1, None, 2, 4, 6),
}


def _add_week(line: Line) -> tuple[int, int]:
    """Riley's diary card for the week, and a call Dana took on Wednesday evening."""
    riley = _client_id(line, "Riley Tran")
    dana = _therapist_id(line, "Dana Whitfield")
    with line.sessions() as session:
        for day, (urge, acted, misery, joy, skills) in CARD.items():
            session.add(
                DiaryEntry(
                    client_id=riley,
                    day=date(2026, 11, day),
                    urge_self_harm=urge,
                    acted_self_harm=acted,
                    urge_suicide=0,
                    acted_suicide=False,
                    urge_use=1 if day % 2 else 0,
                    acted_use=False,
                    misery=misery,
                    shame=max(0, misery - 1),
                    anger=1,
                    fear=2 if day > 24 else 1,
                    joy=joy,
                    skills=skills,
                    started_at=NOW - timedelta(days=27 - day),
                    completed_at=NOW - timedelta(days=27 - day),
                )
            )
        call = Call(
            call_sid="CA" + "7" * 32,
            client_id=riley,
            route="coaching",
            outcome="bridged",
            therapist_id=dana,
            accepted_therapist_id=dana,
            started_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),  # Wed 8:00 PM in Chicago
            duration_seconds=540,
        )
        session.add(call)
        session.commit()
        return riley, call.id


def _context(browser, size: str):
    if size == "phone":
        return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return browser.new_context(viewport=DESKTOP)


def _overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_note_is_written_then_the_week_is_read_and_printed(browser, served, shots, size):
    riley, call_id = _add_week(served.line)
    context = _context(browser, size)
    page = context.new_page()
    try:
        _sign_in(page, served)
        # item 4: the note, from the call on the client's page
        page.goto(f"{served.base}/clients/{riley}")
        page.locator(f'a[href="/calls/{call_id}/note"]').click()
        expect(page.locator("h1")).to_have_text("Coaching note")
        page.get_by_text("Distress tolerance").click()  # opens its group
        page.get_by_label("Cold Water (TIPP)").check()
        page.get_by_label("Wise Mind").check()
        page.get_by_label("The plan").fill("Cold water first, then call back if it passes 4.")
        page.get_by_label("Follow-up").fill("Chain analysis on Tuesday.")
        page.screenshot(path=str(shots / f"{size}-coaching-note-form.png"), full_page=True)
        assert _overflow(page) <= 1
        page.get_by_role("button", name="Save the note").click()
        notes = page.locator("#notes")
        expect(notes).to_contain_text("Coaching notes 1")
        expect(notes).to_contain_text("Skills: Wise Mind, Cold Water (TIPP)")
        expect(page.locator(f'a[href="/calls/{call_id}/note"]').first).to_have_text("Edit")
        notes.screenshot(path=str(shots / f"{size}-client-coaching-notes.png"))

        # item 2: the week, from the client's page
        page.get_by_role("link", name="Riley's week, for the session").click()
        expect(page.locator("h1")).to_have_text("Riley Tran's week")
        expect(page.locator(".week-span")).to_contain_text("Sat Nov 21 to Fri Nov 27, 2026")
        charts = page.locator("svg.chart")
        expect(charts).to_have_count(9)
        urge = page.locator("#chart-urge_self_harm")
        assert urge.locator("circle").count() == 6  # a point a day answered; none on the 24th
        assert urge.locator("polygon[data-acted=yes]").count() == 1
        box = urge.bounding_box()
        assert box is not None and box["width"] > 250, box
        expect(page.locator("#day-2026-11-25")).to_contain_text("Talked with a coach (9:00)")
        expect(page.locator("#notes")).to_contain_text("Plan: Cold water first")
        assert _overflow(page) <= 1, f"the week page is wider than the {size} screen"
        page.screenshot(path=str(shots / f"{size}-week.png"), full_page=True)
        # the table behind a chart, for anyone who cannot see it
        page.locator("#measure-urge_self_harm summary").click()
        table = page.locator("#measure-urge_self_harm table")
        expect(table.locator("tr", has_text="Tue Nov 24")).to_contain_text("no answer")
        page.locator("#measure-urge_self_harm").screenshot(
            path=str(shots / f"{size}-week-chart-table.png")
        )

        # four weeks
        page.get_by_label("Show the last").select_option("4")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("h1")).to_have_text("Riley Tran's 4 weeks")
        assert page.locator("#timeline tbody tr").count() == 28
        assert _overflow(page) <= 1
        page.screenshot(path=str(shots / f"{size}-week-4.png"), full_page=True)

        if size == "desktop":
            # printed: no menus or controls, the charts three to a row on the page's width
            page.goto(f"{served.base}/clients/{riley}/week")
            page.emulate_media(media="print")
            expect(page.locator(".site-header")).to_be_hidden()
            expect(page.locator(".week-controls")).to_be_hidden()
            tops = {
                round(page.locator(f"#measure-{key}").bounding_box()["y"])
                for key in ("urge_self_harm", "urge_suicide", "urge_use")
            }
            assert len(tops) == 1, "the first three charts share a row in print"
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            assert _overflow(page) <= 1
            page.screenshot(path=str(shots / "print-week.png"), full_page=True)
            pdf = page.pdf(format="A4")  # Chromium's own print of the page, for a look
            assert pdf.startswith(b"%PDF")
    finally:
        context.close()
