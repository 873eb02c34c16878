"""All SQL of signing keys. Every state change is a guarded UPDATE: the WHERE clause re-checks
the state it expects, so a concurrent process that got there first turns ours into a no-op."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import RowMapping, Table, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.keys.encryption import EncryptedPrivateKey
from roadbed_auth.keys.tables import SigningKeyState


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """One row, read-only. ``sealed`` is ``None`` once the key is revoked (material erased)."""

    kid: str
    algorithm: str
    state: SigningKeyState
    public_jwk: Mapping[str, Any]
    sealed: EncryptedPrivateKey | None = field(repr=False)
    created_at: datetime
    activate_after: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    drop_after: datetime | None
    revoked_at: datetime | None


def _record(row: RowMapping) -> SigningKeyRecord:
    ciphertext, nonce = row["private_key_ciphertext"], row["private_key_nonce"]
    sealed = (
        None
        if ciphertext is None or nonce is None
        else EncryptedPrivateKey(
            ciphertext=bytes(ciphertext), nonce=bytes(nonce), kek_version=row["kek_version"]
        )
    )
    return SigningKeyRecord(
        kid=row["kid"],
        algorithm=row["algorithm"],
        state=SigningKeyState(row["state"]),
        public_jwk=MappingProxyType(dict(row["public_jwk"])),
        sealed=sealed,
        created_at=row["created_at"],
        activate_after=row["activate_after"],
        activated_at=row["activated_at"],
        retired_at=row["retired_at"],
        drop_after=row["drop_after"],
        revoked_at=row["revoked_at"],
    )


async def list_keys(
    db: AsyncSession, *, table: Table, states: Iterable[SigningKeyState]
) -> list[SigningKeyRecord]:
    """Keys in ``states``, oldest first (then by kid, so the order is total)."""
    result = await db.execute(
        select(table)
        .where(table.c.state.in_([state.value for state in states]))
        .order_by(table.c.created_at, table.c.kid)
    )
    return [_record(row) for row in result.mappings()]


async def active_algorithms(db: AsyncSession, *, table: Table) -> set[str]:
    result = await db.execute(
        select(table.c.algorithm).where(table.c.state == SigningKeyState.ACTIVE.value)
    )
    return set(result.scalars())


async def get_in_state(
    db: AsyncSession, *, table: Table, algorithm: str, state: SigningKeyState
) -> SigningKeyRecord | None:
    """The active or pending key of ``algorithm`` (the unique indexes allow at most one)."""
    result = await db.execute(
        select(table).where(table.c.algorithm == algorithm, table.c.state == state.value)
    )
    row = result.mappings().one_or_none()
    return None if row is None else _record(row)


async def insert_key(db: AsyncSession, *, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert a key unless a unique index objects (another process won); True if inserted.

    ``ON CONFLICT DO NOTHING`` rather than catching ``IntegrityError``: on PostgreSQL the losing
    insert waits for the winner's commit and then quietly does nothing, leaving our transaction
    usable.
    """
    dialect = db.get_bind().dialect.name
    statement: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(dict(values)).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(dict(values)).on_conflict_do_nothing()
    else:  # pragma: no cover - make_async_engine only builds these two
        raise ValueError(f"unsupported database dialect {dialect!r}")
    result = await db.execute(statement.returning(table.c.kid))
    return result.scalar_one_or_none() is not None


async def lock_due_pending(
    db: AsyncSession, *, table: Table, now: datetime
) -> list[SigningKeyRecord]:
    """Pending keys whose activation time has come, locked in primary-key order.

    On PostgreSQL a second process blocks here until the first commits, then finds the key no
    longer pending. SQLite has no row locks (one writer at a time); the guards below cover it.
    """
    result = await db.execute(
        select(table)
        .where(
            table.c.state == SigningKeyState.PENDING.value,
            table.c.activate_after <= now,
        )
        .order_by(table.c.kid)
        .with_for_update()
    )
    return [_record(row) for row in result.mappings()]


async def retire_active(
    db: AsyncSession,
    *,
    table: Table,
    algorithm: str,
    successor_kid: str,
    now: datetime,
    drop_after: datetime,
) -> list[str]:
    """Retire the active key of ``algorithm``, only while ``successor_kid`` is still pending.

    The successor guard matters on SQLite: two processes may both have read the pending key as
    due; the second must not retire the key the first has just activated.
    """
    successor_still_pending = exists().where(
        table.c.kid == successor_kid, table.c.state == SigningKeyState.PENDING.value
    )
    result = await db.execute(
        update(table)
        .where(
            table.c.algorithm == algorithm,
            table.c.state == SigningKeyState.ACTIVE.value,
            successor_still_pending,
        )
        .values(state=SigningKeyState.RETIRED.value, retired_at=now, drop_after=drop_after)
        .returning(table.c.kid)
    )
    return list(result.scalars())


async def activate_pending(db: AsyncSession, *, table: Table, kid: str, now: datetime) -> bool:
    result = await db.execute(
        update(table)
        .where(table.c.kid == kid, table.c.state == SigningKeyState.PENDING.value)
        .values(state=SigningKeyState.ACTIVE.value, activated_at=now)
        .returning(table.c.kid)
    )
    return result.scalar_one_or_none() is not None


async def revoke_expired_retired(
    db: AsyncSession, *, table: Table, now: datetime
) -> Sequence[tuple[str, str]]:
    """Revoke retired keys past ``drop_after`` and erase their private key: (kid, algorithm)."""
    result = await db.execute(
        update(table)
        .where(table.c.state == SigningKeyState.RETIRED.value, table.c.drop_after <= now)
        .values(
            state=SigningKeyState.REVOKED.value,
            revoked_at=now,
            private_key_ciphertext=None,
            private_key_nonce=None,
        )
        .returning(table.c.kid, table.c.algorithm)
    )
    return sorted((row.kid, row.algorithm) for row in result)
