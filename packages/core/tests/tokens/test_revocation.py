"""Revocation: the writers auth calls and the verifier's check, on MemoryCache and real Redis."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roadbed_core.cache import (
    AsyncCache,
    AsyncMemoryCache,
    AsyncRedisCache,
    Cache,
    MemoryCache,
    MemoryStore,
    RedisCache,
)
from roadbed_core.tokens import (
    JwksClient,
    RevocationList,
    RevocationUnavailable,
    TokenRevoked,
    TokenVerifier,
    arevoke_token,
    arevoke_user_tokens_before,
    revoke_token,
    revoke_user_tokens_before,
)
from roadbed_core.tokens.revocation import DENYLIST_MARGIN, subject_key, token_key

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.services)]


@pytest.fixture(params=BACKENDS)
def cache(request: pytest.FixtureRequest) -> Iterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    redis_cache = RedisCache.from_url(request.getfixturevalue("redis_url"))
    try:
        yield redis_cache
    finally:
        redis_cache.client.close()


@pytest.fixture(params=BACKENDS)
async def async_cache(request: pytest.FixtureRequest) -> AsyncIterator[AsyncCache]:
    if request.param == "memory":
        yield AsyncMemoryCache(MemoryStore())
        return
    redis_cache = AsyncRedisCache.from_url(request.getfixturevalue("redis_url"))
    try:
        yield redis_cache
    finally:
        await redis_cache.aclose()


def verifier_with(keys: Any, revocation: RevocationList) -> TokenVerifier:
    return TokenVerifier(
        JwksClient.from_jwks(keys.jwks()),
        issuer="https://id.example.test/auth",
        audience="https://api.example.test/blog",
        revocation=revocation,
    )


def expires_at(token_exp: int) -> datetime:
    return datetime.fromtimestamp(token_exp, tz=UTC)


# -- blocking -----------------------------------------------------------------------------------


def test_revoked_jti_is_rejected_and_other_tokens_pass(
    cache: Cache, keys: Any, tokens: Any
) -> None:
    # Given two tokens of the same user, one of them revoked by jti
    verifier = verifier_with(keys, RevocationList(cache))
    exp = int(time.time()) + 300
    revoke_token(cache, "revoked-jti", expires_at(exp))

    # When both are verified / Then only the revoked one fails
    with pytest.raises(TokenRevoked) as caught:
        verifier.verify(tokens.sign(jti="revoked-jti", exp=exp))
    assert verifier.verify(tokens.sign(jti="other-jti", exp=exp)).jti == "other-jti"

    error = caught.value
    assert (error.status, error.code, error.detail) == (401, "invalid_token", "revoked")
    assert error.headers == {
        "WWW-Authenticate": 'Bearer error="invalid_token", '
        'error_description="The access token has been revoked"'
    }


def test_user_not_before_revokes_older_tokens_only(cache: Cache, keys: Any, tokens: Any) -> None:
    # Given the user revoked every token issued before `when`
    verifier = verifier_with(keys, RevocationList(cache))
    when = int(time.time())
    revoke_user_tokens_before(cache, "user-1", datetime.fromtimestamp(when + 0.9, tz=UTC))

    # Then tokens issued a second earlier and in the same second are revoked (whole-second
    # iat cannot order them), one from the next second is not, and another user's is untouched
    with pytest.raises(TokenRevoked):
        verifier.verify(tokens.sign(iat=when - 1))
    with pytest.raises(TokenRevoked):
        verifier.verify(tokens.sign(iat=when))
    assert verifier.verify(tokens.sign(iat=when + 1)).sub == "user-1"
    assert verifier.verify(tokens.sign(sub="user-2", iat=when - 1)).sub == "user-2"


def test_key_layout_is_the_documented_one(cache: Cache) -> None:
    revoke_token(cache, "jti-1", datetime.now(UTC) + timedelta(minutes=5))
    revoke_user_tokens_before(cache, "user-1", datetime(2030, 1, 1, 0, 0, 0, 700_000, tzinfo=UTC))

    assert token_key("jti-1") == "roadbed:revoked:jti:jti-1"
    assert subject_key("user-1") == "roadbed:revoked:sub:user-1"
    assert cache.get("roadbed:revoked:jti:jti-1") == b"1"
    assert cache.get("roadbed:revoked:sub:user-1") == b"1893456001"  # rounded up to the second


def test_unreadable_not_before_fails_closed(cache: Cache, keys: Any, tokens: Any) -> None:
    cache.set(subject_key("user-1"), b"garbage", ttl=60)

    with pytest.raises(TokenRevoked):
        verifier_with(keys, RevocationList(cache)).verify(tokens.sign())


# -- async --------------------------------------------------------------------------------------


async def test_async_revoked_jti_is_rejected_and_other_tokens_pass(
    async_cache: AsyncCache, keys: Any, tokens: Any
) -> None:
    verifier = verifier_with(keys, RevocationList(async_cache=async_cache))
    exp = int(time.time()) + 300
    await arevoke_token(async_cache, "revoked-jti", expires_at(exp))

    with pytest.raises(TokenRevoked):
        await verifier.averify(tokens.sign(jti="revoked-jti", exp=exp))
    assert (await verifier.averify(tokens.sign(jti="other-jti", exp=exp))).jti == "other-jti"


async def test_async_user_not_before_revokes_older_tokens_only(
    async_cache: AsyncCache, keys: Any, tokens: Any
) -> None:
    verifier = verifier_with(keys, RevocationList(async_cache=async_cache))
    when = int(time.time())
    await arevoke_user_tokens_before(async_cache, "user-1", datetime.fromtimestamp(when, tz=UTC))

    with pytest.raises(TokenRevoked):
        await verifier.averify(tokens.sign(iat=when - 1))
    assert (await verifier.averify(tokens.sign(iat=when))).sub == "user-1"


async def test_sync_writer_and_async_reader_share_the_store(keys: Any, tokens: Any) -> None:
    # Embedded mode: auth writes through one flavour, a FastAPI service reads through the other.
    store = MemoryStore()
    revocation = RevocationList(async_cache=AsyncMemoryCache(store))
    revoke_user_tokens_before(store, "user-1")

    with pytest.raises(TokenRevoked):
        await verifier_with(keys, revocation).averify(tokens.sign(iat=int(time.time()) - 5))


# -- lifetimes and misuse -----------------------------------------------------------------------


def test_denylist_entry_lives_until_the_token_expiry_plus_margin() -> None:
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])
    revoke_token(store, "jti-1", datetime.now(UTC) + timedelta(seconds=300))
    margin = DENYLIST_MARGIN.total_seconds()

    clock[0] = 300 + margin - 10
    assert store.get(token_key("jti-1")) == b"1"
    clock[0] = 300 + margin + 1
    assert store.get(token_key("jti-1")) is None


def test_not_before_entry_is_kept_for_the_retention() -> None:
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])
    revoke_user_tokens_before(store, "user-1", retain_for=timedelta(hours=2))

    clock[0] = 2 * 3600 - 10
    assert store.get(subject_key("user-1")) is not None
    clock[0] = 2 * 3600 + 1
    assert store.get(subject_key("user-1")) is None


def test_naive_datetimes_are_refused() -> None:
    cache = MemoryCache()

    with pytest.raises(ValueError, match="timezone-aware"):
        revoke_token(cache, "jti-1", datetime(2030, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        revoke_user_tokens_before(cache, "user-1", datetime(2030, 1, 1))  # noqa: DTZ001


def test_revocation_list_needs_the_flavour_it_is_asked_for(keys: Any, tokens: Any) -> None:
    with pytest.raises(ValueError, match="a cache"):
        RevocationList()
    async_only = verifier_with(keys, RevocationList(async_cache=AsyncMemoryCache()))
    with pytest.raises(RuntimeError, match="no blocking cache"):
        async_only.verify(tokens.sign())


def test_unreachable_redis_is_a_503_not_a_pass(keys: Any, tokens: Any) -> None:
    # Given a Redis URL nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = RedisCache.from_url(f"redis://127.0.0.1:{port}/0")

    with pytest.raises(RevocationUnavailable) as caught:
        verifier_with(keys, RevocationList(cache)).verify(tokens.sign())

    assert (caught.value.status, caught.value.code) == (503, "revocation_unavailable")
    cache.client.close()


async def test_unreachable_async_redis_is_a_503(keys: Any, tokens: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = AsyncRedisCache.from_url(f"redis://127.0.0.1:{port}/0")

    with pytest.raises(RevocationUnavailable):
        await verifier_with(keys, RevocationList(async_cache=cache)).averify(tokens.sign())
    await cache.aclose()


def test_from_url_builds_both_flavours_on_redis(redis_url: str) -> None:
    revocation = RevocationList.from_url(redis_url)

    assert isinstance(revocation.cache, RedisCache)
    assert isinstance(revocation.async_cache, AsyncRedisCache)
    revocation.cache.client.close()
