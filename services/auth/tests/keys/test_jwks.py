"""The JWKS document: exact public members only, cached in memory, re-rendered on rotation."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import Table, update

from roadbed_auth.keys import ES256, RS256, SigningKeyRing, SigningKeyUnavailable
from roadbed_auth.keys.material import PrivateKey, public_jwk
from roadbed_core.db import unit_of_work
from roadbed_core.tokens import JwksClient

from .support import KeyPool, Sessions, kid_of


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Rendering and caching do not depend on the backend: SQLite only, for speed."""
    return f"sqlite:///{tmp_path}/keys.db"


def _expected_jwk(private_key: PrivateKey, algorithm: str) -> dict[str, str]:
    """What the JWK must be, computed by an independent JOSE library (joserfc)."""
    key_type = RSAKey if algorithm == RS256 else ECKey
    independent = key_type.import_key(private_key.public_key())
    return {
        **independent.as_dict(private=False),
        "kid": independent.thumbprint(),
        "alg": algorithm,
        "use": "sig",
    }


async def test_jwks_holds_exactly_the_public_members_of_each_key(
    ring: SigningKeyRing, key_pool: KeyPool
) -> None:
    await ring.ensure_keys()

    document = await ring.jwks()

    rsa_jwk, ec_jwk = document.as_dict()["keys"]
    assert set(rsa_jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert set(ec_jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert rsa_jwk == _expected_jwk(key_pool.keys[RS256][0], RS256)
    assert ec_jwk == _expected_jwk(key_pool.keys[ES256][0], ES256)
    assert (
        document.body
        == json.dumps({"keys": [rsa_jwk, ec_jwk]}, separators=(",", ":"), sort_keys=True).encode()
    )


async def test_jwks_is_usable_by_the_core_verifier_and_by_pyjwt(ring: SigningKeyRing) -> None:
    await ring.ensure_keys()
    document = (await ring.jwks()).as_dict()
    rs_kid, es_kid = (jwk["kid"] for jwk in document["keys"])

    client = JwksClient.from_jwks(document)
    pyjwt_set = jwt.PyJWKSet.from_dict(document)

    assert client.get_signing_key(rs_kid).algorithms == frozenset({RS256})
    assert client.get_signing_key(es_kid).algorithms == frozenset({ES256})
    assert sorted((key.key_id, key.algorithm_name) for key in pyjwt_set.keys) == sorted(
        [(rs_kid, RS256), (es_kid, ES256)]
    )


async def test_jwks_is_served_from_memory_and_rerendered_on_rotation(
    ring: SigningKeyRing, key_pool: KeyPool
) -> None:
    await ring.ensure_keys()
    first = await ring.jwks()

    assert await ring.jwks() is first
    await ring.rotate(algorithms=[ES256])
    rotated = await ring.jwks()

    assert rotated.kids == (
        kid_of(key_pool, RS256, 0),
        kid_of(key_pool, ES256, 0),
        kid_of(key_pool, ES256, 1),
    )
    assert rotated.etag != first.etag
    assert (rotated.etag.startswith('"'), rotated.etag.endswith('"'), len(rotated.etag)) == (
        True,
        True,
        26,
    )


async def test_a_row_whose_public_key_does_not_match_its_kid_is_neither_published_nor_used(
    ring: SigningKeyRing, sessions: Sessions, table: Table, key_pool: KeyPool
) -> None:
    # given the active RS256 row's public key replaced by another key (an attacker's)
    await ring.ensure_keys()
    kid = kid_of(key_pool, RS256, 0)
    foreign = public_jwk(key_pool.keys[RS256][-1], algorithm=RS256)
    async with unit_of_work(sessions) as db:
        await db.execute(update(table).where(table.c.kid == kid).values(public_jwk=foreign))

    # when the ring reloads
    await ring.refresh()

    # then that kid is gone from the JWKS and nothing signs with it
    assert (await ring.jwks()).kids == (kid_of(key_pool, ES256, 0),)
    with pytest.raises(SigningKeyUnavailable, match="no active RS256 signing key"):
        await ring.signing_key(RS256)
