"""Test helpers for the signing-key tests: a settable clock and a pool of pre-generated keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_auth.keys.material import PrivateKey, public_jwk

SECRET = "test-key-encryption-secret-0123456789"
ISSUER = "http://127.0.0.1:8000/auth"
POOL_SIZE = 8

Sessions = async_sessionmaker[AsyncSession]


class FakeClock:
    """A settable UTC clock: tests move time forward instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@dataclass(frozen=True)
class KeyPool:
    keys: dict[str, tuple[PrivateKey, ...]]

    def generator(self) -> Callable[[str], PrivateKey]:
        """A key generator handing out this pool's keys in order, safe across threads."""
        lock = threading.Lock()
        iterators = {algorithm: iter(keys) for algorithm, keys in self.keys.items()}

        def generate(algorithm: str) -> PrivateKey:
            with lock:
                return next(iterators[algorithm])

        return generate


def kid_of(pool: KeyPool, algorithm: str, index: int) -> str:
    """The kid the ``index``-th key the pool hands out for ``algorithm`` will have."""
    return public_jwk(pool.keys[algorithm][index], algorithm=algorithm)["kid"]


def first_call_waits(
    generate: Callable[[str], PrivateKey], barrier: threading.Barrier
) -> Callable[[str], PrivateKey]:
    """A generator whose first call waits at ``barrier``: two "processes" built with it have both
    read the table before either inserts, which forces the race instead of hoping for it."""
    waited = False

    def wrapper(algorithm: str) -> PrivateKey:
        nonlocal waited
        if not waited:
            waited = True
            barrier.wait()
        return generate(algorithm)

    return wrapper
