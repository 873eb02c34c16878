"""Brute-force defence for sign-in: per-account and per-client windows, backoff, lockout.

How an attempt goes::

    await throttle.check(ip=client_ip, account_key=submitted_email)   # may raise TooManyAttempts
    ... verify the password (or the second factor) ...
    await throttle.record_failure(ip=..., account_key=...)            # or record_success(...)

Every ``check`` that returns must be followed by exactly one ``record_failure`` or
``record_success``; a ``check`` that raised is not an attempt and is followed by neither.

The rules, per scope (the account typed in, and the client address):

* Failures are counted in a sliding window (:mod:`roadbed_auth.throttle.window`).
* Once the count reaches ``max_failures``, the scope is locked for ``lockout`` seconds.
* Backoff: a failure after a lockout ended, while the count is still at the limit or the last
  lockout ended less than ``window`` ago, locks the scope again for twice as long as the one
  before, capped at ``max_lockout``. Remembering the last lockout (rather than reading it off
  the decaying count alone) keeps a patient attacker at one guess per ``max_lockout``; the
  memory ends ``window`` seconds after a lockout ends, so someone who waits starts afresh.
* While locked, ``check`` answers 429 with ``Retry-After`` and counts nothing: hammering a
  locked scope neither pushes the lockout further out nor lets anyone lock a victim out for
  longer than ``max_lockout`` at a time.
* A success clears the account's state; it only hands its own attempt back to the client's
  count, so a client cannot reset its address's record by signing in to an account of its own.

Why ``check`` counts, not ``record_failure``: counting after the password check leaves a gap,
and a burst of parallel requests would all pass the check before the first failure landed
(hundreds of guesses where five are allowed). So ``check`` reserves the attempt atomically
(``incr``) and it counts as failed until ``record_success`` hands it back. Past the limit only
one attempt per scope may be in flight at a time (an atomic ``add`` marker): the single retry a
lockout's end allows.

The account is keyed by the normalised email as typed, never by user id, so an unknown address
is throttled exactly like a registered one (no enumeration through 429s). Use a separate
instance (``name="mfa"``) for second-factor attempts, so a correct password cannot wipe the
failure count of a six-digit code being guessed.

All decisions are made on the injected clock: lock entries store their end and their memory's
end as timestamps, and cache TTLs (always longer) only remove entries nobody will read again.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Self

import redis

from roadbed_auth.throttle.errors import (
    ThrottleUnavailable,
    TooManyAttempts,
    retry_after_seconds,
)
from roadbed_auth.throttle.keys import (
    DEFAULT_IPV6_PREFIX,
    KEY_PREFIX,
    IdentifierHasher,
    client_bucket,
    normalise_email,
)
from roadbed_auth.throttle.window import CLEANUP_MARGIN, Clock, WindowCounter
from roadbed_core.cache import AsyncCache

# What a cache backend raises when it cannot answer (Redis down, socket reset).
_CACHE_ERRORS: Final = (redis.RedisError, OSError)
_IN_FLIGHT_MARKER: Final = b"1"
# 2**63 seconds is past any cap; stopping there keeps the stored level (and 2**level) small.
_MAX_LEVEL: Final = 63


class ThrottleScope(StrEnum):
    """What a limit counts against."""

    ACCOUNT = "account"
    IP = "ip"


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """One scope's limit: ``max_failures`` per ``window`` seconds, then a doubling lockout."""

    max_failures: int
    window: float = 15 * 60
    lockout: float = 60
    max_lockout: float = 15 * 60

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.window <= 0 or self.lockout <= 0 or self.max_lockout < self.lockout:
            raise ValueError("window and lockout must be positive, max_lockout >= lockout")

    def level_for(self, failures: float) -> int:
        """Backoff level the failure count alone calls for (``0`` at the limit)."""
        return min(_MAX_LEVEL, max(0, math.floor(failures) - self.max_failures))

    def lockout_at(self, level: int) -> float:
        """``lockout * 2**level``, capped at ``max_lockout``."""
        return float(min(self.max_lockout, self.lockout * 2 ** min(level, _MAX_LEVEL)))


#: Per account: 5 failures in 15 minutes, then 1, 2, 4, 8, 15, 15, ... minutes.
DEFAULT_ACCOUNT_RULE: Final = ThrottleRule(max_failures=5)
#: Per client address: 50 failures in 15 minutes (a shared NAT has many honest users).
DEFAULT_IP_RULE: Final = ThrottleRule(max_failures=50)


@dataclass(frozen=True, slots=True)
class Lockout:
    """A lockout that a failure just started (for the audit log)."""

    scope: ThrottleScope
    retry_after: int


