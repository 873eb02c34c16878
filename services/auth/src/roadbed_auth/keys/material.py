"""Signing-key material: generation, public JWKs, RFC 7638 thumbprints and (de)serialisation.

Pure functions over ``cryptography`` key objects, no I/O. The ``kid`` of every key is its JWK
thumbprint (RFC 7638, SHA-256), so a ``kid`` is derived from the key itself and can be checked
against it: a row whose public key was swapped no longer matches its own ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

#: What we sign with. RS256 is mandatory (OpenID Connect Core §15.1); ES256 is smaller and faster.
RS256: Final = "RS256"
ES256: Final = "ES256"
SUPPORTED_ALGORITHMS: Final = (RS256, ES256)

RSA_KEY_SIZE: Final = 2048
RSA_PUBLIC_EXPONENT: Final = 65537
_P256_COORDINATE_BYTES: Final = 32

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

#: The members RFC 7638 §3.2 hashes for each key type, which are also the only key parameters a
#: public JWK of ours may carry (anything else, such as RSA ``d`` or EC ``d``, is private).
THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}
)


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if we can sign with it, else raise ``ValueError``."""
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(
            f"unsupported signing algorithm {algorithm!r} (use one of {', '.join(SUPPORTED_ALGORITHMS)})"
        )
    return algorithm


def generate_private_key(algorithm: str) -> PrivateKey:
    """A fresh private key for ``algorithm``: RSA-2048 for RS256, P-256 for ES256.

    CPU-heavy for RSA (tens of milliseconds): async callers run it in a thread.
    """
    if check_algorithm(algorithm) == RS256:
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)
    return ec.generate_private_key(ec.SECP256R1())


def check_key_fits(private_key: PrivateKey, algorithm: str) -> None:
    """Raise ``ValueError`` unless ``private_key`` is the type and size ``algorithm`` needs."""
    check_algorithm(algorithm)
    if algorithm == RS256:
        if not isinstance(private_key, rsa.RSAPrivateKey) or private_key.key_size < RSA_KEY_SIZE:
            raise ValueError(f"RS256 needs an RSA key of at least {RSA_KEY_SIZE} bits")
    elif not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError("ES256 needs a P-256 key")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int, length: int | None = None) -> str:
    # RFC 7518 §6.3.1: RSA integers are minimal big-endian; §6.2.1.2: EC coordinates are padded
    # to the full field size.
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return _b64url(value.to_bytes(size, "big"))


def key_parameters(public_key: PublicKey) -> dict[str, str]:
    """The public key as bare JWK parameters (``kty`` and the RFC 7638 members, nothing else)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError(f"unsupported curve {public_key.curve.name}")
    point = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url_uint(point.x, _P256_COORDINATE_BYTES),
        "y": _b64url_uint(point.y, _P256_COORDINATE_BYTES),
    }


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: base64url(SHA-256) of the required members, sorted, no spaces.

    Raises ``ValueError`` for key types we do not publish or a JWK missing a required member.
    """
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError(f"no thumbprint for key type {jwk.get('kty')!r}")
    try:
        required = {name: jwk[name] for name in members}
    except KeyError as exc:
        raise ValueError(f"JWK lacks the required member {exc.args[0]!r}") from exc
    if not all(isinstance(value, str) for value in required.values()):
        raise ValueError("JWK members must be strings")
    # Every value is base64url or a fixed name (ASCII), so sort_keys + compact separators is
    # exactly the canonical form of RFC 7638 §3.3.
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode("ascii")
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk(private_key: PrivateKey, *, algorithm: str) -> dict[str, str]:
    """The JWK we publish for ``private_key``: key parameters plus ``kid``, ``alg``, ``use``."""
    check_key_fits(private_key, algorithm)
    parameters = key_parameters(private_key.public_key())
    return {**parameters, "kid": jwk_thumbprint(parameters), "alg": algorithm, "use": "sig"}


def serialize_private_key(private_key: PrivateKey) -> bytes:
    """PKCS#8 DER, unencrypted: only ever handed straight to the key encryptor."""
    return private_key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_private_key(der: bytes, *, algorithm: str) -> PrivateKey:
    """Parse a PKCS#8 DER private key and check it fits ``algorithm`` (``ValueError`` if not)."""
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    check_key_fits(key, algorithm)
    return key
