"""The agreement's rules, as pure functions of state and an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
