"""JwksClient: caching, refetch on unknown kid with a cooldown, rotation, and failure handling.

Fetches go over real HTTP to the local ``jwks_endpoint`` server; time is a hand-advanced clock.
"""

from __future__ import annotations

import asyncio
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from roadbed_core.tokens import InvalidToken, JwksClient, TokenKeysUnavailable
from roadbed_core.tokens.jwks import MAX_JWKS_BYTES


def client_for(endpoint: Any, clock: Any, **options: Any) -> JwksClient:
    return JwksClient.from_url(endpoint.url, ttl=300, refetch_cooldown=30, clock=clock, **options)


# -- static and loader sources ------------------------------------------------------------------


def test_static_jwks_serves_its_keys_and_never_fetches(keys: Any) -> None:
    jwks = JwksClient.from_jwks(keys.jwks())

    assert jwks.get_signing_key("rsa-1").algorithms == frozenset(
        {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    )
    assert jwks.get_signing_key("ec-1").algorithms == frozenset({"ES256"})
    assert jwks.get_signing_key("ed-1").algorithms == frozenset({"EdDSA"})
    with pytest.raises(InvalidToken) as caught:
        jwks.get_signing_key("nope")
    assert caught.value.reason == "unknown_kid"


def test_static_jwks_without_usable_keys_is_a_startup_error() -> None:
    with pytest.raises(ValueError, match="no usable signing key"):
        JwksClient.from_jwks({"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]})


def test_unusable_entries_are_skipped(keys: Any) -> None:
    # Given a JWKS that also holds an HMAC key, an encryption key, a kid-less key and an RSA key
    # pinned to RS384
    rsa_jwk = keys.rsa.public_jwk()
    document = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {**keys.ec.public_jwk(), "kid": "enc", "use": "enc"},
            {key: value for key, value in keys.ed.public_jwk().items() if key != "kid"},
            {**rsa_jwk, "kid": "pinned", "alg": "RS384"},
            {"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "!!"},
            "not-a-key",
            rsa_jwk,
        ]
    }

    # When it is loaded
    jwks = JwksClient.from_jwks(document)

    # Then only the signing keys we can use are there, with the pinned algorithm respected
    assert jwks.get_signing_key("pinned").algorithms == frozenset({"RS384"})
    assert jwks.get_signing_key("rsa-1").kid == "rsa-1"
    for kid in ("hmac", "enc", "broken"):
        with pytest.raises(InvalidToken):
            jwks.get_signing_key(kid)


def test_loader_source_is_refreshed_like_a_url(keys: Any, clock: Any) -> None:
    published = [keys.jwks()]
    calls: list[int] = []

    def loader() -> dict[str, Any]:
        calls.append(1)
        return published[0]

    jwks = JwksClient.from_loader(loader, refetch_cooldown=30, clock=clock)
    assert jwks.get_signing_key("rsa-1").kid == "rsa-1"

    published[0] = {"keys": [keys.rsa_rotated.public_jwk()]}
    clock.advance(31)

    assert jwks.get_signing_key("rsa-2").kid == "rsa-2"
    assert len(calls) == 2


def test_exactly_one_source_is_required(keys: Any) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JwksClient(url="http://127.0.0.1/jwks", jwks=keys.jwks())
    with pytest.raises(ValueError, match="exactly one"):
        JwksClient()


# -- fetching and caching ---------------------------------------------------------------------


def test_keys_are_fetched_once_and_cached_for_the_ttl(jwks_endpoint: Any, clock: Any) -> None:
    jwks = client_for(jwks_endpoint, clock)

    jwks.get_signing_key("rsa-1")
    clock.advance(299)
    jwks.get_signing_key("ec-1")
    assert jwks_endpoint.fetches == 1

    clock.advance(1)
    jwks.get_signing_key("rsa-1")
    assert jwks_endpoint.fetches == 2


def test_unknown_kid_refetches_once_then_waits_for_the_cooldown(
    jwks_endpoint: Any, clock: Any
) -> None:
    # Given keys already loaded, and the cooldown since that fetch elapsed
    jwks = client_for(jwks_endpoint, clock)
    jwks.get_signing_key("rsa-1")
    clock.advance(30)

    # When a bogus kid arrives, then another one within the cooldown
    with pytest.raises(InvalidToken) as first:
        jwks.get_signing_key("bogus-1")
    clock.advance(29)
    with pytest.raises(InvalidToken) as second:
        jwks.get_signing_key("bogus-2")

    # Then only the first one cost a fetch
    assert (first.value.reason, second.value.reason) == ("unknown_kid", "unknown_kid")
    assert jwks_endpoint.fetches == 2

    # And once the cooldown is over, a new unknown kid may fetch again
    clock.advance(1)
    with pytest.raises(InvalidToken):
        jwks.get_signing_key("bogus-3")
    assert jwks_endpoint.fetches == 3


def test_unknown_kid_right_after_a_fetch_does_not_refetch(jwks_endpoint: Any, clock: Any) -> None:
    jwks = client_for(jwks_endpoint, clock)
    jwks.get_signing_key("rsa-1")

    with pytest.raises(InvalidToken):
        jwks.get_signing_key("bogus")

    assert jwks_endpoint.fetches == 1


def test_rotated_key_is_picked_up_by_the_unknown_kid_refetch(
    jwks_endpoint: Any, keys: Any, clock: Any
) -> None:
    # Given the client knows the first key
    jwks = client_for(jwks_endpoint, clock)
    jwks.get_signing_key("rsa-1")

    # When the issuer publishes a new key and a token signed with it arrives after the cooldown
    jwks_endpoint.document = {"keys": [keys.rsa.public_jwk(), keys.rsa_rotated.public_jwk()]}
    clock.advance(30)
    key = jwks.get_signing_key("rsa-2")

    # Then the new key is found with a single extra fetch, and the old one still works
    assert key.jwk["n"] == keys.rsa_rotated.public_jwk()["n"]
    assert jwks.get_signing_key("rsa-1").kid == "rsa-1"
    assert jwks_endpoint.fetches == 2


def test_explicit_refresh_ignores_ttl_and_cooldown(
    jwks_endpoint: Any, keys: Any, clock: Any
) -> None:
    jwks = client_for(jwks_endpoint, clock)
    jwks.get_signing_key("rsa-1")
    jwks_endpoint.document = {"keys": [keys.rsa_rotated.public_jwk()]}

    jwks.refresh()

    assert jwks.get_signing_key("rsa-2").kid == "rsa-2"
    assert jwks_endpoint.fetches == 2


def test_concurrent_threads_share_one_fetch(jwks_endpoint: Any, clock: Any) -> None:
    jwks = client_for(jwks_endpoint, clock)

    with ThreadPoolExecutor(max_workers=8) as pool:
        kids = list(pool.map(lambda _: jwks.get_signing_key("ec-1").kid, range(16)))

    assert kids == ["ec-1"] * 16
    assert jwks_endpoint.fetches == 1


# -- async --------------------------------------------------------------------------------------


async def test_async_lookup_follows_the_same_rules(
    jwks_endpoint: Any, keys: Any, clock: Any
) -> None:
    jwks = client_for(jwks_endpoint, clock)

    assert (await jwks.aget_signing_key("rsa-1")).kid == "rsa-1"
    clock.advance(30)
    with pytest.raises(InvalidToken):
        await jwks.aget_signing_key("bogus-1")
    with pytest.raises(InvalidToken):
        await jwks.aget_signing_key("bogus-2")
    assert jwks_endpoint.fetches == 2

    jwks_endpoint.document = {"keys": [keys.rsa_rotated.public_jwk()]}
    await jwks.arefresh()
    assert (await jwks.aget_signing_key("rsa-2")).kid == "rsa-2"
    assert jwks_endpoint.fetches == 3


async def test_concurrent_coroutines_share_one_fetch(jwks_endpoint: Any, clock: Any) -> None:
    jwks = client_for(jwks_endpoint, clock)

    found = await asyncio.gather(*(jwks.aget_signing_key("ed-1") for _ in range(10)))

    assert [key.kid for key in found] == ["ed-1"] * 10
    assert jwks_endpoint.fetches == 1


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "raw_body"),
    [
        (500, b"oops"),
        (200, b"<html>not json</html>"),
        (200, b'["a", "list"]'),
        (200, b'{"keys": []}'),
        (200, b'{"keys": "nope"}'),
    ],
    ids=["http-500", "not-json", "not-an-object", "no-keys", "keys-not-a-list"],
)
def test_failed_first_fetch_is_a_503_never_a_verdict_on_the_token(
    jwks_endpoint: Any, clock: Any, status: int, raw_body: bytes
) -> None:
    jwks_endpoint.status, jwks_endpoint.raw_body = status, raw_body
    jwks = client_for(jwks_endpoint, clock)

    with pytest.raises(TokenKeysUnavailable) as caught:
        jwks.get_signing_key("rsa-1")

    error = caught.value
    assert (error.status, error.code) == (503, "token_keys_unavailable")
    assert error.headers == {"Retry-After": "30"}


