"""TokenVerifier: every acceptance and rejection rule, through both verify() and averify()."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from roadbed_core.errors import Unauthorized
from roadbed_core.tokens import (
    Claims,
    InvalidToken,
    JwksClient,
    TokenExpired,
    TokenVerifier,
)

Verify = Callable[[TokenVerifier, str], Awaitable[Claims]]


async def _sync(verifier: TokenVerifier, token: str) -> Claims:
    return verifier.verify(token)


async def _async(verifier: TokenVerifier, token: str) -> Claims:
    return await verifier.averify(token)


@pytest.fixture(params=[_sync, _async], ids=["verify", "averify"])
def verify(request: pytest.FixtureRequest) -> Verify:
    """Run each test through the blocking and the async entry point."""
    return request.param  # type: ignore[no-any-return]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def reason_for(verify: Verify, verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verify(verifier, token)
    return caught.value.reason


# -- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize("signer_name", ["rsa", "ec", "ed"])
async def test_valid_token_yields_its_claims(
    verify: Verify, verifier: TokenVerifier, tokens: Any, keys: Any, signer_name: str
) -> None:
    # Given a token signed by a published key
    now = int(time.time())
    token = tokens.sign(getattr(keys, signer_name), jti="tok-1", iat=now, exp=now + 300)

    # When it is verified
    claims = await verify(verifier, token)

    # Then the claims come back typed
    assert claims == Claims(
        sub="user-1",
        iss="https://id.example.test/auth",
        aud=("https://api.example.test/blog",),
        exp=datetime.fromtimestamp(now + 300, tz=UTC),
        iat=datetime.fromtimestamp(now, tz=UTC),
        jti="tok-1",
        client_id="roadbed-web",
        scope=frozenset({"articles:read", "articles:write"}),
        roles=frozenset({"author"}),
    )


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
async def test_typ_is_compared_case_insensitively_with_optional_prefix(
    verify: Verify, verifier: TokenVerifier, tokens: Any, typ: str
) -> None:
    claims = await verify(verifier, tokens.sign(headers={"typ": typ}))

    assert claims.sub == "user-1"


async def test_token_for_several_audiences_including_ours_is_accepted(
    verify: Verify, verifier: TokenVerifier, tokens: Any
) -> None:
    token = tokens.sign(aud=["https://api.example.test/shop", "https://api.example.test/blog"])

    claims = await verify(verifier, token)

    assert claims.aud == ("https://api.example.test/shop", "https://api.example.test/blog")


async def test_clock_skew_within_leeway_is_tolerated(
    verify: Verify, verifier: TokenVerifier, tokens: Any
) -> None:
    now = int(time.time())
    token = tokens.sign(iat=now + 10, nbf=now + 10, exp=now - 10)

    claims = await verify(verifier, token)

    assert claims.jti


# -- rejected: time -----------------------------------------------------------------------------


async def test_expired_token_is_rejected_with_the_rfc6750_challenge(
    verify: Verify, verifier: TokenVerifier, tokens: Any
) -> None:
    now = int(time.time())

    with pytest.raises(TokenExpired) as caught:
        await verify(verifier, tokens.sign(iat=now - 600, exp=now - 120))

    error = caught.value
    assert isinstance(error, Unauthorized)
    assert (error.status, error.code, error.detail) == (401, "invalid_token", "expired")
    assert error.headers == {
        "WWW-Authenticate": 'Bearer error="invalid_token", '
        'error_description="The access token expired"'
    }


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_token_from_the_future_is_not_yet_valid(
    verify: Verify, verifier: TokenVerifier, tokens: Any, claim: str
) -> None:
    token = tokens.sign(**{claim: int(time.time()) + 300})

    assert await reason_for(verify, verifier, token) == "not_yet_valid"


# -- rejected: issuer, audience, claims ---------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "reason"),
    [
        (["https://api.example.test/shop"], "bad_audience"),
        ("https://api.example.test/blog/extra", "bad_audience"),
        ([], "missing_claim"),
    ],
)
async def test_wrong_audience_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, audience: Any, reason: str
) -> None:
    assert await reason_for(verify, verifier, tokens.sign(aud=audience)) == reason


@pytest.mark.parametrize(
    "issuer",
    ["https://evil.example.test/auth", "https://id.example.test/auth/", "https://id.example.test"],
)
async def test_issuer_must_match_exactly(
    verify: Verify, verifier: TokenVerifier, tokens: Any, issuer: str
) -> None:
    assert await reason_for(verify, verifier, tokens.sign(iss=issuer)) == "bad_issuer"


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
async def test_each_required_claim_must_be_present(
    verify: Verify, verifier: TokenVerifier, tokens: Any, claim: str
) -> None:
    assert await reason_for(verify, verifier, tokens.sign(drop=(claim,))) == "missing_claim"


@pytest.mark.parametrize(
    "claims",
    [{"sub": 42}, {"jti": 7}, {"roles": "admin"}, {"client_id": ["a"]}, {"iat": "yesterday"}],
    ids=repr,
)
async def test_badly_typed_claims_are_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, claims: dict[str, Any]
) -> None:
    assert await reason_for(verify, verifier, tokens.sign(**claims)) == "bad_claims"


# -- rejected: header and signature -------------------------------------------------------------


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt; charset=x", "application/jwt"])
async def test_typ_other_than_at_jwt_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, typ: str | None
) -> None:
    assert await reason_for(verify, verifier, tokens.sign(headers={"typ": typ})) == "bad_typ"


async def test_alg_none_is_rejected(verify: Verify, verifier: TokenVerifier, tokens: Any) -> None:
    token = jwt.encode(
        tokens.payload(), None, algorithm="none", headers={"typ": "at+jwt", "kid": "rsa-1"}
    )

    assert await reason_for(verify, verifier, token) == "bad_alg"


def hs256_token(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    """Sign by hand: PyJWT itself refuses an asymmetric key as HMAC secret, attackers do not."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
    body = b64url(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(signature)}"


