"""Who is on call: rotations, one-off overrides and explicit shifts, as plain data.

No database and no clock: every instant is passed in, timezone-aware. Instants are compared
in UTC; only a rotation's handoffs are wall-clock times, read in the practice's zone.

A rotation's turn k starts on the local date `starts_on + k * turn_days` at `handoff_time`
and ends where turn k + 1 starts. The arithmetic is on local dates, and each handoff is then
localised, so a 9:00 handoff stays 9:00 on both sides of a daylight-saving change: a weekly
turn across the change is 167 or 169 hours long. A handoff time that does not exist that day
(2:30 on the spring-forward date) happens at the same instant as the clock read before the
change (3:30 daylight time); one that happens twice (1:30 on the fall-back date) happens at
the first of them.

Who is on call at an instant, in order:
1. overrides: a therapist on call instead of the rotations for the override's period;
2. otherwise the member whose rotation turn it is, for every rotation;
3. and, in addition to either, whoever holds an explicit shift.
A therapist appears once, at their first place. A therapist who is not active covers nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

OVERRIDE, ROTATION, SHIFT = "override", "rotation", "shift"
SOURCES = (OVERRIDE, ROTATION, SHIFT)

# How far ahead "until when" looks: beyond it, an on-call period has no end in sight.
DEFAULT_HORIZON = timedelta(days=92)


def _aware(instant: datetime, what: str = "instant") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class Rotation:
    """Members take turns of `turn_days`, handing off at `handoff_time` (local, naive)."""

    starts_on: date
    handoff_time: time
    turn_days: int
    members: tuple[int, ...]
    id: int = 0

    def __post_init__(self) -> None:
        if self.turn_days < 1:
            raise ValueError("turn_days must be at least 1")
        if self.handoff_time.tzinfo is not None:
            raise ValueError("handoff_time is a wall-clock time in the practice's zone")
        object.__setattr__(self, "members", tuple(self.members))


@dataclass(frozen=True)
class Period:
    """An override or an explicit shift: [starts_at, ends_at) for one therapist."""

    therapist_id: int
    starts_at: datetime
    ends_at: datetime
    id: int = 0

    def __post_init__(self) -> None:
        starts_at = _aware(self.starts_at, "starts_at")
        ends_at = _aware(self.ends_at, "ends_at")
        if ends_at <= starts_at:
            raise ValueError("ends_at must be after starts_at")
        object.__setattr__(self, "starts_at", starts_at)
        object.__setattr__(self, "ends_at", ends_at)

    def covers(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at


@dataclass(frozen=True)
class Turn:
    """Turn `index` of a rotation: [starts_at, ends_at), the member whose turn it is."""

    rotation_id: int
    index: int
    starts_at: datetime
    ends_at: datetime
    therapist_id: int


@dataclass(frozen=True)
class Cover:
    """One therapist on call, and why."""

    therapist_id: int
    source: str  # override | rotation | shift


@dataclass(frozen=True)
class OnCall:
    """A therapist on call at an instant, and until when (None: beyond the horizon looked at).

    `until` is when this therapist stops being on call, whatever keeps them on call till then
    (an override followed by their own rotation turn is one stretch).
    """

    therapist_id: int
    source: str
    until: datetime | None


@dataclass(frozen=True)
class Segment:
    """A stretch of time in which who is on call does not change."""

    starts_at: datetime
    ends_at: datetime
    on_call: tuple[Cover, ...]

    @property
    def therapist_ids(self) -> tuple[int, ...]:
        return tuple(c.therapist_id for c in self.on_call)


@dataclass(frozen=True)
class Gap:
    """[starts_at, ends_at) with nobody on call."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Piece:
    """The part of a turn its member actually serves: a turn less the overrides within it.

    `part` counts the pieces of one turn from 0 (a turn with no override is one piece).
    """

    turn: Turn
    starts_at: datetime
    ends_at: datetime
    part: int


