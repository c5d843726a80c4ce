"""The call-back rules, pure: who answered decides whether a missed call is returned, and a
call-back counts as ringing only for its ring time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr import rules
from ivr.scripts import Practice
from ivr.therapist_menu import CallBack, MenuUrls, Missed, answered, call_back, call_back_result

NOW = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)
ANSWERED_BY = [
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
    None,
]


@pytest.mark.parametrize(
    "status, duration, bridged, answered_by, result",
    [
        ("completed", "95", "true", "human", CallBack.REACHED),
        ("completed", "95", None, "human", CallBack.REACHED),  # no DialBridged sent
        ("completed", "4", "false", "machine_start", CallBack.MACHINE),
        ("completed", "14", "false", "machine_end_beep", CallBack.MACHINE),
        ("completed", "4", "false", "fax", CallBack.MACHINE),
        ("completed", "95", "true", "unknown", CallBack.ASK),
        ("completed", "95", "true", None, CallBack.ASK),  # who answered was never recorded
        ("completed", "0", "false", "human", CallBack.NOT_ANSWERED),
        ("completed", "3", "false", "human", CallBack.NOT_ANSWERED),  # hung up before bridging
        ("no-answer", "0", "false", None, CallBack.NOT_ANSWERED),
        ("busy", "0", "false", None, CallBack.NOT_ANSWERED),
        ("canceled", "0", "false", None, CallBack.NOT_ANSWERED),
        ("completed", "", None, "human", CallBack.NOT_ANSWERED),
        ("completed", "-5", None, "human", CallBack.NOT_ANSWERED),
    ],
)
def test_how_a_call_back_went(status, duration, bridged, answered_by, result):
    assert call_back_result(status, duration, bridged, answered_by) is result


@given(
    st.sampled_from(["completed", "no-answer", "busy", "failed", "canceled", ""]),
    st.one_of(st.none(), st.text(max_size=6), st.integers(0, 5000).map(str)),
    st.sampled_from([None, "true", "false"]),
    st.sampled_from(ANSWERED_BY),
)
def test_only_a_person_on_a_call_that_lasted_is_reached(status, duration, bridged, answered_by):
    reached = call_back_result(status, duration, bridged, answered_by) is CallBack.REACHED
    lasted = (duration or "").isascii() and (duration or "").isdigit() and int(duration) > 0
    assert reached == (
        status == "completed" and lasted and bridged != "false" and answered_by == "human"
    )


@pytest.mark.parametrize("answered_by", ANSWERED_BY)
def test_a_machine_is_hung_up_on_and_anyone_else_put_through(answered_by):
    twiml = answered(answered_by)
    machine = answered_by is not None and answered_by != "human" and answered_by != "unknown"
    assert ("<Hangup />" in twiml) == machine
    assert "<Say" not in twiml  # nothing is said to a client who just picked up


def test_a_call_back_rings_for_its_dial_timeout_with_machine_detection():
    twiml = call_back(
        Missed(7, "Riley Tran", NOW),
        "+13145550142",
        0,
        Practice("Practice", ZoneInfo("America/Chicago"), line_number="+13145550100"),
        MenuUrls("https://line.example.org"),
        "CA" + "1" * 32,
    )
    assert f'timeout="{rules.CALL_BACK_DIAL_TIMEOUT_SECONDS}"' in twiml
    assert 'machineDetection="Enable"' in twiml
    answered_url = "https://line.example.org/twilio/voice/therapist/callback-answered?parent=CA"
    assert f'url="{answered_url}' in twiml and f'amdStatusCallback="{answered_url}' in twiml


@pytest.mark.parametrize(
    "started_ago, ended, being_called_back",
    [
        (timedelta(0), False, True),
        (timedelta(seconds=30), False, True),  # still ringing at the Dial's timeout
        (rules.CALL_BACK_SPAN, False, True),
        (rules.CALL_BACK_SPAN + timedelta(seconds=1), False, False),
        (timedelta(minutes=2), False, False),  # a Dial that never ran blocks nobody
        (timedelta(seconds=5), True, False),  # the therapist's call has ended
        (-timedelta(seconds=5), False, False),  # not yet
    ],
)
def test_a_call_back_counts_only_while_it_may_ring(started_ago, ended, being_called_back):
    started = NOW - started_ago
    state = rules.CallBackState(started, started + timedelta(seconds=3) if ended else None)
    assert rules.being_called_back([state], NOW) is being_called_back


def test_the_ring_window_is_the_dial_timeout_and_a_short_margin():
    dial_timeout = timedelta(seconds=rules.CALL_BACK_DIAL_TIMEOUT_SECONDS)
    assert dial_timeout < rules.CALL_BACK_SPAN <= dial_timeout + timedelta(seconds=30)
