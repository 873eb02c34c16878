"""The cache contract, run against every implementation.

One suite, four backends: the in-process ones (with an injected clock, so expiry needs no
sleeping) and the Redis ones against a real Redis (expiry checked with ``PTTL``). A test uses the
awaitable face of each backend; the blocking ones are called directly underneath.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from roadbed_core.cache import (
    AsyncCache,
    AsyncMemoryCache,
    AsyncRedisCache,
    Cache,
    MemoryCache,
    MemoryStore,
    RedisCache,
    async_cache_from_url,
    cache_from_url,
    shared_memory_store,
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class AwaitableFace:
    """Calls a blocking or awaitable cache alike: ``await cache.get(k)`` for both."""

    def __init__(self, backend: Cache | AsyncCache) -> None:
        self.backend = backend

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.backend, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return call


@dataclass
class Backend:
    """A cache under test plus the way to observe expiry on it."""

    cache: AwaitableFace
    assert_expires_after: Callable[[str, float | None], Awaitable[None]]


def memory_backend(cache_factory: Callable[[MemoryStore], Cache | AsyncCache]) -> Backend:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    cache = AwaitableFace(cache_factory(store))

    async def assert_expires_after(key: str, ttl: float | None) -> None:
        if ttl is None:
            clock.advance(10 * 365 * 86400)
            assert await cache.get(key) is not None
            return
        clock.advance(ttl - 0.001)
        assert await cache.get(key) is not None
        clock.advance(0.002)
        assert await cache.get(key) is None

    return Backend(cache, assert_expires_after)


def redis_backend(cache: Cache | AsyncCache, url: str) -> tuple[Backend, redis.Redis]:
    inspector = redis.Redis.from_url(url)

    async def assert_expires_after(key: str, ttl: float | None) -> None:
        remaining_ms = inspector.pttl(key)
        if ttl is None:
            assert remaining_ms == -1  # no expiry
        else:
            # Just set: at most ttl, and not a second less (no timing beyond that).
            assert ttl * 1000 - 1000 < remaining_ms <= ttl * 1000

    return Backend(AwaitableFace(cache), assert_expires_after), inspector


@pytest.fixture(params=["MemoryCache", "AsyncMemoryCache", "RedisCache", "AsyncRedisCache"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    kind = request.param
    if kind == "MemoryCache":
        yield memory_backend(lambda store: store)
        return
    if kind == "AsyncMemoryCache":
        yield memory_backend(AsyncMemoryCache)
        return
    url: str = request.getfixturevalue("redis_url")
    if kind == "RedisCache":
        sync_cache = RedisCache.from_url(url)
        tested, inspector = redis_backend(sync_cache, url)
        try:
            yield tested
        finally:
            sync_cache.client.close()
            inspector.close()
    else:
        async_cache = AsyncRedisCache.from_url(url)
        tested, inspector = redis_backend(async_cache, url)
        try:
            yield tested
        finally:
            await async_cache.aclose()
            inspector.close()


# --- get / set --------------------------------------------------------------------------------


async def test_get_of_a_missing_key_is_none(backend: Backend) -> None:
    assert await backend.cache.get("missing") is None


async def test_set_then_get_returns_the_bytes(backend: Backend) -> None:
    await backend.cache.set("k", b"\x00value")
    assert await backend.cache.get("k") == b"\x00value"


async def test_set_overwrites(backend: Backend) -> None:
    await backend.cache.set("k", b"one")
    await backend.cache.set("k", b"two")
    assert await backend.cache.get("k") == b"two"


async def test_set_with_ttl_expires(backend: Backend) -> None:
    await backend.cache.set("k", b"v", ttl=30)
    await backend.assert_expires_after("k", 30)


async def test_set_without_ttl_never_expires(backend: Backend) -> None:
    await backend.cache.set("k", b"v")
    await backend.assert_expires_after("k", None)


async def test_set_without_ttl_clears_a_previous_ttl(backend: Backend) -> None:
    await backend.cache.set("k", b"v", ttl=30)
    await backend.cache.set("k", b"w")
    await backend.assert_expires_after("k", None)


@pytest.mark.parametrize("ttl", [0, -1])
async def test_non_positive_ttl_is_refused(backend: Backend, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        await backend.cache.set("k", b"v", ttl=ttl)
    assert await backend.cache.get("k") is None


# --- add (set if absent) ----------------------------------------------------------------------


async def test_add_creates_an_absent_key(backend: Backend) -> None:
    assert await backend.cache.add("k", b"first", ttl=30) is True
    assert await backend.cache.get("k") == b"first"
    await backend.assert_expires_after("k", 30)


async def test_add_leaves_a_present_key_alone(backend: Backend) -> None:
    await backend.cache.set("k", b"first")
    assert await backend.cache.add("k", b"second", ttl=30) is False
    assert await backend.cache.get("k") == b"first"
    await backend.assert_expires_after("k", None)


# --- delete -----------------------------------------------------------------------------------


async def test_delete_reports_whether_a_key_was_removed(backend: Backend) -> None:
    await backend.cache.set("k", b"v")
    assert await backend.cache.delete("k") is True
    assert await backend.cache.get("k") is None
    assert await backend.cache.delete("k") is False


# --- incr -------------------------------------------------------------------------------------


async def test_incr_creates_then_adds(backend: Backend) -> None:
    assert await backend.cache.incr("n") == 1
    assert await backend.cache.incr("n", 5) == 6
    assert await backend.cache.incr("n", -2) == 4
    assert await backend.cache.get("n") == b"4"


async def test_incr_applies_ttl_when_it_creates_the_key(backend: Backend) -> None:
    assert await backend.cache.incr("n", ttl=60) == 1
    await backend.assert_expires_after("n", 60)


async def test_incr_keeps_the_ttl_of_an_existing_counter(backend: Backend) -> None:
    await backend.cache.incr("n", ttl=60)
    assert await backend.cache.incr("n", ttl=5) == 2
    await backend.assert_expires_after("n", 60)


async def test_incr_does_not_add_a_ttl_to_an_existing_key(backend: Backend) -> None:
    # given a counter created without expiry
    await backend.cache.set("n", b"10")
    # when incremented with a ttl (which applies only on creation)
    assert await backend.cache.incr("n", ttl=60) == 11
    # then it still never expires
    await backend.assert_expires_after("n", None)


async def test_incr_of_a_non_integer_is_a_value_error(backend: Backend) -> None:
    await backend.cache.set("k", b"not a number")
    with pytest.raises(ValueError, match="not an integer"):
        await backend.cache.incr("k")
    assert await backend.cache.get("k") == b"not a number"


# --- the in-process store specifics -----------------------------------------------------------


def test_memory_store_evicts_expired_keys_before_live_ones() -> None:
    # given a full store holding one expired key
    clock = FakeClock()
    store = MemoryStore(clock=clock, max_keys=2)
    store.set("short", b"1", ttl=1)
    store.set("long", b"2")
    clock.advance(2)
    # when a third key arrives
    store.set("new", b"3")
    # then the expired key made room
    assert (store.get("long"), store.get("new")) == (b"2", b"3")


def test_memory_store_evicts_the_oldest_key_when_full() -> None:
    store = MemoryStore(clock=FakeClock(), max_keys=2)
    store.set("a", b"1")
    store.set("b", b"2")
    store.set("c", b"3")
    assert (store.get("a"), store.get("b"), store.get("c")) == (None, b"2", b"3")


def test_memory_store_clear_empties_it() -> None:
    store = MemoryStore(clock=FakeClock())
    store.set("a", b"1")
    store.clear()
    assert store.get("a") is None


async def test_async_memory_caches_share_their_store() -> None:
    # given two async views of one store, as embedded services have
    store = MemoryStore(clock=FakeClock())
    writer, reader = AsyncMemoryCache(store), AsyncMemoryCache(store)
    # when one writes
    await writer.set("revoked:jti-1", b"1")
    # then the other view and the blocking face see it
    assert (await reader.get("revoked:jti-1"), store.get("revoked:jti-1")) == (b"1", b"1")


# --- factories --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, "memory://"])
def test_cache_from_url_gives_the_process_wide_store(url: str | None) -> None:
    assert cache_from_url(url) is shared_memory_store()


def test_a_named_memory_url_gives_its_own_store_shared_by_name() -> None:
    first = cache_from_url("memory://isolated-a")
    again = async_cache_from_url("memory://isolated-a")
    other = cache_from_url("memory://isolated-b")

    assert first is not shared_memory_store()
    assert isinstance(again, AsyncMemoryCache)
    assert again.store is first
    assert other is not first


@pytest.mark.parametrize("url", [None, "memory://"])
def test_async_cache_from_url_wraps_the_process_wide_store(url: str | None) -> None:
    cache = async_cache_from_url(url)
    assert isinstance(cache, AsyncMemoryCache)
    assert cache.store is shared_memory_store()


async def test_redis_urls_give_redis_caches(redis_url: str) -> None:
    sync_cache = cache_from_url(redis_url)
    async_cache = async_cache_from_url(redis_url)
    try:
        assert (type(sync_cache), type(async_cache)) == (RedisCache, AsyncRedisCache)
        sync_cache.set("shared", b"v")
        assert await async_cache.get("shared") == b"v"
    finally:
        assert isinstance(sync_cache, RedisCache)
        assert isinstance(async_cache, AsyncRedisCache)
        sync_cache.client.close()
        await async_cache.aclose()


def test_every_implementation_satisfies_its_protocol() -> None:
    assert isinstance(MemoryCache(), Cache)
    assert isinstance(AsyncMemoryCache(), AsyncCache)
    assert isinstance(RedisCache(redis.Redis()), Cache)
