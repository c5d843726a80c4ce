"""Rate limits per calling and per texting number, against auto-responder loops and abuse.

`limits` keeps moving windows in memory by default (per process); RATE_LIMIT_STORAGE can
name a shared store such as redis:// when the line runs as several instances.
"""

from __future__ import annotations

from limits import RateLimitItem, parse, storage, strategies

from app.settings import Settings


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(settings.rate_limit_storage)
        )
        self._calls: RateLimitItem = parse(settings.call_rate_limit)
        self._texts: RateLimitItem = parse(settings.text_rate_limit)

    def call_allowed(self, number: str) -> bool:
        return self._hit(self._calls, "call", number)

    def text_allowed(self, number: str) -> bool:
        return self._hit(self._texts, "text", number)

    def _hit(self, item: RateLimitItem, kind: str, number: str) -> bool:
        try:
            return self._limiter.hit(item, kind, number or "withheld")
        except Exception:  # a limiter that cannot answer never blocks a caller
            return True
