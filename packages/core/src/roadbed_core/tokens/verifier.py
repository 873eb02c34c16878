"""The one access-token verifier every service uses (DESIGN.md §4), blocking and async.

Checks run cheapest first, so garbage never costs a JWKS fetch or a cache round trip:

1. header: ``typ`` is ``at+jwt`` (RFC 9068 §2.1), ``alg`` is allow-listed, ``kid`` present;
2. key: the ``kid`` resolves through the :class:`JwksClient` and the key's type fits ``alg``;
3. signature and claims (PyJWT): required claims present, ``iss`` exact, ``aud`` contains ours,
   ``exp``/``nbf``/``iat`` within ``leeway``;
4. claim types (:class:`Claims`), then revocation (per-token ``jti``, per-user "not before").

Any failure raises an :class:`InvalidToken` (401, ``invalid_token``); infrastructure we cannot
reach (JWKS endpoint, revocation cache) raises a 503 problem instead. Nothing returns "valid"
by default.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

import jwt

from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.errors import (
    ALG_MISMATCH,
    BAD_ALG,
    BAD_AUDIENCE,
    BAD_CLAIMS,
    BAD_ISSUER,
    BAD_SIGNATURE,
    BAD_TYP,
    MALFORMED,
    MISSING_CLAIM,
    MISSING_KID,
    NOT_YET_VALID,
    InvalidToken,
    TokenExpired,
)
from roadbed_core.tokens.jwks import ALGORITHM_KEY_TYPES, JwksClient, SigningKey
from roadbed_core.tokens.revocation import RevocationList

DEFAULT_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")
DEFAULT_LEEWAY: Final = timedelta(seconds=30)
REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
# RFC 9068 §4: "at+jwt"; RFC 7515 §4.1.9 lets the "application/" prefix be omitted or present,
# and media types compare case-insensitively.
ACCEPTED_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
JWKS_PATH: Final = "/.well-known/jwks.json"


class TokenVerifier:
    """Verify RFC 9068 access tokens from one issuer for one audience.

    ``revocation`` is required on purpose: pass a :class:`RevocationList` in every service and
    ``None`` only where revocation is meaningless (offline tools, some tests).
    """

    def __init__(
        self,
        jwks: JwksClient,
        *,
        issuer: str,
        audience: str,
        revocation: RevocationList | None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: timedelta | float = DEFAULT_LEEWAY,
    ) -> None:
        self.algorithms = frozenset(algorithms)
        unsupported = self.algorithms - ALGORITHM_KEY_TYPES.keys()
        if unsupported or not self.algorithms:
            # Symmetric algorithms and "none" can never be allowed between services.
            raise ValueError(f"unsupported or symmetric algorithms: {sorted(unsupported)}")
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.revocation = revocation
        self.leeway = leeway if isinstance(leeway, timedelta) else timedelta(seconds=leeway)

    @classmethod
    def from_issuer(
        cls,
        issuer: str,
        *,
        audience: str,
        revocation: RevocationList | None,
        **jwks_options: Any,
    ) -> TokenVerifier:
        """Verifier fetching keys from the issuer's well-known JWKS URL (DESIGN.md §3)."""
        jwks = JwksClient.from_url(issuer.rstrip("/") + JWKS_PATH, **jwks_options)
        return cls(jwks, issuer=issuer, audience=audience, revocation=revocation)

    def verify(self, token: str) -> Claims:
        """Verify ``token`` (blocking: JWKS over HTTP, revocation through the sync cache)."""
        kid, algorithm = self._read_header(token)
        claims = self._decode(token, self.jwks.get_signing_key(kid), algorithm)
        if self.revocation is not None:
            self.revocation.check(claims)
        return claims

    async def averify(self, token: str) -> Claims:
        """Verify ``token`` without blocking the event loop (async JWKS fetch and cache)."""
        kid, algorithm = self._read_header(token)
        claims = self._decode(token, await self.jwks.aget_signing_key(kid), algorithm)
        if self.revocation is not None:
            await self.revocation.acheck(claims)
        return claims

    def _read_header(self, token: str) -> tuple[str, str]:
        """Check what the unverified header may decide: it only ever narrows what we accept."""
        header = _unverified_header(token)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise InvalidToken(BAD_TYP)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise InvalidToken(BAD_ALG)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken(MISSING_KID)
        return kid, algorithm

    def _decode(self, token: str, key: SigningKey, algorithm: str) -> Claims:
        verifying_key = key.for_algorithm(algorithm)
        if verifying_key is None:
            raise InvalidToken(ALG_MISMATCH)
        try:
            payload = jwt.decode(
                token,
                verifying_key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise _invalid_token(exc) from exc
        return Claims.from_payload(payload)


def _invalid_token(exc: jwt.PyJWTError) -> InvalidToken:
    """Map PyJWT's exception to our reason. Order matters: subclasses before their bases."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return TokenExpired()
    reasons: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
        (jwt.ImmatureSignatureError, NOT_YET_VALID),
        (jwt.InvalidAudienceError, BAD_AUDIENCE),
        (jwt.InvalidIssuerError, BAD_ISSUER),
        (jwt.MissingRequiredClaimError, MISSING_CLAIM),
        (jwt.InvalidSignatureError, BAD_SIGNATURE),
        (jwt.InvalidAlgorithmError, ALG_MISMATCH),
        (jwt.InvalidIssuedAtError, BAD_CLAIMS),
        (jwt.exceptions.InvalidSubjectError, BAD_CLAIMS),
        (jwt.exceptions.InvalidJTIError, BAD_CLAIMS),
    )
    for error_type, reason in reasons:
        if isinstance(exc, error_type):
            return InvalidToken(reason)
    return InvalidToken(MALFORMED)


#: Longer than any token we issue by far; bounds the work an attacker's input can cause.
MAX_TOKEN_LENGTH = 8192
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, parsed directly: PyJWT's ``get_unverified_header`` decodes (and checks
    character by character) the whole token, which cost as much as the signature check here.
    Nothing read here is trusted; PyJWT decodes and verifies the full token afterwards."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(MALFORMED)
    segment, dot, _rest = token.partition(".")
    if not dot or not _BASE64URL.fullmatch(segment):
        raise InvalidToken(MALFORMED)
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise InvalidToken(MALFORMED) from exc
    if not isinstance(header, dict):
        raise InvalidToken(MALFORMED)
    return header