# ---- a rotation's turns ---------------------------------------------------------------------


def handoff_at(rotation: Rotation, k: int, tz: tzinfo) -> datetime:
    """The instant turn k starts: its local date at the handoff time, in UTC."""
    day = rotation.starts_on + timedelta(days=k * rotation.turn_days)
    return datetime.combine(day, rotation.handoff_time, tzinfo=tz).astimezone(UTC)


def turn_index(rotation: Rotation, instant: datetime, tz: tzinfo) -> int | None:
    """The index of the turn covering `instant`; None before the first handoff."""
    instant = _aware(instant)
    if instant < handoff_at(rotation, 0, tz):
        return None
    # An estimate from the local date, then corrected by at most a step or two.
    days = (instant.astimezone(tz).date() - rotation.starts_on).days
    k = max(0, days // rotation.turn_days)
    while k > 0 and handoff_at(rotation, k, tz) > instant:
        k -= 1
    while handoff_at(rotation, k + 1, tz) <= instant:
        k += 1
    return k


def turn(rotation: Rotation, k: int, tz: tzinfo) -> Turn:
    """Turn k of a rotation that has members."""
    if not rotation.members:
        raise ValueError("a rotation without members has no turns")
    if k < 0:
        raise ValueError("turns are counted from 0")
    return Turn(
        rotation_id=rotation.id,
        index=k,
        starts_at=handoff_at(rotation, k, tz),
        ends_at=handoff_at(rotation, k + 1, tz),
        therapist_id=rotation.members[k % len(rotation.members)],
    )


def turn_at(rotation: Rotation, instant: datetime, tz: tzinfo) -> Turn | None:
    """The turn covering `instant`: None before the first handoff or without members."""
    if not rotation.members:
        return None
    k = turn_index(rotation, instant, tz)
    return None if k is None else turn(rotation, k, tz)


def turns(rotation: Rotation, start: datetime, end: datetime, tz: tzinfo) -> Iterator[Turn]:
    """Every turn overlapping [start, end), in order (whole turns, not clipped to the range)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if not rotation.members or end <= start:
        return
    k = turn_index(rotation, start, tz)
    if k is None:
        k = 0
    while True:
        current = turn(rotation, k, tz)
        if current.starts_at >= end:
            return
        yield current
        k += 1


def turn_pieces(
    rotation: Rotation,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    overrides: Iterable[Period] = (),
) -> Iterator[Piece]:
    """What each turn's member actually serves in [start, end): every turn less the overrides
    (which take the rotation's place). Pieces are whole, not clipped to the range."""
    ranges = sorted((o.starts_at, o.ends_at) for o in overrides)
    for current in turns(rotation, start, end, tz):
        for part, (a, b) in enumerate(_subtract(current.starts_at, current.ends_at, ranges)):
            yield Piece(turn=current, starts_at=a, ends_at=b, part=part)


def _subtract(
    start: datetime, end: datetime, ranges: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """[start, end) less the (sorted) ranges."""
    pieces = []
    cursor = start
    for a, b in ranges:
        if b <= cursor or a >= end:
            continue
        if a > cursor:
            pieces.append((cursor, a))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


# ---- who is on call -------------------------------------------------------------------------


def covering(
    instant: datetime,
    rotations: Iterable[Rotation],
    overrides: Iterable[Period],
    shifts: Iterable[Period],
    tz: tzinfo,
    active: Collection[int] | None = None,
) -> tuple[Cover, ...]:
    """Who is on call at `instant`, in order (overrides, rotation members, shifts), each once.

    An override takes the place of every rotation, even when its therapist is not active (so
    the period shows as uncovered rather than silently falling back to the rotation).
    `active`: the therapists who may cover; None means everyone named.
    """
    instant = _aware(instant)
    covers: list[Cover] = []
    current = sorted((o for o in overrides if o.covers(instant)), key=lambda o: (o.starts_at, o.id))
    covers.extend(Cover(o.therapist_id, OVERRIDE) for o in current)
    if not current:
        for rotation in rotations:
            now_turn = turn_at(rotation, instant, tz)
            if now_turn is not None:
                covers.append(Cover(now_turn.therapist_id, ROTATION))
    held = sorted((s for s in shifts if s.covers(instant)), key=lambda s: (s.starts_at, s.id))
    covers.extend(Cover(s.therapist_id, SHIFT) for s in held)
    seen: set[int] = set()
    result = []
    for cover in covers:
        if cover.therapist_id in seen:
            continue
        seen.add(cover.therapist_id)
        if active is None or cover.therapist_id in active:
            result.append(cover)
    return tuple(result)


def timeline(
    start: datetime,
    end: datetime,
    rotations: Sequence[Rotation],
    overrides: Sequence[Period],
    shifts: Sequence[Period],
    tz: tzinfo,
    active: Collection[int] | None = None,
) -> Iterator[Segment]:
    """[start, end) cut where who is on call changes: contiguous segments, each different from
    the one before (a handoff from a member to the same member is no change)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return
    cuts = {start, end}
    for rotation in rotations:
        for t in turns(rotation, start, end, tz):
            cuts.update((t.starts_at, t.ends_at))
    for period in (*overrides, *shifts):
        cuts.update((period.starts_at, period.ends_at))
    points = sorted(c for c in cuts if start <= c <= end)
    pending: Segment | None = None
    for a, b in zip(points, points[1:], strict=False):
        covers = covering(a, rotations, overrides, shifts, tz, active)
        if pending is not None and pending.on_call == covers:
            pending = Segment(pending.starts_at, b, covers)
            continue
        if pending is not None:
            yield pending
        pending = Segment(a, b, covers)
    if pending is not None:
        yield pending


def on_call_at(
    instant: datetime,
    rotations: Sequence[Rotation],
    overrides: Sequence[Period],
    shifts: Sequence[Period],
    tz: tzinfo,
    *,
    active: Collection[int] | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[OnCall]:
    """Who is on call at `instant`, in order, each with until when.

    For a right "until", overrides and shifts must include those up to `instant + horizon`.
    """
    instant = _aware(instant)
    segments = list(timeline(instant, instant + horizon, rotations, overrides, shifts, tz, active))
    if not segments:
        return []
    result = []
    for cover in segments[0].on_call:
        until = None
        for segment in segments[1:]:
            if cover.therapist_id not in segment.therapist_ids:
                until = segment.starts_at
                break
        result.append(OnCall(cover.therapist_id, cover.source, until))
    return result


def next_change(
    instant: datetime,
    rotations: Sequence[Rotation],
    overrides: Sequence[Period],
    shifts: Sequence[Period],
    tz: tzinfo,
    *,
    active: Collection[int] | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> datetime | None:
    """The first instant after `instant` at which the therapists on call (or their order)
    change; None if they do not within the horizon."""
    instant = _aware(instant)
    segments = timeline(instant, instant + horizon, rotations, overrides, shifts, tz, active)
    first = next(segments, None)
    if first is None:
        return None
    for segment in segments:
        if segment.therapist_ids != first.therapist_ids:
            return segment.starts_at
    return None


def coverage_gaps(
    start: datetime,
    end: datetime,
    rotations: Sequence[Rotation],
    overrides: Sequence[Period],
    shifts: Sequence[Period],
    tz: tzinfo,
    active: Collection[int] | None = None,
) -> list[Gap]:
    """The stretches of [start, end) with nobody (active) on call, in order."""
    gaps: list[Gap] = []
    for segment in timeline(start, end, rotations, overrides, shifts, tz, active):
        if segment.on_call:
            continue
        if gaps and gaps[-1].ends_at == segment.starts_at:
            gaps[-1] = Gap(gaps[-1].starts_at, segment.ends_at)
        else:
            gaps.append(Gap(segment.starts_at, segment.ends_at))
    return gaps
