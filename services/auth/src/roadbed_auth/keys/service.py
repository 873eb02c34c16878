"""Signing-key lifecycle: bootstrap, rotation with overlap, activation and retirement.

The model, per algorithm::

    pending ──activate_after reached──► active ──successor activated──► retired ──drop_after──► revoked
    (published,                         (signs;                          (published,          (unpublished,
     not signing)                        exactly one)                     not signing)         private key erased)

* :meth:`SigningKeyService.rotate` creates a *pending* key with
  ``activate_after = now + policy.activation_delay``. It signs nothing until then, so every
  verifier has had the time to see it in the JWKS before the first token carrying its ``kid``.
* :meth:`SigningKeyService.advance` performs the transitions that are due: a due pending key
  becomes active and the previous active key is retired in the same transaction (with
  ``drop_after = now + policy.retention``); retired keys past ``drop_after`` are revoked.
  :class:`~roadbed_auth.keys.keyring.SigningKeyRing` calls it whenever its snapshot says a
  transition is due, so no scheduler is needed; any replica may do it, the updates are guarded.
* :meth:`SigningKeyService.ensure_keys` creates an *active* key for every algorithm that has
  none (first start). Races are settled by the partial unique indexes (one active and one
  pending key per algorithm) with ``ON CONFLICT DO NOTHING``: two processes at once leave one set.

Why the two delays add the replica refresh interval: a replica serves the JWKS, and signs, from
an in-memory snapshot it reloads every ``refresh_interval``. A new key is on every replica's
JWKS only ``refresh_interval`` after it was written, and a replica may go on signing with a
retired key for up to ``refresh_interval`` after the retirement.

Methods only flush (they execute statements); the caller's unit of work commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from cryptography.exceptions import UnsupportedAlgorithm
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.keys import repository
from roadbed_auth.keys.encryption import KeyEncryptor
from roadbed_auth.keys.errors import SigningKeyDecryptionFailed, SigningKeyUnavailable
from roadbed_auth.keys.material import (
    RS256,
    SUPPORTED_ALGORITHMS,
    PrivateKey,
    check_algorithm,
    generate_private_key,
    jwk_thumbprint,
    key_parameters,
    load_private_key,
    public_jwk,
    serialize_private_key,
)
from roadbed_auth.keys.repository import SigningKeyRecord
from roadbed_auth.keys.tables import PUBLISHED_STATES, SigningKeyState

logger = structlog.get_logger(__name__)

#: Makes a new private key for an algorithm (tests pass pre-generated keys: RSA is slow to make).
KeyGenerator = Callable[[str], PrivateKey]


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Timings of the key lifecycle. The defaults match the core verifier's defaults."""

    #: Algorithms with a signing key. RS256 is mandatory (OpenID Connect Core §15.1).
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS
    #: How long verifiers may cache our JWKS (``JwksClient`` default TTL: 300 s).
    verifier_cache_ttl: timedelta = timedelta(minutes=5)
    #: How often each replica reloads keys from the database (its JWKS and signing keys).
    refresh_interval: timedelta = timedelta(seconds=30)
    #: The longest lifetime of any token we sign (access and ID tokens).
    max_token_lifetime: timedelta = timedelta(minutes=10)
    #: How far past ``exp`` verifiers still accept a token (``TokenVerifier`` default: 30 s).
    clock_leeway: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if not self.algorithms or len(set(self.algorithms)) != len(self.algorithms):
            raise ValueError("algorithms must be a non-empty list without repeats")
        for algorithm in self.algorithms:
            check_algorithm(algorithm)
        if RS256 not in self.algorithms:
            raise ValueError("RS256 is mandatory: OpenID Connect clients must be able to verify")
        if self.refresh_interval <= timedelta(0) or self.max_token_lifetime <= timedelta(0):
            raise ValueError("refresh_interval and max_token_lifetime must be positive")
        if self.verifier_cache_ttl < timedelta(0) or self.clock_leeway < timedelta(0):
            raise ValueError("verifier_cache_ttl and clock_leeway must not be negative")

    @property
    def activation_delay(self) -> timedelta:
        """How long a new key is published before it signs: on every replica, then in every cache."""
        return self.refresh_interval + self.verifier_cache_ttl

    @property
    def retention(self) -> timedelta:
        """How long a retired key stays published: until the last token it may have signed expires."""
        return self.refresh_interval + self.max_token_lifetime + self.clock_leeway


