"""The agreement's rules, as pure functions of state and an instant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import Enum

LOCKOUT_LENGTH = timedelta(hours=24)


def lockout_ends_at(starts_at: datetime) -> datetime:
    """The 24-hour rule ends 24 hours after the event, as an instant (not a wall-clock day)."""
    return starts_at + LOCKOUT_LENGTH


@dataclass(frozen=True)
class LockoutState:
    starts_at: datetime
    ends_at: datetime
    lifted_at: datetime | None = None


def lockout_active(lockout: LockoutState, now: datetime) -> bool:
    """Active when starts_at <= now < ends_at and not lifted (by now)."""
    if lockout.lifted_at is not None and lockout.lifted_at <= now:
        return False
    return lockout.starts_at <= now < lockout.ends_at


def locked_until(lockouts: list[LockoutState], now: datetime) -> datetime | None:
    """The end of the latest active lockout, or None when the client can reach coaching."""
    ends = [lo.ends_at for lo in lockouts if lockout_active(lo, now)]
    return max(ends) if ends else None


def client_locked_until(
    lockouts: Iterable[LockoutState], now: datetime, rule_applies: bool
) -> datetime | None:
    """`locked_until` for a client: never locked when the 24-hour rule is waived for them,
    whatever was recorded."""
    return locked_until(list(lockouts), now) if rule_applies else None


class NewLockout(Enum):
    """What recording one more self-harm event does to a client's 24-hour rule."""

    LOCKS = "locks"  # they could reach coaching; now they cannot
    EXTENDS = "extends"  # already locked out; the new event's 24 hours end later
    WITHIN = "within"  # already locked out until at least the new event's end
    EXPIRED = "expired"  # the new event's 24 hours were over before it was recorded


@dataclass(frozen=True)
class NewLockoutEffect:
    kind: NewLockout
    was_locked_until: datetime | None  # the client's lock before, at `now`
    locked_until: datetime | None  # and after


def new_lockout_effect(
    others: Iterable[LockoutState], new: LockoutState, now: datetime
) -> NewLockoutEffect:
    """Each event runs its own 24 hours and the later end wins: a second event while a client
    is locked out is recorded like the first (never refused: it happened, and the rule runs
    from the latest event), and never shortens the lock."""
    was = locked_until(list(others), now)
    if new.ends_at <= now:
        return NewLockoutEffect(NewLockout.EXPIRED, was, was)
    if was is None:
        return NewLockoutEffect(NewLockout.LOCKS, None, new.ends_at)
    if new.ends_at > was:
        return NewLockoutEffect(NewLockout.EXTENDS, was, new.ends_at)
    return NewLockoutEffect(NewLockout.WITHIN, was, was)


# A therapist's call-back rings the client's phone for this long before Twilio gives up.
CALL_BACK_DIAL_TIMEOUT_SECONDS = 30
# A call-back counts as ringing only this long after the therapist pressed 1: the Dial's
# timeout plus 15 s for what comes before the ringing ("Calling Riley now", Twilio fetching
# the Dial, and the network's few seconds before the client's phone rings). Past it a
# call-back blocks nobody, even one whose Dial never ran (the therapist hung up first) or
# whose end we never heard of. Kept short on purpose: a client wrongly told "your coach is
# calling you back" reaches nobody, while one put through during a call-back at worst
# rings a therapist twice. (A call-back that was answered has the client on the phone
# already: they are not calling in.)
CALL_BACK_SPAN = timedelta(seconds=CALL_BACK_DIAL_TIMEOUT_SECONDS + 15)


@dataclass(frozen=True)
class CallBackState:
    """A therapist's call-back still marked under way: when it started ringing the client,
    and when the therapist's call ended (Twilio's status callback), if it has."""

    started_at: datetime
    ended_at: datetime | None = None


def being_called_back(call_backs: Iterable[CallBackState], now: datetime) -> bool:
    """A therapist's call-back to this client may be ringing at this moment: it began
    within `CALL_BACK_SPAN` and the therapist's call has not ended."""
    return any(
        cb.ended_at is None and now - CALL_BACK_SPAN <= cb.started_at <= now for cb in call_backs
    )


def success_digest_due(
    last_digest_at: datetime | None,
    now: datetime,
    tz: tzinfo,
    therapist_active: bool,
    under_lockout: bool,
) -> bool:
    """At most one text a day (the practice's day) tells a therapist there are successes to
    read; none to a therapist who left, and none while the client is under the 24-hour rule
    (the success waits in the log)."""
    if not therapist_active or under_lockout:
        return False
    if last_digest_at is None:
        return True
    return last_digest_at.astimezone(tz).date() < now.astimezone(tz).date()
