"""Cache-key material for throttling: normalised identifiers, keyed hashes, one namespace.

No raw email address or client address ever reaches a cache key: keys are visible to anyone who
can run ``SCAN`` on Redis, and they show up in monitoring. Identifiers are hashed with HMAC under
a server secret rather than plain SHA-256 because both are guessable: the whole IPv4 space is
2^32 hashes and email addresses come in lists, so an unkeyed hash would be a lookup table away
from the original.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: Every throttle key starts with this.
KEY_PREFIX: Final = "roadbed:auth:throttle"
#: IPv6 clients are bucketed by network: one subscriber usually holds a whole /64, so keying by
#: full address would hand an attacker 2^64 fresh identities.
DEFAULT_IPV6_PREFIX: Final = 64
# 128 bits of HMAC output: collisions are out of reach and keys stay short.
_DIGEST_HEX_CHARS: Final = 32
_HKDF_INFO: Final = b"roadbed:auth:throttle:identifier-key:v1"


def normalise_email(email: str) -> str:
    """The account identifier as the account table stores it: trimmed and lower-cased.

    The throttle keys on what was *typed*, normalised like a stored address, never on a user id:
    an unknown address then collects failures and lockouts exactly like a registered one, so the
    throttle's answers cannot be used to enumerate accounts.
    """
    return email.strip().lower()


def client_bucket(ip: str, *, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The address a per-client limit counts against.

    IPv4 (and IPv4-mapped IPv6) addresses stand for themselves; IPv6 addresses are reduced to
    their ``/ipv6_prefix`` network. Something that is not an address (a test client's name, a
    proxy's placeholder) is used as given, so it still gets a limit of its own.
    """
    candidate = ip.strip()
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return candidate
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))
    return str(address)


class IdentifierHasher:
    """Keyed, domain-separated digests of identifiers for use inside cache keys."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the identifier secret must be at least 16 bytes")
        # Derived rather than used raw: the same settings secret may key other things, and a
        # digest computed here must never be comparable with one computed elsewhere.
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret
        )

    def digest(self, kind: str, identifier: str) -> str:
        """Hex digest of ``identifier`` within ``kind`` (``account``, ``ip``, a limiter's name)."""
        message = kind.encode() + b"\x00" + identifier.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:_DIGEST_HEX_CHARS]
