"""The typed view of a verified RFC 9068 access token, and the scope/role gate built on it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from roadbed_core.tokens.errors import BAD_CLAIMS, InsufficientScope, InvalidToken


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified access token says. Built only by the verifier, after the signature checks.

    ``scope`` is the RFC 8693 space-separated ``scope`` claim as a set; ``roles`` the RFC 9068
    §7.2.1.1 ``roles`` array. ``raw`` keeps every claim (read-only) for service-specific extras.
    """

    sub: str
    iss: str
    aud: tuple[str, ...]
    exp: datetime
    iat: datetime
    jti: str
    client_id: str
    scope: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Claims:
        """Type-check a decoded payload whose presence/time/iss/aud checks PyJWT already ran."""
        return cls(
            sub=_string(payload, "sub"),
            iss=_string(payload, "iss"),
            aud=_strings(payload.get("aud"), "aud"),
            exp=_timestamp(payload, "exp"),
            iat=_timestamp(payload, "iat"),
            jti=_string(payload, "jti"),
            client_id=_string(payload, "client_id"),
            scope=_scope(payload.get("scope")),
            roles=frozenset(_strings(payload.get("roles", []), "roles")),
            raw=MappingProxyType(dict(payload)),
        )

    def has_scope(self, *scopes: str) -> bool:
        """True when every given scope was granted (scopes are permissions: all are needed)."""
        return self.scope.issuperset(scopes)

    def has_role(self, *roles: str) -> bool:
        """True when the token holds at least one of the given roles (roles list who may enter)."""
        return not self.roles.isdisjoint(roles)


def check_access(claims: Claims, *, scopes: Iterable[str] = (), roles: Iterable[str] = ()) -> None:
    """Raise :class:`InsufficientScope` unless ``claims`` has all ``scopes`` and any of ``roles``.

    Empty ``scopes``/``roles`` impose nothing, so ``check_access(claims)`` only needs a valid token.
    """
    wanted_scopes = frozenset(scopes)
    missing = wanted_scopes - claims.scope
    if missing:
        raise InsufficientScope(f"missing scope: {' '.join(sorted(missing))}", scopes=wanted_scopes)
    wanted_roles = frozenset(roles)
    if wanted_roles and not claims.has_role(*wanted_roles):
        raise InsufficientScope(f"requires one of the roles: {', '.join(sorted(wanted_roles))}")


def _string(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken(BAD_CLAIMS)
    return value


def _strings(value: object, name: str) -> tuple[str, ...]:
    # ``aud`` may be one string or an array (RFC 7519 §4.1.3); ``roles`` is always an array.
    if isinstance(value, str) and name == "aud":
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InvalidToken(BAD_CLAIMS)


def _scope(value: object) -> frozenset[str]:
    # RFC 9068 says a space-separated string; some issuers send an array, which is unambiguous.
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise InvalidToken(BAD_CLAIMS)


def _timestamp(payload: Mapping[str, Any], name: str) -> datetime:
    value = payload.get(name)
    # bool is an int subclass; a ``true`` exp is nonsense, not the epoch plus one second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(BAD_CLAIMS)
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidToken(BAD_CLAIMS) from exc
