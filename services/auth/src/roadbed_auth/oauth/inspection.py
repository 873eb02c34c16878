"""Reading tokens we signed, whoever they were issued for (introspection, revocation, logout).

The shared :class:`~roadbed_core.tokens.verifier.TokenVerifier` is bound to one audience; here
the audience varies (a client-credentials token names its resource server, an ID token its
client), so the same checks run with the audience left to the caller: header ``typ`` and an
allow-listed ``alg``, a ``kid`` from our key ring, signature, ``iss``, times, revocation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import jwt

from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.errors import InvalidToken
from roadbed_core.tokens.jwks import JwksClient
from roadbed_core.tokens.revocation import RevocationList
from roadbed_core.tokens.verifier import DEFAULT_ALGORITHMS, DEFAULT_LEEWAY, REQUIRED_CLAIMS

ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
ID_TOKEN_TYPES: Final = frozenset({"jwt"})
#: Ours are ~1 kB; a longer string is not a token we issued.
MAX_JWT_LENGTH: Final = 8192


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and len(token) <= MAX_JWT_LENGTH


async def _verified_payload(
    jwks: JwksClient,
    token: str,
    *,
    issuer: str,
    types: frozenset[str],
    require: list[str],
    verify_exp: bool,
) -> Mapping[str, Any] | None:
    if not looks_like_jwt(token):
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    typ, algorithm, kid = header.get("typ"), header.get("alg"), header.get("kid")
    if not isinstance(typ, str) or typ.lower() not in types:
        return None
    if not isinstance(algorithm, str) or algorithm not in DEFAULT_ALGORITHMS:
        return None
    if not isinstance(kid, str) or not kid:
        return None
    try:
        key = (await jwks.aget_signing_key(kid)).for_algorithm(algorithm)
    except InvalidToken:
        return None
    if key is None:
        return None
    try:
        payload: Mapping[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=issuer,
            leeway=DEFAULT_LEEWAY,
            options={"require": require, "verify_aud": False, "verify_exp": verify_exp},
        )
    except jwt.PyJWTError:
        return None
    return payload


async def active_access_token(
    jwks: JwksClient, token: str, *, issuer: str, revocation: RevocationList
) -> Claims | None:
    """The claims of a live access token we issued (any audience), or ``None``.

    Raises ``TokenKeysUnavailable`` / ``RevocationUnavailable`` (503) when we cannot tell.
    """
    payload = await _verified_payload(
        jwks,
        token,
        issuer=issuer,
        types=ACCESS_TOKEN_TYPES,
        require=list(REQUIRED_CLAIMS),
        verify_exp=True,
    )
    if payload is None:
        return None
    try:
        claims = Claims.from_payload(payload)
        await revocation.acheck(claims)
    except InvalidToken:
        return None
    return claims


async def id_token_hint_claims(
    jwks: JwksClient, token: str, *, issuer: str
) -> Mapping[str, Any] | None:
    """Claims of an ID token we issued, expired or not (RP-initiated logout §2 allows both)."""
    payload = await _verified_payload(
        jwks,
        token,
        issuer=issuer,
        types=ID_TOKEN_TYPES,
        require=["iss", "sub", "aud", "iat"],
        verify_exp=False,
    )
    if payload is None or not isinstance(payload.get("sub"), str):
        return None
    if not isinstance(payload.get("aud"), str | list):
        return None
    return payload