class KeyChangeKind(StrEnum):
    BOOTSTRAPPED = "bootstrapped"
    PUBLISHED = "published"
    ALREADY_PENDING = "already_pending"
    ACTIVATED = "activated"
    RETIRED = "retired"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One thing a lifecycle call did (or declined to do), for the CLI, logs and the audit log.

    ``effective_at`` is when it takes effect: the activation time of a published or already
    pending key, the ``drop_after`` of a retired key, otherwise the time of the change.
    """

    kind: KeyChangeKind
    kid: str
    algorithm: str
    effective_at: datetime

    def describe(self) -> str:
        """One human-readable line."""
        at = self.effective_at.isoformat(timespec="seconds")
        key = f"{self.algorithm} key {self.kid}"
        match self.kind:
            case KeyChangeKind.BOOTSTRAPPED:
                return f"{key} created and active (no {self.algorithm} key was active)"
            case KeyChangeKind.PUBLISHED:
                return f"{key} published as pending; it starts signing at {at}"
            case KeyChangeKind.ALREADY_PENDING:
                return f"{key} is already pending (starts signing at {at}); no new key created"
            case KeyChangeKind.ACTIVATED:
                return f"{key} activated: it signs new tokens"
            case KeyChangeKind.RETIRED:
                return f"{key} retired: no longer signs, stays published until {at}"
            case KeyChangeKind.DROPPED:
                return f"{key} dropped from the JWKS; its private key is erased"


class SigningKeyService:
    """The lifecycle decisions over one ``signing_keys`` table (see the module docstring)."""

    def __init__(
        self,
        *,
        table: Table,
        encryptor: KeyEncryptor,
        policy: KeyPolicy | None = None,
        generate: KeyGenerator = generate_private_key,
    ) -> None:
        self.table = table
        self.encryptor = encryptor
        self.policy = policy or KeyPolicy()
        self._generate = generate

    # -- reads -------------------------------------------------------------------------------

    async def list_published(self, db: AsyncSession) -> list[SigningKeyRecord]:
        """Pending, active and retired keys whose public key matches its ``kid``.

        A row whose public JWK does not hash to its ``kid`` was altered: publishing it could put
        someone else's key in our JWKS, so it is left out (and logged) instead.
        """
        records = await repository.list_keys(db, table=self.table, states=PUBLISHED_STATES)
        return [record for record in records if _is_intact(record)]

    def open_private_key(self, record: SigningKeyRecord) -> PrivateKey:
        """Decrypt ``record``'s private key and check it is the key its ``kid`` names.

        CPU-bound (parsing an RSA key validates it, about 25 ms): callers run it in a thread and
        cache the result per ``kid``.
        """
        if record.sealed is None:
            raise SigningKeyUnavailable(f"signing key {record.kid} is revoked")
        der = self.encryptor.decrypt(record.sealed, kid=record.kid)
        try:
            private_key = load_private_key(der, algorithm=record.algorithm)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SigningKeyDecryptionFailed(
                f"signing key {record.kid} decrypted to unusable key material"
            ) from exc
        if jwk_thumbprint(key_parameters(private_key.public_key())) != record.kid:
            raise SigningKeyDecryptionFailed(
                f"signing key {record.kid} holds a private key that does not match its kid"
            )
        return private_key

    # -- lifecycle ---------------------------------------------------------------------------

    async def ensure_keys(self, db: AsyncSession, *, now: datetime) -> list[KeyChange]:
        """Create an active key for each policy algorithm that has none; idempotent, race-safe."""
        active = await repository.active_algorithms(db, table=self.table)
        changes: list[KeyChange] = []
        for algorithm in self.policy.algorithms:
            if algorithm in active:
                continue
            change = await self._create(db, algorithm=algorithm, now=now, pending=False)
            if change is not None:
                changes.append(change)
        return changes

    async def rotate(
        self, db: AsyncSession, *, now: datetime, algorithms: Sequence[str] | None = None
    ) -> list[KeyChange]:
        """Start a rotation: a new pending key per algorithm (all policy algorithms by default).

        Due transitions run first, so a pending key whose time has come is activated rather than
        reported as still pending. An algorithm with no active key gets an active key at once
        (there is nothing to overlap with); one with a pending key already is left alone, so
        running the command twice does not push the activation further away.
        """
        wanted = self._check_algorithms(algorithms)
        changes = await self.advance(db, now=now)
        active = await repository.active_algorithms(db, table=self.table)
        for algorithm in wanted:
            change = await self._already_pending(db, algorithm=algorithm)
            if change is None and algorithm not in active:
                change = await self._create(db, algorithm=algorithm, now=now, pending=False)
            # Also when a concurrent bootstrap beat us to the active key: rotate past it.
            if change is None:
                change = await self._create(db, algorithm=algorithm, now=now, pending=True)
            # The insert yields only to a pending key a concurrent rotation just committed.
            if change is None:
                change = await self._already_pending(db, algorithm=algorithm)
            if change is None:  # pragma: no cover - see above
                raise RuntimeError(f"no pending {algorithm} key was created and none exists")
            changes.append(change)
        return changes

    async def advance(self, db: AsyncSession, *, now: datetime) -> list[KeyChange]:
        """Run every transition that is due at ``now`` (activations, then drops)."""
        return [*await self.activate_due(db, now=now), *await self.drop_expired(db, now=now)]

    async def activate_due(self, db: AsyncSession, *, now: datetime) -> list[KeyChange]:
        """Activate pending keys whose ``activate_after`` has passed, retiring their predecessor."""
        changes: list[KeyChange] = []
        drop_after = now + self.policy.retention
        for pending in await repository.lock_due_pending(db, table=self.table, now=now):
            retired = await repository.retire_active(
                db,
                table=self.table,
                algorithm=pending.algorithm,
                successor_kid=pending.kid,
                now=now,
                drop_after=drop_after,
            )
            if not await repository.activate_pending(
                db, table=self.table, kid=pending.kid, now=now
            ):
                if retired:
                    # Cannot happen (the successor guard ran under the same lock); never leave an
                    # algorithm without a signer: abort the unit of work.
                    raise RuntimeError(f"retired {retired} but could not activate {pending.kid}")
                continue
            changes.extend(
                KeyChange(KeyChangeKind.RETIRED, kid, pending.algorithm, drop_after)
                for kid in retired
            )
            changes.append(KeyChange(KeyChangeKind.ACTIVATED, pending.kid, pending.algorithm, now))
        for change in changes:
            logger.info("signing_key." + change.kind, kid=change.kid, algorithm=change.algorithm)
        return changes

    async def drop_expired(self, db: AsyncSession, *, now: datetime) -> list[KeyChange]:
        """Revoke retired keys past ``drop_after``: out of the JWKS, private key erased."""
        dropped = await repository.revoke_expired_retired(db, table=self.table, now=now)
        changes = [KeyChange(KeyChangeKind.DROPPED, kid, alg, now) for kid, alg in dropped]
        for change in changes:
            logger.info("signing_key.dropped", kid=change.kid, algorithm=change.algorithm)
        return changes

    # -- helpers -----------------------------------------------------------------------------

    def _check_algorithms(self, algorithms: Sequence[str] | None) -> tuple[str, ...]:
        if algorithms is None:
            return self.policy.algorithms
        unknown = sorted(set(algorithms) - set(self.policy.algorithms))
        if unknown:
            raise ValueError(
                f"not configured for {', '.join(unknown)} (configured: {', '.join(self.policy.algorithms)})"
            )
        return tuple(dict.fromkeys(algorithms))

    async def _create(
        self, db: AsyncSession, *, algorithm: str, now: datetime, pending: bool
    ) -> KeyChange | None:
        """Generate, seal and insert a key; ``None`` if a concurrent process already has one."""
        # RSA generation takes tens of milliseconds: keep it off the event loop.
        private_key = await asyncio.to_thread(self._generate, algorithm)
        values = self._row(private_key, algorithm=algorithm, now=now, pending=pending)
        if not await repository.insert_key(db, table=self.table, values=values):
            return None
        kind = KeyChangeKind.PUBLISHED if pending else KeyChangeKind.BOOTSTRAPPED
        change = KeyChange(kind, values["kid"], algorithm, values["activate_after"])
        logger.info("signing_key." + kind, kid=change.kid, algorithm=algorithm)
        return change

    def _row(
        self, private_key: PrivateKey, *, algorithm: str, now: datetime, pending: bool
    ) -> dict[str, Any]:
        jwk = public_jwk(private_key, algorithm=algorithm)
        kid = jwk["kid"]
        sealed = self.encryptor.encrypt(serialize_private_key(private_key), kid=kid)
        state = SigningKeyState.PENDING if pending else SigningKeyState.ACTIVE
        return {
            "kid": kid,
            "algorithm": algorithm,
            "state": state.value,
            "public_jwk": jwk,
            "private_key_ciphertext": sealed.ciphertext,
            "private_key_nonce": sealed.nonce,
            "kek_version": sealed.kek_version,
            "created_at": now,
            "activate_after": now + self.policy.activation_delay if pending else now,
            "activated_at": None if pending else now,
        }

    async def _already_pending(self, db: AsyncSession, *, algorithm: str) -> KeyChange | None:
        """The pending key of ``algorithm`` as an ``already_pending`` change, if there is one."""
        pending = await repository.get_in_state(
            db, table=self.table, algorithm=algorithm, state=SigningKeyState.PENDING
        )
        if pending is None:
            return None
        return KeyChange(
            KeyChangeKind.ALREADY_PENDING, pending.kid, algorithm, pending.activate_after
        )


def _is_intact(record: SigningKeyRecord) -> bool:
    try:
        intact = (
            jwk_thumbprint(record.public_jwk) == record.kid
            and record.public_jwk.get("alg") == record.algorithm
        )
    except ValueError:
        intact = False
    if not intact:
        logger.error("signing_key.tampered_public_key", kid=record.kid, algorithm=record.algorithm)
    return intact
