"""Signing keys for token verification: a JWKS fetched over HTTP (or given in-process) and cached.

One :class:`JwksClient` serves blocking callers (Django, Flask) through :meth:`get_signing_key`
and async ones (FastAPI) through :meth:`aget_signing_key`; the caching rules are shared:

* keys are reused for ``ttl`` seconds, then refetched on the next lookup;
* a ``kid`` we do not know triggers a refetch (the issuer may have rotated keys), but fetches are
  spaced by ``refetch_cooldown`` seconds whatever the reason, so a flood of tokens with invented
  ``kid`` values costs the issuer at most one request per cooldown;
* if a refresh fails while we still hold keys, we keep verifying with them (a key does not stop
  being the issuer's key because its endpoint is briefly down) and retry after the cooldown;
* when we have no answer at all, lookups raise :class:`TokenKeysUnavailable` (503): a network or
  parse failure never makes a token valid and is never a 500.

Only asymmetric keys (RSA, EC, OKP) marked for signatures are loaded; an ``oct`` (HMAC) key in a
JWKS is ignored, so no published key can ever act as a shared secret.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import httpx
import jwt
import structlog

from roadbed_core.tokens.errors import UNKNOWN_KID, InvalidToken, TokenKeysUnavailable

logger = structlog.get_logger(__name__)

JwkDict = Mapping[str, Any]

DEFAULT_TTL_SECONDS: Final = 300.0
DEFAULT_REFETCH_COOLDOWN_SECONDS: Final = 30.0
DEFAULT_HTTP_TIMEOUT_SECONDS: Final = 5.0
# A JWKS is a few keys; anything much bigger is a misconfigured URL, not key material.
MAX_JWKS_BYTES: Final = 512 * 1024

# What a failed fetch looks like: transport/HTTP status errors, bad JSON or key material (ValueError),
# and OS-level errors an in-process loader may raise. Anything else is a bug and should surface.
_FETCH_ERRORS: Final = (httpx.HTTPError, ValueError, OSError)

# Which key type (and curve) each asymmetric JWS algorithm needs (RFC 7518 §3, RFC 8037).
# HS* and "none" are deliberately absent: they can never be matched to a published key.
ALGORITHM_KEY_TYPES: Final[Mapping[str, tuple[str, frozenset[str] | None]]] = MappingProxyType(
    {
        "RS256": ("RSA", None),
        "RS384": ("RSA", None),
        "RS512": ("RSA", None),
        "PS256": ("RSA", None),
        "PS384": ("RSA", None),
        "PS512": ("RSA", None),
        "ES256": ("EC", frozenset({"P-256"})),
        "ES384": ("EC", frozenset({"P-384"})),
        "ES512": ("EC", frozenset({"P-521"})),
        "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    }
)


class SigningKey:
    """One public key from the JWKS, able to verify with exactly the algorithms its type allows."""

    __slots__ = ("_verifiers", "algorithms", "jwk", "kid", "kty")

    def __init__(self, jwk: JwkDict) -> None:
        """Validate ``jwk``; raises ``ValueError`` for keys we must not or cannot use."""
        kid, kty = jwk.get("kid"), jwk.get("kty")
        if not isinstance(kid, str) or not kid:
            raise ValueError("key has no kid")
        if jwk.get("use", "sig") != "sig":
            raise ValueError(f"key {kid!r} is not a signing key")
        self.kid: str = kid
        self.kty = kty
        self.jwk: JwkDict = MappingProxyType(dict(jwk))
        self.algorithms: frozenset[str] = _compatible_algorithms(jwk)
        if not self.algorithms:
            raise ValueError(f"key {kid!r} fits none of the accepted algorithms")
        self._verifiers: dict[str, jwt.PyJWK] = {}
        # Parse the key material now so a broken key is dropped at load, not at first use.
        self.for_algorithm(min(self.algorithms))

    def for_algorithm(self, algorithm: str) -> jwt.PyJWK | None:
        """The PyJWT key bound to ``algorithm``, or ``None`` when this key cannot serve it.

        Binding the algorithm to the key (not trusting the token header) is what defeats
        algorithm-confusion attacks such as HS256 keyed with an RSA public key.
        """
        if algorithm not in self.algorithms:
            return None
        verifier = self._verifiers.get(algorithm)
        if verifier is None:
            try:
                verifier = jwt.PyJWK(dict(self.jwk), algorithm=algorithm)
            except jwt.PyJWTError as exc:
                raise ValueError(f"key {self.kid!r} is unusable: {exc}") from exc
            # Benign race: two threads may both build it; either result is identical.
            self._verifiers[algorithm] = verifier
        return verifier


def _compatible_algorithms(jwk: JwkDict) -> frozenset[str]:
    """Algorithms this key may verify: its type/curve must fit, and a declared ``alg`` pins one."""
    curve = jwk.get("crv")
    fitting = {
        algorithm
        for algorithm, (kty, curves) in ALGORITHM_KEY_TYPES.items()
        if jwk.get("kty") == kty and (curves is None or curve in curves)
    }
    declared = jwk.get("alg")
    if declared is not None:
        fitting &= {declared}
    return frozenset(fitting)


def parse_jwks(document: object) -> dict[str, SigningKey]:
    """Keys by ``kid`` from a JWKS document; unusable entries are skipped, an empty result is an error."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS must be an object with a 'keys' array")
    keys: dict[str, SigningKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping):
            continue
        try:
            key = SigningKey(entry)
        except ValueError as exc:
            logger.info("jwks.key_skipped", reason=str(exc))
            continue
        keys[key.kid] = key
    if not keys:
        raise ValueError("JWKS holds no usable signing key")
    return keys


