"""Fixtures for the throttle suite: a hand-moved clock and the cache backends to run against.

Every throttle test runs twice: on the in-process cache (whose expiry follows the same fake
clock, so a TTL too short for the logic would show up as a failure) and on a real Redis (where
atomicity is real and TTLs follow wall time; the logic must not need them to expire).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from roadbed_auth.throttle import LoginThrottle, RateLimiter
from roadbed_core.cache import AsyncCache, AsyncMemoryCache, AsyncRedisCache, MemoryStore

#: A window-aligned moment (a multiple of 900 s and of 60 s), so window arithmetic is exact.
START = 1_800_000_000.0
IDENTIFIER_SECRET = b"test-identifier-secret-0123456789"


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingCache:
    """Passes every call to a real cache and remembers the keys it was asked about."""

    def __init__(self, cache: AsyncCache) -> None:
        self.inner = cache
        self.keys: set[str] = set()

    async def get(self, key: str) -> bytes | None:
        self.keys.add(key)
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self.keys.add(key)
        await self.inner.set(key, value, ttl=ttl)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        self.keys.add(key)
        return await self.inner.add(key, value, ttl=ttl)

    async def delete(self, key: str) -> bool:
        self.keys.add(key)
        return await self.inner.delete(key)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        self.keys.add(key)
        return await self.inner.incr(key, amount, ttl=ttl)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def cache(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[RecordingCache]:
    if request.param == "memory":
        yield RecordingCache(AsyncMemoryCache(MemoryStore(clock=clock)))
        return
    redis_cache = AsyncRedisCache.from_url(request.getfixturevalue("redis_url"))
    try:
        yield RecordingCache(redis_cache)
    finally:
        await redis_cache.aclose()


@pytest.fixture
def make_throttle(cache: RecordingCache, clock: FakeClock) -> Callable[..., LoginThrottle]:
    """A :class:`LoginThrottle` on the backend under test and the fake clock."""

    def build(**options: Any) -> LoginThrottle:
        return LoginThrottle(cache, identifier_secret=IDENTIFIER_SECRET, clock=clock, **options)

    return build


@pytest.fixture
def make_limiter(cache: RecordingCache, clock: FakeClock) -> Callable[..., RateLimiter]:
    """A :class:`RateLimiter` on the backend under test and the fake clock."""

    def build(**options: Any) -> RateLimiter:
        return RateLimiter(cache, identifier_secret=IDENTIFIER_SECRET, clock=clock, **options)

    return build
