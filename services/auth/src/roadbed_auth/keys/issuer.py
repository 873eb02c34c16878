"""Token minting: RFC 9068 access tokens and OpenID Connect ID tokens, signed by the key ring.

What a verifier checks (``roadbed_core.tokens.TokenVerifier``) is what these produce: header
``typ: at+jwt``, an allow-listed ``alg``, a ``kid`` in our JWKS; claims ``iss``, ``sub``, ``aud``,
``exp``, ``iat``, ``jti`` and ``client_id``, with ``scope`` as one space-separated string and
``roles`` as an array. Times are whole seconds (NumericDate, RFC 7519 §2).

Lifetimes may not exceed the key policy's ``max_token_lifetime``: a retired key leaves the JWKS
once that long has passed, and a longer-lived token would then fail verification early.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import jwt

from roadbed_auth.keys.keyring import SigningKeyRing
from roadbed_auth.keys.material import RS256

ACCESS_TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a JOSE "typ" value, not a secret
ID_TOKEN_TYPE: Final = "JWT"  # noqa: S105 - a JOSE "typ" value, not a secret
DEFAULT_ACCESS_TOKEN_LIFETIME: Final = timedelta(seconds=600)
DEFAULT_ID_TOKEN_LIFETIME: Final = timedelta(seconds=600)
#: ``jti`` entropy: 128 bits makes a collision between any two tokens we ever issue negligible.
JTI_BYTES: Final = 16

ACCESS_TOKEN_CLAIMS: Final = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "roles"}
    | {"auth_time", "acr"}
)
ID_TOKEN_CLAIMS: Final = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash"}
    | {"c_hash", "jti", "nbf"}
)

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
# OpenID Connect Core §3.1.3.6: at_hash uses the hash of the ID token's JWS algorithm.
_HASHES_BY_SUFFIX: Final = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed token and what the caller needs next (token response, revocation, audit)."""

    token: str = field(repr=False)
    kid: str
    algorithm: str
    issued_at: datetime
    expires_at: datetime
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def jti(self) -> str | None:
        jti = self.claims.get("jti")
        return jti if isinstance(jti, str) else None

    @property
    def expires_in(self) -> int:
        """Seconds until expiry, for the token response's ``expires_in``."""
        return int((self.expires_at - self.issued_at).total_seconds())