@dataclass(frozen=True, slots=True)
class _KeySet:
    """An immutable snapshot, swapped atomically so readers never see a half-updated set."""

    keys: Mapping[str, SigningKey]
    fetched_at: float


class JwksClient:
    """Cached signing keys from a JWKS URL, a static JWKS, or an in-process loader.

    Build it with :meth:`from_url`, :meth:`from_jwks` or :meth:`from_loader`. The instance is safe
    to share between threads and event loops; fetches are serialised per thread group / per loop
    so concurrent lookups of a new ``kid`` wait for one fetch instead of each starting one.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        loader: Callable[[], Mapping[str, Any]] | None = None,
        ttl: float = DEFAULT_TTL_SECONDS,
        refetch_cooldown: float = DEFAULT_REFETCH_COOLDOWN_SECONDS,
        timeout: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if sum(source is not None for source in (url, jwks, loader)) != 1:
            raise ValueError("give exactly one of url, jwks or loader")
        if ttl <= 0 or refetch_cooldown < 0 or timeout <= 0:
            raise ValueError("ttl and timeout must be positive, refetch_cooldown not negative")
        self.url = url
        self._loader = loader
        self.ttl = ttl
        self.refetch_cooldown = refetch_cooldown
        self.timeout = timeout
        self._clock = clock
        self._snapshot: _KeySet | None = None
        self._last_attempt: float | None = None
        self._last_attempt_failed = False
        self._thread_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._static = jwks is not None
        if jwks is not None:
            # A static set is validated at construction: a bad one is a startup error.
            self._snapshot = _KeySet(parse_jwks(jwks), fetched_at=clock())

    @classmethod
    def from_url(cls, url: str, **options: Any) -> JwksClient:
        """Fetch from ``url`` (the issuer's ``jwks_uri``) with the caching rules above."""
        return cls(url=url, **options)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> JwksClient:
        """Fixed keys, never refetched (embedded mode wiring, tests)."""
        return cls(jwks=jwks)

    @classmethod
    def from_loader(cls, loader: Callable[[], Mapping[str, Any]], **options: Any) -> JwksClient:
        """Keys from an in-process callable, refreshed like a URL (embedded mode with rotation).

        The loader runs on the caller's thread (also under ``aget_signing_key``), so it must be
        quick; raising ``ValueError`` or ``OSError`` counts as a failed fetch.
        """
        return cls(loader=loader, **options)

    # -- lookups -----------------------------------------------------------------------------

    def get_signing_key(self, kid: str) -> SigningKey:
        """The key for ``kid``, fetching (blocking) if needed; see the module doc for the rules."""
        cached = self._cached(kid, fetch_in_progress=self._thread_lock.locked())
        if cached is not None:
            return cached
        with self._thread_lock:
            # Decided under the lock: a fetch that just finished may already have what we need.
            if self._should_fetch(kid):
                self._record(self._fetch_sync)
        return self._lookup(kid)

    async def aget_signing_key(self, kid: str) -> SigningKey:
        """The key for ``kid``, fetching without blocking the event loop if needed."""
        lock = self._loop_lock()
        cached = self._cached(kid, fetch_in_progress=lock.locked())
        if cached is not None:
            return cached
        async with lock:
            if self._should_fetch(kid):
                await self._arecord()
        return self._lookup(kid)

    def refresh(self) -> None:
        """Fetch now, ignoring TTL and cooldown (startup warm-up, operator tooling)."""
        if not self._static:
            with self._thread_lock:
                self._record(self._fetch_sync)

    async def arefresh(self) -> None:
        """Async :meth:`refresh`."""
        if not self._static:
            async with self._loop_lock():
                await self._arecord()

    # -- the shared decision logic -----------------------------------------------------------

    def _cached(self, kid: str, *, fetch_in_progress: bool) -> SigningKey | None:
        """The lock-free fast path: a fresh key, or a stale one while someone else refreshes."""
        snapshot = self._snapshot
        if snapshot is None or kid not in snapshot.keys:
            return None
        fresh = self._static or self._clock() - snapshot.fetched_at < self.ttl
        return snapshot.keys[kid] if fresh or fetch_in_progress else None

    def _should_fetch(self, kid: str) -> bool:
        if self._static:
            return False
        snapshot, now = self._snapshot, self._clock()
        if snapshot is not None and kid in snapshot.keys and now - snapshot.fetched_at < self.ttl:
            return False
        return self._last_attempt is None or now - self._last_attempt >= self.refetch_cooldown

    def _lookup(self, kid: str) -> SigningKey:
        snapshot = self._snapshot
        if snapshot is not None and kid in snapshot.keys:
            return snapshot.keys[kid]
        if snapshot is None or self._last_attempt_failed:
            # We could not ask the issuer, so "unknown kid" would be a guess: answer 503.
            raise TokenKeysUnavailable(
                "the token signing keys could not be loaded", retry_after=self._retry_after()
            )
        raise InvalidToken(UNKNOWN_KID)

    def _retry_after(self) -> float:
        if self._last_attempt is None:
            return self.refetch_cooldown
        return max(0.0, self.refetch_cooldown - (self._clock() - self._last_attempt))

    def _record(self, fetch: Callable[[], Mapping[str, Any]]) -> None:
        self._last_attempt = self._clock()
        try:
            keys = parse_jwks(fetch())
        except _FETCH_ERRORS as exc:
            self._failed(exc)
        else:
            self._succeeded(keys)

    async def _arecord(self) -> None:
        self._last_attempt = self._clock()
        try:
            keys = parse_jwks(await self._fetch_async())
        except _FETCH_ERRORS as exc:
            self._failed(exc)
        else:
            self._succeeded(keys)

    def _succeeded(self, keys: dict[str, SigningKey]) -> None:
        self._snapshot = _KeySet(MappingProxyType(keys), fetched_at=self._clock())
        self._last_attempt_failed = False
        logger.info("jwks.fetched", url=self.url, kids=sorted(keys))

    def _failed(self, exc: Exception) -> None:
        self._last_attempt_failed = True
        logger.warning(
            "jwks.fetch_failed",
            url=self.url,
            error=f"{type(exc).__name__}: {exc}",
            serving_cached_keys=self._snapshot is not None,
        )

    # -- sources ---------------------------------------------------------------------------------

    def _fetch_sync(self) -> Mapping[str, Any]:
        if self._loader is not None:
            return self._loader()
        with (
            httpx.Client(timeout=self.timeout) as client,
            client.stream("GET", self._require_url(), headers=_ACCEPT_JSON) as response,
        ):
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                _append_capped(body, chunk)
        return _document(body)

    async def _fetch_async(self) -> Mapping[str, Any]:
        if self._loader is not None:
            return self._loader()
        # A client per fetch: fetches are rare, and a shared AsyncClient would be bound to
        # whichever event loop created it.
        async with (
            httpx.AsyncClient(timeout=self.timeout) as client,
            client.stream("GET", self._require_url(), headers=_ACCEPT_JSON) as response,
        ):
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                _append_capped(body, chunk)
        return _document(body)

    def _require_url(self) -> str:
        if self.url is None:  # pragma: no cover - guarded by the constructor
            raise RuntimeError("JwksClient has no URL")
        return self.url

    def _loop_lock(self) -> asyncio.Lock:
        # asyncio.Lock belongs to one event loop; keep one per loop (tests, embedded threads).
        loop = asyncio.get_running_loop()
        lock = self._loop_locks.get(loop)
        if lock is None:
            lock = self._loop_locks.setdefault(loop, asyncio.Lock())
        return lock


_ACCEPT_JSON: Final = {"Accept": "application/json"}


def _append_capped(body: bytearray, chunk: bytes) -> None:
    # Read in chunks and stop at the cap: a wrong URL serving gigabytes must not be buffered.
    body += chunk
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"JWKS response is larger than {MAX_JWKS_BYTES} bytes")


def _document(body: bytes | bytearray) -> Mapping[str, Any]:
    document = json.loads(body)
    if not isinstance(document, Mapping):
        raise ValueError("JWKS response is not a JSON object")
    return document
