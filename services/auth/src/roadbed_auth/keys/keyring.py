"""The in-memory view of the signing keys that token minting and the JWKS endpoint read.

Both paths are hot, so neither touches the database per request: the ring holds a snapshot (the
active key per algorithm and the rendered JWKS) that it reloads when it is older than
``policy.refresh_interval`` or when a lifecycle transition falls due, whichever comes first.
A reload that finds a transition due runs it (:meth:`SigningKeyService.advance`), which is how
pending keys become active without a scheduler. Rotation through the ring reloads at once;
rotation by another process (the CLI) is seen at the next reload.

Private keys are decrypted once per ``kid`` and kept in memory while the key is active, so a
mint costs one signature, never a decryption.

If a reload fails (database unreachable), the last good JWKS keeps being served and the reload
is retried shortly; signing stops once the snapshot is older than the refresh interval, since
the key it holds may have been retired elsewhere.

A ring belongs to one event loop (its lock does); build one per application.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_auth.keys.errors import SigningKeyUnavailable
from roadbed_auth.keys.jwks import JwksDocument, render_jwks
from roadbed_auth.keys.material import PrivateKey
from roadbed_auth.keys.repository import SigningKeyRecord
from roadbed_auth.keys.service import KeyChange, KeyPolicy, SigningKeyService
from roadbed_auth.keys.tables import SigningKeyState
from roadbed_core.db import unit_of_work

logger = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

#: After a failed reload, how soon to try again (the last good snapshot is served meanwhile).
RELOAD_RETRY: Final = timedelta(seconds=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LoadedSigningKey:
    """An active key, decrypted, ready to sign."""

    kid: str
    algorithm: str
    private_key: PrivateKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Swapped whole, so readers never see the JWKS of one load with the keys of another."""

    active: Mapping[str, SigningKeyRecord]
    jwks: JwksDocument
    loaded_at: datetime
    fresh_until: datetime


def _transition_due(records: Iterable[SigningKeyRecord], now: datetime) -> bool:
    return any(
        (record.state is SigningKeyState.PENDING and record.activate_after <= now)
        or (
            record.state is SigningKeyState.RETIRED
            and record.drop_after is not None
            and record.drop_after <= now
        )
        for record in records
    )


def _next_transition(records: Iterable[SigningKeyRecord]) -> datetime | None:
    moments = [
        moment
        for record in records
        if (
            moment := record.activate_after
            if record.state is SigningKeyState.PENDING
            else record.drop_after
            if record.state is SigningKeyState.RETIRED
            else None
        )
        is not None
    ]
    return min(moments, default=None)


