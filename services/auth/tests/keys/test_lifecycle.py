"""Key lifecycle: bootstrap, rotation with overlap, activation, retirement, and their races."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from roadbed_auth.keys import (
    ES256,
    RS256,
    KeyChange,
    KeyChangeKind,
    KeyEncryptor,
    KeyPolicy,
    SigningKeyRing,
    SigningKeyService,
    SigningKeyState,
    SigningKeyUnavailable,
)
from roadbed_auth.keys.material import public_jwk, serialize_private_key
from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work

from .support import SECRET, FakeClock, KeyPool, Sessions, first_call_waits, kid_of

ACTIVATION_DELAY = timedelta(seconds=330)  # default policy: 300 s verifier TTL + 30 s refresh
RETENTION = timedelta(seconds=660)  # 600 s max token lifetime + 30 s refresh + 30 s leeway


async def _states(sessions: Sessions, table: Table) -> dict[str, tuple[str, str]]:
    async with unit_of_work(sessions) as db:
        result = await db.execute(select(table.c.kid, table.c.algorithm, table.c.state))
        return {kid: (algorithm, state) for kid, algorithm, state in result}


def test_policy_delays_follow_from_its_timings() -> None:
    policy = KeyPolicy()

    assert (policy.activation_delay, policy.retention) == (ACTIVATION_DELAY, RETENTION)
    with pytest.raises(ValueError, match="RS256 is mandatory"):
        KeyPolicy(algorithms=(ES256,))
    with pytest.raises(ValueError, match="unsupported signing algorithm 'HS256'"):
        KeyPolicy(algorithms=(RS256, "HS256"))


async def test_ensure_keys_bootstraps_one_active_key_per_algorithm_once(
    ring: SigningKeyRing, sessions: Sessions, table: Table, key_pool: KeyPool, clock: FakeClock
) -> None:
    first = await ring.ensure_keys()
    second = await ring.ensure_keys()

    rs, es = kid_of(key_pool, RS256, 0), kid_of(key_pool, ES256, 0)
    assert first == [
        KeyChange(KeyChangeKind.BOOTSTRAPPED, rs, RS256, clock.now),
        KeyChange(KeyChangeKind.BOOTSTRAPPED, es, ES256, clock.now),
    ]
    assert second == []
    assert await _states(sessions, table) == {rs: (RS256, "active"), es: (ES256, "active")}
    assert (await ring.jwks()).kids == (rs, es)


async def test_rotation_publishes_pending_keys_that_do_not_sign_yet(
    ring: SigningKeyRing, key_pool: KeyPool, clock: FakeClock
) -> None:
    await ring.ensure_keys()

    changes = await ring.rotate()

    old_rs, old_es = kid_of(key_pool, RS256, 0), kid_of(key_pool, ES256, 0)
    new_rs, new_es = kid_of(key_pool, RS256, 1), kid_of(key_pool, ES256, 1)
    starts = clock.now + ACTIVATION_DELAY
    assert changes == [
        KeyChange(KeyChangeKind.PUBLISHED, new_rs, RS256, starts),
        KeyChange(KeyChangeKind.PUBLISHED, new_es, ES256, starts),
    ]
    assert (await ring.jwks()).kids == (old_rs, old_es, new_rs, new_es)
    clock.advance(ACTIVATION_DELAY - timedelta(seconds=1))
    assert (await ring.signing_key(RS256)).kid == old_rs
    assert (await ring.signing_key(ES256)).kid == old_es


async def test_rotating_again_while_a_key_is_pending_keeps_that_key(
    ring: SigningKeyRing, key_pool: KeyPool, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    await ring.rotate(algorithms=[RS256])
    starts = clock.now + ACTIVATION_DELAY
    clock.advance(timedelta(seconds=60))

    again = await ring.rotate(algorithms=[RS256])

    pending = kid_of(key_pool, RS256, 1)
    assert again == [KeyChange(KeyChangeKind.ALREADY_PENDING, pending, RS256, starts)]
    assert pending in (await ring.jwks()).kids


async def test_pending_key_activates_after_the_delay_and_its_predecessor_retires(
    ring: SigningKeyRing, sessions: Sessions, table: Table, key_pool: KeyPool, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    await ring.rotate()
    old_rs, old_es = kid_of(key_pool, RS256, 0), kid_of(key_pool, ES256, 0)
    new_rs, new_es = kid_of(key_pool, RS256, 1), kid_of(key_pool, ES256, 1)

    activated_at = clock.advance(ACTIVATION_DELAY)

    assert (await ring.signing_key(RS256)).kid == new_rs
    assert (await ring.signing_key(ES256)).kid == new_es
    assert (await ring.jwks()).kids == (new_rs, new_es, old_rs, old_es)
    assert await _states(sessions, table) == {
        old_rs: (RS256, "retired"),
        old_es: (ES256, "retired"),
        new_rs: (RS256, "active"),
        new_es: (ES256, "active"),
    }
    async with unit_of_work(sessions) as db:
        records = {r.kid: r for r in await ring.service.list_published(db)}
    assert (records[old_rs].retired_at, records[old_rs].drop_after) == (
        activated_at,
        activated_at + RETENTION,
    )
    assert records[new_rs].activated_at == activated_at


async def test_retired_key_leaves_the_jwks_after_retention_and_its_private_key_is_erased(
    ring: SigningKeyRing, sessions: Sessions, table: Table, key_pool: KeyPool, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    await ring.rotate()
    clock.advance(ACTIVATION_DELAY)
    await ring.jwks()
    old_rs, old_es = kid_of(key_pool, RS256, 0), kid_of(key_pool, ES256, 0)
    new_rs, new_es = kid_of(key_pool, RS256, 1), kid_of(key_pool, ES256, 1)

    clock.advance(RETENTION - timedelta(seconds=1))
    assert (await ring.jwks()).kids == (new_rs, new_es, old_rs, old_es)
    dropped_at = clock.advance(timedelta(seconds=1))
    assert (await ring.jwks()).kids == (new_rs, new_es)

    async with unit_of_work(sessions) as db:
        result = await db.execute(
            select(
                table.c.state,
                table.c.revoked_at,
                table.c.private_key_ciphertext,
                table.c.private_key_nonce,
            ).where(table.c.kid == old_rs)
        )
        assert result.one() == ("revoked", dropped_at, None, None)


async def test_ring_sees_a_rotation_by_another_process_at_its_next_refresh(
    ring: SigningKeyRing, service: SigningKeyService, sessions: Sessions, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    before = await ring.jwks()

    # the CLI, in another process, rotates through the service directly
    async with unit_of_work(sessions) as db:
        changes = await service.rotate(db, now=clock.now)

    assert await ring.jwks() is before  # served from memory until the refresh interval ends
    clock.advance(ring.policy.refresh_interval)
    assert (await ring.jwks()).kids == (*before.kids, *(change.kid for change in changes))


async def test_rotate_without_an_active_key_activates_at_once(
    ring: SigningKeyRing, key_pool: KeyPool, clock: FakeClock
) -> None:
    changes = await ring.rotate(algorithms=[RS256])

    assert changes == [
        KeyChange(KeyChangeKind.BOOTSTRAPPED, kid_of(key_pool, RS256, 0), RS256, clock.now)
    ]
    assert (await ring.signing_key(RS256)).kid == kid_of(key_pool, RS256, 0)


async def test_rotate_refuses_an_algorithm_the_policy_does_not_have(ring: SigningKeyRing) -> None:
    with pytest.raises(ValueError, match=r"not configured for PS256 \(configured: RS256, ES256\)"):
        await ring.rotate(algorithms=["PS256"])


async def test_database_refuses_a_second_active_key_for_an_algorithm(
    ring: SigningKeyRing, sessions: Sessions, table: Table, key_pool: KeyPool, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    intruder = key_pool.keys[RS256][-1]  # a key the ring has not used
    jwk = public_jwk(intruder, algorithm=RS256)
    sealed = KeyEncryptor(SECRET).encrypt(serialize_private_key(intruder), kid=jwk["kid"])

    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as db:
            await db.execute(
                insert(table).values(
                    kid=jwk["kid"],
                    algorithm=RS256,
                    state=SigningKeyState.ACTIVE.value,
                    public_jwk=jwk,
                    private_key_ciphertext=sealed.ciphertext,
                    private_key_nonce=sealed.nonce,
                    kek_version=sealed.kek_version,
                    created_at=clock.now,
                    activate_after=clock.now,
                )
            )


async def test_concurrent_first_starts_create_one_key_set(
    database_url: str, sessions: Sessions, table: Table, key_pool: KeyPool, clock: FakeClock
) -> None:
    # given two processes (own engines) that both find no keys before either inserts
    barrier = threading.Barrier(2, timeout=10)
    shared = key_pool.generator()
    engines = [make_async_engine(database_url) for _ in range(2)]
    rings = [
        SigningKeyRing(
            sessionmaker=make_async_sessionmaker(engine),
            service=SigningKeyService(
                table=table,
                encryptor=KeyEncryptor(SECRET),
                generate=first_call_waits(shared, barrier),
            ),
            clock=clock,
        )
        for engine in engines
    ]
    try:
        # when both bootstrap at once
        results = await asyncio.gather(*(ring.ensure_keys() for ring in rings))
        signing = [await ring.signing_key(RS256) for ring in rings]
    finally:
        for engine in engines:
            await engine.dispose()

    # then one set exists, created by one of them, and both sign with it
    states = await _states(sessions, table)
    assert sorted(states.values()) == [(ES256, "active"), (RS256, "active")]
    changes = sorted((c.kid, c.kind) for result in results for c in result)
    assert changes == sorted((kid, KeyChangeKind.BOOTSTRAPPED) for kid in states)
    assert signing[0].kid == signing[1].kid


async def test_concurrent_rotations_and_activations_leave_one_active_key_per_algorithm(
    database_url: str,
    ring: SigningKeyRing,
    sessions: Sessions,
    table: Table,
    key_pool: KeyPool,
    clock: FakeClock,
) -> None:
    await ring.ensure_keys()
    shared = key_pool.generator()
    for _ in range(2):  # skip the keys the bootstrap used
        shared(RS256), shared(ES256)
    # PostgreSQL: force both rotations to read before either inserts. SQLite takes its database
    # write lock at a rotation's first statement, so that interleaving cannot exist there (the
    # barrier would deadlock against the lock); the two simply run at once.
    barrier = threading.Barrier(2, timeout=10)
    forced = not database_url.startswith("sqlite")
    engines = [make_async_engine(database_url) for _ in range(2)]
    rings = [
        SigningKeyRing(
            sessionmaker=make_async_sessionmaker(engine),
            service=SigningKeyService(
                table=table,
                encryptor=KeyEncryptor(SECRET),
                generate=first_call_waits(shared, barrier) if forced else shared,
            ),
            clock=clock,
        )
        for engine in engines
    ]
    try:
        # when two operators rotate at once
        rotations = await asyncio.gather(*(r.rotate() for r in rings))
        pending_states = await _states(sessions, table)
        # and, once due, both replicas run the activation at once
        clock.advance(ACTIVATION_DELAY)
        await asyncio.gather(*(r.jwks() for r in rings))
        signing = [(await r.signing_key(RS256)).kid for r in rings]
    finally:
        for engine in engines:
            await engine.dispose()

    kinds = sorted(change.kind for result in rotations for change in result)
    assert kinds == [KeyChangeKind.ALREADY_PENDING] * 2 + [KeyChangeKind.PUBLISHED] * 2
    assert sorted(state for _, state in pending_states.values()) == [
        "active",
        "active",
        "pending",
        "pending",
    ]
    final = sorted((await _states(sessions, table)).values())
    assert final == [
        (ES256, "active"),
        (ES256, "retired"),
        (RS256, "active"),
        (RS256, "retired"),
    ]
    assert signing[0] == signing[1]


async def test_a_database_outage_keeps_the_jwks_but_stops_signing_with_a_stale_key_set(
    ring: SigningKeyRing,
    service: SigningKeyService,
    engine: AsyncEngine,
    sessions: Sessions,
    table: Table,
    clock: FakeClock,
) -> None:
    await ring.ensure_keys()
    document = await ring.jwks()
    signing = await ring.signing_key(RS256)

    # the keys become unreadable (the table is gone: every reload fails)
    async with engine.begin() as connection:
        await connection.run_sync(table.drop)

    clock.advance(ring.policy.refresh_interval - timedelta(seconds=1))
    assert await ring.signing_key(RS256) is signing  # still within the refresh interval
    clock.advance(timedelta(seconds=1))
    assert await ring.jwks() is document
    with pytest.raises(SigningKeyUnavailable, match="the signing keys could not be reloaded"):
        await ring.signing_key(RS256)
    cold = SigningKeyRing(sessionmaker=sessions, service=service, clock=clock)
    with pytest.raises(SigningKeyUnavailable, match="the signing keys could not be loaded"):
        await cold.jwks()
