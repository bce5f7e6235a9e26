"""Per-caller request budgets: every API key and every end user gets a token bucket.

A bucket holds up to ``per_minute`` requests and refills at ``per_minute / 60`` a second,
so a caller may burst up to a minute's worth and then goes at the steady rate. A request
that finds its bucket empty is refused with 429 and ``Retry-After`` (whole seconds until
one request is available again) and costs nothing else: it is checked right after
authentication, before any work.

Budgets are per server process (``learnloop serve --workers N`` gives each worker its own):
enough to stop one key or one user from taking the service's CPU, not a billing meter.
Dev mode's anonymous admin has no budget; a credential sent in dev mode does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from assistant.access.registry import Caller
from assistant.errors import ErrorCode, LearnloopError

__all__ = ["RateLimiter", "rate_limit_key"]

# Forget buckets idle long enough to be full again once there are this many: memory stays
# bounded by the callers of the last minute or so, not every user ever seen.
_PRUNE_AT = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


def rate_limit_key(caller: Caller) -> tuple[str, str] | None:
    """(kind, key) of the budget a caller spends: its API key, or its tenant's end user.
    ``None`` for dev mode's anonymous admin, which has no budget."""
    if caller.key_id is not None:
        return "key", caller.key_id
    if caller.is_end_user and caller.user_id is not None:
        return "user", f"{caller.tenant}\x00{caller.user_id}"
    return None


class RateLimiter:
    """Token buckets for API keys (``per_key`` requests a minute) and end users
    (``per_user``); a limit of 0 turns that kind off."""

    def __init__(
        self, per_key: int, per_user: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_minute = {"key": per_key, "user": per_user}
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()  # sync dependencies run on the thread pool

    def spend(self, caller: Caller) -> None:
        """Take one request from the caller's budget, or raise 429 with ``retry_after``."""
        key = rate_limit_key(caller)
        if key is None or self._per_minute[key[0]] <= 0:
            return
        capacity = float(self._per_minute[key[0]])
        rate = capacity / 60.0  # requests a second
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _PRUNE_AT:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(capacity, now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = math.ceil((1.0 - bucket.tokens) / rate)
        who = "this API key" if key[0] == "key" else "this user"
        raise LearnloopError(
            ErrorCode.rate_limited,
            f"{who} sent more than {int(capacity)} requests in a minute; "
            f"retry in {wait} s",
            retry_after=wait,
        )

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled completely: they would be recreated full."""
        idle = {
            key
            for key, bucket in self._buckets.items()
            if now - bucket.updated >= 60.0  # a minute refills any bucket from empty
        }
        for key in idle:
            del self._buckets[key]