async def test_hs256_keyed_with_the_rsa_public_key_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, keys: Any
) -> None:
    # Given the classic algorithm-confusion token: HS256 with the public PEM as shared secret
    token = hs256_token(tokens.payload(), keys.rsa.public_pem(), kid="rsa-1")

    # Then the allow-list stops it
    assert await reason_for(verify, verifier, token) == "bad_alg"


async def test_symmetric_algorithms_cannot_be_allow_listed(
    keys: Any,
) -> None:
    with pytest.raises(ValueError, match="HS256"):
        TokenVerifier(
            JwksClient.from_jwks(keys.jwks()),
            issuer="https://id.example.test/auth",
            audience="https://api.example.test/blog",
            revocation=None,
            algorithms=("RS256", "HS256"),
        )


async def test_alg_outside_the_allow_list_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, keys: Any
) -> None:
    # RS384 is a fine algorithm for this RSA key, but this verifier does not accept it.
    token = jwt.encode(
        tokens.payload(),
        keys.rsa.private_key,
        algorithm="RS384",
        headers={"typ": "at+jwt", "kid": "rsa-1"},
    )

    assert await reason_for(verify, verifier, token) == "bad_alg"


async def test_alg_not_matching_the_key_type_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, keys: Any
) -> None:
    # Given a valid ES256 signature, but the header points at the RSA key
    token = tokens.sign(keys.ec, headers={"kid": "rsa-1"})

    assert await reason_for(verify, verifier, token) == "alg_mismatch"


async def test_missing_kid_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any
) -> None:
    assert await reason_for(verify, verifier, tokens.sign(headers={"kid": None})) == "missing_kid"


async def test_unknown_kid_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any
) -> None:
    assert (
        await reason_for(verify, verifier, tokens.sign(headers={"kid": "rsa-9"})) == "unknown_kid"
    )


async def test_signature_by_an_unpublished_key_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any, keys: Any
) -> None:
    # The stranger's key claims the published kid "rsa-1".
    assert await reason_for(verify, verifier, tokens.sign(keys.stranger)) == "bad_signature"


async def test_tampered_payload_is_rejected(
    verify: Verify, verifier: TokenVerifier, tokens: Any
) -> None:
    header, _, signature = tokens.sign().split(".")
    forged = b64url(json.dumps(tokens.payload(roles=["admin"])).encode())

    assert await reason_for(verify, verifier, f"{header}.{forged}.{signature}") == "bad_signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        "a.b",
        ".....",
        "eyJ0eXAiOiJhdCtqd3QifQ$.e30.sig",  # a character outside base64url in the header
        "WyJub3QiLCJhbiIsIm9iamVjdCJd.e30.sig",  # header JSON that is not an object
        "eyJ0eXAiOiJhdCtqd3QifQ." + "A" * 9000,  # longer than any token we would accept
    ],
)
async def test_garbage_is_malformed(verify: Verify, verifier: TokenVerifier, token: str) -> None:
    assert await reason_for(verify, verifier, token) == "malformed"


# -- with a remote JWKS -------------------------------------------------------------------------


async def test_rotated_key_verifies_after_one_refetch(
    verify: Verify, tokens: Any, keys: Any, jwks_endpoint: Any, clock: Any
) -> None:
    # Given a verifier on the local issuer that has loaded its keys
    issuer = jwks_endpoint.url.removesuffix("/.well-known/jwks.json")
    verifier = TokenVerifier.from_issuer(
        issuer,
        audience="https://api.example.test/blog",
        revocation=None,
        refetch_cooldown=30,
        clock=clock,
    )
    assert (await verify(verifier, tokens.sign(iss=issuer))).sub == "user-1"

    # When the issuer rotates to a new key and signs with it
    jwks_endpoint.document = {"keys": [keys.rsa.public_jwk(), keys.rsa_rotated.public_jwk()]}
    clock.advance(30)
    claims = await verify(verifier, tokens.sign(keys.rsa_rotated, iss=issuer, sub="user-2"))

    # Then the verifier picked the key up with exactly one more fetch
    assert claims.sub == "user-2"
    assert jwks_endpoint.fetches == 2


async def test_garbage_never_reaches_the_jwks_endpoint(
    verify: Verify, tokens: Any, jwks_endpoint: Any, clock: Any
) -> None:
    verifier = TokenVerifier(
        JwksClient.from_url(jwks_endpoint.url, clock=clock),
        issuer="https://id.example.test/auth",
        audience="https://api.example.test/blog",
        revocation=None,
    )

    for token in ("abc", tokens.sign(headers={"typ": "JWT"}), tokens.sign(headers={"kid": None})):
        with pytest.raises(InvalidToken):
            await verify(verifier, token)

    assert jwks_endpoint.fetches == 0
