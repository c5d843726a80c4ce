"""Times as the practice reads them: in its own zone, and durations as people say them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo


def _hour(dt: datetime) -> str:
    return dt.strftime("%I:%M %p").lstrip("0")


def span(delta: timedelta) -> str:
    """A duration as people say it: "45 min", "3 h 5 min", "2 days 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min" if mins else "under a minute"


@dataclass(frozen=True)
class Fmt:
    """Times as the practice reads them; every page gets one as `fmt`."""

    tz: tzinfo
    now: datetime

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def when(self, instant: datetime | None) -> str:
        """ "Fri Nov 27, 9:42 PM" (with the year when it is not this year)."""
        if instant is None:
            return ""
        local = self.local(instant)
        year = f" {local.year}" if local.year != self.local(self.now).year else ""
        return f"{local:%a %b} {local.day}{year}, {_hour(local)}"

    def clock(self, instant: datetime) -> str:
        return _hour(self.local(instant))

    def iso(self, instant: datetime) -> str:
        return self.local(instant).isoformat(timespec="minutes")

    def input_value(self, instant: datetime) -> str:
        """For an <input type="datetime-local">: local wall-clock time, to the minute."""
        return self.local(instant).strftime("%Y-%m-%dT%H:%M")

    def since(self, instant: datetime) -> str:
        return span(self.now - instant)

    def until(self, instant: datetime) -> str:
        return span(instant - self.now)

    def span(self, delta: timedelta) -> str:
        return span(delta)

    def seconds(self, seconds: int | None) -> str:
        if seconds is None:
            return ""
        minutes, secs = divmod(int(seconds), 60)
        return f"{minutes}:{secs:02d}"

    @property
    def zone_name(self) -> str:
        return self.local(self.now).tzname() or str(self.tz)
