"""How often anyone may try to sign in, so that guessing is slow and nobody can keep an account's
owner out for long by failing on purpose.

Counted with the `limits` library's moving windows, in this process's memory (as
`app.ratelimit` counts calls and texts): with several workers, each counts on its own.

- **One account from one address**: `PER_ACCOUNT_ADDRESS` failures (wrong passwords and wrong
  codes), then that address waits; the owner elsewhere does not.
- **One address, every account**: `PER_ADDRESS` failures: a guesser trying many emails.
- **Overall**: `OVERALL` attempts a minute from everywhere together: a ceiling against a spray
  from many addresses (argon2 takes a tenth of a second each, one at a time).
- **The account, from anywhere**: `users.MAX_FAILURES` in a row pause it for `users.PAUSE`
  (in the database, so every worker's failures add up).

An address the account's owner signed in from (in the last `KNOWN_FOR`, in this process) skips
the account's pause and the overall ceiling: failures elsewhere do not keep the owner out.

The address is `request.client.host`. Behind a proxy that is the proxy's, unless uvicorn runs
with `--proxy-headers` and `--forwarded-allow-ips` naming the proxy (README): then it is the
client's. Without them every sign-in shares one address, and the per-address limits become a
shared ceiling.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from datetime import datetime, timedelta

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_ACCOUNT_ADDRESS = "5 per 15 minutes"
PER_ADDRESS = "20 per 15 minutes"
OVERALL = "60 per minute"
KNOWN_FOR = timedelta(days=30)
KNOWN_MAX = 10_000  # addresses remembered, oldest forgotten first


class SignInLimits:
    def __init__(
        self,
        per_account_address: str = PER_ACCOUNT_ADDRESS,
        per_address: str = PER_ADDRESS,
        overall: str = OVERALL,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_account_address: RateLimitItem = parse(per_account_address)
        self._per_address: RateLimitItem = parse(per_address)
        self._overall: RateLimitItem = parse(overall)
        self._known: OrderedDict[tuple[str, str], datetime] = OrderedDict()

    def wait_before_trying(self, email: str, address: str, now: datetime) -> int | None:
        """Seconds to wait before this address may try this account, or None: it may (and the
        try is counted toward the overall ceiling)."""
        email = email.strip().lower()
        waits = [
            self._wait(self._per_account_address, "account-address", email, address),
            self._wait(self._per_address, "address", address),
        ]
        if not self.is_known(email, address, now):
            waits.append(self._wait(self._overall, "overall"))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is None and not self.is_known(email, address, now):
            self._limiter.hit(self._overall, "overall")
        return wait

    def failed(self, email: str, address: str) -> None:
        """A wrong password or code from the address."""
        email = email.strip().lower()
        self._limiter.hit(self._per_account_address, "account-address", email, address)
        self._limiter.hit(self._per_address, "address", address)

    def signed_in(self, email: str, address: str, now: datetime) -> None:
        """The owner signed in from here: the address is theirs for a while."""
        key = (email.strip().lower(), address)
        self._known.pop(key, None)
        self._known[key] = now
        while len(self._known) > KNOWN_MAX:
            self._known.popitem(last=False)

    def is_known(self, email: str, address: str, now: datetime) -> bool:
        when = self._known.get((email.strip().lower(), address))
        return when is not None and now - when < KNOWN_FOR

    def _wait(self, item: RateLimitItem, *key: str) -> int | None:
        if self._limiter.test(item, *key):
            return None
        reset = self._limiter.get_window_stats(item, *key).reset_time
        return max(1, math.ceil(reset - time.time()))


def client_address(request: Request) -> str:
    """The client's address as uvicorn gives it (see the module's note on proxies)."""
    return request.client.host if request.client is not None else "unknown"


def limits_of(request: Request) -> SignInLimits:
    """The app's limits, made on first use (each app, as each test's, has its own)."""
    state = request.app.state
    if getattr(state, "sign_in_limits", None) is None:
        state.sign_in_limits = SignInLimits()
    return state.sign_in_limits
