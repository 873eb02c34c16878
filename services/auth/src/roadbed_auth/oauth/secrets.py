"""Random values the provider hands out, their stored digests, and PKCE.

Client secrets, authorization codes and browser-session cookies are 256 random bits. Stored as a
plain SHA-256 — not argon2 — on purpose: a password needs a slow hash because people choose
guessable ones, while a 256-bit random value cannot be guessed however fast the hash is. A slow
hash would only make every token request cost tens of milliseconds of CPU and give anyone a
cheap way to load the server with wrong secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final

from roadbed_auth.digests import token_digest

#: RFC 7636 §4.1: code_verifier = 43*128unreserved.
_PKCE_VALUE: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
#: A client secret, code or cookie we issued is 43 characters; anything this long is not ours.
MAX_OPAQUE_LENGTH: Final = 128


def new_opaque_value() -> str:
    """256 random bits, base64url without padding (43 characters)."""
    return secrets.token_urlsafe(32)


#: The stored form of an opaque value (SHA-256, hex).
digest = token_digest


def digests_match(presented: str, stored: str) -> bool:
    """Constant-time comparison of a presented value against a stored digest."""
    return hmac.compare_digest(digest(presented), stored)


def is_pkce_value(value: str) -> bool:
    """Whether ``value`` has the shape of a code verifier or an S256 challenge (RFC 7636)."""
    return _PKCE_VALUE.fullmatch(value) is not None


def s256_challenge(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def pkce_matches(*, verifier: str, challenge: str) -> bool:
    if not is_pkce_value(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier), challenge)
