"""``roadbed auth rotate-keys``: the operator's rotation, as a plain function the CLI wraps.

It runs in its own process, so it is its own unit of work: it commits, and the running replicas
see the new pending key at their next reload (``KeyPolicy.refresh_interval``), which the
activation delay already accounts for.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_auth.keys.jwks import published_order
from roadbed_auth.keys.keyring import Clock, utc_now
from roadbed_auth.keys.repository import SigningKeyRecord
from roadbed_auth.keys.service import KeyChange, SigningKeyService
from roadbed_auth.keys.tables import SigningKeyState
from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work


def describe_key(record: SigningKeyRecord) -> str:
    """One line per published key for the operator: state, algorithm, kid and the next date."""
    when = {
        SigningKeyState.PENDING: f"signs from {record.activate_after.isoformat(timespec='seconds')}",
        SigningKeyState.ACTIVE: "signing",
        SigningKeyState.RETIRED: "published until "
        + (record.drop_after.isoformat(timespec="seconds") if record.drop_after else "?"),
    }.get(record.state, "")
    return f"{record.state.value:<8} {record.algorithm}  {record.kid}  {when}".rstrip()


async def arotate_keys(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    service: SigningKeyService,
    now: datetime,
    algorithms: Sequence[str] | None = None,
    out: TextIO,
) -> list[KeyChange]:
    """Rotate in one unit of work, then print what changed and the keys now published."""
    async with unit_of_work(sessionmaker) as db:
        changes = await service.rotate(db, now=now, algorithms=algorithms)
    async with unit_of_work(sessionmaker) as db:
        published = await service.list_published(db)
    out.write(f"Signing-key rotation at {now.isoformat(timespec='seconds')}:\n")
    for change in changes:
        out.write(f"  {change.describe()}\n")
    out.write("Published keys:\n")
    for record in published_order(published):
        out.write(f"  {describe_key(record)}\n")
    return changes


def rotate_keys(
    *,
    database_url: str,
    service: SigningKeyService,
    algorithms: Sequence[str] | None = None,
    clock: Clock = utc_now,
    out: TextIO | None = None,
) -> list[KeyChange]:
    """Blocking entry point for the CLI: rotate the keys in ``database_url`` and report."""

    async def run() -> list[KeyChange]:
        engine = make_async_engine(database_url)
        try:
            return await arotate_keys(
                sessionmaker=make_async_sessionmaker(engine),
                service=service,
                now=clock(),
                algorithms=algorithms,
                out=out or sys.stdout,
            )
        finally:
            await engine.dispose()

    return asyncio.run(run())
