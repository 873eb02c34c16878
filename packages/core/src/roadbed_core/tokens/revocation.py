"""Access-token revocation through the shared cache: the key layout, the writers and the check.

Access tokens are self-contained, so "revoked" has to be looked up somewhere every verifier can
read: the shared cache (Redis in production, the process-wide memory store when embedded). Two
kinds of entry exist:

* ``roadbed:revoked:jti:<jti>`` — one token is denylisted. The entry lives until the token
  would have expired anyway (plus a margin larger than any verifier leeway), so the denylist
  stays as small as the set of live revoked tokens.
* ``roadbed:revoked:sub:<sub>`` — "not before": every token of that user issued strictly before
  the stored whole-second UNIX time is revoked (logout everywhere, password change, role
  removal). Whole seconds because ``iat`` is whole seconds: a token issued right after the
  revocation, in the same second, must stay valid (the "change password, keep this session"
  flow). The entry outlives every access token issued before it (``retain_for``).

The auth service writes with :func:`revoke_token` / :func:`revoke_user_tokens_before` (or their
``a``-prefixed async twins); verifiers read through :class:`RevocationList`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

import redis

from roadbed_core.cache import AsyncCache, Cache, async_cache_from_url, cache_from_url
from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.errors import RevocationUnavailable, TokenRevoked

KEY_PREFIX: Final = "roadbed:revoked"
# Longer than any verifier leeway, so a revoked token cannot outlive its denylist entry.
DENYLIST_MARGIN: Final = timedelta(minutes=5)
# Longer than any access-token lifetime: after that, every token a "not before" targets is dead.
DEFAULT_NOT_BEFORE_RETENTION: Final = timedelta(days=1)
_REVOKED_MARKER: Final = b"1"
# What a cache backend raises when it cannot answer (Redis down, socket reset).
_CACHE_ERRORS: Final = (redis.RedisError, OSError)


def token_key(jti: str) -> str:
    """Cache key of the denylist entry for one token."""
    return f"{KEY_PREFIX}:jti:{jti}"


def subject_key(sub: str) -> str:
    """Cache key of a user's "not before" timestamp."""
    return f"{KEY_PREFIX}:sub:{sub}"


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def _denylist_ttl(expires_at: datetime) -> float:
    remaining = _aware(expires_at, "expires_at") - datetime.now(UTC)
    return (max(remaining, timedelta(0)) + DENYLIST_MARGIN).total_seconds()


def _not_before(when: datetime | None, retain_for: timedelta) -> tuple[bytes, float]:
    moment = datetime.now(UTC) if when is None else _aware(when, "when")
    if retain_for <= timedelta(0):
        raise ValueError("retain_for must be positive")
    ttl = (moment + retain_for - datetime.now(UTC)).total_seconds()
    # Rounded up: ``iat`` has whole seconds, so a token issued in the same second as the
    # revocation cannot be told apart from one issued just before it — both are revoked. The
    # issuer waits out that second before minting for this subject again (auth's minter does).
    return str(math.ceil(moment.timestamp())).encode(), max(ttl, 1.0)


def revoke_token(cache: Cache, jti: str, expires_at: datetime) -> None:
    """Denylist the token ``jti`` until ``expires_at`` (its ``exp``) plus :data:`DENYLIST_MARGIN`."""
    cache.set(token_key(jti), _REVOKED_MARKER, ttl=_denylist_ttl(expires_at))


async def arevoke_token(cache: AsyncCache, jti: str, expires_at: datetime) -> None:
    """Async :func:`revoke_token`."""
    await cache.set(token_key(jti), _REVOKED_MARKER, ttl=_denylist_ttl(expires_at))


def revoke_user_tokens_before(
    cache: Cache,
    sub: str,
    when: datetime | None = None,
    *,
    retain_for: timedelta = DEFAULT_NOT_BEFORE_RETENTION,
) -> None:
    """Revoke every token of ``sub`` issued before ``when`` (default: now), to the second: tokens
    issued within ``when``'s second are revoked too (see :func:`not_before_of`).

    The last write wins. Callers pass "now", so concurrent revocations land within the same
    moment and no compare-and-set is needed.
    """
    value, ttl = _not_before(when, retain_for)
    cache.set(subject_key(sub), value, ttl=ttl)


async def arevoke_user_tokens_before(
    cache: AsyncCache,
    sub: str,
    when: datetime | None = None,
    *,
    retain_for: timedelta = DEFAULT_NOT_BEFORE_RETENTION,
) -> None:
    """Async :func:`revoke_user_tokens_before`."""
    value, ttl = _not_before(when, retain_for)
    await cache.set(subject_key(sub), value, ttl=ttl)


async def anot_before_of(cache: AsyncCache, sub: str) -> int | None:
    """The subject's revocation threshold (Unix seconds): tokens with ``iat`` below it are revoked.

    An issuer minting for ``sub`` right after a revocation must not put an ``iat`` below this.
    """
    value = await cache.get(subject_key(sub))
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _revoked(claims: Claims, denylisted: bytes | None, not_before: bytes | None) -> bool:
    if denylisted is not None:
        return True
    if not_before is None:
        return False
    try:
        threshold = int(not_before)
    except ValueError:
        # Unreadable entry: someone wrote garbage under our key. Fail closed.
        return True
    return claims.iat.timestamp() < threshold


class RevocationList:
    """The verifier's read side. Give it the blocking cache, the async one, or both.

    ``check`` serves :meth:`TokenVerifier.verify` (Django, Flask) and ``acheck`` serves
    :meth:`TokenVerifier.averify` (FastAPI). A cache that cannot answer raises
    :class:`RevocationUnavailable` (503): we do not accept a token we could not check.
    """

    def __init__(self, cache: Cache | None = None, async_cache: AsyncCache | None = None) -> None:
        if cache is None and async_cache is None:
            raise ValueError("give a cache, an async cache, or both")
        self.cache = cache
        self.async_cache = async_cache

    @classmethod
    def from_url(cls, url: str | None) -> RevocationList:
        """Both flavours on one cache URL (``redis://...``, or ``None``/``memory://`` when embedded)."""
        return cls(cache_from_url(url), async_cache_from_url(url))

    def check(self, claims: Claims) -> None:
        """Raise :class:`TokenRevoked` if ``claims`` belongs to a revoked token."""
        if self.cache is None:
            raise RuntimeError("this RevocationList has no blocking cache; use acheck()")
        try:
            denylisted = self.cache.get(token_key(claims.jti))
            not_before = None if denylisted is not None else self.cache.get(subject_key(claims.sub))
        except _CACHE_ERRORS as exc:
            raise RevocationUnavailable("the revocation list could not be read") from exc
        if _revoked(claims, denylisted, not_before):
            raise TokenRevoked()

    async def acheck(self, claims: Claims) -> None:
        """Async :meth:`check`."""
        if self.async_cache is None:
            raise RuntimeError("this RevocationList has no async cache; use check()")
        try:
            denylisted = await self.async_cache.get(token_key(claims.jti))
            not_before = (
                None
                if denylisted is not None
                else await self.async_cache.get(subject_key(claims.sub))
            )
        except _CACHE_ERRORS as exc:
            raise RevocationUnavailable("the revocation list could not be read") from exc
        if _revoked(claims, denylisted, not_before):
            raise TokenRevoked()
