"""Reading the credentials out of an ``Authorization`` header (RFC 6750 §2.1, RealWorld's ``Token``)."""

from __future__ import annotations

from collections.abc import Iterable

from roadbed_core.tokens.errors import MALFORMED, InvalidToken

BEARER: tuple[str, ...] = ("bearer",)


def token_from_authorization(header: str | None, *, schemes: Iterable[str] = BEARER) -> str | None:
    """The token after one of ``schemes`` (case-insensitive), or ``None`` if another scheme or none.

    ``None`` lets another authentication method (session, Basic) have its turn. A header that
    names our scheme but is not ``<scheme> <token>`` is a broken client, so it is rejected rather
    than treated as anonymous.
    """
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in {accepted.lower() for accepted in schemes}:
        return None
    token = rest.strip()
    if not token or " " in token:
        raise InvalidToken(MALFORMED)
    return token