async def test_failed_async_fetch_is_a_503(jwks_endpoint: Any, clock: Any) -> None:
    jwks_endpoint.status = 502
    jwks = client_for(jwks_endpoint, clock)

    with pytest.raises(TokenKeysUnavailable):
        await jwks.aget_signing_key("rsa-1")


def test_unreachable_endpoint_is_a_503_and_retries_only_after_the_cooldown(clock: Any) -> None:
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    jwks = JwksClient.from_url(
        f"http://127.0.0.1:{port}/jwks.json", refetch_cooldown=30, timeout=2, clock=clock
    )

    with pytest.raises(TokenKeysUnavailable):
        jwks.get_signing_key("rsa-1")
    clock.advance(10)
    with pytest.raises(TokenKeysUnavailable) as caught:
        jwks.get_signing_key("rsa-1")

    assert caught.value.headers == {"Retry-After": "20"}


def test_cached_keys_keep_working_while_the_endpoint_is_down(
    jwks_endpoint: Any, clock: Any
) -> None:
    # Given keys were loaded, then the endpoint breaks and the TTL runs out
    jwks = client_for(jwks_endpoint, clock)
    jwks.get_signing_key("rsa-1")
    jwks_endpoint.status = 503
    clock.advance(300)

    # When a known kid is looked up, the refresh fails but the cached key is served
    assert jwks.get_signing_key("rsa-1").kid == "rsa-1"
    assert jwks_endpoint.fetches == 2

    # And an unknown kid cannot be judged while the endpoint is down: 503, not 401
    with pytest.raises(TokenKeysUnavailable):
        jwks.get_signing_key("rsa-2")
    assert jwks_endpoint.fetches == 2

    # When the endpoint recovers, the next attempt after the cooldown succeeds
    jwks_endpoint.status = 200
    clock.advance(30)
    with pytest.raises(InvalidToken) as caught:
        jwks.get_signing_key("rsa-2")
    assert caught.value.reason == "unknown_kid"
    assert jwks_endpoint.fetches == 3