@dataclass(frozen=True, slots=True)
class _LockEntry:
    """A scope's last lockout: when it ends, its backoff level, and when it is forgotten."""

    until: float
    level: int
    forget_at: float

    def encode(self) -> bytes:
        return f"{self.until!r} {self.level} {self.forget_at!r}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        until, level, forget_at = raw.decode().split()
        return cls(float(until), int(level), float(forget_at))


@dataclass(frozen=True, slots=True)
class _Scope:
    """One scope's keys and rule for one attempt."""

    kind: ThrottleScope
    rule: ThrottleRule
    counter: WindowCounter
    prefix: str

    @property
    def lock_key(self) -> str:
        return f"{self.prefix}:lock"

    @property
    def in_flight_key(self) -> str:
        return f"{self.prefix}:inflight"


@dataclass(frozen=True, slots=True)
class _Reservation:
    """What reserving an attempt in one scope gave: admission, or how long to wait."""

    admitted: bool
    #: This attempt holds the scope's one-at-a-time marker (it is past the limit).
    in_flight: bool = False
    wait: float = 0.0


def _next_level(
    rule: ThrottleRule, *, failures: float, last_lock: _LockEntry | None, now: float
) -> int:
    """The backoff level a failure at ``now`` calls for.

    What the count says, and one past the last lockout if that one has ended. A lockout still
    running was set by a failure of the same burst, whose count already says how bad it is.
    """
    level = rule.level_for(failures)
    if last_lock is not None:
        step = 1 if now >= last_lock.until else 0
        level = max(level, min(_MAX_LEVEL, last_lock.level + step))
    return level


@asynccontextmanager
async def _cache_errors_as_unavailable() -> AsyncIterator[None]:
    try:
        yield
    except _CACHE_ERRORS as exc:
        raise ThrottleUnavailable("the sign-in throttle could not reach its cache") from exc