def token_hash(value: str, *, algorithm: str) -> str:
    """OIDC ``at_hash`` / ``c_hash``: base64url of the left half of the JWS algorithm's hash."""
    hash_function = (
        hashlib.sha512 if algorithm == "EdDSA" else _HASHES_BY_SUFFIX.get(algorithm[-3:])
    )
    if hash_function is None:
        raise ValueError(f"no OpenID Connect token hash for algorithm {algorithm!r}")
    digest = hash_function(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def _numeric_date(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: use timezone-aware UTC")
    return int(moment.timestamp())


def _required_text(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _audience(audience: str | Sequence[str]) -> str | list[str]:
    if isinstance(audience, str):
        return _required_text(audience, "audience")
    unique = list(dict.fromkeys(audience))
    if not unique:
        raise ValueError("audience must not be empty")
    for item in unique:
        _required_text(item, "audience")
    return unique


def _scope(scopes: Iterable[str]) -> str:
    unique = list(dict.fromkeys(scopes))
    for scope in unique:
        if not isinstance(scope, str) or not _SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(f"invalid scope token {scope!r} (RFC 6749 §3.3)")
    return " ".join(unique)


def _merge_extra(
    claims: dict[str, Any], extra: Mapping[str, Any] | None, reserved: frozenset[str]
) -> None:
    if not extra:
        return
    clashing = sorted(reserved.intersection(extra))
    if clashing:
        raise ValueError(f"extra claims may not set {', '.join(clashing)}")
    claims.update(extra)


class _TokenSigner:
    """What both issuers share: the ring, the issuer id, the algorithm and the lifetime rules."""

    def __init__(
        self,
        keyring: SigningKeyRing,
        *,
        issuer: str,
        lifetime: timedelta,
        algorithm: str,
        clock: Callable[[], datetime] | None,
    ) -> None:
        _required_text(issuer, "issuer")
        if algorithm not in keyring.policy.algorithms:
            raise ValueError(
                f"{algorithm} is not among the key policy's algorithms {keyring.policy.algorithms}"
            )
        if lifetime < timedelta(seconds=1) or lifetime % timedelta(seconds=1):
            raise ValueError("token lifetime must be a positive whole number of seconds")
        if lifetime > keyring.policy.max_token_lifetime:
            raise ValueError(
                "token lifetime exceeds the key policy's max_token_lifetime: tokens would outlive "
                "their key's place in the JWKS"
            )
        self.keyring = keyring
        self.issuer = issuer
        self.lifetime = lifetime
        self.algorithm = algorithm
        self._clock = clock or keyring.clock

    def _times(self) -> tuple[int, int]:
        issued_at = _numeric_date(self._clock())
        return issued_at, issued_at + int(self.lifetime.total_seconds())

    async def _sign(self, claims: dict[str, Any], *, typ: str) -> IssuedToken:
        key = await self.keyring.signing_key(self.algorithm)
        token = jwt.encode(
            claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, "typ": typ}
        )
        return IssuedToken(
            token=token,
            kid=key.kid,
            algorithm=key.algorithm,
            issued_at=datetime.fromtimestamp(claims["iat"], tz=UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            claims=MappingProxyType(claims),
        )


class AccessTokenIssuer(_TokenSigner):
    """Mint RFC 9068 JWT access tokens (``typ: at+jwt``) with the ring's active key."""

    def __init__(
        self,
        keyring: SigningKeyRing,
        *,
        issuer: str,
        lifetime: timedelta = DEFAULT_ACCESS_TOKEN_LIFETIME,
        algorithm: str = RS256,
        include_not_before: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(
            keyring, issuer=issuer, lifetime=lifetime, algorithm=algorithm, clock=clock
        )
        self.include_not_before = include_not_before

    async def issue(
        self,
        *,
        subject: str,
        audience: str | Sequence[str],
        client_id: str,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        auth_time: datetime | None = None,
        acr: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> IssuedToken:
        """Sign an access token.

        ``subject`` is the user id, or the client id for the client-credentials grant (RFC 9068
        §2.2). ``scope`` is left out when no scope was granted; ``roles`` is always an array
        (sorted, so equal grants give equal tokens apart from times and ``jti``).
        """
        issued_at, expires_at = self._times()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": _required_text(subject, "subject"),
            "aud": _audience(audience),
            "exp": expires_at,
            "iat": issued_at,
        }
        if self.include_not_before:
            claims["nbf"] = issued_at
        claims["jti"] = secrets.token_urlsafe(JTI_BYTES)
        claims["client_id"] = _required_text(client_id, "client_id")
        scope = _scope(scopes)
        if scope:
            claims["scope"] = scope
        claims["roles"] = sorted(set(roles))
        if auth_time is not None:
            claims["auth_time"] = _numeric_date(auth_time)
        if acr is not None:
            claims["acr"] = _required_text(acr, "acr")
        _merge_extra(claims, extra_claims, ACCESS_TOKEN_CLAIMS)
        return await self._sign(claims, typ=ACCESS_TOKEN_TYPE)


class IdTokenIssuer(_TokenSigner):
    """Mint OpenID Connect ID tokens (Core §2): ``aud`` is the client, RS256 by default."""

    def __init__(
        self,
        keyring: SigningKeyRing,
        *,
        issuer: str,
        lifetime: timedelta = DEFAULT_ID_TOKEN_LIFETIME,
        algorithm: str = RS256,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(
            keyring, issuer=issuer, lifetime=lifetime, algorithm=algorithm, clock=clock
        )

    async def issue(
        self,
        *,
        subject: str,
        client_id: str,
        auth_time: datetime,
        nonce: str | None = None,
        access_token: str | None = None,
        acr: str | None = None,
        amr: Sequence[str] = (),
        extra_claims: Mapping[str, Any] | None = None,
    ) -> IssuedToken:
        """Sign an ID token for ``client_id``.

        ``nonce`` is echoed exactly as the authorization request sent it; ``at_hash`` binds the
        access token issued alongside (OIDC Core §3.1.3.6); ``extra_claims`` carries user claims
        such as ``email`` and may not override the ones above.
        """
        issued_at, expires_at = self._times()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": _required_text(subject, "subject"),
            "aud": _required_text(client_id, "client_id"),
            "exp": expires_at,
            "iat": issued_at,
            "auth_time": _numeric_date(auth_time),
        }
        if nonce is not None:
            claims["nonce"] = _required_text(nonce, "nonce")
        if acr is not None:
            claims["acr"] = _required_text(acr, "acr")
        if amr:
            claims["amr"] = list(amr)
        if access_token is not None:
            claims["at_hash"] = token_hash(access_token, algorithm=self.algorithm)
        _merge_extra(claims, extra_claims, ID_TOKEN_CLAIMS)
        return await self._sign(claims, typ=ID_TOKEN_TYPE)
