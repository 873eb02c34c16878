"""The cache interface: one contract, a Redis implementation and an in-process one.

Sync (Django, Flask) and async (FastAPI, workers) flavours share the contract. In embedded mode
one :class:`MemoryStore` backs every service, so a revocation written by auth is seen by the
verifier in blog at once — exactly what a shared Redis gives in production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import redis
import redis.asyncio as aioredis


@runtime_checkable
class Cache(Protocol):
    """Blocking cache. Values are bytes; ``ttl`` is seconds (``None`` keeps the key forever)."""

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...
    def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Set only if absent (atomic); ``True`` when this call created the key."""
        ...

    def delete(self, key: str) -> bool: ...
    def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount``; ``ttl`` applies only when the key is created."""
        ...


@runtime_checkable
class AsyncCache(Protocol):
    """The same contract as :class:`Cache`, awaitable."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...
    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool: ...
    async def delete(self, key: str) -> bool: ...
    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int: ...


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and ttl <= 0:
        raise ValueError("ttl must be positive seconds or None")


class MemoryStore:
    """Thread-safe in-process key/value store with lazy expiry (the embedded-mode cache)."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._max_keys = max_keys

    def _live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= now:
            del self._data[key]
            return None
        return entry

    def _expiry(self, ttl: float | None, now: float) -> float | None:
        _check_ttl(ttl)
        return None if ttl is None else now + ttl

    def _make_room(self, now: float) -> None:
        # Bounded memory: drop expired keys first, then the oldest inserted ones.
        if len(self._data) < self._max_keys:
            return
        for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
            del self._data[key]
        while len(self._data) >= self._max_keys:
            del self._data[next(iter(self._data))]

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._live(key, self._clock())
            return None if entry is None else entry[0]

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        with self._lock:
            now = self._clock()
            expiry = self._expiry(ttl, now)
            self._data.pop(key, None)
            self._make_room(now)
            self._data[key] = (bytes(value), expiry)

    def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        with self._lock:
            now = self._clock()
            expiry = self._expiry(ttl, now)
            if self._live(key, now) is not None:
                return False
            self._make_room(now)
            self._data[key] = (bytes(value), expiry)
            return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._live(key, self._clock()) is not None and self._data.pop(key) is not None

    def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            if entry is None:
                value, expiry = amount, self._expiry(ttl, now)
                self._make_room(now)
            else:
                try:
                    value = int(entry[0]) + amount
                except ValueError as exc:
                    raise ValueError(f"value at {key!r} is not an integer") from exc
                expiry = entry[1]
            self._data[key] = (str(value).encode(), expiry)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class MemoryCache(MemoryStore):
    """The blocking in-process cache (a :class:`MemoryStore` is one)."""


class AsyncMemoryCache:
    """Awaitable view of a :class:`MemoryStore`; operations never block on I/O."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    async def get(self, key: str) -> bytes | None:
        return self.store.get(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self.store.set(key, value, ttl=ttl)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        return self.store.add(key, value, ttl=ttl)

    async def delete(self, key: str) -> bool:
        return self.store.delete(key)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        return self.store.incr(key, amount, ttl=ttl)


def _as_bytes(value: bytes | str) -> bytes:
    # Clients built with decode_responses=True hand back str; the contract is bytes.
    return value.encode() if isinstance(value, str) else bytes(value)


def _px(ttl: float | None) -> int | None:
    _check_ttl(ttl)
    return None if ttl is None else max(1, round(ttl * 1000))


class RedisCache:
    """Blocking cache on Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> RedisCache:
        return cls(redis.Redis.from_url(url))

    def get(self, key: str) -> bytes | None:
        value = self.client.get(key)
        return None if value is None else _as_bytes(value)

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self.client.set(key, value, px=_px(ttl))

    def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        return bool(self.client.set(key, value, px=_px(ttl), nx=True))

    def delete(self, key: str) -> bool:
        return bool(self.client.delete(key))

    def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        px = _px(ttl)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                if px is not None:
                    # Create the counter with its TTL; a no-op when it exists (ttl-on-create).
                    pipe.set(key, 0, px=px, nx=True)
                pipe.incrby(key, amount)
                result = pipe.execute()
        except redis.ResponseError as exc:
            raise ValueError(f"value at {key!r} is not an integer") from exc
        return int(result[-1])


class AsyncRedisCache:
    """Awaitable cache on Redis (redis.asyncio)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> AsyncRedisCache:
        return cls(aioredis.Redis.from_url(url))

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(key)
        return None if value is None else _as_bytes(value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self.client.set(key, value, px=_px(ttl))

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        return bool(await self.client.set(key, value, px=_px(ttl), nx=True))

    async def delete(self, key: str) -> bool:
        return bool(await self.client.delete(key))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        px = _px(ttl)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                if px is not None:
                    # Create the counter with its TTL; a no-op when it exists (ttl-on-create).
                    pipe.set(key, 0, px=px, nx=True)
                pipe.incrby(key, amount)
                result = await pipe.execute()
        except redis.ResponseError as exc:
            raise ValueError(f"value at {key!r} is not an integer") from exc
        return int(result[-1])

    async def aclose(self) -> None:
        await self.client.aclose()


_shared_store = MemoryStore()
_named_stores: dict[str, MemoryStore] = {}
_named_lock = threading.Lock()


def shared_memory_store() -> MemoryStore:
    """The process-wide store embedded mode hands to every service."""
    return _shared_store


def _memory_store(url: str | None) -> MemoryStore | None:
    """``None`` or ``memory://`` is the shared store; ``memory://<name>`` a separate named one
    (tests isolate themselves that way); anything else is not an in-memory URL."""
    if url is None or url == "memory://":
        return _shared_store
    if not url.startswith("memory://"):
        return None
    with _named_lock:
        return _named_stores.setdefault(url.removeprefix("memory://"), MemoryStore())


def cache_from_url(url: str | None) -> Cache:
    """``redis://...`` gives Redis; ``None``/``memory://[name]`` an in-process store."""
    store = _memory_store(url)
    if store is not None:
        return store
    assert url is not None  # noqa: S101 - _memory_store handled None
    return RedisCache.from_url(url)


def async_cache_from_url(url: str | None) -> AsyncCache:
    store = _memory_store(url)
    if store is not None:
        return AsyncMemoryCache(store)
    assert url is not None  # noqa: S101 - _memory_store handled None
    return AsyncRedisCache.from_url(url)
