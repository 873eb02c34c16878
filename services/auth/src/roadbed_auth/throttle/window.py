"""Counting events in a window of time on nothing but the cache's atomic ``incr``.

The sliding window is Cloudflare's "sliding window counter" approximation: two fixed-window
counters, the current one and the previous one, with the previous one weighted by how much of it
still overlaps the sliding window::

    estimate = current + previous * (window - elapsed) / window

Only ``incr`` (atomic on Redis and on the in-process store alike) and ``get`` are needed, so the
same code runs embedded and in production without a sorted set or a script.

The injected clock decides which fixed window a moment belongs to (the window index is part of
the key), so time moves on when the clock does. Cache TTLs only clean up counters nobody will
read again; they are always longer than the logic needs, and correctness never waits for one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from roadbed_core.cache import AsyncCache

#: Seconds since the UNIX epoch, as ``time.time`` gives them. Wall-clock time rather than a
#: monotonic clock because replicas share the counters and must agree on window boundaries.
Clock = Callable[[], float]

# Extra lifetime on top of what a key is read for, so clock skew between replicas never lets the
# cache drop a counter that is still in use.
CLEANUP_MARGIN: Final = 60.0


@dataclass(frozen=True, slots=True)
class WindowCount:
    """The two fixed-window counters at one moment, and what they say about the sliding window."""

    current: int
    previous: int
    #: Seconds since the current fixed window began.
    elapsed: float
    window: float
    sliding: bool = True

    @property
    def estimate(self) -> float:
        """Events in the window ending now (the approximation above; exact for fixed windows).

        Counters can dip below zero for a moment (an attempt handed back after its window
        rolled over), so the estimate is floored at zero.
        """
        current = max(0, self.current)
        if not self.sliding:
            return float(current)
        previous = max(0, self.previous)
        return current + previous * (self.window - self.elapsed) / self.window

    def seconds_until_at_most(self, target: float) -> float:
        """How long until :attr:`estimate` drops to ``target`` if nothing else is counted."""
        if self.estimate <= target:
            return 0.0
        left_in_current = self.window - self.elapsed
        current = max(0, self.current)
        if not self.sliding:
            return left_in_current
        previous = max(0, self.previous)
        if current <= target:
            # Still within this window: the previous counter's weight has to shrink enough.
            return left_in_current - (target - current) * self.window / previous
        # This window alone is over: wait into the next one, where it becomes the weighted one.
        return left_in_current + self.window * (1 - target / current)


class WindowCounter:
    """Sliding (or fixed) window counters under key prefixes, on an :class:`AsyncCache`."""

    def __init__(self, cache: AsyncCache, *, window: float, sliding: bool = True) -> None:
        if window <= 0:
            raise ValueError("window must be positive seconds")
        self.cache = cache
        self.window = float(window)
        self.sliding = sliding
        # A counter is read during its own window and, as "previous", during the next one.
        self._ttl = 2 * self.window + CLEANUP_MARGIN

    def _position(self, now: float) -> tuple[int, float]:
        index = math.floor(now / self.window)
        return index, now - index * self.window

    @staticmethod
    def _key(prefix: str, index: int) -> str:
        return f"{prefix}:w:{index}"

    async def _previous(self, prefix: str, index: int) -> int:
        if not self.sliding:
            return 0
        raw = await self.cache.get(self._key(prefix, index - 1))
        return 0 if raw is None else int(raw)

    async def add(self, prefix: str, *, now: float, amount: int = 1) -> WindowCount:
        """Atomically count ``amount`` events at ``now`` (negative hands events back)."""
        index, elapsed = self._position(now)
        current = await self.cache.incr(self._key(prefix, index), amount, ttl=self._ttl)
        previous = await self._previous(prefix, index)
        return WindowCount(current, previous, elapsed, self.window, self.sliding)

    async def read(self, prefix: str, *, now: float) -> WindowCount:
        """The counters at ``now`` without counting anything."""
        index, elapsed = self._position(now)
        raw = await self.cache.get(self._key(prefix, index))
        current = 0 if raw is None else int(raw)
        previous = await self._previous(prefix, index)
        return WindowCount(current, previous, elapsed, self.window, self.sliding)

    async def clear(self, prefix: str, *, now: float) -> None:
        """Forget every event still inside the window at ``now``."""
        index, _ = self._position(now)
        await self.cache.delete(self._key(prefix, index))
        await self.cache.delete(self._key(prefix, index - 1))
