"""``rotate_keys``: the function behind ``roadbed auth rotate-keys`` and what it prints."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table

from roadbed_auth.keys import (
    ES256,
    RS256,
    KeyChangeKind,
    KeyEncryptor,
    SigningKeyService,
    rotate_keys,
)
from roadbed_core.db import make_engine

from .support import SECRET, FakeClock, KeyPool, kid_of

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def prepared_database(database_url: str, metadata: MetaData, table: Table) -> str:
    """The table, created through a blocking engine (this test runs no event loop of its own)."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()
    return database_url


def test_rotate_keys_bootstraps_then_publishes_then_activates(
    prepared_database: str, table: Table, key_pool: KeyPool
) -> None:
    service = SigningKeyService(
        table=table, encryptor=KeyEncryptor(SECRET), generate=key_pool.generator()
    )
    clock = FakeClock(T0)
    rs = [kid_of(key_pool, RS256, index) for index in range(3)]
    es = [kid_of(key_pool, ES256, index) for index in range(3)]

    def run() -> tuple[list[KeyChangeKind], str]:
        out = io.StringIO()
        changes = rotate_keys(database_url=prepared_database, service=service, clock=clock, out=out)
        return [change.kind for change in changes], out.getvalue()

    # first run on an empty database: active keys at once
    kinds, printed = run()
    assert kinds == [KeyChangeKind.BOOTSTRAPPED, KeyChangeKind.BOOTSTRAPPED]
    assert printed == (
        "Signing-key rotation at 2026-11-25T12:00:00+00:00:\n"
        f"  RS256 key {rs[0]} created and active (no RS256 key was active)\n"
        f"  ES256 key {es[0]} created and active (no ES256 key was active)\n"
        "Published keys:\n"
        f"  active   RS256  {rs[0]}  signing\n"
        f"  active   ES256  {es[0]}  signing\n"
    )

    # second run: pending keys, published before they sign
    kinds, printed = run()
    assert printed == (
        "Signing-key rotation at 2026-11-25T12:00:00+00:00:\n"
        f"  RS256 key {rs[1]} published as pending; it starts signing at 2026-11-25T12:05:30+00:00\n"
        f"  ES256 key {es[1]} published as pending; it starts signing at 2026-11-25T12:05:30+00:00\n"
        "Published keys:\n"
        f"  active   RS256  {rs[0]}  signing\n"
        f"  active   ES256  {es[0]}  signing\n"
        f"  pending  RS256  {rs[1]}  signs from 2026-11-25T12:05:30+00:00\n"
        f"  pending  ES256  {es[1]}  signs from 2026-11-25T12:05:30+00:00\n"
    )

    # a run after the delay activates them, retires the old ones, and starts the next rotation
    clock.advance(timedelta(seconds=330))
    kinds, printed = run()
    assert kinds == [
        KeyChangeKind.RETIRED,
        KeyChangeKind.ACTIVATED,
        KeyChangeKind.RETIRED,
        KeyChangeKind.ACTIVATED,
        KeyChangeKind.PUBLISHED,
        KeyChangeKind.PUBLISHED,
    ]
    assert printed.splitlines()[-6:] == [
        f"  active   RS256  {rs[1]}  signing",
        f"  active   ES256  {es[1]}  signing",
        f"  pending  RS256  {rs[2]}  signs from 2026-11-25T12:11:00+00:00",
        f"  pending  ES256  {es[2]}  signs from 2026-11-25T12:11:00+00:00",
        f"  retired  RS256  {rs[0]}  published until 2026-11-25T12:16:30+00:00",
        f"  retired  ES256  {es[0]}  published until 2026-11-25T12:16:30+00:00",
    ]


def test_rotate_keys_refuses_an_unconfigured_algorithm(
    prepared_database: str, table: Table, key_pool: KeyPool
) -> None:
    service = SigningKeyService(
        table=table, encryptor=KeyEncryptor(SECRET), generate=key_pool.generator()
    )

    with pytest.raises(ValueError, match="not configured for EdDSA"):
        rotate_keys(
            database_url=prepared_database, service=service, algorithms=["EdDSA"], out=io.StringIO()
        )
