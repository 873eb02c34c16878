"""Key material: generated key types, published JWK members, RFC 7638 thumbprints."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

from roadbed_auth.keys import ES256, RS256, generate_private_key, jwk_thumbprint
from roadbed_auth.keys.material import load_private_key, public_jwk, serialize_private_key

from .support import KeyPool

# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
    "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    assert jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT


def test_thumbprint_rejects_key_types_and_members_we_do_not_publish() -> None:
    with pytest.raises(ValueError, match="no thumbprint for key type 'oct'"):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(ValueError, match="JWK lacks the required member 'y'"):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "AAAA"})


def test_real_generator_makes_rsa_2048_and_p256_keys() -> None:
    rsa_key = generate_private_key(RS256)
    ec_key = generate_private_key(ES256)

    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert (rsa_key.key_size, rsa_key.public_key().public_numbers().e) == (2048, 65537)
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ec_key.curve, ec.SECP256R1)
    with pytest.raises(ValueError, match="unsupported signing algorithm 'HS256'"):
        generate_private_key("HS256")


def test_rsa_public_jwk_has_exactly_the_public_members_and_kid_is_its_thumbprint(
    key_pool: KeyPool,
) -> None:
    private_key = key_pool.keys[RS256][0]

    jwk = public_jwk(private_key, algorithm=RS256)

    independent = RSAKey.import_key(private_key.public_key())
    assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert {name: jwk[name] for name in ("kty", "n", "e")} == independent.as_dict(private=False)
    assert (jwk["alg"], jwk["use"]) == ("RS256", "sig")
    assert jwk["kid"] == independent.thumbprint()


def test_ec_public_jwk_has_exactly_the_public_members_and_kid_is_its_thumbprint(
    key_pool: KeyPool,
) -> None:
    private_key = key_pool.keys[ES256][0]

    jwk = public_jwk(private_key, algorithm=ES256)

    independent = ECKey.import_key(private_key.public_key())
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert {name: jwk[name] for name in ("kty", "crv", "x", "y")} == independent.as_dict(
        private=False
    )
    assert (jwk["alg"], jwk["use"]) == ("ES256", "sig")
    assert jwk["kid"] == independent.thumbprint()


def test_a_key_of_the_wrong_type_does_not_load_for_an_algorithm(key_pool: KeyPool) -> None:
    der = serialize_private_key(key_pool.keys[ES256][0])

    with pytest.raises(ValueError, match="RS256 needs an RSA key of at least 2048 bits"):
        load_private_key(der, algorithm=RS256)
    assert isinstance(load_private_key(der, algorithm=ES256), ec.EllipticCurvePrivateKey)
