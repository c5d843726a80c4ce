"""What the dashboard says after a lockout is recorded: what the event did to the client's
24-hour rule (it locks them out, extends a lockout, changes nothing, or had already expired),
as `ivr.rules.new_lockout_effect` decides."""

from __future__ import annotations

from tests.test_web_support import post_form

pytest_plugins = ["tests.test_web_support"]


def record(as_dana, client_id: int, at: str) -> str:
    page = f"/clients/{client_id}"
    recorded = post_form(as_dana, page, f"{page}/lockouts", {"occurred_at": at})
    assert recorded.status_code == 200
    return recorded.text


def test_each_recorded_event_says_what_it_did(as_dana, people):
    riley = people["riley"]  # NOW is Fri Nov 27, 9:42 PM in St. Louis
    first = record(as_dana, riley, "2026-11-27T18:42")
    assert "Recorded. The 24-hour rule applies to Riley Tran until Sat Nov 28, 6:42 PM." in first
    later = record(as_dana, riley, "2026-11-27T20:42")
    assert (
        "Recorded. Riley Tran was locked out until Sat Nov 28, 6:42 PM; now until "
        "Sat Nov 28, 8:42 PM." in later
    )
    earlier = record(as_dana, riley, "2026-11-27T19:00")
    assert "Recorded. Riley Tran is already locked out until Sat Nov 28, 8:42 PM" in earlier
    assert "nothing else changes" in earlier
    old = record(as_dana, riley, "2026-11-25T09:00")
    assert (
        "Recorded. Its 24 hours had already passed; Riley Tran stays locked out until "
        "Sat Nov 28, 8:42 PM by another event." in old
    )


def test_an_event_already_over_locks_nobody_out(as_dana, people):
    text = record(as_dana, people["riley"], "2026-11-25T09:00")
    assert "Recorded. Its 24 hours had already passed, so Riley Tran is not locked out now." in (
        text
    )
