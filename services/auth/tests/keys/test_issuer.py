"""Minting: RFC 9068 access tokens through the core verifier, and OpenID Connect ID tokens."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet

from roadbed_auth.keys import (
    ES256,
    RS256,
    AccessTokenIssuer,
    IdTokenIssuer,
    SigningKeyRing,
    token_hash,
)
from roadbed_core.tokens import Claims, InvalidToken, JwksClient, TokenVerifier
from roadbed_core.tokens.errors import BAD_TYP, UNKNOWN_KID

from .support import ISSUER, FakeClock, KeyPool, kid_of

AUDIENCE = "roadbed"
ACTIVATION_DELAY = timedelta(seconds=330)
RETENTION = timedelta(seconds=660)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Minting does not depend on the backend: SQLite only, for speed."""
    return f"sqlite:///{tmp_path}/keys.db"


async def _verifier(ring: SigningKeyRing) -> TokenVerifier:
    """The verifier every other service runs, fed our current JWKS document."""
    jwks = JwksClient.from_jwks((await ring.jwks()).as_dict())
    return TokenVerifier(jwks, issuer=ISSUER, audience=AUDIENCE, revocation=None)


@pytest.mark.parametrize("algorithm", [RS256, ES256])
async def test_access_token_verifies_through_the_core_verifier_with_exact_claims(
    ring: SigningKeyRing, clock: FakeClock, key_pool: KeyPool, algorithm: str
) -> None:
    await ring.ensure_keys()
    issuer = AccessTokenIssuer(ring, issuer=ISSUER, algorithm=algorithm)
    now = int(clock.now.timestamp())

    issued = await issuer.issue(
        subject="user-1",
        audience=AUDIENCE,
        client_id="roadbed-web",
        scopes=["openid", "profile", "openid"],
        roles=["staff", "admin"],
    )
    claims = (await _verifier(ring)).verify(issued.token)

    kid = kid_of(key_pool, algorithm, 0)
    assert jwt.get_unverified_header(issued.token) == {
        "alg": algorithm,
        "kid": kid,
        "typ": "at+jwt",
    }
    assert dict(claims.raw) == {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": now + 600,
        "iat": now,
        "jti": issued.jti,
        "client_id": "roadbed-web",
        "scope": "openid profile",
        "roles": ["admin", "staff"],
    }
    assert claims == Claims(
        sub="user-1",
        iss=ISSUER,
        aud=(AUDIENCE,),
        exp=clock.now + timedelta(seconds=600),
        iat=clock.now,
        jti=str(issued.jti),
        client_id="roadbed-web",
        scope=frozenset({"openid", "profile"}),
        roles=frozenset({"admin", "staff"}),
    )
    assert (issued.kid, issued.algorithm, issued.expires_in) == (kid, algorithm, 600)
    assert (issued.issued_at, issued.expires_at) == (clock.now, clock.now + timedelta(seconds=600))


async def test_jti_is_a_fresh_128_bit_value_per_token(ring: SigningKeyRing) -> None:
    await ring.ensure_keys()
    issuer = AccessTokenIssuer(ring, issuer=ISSUER)

    first = await issuer.issue(subject="user-1", audience=AUDIENCE, client_id="c")
    second = await issuer.issue(subject="user-1", audience=AUDIENCE, client_id="c")

    assert first.jti is not None
    assert second.jti is not None
    assert first.jti != second.jti
    assert len(base64.urlsafe_b64decode(first.jti + "==")) == 16


async def test_optional_claims_audience_list_and_lifetime(
    ring: SigningKeyRing, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    issuer = AccessTokenIssuer(
        ring, issuer=ISSUER, lifetime=timedelta(seconds=300), include_not_before=True
    )
    now = int(clock.now.timestamp())
    authenticated = clock.now - timedelta(seconds=42)

    issued = await issuer.issue(
        subject="service-shop",
        audience=[AUDIENCE, "tasks"],
        client_id="service-shop",
        auth_time=authenticated,
        acr="urn:roadbed:acr:mfa",
        extra_claims={"sid": "session-7"},
    )
    claims = (await _verifier(ring)).verify(issued.token)

    assert dict(claims.raw) == {
        "iss": ISSUER,
        "sub": "service-shop",
        "aud": [AUDIENCE, "tasks"],
        "exp": now + 300,
        "iat": now,
        "nbf": now,
        "jti": issued.jti,
        "client_id": "service-shop",
        "roles": [],
        "auth_time": now - 42,
        "acr": "urn:roadbed:acr:mfa",
        "sid": "session-7",
    }
    assert claims.scope == frozenset()


async def test_minting_reuses_the_decrypted_key(ring: SigningKeyRing) -> None:
    await ring.ensure_keys()
    issuer = AccessTokenIssuer(ring, issuer=ISSUER)

    loaded = await ring.signing_key(RS256)
    await issuer.issue(subject="user-1", audience=AUDIENCE, client_id="c")

    assert await ring.signing_key(RS256) is loaded


async def test_issuer_refuses_settings_that_would_break_verification(ring: SigningKeyRing) -> None:
    with pytest.raises(ValueError, match="exceeds the key policy's max_token_lifetime"):
        AccessTokenIssuer(ring, issuer=ISSUER, lifetime=timedelta(minutes=11))
    with pytest.raises(ValueError, match="PS256 is not among the key policy's algorithms"):
        AccessTokenIssuer(ring, issuer=ISSUER, algorithm="PS256")
    with pytest.raises(ValueError, match="whole number of seconds"):
        AccessTokenIssuer(ring, issuer=ISSUER, lifetime=timedelta(seconds=1.5))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"scopes": ["read write"]}, "invalid scope token 'read write'"),
        ({"scopes": ['say"hi']}, "invalid scope token"),
        ({"audience": []}, "audience must not be empty"),
        ({"subject": ""}, "subject must be a non-empty string"),
        ({"extra_claims": {"iss": "evil"}}, "extra claims may not set iss"),
    ],
)
async def test_issue_rejects_malformed_input(
    ring: SigningKeyRing, arguments: dict[str, object], message: str
) -> None:
    await ring.ensure_keys()
    issuer = AccessTokenIssuer(ring, issuer=ISSUER)
    base: dict[str, object] = {"subject": "user-1", "audience": AUDIENCE, "client_id": "c"}

    with pytest.raises(ValueError, match=message):
        await issuer.issue(**(base | arguments))


