"""Refresh-token material: opaque, 256-bit, stored only as SHA-256.

A child token is derived from its parent with HMAC (keyed by a server secret) instead of drawn at
random, so a second tab that presents the same parent within the grace window receives the very
same child without the server ever storing a token in a recoverable form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from roadbed_auth.digests import token_digest

#: Longest refresh token we accept (ours are 43 characters); anything longer is rejected unread.
MAX_TOKEN_LENGTH = 128


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def child_refresh_token(parent: str, *, secret: bytes) -> str:
    digest = hmac.new(
        secret, b"roadbed-refresh-child\x00" + parent.encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


__all__ = ["MAX_TOKEN_LENGTH", "child_refresh_token", "new_refresh_token", "token_digest"]
