"""The failures a bearer-token check can end in, already shaped for RFC 6750 and RFC 9457.

Every error carries its ``WWW-Authenticate`` challenge in ``headers`` so each framework's problem
renderer only has to copy headers through. ``detail`` holds a short machine reason (``expired``,
``bad_audience``, ...) for logs and clients; the challenge's ``error_description`` is a fixed
sentence per reason, never text taken from the token, so nothing attacker-controlled reaches a
response header.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import ClassVar

from roadbed_core.errors import Forbidden, ServiceUnavailable, Unauthorized

# Machine reasons (the ``detail`` of an InvalidToken). Kept as constants so callers and tests
# compare against names, not string literals scattered across services.
MALFORMED = "malformed"
BAD_TYP = "bad_typ"
BAD_ALG = "bad_alg"
MISSING_KID = "missing_kid"
UNKNOWN_KID = "unknown_kid"
ALG_MISMATCH = "alg_mismatch"
BAD_SIGNATURE = "bad_signature"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
BAD_ISSUER = "bad_issuer"
BAD_AUDIENCE = "bad_audience"
MISSING_CLAIM = "missing_claim"
BAD_CLAIMS = "bad_claims"
REVOKED = "revoked"

_DESCRIPTIONS: dict[str, str] = {
    MALFORMED: "The access token is malformed",
    BAD_TYP: "The access token type is not at+jwt",
    BAD_ALG: "The access token algorithm is not accepted",
    MISSING_KID: "The access token has no key id",
    UNKNOWN_KID: "The access token was signed with an unknown key",
    ALG_MISMATCH: "The access token algorithm does not match its key",
    BAD_SIGNATURE: "The access token signature is invalid",
    EXPIRED: "The access token expired",
    NOT_YET_VALID: "The access token is not valid yet",
    BAD_ISSUER: "The access token issuer is not trusted",
    BAD_AUDIENCE: "The access token is not intended for this service",
    MISSING_CLAIM: "The access token lacks a required claim",
    BAD_CLAIMS: "The access token claims are invalid",
    REVOKED: "The access token has been revoked",
}
_GENERIC_DESCRIPTION = "The access token is invalid"


def bearer_challenge(
    *, error: str | None = None, description: str | None = None, scope: Iterable[str] = ()
) -> str:
    """Build an RFC 6750 §3 ``WWW-Authenticate`` value from trusted (non-token) strings."""
    params: list[str] = []
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    scopes = " ".join(sorted(scope))
    if scopes:
        params.append(f'scope="{scopes}"')
    return "Bearer " + ", ".join(params) if params else "Bearer"


class MissingToken(Unauthorized):
    """No bearer token was sent: the bare challenge tells the client which scheme to use."""

    code = "missing_token"

    def __init__(self, detail: str | None = "An access token is required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": bearer_challenge()})


class InvalidToken(Unauthorized):
    """A token was sent but cannot be trusted; ``reason`` (also ``detail``) says why."""

    code = "invalid_token"
    default_reason: ClassVar[str] = MALFORMED

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason or self.default_reason
        description = _DESCRIPTIONS.get(self.reason, _GENERIC_DESCRIPTION)
        super().__init__(
            self.reason,
            headers={
                "WWW-Authenticate": bearer_challenge(error="invalid_token", description=description)
            },
        )


class TokenExpired(InvalidToken):
    """Raised for ``exp`` in the past: clients react to it by refreshing, so it gets its own type."""

    default_reason = EXPIRED


class TokenRevoked(InvalidToken):
    """The token's ``jti`` is denylisted or its subject revoked every token issued before it."""

    default_reason = REVOKED


class InsufficientScope(Forbidden):
    """The token is valid but lacks a scope or role the endpoint needs (RFC 6750 §3.1)."""

    code = "insufficient_scope"

    def __init__(self, detail: str, *, scopes: Iterable[str] = ()) -> None:
        challenge = bearer_challenge(
            error="insufficient_scope",
            description="The access token does not grant this operation",
            scope=scopes,
        )
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class TokenKeysUnavailable(ServiceUnavailable):
    """The signing keys could not be loaded: we cannot decide, so we neither accept nor blame the token."""

    code = "token_keys_unavailable"

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        headers = (
            {} if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
        )
        super().__init__(detail, headers=headers)


class RevocationUnavailable(ServiceUnavailable):
    """The revocation list could not be read; failing closed beats accepting a revoked token."""

    code = "revocation_unavailable"