class LoginThrottle:
    """Per-account and per-client failure limits with backoff, on an :class:`AsyncCache`."""

    def __init__(
        self,
        cache: AsyncCache,
        *,
        identifier_secret: bytes,
        name: str = "login",
        account_rule: ThrottleRule = DEFAULT_ACCOUNT_RULE,
        ip_rule: ThrottleRule = DEFAULT_IP_RULE,
        attempt_timeout: float = 30.0,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
        clock: Clock = time.time,
    ) -> None:
        """
        :param identifier_secret: keys the hashes of emails and addresses in cache keys (a
            settings secret; changing it only forgets current throttle state).
        :param name: namespace, so sign-in and second-factor attempts are counted apart.
        :param attempt_timeout: how long an attempt past the limit may stay in flight before
            another may start, should its ``record_*`` call never come (a crashed request).
        """
        if attempt_timeout <= 0:
            raise ValueError("attempt_timeout must be positive")
        if not name or ":" in name:
            raise ValueError("name must be non-empty and contain no ':'")
        self.cache = cache
        self.name = name
        self.account_rule = account_rule
        self.ip_rule = ip_rule
        self.attempt_timeout = attempt_timeout
        self.ipv6_prefix = ipv6_prefix
        self._hasher = IdentifierHasher(identifier_secret)
        self._clock = clock
        self._counters = {
            ThrottleScope.ACCOUNT: WindowCounter(cache, window=account_rule.window),
            ThrottleScope.IP: WindowCounter(cache, window=ip_rule.window),
        }

    # --- public API ------------------------------------------------------------------------

    async def check(self, *, ip: str, account_key: str) -> None:
        """Admit one attempt, or raise :class:`TooManyAttempts` with ``Retry-After``.

        Call before verifying anything. ``account_key`` is the identifier as submitted (the
        email); it is normalised and hashed here. The answer is the same whichever scope is
        locked, and the larger wait wins.
        """
        now = self._clock()
        account, client = self._scopes(ip=ip, account_key=account_key)
        async with _cache_errors_as_unavailable():
            account_lock = await self._lock_entry(account, now=now)
            client_lock = await self._lock_entry(client, now=now)
            # A locked scope refuses without counting: waiting is the only way out.
            locked_for = max(
                (lock.until - now for lock in (account_lock, client_lock) if lock), default=0.0
            )
            if locked_for > 0:
                raise TooManyAttempts(retry_after=locked_for)
            account_reservation = await self._reserve(account, now=now, last_lock=account_lock)
            if not account_reservation.admitted:
                raise TooManyAttempts(retry_after=account_reservation.wait)
            client_reservation = await self._reserve(client, now=now, last_lock=client_lock)
            if not client_reservation.admitted:
                # The attempt does not happen: hand back what the account scope reserved.
                await account.counter.add(account.prefix, now=now, amount=-1)
                if account_reservation.in_flight:
                    await self.cache.delete(account.in_flight_key)
                raise TooManyAttempts(retry_after=client_reservation.wait)

    async def record_failure(self, *, ip: str, account_key: str) -> Lockout | None:
        """The admitted attempt failed. Returns the lockout it started, if it started one."""
        now = self._clock()
        lockouts: list[Lockout] = []
        async with _cache_errors_as_unavailable():
            for scope in self._scopes(ip=ip, account_key=account_key):
                # check() already counted the attempt; only the lockout is decided here.
                await self.cache.delete(scope.in_flight_key)
                seconds = await self._lock_if_due(scope, now=now)
                if seconds is not None:
                    lockouts.append(Lockout(scope.kind, retry_after_seconds(seconds)))
        return max(lockouts, key=lambda lockout: lockout.retry_after, default=None)

    async def record_success(self, *, ip: str, account_key: str) -> None:
        """The admitted attempt succeeded: clear the account, hand the client its attempt back."""
        now = self._clock()
        account, client = self._scopes(ip=ip, account_key=account_key)
        async with _cache_errors_as_unavailable():
            await account.counter.clear(account.prefix, now=now)
            await self.cache.delete(account.lock_key)
            await self.cache.delete(account.in_flight_key)
            await client.counter.add(client.prefix, now=now, amount=-1)
            await self.cache.delete(client.in_flight_key)

    # --- internals -------------------------------------------------------------------------

    def _scopes(self, *, ip: str, account_key: str) -> tuple[_Scope, _Scope]:
        account_digest = self._hasher.digest("account", normalise_email(account_key))
        client_digest = self._hasher.digest("ip", client_bucket(ip, ipv6_prefix=self.ipv6_prefix))
        return (
            self._scope(ThrottleScope.ACCOUNT, self.account_rule, account_digest),
            self._scope(ThrottleScope.IP, self.ip_rule, client_digest),
        )

    def _scope(self, kind: ThrottleScope, rule: ThrottleRule, digest: str) -> _Scope:
        return _Scope(
            kind=kind,
            rule=rule,
            counter=self._counters[kind],
            prefix=f"{KEY_PREFIX}:{self.name}:{kind.value}:{digest}",
        )

    async def _lock_entry(self, scope: _Scope, *, now: float) -> _LockEntry | None:
        """The scope's last lockout while it still matters (running, or remembered)."""
        raw = await self.cache.get(scope.lock_key)
        if raw is None:
            return None
        entry = _LockEntry.decode(raw)
        return entry if now < entry.forget_at else None

    async def _reserve(
        self, scope: _Scope, *, now: float, last_lock: _LockEntry | None
    ) -> _Reservation:
        """Count the attempt in ``scope``, or refuse it (and count nothing)."""
        count = await scope.counter.add(scope.prefix, now=now)
        if count.estimate <= scope.rule.max_failures and last_lock is None:
            return _Reservation(admitted=True)
        # Past the limit (a lockout just ended, or a burst outran the first failures): one
        # attempt at a time, each failure of which doubles the next lockout.
        if await self.cache.add(scope.in_flight_key, _IN_FLIGHT_MARKER, ttl=self.attempt_timeout):
            return _Reservation(admitted=True, in_flight=True)
        await scope.counter.add(scope.prefix, now=now, amount=-1)
        # Refused while another attempt is out: wait as long as its failure would lock for.
        level = _next_level(scope.rule, failures=count.estimate - 1, last_lock=last_lock, now=now)
        return _Reservation(admitted=False, wait=scope.rule.lockout_at(level))

    async def _lock_if_due(self, scope: _Scope, *, now: float) -> float | None:
        """Start the lockout this failure calls for; its length, or ``None`` if none is due."""
        failures = (await scope.counter.read(scope.prefix, now=now)).estimate
        previous = await self._lock_entry(scope, now=now)
        if failures < scope.rule.max_failures and previous is None:
            return None
        level = _next_level(scope.rule, failures=failures, last_lock=previous, now=now)
        seconds = scope.rule.lockout_at(level)
        entry = _LockEntry(
            until=now + seconds, level=level, forget_at=now + seconds + scope.rule.window
        )
        await self.cache.set(
            scope.lock_key, entry.encode(), ttl=seconds + scope.rule.window + CLEANUP_MARGIN
        )
        return seconds