class SigningKeyRing:
    """Cached signing keys and JWKS over a :class:`SigningKeyService` (see the module doc)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        service: SigningKeyService,
        clock: Clock = utc_now,
    ) -> None:
        self.service = service
        self.clock = clock
        self._sessionmaker = sessionmaker
        self._snapshot: _Snapshot | None = None
        self._private_keys: dict[str, LoadedSigningKey] = {}
        self._lock = asyncio.Lock()

    @property
    def policy(self) -> KeyPolicy:
        return self.service.policy

    # -- hot paths ---------------------------------------------------------------------------

    async def jwks(self) -> JwksDocument:
        """The JWKS of pending, active and retired keys (served from memory when fresh)."""
        return (await self._current()).jwks

    def last_published(self) -> dict[str, Any]:
        """The JWKS as last loaded, without I/O (for an in-process verifier's key loader).

        Raises ``ValueError`` before the first load, which such a loader reports as a failed fetch.
        """
        snapshot = self._snapshot
        if snapshot is None:
            raise ValueError("signing keys not loaded yet")
        return snapshot.jwks.as_dict()

    async def signing_key(self, algorithm: str) -> LoadedSigningKey:
        """The active key for ``algorithm``, decrypted; :class:`SigningKeyUnavailable` if none."""
        snapshot = await self._current()
        if self.clock() - snapshot.loaded_at >= self.policy.refresh_interval:
            raise SigningKeyUnavailable("the signing keys could not be reloaded")
        record = snapshot.active.get(algorithm)
        if record is None:
            raise SigningKeyUnavailable(f"no active {algorithm} signing key")
        loaded = self._private_keys.get(record.kid)
        if loaded is None:
            # Loading an RSA key validates it (~25 ms of CPU): once per key, off the event loop.
            # Two first mints at once may both decrypt; either result is the same key.
            private_key = await asyncio.to_thread(self.service.open_private_key, record)
            loaded = LoadedSigningKey(record.kid, record.algorithm, private_key)
            self._private_keys[record.kid] = loaded
        return loaded

    # -- lifecycle, each its own unit of work ----------------------------------------------

    async def ensure_keys(self) -> list[KeyChange]:
        """Bootstrap an active key per algorithm if missing (run at start; idempotent)."""
        async with unit_of_work(self._sessionmaker) as db:
            changes = await self.service.ensure_keys(db, now=self.clock())
        await self.refresh()
        return changes

    async def rotate(self, *, algorithms: Sequence[str] | None = None) -> list[KeyChange]:
        """Start a rotation (see :meth:`SigningKeyService.rotate`) and publish the result now."""
        async with unit_of_work(self._sessionmaker) as db:
            changes = await self.service.rotate(db, now=self.clock(), algorithms=algorithms)
        await self.refresh()
        return changes

    async def refresh(self) -> None:
        """Reload now, whatever the snapshot's age (after a change, or on operator request)."""
        await self._reload(stale=None, force=True)

    # -- loading -----------------------------------------------------------------------------

    async def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self.clock() < snapshot.fresh_until:
            return snapshot
        return await self._reload(stale=snapshot, force=False)

    async def _reload(self, *, stale: _Snapshot | None, force: bool) -> _Snapshot:
        """Load under the lock, so concurrent callers wait for one load instead of each doing one."""
        async with self._lock:
            current = self._snapshot
            if not force and current is not None and (current is not stale or self._fresh(current)):
                # Someone reloaded while we waited for the lock: theirs is as new as ours would
                # be. A forced reload (after our own change) cannot trust a load that may have
                # started before the change committed.
                return current
            now = self.clock()
            try:
                records = await self._load(now)
            except (SQLAlchemyError, OSError) as exc:
                return self._load_failed(exc, current=current, now=now, force=force)
            snapshot = self._build(records, now)
            self._snapshot = snapshot
            return snapshot

    async def _load(self, now: datetime) -> list[SigningKeyRecord]:
        async with unit_of_work(self._sessionmaker) as db:
            records = await self.service.list_published(db)
            if _transition_due(records, now):
                await self.service.advance(db, now=now)
                records = await self.service.list_published(db)
        return records

    def _load_failed(
        self, exc: Exception, *, current: _Snapshot | None, now: datetime, force: bool
    ) -> _Snapshot:
        """Keep serving the last good JWKS through a database blip; never guess without one.

        The JWKS stays available (verifiers holding our keys are unaffected), while
        :meth:`signing_key` refuses a snapshot older than the refresh interval: signing with a
        stale set could use a key retired elsewhere past the retention it was granted.
        """
        logger.warning(
            "signing_keys.reload_failed",
            error=f"{type(exc).__name__}: {exc}",
            serving_keys_loaded_at=None if current is None else current.loaded_at.isoformat(),
        )
        if current is None or force:
            raise SigningKeyUnavailable("the signing keys could not be loaded") from exc
        retry = replace(current, fresh_until=now + min(RELOAD_RETRY, self.policy.refresh_interval))
        self._snapshot = retry
        return retry

    def _fresh(self, snapshot: _Snapshot) -> bool:
        return self.clock() < snapshot.fresh_until

    def _build(self, records: list[SigningKeyRecord], now: datetime) -> _Snapshot:
        active = {
            record.algorithm: record for record in records if record.state is SigningKeyState.ACTIVE
        }
        # Forget decrypted keys that no longer sign: a retired key's private half has no use here.
        active_kids = {record.kid for record in active.values()}
        self._private_keys = {
            kid: loaded for kid, loaded in self._private_keys.items() if kid in active_kids
        }
        fresh_until = now + self.policy.refresh_interval
        next_transition = _next_transition(records)
        if next_transition is not None and now < next_transition < fresh_until:
            fresh_until = next_transition
        return _Snapshot(
            active=MappingProxyType(active),
            jwks=render_jwks(records),
            loaded_at=now,
            fresh_until=fresh_until,
        )
