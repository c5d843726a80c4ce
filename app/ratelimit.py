"""Rate limits per calling and per texting number, against auto-responder loops and abuse.

A moving window per number, kept in this process's memory. `limits` reads the settings'
"6 per 10 minutes"; its own in-memory storage is not used because it sweeps every number in
a background thread every 10 ms: measured at 1 to 4 ms of CPU per webhook with 10,000
numbers in the window, which a flood of spoofed numbers could grow at will. Here a number's
old hits go when it is next seen, and numbers gone quiet once per window.

Each instance counts on its own: behind a load balancer a looping number gets at most the
limit per instance, which still stops a loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from limits import parse

from app.settings import Settings


class MovingWindow:
    """At most `limit` hits in any `window` seconds for each key; refused hits don't count."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        # A number's hits in the window, oldest first, as a tuple (at most `limit` items): a
        # sixth of a deque's memory, which counts when a flood brings many numbers, and
        # nothing the garbage collector walks (a tuple of floats is untracked), where a
        # list each made every full collection longer.
        self._hits: dict[str, tuple[float, ...]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def hit(self, key: str) -> bool:
        now = self._clock()
        since = now - self.window
        with self._lock:
            if now >= self._next_sweep:
                self._hits = {k: h for k, h in self._hits.items() if h and h[-1] > since}
                self._next_sweep = now + self.window
            hits = self._hits.get(key, ())
            expired = 0
            while expired < len(hits) and hits[expired] <= since:
                expired += 1
            hits = hits[expired:]
            if len(hits) >= self.limit:
                self._hits[key] = hits
                return False
            self._hits[key] = (*hits, now)
            return True


def _window(setting: str) -> MovingWindow:
    item = parse(setting)
    return MovingWindow(item.amount, item.get_expiry())


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._calls = _window(settings.call_rate_limit)
        self._texts = _window(settings.text_rate_limit)

    def call_allowed(self, number: str) -> bool:
        return self._calls.hit(number or "withheld")

    def text_allowed(self, number: str) -> bool:
        return self._texts.hit(number or "withheld")
