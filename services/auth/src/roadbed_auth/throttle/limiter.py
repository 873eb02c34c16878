"""A general request budget: ``limit`` hits per ``window`` seconds per key.

For endpoints that are not sign-in (registration, password-reset and verification-mail
requests, device-code polling): there is no success or failure to tell apart, only "how many
recently". Refused hits are handed back, so a client hammering a spent budget does not push its
own ``Retry-After`` further out and the answer it gets stays true.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import redis

from roadbed_auth.throttle.errors import RateLimited, ThrottleUnavailable, retry_after_seconds
from roadbed_auth.throttle.keys import KEY_PREFIX, IdentifierHasher
from roadbed_auth.throttle.window import Clock, WindowCount, WindowCounter
from roadbed_core.cache import AsyncCache

_CACHE_ERRORS: Final = (redis.RedisError, OSError)


class WindowKind(StrEnum):
    """``fixed`` resets at window boundaries (cheaper, bursty at the edges); ``sliding`` does not."""

    FIXED = "fixed"
    SLIDING = "sliding"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one hit."""

    allowed: bool
    #: Whole seconds until a hit would be allowed again; ``0`` when this one was.
    retry_after: int
    #: Hits still allowed in the window after this one.
    remaining: int


class RateLimiter:
    """``limit`` hits per ``window`` seconds for each key, on an :class:`AsyncCache`."""

    def __init__(
        self,
        cache: AsyncCache,
        *,
        name: str,
        limit: int,
        window: float,
        identifier_secret: bytes,
        kind: WindowKind = WindowKind.SLIDING,
        clock: Clock = time.time,
    ) -> None:
        """
        :param name: what is limited (``register``, ``password-reset``); part of every key, so
            two limiters never share a budget.
        :param identifier_secret: keys the hash of each key (keys are client addresses or
            emails, which must not appear in the cache in the clear).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if not name or ":" in name:
            raise ValueError("name must be non-empty and contain no ':'")
        self.name = name
        self.limit = limit
        self.kind = kind
        self._counter = WindowCounter(cache, window=window, sliding=kind is WindowKind.SLIDING)
        self._hasher = IdentifierHasher(identifier_secret)
        self._clock = clock

    def _prefix(self, key: str) -> str:
        return f"{KEY_PREFIX}:rate:{self.name}:{self._hasher.digest(self.name, key)}"

    async def hit(self, key: str) -> Decision:
        """Count one hit for ``key`` if the budget allows it."""
        now = self._clock()
        prefix = self._prefix(key)
        try:
            count = await self._counter.add(prefix, now=now)
            if count.estimate <= self.limit:
                return Decision(
                    allowed=True,
                    retry_after=0,
                    remaining=max(0, math.floor(self.limit - count.estimate)),
                )
            await self._counter.add(prefix, now=now, amount=-1)
        except _CACHE_ERRORS as exc:
            raise ThrottleUnavailable("the rate limiter could not reach its cache") from exc
        refused = WindowCount(
            count.current - 1, count.previous, count.elapsed, count.window, count.sliding
        )
        # Room for one more hit: the estimate must fall to limit - 1.
        wait = refused.seconds_until_at_most(self.limit - 1)
        return Decision(allowed=False, retry_after=retry_after_seconds(wait), remaining=0)

    async def hit_or_raise(self, key: str) -> Decision:
        """:meth:`hit`, raising :class:`RateLimited` (429 with ``Retry-After``) when refused."""
        decision = await self.hit(key)
        if not decision.allowed:
            raise RateLimited(retry_after=decision.retry_after)
        return decision
