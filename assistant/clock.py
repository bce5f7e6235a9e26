"""The clock every part reads "now" from; tests and the demo seed pass their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["DAY_MS", "Clock", "utc_now"]

Clock = Callable[[], datetime]
DAY_MS = 86_400_000


def utc_now() -> datetime:
    return datetime.now(UTC)
