"""Fixtures for the signing-key tests: a signing_keys table of its own, pre-generated keys, a clock.

``database_url`` comes from the auth conftest: every storage test runs on SQLite and PostgreSQL.

RSA key generation costs tens of milliseconds, so keys come from a pool generated once per run
and handed out in order (``KeyPool.generator``): every test sees distinct keys, as many as the
pool holds per algorithm. One test still exercises the real generator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from roadbed_auth.keys import (
    ES256,
    RS256,
    KeyEncryptor,
    KeyPolicy,
    SigningKeyRing,
    SigningKeyService,
    define_signing_keys_table,
    generate_private_key,
)
from roadbed_auth.keys.material import PrivateKey
from roadbed_core.db import make_async_engine, make_async_sessionmaker, new_metadata

from .support import POOL_SIZE, SECRET, FakeClock, KeyPool, Sessions


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    return KeyPool(
        {
            algorithm: tuple(generate_private_key(algorithm) for _ in range(POOL_SIZE))
            for algorithm in (RS256, ES256)
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    """Real time at whole seconds (tokens carry whole seconds, so equality checks are exact)."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def metadata() -> MetaData:
    return new_metadata()


@pytest.fixture
def table(metadata: MetaData) -> Table:
    return define_signing_keys_table(metadata)


@pytest.fixture
async def engine(database_url: str, metadata: MetaData, table: Table) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return make_async_sessionmaker(engine)


@pytest.fixture
def policy() -> KeyPolicy:
    return KeyPolicy()


@pytest.fixture
def generate(key_pool: KeyPool) -> Callable[[str], PrivateKey]:
    return key_pool.generator()


@pytest.fixture
def service(
    table: Table, policy: KeyPolicy, generate: Callable[[str], PrivateKey]
) -> SigningKeyService:
    return SigningKeyService(
        table=table, encryptor=KeyEncryptor(SECRET), policy=policy, generate=generate
    )


@pytest.fixture
def ring(sessions: Sessions, service: SigningKeyService, clock: FakeClock) -> SigningKeyRing:
    return SigningKeyRing(sessionmaker=sessions, service=service, clock=clock)