def _padded_jwks(endpoint: Any, size: int) -> bytes:
    """The endpoint's valid JWKS, padded with an ignored member to about ``size`` bytes."""
    return json.dumps({**endpoint.document, "padding": "x" * size}).encode()


def test_jwks_just_under_the_size_cap_is_accepted(jwks_endpoint: Any, clock: Any) -> None:
    jwks_endpoint.raw_body = _padded_jwks(jwks_endpoint, MAX_JWKS_BYTES - 20_000)
    jwks = client_for(jwks_endpoint, clock)

    assert jwks.get_signing_key("rsa-1").kid == "rsa-1"


def test_oversized_jwks_is_rejected_even_though_its_keys_are_valid(
    jwks_endpoint: Any, clock: Any
) -> None:
    jwks_endpoint.raw_body = _padded_jwks(jwks_endpoint, MAX_JWKS_BYTES)
    jwks = client_for(jwks_endpoint, clock)

    with pytest.raises(TokenKeysUnavailable):
        jwks.get_signing_key("rsa-1")


async def test_oversized_jwks_is_rejected_by_the_async_fetch_too(
    jwks_endpoint: Any, clock: Any
) -> None:
    jwks_endpoint.raw_body = _padded_jwks(jwks_endpoint, MAX_JWKS_BYTES)
    jwks = client_for(jwks_endpoint, clock)

    with pytest.raises(TokenKeysUnavailable):
        await jwks.aget_signing_key("rsa-1")
