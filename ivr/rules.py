"""The agreement's rules, as pure functions of state and an instant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

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


# A therapist's call-back through the line counts as happening now for this long after it
# started (the call-back's Dial rings for at most a few minutes, and a coaching call is brief).
CALL_BACK_SPAN = timedelta(hours=1)


def being_called_back(call_backs_started: Iterable[datetime], now: datetime) -> bool:
    """A therapist is calling this client back through the line at this moment."""
    return any(now - CALL_BACK_SPAN <= started <= now for started in call_backs_started)


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
