"""The on-call arithmetic, pure: turns across daylight-saving changes, overrides, shifts, gaps.

Fixed instants in America/Chicago: 2026 springs forward on March 8 and falls back on
November 1, each at 2:00 local.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.oncall import (
    OVERRIDE,
    ROTATION,
    SHIFT,
    Cover,
    Gap,
    OnCall,
    Period,
    Rotation,
    coverage_gaps,
    covering,
    handoff_at,
    next_change,
    on_call_at,
    timeline,
    turn_at,
    turn_index,
    turn_pieces,
    turns,
)

CHICAGO = ZoneInfo("America/Chicago")
A, B, C, D = 11, 12, 13, 14  # therapist ids


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(starts_on: date, *members: int, handoff: time = time(9, 0), rid: int = 1) -> Rotation:
    return Rotation(id=rid, starts_on=starts_on, handoff_time=handoff, turn_days=7, members=members)


# Mondays 9:00, turn 0 starting Monday October 26, 2026 (CDT), A then B.
FALL = weekly(date(2026, 10, 26), A, B)
# Mondays 9:00, turn 0 starting Monday March 2, 2026 (CST), A then B.
SPRING = weekly(date(2026, 3, 2), A, B)


# ---- turns and handoffs -------------------------------------------------------------------


def test_a_monday_9am_handoff_is_14_utc_before_november_1_and_15_utc_after():
    first, second, third = list(turns(FALL, utc(2026, 10, 26, 14), utc(2026, 11, 9, 16), CHICAGO))
    assert (first.starts_at, first.ends_at) == (utc(2026, 10, 26, 14), utc(2026, 11, 2, 15))
    assert (second.starts_at, second.ends_at) == (utc(2026, 11, 2, 15), utc(2026, 11, 9, 15))
    assert first.ends_at - first.starts_at == timedelta(hours=169)
    assert second.ends_at - second.starts_at == timedelta(hours=168)
    assert [t.therapist_id for t in (first, second, third)] == [A, B, A]
    assert [t.index for t in (first, second, third)] == [0, 1, 2]
    for t in (first, second, third):
        assert t.starts_at.astimezone(CHICAGO).time() == time(9, 0)
        assert t.starts_at.astimezone(CHICAGO).weekday() == 0


def test_a_monday_9am_handoff_is_15_utc_before_march_8_and_14_utc_after():
    first, second = list(turns(SPRING, utc(2026, 3, 2, 15), utc(2026, 3, 16, 14), CHICAGO))
    assert (first.starts_at, first.ends_at) == (utc(2026, 3, 2, 15), utc(2026, 3, 9, 14))
    assert first.ends_at - first.starts_at == timedelta(hours=167)
    assert (second.starts_at, second.ends_at) == (utc(2026, 3, 9, 14), utc(2026, 3, 16, 14))


@pytest.mark.parametrize(
    "instant, member, index",
    [
        (utc(2026, 10, 26, 13, 59), None, None),  # 8:59 CDT on the first day: not started
        (utc(2026, 10, 26, 14, 0), A, 0),  # 9:00 CDT: the first handoff
        (utc(2026, 11, 1, 7, 30), A, 0),  # 1:30 CST, the second time round
        (utc(2026, 11, 2, 14, 0), A, 0),  # 8:00 CST Monday: 9:00 would have been CDT
        (utc(2026, 11, 2, 14, 59, 59), A, 0),
        (utc(2026, 11, 2, 15, 0), B, 1),  # 9:00 CST Monday: the handoff
        (utc(2026, 11, 9, 14, 59), B, 1),
        (utc(2026, 11, 9, 15, 0), A, 2),
        (utc(2027, 3, 15, 13, 59), B, 19),  # 8:59 CDT, March 15 2027: still turn 19
        (utc(2027, 3, 15, 14, 0), A, 20),  # 9:00 CDT again after the next spring change
    ],
)
def test_the_turn_covering_an_instant(instant, member, index):
    found = turn_at(FALL, instant, CHICAGO)
    assert (found and found.therapist_id, found and found.index) == (member, index)
    assert turn_index(FALL, instant, CHICAGO) == index


def test_spring_forward_instants():
    assert turn_at(SPRING, utc(2026, 3, 9, 13, 59), CHICAGO).therapist_id == A  # 8:59 CDT
    assert turn_at(SPRING, utc(2026, 3, 9, 14, 0), CHICAGO).therapist_id == B  # 9:00 CDT
    assert turn_at(SPRING, utc(2026, 3, 8, 8, 30), CHICAGO).therapist_id == A  # 3:30 CDT Sunday


def test_a_daily_turn_across_the_changes_is_25_or_23_hours():
    fall = Rotation(starts_on=date(2026, 10, 31), handoff_time=time(9), turn_days=1, members=(A,))
    sunday = turn_at(fall, utc(2026, 11, 1, 12), CHICAGO)
    assert (sunday.starts_at, sunday.ends_at) == (utc(2026, 10, 31, 14), utc(2026, 11, 1, 15))
    assert sunday.ends_at - sunday.starts_at == timedelta(hours=25)
    spring = Rotation(starts_on=date(2026, 3, 7), handoff_time=time(9), turn_days=1, members=(A,))
    saturday = turn_at(spring, utc(2026, 3, 8, 12), CHICAGO)
    assert saturday.ends_at - saturday.starts_at == timedelta(hours=23)


def test_a_handoff_time_that_is_skipped_or_repeated():
    # 2:30 does not exist on March 8: the handoff is at 3:30 CDT, as the clock read before.
    skipped = Rotation(
        starts_on=date(2026, 3, 8), handoff_time=time(2, 30), turn_days=1, members=(A,)
    )
    assert handoff_at(skipped, 0, CHICAGO) == utc(2026, 3, 8, 8, 30)
    assert handoff_at(skipped, 1, CHICAGO) == utc(2026, 3, 9, 7, 30)  # 2:30 CDT the day after
    # 1:30 happens twice on November 1: the handoff is the first time (CDT).
    repeated = Rotation(
        starts_on=date(2026, 11, 1), handoff_time=time(1, 30), turn_days=1, members=(A,)
    )
    assert handoff_at(repeated, 0, CHICAGO) == utc(2026, 11, 1, 6, 30)
    assert handoff_at(repeated, 1, CHICAGO) == utc(2026, 11, 2, 7, 30)  # 1:30 CST


def test_before_starts_on_and_without_members_a_rotation_covers_nothing():
    assert turn_at(FALL, utc(2026, 10, 1), CHICAGO) is None
    assert turn_index(FALL, utc(2026, 10, 1), CHICAGO) is None
    assert covering(utc(2026, 10, 1), [FALL], [], [], CHICAGO) == ()
    empty = weekly(date(2026, 10, 26))
    assert turn_at(empty, utc(2026, 11, 1), CHICAGO) is None
    assert list(turns(empty, utc(2026, 10, 1), utc(2026, 12, 1), CHICAGO)) == []
    assert coverage_gaps(utc(2026, 11, 1), utc(2026, 11, 2), [empty], [], [], CHICAGO) == [
        Gap(utc(2026, 11, 1), utc(2026, 11, 2))
    ]
    # The range before the first handoff is a gap; from it on, covered.
    assert coverage_gaps(utc(2026, 10, 20), utc(2026, 11, 20), [FALL], [], [], CHICAGO) == [
        Gap(utc(2026, 10, 20), utc(2026, 10, 26, 14))
    ]


def test_turns_iterate_whole_turns_overlapping_the_range():
    found = list(turns(FALL, utc(2026, 11, 5), utc(2026, 11, 5, 1), CHICAGO))
    assert [(t.index, t.starts_at) for t in found] == [(1, utc(2026, 11, 2, 15))]
    assert list(turns(FALL, utc(2026, 11, 5), utc(2026, 11, 5), CHICAGO)) == []
    # A range ending exactly at a handoff does not include the next turn.
    found = list(turns(FALL, utc(2026, 11, 3), utc(2026, 11, 9, 15), CHICAGO))
    assert [t.index for t in found] == [1]


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        Rotation(starts_on=date(2026, 1, 1), handoff_time=time(9), turn_days=0, members=(A,))
    with pytest.raises(ValueError):
        Rotation(
            starts_on=date(2026, 1, 1),
            handoff_time=time(9, tzinfo=UTC),
            turn_days=1,
            members=(A,),
        )
    with pytest.raises(ValueError):
        Period(A, datetime(2026, 1, 1, 9), utc(2026, 1, 2))
    with pytest.raises(ValueError):
        Period(A, utc(2026, 1, 2), utc(2026, 1, 2))
    with pytest.raises(ValueError):
        turn_at(FALL, datetime(2026, 11, 1), CHICAGO)


# ---- overrides and shifts -----------------------------------------------------------------

TURN1 = utc(2026, 11, 4, 12)  # Wednesday of B's turn (turn 1)


def test_an_override_wins_over_the_rotation_for_its_period():
    override = Period(C, utc(2026, 11, 4), utc(2026, 11, 5), id=1)
    assert covering(TURN1, [FALL], [override], [], CHICAGO) == (Cover(C, OVERRIDE),)
    assert covering(utc(2026, 11, 5), [FALL], [override], [], CHICAGO) == (Cover(B, ROTATION),)
    assert covering(utc(2026, 11, 3, 23, 59), [FALL], [override], [], CHICAGO) == (
        Cover(B, ROTATION),
    )


def test_an_override_replaces_every_rotation():
    other = weekly(date(2026, 10, 26), D, rid=2)
    override = Period(C, utc(2026, 11, 4), utc(2026, 11, 5))
    assert covering(TURN1, [FALL, other], [], [], CHICAGO) == (
        Cover(B, ROTATION),
        Cover(D, ROTATION),
    )
    assert covering(TURN1, [FALL, other], [override], [], CHICAGO) == (Cover(C, OVERRIDE),)


def test_shifts_keep_working_in_addition():
    shift = Period(D, utc(2026, 11, 4), utc(2026, 11, 5), id=7)
    override = Period(C, utc(2026, 11, 4), utc(2026, 11, 5), id=1)
    assert covering(TURN1, [FALL], [], [shift], CHICAGO) == (Cover(B, ROTATION), Cover(D, SHIFT))
    assert covering(TURN1, [FALL], [override], [shift], CHICAGO) == (
        Cover(C, OVERRIDE),
        Cover(D, SHIFT),
    )
    assert covering(TURN1, [], [], [shift], CHICAGO) == (Cover(D, SHIFT),)


def test_order_is_overrides_rotation_shifts_and_nobody_twice():
    early = Period(C, utc(2026, 11, 3), utc(2026, 11, 6), id=2)
    late = Period(A, utc(2026, 11, 4), utc(2026, 11, 6), id=1)
    shifts = [
        Period(C, utc(2026, 11, 4), utc(2026, 11, 5), id=3),  # already on by override
        Period(D, utc(2026, 11, 4, 6), utc(2026, 11, 5), id=5),
        Period(B, utc(2026, 11, 4, 1), utc(2026, 11, 5), id=4),
    ]
    assert covering(TURN1, [FALL], [late, early], shifts, CHICAGO) == (
        Cover(C, OVERRIDE),
        Cover(A, OVERRIDE),
        Cover(B, SHIFT),
        Cover(D, SHIFT),
    )
    # the rotation's member holding a shift too is listed once, for the rotation
    assert covering(
        TURN1, [FALL], [], [Period(B, utc(2026, 11, 4), utc(2026, 11, 5))], CHICAGO
    ) == (Cover(B, ROTATION),)


def test_inactive_therapists_do_not_cover():
    override = Period(C, utc(2026, 11, 4), utc(2026, 11, 5))
    assert covering(TURN1, [FALL], [], [], CHICAGO, active={A}) == ()
    # an inactive override's therapist leaves a gap: the rotation does not come back
    assert covering(TURN1, [FALL], [override], [], CHICAGO, active={A, B}) == ()


# ---- until when, next, gaps ---------------------------------------------------------------


def test_until_is_the_end_of_the_turn_or_of_the_override():
    assert on_call_at(TURN1, [FALL], [], [], CHICAGO) == [OnCall(B, ROTATION, utc(2026, 11, 9, 15))]
    override = Period(C, utc(2026, 11, 6), utc(2026, 11, 7))
    assert on_call_at(TURN1, [FALL], [override], [], CHICAGO) == [
        OnCall(B, ROTATION, utc(2026, 11, 6))
    ]
    assert on_call_at(utc(2026, 11, 6, 1), [FALL], [override], [], CHICAGO) == [
        OnCall(C, OVERRIDE, utc(2026, 11, 7))
    ]


def test_until_spans_an_override_followed_by_the_same_therapists_own_turn():
    # A takes the last day of B's turn, then A's own turn begins: on call until A's turn ends.
    override = Period(A, utc(2026, 11, 8, 15), utc(2026, 11, 9, 15))
    assert on_call_at(utc(2026, 11, 9), [FALL], [override], [], CHICAGO) == [
        OnCall(A, OVERRIDE, utc(2026, 11, 16, 15))
    ]


def test_until_is_none_when_it_does_not_end_within_the_horizon():
    solo = weekly(date(2026, 10, 26), A)
    assert on_call_at(TURN1, [solo], [], [], CHICAGO) == [OnCall(A, ROTATION, None)]
    assert next_change(TURN1, [solo], [], [], CHICAGO) is None
    assert on_call_at(TURN1, [], [], [], CHICAGO) == []


def test_next_change():
    assert next_change(TURN1, [FALL], [], [], CHICAGO) == utc(2026, 11, 9, 15)
    shift = Period(D, utc(2026, 11, 5), utc(2026, 11, 6))
    assert next_change(TURN1, [FALL], [], [shift], CHICAGO) == utc(2026, 11, 5)


def test_gaps_are_the_stretches_nobody_active_covers():
    start, end = utc(2026, 11, 2, 15), utc(2026, 11, 16, 15)
    # A is inactive: A's turn (Nov 9 to 16) is a gap, less a shift on the 10th.
    shift = Period(D, utc(2026, 11, 10), utc(2026, 11, 11))
    assert coverage_gaps(start, end, [FALL], [], [shift], CHICAGO, active={B, D}) == [
        Gap(utc(2026, 11, 9, 15), utc(2026, 11, 10)),
        Gap(utc(2026, 11, 11), utc(2026, 11, 16, 15)),
    ]
    # An override to an inactive therapist is a gap too; adjacent gaps merge.
    override = Period(C, utc(2026, 11, 8), utc(2026, 11, 9, 15))
    assert coverage_gaps(start, end, [FALL], [override], [], CHICAGO, active={B}) == [
        Gap(utc(2026, 11, 8), utc(2026, 11, 16, 15))
    ]
    assert coverage_gaps(start, end, [FALL], [], [], CHICAGO) == []
    assert coverage_gaps(end, start, [FALL], [], [], CHICAGO) == []


def test_turn_pieces_leave_out_the_overrides():
    override = Period(C, utc(2026, 11, 4), utc(2026, 11, 5))
    pieces = list(turn_pieces(FALL, utc(2026, 11, 3), utc(2026, 11, 6), CHICAGO, [override]))
    assert [(p.turn.index, p.part, p.starts_at, p.ends_at) for p in pieces] == [
        (1, 0, utc(2026, 11, 2, 15), utc(2026, 11, 4)),
        (1, 1, utc(2026, 11, 5), utc(2026, 11, 9, 15)),
    ]
    whole = Period(C, utc(2026, 11, 1), utc(2026, 11, 10))
    assert list(turn_pieces(FALL, utc(2026, 11, 3), utc(2026, 11, 6), CHICAGO, [whole])) == []


def test_the_timeline_is_contiguous_and_changes_at_every_segment():
    shift = Period(D, utc(2026, 11, 5), utc(2026, 11, 6))
    segments = list(timeline(utc(2026, 11, 1), utc(2026, 11, 20), [FALL], [], [shift], CHICAGO))
    assert segments[0].starts_at == utc(2026, 11, 1)
    assert segments[-1].ends_at == utc(2026, 11, 20)
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.ends_at == after.starts_at
        assert before.on_call != after.on_call
    assert [s.therapist_ids for s in segments] == [(A,), (B,), (B, D), (B,), (A,), (B,)]


# ---- properties ---------------------------------------------------------------------------

ZONES = [ZoneInfo(n) for n in ("America/Chicago", "Europe/London", "Australia/Lord_Howe", "UTC")]


@st.composite
def rotations(draw) -> Rotation:
    return Rotation(
        id=1,
        starts_on=draw(st.dates(date(2025, 1, 1), date(2027, 12, 31))),
        handoff_time=draw(st.times()).replace(second=0, microsecond=0),
        turn_days=draw(st.integers(1, 21)),
        members=tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=5))),
    )


@settings(max_examples=300, deadline=None)
@given(
    rotation=rotations(),
    tz=st.sampled_from(ZONES),
    offset=st.integers(0, 3 * 366 * 24 * 3600),
)
def test_every_covered_instant_maps_to_the_member_the_turn_index_says(rotation, tz, offset):
    instant = handoff_at(rotation, 0, tz) + timedelta(seconds=offset)
    k = turn_index(rotation, instant, tz)
    assert k is not None
    assert handoff_at(rotation, k, tz) <= instant < handoff_at(rotation, k + 1, tz)
    member = rotation.members[k % len(rotation.members)]
    assert covering(instant, [rotation], [], [], tz) == (Cover(member, ROTATION),)
    found = turn_at(rotation, instant, tz)
    assert (found.index, found.therapist_id) == (k, member)
    # the turn's local date is its place in the rotation; its start is the handoff time
    local = found.starts_at.astimezone(tz)
    assert local.date() == rotation.starts_on + timedelta(days=k * rotation.turn_days)
    wall = datetime.combine(local.date(), rotation.handoff_time)
    exists = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
    if exists:
        assert local.time() == rotation.handoff_time
    # one second earlier is before the first handoff, or the same or the previous turn
    before = turn_index(rotation, instant - timedelta(seconds=1), tz)
    assert before in (None, k, k - 1)


@settings(max_examples=100, deadline=None)
@given(
    rotation=rotations(),
    tz=st.sampled_from(ZONES),
    offset=st.integers(-30 * 24 * 3600, 400 * 24 * 3600),
    days=st.integers(1, 92),
)
def test_turns_are_contiguous_and_cover_the_range(rotation, tz, offset, days):
    start = handoff_at(rotation, 0, tz) + timedelta(seconds=offset)
    end = start + timedelta(days=days)
    found = list(turns(rotation, start, end, tz))
    first = handoff_at(rotation, 0, tz)
    if end <= first:
        assert found == []
        assert coverage_gaps(start, end, [rotation], [], [], tz) == [Gap(start, end)]
        return
    for before, after in zip(found, found[1:], strict=False):
        assert before.ends_at == after.starts_at and after.index == before.index + 1
    assert found[-1].ends_at >= end and found[-1].starts_at < end
    assert found[0].starts_at <= max(start, first) < found[0].ends_at
    gaps = coverage_gaps(start, end, [rotation], [], [], tz)
    assert gaps == ([Gap(start, min(first, end))] if start < first else [])
