"""The stored form of every opaque secret auth hands out (links, refresh tokens, challenges).

They are 256-bit random values, so a fast SHA-256 is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib


def token_digest(token: str) -> str:
    """SHA-256 of ``token``, hex (64 characters: fits every ``*_hash`` column)."""
    return hashlib.sha256(token.encode()).hexdigest()