async def test_tokens_follow_the_key_lifecycle_through_the_verifier(
    ring: SigningKeyRing, clock: FakeClock, key_pool: KeyPool
) -> None:
    # The verifier checks exp/iat against the real clock: start 500 s in the past so every token
    # minted over the ~16 simulated minutes below is still within its lifetime in real time.
    clock.now -= timedelta(seconds=500)
    await ring.ensure_keys()
    issuer = AccessTokenIssuer(ring, issuer=ISSUER)
    old_kid, new_kid = kid_of(key_pool, RS256, 0), kid_of(key_pool, RS256, 1)

    # a token from the first key; then a rotation: the new key is published but does not sign
    old_token = await issuer.issue(subject="user-1", audience=AUDIENCE, client_id="c")
    await ring.rotate()
    clock.advance(timedelta(seconds=10))
    while_pending = await issuer.issue(subject="user-1", audience=AUDIENCE, client_id="c")
    assert (old_token.kid, while_pending.kid) == (old_kid, old_kid)
    assert new_kid in (await ring.jwks()).kids

    # once the key has been published for the activation delay it signs new tokens
    clock.advance(ACTIVATION_DELAY - timedelta(seconds=10))
    new_token = await issuer.issue(subject="user-1", audience=AUDIENCE, client_id="c")
    assert new_token.kid == new_kid

    # the retired key's tokens still verify, next to the new ones
    verifier = await _verifier(ring)
    assert verifier.verify(old_token.token).jti == old_token.jti
    assert verifier.verify(new_token.token).jti == new_token.jti

    # when the retired key is dropped its tokens no longer verify: unknown kid
    clock.advance(RETENTION)
    verifier = await _verifier(ring)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(old_token.token)
    assert caught.value.reason == UNKNOWN_KID
    assert verifier.verify(new_token.token).jti == new_token.jti


# -- ID tokens --------------------------------------------------------------------------------


def _left_half_sha256(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


async def test_id_token_contents(ring: SigningKeyRing, clock: FakeClock, key_pool: KeyPool) -> None:
    await ring.ensure_keys()
    access = await AccessTokenIssuer(ring, issuer=ISSUER).issue(
        subject="user-1", audience=AUDIENCE, client_id="spa"
    )
    authenticated = clock.now - timedelta(seconds=5)
    now = int(clock.now.timestamp())

    issued = await IdTokenIssuer(ring, issuer=ISSUER).issue(
        subject="user-1",
        client_id="spa",
        auth_time=authenticated,
        nonce="n-0S6_WzA2Mj",
        access_token=access.token,
        amr=["pwd", "otp"],
        extra_claims={"email": "ada@example.org", "email_verified": True},
    )

    document = (await ring.jwks()).as_dict()
    signing_jwk = jwt.PyJWKSet.from_dict(document)[kid_of(key_pool, RS256, 0)]
    header = jwt.get_unverified_header(issued.token)
    payload = jwt.decode(
        issued.token, signing_jwk, algorithms=[RS256], audience="spa", issuer=ISSUER
    )
    assert header == {"alg": RS256, "kid": kid_of(key_pool, RS256, 0), "typ": "JWT"}
    assert payload == {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": "spa",
        "exp": now + 600,
        "iat": now,
        "auth_time": now - 5,
        "nonce": "n-0S6_WzA2Mj",
        "amr": ["pwd", "otp"],
        "at_hash": _left_half_sha256(access.token),
        "email": "ada@example.org",
        "email_verified": True,
    }

    # an independent OpenID Connect client library accepts it (nonce, at_hash, audience)
    decoded = joserfc_jwt.decode(issued.token, KeySet.import_key_set(document))
    authlib_claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"value": ISSUER}, "aud": {"value": "spa"}},
        params={"nonce": "n-0S6_WzA2Mj", "client_id": "spa", "access_token": access.token},
    )
    authlib_claims.validate(now=now)


async def test_id_token_signed_with_es256_hashes_with_sha256(
    ring: SigningKeyRing, key_pool: KeyPool
) -> None:
    await ring.ensure_keys()

    issued = await IdTokenIssuer(ring, issuer=ISSUER, algorithm=ES256).issue(
        subject="user-1", client_id="spa", auth_time=datetime.now(UTC), access_token="abc"
    )

    assert issued.kid == kid_of(key_pool, ES256, 0)
    assert (
        issued.claims["at_hash"] == _left_half_sha256("abc") == token_hash("abc", algorithm=ES256)
    )
    assert "nonce" not in issued.claims


async def test_an_id_token_is_not_accepted_as_an_access_token(ring: SigningKeyRing) -> None:
    await ring.ensure_keys()
    issued = await IdTokenIssuer(ring, issuer=ISSUER).issue(
        subject="user-1", client_id=AUDIENCE, auth_time=datetime.now(UTC)
    )

    with pytest.raises(InvalidToken) as caught:
        (await _verifier(ring)).verify(issued.token)

    assert caught.value.reason == BAD_TYP
